import json

import numpy as np
import pytest
import torch

from core.data import heartbeat as hb
from experiments import runner
from experiments.mlflow_tracker import client
from experiments.queries import list_runs, run_history
from experiments.tags import PROC_TAG, PROGRESS_TAG


@pytest.fixture
def prepared(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


def test_run_end_to_end_into_mlflow(prepared, tiny_config):
    summary = runner.run(tiny_config, prepared)
    run = client(prepared).get_run(summary.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["workload"] == "heartbeat"
    from core.config import RunConfig

    assert RunConfig.from_params(run.data.params) == tiny_config
    assert [s for s, _ in run_history(prepared, summary.run_id, "val/macro_f1")] == [1, 2]
    for key in ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "epoch_seconds", "samples_per_second"):
        assert len(run_history(prepared, summary.run_id, key)) == 2
    assert run.data.metrics["test/accuracy"] == pytest.approx(summary.test["accuracy"])
    c = client(prepared)
    names = {a.path for a in c.list_artifacts(summary.run_id)} | {a.path for a in c.list_artifacts(summary.run_id, "report")}
    assert {"config.json", "report/classification_report.json", "report/confusion_matrix.json"} <= names
    cm = json.load(open(c.download_artifacts(summary.run_id, "report/confusion_matrix.json")))
    assert np.array(cm["matrix"]).sum() == 100 and cm["labels"] == list(hb.CLASS_NAMES)
    preds = open(c.download_artifacts(summary.run_id, "predictions/test_predictions.csv")).read().splitlines()
    assert len(preds) == 101 and preds[0].startswith("index,y_true,y_pred")
    assert not runner.checkpoint_path(prepared, summary.run_id).exists()
    rows = list_runs(prepared)
    assert rows[0]["run_id"] == summary.run_id and rows[0]["status"] == "FINISHED"


def test_weights_reload_without_pickle(prepared, tiny_config):
    summary = runner.run(tiny_config, prepared)
    cfg, model = runner.load_model(prepared, summary.run_id)
    assert cfg == tiny_config
    beats = hb.load_beats(prepared)
    test = beats.subset(beats.split == 1)
    with torch.no_grad():
        pred = model(torch.tensor(test.x), torch.tensor(test.length)).argmax(1).numpy()
    assert (pred == test.y).mean() == pytest.approx(summary.test["accuracy"])


def test_failed_run_is_marked_and_keeps_what_it_logged(prepared, tiny_config, monkeypatch):
    import core.train as T

    real = T.evaluate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second validation pass fails
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "evaluate", flaky)
    run_id = runner.create_run(tiny_config, prepared)
    with pytest.raises(RuntimeError):
        runner.execute(run_id, prepared)
    run = client(prepared).get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "disk on fire" and run.data.tags["error_type"] == "RuntimeError"
    assert len(run_history(prepared, run_id, "val/loss")) == 1, "epoch 1 stays logged"
    assert runner.checkpoint_path(prepared, run_id).exists(), "the checkpoint stays for a resume"


def test_interrupted_run_is_killed_then_resumes(prepared, tiny_config):
    cfg = tiny_config.replace(**{"train.epochs": 3})
    run_id = runner.create_run(cfg, prepared)

    def stop(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.execute(run_id, prepared, on_epoch=stop)
    assert client(prepared).get_run(run_id).info.status == "KILLED"
    summary = runner.execute(run_id, prepared)
    assert summary.status == "FINISHED" and summary.epochs_run == 3
    assert [s for s, _ in run_history(prepared, run_id, "val/loss")] == [1, 2, 3]
    assert client(prepared).get_run(run_id).info.status == "FINISHED"


def test_run_without_data_fails_clearly(home, tiny_config):
    run_id = runner.create_run(tiny_config, home)
    with pytest.raises(ValueError, match="not prepared"):
        runner.execute(run_id, home)
    run = client(home).get_run(run_id)
    assert run.info.status == "FAILED" and "prepare heartbeat" in run.data.tags["error"]


def test_unknown_run_id(home):
    with pytest.raises(ValueError, match="no run 'nope'"):
        runner.load_config(home, "nope")


def test_a_run_whose_process_died_is_shown_failed(prepared, tiny_config):
    import subprocess
    import sys

    from experiments.launcher import process_identity

    run_id = runner.create_run(tiny_config, prepared)
    c = client(prepared)
    c.update_run(run_id, status="RUNNING")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = process_identity().split(":")[0]
    c.set_tag(run_id, PROC_TAG, f"{host}:{proc.pid}:0")  # a process that has exited
    alive_id = runner.create_run(tiny_config, prepared)
    c.update_run(alive_id, status="RUNNING")
    c.set_tag(alive_id, PROC_TAG, process_identity())  # this test process: alive
    rows = {r["run_id"]: r for r in list_runs(prepared)}
    assert rows[run_id]["status"] == "FAILED" and "ended unexpectedly" in rows[run_id]["error"]
    assert rows[alive_id]["status"] == "RUNNING"


def test_resume_refuses_finished_runs(prepared, tiny_config, capsys):
    from experiments.__main__ import main

    summary = runner.run(tiny_config, prepared)
    assert main(["--home", str(prepared), "run", "--resume", summary.run_id]) == 2
    assert "already FINISHED" in capsys.readouterr().err


def test_run_detail_for_the_report(prepared, tiny_config):
    from experiments.queries import run_detail

    summary = runner.run(tiny_config, prepared)
    d = run_detail(prepared, summary.run_id)
    assert d["status"] == "FINISHED" and d["config"] == tiny_config
    assert list(d["history"].index) == [1, 2] and "val/macro_f1" in d["history"]
    assert np.array(d["confusion"]["matrix"]).sum() == 100
    assert d["report"]["macro avg"]["support"] == 100
    with pytest.raises(ValueError, match="no run"):
        run_detail(prepared, "missing")


def test_a_run_reports_its_phase_and_batches_for_the_monitor(prepared, tiny_config, monkeypatch):
    """The progress tag moves from loading to training (batch by batch) to
    testing, read back while the run trains."""
    seen = []
    real = runner.MlflowTracker.set_tags

    def spy(self, tags):
        if PROGRESS_TAG in tags:
            seen.append(json.loads(tags[PROGRESS_TAG]))
        return real(self, tags)

    monkeypatch.setattr(runner.MlflowTracker, "set_tags", spy)
    monkeypatch.setattr(runner.Progress.__init__, "__defaults__", (0.0,))  # a tag every batch: this run is tiny
    summary = runner.run(tiny_config, prepared)
    phases = [p["phase"] for p in seen]
    assert phases[0] == "loading data" and phases[-1] == "testing"
    batches = [p for p in seen if p["phase"] == "training" and p["batches"]]
    assert batches and all(1 <= p["batch"] <= p["batches"] for p in batches)
    assert batches[-1]["batch"] == batches[-1]["batches"]
    tags = client(prepared).get_run(summary.run_id).data.tags
    assert json.loads(tags[PROGRESS_TAG])["phase"] == "testing"
