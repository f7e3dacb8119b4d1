"""The Studies page's way into experiments: list studies and their progress,
start one in the background, stop or resume it, and its ranked results as
plain data (cached)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.store_cache import shared

CUSTOM = "custom (YAML)"


def builtin_studies() -> dict[str, str]:
    """Built-in study name -> one line about it."""
    from experiments import studies

    return {name: studies.describe(s) for name, s in studies.BUILTIN.items()}


def study_defaults(name: str, workload: str) -> dict:
    """What the Start form offers for a built-in study on a workload: the
    sample and epochs of its recipe (the classroom recipe, so that an
    unchanged form runs what the benchmark measured) and the workloads it
    runs on; a custom study starts from the plain defaults."""
    from core.presets import CLASSROOM
    from experiments import studies

    study = studies.BUILTIN.get(name)
    workloads = [study.workload] if study is not None and study.workload else list(CLASSROOM)
    values = {"data.sample": 0.1, "train.epochs": 10}
    if study is not None and workload in workloads:
        values.update({k: v for k, v in {**studies.recipe_overrides(study, workload), **study.base}.items()
                       if k in values})
    return {"sample": float(values["data.sample"]), "epochs": int(values["train.epochs"]), "workloads": workloads,
            "recipe": study.recipe if study is not None else "none"}


def example_yaml() -> str:
    from experiments import studies

    return studies.EXAMPLE_YAML


@shared(min_age=1.0)  # one read for every session, again when the store changes
def studies(home_dir: str) -> list[dict]:
    from experiments import sweep

    return sweep.list_studies(Path(home_dir))


@shared(min_age=0.5)
def progress(home_dir: str, parent_id: str) -> dict:
    from experiments import sweep

    return sweep.progress(Path(home_dir), parent_id)


def report(home_dir: str, parent_id: str, finished: int) -> dict:
    """The ranked table, runs and factor effects; `finished` (the number of
    finished runs) is part of the cache key, so new results recompute it."""
    with st.spinner("Computing the statistics…"):
        return _report(home_dir, parent_id, finished)


@shared(stamped=False, ttl=600, max_entries=64)  # computed once for every session that opens the study
def _report(home_dir: str, parent_id: str, finished: int) -> dict:
    from experiments import study_report

    rep = study_report.report(Path(home_dir), parent_id)
    rep["legend"] = study_report.legend(rep) if rep["rows"] else ""
    rep["explanations"] = study_report.explanations(rep)
    return rep


def _ci(r: dict, key: str) -> str:
    low, high = r.get(f"{key}_low"), r.get(f"{key}_high")
    if low is None or low != low:
        return f"{r[key]:.4f}"
    return f"{r[key]:.4f} [{low:.3f}, {high:.3f}]" + (" cut" if r.get(f"{key}_clipped") else "")


def _p_text(value) -> str:
    if value is None or value != value:
        return "–"  # not "-": a table in presenter mode reads a lone hyphen as a list bullet
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def ranked_table(rep: dict) -> pd.DataFrame:
    """The ranked table as the page shows it, narrow enough for a 1400-pixel
    page: each config in words, the key metric with its interval, the
    full-data reference beside it where loaded, the call against the best and
    the three-way learned verdict. The technical labels: `technical_table`;
    the other metrics and tests: `tests_table`."""
    from experiments import study_report

    m, name = rep["metric"], rep["metric_name"]
    rows = []
    for r in rep["rows"]:
        mark = {"best": "best", "not different": "≈ not different", "worse": "✗ worse"}[r["verdict"]]
        row = {"rank": r["rank"], "config": r.get("name", r["config"]), "seeds": r["seeds"],
               f"{name} [95% CI]": _ci(r, m)}
        if rep.get("reference"):  # beside the classroom score, where a class reads it
            ref = rep["reference"].get(r["config"])
            row["full data, reference"] = (
                "" if ref is None else
                f"{ref['mean']:.4f}" + (f" [{ref['ci_low']:.3f}, {ref['ci_high']:.3f}]" if ref["ci_low"] is not None
                                        else "") + f" ({len(ref['seeds'])} seed{'s' if len(ref['seeds']) > 1 else ''})")
        row.update({"vs best": mark, "p (Holm)": _p_text(r.get("p_adjusted")),
                    "learned": study_report.learned_text(r)})
        rows.append(row)
    return pd.DataFrame(rows)


def technical_table(rep: dict) -> pd.DataFrame:
    """Each config's name in words beside its technical label (the options it sets)."""
    return pd.DataFrame([{"config": r.get("name", r["config"]), "technical config": r["config"]}
                         for r in rep["rows"]])


