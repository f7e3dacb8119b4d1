"""MLflow side of tracking: the SQLite store in the data folder, one
experiment per workload, and MlflowTracker, core's Tracker on an MLflow run."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from experiments.settings import tracking_uri

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)

_CLIENTS: dict[str, Any] = {}


def client(home: Path):
    """An MlflowClient on the home's SQLite store (created on first use)."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(home)
    if uri not in _CLIENTS:
        _CLIENTS[uri] = MlflowClient(tracking_uri=uri)
    return _CLIENTS[uri]


def experiment_id(home: Path, workload: str) -> str:
    c = client(home)
    exp = c.get_experiment_by_name(workload)
    if exp is not None:
        return exp.experiment_id
    artifacts = (home / "artifacts" / workload).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        return c.create_experiment(workload, artifact_location=artifacts.as_uri())
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
