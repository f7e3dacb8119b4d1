"""Seconds per epoch of each heartbeat variant on a sample, measured alone
(no MLflow, nothing else in the process): one warm-up epoch, then the median
of --repeat timed epochs (train + validation).

    python benchmarks/epoch_times.py --sample 0.1 --threads 1 --repeat 2
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.variants import VARIANTS  # noqa: E402
from core.config import RunConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=float, default=0.1)
    ap.add_argument("--hidden-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--home")
    args = ap.parse_args()

    import torch
    from torch import nn

    from core.train import cuts_batches, epoch_batches, make_optimizer, sample_weights, train_and_validate
    from core.models import build_model
    from experiments import workloads
    from experiments.settings import arena_home

    torch.set_num_threads(args.threads)
    home = arena_home(args.home)
    base = RunConfig().replace(**{"data.sample": args.sample, "model.hidden_size": args.hidden_size, "train.device": "cpu"})
    data = workloads.load(base, home, torch.device("cpu"))
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s); "
          f"train {len(data.train):,} / val {len(data.val):,} beats", file=sys.stderr)
    rows = []
    for label, overrides in VARIANTS:
        cfg = base.replace(**overrides)
        torch.manual_seed(0)
        model = build_model(cfg.model, num_classes=5)
        opt = make_optimizer(model, cfg.train)
        gen = torch.Generator().manual_seed(0)
        cut = cuts_batches(cfg)
        weights = sample_weights(cfg.train, data.train.y, 5)
        times = []
        for i in range(args.repeat + 1):
            start = time.perf_counter()
            train_and_validate(model, data.train, data.val, 5, epoch_batches(cfg.train, data.train, gen, weights), opt,
                               nn.CrossEntropyLoss(), cfg.train, cut=cut)
            if i:  # the first epoch warms up
                times.append(time.perf_counter() - start)
        rows.append((label, statistics.median(times)))
        print(f"{label:<28} {rows[-1][1]:6.1f} s/epoch", file=sys.stderr, flush=True)
    print(f"Command: `python benchmarks/epoch_times.py {' '.join(sys.argv[1:])}`\n")
    print("| variant | s/epoch (train + validation) |\n|---|---|")
    for label, sec in rows:
        print(f"| {label} | {sec:.1f} |")


if __name__ == "__main__":
    main()
