"""A study's results, read from the store: configs ranked by the mean of the
study's metric over seeds, with t-intervals, and tests against the best.

For every config against the best one:
- a paired bootstrap on the test set (test items resampled, the same items
  for both; each config's score is the mean over its seeds' runs) of the
  metric's difference: CI and p-value (core.stats.paired_bootstrap);
- Welch's t-test over the seeds' scores (is the gap larger than what
  another seed gives?);
- McNemar's test of accuracy for each seed's pair of runs, with the smallest
  accuracy difference the test set could detect at that discordance.

A config is called significantly worse than the best only when both the
bootstrap and the seeds say so: its p-value is the larger of the two (an
intersection-union test; with one seed, the bootstrap's alone), and those
p-values are Holm-adjusted over the comparisons with the best.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from core import diagnosis as D
from core import stats as ST
from core import workloads as W
from core.words import BASELINE
from experiments.mlflow_tracker import client
from experiments.sweep import children
from experiments.tags import (
    DESCRIBE_TAG, FACTORS_TAG, FACTOR_PREFIX, KIND_TAG, LEARNED_TAG, METRIC_TAG, POINT_INDEX_TAG, POINT_TAG,
    REASON_TAG, REFERENCE_TAG, SEED_TAG, STUDY_TAG, WALL_SECONDS_TAG
)

PREDICTIONS = "predictions/test_predictions.csv"
METRIC_NAMES = {"macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy", "accuracy": "accuracy",
                # metrics over some classes (heartbeats: SVEB F1, VEB F1, the 4-class macro-F1), from the registry;
                # a run whose workload has none leaves them out (None)
                **{name: label for name, (label, _) in W.class_metrics().items()}}
CLASS_METRICS = {name: idx for name, (_, idx) in W.class_metrics().items()}
_PREDICTIONS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def load_predictions(home: Path, run_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) of a finished run's test set, from its predictions
    artifact (kept in memory: a finished run's artifact never changes)."""
    import pandas as pd

    key = (str(home), run_id)
    if key not in _PREDICTIONS:
        local = client(home).download_artifacts(run_id, PREDICTIONS)
        frame = pd.read_csv(local, usecols=["y_true", "y_pred"])
        _PREDICTIONS[key] = (frame["y_true"].to_numpy(np.int64), frame["y_pred"].to_numpy(np.int64))
    return _PREDICTIONS[key]


def finished_runs(home: Path, parent_id: str) -> list[dict]:
    """One row per finished run of the study: its config label, factor levels,
    seed, test metrics and whether it learned (None: not recorded)."""
    rows = []
    for run in children(home, parent_id):
        if run.info.status != "FINISHED":
            continue
        t, m = run.data.tags, run.data.metrics
        rows.append({
            "run_id": run.info.run_id, "config": t.get(POINT_TAG, "?"), "point": int(t.get(POINT_INDEX_TAG, 0)),
            "seed": int(t.get(SEED_TAG, 0)),
            "levels": {k[len(FACTOR_PREFIX):]: v for k, v in t.items() if k.startswith(FACTOR_PREFIX)},
            **{k: m.get(f"test/{k}") for k in METRIC_NAMES},
            "seconds": float(t.get(WALL_SECONDS_TAG, "nan")),
            "recall": {k[len("test/recall_"):]: v for k, v in m.items() if k.startswith("test/recall_")},
            **_learned_tags(t),
        })
    return sorted(rows, key=lambda r: (r["point"], r["seed"]))


def _learned_tags(tags: dict) -> dict:
    return {"learned": {"true": True, "false": False}.get(tags.get(LEARNED_TAG, "")),
            "learned_reason": tags.get(REASON_TAG, "")}


def study_notes(home: Path, parent_id: str, name: str) -> dict[str, str]:
    """Config label -> why it is expected to fail (a teaching failure), from
    the recorded definition (else the built-in study of that name)."""
    from experiments import studies, sweep

    try:
        return dict(sweep.parent_definition(home, parent_id)[0].notes)
    except Exception:  # an older study without a definition artifact
        study = studies.BUILTIN.get(name)
        return dict(study.notes) if study else {}


def _definition(home: Path, parent_id: str):
    """The study recorded with a parent run and its workload, or None (an
    imported reference study, or one recorded before definitions)."""
    from experiments import sweep

    try:
        study, workload, _, _ = sweep.parent_definition(home, parent_id)
    except Exception:  # no definition artifact
        return None
    return study, workload


def config_names(study) -> dict[str, str]:
    """Config label -> the config in words ("gru · bidirectional=true" ->
    "GRU, both directions"), from the options each config sets (core.words);
    a named level's own name for options without words (a grid's training
    recipe). Where two configs would read the same, their labels stay."""
    from core import words
    from experiments import studies as S

    named_factors = [f for f in study.factors if "." not in f.name and f.name != S.ARM]
    try:
        points = S.points(study)
    except ValueError:
        return {}
    out = {}
    for p in points:
        named: dict[str, str] = {}
        for f in named_factors:
            label = p.levels.get(f.name)
            level = next((lv for lv in f.levels if lv.label == label), None)
            if level is not None:
                named.update({k: label for k in level.overrides})
        out[p.label] = words.config_name(p.overrides, named)
    counts = Counter(out.values())
    return {k: (v if counts[v] == 1 else k) for k, v in out.items()}


