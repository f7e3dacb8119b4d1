"""Sweeps under interruption, and local workers against Ray.

resume: start a small sweep as its own process group, `kill -9` the whole
group (coordinator and workers) once half its configs are done, restart it,
and count: every config must be FINISHED exactly once, none trained twice.
executors: the same sweep in fresh data folders with local workers and with
Ray on a local instance; the configs finished and the wall times.

Each check uses its own data folder under --root (the heartbeat data is
prepared there from --source first).

    python benchmarks/sweeps.py --source ../shared/data/mitbih/mitdb-1.0.0-core.tar.xz --check resume
    python benchmarks/sweeps.py --source ../shared/data/mitbih/mitdb-1.0.0-core.tar.xz --check executors --workers 2
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.tags import ATTEMPTS_TAG, CONFIG_KEY_TAG, PROC_TAG  # noqa: E402

SMALL_SWEEP = """\
name: small-sweep
description: 8 small configs on a 2% sample, 2 epochs (resume and executor checks)
base: {data.sample: 0.02, train.epochs: 2, model.hidden_size: 16, train.batch_size: 128, train.bucket: true}
factors:
  model.name: [rnn, gru, lstm, gru-packed]
  model.bidirectional: [false, true]
seeds: 1
"""


def prepare(home: Path, source: str) -> None:
    if home.exists():
        shutil.rmtree(home)
    subprocess.run([sys.executable, "-m", "experiments", "--home", str(home), "prepare", "heartbeat", "--source",
                    source], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def study_command(home: Path, path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments", "--home", str(home), "study", "--file", str(path), *extra]


def counts(home: Path, path: Path) -> tuple[Counter, Counter, str]:
    """FINISHED runs per config, runs per status, and the study's parent id."""
    from experiments import studies, sweep

    study = studies.load_study(path)
    parent = sweep.find_study(home, study, "heartbeat")
    runs = sweep.children(home, parent) if parent else []
    per_config = Counter(r.data.tags[CONFIG_KEY_TAG] for r in runs if r.info.status == "FINISHED")
    return per_config, Counter(r.info.status for r in runs), parent


def check_resume(root: Path, source: str, workers: int) -> None:
    from experiments import studies, sweep

    home = root / "resume"
    prepare(home, source)
    path = root / "small_sweep.yaml"
    study = studies.load_study(path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(study_command(home, path, "--workers", str(workers)), cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        time.sleep(0.5)
        parent = sweep.find_study(home, study, "heartbeat") if (home / "mlflow.db").exists() else None
        if not parent:
            continue
        runs = sweep.children(home, parent)
        done = sum(r.info.status == "FINISHED" for r in runs)
        mid_run = any(r.info.status == "RUNNING" and r.data.tags.get(PROC_TAG) for r in runs)
        if done >= len(runs) // 2 and mid_run:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_after = time.perf_counter() - started
    per_config, statuses, parent = counts(home, path)
    print(f"kill -9 of the sweep's process group after {killed_after:.0f} s:")
    print(f"  runs by status: {dict(statuses)}; configs FINISHED: {len(per_config)}")
    finished_before = {r.info.run_id: r.info.end_time for r in sweep.children(home, parent) if r.info.status == "FINISHED"}
    subprocess.run(study_command(home, path, "--workers", str(workers)), cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    per_config, statuses, _ = counts(home, path)
    runs = sweep.children(home, parent)
    unchanged = sum(r.info.end_time == finished_before[r.info.run_id] for r in runs if r.info.run_id in finished_before)
    attempts = Counter(r.data.tags.get(ATTEMPTS_TAG) for r in runs)
    print("after the restart (the same command):")
    print(f"  runs by status: {dict(statuses)}; configs: {len(runs)}; FINISHED per config: "
          f"{dict(Counter(per_config.values()))} (count: configs)")
    print(f"  runs finished before the kill and left untouched: {unchanged} of {len(finished_before)}; "
          f"attempts per run: {dict(attempts)} (attempts: runs)")


def check_executors(root: Path, source: str, workers: int) -> None:
    path = root / "small_sweep.yaml"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rows = []
    for executor in ("local", "ray"):
        home = root / executor
        prepare(home, source)
        started = time.perf_counter()
        subprocess.run(study_command(home, path, "--executor", executor, "--workers", str(workers)), cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        per_config, statuses, _ = counts(home, path)
        rows.append((executor, seconds, per_config, statuses))
    print(f"| executor | workers | runs FINISHED | configs finished once | wall time (s) |")
    print("|---|---|---|---|---|")
    for executor, seconds, per_config, statuses in rows:
        print(f"| {executor} | {workers} | {statuses.get('FINISHED', 0)} | "
              f"{sum(v == 1 for v in per_config.values())} | {seconds:.1f} |")
    same = set(rows[0][2]) == set(rows[1][2])
    print(f"identical configs finished: {same}; wall time ray / local: {rows[1][1] / rows[0][1]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="MIT-BIH records (folder or archive) or Kaggle CSV folder")
    ap.add_argument("--check", choices=("resume", "executors"), required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--root", default="/tmp/rnn-arena-sweeps", help="data folders of the checks (replaced)")
    args = ap.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "small_sweep.yaml").write_text(SMALL_SWEEP)
    print("command: python benchmarks/sweeps.py " + " ".join(sys.argv[1:]))
    (check_resume if args.check == "resume" else check_executors)(root, args.source, args.workers)


if __name__ == "__main__":
    main()