def tests_table(rep: dict) -> pd.DataFrame:
    """The other metrics and every test against the best, per config."""
    from experiments import study_report

    m, name = rep["metric"], rep["metric_name"]
    other = "balanced_accuracy" if m != "balanced_accuracy" else "macro_f1"
    rows = []
    for r in rep["rows"]:
        diff = "" if r["rank"] == 1 else (f"{r['diff']:.4f} [{r['diff_low']:.3f}, {r['diff_high']:.3f}]"
                                          if "diff_low" in r else f"{r.get('diff', float('nan')):.4f}")
        rows.append({
            "config": r.get("name", r["config"]),
            "balanced accuracy [95% CI]" if m != "balanced_accuracy" else "macro-F1 [95% CI]": _ci(r, other),
            "accuracy [95% CI]": _ci(r, "accuracy"), f"Δ {name} vs best [95% CI]": diff,
            "CI from": study_report.ci_text(r),
            "p bootstrap": r.get("p_boot"), "p seeds": r.get("p_seeds"),
            "McNemar seed pairs p<0.05": (f"{r['mcnemar_significant']}/{r['mcnemar_pairs']}"
                                          if "mcnemar_pairs" in r else ""),
            "min. detectable acc. diff.": r.get("mdd"),
            # AAMI-style figures where the workload has them (heartbeats: SVEB F1, VEB F1, 4-class macro-F1)
            **{f"{label} [95% CI]": _ci(r, key) for key, label in _class_metric_labels().items()
               if key != m and key in r},
        })
    return pd.DataFrame(rows)


def _class_metric_labels() -> dict[str, str]:
    from core import workloads as W

    return {name: label for name, (label, _) in W.class_metrics().items()}


def few_seeds(rep: dict) -> str:
    """A warning when some config has fewer than 3 seeds ("" otherwise)."""
    from core.stats import MIN_SEEDS_FOR_T

    few = [r for r in rep["rows"] if r["seeds"] < MIN_SEEDS_FOR_T]
    if not few:
        return ""
    n = min(r["seeds"] for r in few)
    return (f"{len(few)} of {len(rep['rows'])} configs have only {n} seed" + ("s" if n != 1 else "") +
            f": an interval over so few seeds is uninformative (a t-interval over 2 seeds is ±12.7 standard errors). "
            f"Their intervals come from the test-set bootstrap instead (the {rep['test_size']:,} test items "
            f"resampled, the config's seeds pooled), which shows test-set noise only, not seed-to-seed variation. "
            f"Run {MIN_SEEDS_FOR_T} or more seeds to see both.")


def runs_frame(rep: dict) -> pd.DataFrame:
    """One row per finished run: factor levels, seed and test metrics."""
    rows = [{**r["levels"], "seed": r["seed"], "config": r["config"], "accuracy": r["accuracy"],
             "balanced_accuracy": r["balanced_accuracy"], "macro_f1": r["macro_f1"]} for r in rep["runs"]]
    return pd.DataFrame(rows)


def runs_table(rep: dict) -> pd.DataFrame:
    """Every finished run with its seed, test metrics and whether it learned
    (with the reason where it did not)."""
    from core.diagnosis import MARK

    notes = {r["config"]: r["note"] for r in rep["rows"]}
    names = {r["config"]: r.get("name", r["config"]) for r in rep["rows"]}
    rows = []
    for r in rep["runs"]:
        learned = {True: "learned", False: MARK + (" (expected)" if notes.get(r["config"]) else "")}.get(
            r.get("learned"), "-")
        rows.append({"config": names.get(r["config"], r["config"]), "seed": r["seed"], "macro-F1": r["macro_f1"],
                     "balanced accuracy": r["balanced_accuracy"], "accuracy": r["accuracy"], "learned": learned,
                     "why not": "" if r.get("learned") is not False else r.get("learned_reason", ""),
                     "run id": r["run_id"][:8]})
    return pd.DataFrame(rows)