def builtin_base(study, workload: str | None = None) -> str | None:
    """The built-in study whose configs these are, whatever this one is called
    (a one-click comparison of all or some of its configs): the name its
    full-data reference runs are recorded under. None for other studies."""
    import json

    from experiments import studies as S

    def key(p) -> tuple:
        return p.label, json.dumps(p.overrides, sort_keys=True, default=str)

    try:
        mine = {key(p) for p in S.points(study)}
    except ValueError:
        return None
    for name, b in S.BUILTIN.items():
        if b.base != study.base or (workload and b.workload and b.workload != workload):
            continue
        if mine and mine <= {key(p) for p in S.points(b)}:
            return name
    return None


def report(home: Path, parent_id: str, metric: str | None = None, alpha: float = 0.05, n_boot: int = 1000,
           seed: int = 0) -> dict[str, Any]:
    """The ranked table, the runs, the factor effects and the finding as plain
    data. Each row also says whether every seed `learned`, carries the
    study's `note` for that config ("" if none) and its `name` in words."""
    parent = client(home).get_run(parent_id)
    metric = metric or parent.data.tags.get(METRIC_TAG, "macro_f1")
    name = parent.data.tags.get(STUDY_TAG, "?")
    runs = finished_runs(home, parent_id)
    notes = study_notes(home, parent_id, name)
    definition = _definition(home, parent_id)
    if definition is not None:
        names, base = config_names(definition[0]), builtin_base(*definition)
    else:
        from experiments import studies as S

        names, base = (config_names(S.BUILTIN[name]), name) if name in S.BUILTIN else ({}, None)
    out = rank_runs(home, runs, metric, alpha, n_boot, seed, notes, names)
    out.update(study=name, factors=_factors(parent), builtin=base)
    question = _question(definition, base)
    if question and out["rows"]:  # the study's own question first: what its factor decides
        line = question_lesson(out["rows"], question, metric)
        if line:
            out["lesson"] = " ".join(x for x in (line, out.get("lesson", "")) if x)
            out["finding"] = " ".join(x for x in (line, out["finding"]) if x)
    out["effects"] = factor_effects(runs, out["factors"], metric)
    is_reference = parent.data.tags.get(REFERENCE_TAG) == "true"
    out["reference"] = {} if is_reference or not base else reference_scores(home, base, metric)
    out["agreement"] = reference_agreement(out["rows"], out["reference"], metric)
    return out


def _question(definition, base: str | None) -> str:
    """The factor a study asks about: its recorded definition's, else its built-in's."""
    from experiments import studies as S

    if definition is not None and getattr(definition[0], "question", ""):
        return definition[0].question
    return S.BUILTIN[base].question if base in S.BUILTIN else ""


def compare(home: Path, run_ids: list[str], metric: str = "macro_f1", alpha: float = 0.05, n_boot: int = 1000,
            seed: int = 0) -> dict[str, Any]:
    """The same ranking and finding for runs picked by hand: runs whose
    options differ only in train.seed are seeds of one config."""
    c = client(home)
    groups: dict[tuple, list] = {}
    for run_id in run_ids:
        run = c.get_run(run_id)
        if run.info.status != "FINISHED":
            continue
        key = tuple(sorted((k, v) for k, v in run.data.params.items() if k != "train.seed"))
        groups.setdefault(key, []).append(run)
    labels = _group_labels(list(groups.values()))
    runs = []
    for point, (members, label) in enumerate(zip(groups.values(), labels)):
        for run in members:
            t, m = run.data.tags, run.data.metrics
            runs.append({"run_id": run.info.run_id, "config": label, "point": point,
                         "seed": int(run.data.params.get("train.seed", 0)), "levels": {},
                         **{k: m.get(f"test/{k}") for k in METRIC_NAMES}, **_learned_tags(t),
                         "recall": {k[len("test/recall_"):]: v for k, v in m.items() if k.startswith("test/recall_")}})
    return rank_runs(home, runs, metric, alpha, n_boot, seed, {})


def _group_labels(groups: list[list]) -> list[str]:
    """A config's name: its description; where two configs share one, the
    options that tell them apart (the seed aside), else the first run's short id."""
    from core import words

    labels = [words.run_name(g[0].data.params) if g[0].data.params.get("model.name")
              else (g[0].data.tags.get(DESCRIBE_TAG) or g[0].info.run_name) for g in groups]
    out = list(labels)
    for label in set(labels):
        same = [i for i, other in enumerate(labels) if other == label]
        if len(same) < 2:
            continue
        params = [groups[i][0].data.params for i in same]
        keys = sorted(k for k in set().union(*params) if k != "train.seed"
                      and len({p.get(k, "-") for p in params}) > 1)
        common = {k: Counter(p.get(k, "-") for p in params).most_common(1)[0][0] for k in keys}
        for i, p in zip(same, params):  # each config by what sets it apart from the most common values
            parts = [_option_words(k, p.get(k, "-")) for k in keys if p.get(k, "-") != common[k]]
            out[i] = f"{label} · {', '.join(parts[:3])}" if parts else label
    for i, g in enumerate(groups):
        if out.count(out[i]) > 1:
            out[i] = f"{out[i]} · {g[0].info.run_id[:6]}"
    return out


def _option_words(key: str, value: str) -> str:
    from core import options as O

    return f"{O.option(key).label} {value}"


def _load_all(home: Path, runs: list[dict]) -> tuple[np.ndarray | None, dict[str, np.ndarray], str]:
    """Every run's test predictions on one shared test set, or (None, {}, why)."""
    preds, y_true = {}, None
    try:
        for r in runs:
            yt, yp = load_predictions(home, r["run_id"])
            if y_true is None:
                y_true = yt
            elif not np.array_equal(y_true, yt):
                raise ValueError("the runs were tested on different test sets")
            preds[r["run_id"]] = yp
    except Exception as exc:  # no predictions (an older run), or different test sets: seeds only
        return None, {}, f"paired tests skipped: {exc}"
    return y_true, preds, ""


