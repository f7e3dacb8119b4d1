"""Background runs: detached worker processes, a queue of slots, cancel."""
import time

import pytest

from core.data import heartbeat as hb
from experiments import launcher
from experiments.mlflow_tracker import client
from experiments.queries import list_runs


def _wait(home, run_id, statuses, timeout=300):  # generous: detached workers start slowly on a busy machine
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = {r["run_id"]: r["status"] for r in list_runs(home)}[run_id]
        if status in statuses:
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {status} after {timeout} s")


@pytest.fixture
def prepared(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


def test_launched_runs_queue_then_finish(prepared, tiny_config):
    first = launcher.launch(tiny_config.replace(**{"train.epochs": 3}), prepared, "first")
    second = launcher.launch(tiny_config, prepared, "second")
    assert _wait(prepared, first, {"RUNNING", "FINISHED"}) in ("RUNNING", "FINISHED")
    assert _wait(prepared, first, {"FINISHED"}) == "FINISHED"
    assert _wait(prepared, second, {"FINISHED"}) == "FINISHED"
    a, b = (client(prepared).get_run(r).info for r in (first, second))
    assert b.end_time >= a.end_time, "one slot: the second run waited for the first"
    assert (prepared / "logs" / f"{first}.log").read_text().count("FINISHED") == 1


def test_cancel_a_queued_and_a_running_run(prepared, tiny_config):
    long = launcher.launch(tiny_config.replace(**{"train.epochs": 200}), prepared, "long")
    queued = launcher.launch(tiny_config, prepared, "queued")
    _wait(prepared, long, {"RUNNING"})
    assert {r["run_id"]: r["status"] for r in list_runs(prepared)}[queued] == "QUEUED"
    assert launcher.cancel(prepared, queued) == "stopping"
    assert _wait(prepared, queued, {"KILLED"}) == "KILLED"
    assert launcher.cancel(prepared, long) == "stopping"
    assert _wait(prepared, long, {"KILLED"}) == "KILLED"
    assert launcher.cancel(prepared, long) == "KILLED"  # already stopped: nothing to do
