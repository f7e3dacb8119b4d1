"""The one-click comparison's way into experiments: the arms of each question,
an estimate of the time from the classroom recipe and measured speeds, a
plan that fits a budget in minutes, the launch as a study in the background,
and the arms' live curves.

Every arm starts from the workload's classroom recipe (core.presets), so the
arms differ only in the factor under study. A comparison is recorded as a
study (experiments.sweep): the Studies page and the CLI read it as well.
"""
from __future__ import annotations

import math
import os
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.workloads import get as get_workload
from experiments.tags import (
    BUDGET_TAG, EPOCH_TAG, ESTIMATE_TAG, LEARNED_TAG, METRIC_TAG, POINT_INDEX_TAG, POINT_TAG, PROGRESS_TAG, SEED_TAG,
    STUDY_TAG
)

QUESTIONS = {
    "variants": "Which recurrent variant?",
    "samplers": "What does a sampler change?",
    "rhythm": "Does the rhythm help a new patient?",
    "own": "Your own factors",
}
# the built-in study whose configs are a question's arms, per workload
BUILTIN = {("variants", "heartbeat"): "architectures", ("samplers", "heartbeat"): "samplers",
           ("variants", "titles"): "title-models", ("rhythm", "heartbeat"): "rhythm"}
# options a teacher may vary in "your own factors" (the seed is the seeds' job)
NOT_A_FACTOR = ("data.workload", "train.seed", "train.device", "train.precision")
MAX_FACTORS = 3
MAX_ARMS = 24
MIN_EPOCHS = 3  # a plan never goes below these to fit a budget: under them nothing learns
MIN_SAMPLE = 0.05
START_SECONDS = 8.0  # a worker process importing torch and MLflow and loading the data, per run
COORDINATOR_SECONDS = 10.0  # the study's own process starting and recording the queue


def questions(workload: str) -> dict[str, str]:
    """The questions a workload can ask (samplers need the heartbeat classes)."""
    return {k: v for k, v in QUESTIONS.items() if k == "own" or (k, workload) in BUILTIN}


def factor_options(workload: str) -> dict[str, dict]:
    """Options that can be a factor of "your own factors": label, help, type
    and choices (None: free values)."""
    from core import options as O
    from dashboard.services import option_types

    types = option_types()
    out = {}
    for opt in O.for_workload(workload):
        if opt.key in NOT_A_FACTOR:
            continue
        choices = O.choices_for(opt.key, workload)
        if types[opt.key] == "bool":
            choices = ("false", "true")
        out[opt.key] = {"label": opt.label, "help": opt.idea, "type": types[opt.key],
                        "choices": list(choices) if choices else None}
    return out


def recipe_value(workload: str, key: str) -> str:
    """An option's value in the classroom recipe (its default where the recipe
    leaves it)."""
    from core.config import RunConfig, _to_str
    from core.presets import classroom

    cfg = RunConfig().replace(**{"data.workload": workload, **classroom(workload)})
    return _to_str(cfg.to_params()[key])


def parse_values(key: str, text: str, typ: str) -> list[Any]:
    """Comma-separated values of a free option ("32, 64, 128"), typed.
    ValueError: what to type instead."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ValueError(f"give {key} at least one value, e.g. 32, 64")
    convert = {"int": int, "float": float}.get(typ, str)
    out = []
    for p in parts:
        try:
            out.append(convert(p))
        except ValueError:
            raise ValueError(f"{key}: {p!r} is not a{'n' if typ == 'int' else ''} {typ}; give values like "
                             f"{'32, 64' if typ == 'int' else '0.001, 0.003'}") from None
    return list(dict.fromkeys(out))


def _own_study(workload: str, factors: dict[str, list[Any]]):
    from experiments import studies as S

    if not factors:
        raise ValueError("pick at least one option to vary")
    if len(factors) > MAX_FACTORS:
        raise ValueError(f"vary at most {MAX_FACTORS} options at once: each adds a dimension to the grid")
    types = {k: v["type"] for k, v in factor_options(workload).items()}
    made = []
    for key, values in factors.items():
        if len(values) < 1:
            raise ValueError(f"give {key} at least one value")
        if types.get(key) == "bool":
            values = [v if isinstance(v, bool) else str(v).lower() == "true" for v in values]
        made.append(S._values(key, values))
    return S.Study(name="own factors", description="Your own factors on the classroom recipe.",
                   factors=tuple(made), seeds=1, recipe="classroom", workload=workload,
                   metric=get_workload(workload).key_metric)


def base_study(question: str, workload: str, factors: dict[str, list[Any]] | None = None):
    """The study whose configs are the question's arms."""
    from experiments import studies as S

    if question == "own":
        return _own_study(workload, factors or {})
    if (question, workload) not in BUILTIN:
        raise ValueError(f"the question {question!r} is not asked of the {workload} workload; choose one of: "
                         f"{', '.join(questions(workload))}")
    return S.builtin(BUILTIN[(question, workload)])