def _fill_learned(runs: list[dict], y_true: np.ndarray | None, preds: dict[str, np.ndarray], num_classes: int) -> None:
    """Runs recorded before the learned tag: the verdict from their predictions."""
    from core.metrics import confusion_matrix

    for r in runs:
        if r.get("learned") is None and y_true is not None and r["run_id"] in preds:
            v = D.check(confusion_matrix(y_true, preds[r["run_id"]], num_classes))
            r["learned"], r["learned_reason"] = v.learned, v.line


def rank_runs(home: Path, runs: list[dict], metric: str, alpha: float = 0.05, n_boot: int = 1000, seed: int = 0,
              notes: dict[str, str] | None = None, names: dict[str, str] | None = None) -> dict[str, Any]:
    """Configs (runs grouped by `config`, one run per seed) ranked, tested
    against the best, with intervals inside [0, 1], and the finding: the
    lesson of the whole table first (`lesson`), then the contest of the best
    two (`ties`). `names`: config label -> its name in words."""
    notes = notes or {}
    names = names or {}
    out: dict[str, Any] = {"metric": metric, "metric_name": METRIC_NAMES[metric], "alpha": alpha, "n_boot": n_boot,
                           "runs": runs, "rows": [], "effects": [], "notes": [], "test_size": 0, "study": "",
                           "factors": [], "finding": "No run has finished yet: nothing to compare.",
                           "seeds_to_settle": None}
    if not runs:
        return out
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(r["config"], []).append(r)
    scores = {name: [r[metric] for r in rs] for name, rs in groups.items()}
    order = [row.name for row in ST.rank_models(scores)]
    best = order[0]

    y_true, preds, why = _load_all(home, runs)
    if why:
        out["notes"].append(why)
    num_classes = int(max(y_true.max(), *(p.max() for p in preds.values())) + 1) if y_true is not None else 0
    out["test_size"] = int(y_true.size) if y_true is not None else 0
    _fill_learned(runs, y_true, preds, num_classes)
    scarce = _scarce_classes(y_true, runs)  # too few test items for "never found" to say anything

    replicates: dict[str, dict[str, np.ndarray]] = {}
    if y_true is not None:  # every config scored on the same resampled test items: paired comparisons
        measured = [m for m in METRIC_NAMES if all(r.get(m) is not None for r in runs)
                    and all(i < num_classes for i in CLASS_METRICS.get(m, ()))]
        observed, replicates = ST.bootstrap_scores(
            y_true, {name: np.stack([preds[r["run_id"]] for r in rs]) for name, rs in groups.items()},
            num_classes, metrics=measured, n_boot=n_boot, seed=seed,
            subsets={m: CLASS_METRICS[m] for m in measured if m in CLASS_METRICS})
    tests: dict[str, dict] = {}
    for name in order[1:]:
        t: dict[str, Any] = {"p_seeds": ST.welch_p(scores[best], scores[name])}
        if y_true is not None:
            boot = ST.bootstrap_difference(metric, observed[best][metric], observed[name][metric],
                                           replicates[best][metric], replicates[name][metric])
            t.update(diff=boot.difference, diff_low=boot.low, diff_high=boot.high, p_boot=boot.p_value)
            t.update(_mcnemar(y_true, preds, groups[best], groups[name], alpha))
        else:
            t["diff"] = float(np.mean(scores[best]) - np.mean(scores[name]))
        p_boot = t.get("p_boot", float("nan"))
        candidates = [p for p in (p_boot, t["p_seeds"]) if not math.isnan(p)]
        t["p"] = max(candidates) if candidates else float("nan")
        tests[name] = t
    ranked = ST.rank_models(scores, p_values={k: v["p"] for k, v in tests.items()}, alpha=alpha)
    for row in ranked:
        out["rows"].append(_row(row, groups[row.name], replicates.get(row.name), tests.get(row.name, {}), metric,
                                notes.get(row.name, ""), names.get(row.name, row.name), scarce))
    out["ties"], out["seeds_to_settle"] = _finding(out["rows"], scores, out["metric_name"], alpha)
    out["ties"] = _cap(out["ties"])
    baseline = next((r for r in out["rows"] if r["name"] == BASELINE), None)
    out["lesson"] = lesson(out["rows"], metric, baseline)
    out["tradeoff"] = "" if baseline is not None else _tradeoff(out["rows"], metric)
    out["finding"] = " ".join(x for x in (out["lesson"], out["ties"], out["tradeoff"]) if x)
    return out


def _name(row: dict) -> str:
    return row.get("name") or row["config"]


def _quoted(name: str) -> str:
    return f"“{name}”" if "," in name else name  # "GRU, both directions" stays one name in a list


def _names(rows: list[dict]) -> str:
    names = [_name(r) for r in rows]
    if len(names) == 1:
        return names[0]
    names = [_quoted(n) for n in names]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _scores(rows: list[dict], metric: str) -> str:
    values = sorted(r[metric] for r in rows)
    return f"{values[0]:.2f}" if len(values) == 1 or f"{values[0]:.2f}" == f"{values[-1]:.2f}" else \
        f"{values[0]:.2f}–{values[-1]:.2f}"


