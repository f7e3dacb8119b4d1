"""Does a classroom study point the same way as the full data? Compares the
classroom ranking (a study's --json rows, e.g. from benchmarks/classroom.py)
with the full-data reference records of the same configs (results/reference/):

- Spearman's rank correlation of the configs' mean test metric (target >= 0.8);
- every pair of configs that the full data separates keeps its order in the
  classroom. "Separated" means: the paired bootstrap over the test items
  (all seeds' runs of each config, Holm-adjusted over all pairs) gives
  p < 0.05, and every seed of one config scores above every seed of the other.

  python benchmarks/faithful.py --classroom results/classroom/arch3.json --group architectures \
      --out results/classroom/faithful-architectures.md
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import stats as ST  # noqa: E402
from experiments import reference as R  # noqa: E402


def reference_by_config(group: str) -> tuple[np.ndarray, dict[str, list[dict]]]:
    by: dict[str, list[dict]] = {}
    y_true = None
    for rec in R.read_records():
        if rec["group"] != group:
            continue
        by.setdefault(rec["config"], []).append(rec)
        labels = R.test_labels(rec)
        if y_true is None:
            y_true = labels
        elif not np.array_equal(y_true, labels):
            raise SystemExit(f"records of {group} were tested on different test sets")
    if y_true is None:
        raise SystemExit(f"no reference records for group {group!r} in {R.ROOT}")
    return y_true, by


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classroom", required=True, help="a study's --json rows")
    ap.add_argument("--group", default="architectures", help="reference group (results/reference/GROUP)")
    ap.add_argument("--metric", default="macro_f1")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--out", help="also write the markdown here")
    args = ap.parse_args()
    from scipy.stats import spearmanr

    classroom = {r["config"]: r for r in json.loads(Path(args.classroom).read_text(encoding="utf-8"))}
    y_true, ref = reference_by_config(args.group)
    configs = [c for c in classroom if c in ref]
    if len(configs) < 3:
        raise SystemExit(f"only {len(configs)} configs have both a classroom result and a reference record")
    preds = {c: np.stack([R.unpack(r["test_pred"]) for r in ref[c]]) for c in configs}
    observed, reps = ST.bootstrap_scores(y_true, preds, metrics=[args.metric], n_boot=args.boot, seed=0)
    ref_seeds = {c: [r["test"][args.metric] for r in ref[c]] for c in configs}
    ref_mean = {c: float(np.mean(v)) for c, v in ref_seeds.items()}
    cls_mean = {c: classroom[c].get(args.metric, classroom[c]["mean"]) for c in configs}  # a row has each metric's mean
    rho = float(spearmanr([cls_mean[c] for c in configs], [ref_mean[c] for c in configs]).statistic)

    pairs = list(itertools.combinations(configs, 2))
    ps = [ST.bootstrap_difference(args.metric, observed[a][args.metric], observed[b][args.metric],
                                  reps[a][args.metric], reps[b][args.metric]).p_value for a, b in pairs]
    adjusted = ST.holm(ps)
    lines = [f"Classroom `{args.classroom}` against the full-data reference `results/reference/{args.group}` "
             f"({args.metric}, {len(configs)} configs).", "",
             "| config | classroom mean (seeds) | reference mean (seeds) | classroom rank | reference rank |",
             "|---|---|---|---|---|"]
    cls_rank = {c: i + 1 for i, c in enumerate(sorted(configs, key=lambda c: -cls_mean[c]))}
    ref_rank = {c: i + 1 for i, c in enumerate(sorted(configs, key=lambda c: -ref_mean[c]))}
    for c in sorted(configs, key=lambda c: ref_rank[c]):
        lines.append(f"| {c} | {cls_mean[c]:.3f} ({classroom[c]['seeds']}) | {ref_mean[c]:.3f} ({len(ref_seeds[c])}) | "
                     f"{cls_rank[c]} | {ref_rank[c]} |")
    separated, kept, flipped = 0, 0, []
    for (a, b), p in zip(pairs, adjusted):
        hi, lo = (a, b) if ref_mean[a] > ref_mean[b] else (b, a)
        if p < 0.05 and min(ref_seeds[hi]) > max(ref_seeds[lo]):
            separated += 1
            if cls_mean[hi] > cls_mean[lo]:
                kept += 1
            else:
                flipped.append(f"{hi} > {lo} (reference {ref_mean[hi]:.3f} vs {ref_mean[lo]:.3f}; classroom "
                               f"{cls_mean[hi]:.3f} vs {cls_mean[lo]:.3f})")
    lines += ["", f"Spearman rho over configs: **{rho:.3f}** (target >= 0.8: {'met' if rho >= 0.8 else 'missed'}).",
              f"Pairs the full data separates (paired bootstrap, Holm p < 0.05, and every seed apart): {separated} of "
              f"{len(pairs)}; the classroom keeps the order of **{kept}** of them"
              + (" (target: all, met)." if kept == separated else " (target: all, missed).")]
    lines += [f"- order flipped: {f}" for f in flipped]
    lines += ["", f"Command: `python benchmarks/faithful.py {' '.join(sys.argv[1:])}`"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
