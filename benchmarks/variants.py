"""One sampled run per model variant, recorded in MLflow, then a table.

heartbeat: accuracy, macro-F1, recall of S and F, seconds per epoch.
titles: balanced accuracy, accuracy, macro-F1, seconds per epoch.
Needs `python -m experiments prepare WORKLOAD` first.

    python benchmarks/variants.py --workload heartbeat --sample 0.1 --epochs 20 --threads 1
    python benchmarks/variants.py --workload titles --sample 0.1 --epochs 20 --threads 1
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import workloads as W  # noqa: E402
from core.config import RunConfig  # noqa: E402

# a table column's heading per test metric
HEADINGS = {"accuracy": "test accuracy", "balanced_accuracy": "test balanced accuracy", "macro_f1": "test macro-F1"}


def table(w, rows: list) -> list[str]:
    """The markdown rows: per variant, the workload's table metrics, the recall of its watched classes,
    seconds per epoch and the run id."""
    b = w.benchmarks
    headings = [HEADINGS[m] for m in b.table_metrics] + [f"recall {c}" for c in b.recall_of] + ["s/epoch", "run id"]
    lines = ["| variant | " + " | ".join(headings) + " |", "|---" * (len(headings) + 1) + "|"]
    for label, s, _ in rows:
        cells = ([f"{s.test[m]:.4f}" for m in b.table_metrics] + [f"{s.per_class[c]['recall']:.3f}" for c in b.recall_of]
                 + [f"{s.seconds_per_epoch:.1f}", f"`{s.run_id[:8]}`"])
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=[w.name for w in W.all_workloads() if w.benchmarks.variants],
                    default=W.NAMES[0])
    ap.add_argument("--sample", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--schedule", default="onecycle")
    ap.add_argument("--hidden-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--home")
    ap.add_argument("--out", help="markdown file for the table (default results/variants-WORKLOAD.md)")
    args = ap.parse_args()
    workload = W.get(args.workload)

    import torch

    torch.set_num_threads(args.threads)
    from experiments import runner
    from experiments.settings import arena_home

    home = arena_home(args.home)
    runner.interrupt_on_signals()
    base = RunConfig().replace(**{
        "data.workload": args.workload,
        "data.sample": args.sample, "train.epochs": args.epochs, "model.hidden_size": args.hidden_size,
        "train.seed": args.seed, "train.device": "cpu", "train.lr": args.lr, "train.schedule": args.schedule,
        "train.grad_clip": 1.0,
    })
    rows = []
    for label, overrides in workload.benchmarks.variants:
        cfg = base.replace(**overrides)
        started = time.perf_counter()
        s = runner.run(cfg, home, run_name=f"variants: {label}")
        rows.append((label, s, time.perf_counter() - started))
        print(f"{label:<28} acc {s.test['accuracy']:.4f}  macro-F1 {s.test['macro_f1']:.4f}  "
              f"{s.seconds_per_epoch:.1f} s/epoch", file=sys.stderr, flush=True)

    command = "python benchmarks/variants.py " + " ".join(sys.argv[1:])
    head = (f"{args.workload} workload, {args.sample:g} sample of train/validation (stratified, every class), "
            f"full test set ({sum(int(r['support']) for r in rows[0][1].per_class.values()):,} {workload.unit}); {args.epochs} epochs, hidden {args.hidden_size}, "
            f"1 layer, Adam peak lr {args.lr:g} ({args.schedule} schedule), gradient clipping 1.0, batch 128, "
            f"seed {args.seed}, CPU with {args.threads} thread(s); best epoch by validation macro-F1.\n")
    lines = [head, f"Command: `{command}`\n", *table(workload, rows)]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out or f"results/variants-{args.workload}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