def _signed(value: float) -> str:
    text = f"{value:+.2f}"
    return "±0.00" if text in ("+0.00", "-0.00") else text.replace("-", "−")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shortfall(rows: list[dict], metric: str, mname: str) -> str:
    """Configs that did not fully learn, grouped by the study's note (the
    lesson where the failure is expected): who fails, who only partly learns,
    which classes they never find, and why."""
    out = []
    by_note: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: not r.get("note")):  # the failures the study expects (its lesson) first
        if r["state"] in ("not learned", "partly"):
            by_note.setdefault(r.get("note") or "", []).append(r)
    for note, group in by_note.items():
        failed = [r for r in group if r["state"] == "not learned"]
        partly = [r for r in group if r["state"] == "partly"]
        verbs = []
        if failed:
            verbs.append(f"{_names(failed)} ({mname} {_scores(failed, metric)}) "
                         + ("fail" if len(failed) > 1 else "fails"))
        if partly:
            verbs.append(f"{_names(partly)} ({mname} {_scores(partly, metric)}) "
                         + ("only partly learn" if len(partly) > 1 else "only partly learns"))
        missed = list(dict.fromkeys(c for r in group for c in r.get("never_found", [])))
        seen = f", never finding {', '.join(missed)}" if missed else ""
        why = note or "; ".join(dict.fromkeys(r["learned_reason"].split(": ", 1)[-1].split("; try")[0]
                                              for r in failed if r.get("learned_reason")))
        out.append(_cap(" and ".join(verbs)) + seen + "." + (f" Why: {why}." if why else ""))
    return " ".join(out)


def question_lesson(rows: list[dict], factor: str, metric: str) -> str:
    """What the study's question factor decides, in one sentence: the best
    config at each of its levels, and whether the others are clearly behind
    the best ("Input decides it: with beat + rhythm, SVEB F1 reaches 0.33
    (...); with beat only, at most 0.09 (...), clearly behind: Holm p 0.007").
    "" when the rows do not span two of its levels."""
    best_of: dict[str, dict] = {}
    for r in rows:  # in rank order: the first row of a level is its best
        level = r.get("levels", {}).get(factor)
        if level is not None and level not in best_of:
            best_of[level] = r
    if len(best_of) < 2:
        return ""
    mname = METRIC_NAMES[metric]
    (top_level, top), *others = best_of.items()
    parts = []
    for level, r in others:
        behind = r["verdict"] == "worse"
        p = r.get("p_adjusted")
        call = (f"clearly behind: Holm p {p:.3f}" if behind and p is not None else
                "not clearly behind with these runs")
        parts.append(f"with {level}, at most {r[metric]:.2f} ({_name(r)}), {call}")
    return f"{_cap(factor)} decides it: with {top_level}, {mname} reaches {top[metric]:.2f} ({_name(top)}); " + \
        "; ".join(parts) + "."


def lesson(rows: list[dict], metric: str, baseline: dict | None = None) -> str:
    """The sentence that answers the comparison's question from the whole
    table: what fails and why (the study's note, where the failure is the
    lesson), what wins, and, where the table has a baseline that adds nothing
    (the samplers' "none"), what each treatment buys in the ranking metric
    and costs in accuracy against that same baseline."""
    if len(rows) < 2 or not any(r["state"] in ("learned", "partly", "unknown") for r in rows):
        return ""  # nothing learned: the finding says so, with what to try
    mname = METRIC_NAMES[metric]
    best = rows[0]
    out = []
    if baseline is not None:
        if best is baseline:
            out.append(f"Nothing beats {baseline['name']} on {mname} ({baseline[metric]:.2f}).")
        else:
            out.append(f"{_cap(best['name'])} lifts {mname} most.")
        gains = []
        for r in rows:
            if r is baseline:
                continue
            gain, cost = _signed(r[metric] - baseline[metric]), _signed(r["accuracy"] - baseline["accuracy"])
            gains.append(f"{r['name']} buys {gain} {mname} for {cost} accuracy" if r[metric] > baseline[metric]
                         else f"{r['name']} gains nothing ({gain} {mname}, {cost} accuracy)")
        out.append(f"Against {baseline['name']} ({mname} {baseline[metric]:.2f}, accuracy "
                   f"{baseline['accuracy']:.2f}): " + "; ".join(gains) + ".")
        short = _shortfall(rows, metric, mname)
        return " ".join([*out, short] if short else out)
    short = _shortfall(rows, metric, mname)
    if short:
        out.append(short)
    top = [r for r in rows if r["verdict"] in ("best", "not different") and r["state"] == "learned"]
    if len(top) > 1:
        out.append(f"Best: {_names(top)} ({mname} {_scores(top, metric)}), which these runs cannot order.")
    elif top:
        out.append(f"Best: {top[0]['name']} ({mname} {top[0][metric]:.2f}), clearly ahead of the rest.")
    return " ".join(out)


def _tradeoff(rows: list[dict], metric: str) -> str:
    """What the winner pays, in one sentence: the other headline metrics on
    which a config that learned clearly beats it (intervals apart), e.g. a
    sampler that lifts balanced accuracy while accuracy falls. "" if none."""
    best = rows[0]
    if len(rows) < 2 or not (best["learned"] or best.get("learned_unknown")):
        return ""
    costs = []
    for m, name in METRIC_NAMES.items():
        if m == metric or m not in best:
            continue
        rivals = [r for r in rows[1:] if r["learned"] and f"{m}_low" in r and r[f"{m}_low"] > best[f"{m}_high"]]
        if rivals:
            top = max(rivals, key=lambda r: r[m])
            costs.append(f"{name} ({best[m]:.3f} against {top[m]:.3f} for {_name(top)})")
    if not costs:
        return ""
    return f"It pays for its {METRIC_NAMES[metric]} in " + " and ".join(costs) + ": their intervals do not overlap."


