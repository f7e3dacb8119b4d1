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
            "status": r.info.status,
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
