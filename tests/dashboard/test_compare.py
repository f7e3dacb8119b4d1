from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import runner

PAGE = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "compare.py")


def test_compare_without_runs_shows_guidance(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "Nothing to compare yet" in at.info[0].value


def test_compare_two_runs(home, kaggle_dir, tiny_config):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    a = runner.run(tiny_config, home, run_name="gru run")
    b = runner.run(tiny_config.replace(**{"model.name": "lstm-packed"}), home, run_name="lstm run")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["run id"]) == {a.run_id[:8], b.run_id[:8]}
    assert len(at.get("plotly_chart")) == 3  # two overlaid curves and per-class F1
    at.multiselect[0].set_value([a.run_id]).run()
    assert "Pick at least two runs" in at.info[0].value


def test_runs_with_the_same_name_stay_apart(home, kaggle_dir, tiny_config):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    runner.run(tiny_config, home, run_name="same")
    runner.run(tiny_config.replace(**{"train.seed": 1}), home, run_name="same")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
