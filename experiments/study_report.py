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
from pathlib import Path
from typing import Any

import numpy as np

from core import stats as ST
from core.diagnosis import LEARNED_TAG
from experiments.mlflow_tracker import client
from experiments.sweep import FACTOR_PREFIX, POINT_INDEX_TAG, POINT_TAG, SEED_TAG, children

PREDICTIONS = "predictions/test_predictions.csv"
METRIC_NAMES = {"macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy", "accuracy": "accuracy"}
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
    seed and test metrics."""
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
            "seconds": float(t.get("arena.wall_seconds", "nan")),
            "learned": {"true": True, "false": False}.get(t.get(LEARNED_TAG, "")),
            "recall": {k[len("test/recall_"):]: v for k, v in m.items() if k.startswith("test/recall_")},
        })
    return sorted(rows, key=lambda r: (r["point"], r["seed"]))


def report(home: Path, parent_id: str, metric: str | None = None, alpha: float = 0.05, n_boot: int = 1000,
           seed: int = 0) -> dict[str, Any]:
    """The ranked table, the runs and the factor effects as plain data."""
    parent = client(home).get_run(parent_id)
    metric = metric or parent.data.tags.get("arena.metric", "macro_f1")
    runs = finished_runs(home, parent_id)
    out: dict[str, Any] = {"metric": metric, "metric_name": METRIC_NAMES[metric], "alpha": alpha, "n_boot": n_boot,
                           "runs": runs, "rows": [], "effects": [], "notes": [], "test_size": 0,
                           "study": parent.data.tags.get("arena.study", "?"), "factors": _factors(parent)}
    if not runs:
        return out
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(r["config"], []).append(r)
    scores = {name: [r[metric] for r in rs] for name, rs in groups.items()}
    order = [row.name for row in ST.rank_models(scores)]
    best = order[0]

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
        out["notes"].append(f"paired tests skipped: {exc}")
        y_true = None
    num_classes = int(max(y_true.max(), *(p.max() for p in preds.values())) + 1) if y_true is not None else 0
    out["test_size"] = int(y_true.size) if y_true is not None else 0

    tests: dict[str, dict] = {}
    if y_true is not None:  # every config scored on the same resampled test items: paired comparisons
        observed, replicates = ST.bootstrap_scores(
            y_true, {name: np.stack([preds[r["run_id"]] for r in rs]) for name, rs in groups.items()},
            num_classes, metrics=[metric], n_boot=n_boot, seed=seed)
    for name in order[1:]:
        t: dict[str, Any] = {"p_seeds": ST.welch_p(scores[best], scores[name])}
        if y_true is not None:
            boot = ST.bootstrap_difference(metric, observed[best][metric], observed[name][metric],
                                           replicates[best][metric], replicates[name][metric])
            t.update(diff=boot.difference, diff_low=boot.low, diff_high=boot.high, p_boot=boot.p_value)
            by_seed = {r["seed"]: preds[r["run_id"]] for r in groups[name]}
            pairs = [ST.mcnemar(y_true, preds[r["run_id"]], by_seed[r["seed"]]) for r in groups[best] if r["seed"] in by_seed]
            if pairs:
                discordance = float(np.mean([p.discordance for p in pairs]))
                t.update(mcnemar_significant=sum(p.p_value < alpha for p in pairs), mcnemar_pairs=len(pairs),
                         mcnemar_p=max(p.p_value for p in pairs), mcnemar_method=pairs[0].method,
                         discordance=discordance,
                         mdd=ST.min_detectable_difference(y_true.size, discordance) if discordance > 0 else float("nan"),
                         accuracy_diff=float(np.mean([(p.a_only - p.b_only) / p.n for p in pairs])))
        else:
            t["diff"] = float(np.mean(scores[best]) - np.mean(scores[name]))
        p_boot = t.get("p_boot", float("nan"))
        candidates = [p for p in (p_boot, t["p_seeds"]) if not math.isnan(p)]
        t["p"] = max(candidates) if candidates else float("nan")
        tests[name] = t
    ranked = ST.rank_models(scores, p_values={k: v["p"] for k, v in tests.items()}, alpha=alpha)
    for row in ranked:
        ci = {m: ST.mean_ci([r[m] for r in groups[row.name]]) for m in METRIC_NAMES}
        t = tests.get(row.name, {})
        out["rows"].append({
            "rank": row.rank, "config": row.name, "seeds": row.n,
            "levels": groups[row.name][0]["levels"],
            **{f"{m}": ci[m].mean for m in METRIC_NAMES},
            **{f"{m}_low": ci[m].low for m in METRIC_NAMES},
            **{f"{m}_high": ci[m].high for m in METRIC_NAMES},
            "verdict": "best" if row.rank == 1 else ("not different" if row.tied_with_best else "worse"),
            "p_adjusted": row.p_adjusted, **t,
        })
    out["effects"] = factor_effects(runs, out["factors"], metric)
    return out


def _factors(parent) -> list[str]:
    import json

    try:
        return list(json.loads(parent.data.tags.get("arena.factors", "[]")))
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
            per_level.append({"level": lv, "mean": ci.mean, "low": ci.low, "high": ci.high, "n": ci.n})
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
            contrasts.append({"level": lv, "reference": reference, "diff": ci.mean, "low": ci.low, "high": ci.high,
                              "matched": ci.n})
        effects.append({"factor": f, "levels": per_level, "contrasts": contrasts})
    return effects


# -- text -----------------------------------------------------------------------------------
def _num(v: Any, fmt: str = ".4f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _ci(row: dict, m: str) -> str:
    low, high = row.get(f"{m}_low"), row.get(f"{m}_high")
    if low is None or math.isnan(low):
        return f"{_num(row[m])}"
    return f"{_num(row[m])} [{_num(low, '.3f')}, {_num(high, '.3f')}]"


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
            "vs best", "McNemar", "MDD acc."]
    other = "balanced_accuracy" if m != "balanced_accuracy" else "macro_f1"
    lines = []
    for r in rep["rows"]:
        diff = "-" if r["rank"] == 1 else (f"{_num(r.get('diff'))} [{_num(r.get('diff_low'), '.3f')}, "
                                           f"{_num(r.get('diff_high'), '.3f')}]" if "diff_low" in r else _num(r.get("diff")))
        mcn = "-" if "mcnemar_pairs" not in r else f"{r['mcnemar_significant']}/{r['mcnemar_pairs']} p<{rep['alpha']:g}"
        lines.append([str(r["rank"]), r["config"], str(r["seeds"]), _ci(r, m), _ci(r, other), _ci(r, "accuracy"), diff,
                      _p(r.get("p_boot")), _p(r.get("p_seeds")), _p(r.get("p_adjusted")), r["verdict"], mcn,
                      _num(r.get("mdd"), ".4f")])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(row) + " |" for row in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*row) for row in lines])


def legend(rep: dict) -> str:
    n = rep["test_size"]
    return (f"Ranked by mean test {rep['metric_name']} over seeds (t-interval). Δ: best minus this config, paired "
            f"bootstrap over the {n:,} test items ({rep['n_boot']} resamples). p boot: bootstrap; p seeds: Welch's t-test "
            f"over seeds; p Holm: the larger of the two, Holm-adjusted over the comparisons with the best. "
            f"vs best: 'worse' when p Holm < {rep['alpha']:g}, 'not different' otherwise. McNemar: seed pairs (same seed) "
            f"whose accuracies differ significantly; MDD acc.: the smallest accuracy difference McNemar's test detects "
            f"on this test set (alpha 0.05, power 0.8) at the pairs' discordance rate.")


def summary_rows(rep: dict[str, Any], notes: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One plain row per config (the study command's --json): the test metric of
    each seed, its mean and 95% interval over seeds (within [0, 1]), whether
    every seed learned, the per-class recalls, and the study's note on the
    config (why it is expected to fail, where it is a lesson)."""
    notes = notes or {}
    metric = rep["metric"]
    by_config: dict[str, list[dict]] = {}
    for r in rep["runs"]:
        by_config.setdefault(r["config"], []).append(r)
    out = []
    for row in rep["rows"]:
        runs = sorted(by_config.get(row["config"], []), key=lambda r: r["seed"])
        ci = ST.mean_ci([r[metric] for r in runs])
        recall = {}
        for name in sorted({k for r in runs for k in r.get("recall", {})}):
            values = [r["recall"][name] for r in runs if r.get("recall", {}).get(name) is not None]
            rc = ST.mean_ci(values)
            recall[name] = {"mean": rc.mean, "ci_low": _clip(rc.low), "ci_high": _clip(rc.high), "per_seed": values}
        out.append({
            "config": row["config"], "rank": row["rank"], "metric": metric, "seeds": len(runs),
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
    from experiments.reference import REFERENCE_TAG

    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    if not exps:
        return {}
    runs = c.search_runs(exps, filter_string=f"tags.`{REFERENCE_TAG}` = 'true' and tags.`arena.study` = '{study}'",
                         max_results=5000)
    by: dict[str, list[float]] = {}
    for r in runs:
        if r.data.tags.get("arena.kind") == "study" or r.info.status != "FINISHED":
            continue
        value = r.data.metrics.get(f"test/{metric}")
        if value is not None:
            by.setdefault(r.data.tags.get(POINT_TAG, "?"), []).append(float(value))
    out = {}
    for config, values in by.items():
        ci = ST.mean_ci(values)
        out[config] = {"mean": ci.mean, "ci_low": _clip(ci.low), "ci_high": _clip(ci.high), "seeds": values}
    return out
