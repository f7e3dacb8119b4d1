"""The read side: runs, their metrics and histories, for the CLI and the
dashboard. Everything comes back as plain Python or pandas objects."""
from __future__ import annotations

from pathlib import Path

from experiments.mlflow_tracker import client

SUMMARY_METRICS = ("test/accuracy", "test/balanced_accuracy", "test/macro_f1")


def list_runs(home: Path, workload: str | None = None, limit: int = 1000) -> list[dict]:
    """Recorded runs, newest first: id, name, status, workload, describe,
    a few params and the test metrics."""
    if not (home / "mlflow.db").exists():
        return []
    from experiments.launcher import reap_dead_runs

    reap_dead_runs(home)  # a run whose process died is shown as FAILED, not RUNNING forever
    c = client(home)
    exps = [e for e in c.search_experiments() if workload in (None, e.name)]
    if not exps:
        return []
    runs = c.search_runs([e.experiment_id for e in exps], max_results=limit, order_by=["attributes.start_time DESC"])
    names = {e.experiment_id: e.name for e in exps}
    rows = []
    for r in runs:
        p, m, t = r.data.params, r.data.metrics, r.data.tags
        rows.append({
            "run_id": r.info.run_id,
            "name": r.info.run_name,
            "status": "QUEUED" if r.info.status == "RUNNING" and t.get("arena.queue") == "queued" else r.info.status,
            "workload": names.get(r.info.experiment_id, "?"),
            "model": t.get("arena.describe", p.get("model.name", "?")),
            "sample": float(p.get("data.sample", "nan")),
            "epochs": int(float(t.get("arena.epochs_run", t.get("arena.epoch", "0")))),
            "max_epochs": int(float(p.get("train.epochs", "0"))),
            "start_time": r.info.start_time,
            "end_time": r.info.end_time,
            "error": t.get("error", ""),
            **{k: m.get(k) for k in SUMMARY_METRICS},
        })
    return rows


def run_history(home: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(h.step, h.value) for h in client(home).get_metric_history(run_id, key)]


EPOCH_KEYS = ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1",
              "epoch_seconds", "samples_per_second")


def history_frame(home: Path, run_id: str):
    """Per-epoch metrics of a run as a DataFrame indexed by epoch."""
    import pandas as pd

    c = client(home)
    columns = {}
    for key in EPOCH_KEYS:
        points = c.get_metric_history(run_id, key)
        if points:
            columns[key] = pd.Series({p.step: p.value for p in points})
    frame = pd.DataFrame(columns)
    frame.index.name = "epoch"
    return frame.sort_index()


def _artifact_json(home: Path, run_id: str, path: str):
    import json

    try:
        local = client(home).download_artifacts(run_id, path)
    except Exception:  # not logged (unfinished or failed run)
        return None
    with open(local, encoding="utf-8") as fh:
        return json.load(fh)


def run_detail(home: Path, run_id: str) -> dict:
    """Everything the report shows about one run, as plain data."""
    from core.config import RunConfig
    from core.metrics import dense_from_sparse

    c = client(home)
    try:
        run = c.get_run(run_id)
    except Exception:
        raise ValueError(f"no run {run_id!r} in {home}") from None
    confusion = _artifact_json(home, run_id, "report/confusion_matrix.json")
    if confusion is None:
        sparse = _artifact_json(home, run_id, "report/confusion_sparse.json")
        if sparse is not None:
            confusion = {"labels": sparse["labels"], "matrix": dense_from_sparse(sparse).tolist()}
    artifacts_root = run.info.artifact_uri
    return {
        "run_id": run_id,
        "name": run.info.run_name,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "tags": dict(run.data.tags),
        "params": dict(run.data.params),
        "config": RunConfig.from_params(run.data.params),
        "metrics": dict(run.data.metrics),
        "history": history_frame(home, run_id),
        "report": _artifact_json(home, run_id, "report/classification_report.json"),
        "confusion": confusion,
        "top_confusions": _artifact_json(home, run_id, "report/top_confusions.json") or [],
        "artifact_uri": artifacts_root,
    }