def _mcnemar(y_true: np.ndarray, preds: dict, best_runs: list[dict], runs: list[dict], alpha: float) -> dict:
    by_seed = {r["seed"]: preds[r["run_id"]] for r in runs}
    pairs = [ST.mcnemar(y_true, preds[r["run_id"]], by_seed[r["seed"]]) for r in best_runs if r["seed"] in by_seed]
    if not pairs:
        return {}
    discordance = float(np.mean([p.discordance for p in pairs]))
    return dict(mcnemar_significant=sum(p.p_value < alpha for p in pairs), mcnemar_pairs=len(pairs),
                mcnemar_p=max(p.p_value for p in pairs), mcnemar_method=pairs[0].method, discordance=discordance,
                mdd=ST.min_detectable_difference(y_true.size, discordance) if discordance > 0 else float("nan"),
                accuracy_diff=float(np.mean([(p.a_only - p.b_only) / p.n for p in pairs])))


MIN_SUPPORT = 20  # a class with fewer test items than this (Q: 7 beats in DS2) is not held against a config


def _scarce_classes(y_true: np.ndarray | None, runs: list[dict]) -> frozenset:
    """The names of the classes with fewer than MIN_SUPPORT test items, where
    the runs' per-class recalls name a workload's fixed classes."""
    from core.workloads import all_workloads

    if y_true is None:
        return frozenset()
    counts = np.bincount(y_true)
    keys = {k for r in runs for k in r.get("recall", {})}
    for w in all_workloads():
        if w.class_names and keys and keys <= set(w.class_names):
            return frozenset(c for i, c in enumerate(w.class_names) if i < len(counts) and counts[i] < MIN_SUPPORT)
    return frozenset()


def _never_found(runs: list[dict], scarce: frozenset = frozenset()) -> list[str]:
    """The classes some seed of a config never predicted right on the test
    set (recall 0), spelled out where the workload has long names; classes
    with too few test items (`scarce`) left out."""
    from core.workloads import all_workloads

    missed = [c for c in dict.fromkeys(k for r in runs for k in r.get("recall", {}))
              if c not in scarce and any(r.get("recall", {}).get(c) == 0 for r in runs)]
    for w in all_workloads():
        spelled = w.spell(missed)
        if spelled:
            return [f"{x.split(' ', 1)[0]} ({x.split(' ', 1)[1]})" for x in spelled]
    return missed


def _row(row: ST.Ranked, runs: list[dict], replicates: dict | None, t: dict, metric: str, note: str,
         name: str = "", scarce: frozenset = frozenset()) -> dict:
    """One ranked config: means, intervals that stay in [0, 1] (the test-set
    bootstrap below 3 seeds), whether every seed learned, the three-way
    `state` (learned / partly: some class never found / not learned), its
    note and its name in words."""
    out: dict[str, Any] = {"rank": row.rank, "config": row.name, "name": name or row.name, "seeds": row.n,
                           "levels": runs[0]["levels"], "per_seed": [r[metric] for r in runs]}
    for m in METRIC_NAMES:
        values = [r[m] for r in runs]
        if any(v is None for v in values):  # not logged by this workload's runs (or by an older run)
            continue
        iv = ST.score_interval(values, replicates.get(m) if replicates else None)
        out.update({m: float(np.mean(values)), f"{m}_low": iv.low, f"{m}_high": iv.high, f"{m}_clipped": iv.clipped})
        if m == metric:
            out.update(ci_low=iv.low, ci_high=iv.high, ci_method=iv.method, ci_informative=iv.informative,
                       ci_clipped=iv.clipped, mean=out[m])
    failed = [r for r in runs if r.get("learned") is False]
    unknown = sum(r.get("learned") is None for r in runs)  # older runs without the tag or predictions
    never = _never_found(runs, scarce)
    out.update(learned=not failed and not unknown, unlearned=len(failed), learned_unknown=unknown,
               learned_reason=failed[0]["learned_reason"] if failed else "", note=note, never_found=never,
               state="not learned" if failed else ("partly" if never else ("learned" if not unknown else "unknown")),
               verdict="best" if row.rank == 1 else ("not different" if row.tied_with_best else "worse"),
               p_adjusted=row.p_adjusted, **t)
    return out


