"""Faults injected into real processes: a run's worker killed with SIGKILL,
the dashboard killed while runs go on, a full disk and an unwritable data
folder, and eight processes writing to one SQLite store at once. Nothing
recorded before the fault is lost, and the store keeps opening."""
from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import launcher, runner
from experiments.mlflow_tracker import client
from experiments.queries import list_runs, run_history
from experiments.tags import PROC_TAG

ROOT = Path(__file__).resolve().parents[2]
MONITOR = str(ROOT / "dashboard" / "views" / "monitor.py")


def _env(home: Path, **extra: str) -> dict:
    return {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1", **extra}


def _wait(condition, timeout: float, what: str, poll: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"{what}: not within {timeout} s")


def _row(home: Path, run_id: str) -> dict:
    return next(r for r in list_runs(home) if r["run_id"] == run_id)


def _integrity(home: Path) -> str:
    with sqlite3.connect(home / "mlflow.db") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def prepared(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


# ---------------------------------------------------------------------------
# kill -9 and a dashboard restart
def test_a_killed_process_that_nobody_reaped_counts_as_dead():
    """A worker killed with SIGKILL stays a zombie while its parent (the
    dashboard) lives and never waits for it: kill(pid, 0) still succeeds."""
    proc = subprocess.Popen(["sleep", "60"])
    identity = launcher.process_identity(proc.pid)
    assert launcher.is_alive(identity) is True
    os.kill(proc.pid, signal.SIGKILL)
    _wait(lambda: Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 10, "zombie")
    assert launcher.is_alive(identity) is False
    proc.wait()
    assert launcher.is_alive(identity) is False


RUN_THEN_HANG = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from experiments import launcher
from experiments.tags import EPOCH_TAG, PROC_TAG
from experiments.mlflow_tracker import MlflowTracker, client, experiment_id
home = Path(sys.argv[1])
c = client(home)
run_id = c.create_run(experiment_id(home, "heartbeat"), run_name="killed").info.run_id
tracker = MlflowTracker(home, run_id)
tracker.set_tags({{PROC_TAG: launcher.process_identity()}})  # as a worker does
tracker.log_text("{{}}", "config.json")
for epoch in (1, 2, 3):
    tracker.log_metrics({{"train/loss": 1.0 / epoch, "val/loss": 2.0 / epoch}}, step=epoch)
    tracker.set_tags({{EPOCH_TAG: str(epoch)}})
print(run_id, flush=True)
time.sleep(600)  # "training" until killed
"""


def test_a_run_whose_process_is_killed_shows_as_failed_within_seconds_with_its_data(tmp_path):
    """SIGKILL (no handler runs) leaves the run RUNNING in the store; the
    queries layer's reaper shows it FAILED at the next listing. The killed
    process is this test's child and stays a zombie, as a worker started by
    the dashboard does."""
    home = tmp_path / "arena"
    proc = subprocess.Popen([sys.executable, "-c", RUN_THEN_HANG.format(root=str(ROOT)), str(home)], cwd=ROOT,
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, proc.stderr.read() if proc.poll() is not None else run_id
    assert _row(home, run_id)["status"] == "RUNNING"
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.time()
    _wait(lambda: _row(home, run_id)["status"] == "FAILED", 10, "shown as FAILED", poll=0.1)
    seconds = time.time() - killed
    print(f"\nkill -9 of a run's process: FAILED after {seconds:.2f} s; 3 epochs of metrics and config.json kept")
    assert seconds < 5
    tags = client(home).get_run(run_id).data.tags
    assert tags["error_type"] == "ProcessDied" and f"--resume {run_id}" in tags["error"] and "after epoch 3" in tags["error"]
    assert run_history(home, run_id, "train/loss") == [(1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]
    assert run_history(home, run_id, "val/loss") == [(1, 2.0), (2, 1.0), (3, pytest.approx(2 / 3))]
    assert [f.path for f in client(home).list_artifacts(run_id)] == ["config.json"]
    assert _row(home, run_id)["epochs"] == 3
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


DASHBOARD = """
import sys, time
sys.path.insert(0, {root!r})
from dashboard import services
params = {{**services.option_defaults(), "model.hidden_size": "8", "train.epochs": "500", "train.batch_size": "64",
          "train.device": "cpu", "data.val_fraction": "0.2"}}
print(services.launch({home!r}, params, "survives a restart", 1), flush=True)
time.sleep(600)  # the dashboard goes on serving until it is killed
"""


@pytest.mark.slow
def test_runs_survive_a_dashboard_restart_and_a_killed_worker_is_failed_with_its_data_kept(prepared):
    home = prepared
    # the dashboard (its own session) starts a run, then dies with SIGKILL
    dash = subprocess.Popen([sys.executable, "-c", DASHBOARD.format(root=str(ROOT), home=str(home))], cwd=ROOT,
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    run_id = dash.stdout.readline().strip()
    assert len(run_id) == 32, dash.stderr.read() if dash.poll() is not None else run_id
    os.killpg(dash.pid, signal.SIGKILL)
    dash.wait()
    dash.stdout.close()
    dash.stderr.close()

    # the run goes on in its detached worker, and a fresh dashboard shows it
    _wait(lambda: _row(home, run_id)["epochs"] >= 2, 180, "two epochs after the dashboard died")
    identity = client(home).get_run(run_id).data.tags[PROC_TAG]
    assert launcher.is_alive(identity) is True
    monitor = AppTest.from_file(MONITOR, default_timeout=60).run()  # the restarted dashboard
    assert not monitor.exception
    assert any(run_id[:8] in m.value for m in monitor.markdown)
    assert monitor.get("progress"), "the running run has a progress bar"

    # SIGKILL the worker: no handler runs, the run is left RUNNING in the store
    done = _row(home, run_id)["epochs"]
    os.kill(int(identity.split(":")[1]), signal.SIGKILL)
    killed = time.time()
    _wait(lambda: _row(home, run_id)["status"] == "FAILED", 10, "shown as FAILED", poll=0.1)
    seconds = time.time() - killed
    print(f"\nworker killed after {done} epochs (the dashboard killed before): FAILED after {seconds:.2f} s")
    assert seconds < 5, f"{seconds:.1f} s to show the killed run as FAILED"
    tags = client(home).get_run(run_id).data.tags
    assert tags["error_type"] == "ProcessDied" and f"--resume {run_id}" in tags["error"]

    # what it wrote before the kill is all there
    losses = run_history(home, run_id, "train/loss")
    steps = [s for s, _ in losses]
    assert len(steps) >= done and steps == list(range(1, len(steps) + 1))
    assert {f.path for f in client(home).list_artifacts(run_id)} >= {"config.json"}
    state = torch.load(runner.checkpoint_path(home, run_id), weights_only=True)  # the resumable checkpoint
    assert state["history"].shape[0] >= done
    monitor = AppTest.from_file(MONITOR, default_timeout=60).run()
    assert not monitor.exception and not any(run_id[:8] in m.value for m in monitor.markdown)  # not running
    table = monitor.dataframe[0].value
    assert table.loc[table["run_id"] == run_id, "status"].tolist() == ["FAILED"]


# ---------------------------------------------------------------------------
# a full disk and an unwritable data folder
def _limited(args: list[str], home: Path, max_bytes: int) -> subprocess.CompletedProcess:
    """The CLI with files capped at max_bytes: writes past it fail as on a full disk."""
    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run([sys.executable, "-m", "experiments", *args], cwd=ROOT, env=_env(home), preexec_fn=cap,
                          capture_output=True, text=True, timeout=300)


def test_a_full_disk_during_prepare_leaves_no_half_written_files(home, kaggle_dir):
    done = _limited(["prepare", "heartbeat", "--source", str(kaggle_dir)], home, 64 * 1024)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot write the processed beats in ") and "free some disk space" in done.stderr
    assert hb.dataset_info(home) is None
    assert sorted(p.name for p in (home / "cache").iterdir()) == []  # no .tmp.npz left behind
    meta = hb.prepare(kaggle_dir, home, log=lambda m: None)  # with space back, it works
    assert not meta["reused"] and len(hb.load_beats(home)) == 400


def test_a_full_disk_during_a_run_is_one_line_and_the_store_survives(prepared, tiny_config):
    home = prepared
    earlier = runner.run(tiny_config.replace(**{"train.epochs": 1}), home, run_name="earlier")
    before = {r["run_id"]: r for r in list_runs(home)}
    done = _limited(["run", "heartbeat", "--epochs", "2", "--hidden-size", "4", "--quiet"], home, 16 * 1024)
    lines = done.stderr.strip().splitlines()
    print(f"\nfull disk during a run: status {done.returncode}, last line: {lines[-1] if lines else ''}")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert lines[-1].startswith("error: cannot write the MLflow store (") and "free some disk space" in lines[-1]
    assert _integrity(home) == "ok"
    after = {r["run_id"]: r for r in list_runs(home)}
    assert after[earlier.run_id] == before[earlier.run_id]  # the earlier run, metrics and all
    assert all(r["status"] != "RUNNING" for r in after.values())  # nothing left RUNNING forever
    assert run_history(home, earlier.run_id, "val/loss")
    c = client(home)
    again = c.create_run(c.get_experiment_by_name("heartbeat").experiment_id).info.run_id  # writable again
    c.log_metric(again, "x", 1.0)
    assert c.get_run(again).data.metrics == {"x": 1.0}


def test_an_unwritable_data_folder_is_a_clear_message(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RNN_ARENA_HOME", str(blocker / "arena"))  # its parent is a file: nothing can be created
    at = AppTest.from_file(MONITOR, default_timeout=60).run()
    assert not at.exception
    assert "cannot create the data folder" in at.error[0].value and "RNN_ARENA_HOME" in at.error[0].value


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, chmod does not stop writes (covered above by a path whose "
                                              "parent is a file and by RLIMIT_FSIZE)")
def test_a_read_only_data_folder_is_a_clear_message(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o555)
    try:
        done = subprocess.run([sys.executable, "-m", "experiments", "--home", str(home), "runs"], cwd=ROOT,
                              env=_env(home), capture_output=True, text=True, timeout=120)
    finally:
        home.chmod(0o755)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: the data folder {home} is not writable; set RNN_ARENA_HOME or --home to a writable folder"]


# ---------------------------------------------------------------------------
# eight processes writing to one store
WRITERS = """
import json, os, sys, time, traceback
sys.path.insert(0, {root!r})
from pathlib import Path
home, n, go, writers = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
import mlflow.tracking  # imported once, then forked: eight writers without eight slow imports
from experiments.mlflow_tracker import MlflowTracker, client, experiment_id
pids = []
for k in range(writers):
    pid = os.fork()
    if pid == 0:  # a writer: its own process, its own connections (nothing was opened before the fork)
        code = 1
        try:
            while not go.exists():
                time.sleep(0.005)
            started = time.perf_counter()
            c = client(home)  # the store does not exist yet: all eight open (and create) it at once
            run_id = c.create_run(experiment_id(home, "heartbeat"), run_name=f"writer-{{k}}").info.run_id
            tracker = MlflowTracker(home, run_id)
            for i in range(n):
                tracker.log_metrics({{"a": i, "b": 2.0 * i, "c": i / 7}}, step=i)
            result = {{"run_id": run_id, "seconds": time.perf_counter() - started, "pid": os.getpid()}}
            (go.parent / f"{{go.name}}-{{k}}.json").write_text(json.dumps(result))
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    pids.append(pid)
print("ready", flush=True)
sys.exit(max(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids))
"""


def concurrent_writers(home: Path, n: int, writers: int = 8) -> dict:
    """`writers` processes each create a run and log 3 metrics x n steps in
    a tight loop, while this process lists the runs like the Monitor does.
    Returns what was written, read back and how long it took."""
    home.mkdir(parents=True, exist_ok=True)
    go = home.parent / f"{home.name}.go"
    proc = subprocess.Popen([sys.executable, "-c", WRITERS.format(root=str(ROOT)), str(home), str(n), str(go),
                             str(writers)], cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    started = time.perf_counter()
    go.touch()
    reads = 0
    while proc.poll() is None:
        if (home / "mlflow.db").exists():
            list_runs(home)  # a reader in the middle of the writes, like the Monitor
            reads += 1
        time.sleep(0.2)
    wall = time.perf_counter() - started
    out, err = proc.communicate()
    assert proc.returncode == 0 and "locked" not in err, err[-3000:]
    results = [json.loads((go.parent / f"{go.name}-{k}.json").read_text()) for k in range(writers)]
    assert len({r["pid"] for r in results}) == writers  # one process each
    c = client(home)
    read_back, wrong = 0, []
    for r in results:
        for key, scale in (("a", 1.0), ("b", 2.0), ("c", 1 / 7)):
            points = sorted((m.step, m.value) for m in c.get_metric_history(r["run_id"], key))
            read_back += len(points)
            if points != [(i, pytest.approx(i * scale)) for i in range(n)]:
                wrong.append((r["run_id"], key, len(points)))
    with sqlite3.connect(home / "mlflow.db") as db:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    return {"writers": writers, "written": writers * n * 3, "read_back": read_back, "wrong": wrong,
            "wall_seconds": round(wall, 1), "slowest_writer_seconds": round(max(r["seconds"] for r in results), 1),
            "list_runs_calls": reads, "journal_mode": mode, "runs": len(list_runs(home))}


def test_eight_processes_write_to_one_new_store_and_nothing_is_lost(tmp_path):
    stats = concurrent_writers(tmp_path / "arena", n=40)
    assert stats["wrong"] == [] and stats["read_back"] == stats["written"] == 8 * 40 * 3
    assert stats["runs"] == 8 and stats["journal_mode"] == "wal"
    assert _integrity(tmp_path / "arena") == "ok"


@pytest.mark.slow
def test_eight_writers_in_a_tight_loop_at_scale(tmp_path):
    stats = concurrent_writers(tmp_path / "arena", n=1000)
    print("\nconcurrent writers:", json.dumps(stats))
    assert stats["wrong"] == [] and stats["read_back"] == stats["written"] == 24_000
    assert _integrity(tmp_path / "arena") == "ok"
