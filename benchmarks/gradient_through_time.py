"""The gradient through time of a study's configs, read from the explanation
each run stored at its end (explain/explain.json), and what it cost.

For each config (its first seed): the mean gradient over the beat's first
steps (where every beat is still the beat, not padding), the same relative to
the largest gradient anywhere on the curve, and the explanation's seconds as
a share of the run's wall time.

  python benchmarks/gradient_through_time.py --home .rnn-arena --study architectures [--first 40]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.mlflow_tracker import client  # noqa: E402
from experiments.queries import run_explanation  # noqa: E402
from experiments.study_report import finished_runs  # noqa: E402
from experiments.tags import KIND_TAG, STUDY_TAG, WALL_SECONDS_TAG  # noqa: E402


def study_parent(home: Path, name: str) -> str:
    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    found = c.search_runs(exps, filter_string=f"tags.{STUDY_TAG} = '{name}' and tags.{KIND_TAG} = 'study'",
                          order_by=["attributes.start_time DESC"], max_results=1)
    if not found:
        raise SystemExit(f"no study {name!r} in {home}")
    return found[0].info.run_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--study", default="architectures")
    ap.add_argument("--first", type=int, default=40, help="the beat's first steps (samples) to average over")
    args = ap.parse_args()
    home = Path(args.home)
    parent = study_parent(home, args.study)
    c = client(home)
    rows = []
    for r in finished_runs(home, parent):
        if r["seed"] != min(x["seed"] for x in finished_runs(home, parent) if x["config"] == r["config"]):
            continue
        ex = run_explanation(home, r["run_id"])
        if not ex:
            continue
        curve = np.asarray(ex["gradient_by_step"], dtype=float)
        early = float(curve[: args.first].mean())
        tags = c.get_run(r["run_id"]).data.tags
        wall = float(tags.get(WALL_SECONDS_TAG, "nan"))
        cost = float(tags.get("arena.explain_seconds", "nan"))
        rows.append((early, r["config"], early / curve.max(), r["macro_f1"], cost, wall))
    print(f"study {args.study} ({parent}): gradient through time, first {args.first} steps of the beats\n")
    print("| config | mean gradient, first steps | relative to the curve's largest | test macro-F1 | explain s | "
          "run s | cost |")
    print("|---|---|---|---|---|---|---|")
    for early, config, rel, f1, cost, wall in sorted(rows, reverse=True):
        print(f"| {config} | {early:.2e} | {rel:.2e} | {f1:.3f} | {cost:.2f} | {wall:.0f} | {cost / wall:.2%} |")
    print(f"\n(python benchmarks/gradient_through_time.py --home {args.home} --study {args.study} "
          f"--first {args.first})")


if __name__ == "__main__":
    main()