def arms(study) -> list[dict]:
    """The arms a teacher can tick: each config's label, the options it sets
    and why it is expected to fail, where that failure is the lesson."""
    from experiments import studies as S

    from core import words
    from experiments.study_report import config_names

    points = S.points(study)
    if len(points) > MAX_ARMS:
        raise ValueError(f"these factors make {len(points)} arms; keep it to {MAX_ARMS} or fewer (fewer values)")
    names = config_names(study)
    return [{"label": p.label, "name": names.get(p.label, p.label), "explain": words.explain(p.overrides),
             "overrides": p.overrides, "note": study.notes.get(p.label, "")} for p in points]


def _safe_name(name: str) -> str:
    # the name goes into MLflow filter strings and run names: no quotes or backticks
    return " ".join(name.replace("'", "").replace('"', "").replace("`", "").split())[:60]


def comparison_study(study, picked: list[str], name: str = ""):
    """The study to run: all arms ticked keep the study's own factors (its
    factor effects); a subset becomes one factor, "arm", whose levels are the
    ticked configs with the same labels and notes."""
    from experiments import studies as S

    all_arms = arms(study)
    labels = [a["label"] for a in all_arms]
    unknown = [p for p in picked if p not in labels]
    if unknown:
        raise ValueError(f"unknown arm(s) {', '.join(unknown)}; choose from: {', '.join(labels)}")
    if len(picked) < 2:
        raise ValueError("tick at least two arms: a comparison needs something to compare")
    title = _safe_name(name) or f"compare {study.name}"
    if set(picked) == set(labels):
        return replace(study, name=title)
    chosen = [a for a in all_arms if a["label"] in picked]
    factor = S.Factor(S.ARM, tuple(S.Level(a["label"], dict(a["overrides"])) for a in chosen))
    return replace(study, name=title, factors=(factor,), search="grid",
                   notes={a["label"]: a["note"] for a in chosen if a["note"]})


# -- the time: estimate and fit ---------------------------------------------------------------
@dataclass
class Plan:
    """What a launch would run and how long it should take."""
    study: Any
    workload: str
    seeds: int
    workers: int
    overrides: dict[str, Any]  # on top of the classroom recipe: the sample and epochs that fit
    recipe: dict[str, Any]  # the recipe's own sample and epochs
    seconds: float | None  # estimated wall time, None when nothing measured applies
    budget_seconds: float
    fits: bool
    arms: list[dict] = field(default_factory=list)  # label, seconds per run, where the speed comes from
    changes: list[str] = field(default_factory=list)  # what was cut to fit, in words

    @property
    def runs(self) -> int:
        return len(self.arms) * self.seeds


@dataclass
class Speed:
    rate: float  # seconds per epoch per unit of sample
    overhead: float  # seconds of a run outside its epochs (start, test pass, recording)
    runs: int  # how many earlier runs it comes from
    source: str  # where it comes from, in words


