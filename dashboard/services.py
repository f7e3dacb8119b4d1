"""The dashboard's only way into experiments and core: cached, read-only calls
that return plain data. Pages never import torch or MLflow."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from core.config import RECURRENT_NAMES
from dashboard.store_cache import per_table, shared
from experiments.settings import PAGE_SERVER_WAIT, arena_home, wait_in_this_process

wait_in_this_process(PAGE_SERVER_WAIT)  # a page says a stopped tracking server is down within seconds


def home() -> Path:
    return arena_home(os.environ.get("RNN_ARENA_HOME"))


def require_home() -> Path:
    """The data folder, or an error on the page and a stop (never a traceback)."""
    try:
        return home()
    except ValueError as exc:
        st.error(str(exc))
        st.stop()


def event_table(d: dict) -> pd.DataFrame:
    """A run's AAMI-style figures (heartbeats: SVEB and VEB Se, +P, F1), one
    row per event class; empty for a workload that names none."""
    return pd.DataFrame(workload(d["config"]["data.workload"]).event_rows(d["metrics"]))


def validation_text(d: dict) -> str:
    """Which whole patients chose the epoch, and their beats per class (an inter-patient run)."""
    val = (d.get("split") or {}).get("validation")
    if not val:
        return ""
    counts = ", ".join(f"{n:,} {c}" for c, n in val["counts"].items() if n)
    return (f" The epoch was chosen on whole DS1 patients (records {', '.join(map(str, val['records']))}): "
            f"{counts} beats.")


def per_record_table(d: dict) -> pd.DataFrame:
    """The test set per record (patient): beats, then for each event class its
    beats, how many the model found (Se) and how right its calls were (+P).
    Empty when the run kept no such table (an older run, or no records)."""
    table = d.get("per_record") or {}
    rows = []
    for r in table.get("rows", []):
        row = {"record": str(r["group"]), "beats": r["items"]}
        for cls, event in table.get("events", []):
            e = r.get(event, {})
            row[f"{event} beats"] = e.get("true", 0)
            row[f"{event} Se"] = e.get("se") if e.get("true") else None
            row[f"{event} +P"] = e.get("pp") if e.get("predicted") else None
        rows.append(row)
    return pd.DataFrame(rows)


def compare_rows(details: dict[str, dict]) -> pd.DataFrame:
    """One row per run for the Compare table: test metrics and key params."""
    rows = []
    for name, d in details.items():
        m, cfg, hist = d["metrics"], d["config"], d["history"]
        rows.append({
            "run": name, "model": _words_of(cfg), "sample": float(cfg["data.sample"]),
            "test accuracy": m.get("test/accuracy"), "balanced accuracy": m.get("test/balanced_accuracy"),
            "macro-F1": m.get("test/macro_f1"), "best epoch": int(m.get("best_epoch", 0)),
            "epochs": len(hist), "s/epoch": float(hist["epoch_seconds"].mean()) if "epoch_seconds" in hist else None,
            "sampler": _treatment(cfg["train.sampler"], cfg.get("train.class_weighted_loss") == "true"),
            "learning rate": float(cfg["train.lr"]), "run id": d["run_id"][:8],
            "learned": learned_text(d.get("learned")),
            **{f"{r['event'].split(' ')[0]} {k.split(' ')[0]}": r[k] for r in workload(cfg["data.workload"]).event_rows(m)
               for k in ("Se (sensitivity)", "+P (positive predictivity)", "F1")},
        })
    return pd.DataFrame(rows)


@per_table()  # the same for every session reading the same runs
def run_choices(pool: pd.DataFrame) -> dict[str, str]:
    """Run id -> the label a run picker shows (name, model, sample, short id)."""
    return {r.run_id: f"{r.name}{'' if r.model == r.name else ' · ' + r.model} · {r.sample:.0%} of the data · "
                      f"{r.run_id[:8]}" for r in pool.itertuples()}


def _words_of(params: dict) -> str:
    from core import words

    return words.run_name(params) if params.get("model.name") else str(params.get("describe", ""))


def own_first(studies: list[dict]) -> list[str]:
    """Study ids for a picker: the studies started here first (newest
    first, as listed), the imported full-data reference studies after them,
    so a page opens on the user's own work."""
    return [s["parent_id"] for s in sorted(studies, key=lambda s: bool(s.get("reference")))]


