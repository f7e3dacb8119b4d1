"""Liveness of run processes. A run records which process trains it
(host, pid and the process start time, so a reused pid is not mistaken for
it); a RUNNING run whose process is gone is marked FAILED with that error."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from experiments.tags import EPOCH_TAG, ERROR_TAG, ERROR_TYPE_TAG, PROC_TAG, QUEUE_TAG, STATUS_TAG


def process_identity(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 (state) on, after the parenthesised command name; [] when unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    fields = _stat_fields(pid)  # field 22: the start time
    return fields[19] if len(fields) > 19 else "?"


def is_alive(identity: str) -> bool | None:
    """True/False for a process on this host; None when it cannot be told
    (another host, or no identity recorded)."""
    try:
        host, pid_text, start = identity.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields[:1] in (["Z"], ["X"]):
        # a killed worker stays a zombie until its parent (the dashboard, which
        # never waits for it) exits: it still answers kill(pid, 0) but is dead
        return False
    return start == "?" or (fields[19] if len(fields) > 19 else "?") == start


def reap_dead_runs(home: Path) -> list[str]:
    """Mark FAILED every RUNNING run whose process has died. Returns their ids."""
    from experiments.mlflow_tracker import client

    from experiments.settings import store_exists

    if not store_exists(home):
        return []
    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    if not exps:
        return []
    reaped = []
    for run in c.search_runs(exps, filter_string="attributes.status = 'RUNNING'", max_results=1000):
        identity = run.data.tags.get(PROC_TAG)
        if identity and is_alive(identity) is False:
            epoch = run.data.tags.get(EPOCH_TAG, "0")
            c.set_tag(run.info.run_id, ERROR_TAG, f"the process training this run ended unexpectedly after epoch {epoch} "
                      f"(killed or crashed); resume with: python -m experiments run --resume {run.info.run_id}")
            c.set_tag(run.info.run_id, ERROR_TYPE_TAG, "ProcessDied")
            c.set_terminated(run.info.run_id, status="FAILED")
            reaped.append(run.info.run_id)
    return reaped


# ---------------------------------------------------------------------------
# background runs: each run trains in its own process, started detached so a
# closed tab, a Streamlit rerun or a dashboard restart does not stop it; runs
# wait for one of N slots (file locks in the data folder), so queued runs
# start one after another.


def launch(cfg, home: Path, run_name: str | None = None, slots: int = 1) -> str:
    """Record the run, start its worker process, return the run id."""
    import subprocess
    import sys

    from experiments import runner
    from experiments.mlflow_tracker import client
    from experiments.settings import PROJECT_ROOT

    if slots < 1:
        raise ValueError(f"slots={slots} must be at least 1")
    run_id = runner.create_run(cfg, home, run_name, tags={QUEUE_TAG: "queued"})
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // slots)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(logs / f"{run_id}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments", "--home", str(home), "worker", run_id, "--slots", str(slots),
             "--threads", str(threads)],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # not a child of the dashboard's session: survives its restart
        )
    client(home).set_tag(run_id, PROC_TAG, process_identity(proc.pid))
    return run_id


def _first_in_queue(home: Path, run_id: str) -> bool:
    """True when no older queued run with a live process is waiting (FIFO)."""
    from experiments.mlflow_tracker import client

    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    waiting = c.search_runs(exps, filter_string=f"attributes.status = 'RUNNING' and tags.`{QUEUE_TAG}` = 'queued'",
                            order_by=["attributes.start_time ASC"], max_results=1000)
    for run in waiting:
        if run.info.run_id == run_id:
            return True
        if is_alive(run.data.tags.get(PROC_TAG, "")) is not False:
            return False  # an older run waits ahead of this one
    return True


def _get_run(home: Path, run_id: str):
    from mlflow.exceptions import MlflowException

    from experiments.mlflow_tracker import client

    try:
        return client(home).get_run(run_id)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise  # a store that cannot be read is not a wrong id
        raise ValueError(f"no run {run_id!r} in {home}; list runs with: python -m experiments runs") from None


def wait_for_slot(home: Path, slots: int, run_id: str | None = None, poll: float = 1.0):
    """Block until this run is first in the queue and one of `slots` lock
    files is ours; returns the open file (the lock lasts while it is open,
    or while the process lives)."""
    import fcntl
    import time

    if run_id is not None:
        _get_run(home, run_id)  # a worker for a run that does not exist stops here, with one line
    folder = home / "slots"
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        if run_id is None or _first_in_queue(home, run_id):
            for i in range(slots):
                fh = open(folder / f"slot-{i}.lock", "w")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fh
                except BlockingIOError:
                    fh.close()
        time.sleep(poll)


def cancel(home: Path, run_id: str) -> str:
    """Stop a queued or running run: its process gets SIGTERM and marks the run
    KILLED (checkpoint kept); a run without a live process is marked here."""
    import signal

    from experiments.mlflow_tracker import client

    c = client(home)
    run = _get_run(home, run_id)
    if run.info.status not in ("RUNNING", "SCHEDULED"):
        return run.info.status
    identity = run.data.tags.get(PROC_TAG, "")
    alive = is_alive(identity) if identity else False
    if alive:
        os.kill(int(identity.split(":")[1]), signal.SIGTERM)
        return "stopping"
    if alive is None and run.info.status == "RUNNING":  # on another machine: it reads the status and stops
        c.set_tag(run_id, STATUS_TAG, "cancelled; stops at its next progress report (another machine)")
        c.set_terminated(run_id, status="KILLED")
        return "stopping"
    c.set_tag(run_id, STATUS_TAG, "cancelled before its process started")
    c.set_terminated(run_id, status="KILLED")
    return "KILLED"
