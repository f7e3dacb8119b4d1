"""How fast the dashboard's pages render with many runs in the store.

Seeds a temporary data folder with N finished-looking runs (real MLflow runs:
the params of a RunConfig, per-epoch metrics, test metrics, and the report
artifacts the Run report and Compare pages read; a few FAILED and KILLED),
points it at the prepared datasets of another data folder (their metadata is
copied, the caches are read in place), then times the first render of every
page with Streamlit's AppTest, caches cleared before each page, imports done
beforehand (as in a dashboard server that is already up), and a second
render with warm caches. With --browser it also serves the dashboard on
loopback and times, in headless Chromium, how long each page takes until its
script has finished and its last chart is drawn: clicked in the sidebar of
an open app (as a user moves between pages), and opened in a new tab (the
whole app loads first). One server, warmed by opening Home once.

    python benchmarks/dashboard_render.py --runs 500
    python benchmarks/dashboard_render.py --runs 500 --browser
    python benchmarks/dashboard_render.py --home /tmp/arena-500 --keep      # reuse the seeded store next time
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from experiments.tags import (  # noqa: E402
    BENCHMARK_TAG, DESCRIBE_TAG, DEVICE_TAG, DIGEST_TAG, EPOCHS_RUN_TAG, EPOCH_TAG, ERROR_TAG, ERROR_TYPE_TAG, MODEL_TAG,
    STATUS_TAG, TRAIN_SIZE_TAG, WORKLOAD_TAG
)

PAGES = ("home", "data", "new_run", "monitor", "report", "compare", "studies")


# ---------------------------------------------------------------------------
# seeding
def _configs(n: int, others_share: float, rng: np.random.Generator) -> list:
    """n varied, valid run configs: every recurrent variant, uni and bi,
    no sampler / weighted sampler / class-weighted loss, 10% and full samples.
    A share of them on the workloads after the first registered one, in turn."""
    from core import workloads as W
    from core.config import RECURRENT_NAMES, TEXT_ONLY_NAMES, RunConfig

    first, *others = W.all_workloads()
    configs = []
    for i in range(n):
        w = others[i % len(others)] if others and rng.random() < others_share else first
        models = w.benchmarks.models or RECURRENT_NAMES
        name = models[i % len(models)]
        treat = (i // len(RECURRENT_NAMES)) % 3
        cfg = RunConfig().replace(**{
            "data.workload": w.name,
            "data.sample": [0.1, 1.0][(i // 27) % 2],
            "model.name": name,
            "model.bidirectional": name not in TEXT_ONLY_NAMES and (i // 3) % 2 == 1,
            "model.hidden_size": [64, 128][(i // 54) % 2],
            "train.sampler": "weighted" if treat == 1 and name != "tfidf" else "none",
            "train.class_weighted_loss": treat == 2 and name != "tfidf",
            "train.epochs": 10,
            "train.seed": i % 5,
        })
        configs.append(cfg)
    return configs


def _result(y_true: np.ndarray, names: list[str], skill: float, rng: np.random.Generator) -> dict:
    """A consistent test result: predictions right with a per-class
    probability around `skill`, otherwise the largest class or a random one;
    the report, the confusion matrix and the summary all come from them."""
    from core import metrics as M

    k, many = len(names), len(names) > M.MANY_CLASSES
    recall = np.clip(rng.normal(skill, 0.08, size=k), 0.0, 0.999)
    right = rng.random(len(y_true)) < recall[y_true]
    wrong = np.where(rng.random(len(y_true)) < 0.6, 0, rng.integers(0, k, len(y_true)))
    y_pred = np.where(right, y_true, wrong)
    cm = M.confusion_matrix(y_true, y_pred, k)
    report = M.classification_report(y_true, y_pred, names)
    files = {"report/classification_report.json": report,
             "report/top_confusions.json": M.top_confusions(cm, names, 50)}
    if many:
        files["report/extremes.json"] = M.extremes(report, names, 20)
        files["report/confusion_sparse.json"] = M.sparse_confusion(cm, names)
    else:
        files["report/confusion_matrix.json"] = {"labels": names, "matrix": cm.tolist()}
    return {"summary": M.summary(cm), "report": report, "files": files, "names": names}


def _history(epochs: int, final: float, seconds: float, train_size: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    for e in range(1, epochs + 1):
        progress = 1 - np.exp(-3 * e / epochs)
        score = float(np.clip(final * progress + rng.normal(0, 0.01), 0, 1))
        s = float(seconds * rng.uniform(0.9, 1.1))
        rows.append({"train/loss": float(1.5 * np.exp(-2 * e / epochs) + 0.1), "val/loss": float(1.4 * np.exp(-2 * e / epochs)
                     + 0.15 + 0.02 * e / epochs), "val/accuracy": min(1.0, score + 0.1), "val/balanced_accuracy": score,
                     "val/macro_f1": score * 0.95, "epoch_seconds": s, "samples_per_second": train_size / s,
                     "lr": 1e-3})
    return rows


def _pool(w, prepared: list[str] | None, rng: np.random.Generator) -> list[dict]:
    """A pool of distinct results of workload w, shared round-robin by its
    runs (building a report is the slow part): its test split's class sizes,
    the class names of its prepared data (or placeholders), the skills it spans."""
    counts = w.benchmarks.test_counts
    names = (list(w.class_names) or prepared or [f"CATEGORY_{i:03d}" for i in range(len(counts))])[:len(counts)]
    y_true = np.repeat(np.arange(len(names)), counts[:len(names)])
    low, high, count = w.benchmarks.skills
    return [_result(y_true, names, s, rng) for s in np.linspace(low, high, count)]


def seed(home: Path, n: int, others_share: float, prepared: dict[str, list[str] | None], log=print) -> float:
    """Write n runs into home's store with MLflow's batch API (`prepared`: the
    class names of each workload's prepared data). Returns seconds."""
    from mlflow.entities import Metric, Param, RunTag

    from core import workloads as W
    from core.metrics import MANY_CLASSES
    from experiments.mlflow_tracker import client, experiment_id

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    c = client(home)
    exps = {w.name: experiment_id(home, w.name) for w in W.all_workloads()}
    pool = {w.name: _pool(w, prepared.get(w.name), rng) for w in W.all_workloads()}
    now_ms = int(time.time() * 1000)
    configs = _configs(n, others_share, rng)
    with tempfile.TemporaryDirectory() as tmp:
        for i, cfg in enumerate(configs):
            w = cfg.data.workload
            status = "FAILED" if i % 25 == 7 else "KILLED" if i % 50 == 13 else "FINISHED"
            start = now_ms - (n - i) * 600_000  # one run every 10 minutes, the newest last
            epochs = cfg.train.epochs if status == "FINISHED" else int(rng.integers(1, cfg.train.epochs))
            result = pool[w][i % len(pool[w])]
            train_size = int(W.get(w).benchmarks.train_size * cfg.data.sample)
            seconds = (1.0 + 2.0 * cfg.model.bidirectional) * (2 if "packed" in cfg.model.name else 1) * 60 * cfg.data.sample
            history = _history(epochs, result["summary"]["macro_f1"], seconds, train_size, rng)
            tags = {WORKLOAD_TAG: w, MODEL_TAG: cfg.model.name, DESCRIBE_TAG: cfg.describe(),
                    DIGEST_TAG: cfg.digest(), EPOCH_TAG: str(epochs), EPOCHS_RUN_TAG: str(epochs),
                    DEVICE_TAG: "cpu", TRAIN_SIZE_TAG: str(train_size), BENCHMARK_TAG: "dashboard_render"}
            if status == "FAILED":
                tags |= {ERROR_TAG: "synthetic failure for the dashboard benchmark", ERROR_TYPE_TAG: "RuntimeError"}
            run = c.create_run(exps[w], start_time=start, run_name=f"bench {i:03d} {cfg.describe()}", tags=tags)
            run_id = run.info.run_id
            metrics = [Metric(k, float(v), start + e * 60_000, e) for e, row in enumerate(history, 1) for k, v in row.items()]
            if status == "FINISHED":
                final = {f"test/{k}": v for k, v in result["summary"].items()} | {"test/loss": 0.3,
                                                                                   "best_epoch": epochs - 1}
                names = result["names"]
                if len(names) <= MANY_CLASSES:  # what experiments.runner logs per class
                    for name in names:
                        final[f"test/recall_{name}"] = result["report"][name]["recall"]
                        final[f"test/f1_{name}"] = result["report"][name]["f1-score"]
                metrics += [Metric(k, float(v), start + epochs * 60_000, epochs) for k, v in final.items()]
            params = [Param(k, v) for k, v in cfg.to_params().items()]
            for j in range(0, len(metrics), 1000):  # MLflow's batch limits: 1000 metrics, 100 params
                c.log_batch(run_id, metrics=metrics[j : j + 1000], params=params if j == 0 else [],
                            tags=[RunTag(STATUS_TAG, status.lower())] if j == 0 else [])
            if status == "FINISHED":
                folder = Path(tmp) / run_id
                for rel, obj in result["files"].items():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_text(json.dumps(obj))
                c.log_artifacts(run_id, str(folder))
                shutil.rmtree(folder)
            c.set_terminated(run_id, status=status, end_time=start + epochs * 60_000)
            if (i + 1) % 100 == 0:
                log(f"seeded {i + 1}/{n} runs ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


def link_datasets(source: Path, home: Path) -> list[str]:
    """Copy the prepared datasets' metadata (it names the caches by absolute
    path, so the data is read where it is, never copied)."""
    linked = []
    for meta in sorted((source / "datasets").glob("*.json")):
        (home / "datasets").mkdir(parents=True, exist_ok=True)
        shutil.copy(meta, home / "datasets" / meta.name)
        linked.append(meta.stem)
    return linked


# ---------------------------------------------------------------------------
# timing
def time_pages(pages: list[str]) -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # imports first: a running dashboard server has them already (torch comes in
    # through RunConfig's model registry and the titles reader)
    import core.data.titles  # noqa: F401
    import core.models  # noqa: F401
    import dashboard.charts  # noqa: F401
    import dashboard.data_services  # noqa: F401
    import dashboard.services  # noqa: F401
    import experiments.queries  # noqa: F401
    import mlflow  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:  # the runtime's one-off start-up (component discovery)
        (Path(tmp) / "warm.py").write_text("import streamlit as st\nst.write('ready')\n")
        AppTest.from_file(str(Path(tmp) / "warm.py"), default_timeout=300).run()
    rows = []
    for page in pages:
        path = ROOT / "dashboard" / "views" / f"{page}.py"
        st.cache_data.clear()
        st.cache_resource.clear()
        t0 = time.perf_counter()
        at = AppTest.from_file(str(path), default_timeout=300).run()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        at.run()
        second = time.perf_counter() - t0
        problems = [e.value for e in at.exception] + [e.value for e in at.error]
        rows.append({"page": page, "first": first, "second": second, "charts": len(at.get("plotly_chart")),
                     "title": at.title[0].value if len(at.title) else "", "problems": problems})
        print(f"{page:<10} first {first:6.2f} s   again {second:6.2f} s", file=sys.stderr, flush=True)
    return rows


def time_in_browser(home: Path, rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per page, in headless Chromium against a local server: seconds until
    the page's script has finished and all its charts are drawn, (a) opening
    the page as a new tab (the whole app loads) and (b) clicking it in the
    sidebar of an open app (what a user does)."""
    from playwright.sync_api import sync_playwright

    from dashboard.headless import CHROMIUM, FLAGS, served

    paths = {"home": "", "new_run": "new-run"}
    done = """([title, n]) => !document.querySelector('[data-testid="stStatusWidget"]')
                  && !document.querySelector('[data-stale="true"]')
                  && Array.from(document.querySelectorAll('h1')).some(h => h.innerText.trim() === title)
                  && document.querySelectorAll('.js-plotly-plot .main-svg').length >= n"""
    out = {r["page"]: {} for r in rows}
    with served(home) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        app = browser.new_page(viewport={"width": 1400, "height": 1000})
        app.goto(url)  # the server's imports and the browser's chart library, once
        app.wait_for_function(done, arg=["RNN Arena", 0], timeout=120_000)
        time.sleep(6)  # past the run listing's 5 s cache
        for r in rows:  # (b) one open app, pages clicked in the sidebar
            if r["page"] == "home":
                continue
            t0 = time.perf_counter()
            app.click(f'[data-testid="stSidebarNav"] a[href$="/{paths.get(r["page"], r["page"])}"]')
            app.wait_for_function(done, arg=[r["title"], r["charts"]], timeout=120_000)
            out[r["page"]]["click"] = time.perf_counter() - t0
        for r in rows:  # (a) each page in a new tab
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"{url}/{paths.get(r['page'], r['page'])}")
            page.wait_for_function(done, arg=[r["title"], r["charts"]], timeout=120_000)
            out[r["page"]]["tab"] = time.perf_counter() - t0
            page.close()
        browser.close()
    for page, t in out.items():
        print(f"{page:<10} browser: new tab {t.get('tab', float('nan')):6.2f} s   sidebar click "
              f"{t.get('click', float('nan')):6.2f} s", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--others-share", "--titles-share", type=float, default=0.2,
                    help="share of the runs on the workloads after the first registered one (titles)")
    ap.add_argument("--home", help="data folder to seed (default: a temporary one, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep --home; a second call with it reuses the runs")
    ap.add_argument("--data-from", help="data folder with prepared datasets (default: RNN_ARENA_HOME or .rnn-arena)")
    ap.add_argument("--pages", nargs="*", help=f"pages to time (default: those of {', '.join(PAGES)} that exist)")
    ap.add_argument("--browser", action="store_true", help="also time each page in headless Chromium (playwright)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    home = Path(args.home).expanduser().resolve() if args.home else Path(tempfile.mkdtemp(prefix="arena-bench-"))
    source = Path(args.data_from or os.environ.get("RNN_ARENA_HOME") or ROOT / ".rnn-arena").expanduser().resolve()
    os.environ["RNN_ARENA_HOME"] = str(home)
    try:
        from experiments.queries import list_runs

        existing = len(list_runs(home, limit=args.runs + 1000)) if (home / "mlflow.db").exists() else 0
        if existing >= args.runs:
            print(f"reusing the {existing} runs in {home}", file=sys.stderr)
            seeding = None
        else:
            from core import workloads as W

            prepared = {w.name: w.prepared_classes(source) for w in W.all_workloads()}
            seeding = seed(home, args.runs - existing, args.others_share, prepared,
                           log=lambda m: print(m, file=sys.stderr, flush=True))
        linked = link_datasets(source, home) if source != home else []
        pages = args.pages or [p for p in PAGES if (ROOT / "dashboard" / "views" / f"{p}.py").is_file()]
        rows = time_pages(pages)
        browser = time_in_browser(home, rows) if args.browser else {}
        total = len(list_runs(home, limit=args.runs + 1000))
    finally:
        if not (args.keep and args.home):
            shutil.rmtree(home, ignore_errors=True)

    command = "python benchmarks/dashboard_render.py " + " ".join(sys.argv[1:])
    print(f"\nCommand: `{command}`")
    print(f"{total} runs in the store" + (f" (seeded in {seeding:.0f} s)" if seeding is not None else "")
          + f"; datasets: {', '.join(linked) or 'none'}; AppTest, caches cleared before each page, imports done.\n")
    extra = " browser, new tab (s) | browser, sidebar click (s) |" if browser else ""
    print("| page | first render (s) | again, warm caches (s) |" + extra + " charts | problems |")
    print("|---|---|---|" + ("---|---|" if browser else "") + "---|---|")
    cell = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        b = browser.get(r["page"], {})
        shown = f" {cell(b.get('tab'))} | {cell(b.get('click'))} |" if browser else ""
        print(f"| {r['page']} | {r['first']:.2f} | {r['second']:.2f} |{shown} {r['charts']} | "
              f"{'; '.join(p[:80] for p in r['problems']) or '-'} |")


if __name__ == "__main__":
    main()