def _finding(rows: list[dict], scores: dict[str, list[float]], metric_name: str, alpha: float) -> tuple[str, int | None]:
    """The study's finding in one sentence, and the seeds per config that
    would settle an undecided lead (None: decided, or not computable)."""
    best = rows[0]
    if len(rows) == 1:
        return f"Only {_name(best)} has finished runs: nothing to compare yet.", None
    if not any(r["learned"] or r.get("learned_unknown") for r in rows):
        return (f"No config learned on every seed (best: {_name(best)}, {metric_name} {best['mean']:.2f}), "
                f"so this ranking compares failures; try: {D.ADVICE}."), None
    other = rows[1]
    a, b = scores[best["config"]], scores[other["config"]]
    sd_a, sd_b = ST.seed_spread(a), ST.seed_spread(b)
    mean_diff = float(np.mean(a) - np.mean(b))
    decided = other["p_adjusted"] == other["p_adjusted"] and other["p_adjusted"] < alpha
    needed = None if decided else ST.seeds_to_settle(mean_diff, sd_a, sd_b, alpha)
    if needed is not None and needed <= min(len(a), len(b)):
        needed = None  # the seeds already suffice for the t-test: the bootstrap is what holds the call back
        why = "the seeds already suffice; the test-set bootstrap does not separate them"
    elif min(len(a), len(b)) < 2:
        why = "one seed per config gives no seed spread"
    elif sd_a == 0 and sd_b == 0:
        why = "the seeds agree exactly"
    elif mean_diff == 0:
        why = "the means are equal"
    else:
        why = f"more than {ST.MAX_SEEDS} seeds"
    # the interval the sentence gives: over seeds (Welch) from 3 seeds on, else the test-set bootstrap's
    if min(len(a), len(b)) >= ST.MIN_SEEDS_FOR_T:
        diff, (low, high) = mean_diff, ST.welch_ci(a, b)
        low, high, _ = ST.clip_interval(low, high, -1.0, 1.0)
    else:
        diff = float(other.get("diff", mean_diff))
        low, high = float(other.get("diff_low", float("nan"))), float(other.get("diff_high", float("nan")))
    contest = ST.Contest(
        best=_quoted(_name(best)), other=_quoted(_name(other)), metric_name=metric_name, diff=diff, low=low, high=high,
        seeds=min(len(a), len(b)), p_adjusted=float(other["p_adjusted"]), alpha=alpha,
        tied=sum(r["verdict"] == "not different" for r in rows[2:]), configs=len(rows),
        seeds_needed=needed, why_not_computed=why)
    return ST.finding(contest), needed


def _factors(parent) -> list[str]:
    import json

    try:
        return list(json.loads(parent.data.tags.get(FACTORS_TAG, "[]")))
    except ValueError:
        return []


def factor_effects(runs: list[dict], factors: list[str], metric: str) -> list[dict]:
    """For each factor: the metric per level over all runs, and each level's
    difference from the first level among configs equal in every other factor
    (mean over matched configs, t-interval over them)."""
    effects = []
    for f in factors:
        levels: list[str] = []
        for r in runs:
            lv = r["levels"].get(f)
            if lv is not None and lv not in levels:
                levels.append(lv)
        if len(levels) < 2:
            continue
        per_level = []
        for lv in levels:
            ci = ST.mean_ci([r[metric] for r in runs if r["levels"].get(f) == lv])
            low, high, cut = ST.clip_interval(ci.low, ci.high)  # a score stays in [0, 1]
            per_level.append({"level": lv, "mean": ci.mean, "low": low, "high": high, "n": ci.n, "clipped": cut,
                              "informative": ci.n >= ST.MIN_SEEDS_FOR_T})
        # per config means, keyed by the other factors' levels
        means: dict[tuple, dict[str, list[float]]] = {}
        for r in runs:
            rest = tuple(sorted((k, v) for k, v in r["levels"].items() if k != f))
            means.setdefault(rest, {}).setdefault(r["levels"].get(f), []).append(r[metric])
        reference = levels[0]
        contrasts = []
        for lv in levels[1:]:
            diffs = [float(np.mean(by[lv]) - np.mean(by[reference])) for by in means.values()
                     if lv in by and reference in by]
            ci = ST.mean_ci(diffs)
            low, high, cut = ST.clip_interval(ci.low, ci.high, -1.0, 1.0)  # a difference of scores stays in [-1, 1]
            contrasts.append({"level": lv, "reference": reference, "diff": ci.mean, "low": low, "high": high,
                              "matched": ci.n, "clipped": cut, "informative": ci.n >= ST.MIN_SEEDS_FOR_T})
        effects.append({"factor": f, "levels": per_level, "contrasts": contrasts})
    return effects


