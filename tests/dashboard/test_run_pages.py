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
    return next(w for w in at.number_input if w.label == label)


def _start(at):
    next(b for b in at.button if b.label == "Start run").click().run()


def test_form_refuses_an_impossible_config(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = _new_run_page(home)
    _field(at, "epochs").set_value(2).run()
    _field(at, "warm-up epochs").set_value(5.0).run()  # each in bounds, together impossible
    _start(at)
    assert not at.exception
    assert "train.warmup_epochs=5.0 must be between 0 and train.epochs (2)" in at.error[0].value
    assert list_runs(home) == []


def test_form_shows_only_the_workloads_options_basics_first_with_help(home):
    from core import options as O

    at = _new_run_page(home)
    labels = [w.label for kind in ("number_input", "selectbox", "checkbox", "text_input") for w in at.get(kind)]
    assert "standardise the input" in labels and "start from word vectors" not in labels
    assert {o.label for o in O.for_workload("heartbeat")} <= set(labels)
    widgets = [w for kind in ("number_input", "selectbox", "checkbox") for w in at.get(kind)]
    by_label = {w.label: w for w in widgets}
    assert by_label["memory size"].help == O.OPTIONS["model.hidden_size"].idea  # the idea, not the flag
    assert not any("--" in (w.help or "") for w in widgets)
    assert by_label["memory size"].min == 1 and by_label["memory size"].max == 4096
    models = by_label["model"].options  # in words, the registry name beside them
    assert "GRU, packed (gru-packed)" in models and not any("tfidf" in m for m in models)  # recurrent only
    assert all(w.help for w in widgets if w.label in {o.label for o in O.OPTIONS.values()})
    assert at.expander[0].label == "Advanced options"
    basics = {o.label for o in O.for_workload("heartbeat") if o.basic}
    assert not basics & {w.label for w in at.expander[0].get("number_input")}

    at.radio[0].set_value("titles").run()
    assert not at.exception
    labels = [w.label for kind in ("number_input", "selectbox", "checkbox") for w in at.get(kind)]
    assert "start from word vectors" in labels and "standardise the input" not in labels
    assert "samples per step" not in labels
    assert "TF-IDF + linear SVM (tfidf)" in next(w for w in at.selectbox if w.label == "model").options


def test_form_without_data_points_home(home):
    at = _new_run_page(home)
    _start(at)
    assert "not prepared yet" in at.error[0].value


def test_submitted_run_trains_in_the_background_and_shows_on_the_monitor(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = _new_run_page(home)
    _field(at, "epochs").set_value(200).run()
    _field(at, "memory size").set_value(8).run()
    _start(at)
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