def learned_text(learned: bool | None) -> str:
    """The learned column of a run: learned, the mark, or - (unfinished or unknown)."""
    from core.diagnosis import MARK

    return {True: "learned", False: MARK}.get(learned, "-")


def compare_finding(home_dir: str, run_ids: tuple[str, ...], workload: str, metric: str | None = None) -> dict:
    """The comparison's ranking and one-sentence finding: runs that differ
    only in their seed are seeds of one config (study_report.compare),
    ranked by `metric` (test/...; the question's, else the workload's)."""
    with st.spinner("Comparing the runs on the test set…"):
        return _compare_finding(home_dir, tuple(run_ids), workload, metric)


@shared(stamped=False, ttl=60)  # computed once for every session that compares the same runs
def _compare_finding(home_dir: str, run_ids: tuple[str, ...], workload: str, metric: str | None = None) -> dict:
    from experiments import study_report

    metric = (metric or key_metric(workload)).split("/", 1)[1]
    # 500 resamples: p-values to 0.002, in about half the time of the Studies page's 1000
    rep = study_report.compare(Path(home_dir), list(run_ids), metric, n_boot=500)
    return {k: rep[k] for k in ("finding", "seeds_to_settle", "rows", "notes", "metric_name", "alpha", "metric")}


def default_pair(details: dict[str, dict], order: list[str]) -> tuple[str, str]:
    """Runs A and B of the confusion-matrix difference: the first run of
    `order` (the table's best) and the next one whose options differ in more
    than the seed (two seeds of one config make a dull pair)."""
    def options(name: str) -> dict:
        return {k: v for k, v in details[name]["config"].items() if k != "train.seed"}

    first = order[0]
    other = next((n for n in order[1:] if options(n) != options(first)), order[1])
    return first, other


def _treatment(sampler: str, class_weighted: bool) -> str:
    if not class_weighted:
        return sampler
    return "class-weighted loss" if sampler == "none" else f"{sampler} + class-weighted loss"


@st.cache_data(ttl=10, show_spinner=False)
def datasets(home_dir: str) -> list[dict]:
    """One entry per workload: whether it is ready, its size and a chart's data."""
    from core.workloads import all_workloads

    out = []
    for w in all_workloads():
        meta = w.dataset_info(Path(home_dir))
        entry = {"workload": w.name, "name": w.title, "ready": meta is not None}
        if meta:
            entry.update(_overview(home_dir, w.name, json.dumps(meta, default=str)))
        out.append(entry)
    return out


@st.cache_data(ttl=60, show_spinner=False)
def _overview(home_dir: str, workload: str, meta_json: str) -> dict:
    """A prepared dataset's summary, chart and caption (cached: titles read every split)."""
    from core.workloads import get

    return get(workload).overview(json.loads(meta_json), Path(home_dir))


@shared(min_age=1.0)  # one read for every session, again when the store changes
def runs(home_dir: str, limit: int = 500) -> pd.DataFrame:
    from experiments.queries import list_runs

    frame = pd.DataFrame(list_runs(Path(home_dir), limit=limit))
    if frame.empty:
        return frame
    frame["started"] = pd.to_datetime(frame["start_time"], unit="ms")
    frame["model"] = [_model_words(r) for r in frame.to_dict("records")]  # in words, from the params
    return frame


def _model_words(row: dict) -> str:
    from core import words

    params = {k: v for k, v in row.items() if isinstance(k, str) and "." in k and v not in ("", None)}
    if not params.get("model.name"):
        return str(row.get("model", ""))
    return words.run_name(params)


@per_table()  # the same for every session reading the same runs
def timed_here(frame: pd.DataFrame) -> pd.DataFrame:
    """The finished runs with an epoch time that were trained in this store:
    what a time estimate may learn from. An imported reference run's epochs
    were timed on the machine that made its record (full data, one core,
    beside other jobs), not here."""
    if frame.empty:
        return frame
    here = ~frame["reference"].fillna(False).astype(bool) if "reference" in frame else True
    return frame[(frame["status"] == "FINISHED") & frame["last_epoch_seconds"].notna() & here]