def _parse_options(text: str) -> dict:
    from experiments.studies import parse_yaml

    if not text.strip():
        return {}
    options = parse_yaml(text, "other options")  # the studies' parser: no alias bombs, no key given twice
    if not isinstance(options, dict):
        raise ValueError("other options must be 'option: value' lines, e.g. model.hidden_size: 64")
    return options


def launch_study(home_dir: str, name: str, yaml_text: str, workload: str, sample: float, seeds: int, epochs: int,
                 workers: int, other_options: str = "") -> str:
    """Validate, record the study's queue, and work it in a background process
    (it outlives the page). Returns the study's run id. ValueError: what to fix."""
    from experiments import studies as S
    from experiments import sweep
    from experiments.once import once

    home = Path(home_dir)
    study = S.study_from_text(yaml_text, "the study") if name == CUSTOM else S.builtin(name)
    if not 1 <= workers <= 64:
        raise ValueError(f"workers={workers} must be between 1 and 64")
    overrides = {**_parse_options(other_options), "data.sample": sample, "train.epochs": epochs}
    workload, _ = S.checked_trials(study, workload, overrides, seeds, home)  # the CLI's checks, before recording

    def start() -> str:
        opened = sweep.open_study(home, study, workload, seeds, overrides)
        start_worker(home_dir, opened.parent_id, workers)
        return opened.parent_id

    # a second click or a second tab within seconds starts nothing new (Started.repeat says so)
    parent_id = once(home, "study", {"study": str(study), "workload": workload, "seeds": seeds,
                                     "overrides": overrides, "workers": workers}, start)
    studies.clear()
    return parent_id


def start_worker(home_dir: str, parent_id: str, workers: int) -> str:
    """Work a recorded study's queue in a detached process (python -m
    experiments study --resume ID), logging to logs/study-ID.log; once per
    request within the repeat window (Started.repeat)."""
    from experiments.once import once

    return once(Path(home_dir), "resume", parent_id, lambda: _start_worker(home_dir, parent_id, workers))


def _start_worker(home_dir: str, parent_id: str, workers: int) -> str:
    from experiments.settings import PROJECT_ROOT

    home = Path(home_dir)
    progress.clear()  # a cached answer may be seconds old: another tab may have started it meanwhile
    if progress(home_dir, parent_id)["active"]:
        raise ValueError("this study is already running")
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # the dashboard's own OMP_NUM_THREADS wins (a shared machine); else the cores shared out among the workers
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // workers))
    env = {**os.environ, "OMP_NUM_THREADS": threads}
    with open(logs / f"study-{parent_id}.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "experiments", "--home", str(home), "study", "--resume", parent_id,
             "--workers", str(workers)],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # survives a dashboard restart
        )
    progress.clear()
    return "started"


def stop_study(home_dir: str, parent_id: str) -> str:
    """Ask the study's process to stop: running configs end KILLED and run
    again when the study is resumed (once per request within the repeat window)."""
    from experiments.once import once

    return once(Path(home_dir), "stop", parent_id, lambda: _stop_study(home_dir, parent_id))


def _stop_study(home_dir: str, parent_id: str) -> str:
    from experiments.launcher import PROC_TAG, is_alive
    from experiments.mlflow_tracker import client

    identity = client(Path(home_dir)).get_run(parent_id).data.tags.get(PROC_TAG, "")
    if not identity or not is_alive(identity):
        return "not running"
    os.kill(int(identity.split(":")[1]), signal.SIGTERM)
    progress.clear()
    studies.clear()
    return "stopping"



def prepared_workloads(home_dir: str) -> list[str]:
    from core.workloads import all_workloads

    return [w.name for w in all_workloads() if w.dataset_info(Path(home_dir)) is not None]