def _speeds(frame: pd.DataFrame, cfg) -> Speed | None:
    """A model's speed from finished runs here of the same cell and sequence
    mode and samples per step: the same direction (else the other one, times
    or over two: a bidirectional layer is two passes), the same batch size and
    hidden size when such runs exist (else scaled by hidden size)."""
    from dashboard.services import timed_here

    frame = timed_here(frame)
    if frame.empty or "model.name" not in frame:
        return None
    m, t = cfg.model, cfg.train

    def col(name: str, default: str) -> pd.Series:
        return frame[name].replace("", default) if name in frame else pd.Series(default, index=frame.index)

    model = frame[(frame["workload"] == cfg.data.workload) & (frame["model.name"] == m.name)
                  & (col("model.frame", "1") == str(m.frame))]
    bi = col("model.bidirectional", "false")[model.index] == "true"
    same, factor, how = model[bi == m.bidirectional], 1.0, "of this model"
    if same.empty:
        same = model[bi != m.bidirectional]
        factor = 2.0 if m.bidirectional else 0.5
        how = f"of its {'uni' if m.bidirectional else 'bi'}directional twin, {'x2' if m.bidirectional else '/2'} " \
              "for the directions"
    if same.empty:
        return None
    exact = same[(col("train.batch_size", "128")[same.index] == str(t.batch_size))
                 & (same["model.hidden_size"] == str(m.hidden_size))]
    use = (exact if not exact.empty else same).head(10)
    rates, extra = [], []
    for r in use.to_dict("records"):
        scale = 1.0 if not exact.empty else m.hidden_size / max(int(r["model.hidden_size"] or 1), 1)
        rates.append(float(r["last_epoch_seconds"]) / max(float(r["sample"]), 1e-6) * scale * factor)
        # a study's run is recorded when the study is queued, so its wall time includes the wait for a
        # worker: only a run started on its own tells what a run costs beyond its epochs
        if not r.get("study") and pd.notna(r.get("end_time")) and pd.notna(r.get("start_time")) and r.get("epochs"):
            wall = (r["end_time"] - r["start_time"]) / 1000
            inside = r["epochs"] * float(r["last_epoch_seconds"])
            if wall >= 0.9 * inside:  # a run without a real wall time (an older import) adds no overhead
                extra.append(max(wall - inside, 0.0))
    overhead = float(pd.Series(extra).median()) if extra else START_SECONDS
    n = len(use)
    return Speed(float(pd.Series(rates).median()), overhead, n, f"{n} earlier run{'s' if n != 1 else ''} {how} here")


def _run_seconds(speed: Speed, sample: float, epochs: int) -> float:
    return speed.overhead + speed.rate * sample * epochs


def makespan(run_seconds: list[float], workers: int) -> float:
    """Wall time of runs handed in order to the first free of `workers`."""
    free = [0.0] * max(1, workers)
    for s in run_seconds:
        i = free.index(min(free))
        free[i] += s
    return max(free) if run_seconds else 0.0


def estimate(frame: pd.DataFrame, study, workload: str, seeds: int, workers: int,
             overrides: dict[str, Any]) -> tuple[float | None, list[dict]]:
    """The study's estimated wall time with these overrides, and per arm its
    seconds per run and the source of that speed."""
    from core.presets import CLASSROOM_SLOWEST_RUN_SECONDS, classroom
    from experiments import studies as S

    trials = S.trials(study, workload, overrides, seeds)
    recipe = classroom(workload)
    per_arm: dict[str, dict] = {}
    for t in trials:
        if t.point.label in per_arm:
            continue
        speed = _speeds(frame, t.config)
        entry = {"label": t.point.label, "sample": t.config.data.sample, "epochs": t.config.train.epochs}
        if speed is not None:
            entry.update(seconds=_run_seconds(speed, t.config.data.sample, t.config.train.epochs), source=speed.source)
        per_arm[t.point.label] = entry
    measured = [a["seconds"] for a in per_arm.values() if "seconds" in a]
    slowest = CLASSROOM_SLOWEST_RUN_SECONDS.get(workload)
    for a in per_arm.values():
        if "seconds" in a:
            continue
        # erring long: as slow as the slowest arm measured here, or the recipe's slowest config scaled to this
        # sample and these epochs, whichever is longer
        guesses = {}
        if measured:
            guesses["the slowest arm measured here"] = max(measured)
        if slowest is not None:
            share = (a["sample"] * a["epochs"]) / (float(recipe["data.sample"]) * int(recipe["train.epochs"]))
            guesses[f"the slowest classroom config ({slowest:.0f} s a run on one core, measured)"] = slowest * share
        if guesses:
            why, seconds = max(guesses.items(), key=lambda kv: kv[1])
            a.update(seconds=seconds, source=f"no earlier run of this model here: counted as {why}")
    if any("seconds" not in a for a in per_arm.values()):
        return None, list(per_arm.values())
    order = [per_arm[t.point.label]["seconds"] for t in trials]  # the sweep's order: seed by seed
    return COORDINATOR_SECONDS + makespan(order, workers), list(per_arm.values())


