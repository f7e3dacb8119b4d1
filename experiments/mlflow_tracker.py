"""MLflow side of tracking: the SQLite store in the data folder, one
experiment per workload, and MlflowTracker, core's Tracker on an MLflow run."""
from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from experiments.settings import local_tracking_uri, tracking_uri

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
# MLflow logs every SQLite error with its traceback before raising it; the caller here retries
# ("database is locked") or reports it in one line (a full disk), so the traceback is noise
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

_CLIENTS: dict[str, Any] = {}
LOCK_RETRIES = 10  # SQLite answers "database is locked" when several processes write at once: try again


def client(home: Path):
    """An MlflowClient on the home's SQLite store (created on first use, one
    process at a time, WAL on a local disk) whose calls retry, with growing
    pauses, while SQLite reports the database locked, and whose failures to
    write the store (a full disk) are OSErrors that say what to do."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(home)
    if uri not in _CLIENTS:
        if uri == local_tracking_uri(home):
            inner = _open_sqlite_store(home, lambda: MlflowClient(tracking_uri=uri))
        else:
            inner = MlflowClient(tracking_uri=uri)
        _CLIENTS[uri] = RetryingClient(inner, home / "mlflow.db" if uri == local_tracking_uri(home) else None)
    return _CLIENTS[uri]


STORE_LOCK = ".mlflow.db.lock"
# SQLite's WAL journal needs shared memory between the processes, which these cannot give
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre",
                       "gpfs", "beegfs", "virtiofs", "vboxsf", "davfs"}


def _open_sqlite_store(home: Path, make_client: Any) -> Any:
    """Open the home's SQLite store once per process, one process at a time
    (a file lock): processes that first touch a new store together would all
    create its tables, and all but one fail ("duplicate column name"). Then
    switch it to WAL on a local disk, so that readers (the dashboard polling)
    and the runs' writers no longer wait for each other."""
    import fcntl

    try:
        home.mkdir(parents=True, exist_ok=True)
        lock = open(home / STORE_LOCK, "a")  # noqa: SIM115 - held for the block below
    except OSError:  # a read-only data folder: nothing will be created there anyway
        lock = None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held only while the tables are checked (or created, once)
        try:
            inner = make_client()
            inner.search_experiments(max_results=1)  # the store is open: its tables exist and are current
        except Exception as exc:
            reason = _unwritable(exc)
            if reason:
                raise _store_error(reason, home / "mlflow.db") from None
            raise
        if _local_filesystem(home):
            _use_wal(home / "mlflow.db")
        return inner
    finally:
        if lock is not None:
            lock.close()  # releases the lock


def _local_filesystem(path: Path) -> bool:
    """True when the folder lies on a local filesystem (from /proc/self/mounts;
    False where that cannot be told, e.g. not Linux)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    target, best, fstype = str(Path(path).resolve()), "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, parts[2]
    return bool(fstype) and fstype not in NETWORK_FILESYSTEMS and not fstype.startswith("fuse")


def _use_wal(db: Path) -> None:
    import sqlite3

    try:
        with sqlite3.connect(db, timeout=30) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # kept in the file: set once, for every later connection
        conn.close()
    except sqlite3.Error:
        pass  # busy or refused: the default journal is slower for readers but just as safe


def _locked(exc: BaseException) -> bool:
    text = str(exc)
    return "database is locked" in text or "database table is locked" in text


# what SQLite says when the store's file cannot be written (a full disk, a file size limit, a read-only folder)
UNWRITABLE = ("database or disk is full", "disk I/O error", "attempt to write a readonly database",
              "unable to open database file")


def _unwritable(exc: BaseException) -> str | None:
    text = str(exc)
    return next((reason for reason in UNWRITABLE if reason in text), None)


def _store_error(reason: str, store: Path | None) -> OSError:
    """An OSError (the CLI prints it as one line) that says what to do."""
    return OSError(errno.ENOSPC if "full" in reason else errno.EIO,
                   f"cannot write the MLflow store ({reason}); free some disk space or make the data folder "
                   "writable, then try again", str(store or ""))


class RetryingClient:
    """An MlflowClient whose every call is retried on a locked SQLite store
    (a locked write is rolled back whole, so retrying it writes it once)."""

    def __init__(self, inner: Any, store: Path | None = None):
        self._inner = inner
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            import random
            import time

            delay = 0.05
            for attempt in range(LOCK_RETRIES):
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    reason = _unwritable(exc)
                    if reason:
                        raise _store_error(reason, self._store) from None
                    if attempt == LOCK_RETRIES - 1 or not _locked(exc):
                        raise
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)

        return call


def experiment_id(home: Path, workload: str) -> str:
    c = client(home)
    exp = c.get_experiment_by_name(workload)
    if exp is not None:
        return exp.experiment_id
    location = None  # a tracking server keeps artifacts where it was told to
    if tracking_uri(home) == local_tracking_uri(home):
        artifacts = (home / "artifacts" / workload).resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        location = artifacts.as_uri()
    try:
        return c.create_experiment(workload, artifact_location=location)
    except Exception:  # another process created it first
        exp = c.get_experiment_by_name(workload)
        if exp is None:
            raise
        return exp.experiment_id


class MlflowTracker:
    """core.tracking.Tracker on one MLflow run."""

    def __init__(self, home: Path, run_id: str):
        self.client = client(home)
        self.run_id = run_id

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric
        import time

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_dict(self, obj: Any, name: str) -> None:
        self.log_text(json.dumps(obj, indent=2, default=_json_default), name)

    def log_text(self, text: str, name: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(name).name
            path.write_text(text, encoding="utf-8")
            self.log_file(path, name)

    def log_file(self, path: Path, name: str | None = None) -> None:
        name = name or Path(path).name
        folder = str(Path(name).parent) if Path(name).parent != Path(".") else None
        if Path(path).name != Path(name).name:
            with tempfile.TemporaryDirectory() as tmp:
                renamed = Path(tmp) / Path(name).name
                renamed.write_bytes(Path(path).read_bytes())
                self.client.log_artifact(self.run_id, str(renamed), folder)
            return
        self.client.log_artifact(self.run_id, str(path), folder)

    def set_tags(self, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self.client.set_tag(self.run_id, k, str(v)[:5000])


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")
