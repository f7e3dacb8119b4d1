"""Flush-to-zero of denormal floats on CPU: training samples/s with
`torch.set_flush_denormal` off and on, interleaved, on the prepared heartbeat
data (freshly initialised models: the `fast` preset's model at frame 4 and
the bi-GRU 2x64 at frame 1).

    python benchmarks/denormals.py --threads 2 --repeat 3
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch

    from core.config import RunConfig
    from core.models import build_model
    from core.presets import apply_preset
    from experiments import settings, workloads
    from experiments.bench import arena_train

    torch.set_num_threads(args.threads)
    home = settings.arena_home()
    if workloads.dataset_info("heartbeat", home) is None:
        raise SystemExit(f"the heartbeat data is not prepared in {home}; run: python -m experiments prepare heartbeat")
    data = workloads.load(RunConfig(), home, torch.device("cpu"))
    fast = apply_preset("fast").replace(**{"model.frame": 4})
    models = {"bi-gru 1x128 frame 4": (fast, 30),
              "bi-gru 2x64": (fast.replace(**{"model.frame": 1, "model.num_layers": 2, "model.hidden_size": 64}), 10)}
    speeds: dict[tuple[str, bool], list[float]] = {}
    for rep in range(args.repeat):
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            for name, (cfg, batches) in models.items():
                torch.manual_seed(0)
                model = build_model(cfg.model, num_classes=5)
                seconds, seen = arena_train(model, cfg, data.train, batches, 3, rep)
                speeds.setdefault((name, flush), []).append(seen / seconds)
    torch.set_flush_denormal(False)
    print(f"# python benchmarks/denormals.py --threads {args.threads} --repeat {args.repeat}")
    print("| model | flush denormals | samples/s, each repetition | best |\n|---|---|---|---|")
    for (name, flush), values in speeds.items():
        print(f"| {name} | {'on' if flush else 'off'} | {' / '.join(f'{v:,.0f}' for v in values)} | {max(values):,.0f} |")


if __name__ == "__main__":
    main()
