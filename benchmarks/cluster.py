"""The same small study (4 models x 2 seeds = 8 tiny runs on synthetic beats)
on three executors: local worker processes, a local Ray instance, and a
two-node Ray cluster on this machine against an MLflow tracking server
(artifacts served through it). Prints a markdown table and the command.

    .venv/bin/python benchmarks/cluster.py [--workers 2] [--epochs 1] [--out results/cluster.md]

Also times the run listing (experiments.queries.list_runs, what the
dashboard's pages call) against the server.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments import loopback as L  # noqa: E402

STUDY = """name: bench-cluster
base: {{model.hidden_size: 4, train.epochs: {epochs}, train.batch_size: 32, train.device: cpu}}
factors:
  model.name: [gru, rnn, lstm, rnn-trimmed]
seeds: 2
"""


def synthetic_kaggle(folder: Path) -> Path:
    """Kaggle-format CSVs of 300 + 100 synthetic beats whose class shows in their shape."""
    from core.data.heartbeat import write_kaggle_csv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 187)
    for name, n in (("mitbih_train.csv", 300), ("mitbih_test.csv", 100)):
        y = np.concatenate([np.arange(5), rng.choice(5, size=n - 5, p=[0.6, 0.1, 0.15, 0.05, 0.1])])
        x = np.zeros((n, 187), np.float32)
        for i, c in enumerate(y):
            length = int(rng.integers(60, 188))
            x[i, :length] = np.clip(0.2 + 0.15 * c + 0.1 * np.sin(2 * np.pi * (c + 1) * t[:length]), 0.01, 1.0)
        write_kaggle_csv(folder / name, x, y.astype(np.int64))
    return folder


def cli(args: list[str], home: Path, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-m", "experiments", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=900)


def timed_study(name: str, home: Path, study: Path, extra: list[str], **env) -> dict:
    started = time.perf_counter()
    done = cli(["study", "--file", str(study), *extra], home, **env)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "8/8 runs done" not in done.stdout + done.stderr:
        raise SystemExit(f"{name}: the study did not finish:\n{(done.stdout + done.stderr)[-2000:]}")
    return {"setup": name, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--out", help="also write the table here (markdown)")
    args = ap.parse_args()
    command = "python benchmarks/cluster.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="arena-cluster-") as tmp:
        root = Path(tmp)
        kaggle = synthetic_kaggle(root / "kaggle")
        study = root / "study.yaml"
        study.write_text(STUDY.format(epochs=args.epochs))
        homes = {k: root / f"home-{k}" for k in ("local", "ray", "head", "node")}
        for home in homes.values():
            done = cli(["prepare", "heartbeat", "--source", str(kaggle)], home)
            assert done.returncode == 0, done.stderr
        rows = [timed_study(f"local: {args.workers} worker processes, SQLite file", homes["local"], study,
                            ["--workers", str(args.workers), "--threads", "1"]),
                timed_study(f"local Ray ({args.workers} CPUs, started by the command), SQLite file", homes["ray"],
                            study, ["--executor", "ray", "--workers", str(args.workers)])]
        services = []
        try:
            t0 = time.perf_counter()
            services.append(L.start_mlflow_server(root / "server"))
            services.append(L.start_ray_node(root / "ray", 1, env={"RNN_ARENA_HOME": str(homes["head"])}))
            services.append(L.start_ray_node(root / "ray", 1, head=services[1].address,
                                             env={"RNN_ARENA_HOME": str(homes["node"])}))
            startup = time.perf_counter() - t0
            uri = services[0].address
            rows.append(timed_study("two Ray nodes (1 CPU each), MLflow server with served artifacts",
                                    homes["head"], study, ["--executor", "ray", "--address", services[1].address],
                                    RNN_ARENA_TRACKING_URI=uri, **L.RAY_ENV))
            listing = subprocess.run(
                [sys.executable, "-c", "import time,sys;from pathlib import Path;from experiments import queries;"
                 "queries.list_runs(Path(sys.argv[1]));t=time.perf_counter();n=len(queries.list_runs(Path(sys.argv[1])));"
                 "print(n, time.perf_counter()-t)", str(homes["head"])],
                cwd=ROOT, env={**os.environ, "RNN_ARENA_TRACKING_URI": uri}, capture_output=True, text=True, timeout=120)
        finally:
            for service in reversed(services):
                service.stop()
    lines = ["| setup | 8 runs, wall seconds |", "|---|---:|"]
    lines += [f"| {r['setup']} | {r['seconds']:.1f} |" for r in rows]
    n, secs = listing.stdout.split()
    lines += ["", f"Starting the server and the two Ray nodes took {startup:.1f} s (not in the table). "
              f"Listing the {n} runs from the server (queries.list_runs, as the dashboard does): {float(secs):.2f} s.",
              "", f"Command: `{command}` (on {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the end)"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text("# Cluster timings\n\nThe same study of 8 tiny runs (4 models x 2 seeds, "
                                  f"{args.epochs} epoch(s), 300 synthetic beats) on three executors.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
