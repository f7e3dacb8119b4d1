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
# published inter-patient (DS1 -> DS2) figures: (source, inputs, accuracy, SVEB Se, +P, F1, VEB Se, +P, F1)
PUBLISHED_DS2 = [
    ("de Chazal et al. 2004, LDA", "RR intervals + morphology", None, 0.76, 0.39, None, 0.78, 0.82, None),
    ("Zhang et al. 2014, SVM", "intervals + morphology", None, 0.79, 0.36, None, 0.86, 0.93, None),
    ("Mondéjar-Guerra et al. 2019, SVM ensemble", "RR + normalised RR, wavelets", 0.945, None, None, None, None,
     None, None),
    ("Niu et al. 2020, CNN", "symbolic morphology + rhythm", 0.964, None, None, 0.766, None, None, 0.897),
    ("Sellami & Hwang 2019, CNN (0.9948 intra-patient)", "morphology", 0.8834, None, None, None, None, None, None),
]
INTER_PATIENT_GROUPS = ("architectures-inter-patient", "rhythm")


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
    for group in ("architectures", "samplers", "title-models", *INTER_PATIENT_GROUPS):
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
    inter = [(g, c, rs) for (g, c), rs in groups.items() if g in INTER_PATIENT_GROUPS]
    if inter:
        print("\n### Inter-patient (DS1 -> DS2) beside published figures (AAMI: Se sensitivity, +P positive "
              "predictivity)\n")
        print("| model | inputs | accuracy | SVEB Se | SVEB +P | SVEB F1 | VEB Se | VEB +P | VEB F1 |")
        print("|---|---|---|---|---|---|---|---|---|")
        show = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        for source, inputs, *values in PUBLISHED_DS2:
            print(f"| {source} | {inputs} | " + " | ".join(show(v) for v in values) + " |")
        for g, c, recs in sorted(inter, key=lambda x: (x[0], x[1])):
            inputs = "beat + rhythm" if recs[0]["params"].get("data.rhythm", "none") != "none" else "beat only"
            cells = [cell([r["test"][key] for r in recs if key in r["test"]])
                     for k in ("S", "V") for key in (f"recall_{k}", f"precision_{k}", f"f1_{k}")]
            print(f"| RNN Arena {g}: {c} | {inputs} | {cell([r['test']['accuracy'] for r in recs])} | "
                  + " | ".join(cells) + " |")
    print(f"\n({len(records)} records; python benchmarks/reference_tables.py)")


if __name__ == "__main__":
    main()
