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

from core.config import RunConfig  # noqa: E402

TITLE_VARIANTS = [
    ("baseline mlp", {"model.name": "mlp"}),
    ("rnn (packed)", {"model.name": "rnn-packed"}),
    ("gru (packed)", {"model.name": "gru-packed"}),
    ("lstm (packed)", {"model.name": "lstm-packed"}),
    ("bi-lstm (packed)", {"model.name": "lstm-packed", "model.bidirectional": True}),
    ("bi-gru (packed)", {"model.name": "gru-packed", "model.bidirectional": True}),
    ("tfidf reference", {"model.name": "tfidf"}),
]

VARIANTS = [
    ("rnn", {"model.name": "rnn"}),
    ("rnn-packed", {"model.name": "rnn-packed"}),
    ("rnn-trimmed", {"model.name": "rnn-trimmed"}),
    ("gru", {"model.name": "gru"}),
    ("lstm", {"model.name": "lstm"}),
    ("bi-gru", {"model.name": "gru", "model.bidirectional": True}),
    ("bi-lstm", {"model.name": "lstm", "model.bidirectional": True}),
    ("bi-gru + weighted sampler", {"model.name": "gru", "model.bidirectional": True, "train.sampler": "weighted"}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=["heartbeat", "titles"], default="heartbeat")
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
    for label, overrides in (VARIANTS if args.workload == "heartbeat" else TITLE_VARIANTS):
        cfg = base.replace(**overrides)
        started = time.perf_counter()
        s = runner.run(cfg, home, run_name=f"variants: {label}")
        rows.append((label, s, time.perf_counter() - started))
        print(f"{label:<28} acc {s.test['accuracy']:.4f}  macro-F1 {s.test['macro_f1']:.4f}  "
              f"{s.seconds_per_epoch:.1f} s/epoch", file=sys.stderr, flush=True)

    command = "python benchmarks/variants.py " + " ".join(sys.argv[1:])
    what = "beats" if args.workload == "heartbeat" else "titles"
    head = (f"{args.workload} workload, {args.sample:g} sample of train/validation (stratified, every class), "
            f"full test set ({sum(int(r['support']) for r in rows[0][1].per_class.values()):,} {what}); {args.epochs} epochs, hidden {args.hidden_size}, "
            f"1 layer, Adam peak lr {args.lr:g} ({args.schedule} schedule), gradient clipping 1.0, batch 128, "
            f"seed {args.seed}, CPU with {args.threads} thread(s); best epoch by validation macro-F1.\n")
    lines = [head, f"Command: `{command}`\n"]
    if args.workload == "heartbeat":
        lines += ["| variant | test accuracy | test macro-F1 | recall S | recall F | s/epoch | run id |",
                  "|---|---|---|---|---|---|---|"]
        for label, s, _ in rows:
            lines.append(f"| {label} | {s.test['accuracy']:.4f} | {s.test['macro_f1']:.4f} | "
                         f"{s.per_class['S']['recall']:.3f} | {s.per_class['F']['recall']:.3f} | "
                         f"{s.seconds_per_epoch:.1f} | `{s.run_id[:8]}` |")
    else:
        lines += ["| variant | test balanced accuracy | test accuracy | test macro-F1 | s/epoch | run id |",
                  "|---|---|---|---|---|---|"]
        for label, s, _ in rows:
            lines.append(f"| {label} | {s.test['balanced_accuracy']:.4f} | {s.test['accuracy']:.4f} | "
                         f"{s.test['macro_f1']:.4f} | {s.seconds_per_epoch:.1f} | `{s.run_id[:8]}` |")
    table = "\n".join(lines)
    print(table)
    out = Path(args.out or f"results/variants-{args.workload}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n")


if __name__ == "__main__":
    main()