def plan(frame: pd.DataFrame, study, workload: str, seeds: int, budget_minutes: float,
         workers: int | None = None) -> Plan:
    """Fit the comparison into the budget: the classroom recipe as measured
    when it fits; else fewer epochs (down to MIN_EPOCHS), then a smaller sample
    (down to MIN_SAMPLE), said in words; else the recipe with a warning that
    it will not fit."""
    from core.presets import classroom
    from experiments import studies as S

    if not 1 <= seeds <= 20:
        raise ValueError(f"seeds={seeds} must be between 1 and 20")
    if not 0 < budget_minutes <= 24 * 60:
        raise ValueError(f"budget={budget_minutes:g} minutes must be between 1 and 1440")
    n_runs = len(S.trials(study, workload, {}, seeds))
    workers = workers or max(1, min(os.cpu_count() or 1, n_runs))
    # the recipe's sample and epochs, as the study's own base sets them (the rhythm study: a 20% sample, 6 epochs)
    recipe = {**classroom(workload), **{k: v for k, v in study.base.items() if k in ("data.sample", "train.epochs")}}
    sample, epochs = float(recipe["data.sample"]), int(recipe["train.epochs"])
    budget = budget_minutes * 60
    base = Plan(study, workload, seeds, workers, {}, {"data.sample": sample, "train.epochs": epochs}, None, budget,
                True)
    seconds, per_arm = estimate(frame, study, workload, seeds, workers, {})
    base.seconds, base.arms = seconds, per_arm
    if seconds is None:
        base.changes.append("no measured speed applies to these arms yet: the recipe runs as it is")
        return base
    if seconds <= budget:
        return base
    for e, s in _smaller(sample, epochs):
        over = {"train.epochs": e} if e != epochs else {}
        if s != sample:
            over["data.sample"] = s
        sec, arms_ = estimate(frame, study, workload, seeds, workers, over)
        if sec is not None and sec <= budget:
            changes = []
            if e != epochs:
                changes.append(f"{e} epochs instead of the recipe's {epochs}")
            if s != sample:
                changes.append(f"a {s:.0%} sample instead of {sample:.0%}")
            return replace(base, overrides=over, seconds=sec, arms=arms_, changes=changes)
    base.fits = False
    return base


def _smaller(sample: float, epochs: int) -> typing.Iterator[tuple[int, float]]:
    """Ever cheaper (epochs, sample) pairs: epochs first, then the sample."""
    for e in range(epochs - 1, MIN_EPOCHS - 1, -1):
        yield e, sample
    e = min(epochs, MIN_EPOCHS)
    s = sample
    while s > MIN_SAMPLE + 1e-9:
        s = max(MIN_SAMPLE, math.floor(s * 0.8 * 100) / 100)
        yield e, s


# -- launch and watch ---------------------------------------------------------------------------


def launch(home_dir: str, p: Plan) -> tuple[str, bool]:
    """Record the comparison as a study and work it in the background (it
    outlives the page). Returns the study's run id and whether it is new (the
    same comparison recorded before is resumed, never trained twice).
    ValueError: what to fix."""
    from experiments import studies as S
    from experiments import sweep, workloads
    from experiments.mlflow_tracker import client
    from experiments.once import Started, once

    from dashboard import study_services as ss

    home = Path(home_dir)
    if workloads.dataset_info(p.workload, home) is None:
        raise ValueError(f"the {p.workload} data is not prepared yet; see the Data page")
    S.trials(p.study, p.workload, p.overrides, p.seeds)  # every config valid before anything is recorded

    def start() -> str:
        opened = sweep.open_study(home, p.study, p.workload, p.seeds, p.overrides)
        c = client(home)
        if p.seconds is not None:
            c.set_tag(opened.parent_id, ESTIMATE_TAG, f"{p.seconds:.0f}")
        c.set_tag(opened.parent_id, BUDGET_TAG, f"{p.budget_seconds:.0f}")
        ss.progress.clear()
        if ss.progress(home_dir, opened.parent_id)["done"] < opened.total:
            ss.start_worker(home_dir, opened.parent_id, p.workers)
        return f"{opened.parent_id} {'new' if opened.created else 'recorded'}"

    # a second click or a second tab within seconds starts nothing new (Started.repeat says so)
    started = once(home, "comparison", {"study": str(p.study), "workload": p.workload, "seeds": p.seeds,
                                        "overrides": p.overrides, "workers": p.workers}, start)
    parent, how = str(started).split(" ", 1)
    ss.studies.clear()
    return Started(parent, started.repeat, started.age), how == "new" and not started.repeat