def effect_sentence(effect: dict, metric_name: str) -> str:
    """One line on a factor's matched differences from its first level."""
    parts = []
    for c in effect["contrasts"]:
        if not c["matched"]:
            continue
        if c["low"] != c["low"] or not c.get("informative", True):
            ci = " (no interval: fewer than 3 matched configs)"  # a t-interval over 1-2 would span [-1, 1]
        else:
            ci = f" [95% CI {c['low']:+.3f}, {c['high']:+.3f}]"
        parts.append(f"{c['level']} vs {c['reference']}: {c['diff']:+.3f}{ci} over {c['matched']} matched config"
                     + ("s" if c["matched"] != 1 else ""))
    from dashboard.study_charts import factor_label

    name = factor_label(effect["factor"])
    few = [lv["level"] for lv in effect["levels"] if not lv.get("informative", True)]
    if few:
        parts.append(f"no interval on the bars of {', '.join(few)}: fewer than 3 runs each")
    if not parts:
        return f"No two configs differ only in {name}: the bars pool different other settings."
    return (f"{name}, each level against {effect['contrasts'][0]['reference']} with every other factor held equal "
            f"(difference in test {metric_name}): " + "; ".join(parts) + ".")


def class_recall(rep: dict) -> dict | None:
    """Each config's test recall (sensitivity) of each class, mean over its
    seeds with the lowest and highest seed, configs in rank order: what an
    imbalance treatment changes. None where the runs logged no per-class
    recall, or for more classes than a heatmap can show readably."""
    from core.metrics import MANY_CLASSES
    from core.workloads import in_class_order
    from experiments import study_report

    rows = study_report.summary_rows(rep)
    classes = in_class_order(dict.fromkeys(name for r in rows for name in r["recall"]))
    if not classes or len(classes) > MANY_CLASSES:
        return None
    means, texts = [], []
    for r in rows:
        line, words = [], []
        for name in classes:
            seeds = r["recall"].get(name, {}).get("per_seed", [])
            if not seeds:
                line.append(None)
                words.append("")
                continue
            mean = sum(seeds) / len(seeds)
            line.append(mean)
            words.append(f"{mean:.2f}" + (f"<br>({min(seeds):.2f}–{max(seeds):.2f})" if len(seeds) > 1 else ""))
        means.append(line)
        texts.append(words)
    return {"configs": [r.get("name", r["config"]) for r in rows], "classes": classes, "means": means, "texts": texts,
            "seeds": max((r["seeds"] for r in rows), default=0)}


def class_recall_caption(data: dict) -> str:
    return ("Share of each true class the config found on the test set (sensitivity), mean over its seeds"
            + (", lowest and highest seed in brackets" if data["seeds"] > 1 else "")
            + ". Overall scores hide the rare classes; this is where an imbalance treatment shows.")


@st.cache_data(ttl=600, show_spinner=False)
def explanations(home_dir: str, runs: tuple[tuple[str, str], ...]) -> dict[str, dict]:
    """Config label -> the explanation of its first seed's run (a finished
    run's never changes), for the configs whose runs stored one."""
    from experiments.queries import run_explanation

    out = {}
    for label, run_id in runs:
        ex = run_explanation(Path(home_dir), run_id)
        if ex:
            out[label] = ex
    return out


def first_seed_runs(rep: dict) -> tuple[tuple[str, str], ...]:
    """(config in words, run id) of each ranked config's lowest seed, in rank order."""
    first: dict[str, dict] = {}
    for r in rep["runs"]:
        if r["config"] not in first or r["seed"] < first[r["config"]]["seed"]:
            first[r["config"]] = r
    return tuple((row.get("name") or row["config"], first[row["config"]]["run_id"]) for row in rep["rows"]
                 if row["config"] in first)


def contrast_pair(labels: list[str]) -> tuple[str, str]:
    """Two configs to set side by side: a simple RNN read after its padding
    (one direction, not packed) and a GRU where the study has them (the
    lesson), else the first two. Labels in words or as config labels."""
    def simple(s: str) -> bool:
        s = s.lower()
        plain = s.startswith("rnn · ") or s.startswith("simple rnn")
        return plain and "packed" not in s and "both" not in s and "bidirectional=true" not in s

    first_simple = next((x for x in labels if simple(x)), None)
    gated = next((x for x in labels if "gru" in x.lower()), None)
    if first_simple and gated:
        return first_simple, gated
    return labels[0], labels[1]


def flip_lines(rep: dict) -> list[str]:
    """Why each pair the full data orders the other way comes out so here (experiments.study_report.flip_lines)."""
    from experiments.study_report import flip_lines as lines

    return lines(rep.get("agreement"))
