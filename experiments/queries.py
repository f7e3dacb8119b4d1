"""The read side: runs, their metrics and histories, for the CLI and the
dashboard. Everything comes back as plain Python or pandas objects."""
from __future__ import annotations

from pathlib import Path

from core import workloads as W
from experiments.mlflow_tracker import client
from experiments.tags import (
    DESCRIBE_TAG, EPOCHS_RUN_TAG, EPOCH_TAG, ERROR_TAG, KIND_TAG, LEARNED_TAG, POINT_TAG, QUEUE_TAG, REASON_TAG,
    REFERENCE_TAG, STUDY_TAG
)

SUMMARY_METRICS = ("test/accuracy", "test/balanced_accuracy", "test/macro_f1")
# AAMI-style figures where the workload names event classes (heartbeats: SVEB = S, VEB = V): Se, +P, F1, and the
# core classes' macro-F1 (N, S, V, F); the registry decides, so a workload without events adds nothing
EVENT_METRICS = tuple(dict.fromkeys(
    [f"test/{k}_{c}" for w in W.all_workloads() for c, _ in w.event_classes for k in ("recall", "precision", "f1")]
    + ["test/macro_f1_core" for w in W.all_workloads() if w.core_classes]))
MAX_LIMIT = 50_000  # MLflow's most runs per search
# params copied into each listed run: what the ready-made comparisons group by
ROW_PARAMS = ("model.name", "model.bidirectional", "model.num_layers", "model.hidden_size", "model.frame",
              "train.sampler", "train.class_weighted_loss", "train.seed", "train.batch_size")


def list_runs(home: Path, workload: str | None = None, limit: int = 1000) -> list[dict]:
    """Recorded runs, newest first: id, name, status, workload, describe,
    a few params and the test metrics."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"runs --limit {limit} must be between 1 and {MAX_LIMIT}")
    from experiments.settings import store_exists

    if not store_exists(home):
        return []
    from experiments.launcher import reap_dead_runs

    reap_dead_runs(home)  # a run whose process died is shown as FAILED, not RUNNING forever
    c = client(home)
    exps = [e for e in c.search_experiments() if workload in (None, e.name)]
    if not exps:
        return []
    runs = _search_runs(home, c, [e.experiment_id for e in exps], limit)
    names = {e.experiment_id: e.name for e in exps}
    rows = []
    for r in runs:
        p, m, t = r.data.params, r.data.metrics, r.data.tags
        if t.get(KIND_TAG) == "study":
            continue  # a study's parent run holds no model: the Studies page shows it
        rows.append({
            "run_id": r.info.run_id,
            "name": r.info.run_name,
            "status": "QUEUED" if r.info.status == "RUNNING" and t.get(QUEUE_TAG) == "queued" else r.info.status,
            "workload": names.get(r.info.experiment_id, "?"),
            "model": t.get(DESCRIBE_TAG, p.get("model.name", "?")),
            "sample": float(p.get("data.sample", "nan")),
            "epochs": int(float(t.get(EPOCHS_RUN_TAG, t.get(EPOCH_TAG, "0")))),
            "max_epochs": int(float(p.get("train.epochs", "0"))),
            "start_time": r.info.start_time,
            "end_time": r.info.end_time,
            "error": t.get(ERROR_TAG, ""),
            "learned": {"true": True, "false": False}.get(t.get(LEARNED_TAG, "")),  # None: not finished, or older
            "learned_reason": t.get(REASON_TAG, ""),
            "reference": t.get(REFERENCE_TAG) == "true",  # a full-data reference run (results/reference)
            "study": t.get(STUDY_TAG, ""),
            "point": t.get(POINT_TAG, ""),
            **{k: m.get(k) for k in SUMMARY_METRICS},
            **{k: m.get(k) for k in EVENT_METRICS},
            **{k: p.get(k, "") for k in ROW_PARAMS},
            "last_epoch_seconds": m.get("epoch_seconds"),
        })
    return rows


def _search_runs(home: Path, c, experiment_ids: list[str], limit: int) -> list:
    """Active runs of these experiments, newest first, as search_runs gives
    them. On the local SQLite store they are read with one plain query per
    table: for hundreds of runs MLflow's ORM spends seconds building objects
    (2.1 s for 500 runs against 0.1 s). Any other store, or a schema this
    code does not know, goes through MLflow."""
    from experiments.settings import local_tracking_uri, tracking_uri

    if tracking_uri(home) == local_tracking_uri(home):
        runs = _sqlite_runs(home / "mlflow.db", experiment_ids, limit)
        if runs is not None:
            return runs
    return c.search_runs(experiment_ids, max_results=limit, order_by=["attributes.start_time DESC"])


def _sqlite_runs(db: Path, experiment_ids: list[str], limit: int) -> list | None:
    import sqlite3
    from types import SimpleNamespace

    from experiments.settings import sqlite_read_only

    marks = ",".join("?" * len(experiment_ids))
    chosen = (f"SELECT run_uuid FROM runs WHERE experiment_id IN ({marks}) AND lifecycle_stage = 'active' "
              "ORDER BY start_time DESC, run_uuid LIMIT ?")
    args = [*(int(e) for e in experiment_ids), int(limit)]
    try:
        with sqlite3.connect(sqlite_read_only(db), uri=True, timeout=10) as con:
            infos = con.execute("SELECT run_uuid, name, status, experiment_id, start_time, end_time FROM runs "
                                f"WHERE run_uuid IN ({chosen}) ORDER BY start_time DESC, run_uuid", args).fetchall()
            data = {r[0]: ({}, {}, {}) for r in infos}
            for table, slot, columns in (("params", 0, "value"), ("latest_metrics", 1, "value, is_nan"),
                                         ("tags", 2, "value")):
                for run_id, key, *value in con.execute(
                        f"SELECT run_uuid, key, {columns} FROM {table} WHERE run_uuid IN ({chosen})", args):
                    data[run_id][slot][key] = (float("nan") if value[1] else float(value[0])) if slot == 1 else value[0]
    except (sqlite3.Error, ValueError, TypeError):
        return None
    return [SimpleNamespace(info=SimpleNamespace(run_id=run_id, run_name=name, status=status,
                                                 experiment_id=str(exp), start_time=start, end_time=end),
                            data=SimpleNamespace(params=data[run_id][0], metrics=data[run_id][1], tags=data[run_id][2]))
            for run_id, name, status, exp, start, end in infos]


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


def run_explanation(home: Path, run_id: str) -> dict | None:
    """A finished run's explanation (explain/explain.json), or None when it has none."""
    try:
        root = client(home).get_run(run_id).info.artifact_uri
    except Exception:  # a run that is gone: nothing to show
        return None
    return _artifact_json(home, run_id, "explain/explain.json", root)


