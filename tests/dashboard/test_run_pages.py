"""New run and Monitor: the form validates, a submitted run trains in the
background and shows on the monitor, and cancel stops it."""
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments.queries import list_runs

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
MONITOR = str(ROOT / "dashboard" / "views" / "monitor.py")


def _new_run_page(home):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/new_run.py").run()
    assert not at.exception
    return at


def _field(at, label):
    return next(w for w in at.text_input if w.label == label)


def test_form_refuses_an_impossible_config(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = _new_run_page(home)
    _field(at, "hidden size").set_value("-1")
    at.button[0].click().run()
    assert not at.exception
    assert "model.hidden_size=-1 must be a positive integer" in at.error[0].value
    assert list_runs(home) == []


def test_form_without_data_points_home(home):
    at = _new_run_page(home)
    at.button[0].click().run()
    assert "not prepared yet" in at.error[0].value


def test_submitted_run_trains_in_the_background_and_shows_on_the_monitor(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = _new_run_page(home)
    _field(at, "epochs").set_value("200")
    _field(at, "hidden size").set_value("8")
    at.button[0].click().run()
    assert not at.exception
    runs = list_runs(home)
    assert len(runs) == 1
    run_id = runs[0]["run_id"]
    deadline = time.time() + 90
    while time.time() < deadline and list_runs(home)[0]["epochs"] < 1:
        time.sleep(0.5)
    monitor = AppTest.from_file(MONITOR, default_timeout=60).run()
    assert not monitor.exception
    assert any(run_id[:8] in m.value for m in monitor.markdown)
    monitor.button[0].click().run()  # cancel
    deadline = time.time() + 60
    while time.time() < deadline and list_runs(home)[0]["status"] != "KILLED":
        time.sleep(0.5)
    assert list_runs(home)[0]["status"] == "KILLED"


def test_monitor_when_nothing_runs(home):
    at = AppTest.from_file(MONITOR, default_timeout=60).run()
    assert not at.exception
    assert "Nothing is running" in at.info[0].value