@per_table()  # the same for every session reading the same runs
def references_for(pool: pd.DataFrame, run_ids: list[str]) -> list[str]:
    """The full-data reference runs (results/reference, imported) of the same
    study config as each of these runs, every seed; none for a run outside a
    built-in study or for a reference run itself."""
    if pool.empty or "reference" not in pool:
        return []
    refs = pool[pool["reference"]]
    picked = pool[pool["run_id"].isin(run_ids) & ~pool["reference"] & (pool["point"] != "")]
    wanted = set(zip(picked["study"], picked["point"]))
    return [r.run_id for r in refs.itertuples() if (r.study, r.point) in wanted and r.run_id not in run_ids]


# what each metric card measures, in one line (Run report, Compare, one-click comparison)
METRIC_MEANING = {
    "test/accuracy": "share of test items classified right; always predicting the most frequent class can score "
                     "high when one class dominates",
    "test/balanced_accuracy": "mean recall over the classes: each class counts the same, however rare",
    "test/macro_f1": "mean F1 over the classes: a rare class that is missed pulls it down",
    "best_epoch": "the epoch whose weights were tested (best validation score)",
}


def metric_meaning(key: str, report: dict | None = None) -> str:
    """A metric card's line; for accuracy, what always predicting this test
    set's most frequent class would score (from the report's supports), the
    bar a model has to clear."""
    if key == "test/accuracy" and report:
        from core.workloads import spelled_out

        support = {name: float(v["support"]) for name, v in report.items()
                   if isinstance(v, dict) and "support" in v and name not in ("macro avg", "weighted avg")}
        total = sum(support.values())
        if total > 0:
            top = max(support, key=support.get)
            return (f"share of test items classified right; always predicting the most frequent class "
                    f"({spelled_out([top])[0]}) scores {support[top] / total:.3g} here")
    return METRIC_MEANING[key]


def run_label(r) -> str:
    """How a run is named wherever runs are listed or picked: the name its
    user gave it (or its default), the model, and the short id."""
    name = getattr(r, "name", "") or ""
    model = getattr(r, "model", "")
    head = f"{name} · {model}" if name and name != model else model
    return f"{head} · {r.workload} · sample {r.sample:g} · {r.status} · {r.run_id[:8]}"


def spelled_out(labels) -> list[str]:
    """Class labels with their long names (the heartbeat letters' AAMI names); other labels unchanged."""
    from core.workloads import spelled_out as spell

    return spell(labels)


@shared(min_age=1.0)
def run_detail(home_dir: str, run_id: str) -> dict:
    """A run's params, histories and report artifacts (the config as params)."""
    from experiments.queries import run_detail as detail

    d = detail(Path(home_dir), run_id)
    d["describe"] = d["config"].describe()
    d["config"] = d["config"].to_params()  # plain strings: cacheable
    return d


PER_CLASS_COLUMNS = {"recall": "sensitivity (recall)", "precision": "PPV (precision)", "f1-score": "F1",
                     "support": "support"}


def per_class_table(report: dict, names: list[str]) -> pd.DataFrame:
    """A classification report as a table, one row per class then the macro and
    weighted averages, with the names ECG papers use: sensitivity (recall)
    and positive predictive value (precision) beside F1."""
    rows = [n for n in [*names, "macro avg", "weighted avg"] if n in report]
    table = pd.DataFrame({n: report[n] for n in rows}).T
    return table[list(PER_CLASS_COLUMNS)].rename(columns=PER_CLASS_COLUMNS)


def option_defaults() -> dict[str, str]:
    from core.config import RunConfig

    return RunConfig().to_params()


def option_types() -> dict[str, str]:
    """Each option's type name ("int", "float", "bool", "str") for typed widgets."""
    import typing
    from dataclasses import fields

    from core.config import SECTIONS

    return {f"{section}.{f.name}": typing.get_type_hints(part)[f.name].__name__
            for section, part in SECTIONS.items() for f in fields(part)}


