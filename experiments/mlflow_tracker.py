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

from experiments.settings import ENV_TRACKING_URI, local_tracking_uri, sqlite_read_only, tracking_uri

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
# MLflow's client retries a server that does not answer for about two minutes without a word; these calls
# are retried here instead, with a line per retry and a bound (RNN_ARENA_SERVER_WAIT)
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
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
            inner = _open_remote_store(uri, lambda: MlflowClient(tracking_uri=uri))
        local = uri == local_tracking_uri(home)
        _CLIENTS[uri] = RetryingClient(inner, home / "mlflow.db" if local else None, None if local else uri)
    return _CLIENTS[uri]


# -- a store that cannot be used: one line that names it and says what to do, within seconds ------------
DAMAGED = ("file is not a database", "database disk image is malformed", "malformed database schema",
           "no such table", "no such column")
NETWORK_SCHEMES = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}
TRACKING_SCHEMES = set(NETWORK_SCHEMES) | {"sqlite", "databricks", "databricks-uc", "uc", "file"}
CONNECT_SECONDS = 5.0  # a server that does not answer a connection in this time is taken as down


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "..."


def _damaged(exc: BaseException) -> str | None:
    text = str(exc)
    return next((reason for reason in DAMAGED if reason in text), None)


def _check_local_store(db: Path) -> None:
    """Look at the home's store with sqlite3 before MLflow opens it: MLflow
    retries a store it cannot open for minutes and then blames the disk. A
    folder or a damaged or foreign file in its place is refused at once."""
    import sqlite3

    if not (db.exists() or db.is_symlink()):
        return  # a new store: MLflow creates it
    if not db.is_file():
        raise ValueError(f"the MLflow store {db} is not a file (a folder or a broken link is in its place); move it "
                         "away, or point RNN_ARENA_HOME at another folder")
    try:
        conn = sqlite3.connect(sqlite_read_only(db), uri=True, timeout=10)
    except sqlite3.Error:
        return  # cannot even be opened for reading (permissions): MLflow's own error is reported below
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and not {"alembic_version", "experiments", "runs"} <= tables:
            raise ValueError(f"{db} is an SQLite file but not an MLflow store; move it away (a new store is created "
                             "in its place), or point RNN_ARENA_HOME at another folder")
        if tables:
            conn.execute("SELECT count(*) FROM experiments").fetchone()  # reads its pages: scribbled ones fail here
    except sqlite3.Error as exc:
        if _locked(exc):
            return  # busy, not damaged: MLflow waits for it
        raise ValueError(f"the MLflow store {db} is damaged or not an SQLite file ({_first_line(exc, 80)}); restore "
                         "it from a backup, or move it away to start an empty store") from None
    finally:
        conn.close()


def _explain(exc: BaseException, store: str, uri: str) -> ValueError | None:
    """A one-line ValueError for an error that means the store cannot be
    used; None for others (busy, full disk: handled where they occur)."""
    text = str(exc)
    if "out-of-date database schema" in text or "Can't locate revision" in text:
        older = "out-of-date" in text
        found = text.split("(found version ", 1)[1].split(",", 1)[0] if "(found version " in text else "?"
        if older:
            return ValueError(f"the MLflow store {store} was written by an older MLflow (schema {found}); back it up, "
                              f"then upgrade it with: mlflow db upgrade '{uri}'")
        return ValueError(f"the MLflow store {store} was written by a newer MLflow than this one; use that MLflow "
                          "version, or a store of its own")
    reason = _damaged(exc)
    if reason:
        return ValueError(f"the MLflow store {store} is damaged ({reason}); restore it from a backup, or move it "
                          "away to start an empty store")
    return None


def _open_remote_store(uri: str, make_client: Any) -> Any:
    """An MlflowClient on RNN_ARENA_TRACKING_URI, or a ValueError in one
    line: an unknown scheme, a missing database driver, a server that does
    not answer within CONNECT_SECONDS."""
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    scheme = parsed.scheme.split("+", 1)[0].lower()  # postgresql+psycopg2 is postgresql with a driver
    if scheme not in TRACKING_SCHEMES:
        raise ValueError(f"{ENV_TRACKING_URI}={uri!r} has the scheme {parsed.scheme or '(none)'!r}, which MLflow "
                         "cannot track to; use http(s)://HOST:PORT of an MLflow server or a database URI, or unset "
                         f"{ENV_TRACKING_URI} to use the store in the data folder")
    if scheme in NETWORK_SCHEMES and parsed.hostname:
        start = f"mlflow server --port {parsed.port or NETWORK_SCHEMES[scheme]}" if scheme.startswith("http") else \
            f"the {scheme} database server"
        _reachable(uri, parsed.hostname, parsed.port or NETWORK_SCHEMES[scheme], start, scheme.startswith("http"))
    try:
        inner = make_client()
        inner.search_experiments(max_results=1)
        return inner
    except ImportError as exc:
        raise ValueError(f"the tracking store {uri} needs a database driver that is not installed "
                         f"({_first_line(exc, 80)}); install it, or unset {ENV_TRACKING_URI}") from None
    except Exception as exc:
        explained = _explain(exc, uri, uri)
        if explained:
            raise explained from None
        raise ValueError(f"cannot use the tracking store {uri}: {_first_line(exc)}; check {ENV_TRACKING_URI} and "
                         "that the server is running") from None