@st.cache_data(show_spinner=False, max_entries=2000)
def _finished_history(home_dir: str, run_id: str, keys: tuple[str, ...]) -> pd.DataFrame:
    return _history(home_dir, run_id, keys)  # a finished run's history never changes


def _history(home_dir: str, run_id: str, keys: tuple[str, ...]) -> pd.DataFrame:
    from experiments.queries import run_history

    cols = {k: pd.Series(dict(run_history(Path(home_dir), run_id, k)), dtype=float) for k in keys}
    frame = pd.DataFrame(cols)
    frame.index.name = "epoch"
    return frame.sort_index()


@st.cache_data(show_spinner=False, max_entries=200)
def _notes(home_dir: str, parent_id: str) -> dict[str, str]:
    """Why an arm is expected to fail, from the study's recorded definition
    (it never changes)."""
    from experiments import sweep

    try:
        return dict(sweep.parent_definition(Path(home_dir), parent_id)[0].notes)
    except (ValueError, OSError):  # a study recorded before notes, or its definition is missing
        return {}


@st.cache_data(show_spinner=False, max_entries=200)
def _names(home_dir: str, parent_id: str) -> dict[str, str]:
    """Arm label -> the arm in words, from the study's recorded definition."""
    from experiments import sweep
    from experiments.study_report import config_names

    try:
        return config_names(sweep.parent_definition(Path(home_dir), parent_id)[0])
    except (ValueError, OSError):
        return {}


def arm_progress(run: dict) -> str:
    """One line on where a running arm is: epoch, batch, and a time left only
    once measured batches ground it (dashboard.services.live_progress)."""
    from dashboard.services import live_progress

    hist = run["history"]
    done = hist.dropna(how="all") if not hist.empty else hist
    _, line = live_progress(done, max(run["epochs"], 1), run.get("progress"))
    return f"{run.get('name', run['arm'])} · seed {run['seed']}: {line}"


@st.cache_data(ttl=2, show_spinner=False)
def live(home_dir: str, parent_id: str) -> dict:
    """The comparison's runs as they train: per run its arm, seed, status,
    epoch and validation history (score and loss)."""
    from experiments import sweep
    from experiments.mlflow_tracker import client

    home = Path(home_dir)
    parent = client(home).get_run(parent_id)
    metric = parent.data.tags.get(METRIC_TAG, "macro_f1")
    # the curves follow a metric validation measures each epoch (a metric over some classes, SVEB F1, is a
    # test figure only): balanced accuracy stands in for it
    curve = metric if metric in ("macro_f1", "balanced_accuracy", "accuracy") else "balanced_accuracy"
    keys = (f"val/{curve}", "val/loss", "epoch_seconds")
    runs = []
    for run in sweep.children(home, parent_id):
        t = run.data.tags
        status = run.info.status
        if status == "FINISHED":
            hist = _finished_history(home_dir, run.info.run_id, keys)
        elif status == "RUNNING":
            hist = _history(home_dir, run.info.run_id, keys)
        else:
            hist = pd.DataFrame(columns=list(keys))
        runs.append({"run_id": run.info.run_id, "arm": t.get(POINT_TAG, "?"),
                     "point": int(t.get(POINT_INDEX_TAG, 0)), "seed": int(t.get(SEED_TAG, 0)),
                     "status": status, "epoch": int(float(t.get(EPOCH_TAG, "0") or 0)),
                     "epochs": int(float(run.data.params.get("train.epochs", "0") or 0)), "history": hist,
                     "learned": {"true": True, "false": False}.get(t.get(LEARNED_TAG, "")),
                     "progress": t.get(PROGRESS_TAG)})
    runs.sort(key=lambda r: (r["point"], r["seed"]))
    tags = parent.data.tags
    notes = _notes(home_dir, parent_id)
    names = _names(home_dir, parent_id)
    for r in runs:
        r["name"] = names.get(r["arm"], r["arm"])
    return {"metric": metric, "curve_metric": curve, "runs": runs, "notes": notes, "names": names, "start_time": parent.info.start_time,
            "name": tags.get(STUDY_TAG),
            "estimate_seconds": float(tags[ESTIMATE_TAG]) if ESTIMATE_TAG in tags else None,
            "budget_seconds": float(tags[BUDGET_TAG]) if BUDGET_TAG in tags else None}


