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


def local_tracking_uri(home: Path) -> str:
    return f"sqlite:///{home / 'mlflow.db'}"


def tracking_uri(home: Path) -> str:
    """The home's SQLite store, unless RNN_ARENA_TRACKING_URI names another
    MLflow tracking URI (a server every machine of a cluster reaches)."""
    return os.environ.get(ENV_TRACKING_URI) or local_tracking_uri(home)
