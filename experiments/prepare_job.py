"""Preparing a dataset in the background, for the pages: `prepare WORKLOAD`
started as its own process (a closed tab or a rerun does not stop it), its
output written to a log the page reads for progress. One job per workload at
a time; the log and the process id live in HOME/prepare/.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.workloads import get as get_workload

ROOT = Path(__file__).resolve().parents[1]


def _paths(home: Path, workload: str) -> tuple[Path, Path]:
    folder = Path(home) / "prepare"
    return folder / f"{workload}.log", folder / f"{workload}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    try:  # a finished child that nobody waited for is a zombie: not running
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def status(home: Path, workload: str) -> dict:
    """{"running": bool, "log": the log's text ("" before any job), "ok": the
    last job's outcome (None while running or before any)}."""
    log, pid_file = _paths(home, workload)
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    running = False
    if pid_file.exists():
        try:
            running = _alive(int(pid_file.read_text().strip()))
        except ValueError:
            running = False
    ok = None
    if text and not running:
        ok = "error:" not in text.lower() and ("built in" in text or "reused from the cache" in text)
    return {"running": running, "log": text, "ok": ok}


def start(home: Path, workload: str, source: str | Path | None) -> None:
    """Start `prepare WORKLOAD [--source SOURCE]` in the background.
    ValueError: what to give instead (an unknown workload, a missing source,
    a job already running)."""
    w = get_workload(workload)
    if source is not None and str(source).strip():
        source = Path(str(source).strip()).expanduser()
        if not source.exists():
            raise ValueError(f"nothing at {str(source)[:200]}: give the path of a folder or archive on this "
                             "machine, or upload the files")
    elif w.needs_source:
        raise ValueError(f"the {w.label} data cannot be downloaded: give the path of the files or upload them")
    else:
        source = None
    if status(home, workload)["running"]:
        raise ValueError(f"the {w.label} data is being prepared already; wait for it to finish")
    log, pid_file = _paths(home, workload)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "experiments", "--home", str(home), "prepare", workload]
    if source is not None:
        cmd += ["--source", str(source)]
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    pid_file.write_text(str(proc.pid))


def save_upload(home: Path, workload: str, files: list[tuple[str, bytes]]) -> Path:
    """Uploaded files written into one folder (HOME/uploads/WORKLOAD), which
    `prepare --source` then reads; a single archive is returned as itself."""
    folder = Path(home) / "uploads" / workload
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        safe = Path(str(name)).name.replace("..", "_")
        if not safe:
            raise ValueError("an uploaded file has no name")
        path = folder / safe
        path.write_bytes(data)
        paths.append(path)
    if len(paths) == 1 and not paths[0].name.endswith(".jsonl.gz"):
        return paths[0]  # an archive of the records, or the challenge's train.csv
    return folder  # the course's spanish.*.jsonl.gz files, or the records one by one
