"""How long the dashboard's run listing (experiments.queries.list_runs) takes
for N runs on an MLflow tracking server, read through MLflow's API.

    .venv/bin/python benchmarks/server_listing.py [--runs 500] [--uri http://127.0.0.1:5000]

Without --uri a server is started on 127.0.0.1 (SQLite backend, served
artifacts) in a temporary folder and stopped at the end. The runs are
recorded like real ones: the params and tags the listing reads, test metrics.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fill(home: Path, runs: int, db: Path | None) -> None:
    """Record the runs through the server, or straight into its backend
    store `db` (the same rows, much faster on a busy machine)."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from core.config import RunConfig
    from experiments.mlflow_tracker import client, experiment_id
    from experiments.tags import DESCRIBE_TAG, EPOCHS_RUN_TAG

    exp = experiment_id(home, "heartbeat")
    c = MlflowClient(tracking_uri=f"sqlite:///{db}") if db else client(home)
    params = [Param(k, v) for k, v in RunConfig().to_params().items()]
    now = int(time.time() * 1000)
    for i in range(runs):
        run = c.create_run(exp, run_name=f"listing-{i}", tags={"workload": "heartbeat", DESCRIBE_TAG: "gru 2x64"})
        c.log_batch(run.info.run_id, params=params, tags=[RunTag(EPOCHS_RUN_TAG, "3")],
                    metrics=[Metric(k, 0.5, now, 3) for k in ("test/accuracy", "test/macro_f1", "test/balanced_accuracy")])
        c.set_terminated(run.info.run_id, status="FINISHED")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--uri", help="an MLflow server to use (default: start one here)")
    ap.add_argument("--db", help="with --uri: the server's SQLite backend file, to record the runs into directly")
    args = ap.parse_args()
    from experiments import loopback as L

    with tempfile.TemporaryDirectory(prefix="arena-listing-") as tmp:
        server = None if args.uri else L.start_mlflow_server(Path(tmp) / "server")
        try:
            os.environ["RNN_ARENA_TRACKING_URI"] = args.uri or server.address
            from experiments import queries

            home = Path(tmp) / "home"
            t0 = time.perf_counter()
            db = Path(args.db) if args.db else (None if args.uri else Path(tmp) / "server" / "mlflow.db")
            fill(home, args.runs, db)
            filled = time.perf_counter() - t0
            queries.list_runs(home, limit=args.runs)  # the connection and MLflow's imports, once
            times = []
            for _ in range(3):
                t = time.perf_counter()
                n = len(queries.list_runs(home, limit=args.runs))
                times.append(time.perf_counter() - t)
        finally:
            if server is not None:
                server.stop()
    print(f"| runs listed | best of 3, s | median, s |\n|---:|---:|---:|\n| {n} | {min(times):.2f} | "
          f"{sorted(times)[1]:.2f} |\n\n(recording them took {filled:.0f} s)\n"
          f"Command: `python benchmarks/server_listing.py {' '.join(sys.argv[1:])}`")


if __name__ == "__main__":
    main()