def run_presets(workload: str, home_dir: str | None = None) -> dict[str, dict]:
    """The presets a workload's New run form offers: its named presets (the
    quickest first), the classroom recipe, then plain defaults. With a home,
    each label ends in the time it takes on this machine, from finished runs
    of the same model here (or says it is not timed here yet)."""
    from core import presets
    from core.config import DataConfig, RunConfig

    out = {}
    for name, values in presets.PRESETS.items():
        if values.get("data.workload", DataConfig.workload) == workload:
            out[name] = {"label": f"{name}: {presets.DESCRIPTIONS.get(name, '')}", "overrides": dict(values)}
    if workload in presets.CLASSROOM:
        out["classroom"] = {"label": "classroom: the recipe every arm of a one-click comparison shares",
                            "overrides": presets.classroom(workload)}
    out["defaults"] = {"label": "defaults: every option at its default", "overrides": {}}
    if home_dir is not None:
        for entry in out.values():
            try:
                params = RunConfig().replace(**{"data.workload": workload, **entry["overrides"]}).to_params()
                seconds = estimate_seconds(home_dir, params)
            except (ValueError, KeyError):
                seconds = None
            entry["label"] += (" (not timed on this machine yet)" if seconds is None else
                               f" (about {max(seconds / 60, 0.1):.1f} min here)")
    return out


def choices() -> dict[str, tuple]:
    """Options with a fixed set of values (from core.options, as the CLI)."""
    from core.options import OPTIONS

    return {k: o.choices for k, o in OPTIONS.items() if o.choices and k != "data.workload"}


def launch(home_dir: str, params: dict[str, str], run_name: str | None, slots: int) -> str:
    """Validate the options (ValueError with the message to show) and start
    the run in the background."""
    from core.config import RunConfig
    from experiments import launcher, workloads
    from experiments.once import once

    cfg = RunConfig.from_params(params)
    if workloads.dataset_info(cfg.data.workload, Path(home_dir)) is None:
        raise ValueError(f"the {cfg.data.workload} data is not prepared yet; see the Home page")
    from core import words

    # a second click or a second tab within seconds starts nothing new (Started.repeat says so)
    name = run_name or words.run_name(cfg.to_params())
    run_id = once(Path(home_dir), "run", {"params": cfg.to_params(), "name": name, "slots": slots},
                  lambda: launcher.launch(cfg, Path(home_dir), name, slots=slots))
    runs.clear()
    return run_id


def cancel(home_dir: str, run_id: str) -> str:
    from experiments import launcher
    from experiments.once import once

    result = once(Path(home_dir), "cancel", run_id, lambda: launcher.cancel(Path(home_dir), run_id))
    runs.clear()
    return result


def estimate_seconds(home_dir: str, params: dict[str, str]) -> float | None:
    """A rough duration from finished runs of the same model on this
    machine: same workload, model, direction, layers, hidden size, samples per
    step (frame) and sample fraction; their mean seconds per epoch times this
    run's epochs. None without such a run: a time measured on another model or
    another sample size says little about this one."""
    frame = timed_here(runs(home_dir))
    if frame.empty:
        return None
    # the listing carries each run's model, size and last epoch time: no per-run query
    def column(key: str, default: str = "") -> pd.Series:
        return frame[key].astype(str) if key in frame else pd.Series(default, index=frame.index)

    steps = column("model.frame").replace("", "1")  # runs before --frame read 1 sample a step
    layers = column("model.num_layers").replace("", "1")
    same = frame[(frame["workload"] == params["data.workload"])
                 & (frame["model.name"] == params["model.name"])
                 & (frame["model.bidirectional"] == params["model.bidirectional"])
                 & (layers == str(params.get("model.num_layers", "1")))
                 & (column("model.hidden_size") == str(params["model.hidden_size"]))
                 & (steps == str(params.get("model.frame", "1")))
                 & ((frame["sample"].astype(float) - float(params["data.sample"])).abs() < 1e-9)].head(20)
    if same.empty:
        return None
    return float(same["last_epoch_seconds"].astype(float).mean()) * int(params["train.epochs"])


# ---------------------------------------------------------------------------
# Compare: ready-made groupings for the two questions of the original studies
SEQUENCE_ORDER = RECURRENT_NAMES  # the recurrent models, cell by cell: padded, packed, trimmed
TREATMENTS = ("no sampler", "weighted sampler", "class-weighted loss", "sampler + weighted loss")


