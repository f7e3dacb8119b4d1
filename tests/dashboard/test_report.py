from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import runner

PAGE = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "report.py")


def test_report_without_runs_shows_guidance(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "No runs yet" in at.info[0].value


def test_report_of_a_finished_run(home, kaggle_dir, tiny_config):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    summary = runner.run(tiny_config, home, run_name="my first gru")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox[0].value and "my first gru" in at.selectbox[0].format_func(at.selectbox[0].value)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["test accuracy"] == f"{summary.test['accuracy']:.4f}"
    captions = " ".join(c.value for c in at.caption)
    assert "mean recall over the classes" in captions and "mean F1 over the classes" in captions  # each card's line
    assert len(at.get("plotly_chart")) == 4  # two curves, per-class bars, confusion matrix
    at.toggle[0].set_value(False).run()
    assert not at.exception


def test_report_of_a_failed_run_with_one_epoch(home, kaggle_dir, tiny_config, monkeypatch):
    import core.train as T

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    real, calls = T.evaluate, {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "evaluate", flaky)
    run_id = runner.create_run(tiny_config, home)
    try:
        runner.execute(run_id, home)
    except RuntimeError:
        pass
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "disk on fire" in at.error[0].value
    assert any("One epoch only" in c.value for c in at.caption)