def _artifact_json(home: Path, run_id: str, path: str, root: str | None = None):
    """A JSON artifact of a run, or None when it was not logged. With the
    run's artifact URI on the local disk (`root`, file:...) the file is read
    in place, without MLflow's copy to a temporary folder (20 ms a file)."""
    import json

    if root and root.startswith("file:"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        local = Path(url2pathname(urlparse(root).path)) / path
        if not local.is_file():
            return None
        with open(local, encoding="utf-8") as fh:
            return json.load(fh)
    try:
        local = client(home).download_artifacts(run_id, path)
    except Exception:  # not logged (unfinished or failed run)
        return None
    with open(local, encoding="utf-8") as fh:
        return json.load(fh)


def learned_verdict(tags: dict, confusion: dict | None, status: str) -> tuple[bool | None, str]:
    """Has a finished run learned? Its tags say (core.diagnosis, set when it
    finished); a run recorded before them is judged from its confusion matrix."""
    from core import diagnosis

    recorded = {"true": True, "false": False}.get(tags.get(LEARNED_TAG, ""))
    if recorded is not None:
        return recorded, tags.get(REASON_TAG, "")
    if status != "FINISHED" or not confusion:
        return None, ""
    try:
        verdict = diagnosis.check(confusion["matrix"], confusion["labels"])
    except ValueError:
        return None, ""
    return verdict.learned, verdict.line


def run_detail(home: Path, run_id: str) -> dict:
    """Everything the report shows about one run, as plain data."""
    from core.config import RunConfig
    from core.metrics import dense_from_sparse

    c = client(home)
    try:
        run = c.get_run(run_id)
    except Exception:
        raise ValueError(f"no run {run_id!r} in {home}") from None
    artifacts_root = run.info.artifact_uri
    confusion = _artifact_json(home, run_id, "report/confusion_matrix.json", artifacts_root)
    if confusion is None:
        sparse = _artifact_json(home, run_id, "report/confusion_sparse.json", artifacts_root)
        if sparse is not None:
            confusion = {"labels": sparse["labels"], "matrix": dense_from_sparse(sparse).tolist()}
    learned, reason = learned_verdict(run.data.tags, confusion, run.info.status)
    return {
        "run_id": run_id,
        "name": run.info.run_name,
        "learned": learned,  # None: not finished, or no confusion matrix to judge from
        "learned_reason": reason,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "tags": dict(run.data.tags),
        "params": dict(run.data.params),
        "config": RunConfig.from_params(run.data.params),
        "metrics": dict(run.data.metrics),
        "history": history_frame(home, run_id),
        "report": _artifact_json(home, run_id, "report/classification_report.json", artifacts_root),
        "confusion": confusion,
        "top_confusions": _artifact_json(home, run_id, "report/top_confusions.json", artifacts_root) or [],
        "per_record": _artifact_json(home, run_id, "report/per_record.json", artifacts_root),
        "split": _artifact_json(home, run_id, "report/split.json", artifacts_root),
        "explain": _artifact_json(home, run_id, "explain/explain.json", artifacts_root),
        "artifact_uri": artifacts_root,
    }