# -- text -----------------------------------------------------------------------------------
def _num(v: Any, fmt: str = ".4f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _ci(row: dict, m: str) -> str:
    low, high = row.get(f"{m}_low"), row.get(f"{m}_high")
    if low is None or math.isnan(low):
        return f"{_num(row[m])}"
    cut = " cut" if row.get(f"{m}_clipped") else ""
    return f"{_num(row[m])} [{_num(low, '.3f')}, {_num(high, '.3f')}]{cut}"


def learned_text(row: dict) -> str:
    """The learned column, a three-way verdict: learned; partly (some class
    never found); not learned (the mark, with the seeds that did not). An
    expected teaching failure says so. The reason: `explanations`."""
    state = row.get("state") or ("learned" if row.get("learned") else "")
    expected = " (expected)" if row.get("note") and state != "learned" else ""
    if state == "learned":
        return "learned"
    if state == "partly":
        return "partly" + expected
    if state == "not learned" or row.get("unlearned"):
        seeds = f", {row['unlearned']}/{row['seeds']} seeds" if row.get("unlearned") and row["seeds"] > 1 else ""
        return f"{D.MARK}{seeds}" + expected
    return "-"


def explanations(rep: dict) -> list[tuple[str, str]]:
    """(kind, line) per config that did not fully learn, or that the study
    expected to fail, in full: kind "expected" (the study's note: a teaching
    failure, a lesson rather than an error), "unlearned" (the mark, the
    reason and what to try), "partly" (the classes it never found) or
    "surprise" (a teaching failure that learned)."""
    lines = []
    for r in rep["rows"]:
        name = r.get("name", r["config"])
        state = r.get("state") or ("learned" if r.get("learned") else "not learned")
        missed = f" It never found {', '.join(r['never_found'])} on the test set." if r.get("never_found") else ""
        if r.get("note") and state != "learned":
            what = "did not learn" if state == "not learned" else "learned only partly"
            lines.append(("expected", f"{name} {what}, as expected: {r['note']}.{missed}"))
        elif r.get("note"):
            lines.append(("surprise", f"{name} learned, although the study expected it to fail: {r['note']}."))
        elif r.get("unlearned"):
            lines.append(("unlearned", f"{name}: {r['unlearned']} of {r['seeds']} seeds did not learn. "
                                       f"{r['learned_reason']}"))
        elif state == "partly":
            lines.append(("partly", f"{name} learned only partly.{missed} A class it never finds is one its "
                                    "overall score hides; a sampler or more training may find it."))
    return lines


def ci_text(row: dict) -> str:
    return {"seeds (t)": "seeds", "test-set bootstrap": "test bootstrap"}.get(row.get("ci_method", ""), "-")


def _p(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def table(rep: dict, markdown: bool = False) -> str:
    """The ranked table as text (for the terminal) or markdown."""
    if not rep["rows"]:
        return "no finished runs yet"
    m, name = rep["metric"], rep["metric_name"]
    head = ["rank", "config", "seeds", f"{name} [95% CI]", "balanced acc. [95% CI]" if m != "balanced_accuracy" else
            "macro-F1 [95% CI]", "accuracy [95% CI]", f"Δ {name} vs best [95% CI]", "p boot", "p seeds", "p Holm",
            "vs best", "McNemar", "MDD acc.", "CI from", "learned"]
    other = "balanced_accuracy" if m != "balanced_accuracy" else "macro_f1"
    lines = []
    for r in rep["rows"]:
        diff = "-" if r["rank"] == 1 else (f"{_num(r.get('diff'))} [{_num(r.get('diff_low'), '.3f')}, "
                                           f"{_num(r.get('diff_high'), '.3f')}]" if "diff_low" in r else _num(r.get("diff")))
        mcn = "-" if "mcnemar_pairs" not in r else f"{r['mcnemar_significant']}/{r['mcnemar_pairs']} p<{rep['alpha']:g}"
        lines.append([str(r["rank"]), r["config"], str(r["seeds"]), _ci(r, m), _ci(r, other), _ci(r, "accuracy"), diff,
                      _p(r.get("p_boot")), _p(r.get("p_seeds")), _p(r.get("p_adjusted")), r["verdict"], mcn,
                      _num(r.get("mdd"), ".4f"), ci_text(r), learned_text(r)])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(row) + " |" for row in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*row) for row in lines])


def legend(rep: dict) -> str:
    n = rep["test_size"]
    few = min((r["seeds"] for r in rep["rows"]), default=0) < ST.MIN_SEEDS_FOR_T
    seeds = (f"With fewer than {ST.MIN_SEEDS_FOR_T} seeds a t-interval over seeds is uninformative: those configs' "
             f"intervals are the test-set bootstrap's instead (percentile, test items resampled, the config's seeds "
             f"pooled; 'CI from: test bootstrap'). " if few else "")
    return (f"Ranked by mean test {rep['metric_name']} over seeds (95% t-interval over seeds, cut to [0, 1] where "
            f"marked 'cut'). {seeds}Δ: best minus this config, paired "
            f"bootstrap over the {n:,} test items ({rep['n_boot']} resamples). p boot: bootstrap; p seeds: Welch's t-test "
            f"over seeds; p Holm: the larger of the two, Holm-adjusted over the comparisons with the best. "
            f"vs best: 'worse' when p Holm < {rep['alpha']:g}, 'not different' otherwise. McNemar: seed pairs (same seed) "
            f"whose accuracies differ significantly; MDD acc.: the smallest accuracy difference McNemar's test detects "
            f"on this test set (alpha 0.05, power 0.8) at the pairs' discordance rate.")