def _reachable(uri: str, host: str, port: int, start: str, http: bool = False) -> None:
    """A ValueError in one line unless the server accepts a connection (and,
    for http(s), answers a request) within CONNECT_SECONDS: MLflow's own
    client retries a silent server for minutes."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS) as sock:
            if http:
                sock.settimeout(CONNECT_SECONDS)
                # any answer will do (an HTTPS server answers plain text with an error or closes): it is alive
                sock.sendall(f"HEAD /health HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
                try:
                    sock.recv(1)
                except ConnectionResetError:
                    pass  # it answered by closing the connection: alive
            return
    except OSError as exc:
        why = f"no answer within {CONNECT_SECONDS:.0f} s" if isinstance(exc, TimeoutError) else \
            (exc.strerror or type(exc).__name__).lower()
        raise ValueError(f"cannot reach the tracking server at {uri} ({why}); start it ({start}), or unset "
                         f"{ENV_TRACKING_URI} to use the store in the data folder") from None


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
        _check_local_store(home / "mlflow.db")
        try:
            inner = make_client()
            inner.search_experiments(max_results=1)  # the store is open: its tables exist and are current
        except Exception as exc:
            explained = _explain(exc, str(home / "mlflow.db"), local_tracking_uri(home))
            if explained:
                raise explained from None
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


# what a tracking server that went away (stopped, restarting, unreachable) looks like from the client
UNREACHABLE = ("Connection refused", "Max retries exceeded", "Failed to establish a new connection",
               "Connection aborted", "Connection reset", "RemoteDisconnected", "Read timed out", "timed out",
               "Temporary failure in name resolution", "No route to host", "ConnectionError",
               "502 Bad Gateway", "503 Service Unavailable", "504 Gateway Time", "response code 503",
               "response code 502", "response code 504", "error code 502", "error code 503", "error code 504",
               "could not connect to server", "server closed the connection")


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(s in text for s in UNREACHABLE)


def _say(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


SAY = _say  # where the waiting lines go (stderr: a study's log, the CLI's terminal)
GONE_SECONDS = 60.0  # after a wait ran out, calls in the next minute fail at once (marking runs as they stop)


class RetryingClient:
    """An MlflowClient whose every call is retried on a locked SQLite store
    (a locked write is rolled back whole, so retrying it writes it once) and,
    on a tracking server, while the server does not answer: a line per retry
    with the time waited, up to RNN_ARENA_SERVER_WAIT seconds, then one
    ValueError that says the bound passed and how to resume."""

    def __init__(self, inner: Any, store: Path | None = None, server: str | None = None):
        self._inner = inner
        self._store = store
        self._server = server
        self._gone_at = 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            import random
            import time

            delay = 0.05
            waited_since = None
            attempt = 0
            while True:
                try:
                    result = attr(*args, **kwargs)
                    if waited_since is not None:
                        SAY(f"the tracking server {self._server} answers again after {time.monotonic() - waited_since:.0f} s; "
                            "carrying on")
                        self._gone_at = 0.0
                    return result
                except Exception as exc:
                    reason = _unwritable(exc)
                    if reason:
                        raise _store_error(reason, self._store) from None
                    damaged = _damaged(exc)
                    if damaged and self._store is not None:  # a page scribbled over where the first look did not read
                        raise ValueError(f"the MLflow store {self._store} is damaged ({damaged}); restore it from a "
                                         "backup, or move it away to start an empty store") from None
                    if self._server is not None and _unreachable(exc):
                        waited_since = self._wait_for_server(exc, name, waited_since)
                        continue
                    attempt += 1
                    if attempt >= LOCK_RETRIES or not _locked(exc):
                        raise
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 2.0)

        return call

    def _wait_for_server(self, exc: BaseException, name: str, since: float | None) -> float:
        """Sleep before the next try, saying so; a ValueError once the bound has passed."""
        import time

        from experiments.settings import ENV_SERVER_WAIT, server_wait_seconds

        now = time.monotonic()
        since = now if since is None else since
        bound = server_wait_seconds()
        waited = now - since
        recently_gone = self._gone_at and now - self._gone_at < GONE_SECONDS
        if waited >= bound or recently_gone:
            self._gone_at = self._gone_at if recently_gone else now
            raise ValueError(f"the tracking server {self._server} did not answer for {waited:.0f} s ({ENV_SERVER_WAIT}="
                             f"{bound:g}); what finished is kept on the server: start it, then run the same command "
                             "again to resume") from None
        pause = min(15.0, max(1.0, waited), bound - waited)
        SAY(f"the tracking server {self._server} does not answer ({name}: {_first_line(exc, 100)}); waited "
            f"{waited:.0f} s of {bound:g} s ({ENV_SERVER_WAIT}), trying again in {pause:.0f} s")
        time.sleep(pause)
        return since


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
