"""New run's time estimate: seconds per epoch of finished runs of the same
model (workload, cell, direction, layers, size, frame) at the same sample
fraction, times the new run's epochs; nothing from another model."""
import pandas as pd

from dashboard import services


def _runs(rows):
    base = {"status": "FINISHED", "workload": "heartbeat", "model.name": "gru", "model.bidirectional": "true",
            "model.num_layers": "1", "sample": 0.5, "model.hidden_size": "64"}
    return pd.DataFrame([{**base, **row} for row in rows])


PARAMS = {"data.workload": "heartbeat", "model.name": "gru", "model.bidirectional": "true", "model.num_layers": "1",
          "data.sample": "0.5", "model.hidden_size": "64", "train.epochs": "10"}


def test_estimate_uses_runs_reading_the_same_samples_per_step(monkeypatch):
    table = _runs([{"model.frame": "", "last_epoch_seconds": 120.0},  # recorded before --frame: one sample a step
                   {"model.frame": "2", "last_epoch_seconds": 50.0},
                   {"model.frame": "2", "last_epoch_seconds": 70.0, "status": "FAILED"}])
    monkeypatch.setattr(services, "runs", lambda home: table)
    assert services.estimate_seconds("h", {**PARAMS, "model.frame": "2"}) == 50.0 * 10
    assert services.estimate_seconds("h", {**PARAMS, "model.frame": "1"}) == 120.0 * 10
    assert services.estimate_seconds("h", {**PARAMS, "model.frame": "4"}) is None  # no history for it


def test_estimate_never_borrows_another_models_time(monkeypatch):
    table = _runs([{"model.frame": "1", "last_epoch_seconds": 30.0},
                   {"model.frame": "1", "model.name": "lstm", "last_epoch_seconds": 5.0},
                   {"model.frame": "1", "model.num_layers": "2", "last_epoch_seconds": 60.0},
                   {"model.frame": "1", "model.hidden_size": "128", "last_epoch_seconds": 90.0},
                   {"model.frame": "1", "sample": 1.0, "last_epoch_seconds": 61.0}])
    monkeypatch.setattr(services, "runs", lambda home: table)
    params = {**PARAMS, "model.frame": "1"}
    assert services.estimate_seconds("h", params) == 300.0  # the one run of the same model and sample
    for change in ({"model.name": "rnn"}, {"model.num_layers": "3"}, {"model.hidden_size": "32"},
                   {"data.sample": "0.2"}):
        assert services.estimate_seconds("h", {**params, **change}) is None, change


def test_live_progress_counts_batches_and_says_testing():
    import json

    hist = pd.DataFrame({"epoch_seconds": [40.0]}, index=[1])
    tag = json.dumps({"phase": "training", "batch": 30, "batches": 120, "epoch_started": 100.0, "at": 110.0})
    fraction, line = services.live_progress(hist, 3, tag)
    assert fraction == (1 + 0.25) / 3
    assert line.startswith("epoch 2 of 3, batch 30 of 120") and "about 70 s left" in line  # 40 s x 1.75 epochs
    # the first epoch: the time left from this run's own batches so far (10 s for 30 of 120 batches)
    fraction, line = services.live_progress(hist.iloc[0:0], 3, tag)
    assert fraction == 0.25 / 3 and "about 1.8 min left" in line  # 40 s an epoch x 2.75 = 110 s
    fraction, line = services.live_progress(hist, 3, json.dumps({"phase": "testing"}))
    assert fraction == 1.0 and line.startswith("testing") and "min left" not in line
    fraction, line = services.live_progress(hist.iloc[0:0], 3, json.dumps({"phase": "loading data"}))
    assert fraction == 0.0 and "loading" in line
    assert services.live_progress(hist.iloc[0:0], 3, None) == (0.0, "starting: loading the data and building the model…")
    fraction, line = services.live_progress(hist, 3, None)  # an older run: epochs only
    assert fraction == 1 / 3 and line.startswith("epoch 2 of 3") and "about 80 s left" in line


def test_estimates_never_learn_from_imported_reference_runs(monkeypatch):
    """A reference run's epochs were timed where its record was made (full
    data, one core, beside other jobs): not a measure of this machine."""
    from core.config import RunConfig
    from dashboard import comparison_services as cs

    table = _runs([{"model.frame": "1", "last_epoch_seconds": 500.0, "reference": True},
                   {"model.frame": "1", "last_epoch_seconds": 30.0, "reference": False}])
    monkeypatch.setattr(services, "runs", lambda home: table)
    assert services.estimate_seconds("h", {**PARAMS, "model.frame": "1"}) == 300.0  # the run trained here only
    monkeypatch.setattr(services, "runs", lambda home: table[table["reference"]])
    assert services.estimate_seconds("h", {**PARAMS, "model.frame": "1"}) is None
    cfg = RunConfig().replace(**{"model.name": "gru", "model.bidirectional": True, "data.sample": 0.5})
    assert cs._speeds(table[table["reference"]], cfg) is None
    speed = cs._speeds(table, cfg)
    assert speed is not None and speed.runs == 1
