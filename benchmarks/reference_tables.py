"""The original studies' tables beside RNN Arena's full-data reference runs
(results/reference/): for each original row, the same variant's mean and 95%
interval over seeds (t-interval, within [0, 1]; one seed: the value alone).

  python benchmarks/reference_tables.py > results/reference-tables.md
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import stats as ST  # noqa: E402
from experiments import reference as R  # noqa: E402

# (original row, its accuracy, its macro-F1 or None, reference group, config label)
HEARTBEAT_ROWS = [
    ("RNN, zeros trimmed by hand", 0.4307, 0.34, "architectures", "rnn-trimmed · bidirectional=false"),
    ("packed RNN", 0.3335, 0.25, "architectures", "rnn-packed · bidirectional=false"),
    ("GRU", 0.9818, None, "architectures", "gru · bidirectional=false"),
    ("GRU, weighted sampler", 0.9637, None, "samplers", "imbalance=weighted sampler"),
    ("bidirectional GRU", 0.9863, 0.92, "architectures", "gru · bidirectional=true"),
    ("LSTM", 0.9646, None, "architectures", "lstm · bidirectional=false"),
    ("bidirectional LSTM", 0.9836, None, "architectures", "lstm · bidirectional=true"),
]
# published inter-patient (DS2) figures: (source, accuracy, F1 of S (SVEB), F1 of V (VEB))
PUBLISHED_DS2 = [
    ("Mondéjar-Guerra et al. 2019, SVM ensemble", 0.945, None, None),
    ("Niu et al. 2020", 0.964, 0.766, 0.897),
    ("Sellami & Hwang 2019, CNN (0.9948 intra-patient)", 0.8834, None, None),
]


def cell(values: list[float]) -> str:
    if not values:
        return "not run yet"
    if len(values) == 1:
        return f"{values[0]:.4f} (1 seed)"
    if len(values) < ST.MIN_SEEDS_FOR_T:  # a t-interval over 2 seeds is uninformative: the seeds themselves
        return f"{sum(values) / len(values):.4f} (seeds {', '.join(f'{v:.4f}' for v in values)})"
    ci = ST.mean_ci(values)
    low, high = max(0.0, ci.low), min(1.0, ci.high)
    return f"{ci.mean:.4f} [{low:.4f}, {high:.4f}] ({len(values)} seeds)"


def by_config(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        out.setdefault((rec["group"], rec["config"]), []).append(rec)
    return out


def f1_of(rec: dict, cls: str) -> float | None:
    return rec["test"].get(f"f1_{cls}")


def main() -> None:
    records = R.read_records()
    groups = by_config(records)
    print("### Heartbeats, intra-patient (Kaggle's split), full data\n")
    print("| original row | original accuracy | original macro-F1 | RNN Arena config | accuracy | macro-F1 |")
    print("|---|---|---|---|---|---|")
    for name, acc, f1, group, config in HEARTBEAT_ROWS:
        recs = groups.get((group, config), [])
        print(f"| {name} | {acc:.4f} | {f1 if f1 is not None else '-'} | {group}: {config} | "
              f"{cell([r['test']['accuracy'] for r in recs])} | {cell([r['test']['macro_f1'] for r in recs])} |")
    for group in ("architectures", "samplers", "title-models", "architectures-inter-patient"):
        keys = sorted({c for g, c in groups if g == group})
        if not keys:
            continue
        print(f"\n### Every reference config: {group}\n")
        print("| config | accuracy | balanced accuracy | macro-F1 | recall S | recall F | learned |")
        print("|---|---|---|---|---|---|---|")
        rows = []
        for c in keys:
            recs = groups[(group, c)]
            rows.append((np.mean([r["test"]["macro_f1"] for r in recs]), c, recs))
        for _, c, recs in sorted(rows, reverse=True):
            rs = [r["test"].get("recall_S") for r in recs if r["test"].get("recall_S") is not None]
            rf = [r["test"].get("recall_F") for r in recs if r["test"].get("recall_F") is not None]
            print(f"| {c} | {cell([r['test']['accuracy'] for r in recs])} | "
                  f"{cell([r['test']['balanced_accuracy'] for r in recs])} | {cell([r['test']['macro_f1'] for r in recs])} | "
                  f"{cell(rs) if rs else '-'} | {cell(rf) if rf else '-'} | "
                  f"{sum(r['learned'] for r in recs)}/{len(recs)} |")
    inter = [(c, rs) for (g, c), rs in groups.items() if g == "architectures-inter-patient"]
    if inter:
        print("\n### Inter-patient (DS1 -> DS2) beside published figures\n")
        print("| model | accuracy | F1 S (SVEB) | F1 V (VEB) | Se S | PPV S | Se V | PPV V |")
        print("|---|---|---|---|---|---|---|---|")
        for source, acc, fs, fv in PUBLISHED_DS2:
            print(f"| {source} | {acc:.4f} | {fs if fs is not None else '-'} | {fv if fv is not None else '-'} "
                  "| - | - | - | - |")
        for c, recs in sorted(inter):
            per_class = [cell([r["test"][f"{m}_{k}"] for r in recs if f"{m}_{k}" in r["test"]])
                         for k in ("S", "V") for m in ("recall", "precision")]
            print(f"| RNN Arena {c} | {cell([r['test']['accuracy'] for r in recs])} | "
                  f"{cell([v for r in recs if (v := f1_of(r, 'S')) is not None])} | "
                  f"{cell([v for r in recs if (v := f1_of(r, 'V')) is not None])} | " + " | ".join(per_class) + " |")
    print(f"\n({len(records)} records; python benchmarks/reference_tables.py)")


if __name__ == "__main__":
    main()