def _learned(arm: str, runs: list[dict]) -> bool | None:
    """Whether every finished seed of an arm learned (runs' own tags)."""
    marks = [r["learned"] for r in runs if r["arm"] == arm and r["status"] == "FINISHED"]
    if not marks or any(m is None for m in marks):
        return None
    return all(marks)


def ranked(rep: dict, runs: list[dict] | None = None, notes: dict[str, str] | None = None) -> pd.DataFrame:
    """The ranked arms for the page, narrow enough for a 1400-pixel page: each
    arm in words, the metric with its interval, the full-data reference of
    the same config where loaded, the verdict against the best and the
    three-way learned verdict (learned / partly / not learned; the reasons
    in full: `reasons`)."""
    from core.diagnosis import MARK
    from experiments import study_report

    m, name = rep["metric"], rep["metric_name"]
    rows = []
    for r in rep["rows"]:
        low, high = r.get(f"{m}_low"), r.get(f"{m}_high")
        ci = f"{r[m]:.3f}" if low is None or low != low else f"{r[m]:.3f} [{low:.3f}, {high:.3f}]"
        if "state" in r:
            learned = study_report.learned_text(r)
        else:
            flag = r.get("learned", _learned(r["config"], runs or []))
            learned = "" if flag is None else ("learned" if flag else MARK)
        row = {"rank": r["rank"], "arm": r.get("name", r["config"]), "seeds": r["seeds"],
               f"test {name} [95% CI]": ci}
        if rep.get("reference"):
            ref = rep["reference"].get(r["config"])
            row["full data, reference"] = "" if ref is None else (
                f"{ref['mean']:.3f}" + (f" [{ref['ci_low']:.3f}, {ref['ci_high']:.3f}]" if ref["ci_low"] is not None
                                        else ""))
        row.update({"vs best": {"best": "best", "not different": "≈ not different",
                                "worse": "✗ worse"}.get(r["verdict"], r["verdict"]), "learned": learned})
        rows.append(row)
    return pd.DataFrame(rows)


def reasons(rep: dict) -> list[tuple[str, str]]:
    """Why each arm that did not fully learn fell short, in full (the report's explanations)."""
    from experiments import study_report

    return rep.get("explanations") or study_report.explanations(rep)


def finding_parts(rep: dict) -> tuple[str, str]:
    """(the lesson of the whole table, the rest: the ties and what the winner
    pays) for a page that shows the lesson large and the rest beneath it."""
    full = finding(rep)
    lead = rep.get("lesson") or ""
    if lead and full.startswith(lead):
        return lead, full[len(lead):].strip()
    return full, ""


def finding(rep: dict) -> str:
    """The comparison's finding: the lesson of the whole table first, then
    the ties (the report's own), else the ranking said plainly."""
    if rep.get("finding"):
        return str(rep["finding"])
    rows = rep["rows"]
    if len(rows) < 2:
        return ""
    best = rows[0]
    tied = [r.get("name", r["config"]) for r in rows[1:] if r["verdict"] == "not different"]
    text = f"{best.get('name', best['config'])} ranks first ({rep['metric_name']} {best[rep['metric']]:.3f})"
    if tied:
        return text + f"; these runs cannot tell it from {', '.join(tied)}."
    return text + "; every other arm is significantly worse."


def settle_text(rep: dict) -> str:
    """How many seeds would settle an undecided difference, where the report says."""
    value = rep.get("seeds_to_settle")
    if value is None or value == {} or value == "":
        return ""
    if isinstance(value, (int, float)):
        return f"About {int(value)} seeds per arm would settle the closest undecided difference."
    if isinstance(value, dict):
        return "Seeds per arm that would settle each undecided difference: " + "; ".join(
            f"{k}: {v}" for k, v in value.items()) + "."
    return str(value)