def key_metric(workload: str) -> str:
    """The metric a study ranks by (the workload's): balanced accuracy for
    the 632 categories, macro-F1 for the unbalanced beats."""
    from core.workloads import get

    return f"test/{get(workload).key_metric}"


def workload_labels() -> dict[str, str]:
    """Workload name -> its label on pickers, in registry order."""
    from core.workloads import all_workloads

    return {w.name: w.label for w in all_workloads()}


def workload(name: str):
    """The workload's torch-free description (core.workloads.base.Workload)."""
    from core.workloads import get

    return get(name)


def _flag(value) -> bool:
    return str(value).strip().lower() == "true"


@per_table()  # the same for every session reading the same runs
def _study_frame(frame: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Finished recurrent runs of a workload with their variant and treatment."""
    if frame.empty or "model.name" not in frame:
        return frame.iloc[0:0]
    f = frame[(frame["status"] == "FINISHED") & (frame["workload"] == workload)
              & frame["model.name"].isin(SEQUENCE_ORDER)].copy()
    bi = f["model.bidirectional"].map(_flag)
    f["variant"] = [("bi-" if b else "") + n for n, b in zip(f["model.name"], bi)]
    f["variant_rank"] = [SEQUENCE_ORDER.index(n) + (len(SEQUENCE_ORDER) if b else 0) for n, b in zip(f["model.name"], bi)]
    from core.samplers import NONE

    sampler = f["train.sampler"] != NONE
    weighted = f["train.class_weighted_loss"].map(_flag)
    f["treatment"] = [TREATMENTS[int(s) + 2 * int(w)] for s, w in zip(sampler, weighted)]
    f["size"] = f["model.num_layers"].astype(str) + "x" + f["model.hidden_size"].astype(str)
    return f


def _pick(group: pd.DataFrame, metric: str, how: str) -> str:
    if how == "latest":
        return group.sort_values("start_time", ascending=False).iloc[0]["run_id"]
    return group.sort_values([metric, "start_time"], ascending=False, na_position="last").iloc[0]["run_id"]


@per_table()  # the same for every session reading the same runs
def study_fractions(frame: pd.DataFrame, workload: str) -> list[float]:
    """Sample fractions with finished recurrent runs, the one covering the most
    variants first."""
    f = _study_frame(frame, workload)
    if f.empty:
        return []
    cover = f[f["treatment"] == TREATMENTS[0]].groupby("sample")["variant"].nunique()
    return sorted(f["sample"].unique(), key=lambda s: (-int(cover.get(s, 0)), -s))


def question_metric(question: str, workload: str) -> str:
    """The metric a question ranks by, on every page: the built-in study's
    ("samplers": balanced accuracy, what imbalance handling is for), else the
    workload's. One answer per question: Compare, One-click and Studies agree."""
    from experiments import studies

    study = studies.BUILTIN.get({"variants": "architectures" if workload == "heartbeat" else "title-models",
                                 "samplers": "samplers", "rhythm": "rhythm"}.get(question, ""))
    return f"test/{study.metric}" if study is not None else key_metric(workload)


@per_table()  # the same for every session reading the same runs
def variant_study(frame: pd.DataFrame, workload: str, sample: float, how: str = "best") -> list[str]:
    """RNN vs packed vs trimmed RNN vs GRU vs LSTM, uni- and bidirectional: one
    finished run per variant (no sampler, unweighted loss) at this sample
    fraction, the best by the workload's metric or the latest; in variant order."""
    f = _study_frame(frame, workload)
    f = f[(f["sample"] == sample) & (f["treatment"] == TREATMENTS[0])]
    metric = question_metric("variants", workload)
    picked = [(g["variant_rank"].iloc[0], _pick(g, metric, how)) for _, g in f.groupby("variant")]
    return [run_id for _, run_id in sorted(picked)]


@per_table()  # the same for every session reading the same runs
def sampler_models(frame: pd.DataFrame, workload: str, sample: float) -> list[str]:
    """Models ("bi-gru 1x64") run with at least two of the treatments at this
    sample fraction, the one with the most treatments first."""
    f = _study_frame(frame, workload)
    f = f[f["sample"] == sample]
    if f.empty:
        return []
    models = (f["variant"] + " " + f["size"])
    n = f.groupby(models)["treatment"].nunique()
    return sorted(n[n >= 2].index, key=lambda m: (-int(n[m]), m))


@per_table()  # the same for every session reading the same runs
def sampler_study(frame: pd.DataFrame, workload: str, sample: float, model: str, how: str = "best") -> list[str]:
    """The effect of the sampler: one finished run of `model` per treatment (no
    sampler, weighted sampler, class-weighted loss, both) at this sample fraction."""
    f = _study_frame(frame, workload)
    f = f[(f["sample"] == sample) & ((f["variant"] + " " + f["size"]) == model)]
    picked = {t: _pick(g, question_metric("samplers", workload), how) for t, g in f.groupby("treatment")}
    return [picked[t] for t in TREATMENTS if t in picked]


def confusion_pair(details: dict[str, dict]) -> dict[str, dict]:
    """The runs of a comparison that have a test confusion matrix, with the
    same class labels as the first of them."""
    with_cm = {n: d for n, d in details.items() if d.get("confusion")}
    if not with_cm:
        return {}
    labels = next(iter(with_cm.values()))["confusion"]["labels"]
    return {n: d for n, d in with_cm.items() if d["confusion"]["labels"] == labels}


# ---------------------------------------------------------------------------
# Monitor: where a live run is, from its own epochs and batches only
def _duration(seconds: float) -> str:
    return f"about {seconds:.0f} s left" if seconds < 90 else f"about {seconds / 60:.1f} min left"


def live_progress(history: pd.DataFrame, total_epochs: int, progress_json: str | None) -> tuple[float, str]:
    """(fraction done, one line) for a running run. Its progress tag
    (experiments.runner.Progress) gives the phase and the batch within the
    epoch; the time left comes from this run's own epochs (or, in its first
    epoch, its own batches so far): never from another run or model."""
    import json

    done = len(history)
    total = max(int(total_epochs), 1)
    try:
        p = json.loads(progress_json) if progress_json else {}
    except ValueError:
        p = {}
    phase = p.get("phase")
    if phase == "testing":
        return 1.0, f"testing: {done} of {total} epochs trained, now scoring the test set (the last step)"
    if phase in ("starting", "loading data") or (not p and not done):  # no tag yet: the process is starting
        return 0.0, "starting: loading the data and building the model…"
    batch, batches = int(p.get("batch", 0)), int(p.get("batches", 0))
    within = batch / batches if batches and phase == "training" else 0.0
    fraction = min((done + within) / total, 1.0)
    text = f"epoch {min(done + 1, total)} of {total}"
    if batches and phase == "training":
        text += f", batch {batch} of {batches}"
    per_epoch = None
    if done and "epoch_seconds" in history:
        per_epoch = float(history["epoch_seconds"].mean())
    elif grounded(batch, batches, p):
        per_epoch = (float(p["at"]) - float(p["epoch_started"])) / batch * batches
    if per_epoch is not None:
        text += f" · {_duration(per_epoch * (total - done - within))}, then testing"
    elif phase == "training":
        text += " · time left: measuring the first batches…"
    return fraction, text


MIN_BATCHES = 20  # the first batches are slow (warm-up, caches): no time left from fewer than these
MIN_SHARE = 0.05  # ... nor from less than this share of the epoch
MIN_SECONDS = 10.0  # ... nor from less than this many seconds


def grounded(batch: int, batches: int, p: dict) -> bool:
    """Whether the batches measured so far in a run's first epoch can ground a
    time left: enough of them, a share of the epoch, and some seconds."""
    if not (batch and batches and p.get("at") and p.get("epoch_started")):
        return False
    elapsed = float(p["at"]) - float(p["epoch_started"])
    return batch >= min(MIN_BATCHES, batches) and batch / batches >= MIN_SHARE and elapsed >= MIN_SECONDS


def file_slug(name: str) -> str:
    """A name as a safe file-name part: letters, digits and dashes."""
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", str(name)).strip("-").lower()[:40] or "untitled"
