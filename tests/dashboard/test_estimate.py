"""New run's time estimate: seconds per epoch of finished runs of the same
kind, scaled to the new run's sample, hidden size and epochs."""
import pandas as pd

from dashboard import services


def _runs(rows):
    base = {"status": "FINISHED", "workload": "heartbeat", "model.name": "gru", "model.bidirectional": "true",
            "sample": 1.0, "model.hidden_size": "128"}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_estimate_uses_runs_reading_the_same_samples_per_step(monkeypatch):
    table = _runs([{"model.frame": "", "last_epoch_seconds": 120.0},  # recorded before --frame: one sample a step
                   {"model.frame": "2", "last_epoch_seconds": 50.0},
                   {"model.frame": "2", "last_epoch_seconds": 70.0, "status": "FAILED"}])
    monkeypatch.setattr(services, "runs", lambda home: table)
    params = {"data.workload": "heartbeat", "model.name": "gru", "model.bidirectional": "true",
              "data.sample": "0.5", "model.hidden_size": "64", "train.epochs": "10"}
    assert services.estimate_seconds("h", {**params, "model.frame": "2"}) == 50.0 * 0.5 * 0.5 * 10
    assert services.estimate_seconds("h", {**params, "model.frame": "1"}) == 120.0 * 0.5 * 0.5 * 10
    assert services.estimate_seconds("h", {**params, "model.frame": "4"}) is None  # no history for it
