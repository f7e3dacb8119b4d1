"""Liveness of run processes. A run records which process trains it
(host, pid and the process start time, so a reused pid is not mistaken for
it); a RUNNING run whose process is gone is marked FAILED with that error."""
from __future__ import annotations

import os
import socket
from pathlib import Path

PROC_TAG = "arena.process"


def process_identity(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        # field 22 of /proc/PID/stat, after the parenthesised command name
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


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
    return start == "?" or _start_time(pid) == start


def reap_dead_runs(home: Path) -> list[str]:
    """Mark FAILED every RUNNING run whose process has died. Returns their ids."""
    from experiments.mlflow_tracker import client

    if not (home / "mlflow.db").exists():
        return []
    c = client(home)
    exps = [e.experiment_id for e in c.search_experiments()]
    if not exps:
        return []
    reaped = []
    for run in c.search_runs(exps, filter_string="attributes.status = 'RUNNING'", max_results=1000):
        identity = run.data.tags.get(PROC_TAG)
        if identity and is_alive(identity) is False:
            epoch = run.data.tags.get("arena.epoch", "0")
            c.set_tag(run.info.run_id, "error", f"the process training this run ended unexpectedly after epoch {epoch} "
                      f"(killed or crashed); resume with: python -m experiments run --resume {run.info.run_id}")
            c.set_tag(run.info.run_id, "error_type", "ProcessDied")
            c.set_terminated(run.info.run_id, status="FAILED")
            reaped.append(run.info.run_id)
    return reaped
