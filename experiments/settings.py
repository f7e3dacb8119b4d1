"""Where RNN Arena keeps its data and its MLflow store.

One setting: RNN_ARENA_HOME (or --home) names a folder that holds raw/
downloads, cache/ processed data, datasets/ the active datasets, mlflow.db
(the SQLite tracking store), artifacts/ and checkpoints/. Default: .rnn-arena
under the project. RNN_ARENA_TRACKING_URI points the runs at another MLflow
store (a tracking server, for sweeps on a cluster).
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_HOME = "RNN_ARENA_HOME"


def arena_home(override: str | os.PathLike | None = None) -> Path:
    value = override or os.environ.get(ENV_HOME) or PROJECT_ROOT / ".rnn-arena"
    home = Path(value).expanduser().resolve()
    _refuse_unaddressable(home)  # before anything is created
    if home.exists() and not home.is_dir():
        raise ValueError(f"{home} is a file; {ENV_HOME} / --home must name a folder")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create the data folder {home}: {exc.strerror}; set {ENV_HOME} or --home to a writable folder") from None
    if not os.access(home, os.W_OK):
        raise ValueError(f"the data folder {home} is not writable; set {ENV_HOME} or --home to a writable folder")
    return home


ENV_TRACKING_URI = "RNN_ARENA_TRACKING_URI"  # e.g. http://mlflow-server:5000 for runs on a cluster
ENV_NODE = "RNN_ARENA_NODE"  # set in a cluster's task: which node runs it (for errors and the run's tags)


def use_tracking_uri(uri: str | None) -> None:
    """--tracking-uri: the store for this process and every process it starts."""
    if uri:
        os.environ[ENV_TRACKING_URI] = uri


def remote_store(home: Path) -> bool:
    """True when the runs go to a store other than the home's SQLite file."""
    return tracking_uri(home) != local_tracking_uri(home)


def store_label(home: Path) -> str:
    """Where the runs are, for a page or a message: the tracking server's
    address, or the home folder whose SQLite file holds them."""
    return f"the tracking server {tracking_uri(home)}" if remote_store(home) else str(home)


def unaddressable(path: Path) -> str | None:
    """Why the store in this folder cannot be addressed, or None. The store's
    address is sqlite:///PATH, which SQLAlchemy splits at '?' (a query) and
    percent-decodes ('%20' is a space): a path with either would name another
    file. MLflow also creates the folders of the address as written, so a
    quoted address is no way out (it creates a folder named 'a%3Fb')."""
    from urllib.parse import unquote

    text = str(path)
    if "?" in text:
        return "'?'"
    if unquote(text) != text:
        escape = next(text[i:i + 3] for i in range(len(text)) if unquote(text[i:i + 3]) != text[i:i + 3])
        return f"'{escape}' (read as a percent-escape)"
    return None


def _refuse_unaddressable(home: Path) -> None:
    why = unaddressable(home)
    if why:
        raise ValueError(f"the data folder {home} has {why} in its path, which the MLflow store's address "
                         f"(sqlite:///...) cannot carry: the runs would go to another file; set {ENV_HOME} or "
                         "--home to a folder whose path has no '?' and no '%' followed by two hex digits")


def local_tracking_uri(home: Path) -> str:
    """The sqlite:/// address of the home's store, the path as it is: any
    path arena_home accepts maps to itself ('#', ';', '&', spaces and a '%'
    not followed by two hex digits included)."""
    _refuse_unaddressable(Path(home))
    return f"sqlite:///{Path(home) / 'mlflow.db'}"


def sqlite_read_only(path: Path) -> str:
    """A read-only sqlite3 URI filename for `path` (sqlite3.connect(..., uri=True)),
    quoted so that '?', '#' or '%' in the path stay part of it."""
    from urllib.parse import quote

    return f"file:{quote(str(path), safe='/')}?mode=ro"


def store_exists(home: Path) -> bool:
    """Whether there can be runs to read: a tracking server always, the
    home's store once its file (or whatever stands in its place) exists."""
    return tracking_uri(home) != local_tracking_uri(home) or (home / "mlflow.db").exists()


def tracking_uri(home: Path) -> str:
    """The home's SQLite store, unless RNN_ARENA_TRACKING_URI names another
    MLflow tracking URI (a server every machine of a cluster reaches)."""
    return os.environ.get(ENV_TRACKING_URI) or local_tracking_uri(home)


ENV_SERVER_WAIT = "RNN_ARENA_SERVER_WAIT"  # seconds to wait for a tracking server that stopped answering
SERVER_WAIT_DEFAULT = 300.0


PAGE_SERVER_WAIT = 10.0  # the dashboard's own reads: a page waits this long, then says the server is down
_process_wait: float | None = None  # set by a process for itself (the dashboard), not for the runs it starts


def wait_in_this_process(seconds: float) -> None:
    """This process waits at most `seconds` for a server (unless
    RNN_ARENA_SERVER_WAIT says otherwise); the processes it starts keep the default."""
    global _process_wait
    _process_wait = seconds


def server_wait_seconds() -> float:
    """How long a command waits for a tracking server that stopped answering
    before it ends with one line (RNN_ARENA_SERVER_WAIT, default 300 s;
    0 gives up at the first failure). Finished runs are on the server
    either way; the same command resumes once it answers again."""
    text = os.environ.get(ENV_SERVER_WAIT, "").strip()
    if not text:
        return SERVER_WAIT_DEFAULT if _process_wait is None else _process_wait
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV_SERVER_WAIT}={text!r} is not a number of seconds; set it to e.g. 300") from None
    if not 0 <= value <= 7 * 24 * 3600:
        raise ValueError(f"{ENV_SERVER_WAIT}={text!r} must be between 0 and 604800 seconds (a week)")
    return value