def summary_rows(rep: dict[str, Any], notes: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One plain row per config (the study command's --json), in the study's
    rank order: the test macro-F1 of each seed (`per_seed`), its mean and 95%
    interval over seeds (within [0, 1]) whatever metric the study ranks by
    (`ranked_by`; every metric's seeds, mean and interval under `scores`),
    whether every seed learned, the per-class recalls, and the study's note on
    the config (why it is expected to fail, where it is a lesson)."""
    notes = notes or {}
    metric = "macro_f1"  # per_seed, mean and the interval: the stable interface of --json
    by_config: dict[str, list[dict]] = {}
    for r in rep["runs"]:
        by_config.setdefault(r["config"], []).append(r)
    out = []
    for row in rep["rows"]:
        runs = sorted(by_config.get(row["config"], []), key=lambda r: r["seed"])
        scores = {}
        for m in METRIC_NAMES:
            values = [r[m] for r in runs if r.get(m) is not None]  # a metric an older run did not log
            if not values:
                continue
            mc = ST.mean_ci(values)
            scores[m] = {"per_seed": values, "mean": mc.mean, "ci_low": _clip(mc.low), "ci_high": _clip(mc.high)}
        ci = ST.mean_ci([r[metric] for r in runs])
        recall = {}
        for name in sorted({k for r in runs for k in r.get("recall", {})}):
            values = [r["recall"][name] for r in runs if r.get("recall", {}).get(name) is not None]
            rc = ST.mean_ci(values)
            recall[name] = {"mean": rc.mean, "ci_low": _clip(rc.low), "ci_high": _clip(rc.high), "per_seed": values}
        out.append({
            "config": row["config"], "name": row.get("name", row["config"]), "rank": row["rank"], "metric": metric, "ranked_by": rep["metric"],
            "scores": scores, "seeds": len(runs),
            "per_seed": [r[metric] for r in runs], "seed_ids": [r["seed"] for r in runs],
            "mean": ci.mean, "ci_low": _clip(ci.low), "ci_high": _clip(ci.high),
            "learned": all(r.get("learned") is True for r in runs),
            "note": notes.get(row["config"], ""),
            "accuracy": row.get("accuracy"), "balanced_accuracy": row.get("balanced_accuracy"),
            "macro_f1": row.get("macro_f1"), "recall": recall,
            "seconds": [r["seconds"] for r in runs], "verdict": row.get("verdict"),
        })
    return out


def _clip(value: float) -> float | None:
    """Within the metric's range; None (JSON null) where there is no interval (one seed)."""
    return None if value != value else min(1.0, max(0.0, value))


def reference_scores(home: Path, study: str, metric: str = "macro_f1") -> dict[str, dict[str, Any]]:
    """The full-data reference runs of a built-in study's configs (imported
    with `reference import`), per config label: mean test metric over seeds,
    its interval (within [0, 1]) and the seed scores. Empty when none are loaded."""
    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    if not exps:
        return {}
    runs = c.search_runs(exps, filter_string=f"tags.`{REFERENCE_TAG}` = 'true' and tags.`{STUDY_TAG}` = '{study}'",
                         max_results=5000)
    by: dict[str, list[float]] = {}
    for r in runs:
        if r.data.tags.get(KIND_TAG) == "study" or r.info.status != "FINISHED":
            continue
        value = r.data.metrics.get(f"test/{metric}")
        if value is not None:
            by.setdefault(r.data.tags.get(POINT_TAG, "?"), []).append(float(value))
    out = {}
    for config, values in by.items():
        ci = ST.mean_ci(values)
        out[config] = {"mean": ci.mean, "ci_low": _clip(ci.low), "ci_high": _clip(ci.high), "seeds": values}
    return out


def reference_agreement(rows: list[dict], reference: dict[str, dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """How far a study's ranking agrees with the full-data reference of the
    same configs: Spearman's rank correlation of the config means, and the
    pairs the reference separates (intervals over its seeds apart) that the
    study puts the other way round, each with why (`flips`: a, b, reason in
    words). None when fewer than 3 configs have both."""
    from scipy.stats import spearmanr

    both = [(r, r[metric], reference[r["config"]]) for r in rows
            if r["config"] in reference and r.get(metric) is not None]
    if len(both) < 3:
        return None
    rho = float(spearmanr([b[1] for b in both], [b[2]["mean"] for b in both]).statistic)
    separated, flips = 0, []
    for i, (row_a, ma, ra) in enumerate(both):
        for row_b, mb, rb in both[i + 1:]:
            if None in (ra["ci_low"], ra["ci_high"], rb["ci_low"], rb["ci_high"]):
                continue
            if ra["ci_low"] > rb["ci_high"] or rb["ci_low"] > ra["ci_high"]:
                separated += 1
                if (ra["mean"] - rb["mean"]) * (ma - mb) < 0:
                    # the reference's winner first
                    win, lose = ((row_a, ma, ra), (row_b, mb, rb)) if ra["mean"] > rb["mean"] else \
                        ((row_b, mb, rb), (row_a, ma, ra))
                    flips.append(_flip(win, lose))
    flipped = [f"{f['a']} vs {f['b']}" for f in flips]
    return {"configs": len(both), "spearman": rho, "separated": separated, "flipped": flipped, "flips": flips,
            "sentence": (f"Against the full-data reference of the same {len(both)} configs: rank correlation "
                         f"(Spearman) {rho:.2f}; "
                         + ("with one seed per reference config no pair is told apart by its seeds yet."
                            if not separated else
                            f"of the {separated} pairs the reference tells apart, "
                            + (f"{len(flips)} come out the other way here (why: under the table)."
                               if flips else "every one keeps its order here.")))}


def _flip(win: tuple, lose: tuple) -> dict[str, str]:
    """Why a pair comes out the other way round than on the full data: the
    reference's winner `win` and loser `lose`, each (row, score here, reference).
    Inside this study's noise (its intervals overlap), or a real lead here
    that the full data's budget overturns."""
    (row_w, here_w, ref_w), (row_l, here_l, ref_l) = win, lose
    a, b = row_w.get("name") or row_w["config"], row_l.get("name") or row_l["config"]
    here, full = here_l - here_w, ref_w["mean"] - ref_l["mean"]
    bounds = [row_w.get("ci_low"), row_w.get("ci_high"), row_l.get("ci_low"), row_l.get("ci_high")]
    apart = None not in bounds and (bounds[2] > bounds[1] or bounds[0] > bounds[3])
    if not apart:
        reason = (f"{b} is {here:.2f} ahead of {a} here, but their intervals overlap: inside the noise of this "
                  f"short run, which cannot tell the two apart. With all the data {a} is {full:.2f} ahead.")
    else:
        reason = (f"{b} is {here:.2f} ahead of {a} here, and their intervals do not overlap: with this budget (part "
                  f"of the data, fewer epochs) {b} learns faster. With all the data and more epochs {a} catches up "
                  f"and ends {full:.2f} ahead.")
    return {"a": a, "b": b, "reason": reason, "within_noise": "no" if apart else "yes"}


def flip_lines(agreement: dict[str, Any] | None) -> list[str]:
    """Each pair that comes out the other way round than on the full data, with why, as lines a page shows."""
    return [f"Not as on the full data: {f['reason']}" for f in (agreement or {}).get("flips", [])]
