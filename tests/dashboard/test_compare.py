from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data import heartbeat as hb
from dashboard import services
from experiments import runner

PAGE = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "compare.py")


@pytest.fixture(scope="module")
def arena(tmp_path_factory, kaggle_dir):
    """One store for the module: five one-epoch heartbeat runs, two of them
    with the same name, three treatments of the same GRU."""
    home = tmp_path_factory.mktemp("arena")
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    cfg = RunConfig(data=DataConfig(sample=1.0, val_fraction=0.2), model=ModelConfig(name="gru", hidden_size=8),
                    train=TrainConfig(epochs=1, batch_size=64, device="cpu"))
    ids = {}
    ids["gru"] = runner.run(cfg, home, run_name="same").run_id
    ids["gru seed 1"] = runner.run(cfg.replace(**{"train.seed": 1}), home, run_name="same").run_id
    ids["rnn-packed"] = runner.run(cfg.replace(**{"model.name": "rnn-packed"}), home, run_name="rnn").run_id
    ids["weighted"] = runner.run(cfg.replace(**{"train.sampler": "weighted"}), home, run_name="weighted").run_id
    ids["class-weighted"] = runner.run(cfg.replace(**{"train.class_weighted_loss": True}), home,
                                       run_name="class-weighted").run_id
    return home, ids


@pytest.fixture
def page(arena, monkeypatch):
    monkeypatch.setenv("RNN_ARENA_HOME", str(arena[0]))
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _titles(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def test_compare_without_runs_shows_guidance(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "Nothing to compare yet" in at.info[0].value


def test_compare_runs(page, arena):
    at, (_, ids) = page, arena
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["run id"]) == {i[:8] for i in ids.values()}  # all five: the names repeat, the ids do not
    assert table["s/epoch"].notna().all() and (table["s/epoch"] > 0).all()
    assert set(table["sampler"]) == {"none", "weighted", "class-weighted loss"}
    specs = _titles(at)
    # two overlaid curves, per-class F1, seconds per epoch, confusion difference
    assert len(specs) == 5
    assert any("Seconds per epoch" in s for s in specs)
    assert any("Confusion matrix difference" in s and '"zmid":0' in s for s in specs)
    assert len(at.caption) >= 5
    assert at.get("download_button")[0].proto.label == "Download this comparison as HTML"
    at.multiselect[0].set_value([ids["gru"]]).run()
    assert "Pick at least two runs" in at.info[0].value


def test_confusion_difference_needs_two_different_runs(page):
    at = page
    pick_b = next(s for s in at.selectbox if s.label == "Run B")
    pick_a = next(s for s in at.selectbox if s.label == "Run A (compared against)")
    pick_b.set_value(pick_a.value).run()
    assert not at.exception
    assert any("two different runs" in i.value for i in at.info)
    assert not any("Confusion matrix difference" in s for s in _titles(at))


def test_ready_made_groupings_select_the_runs(page, arena):
    at, (_, ids) = page, arena
    variants, sampler = at.button[1], at.button[2]
    assert variants.label.startswith("RNN vs packed") and sampler.label.startswith("The effect of the sampler")
    assert next(s for s in at.selectbox if s.label == "Model for the sampler study").value == "gru 1x8"

    sampler.click().run()
    assert not at.exception
    chosen = at.multiselect[0].value
    # the sampler question ranks by balanced accuracy, on this page as on One-click and Studies
    listed = services.runs(str(arena[0]))
    gru = listed[listed["run_id"].isin([ids["gru"], ids["gru seed 1"]])]
    best_gru = gru.sort_values(["test/balanced_accuracy", "start_time"], ascending=False).iloc[0]["run_id"]
    assert chosen == [best_gru, ids["weighted"], ids["class-weighted"]]
    assert any(c.value.startswith("Picked: gru 1x8") for c in at.caption)

    at.radio[1].set_value("latest").run()
    at.button[1].click().run()
    assert at.multiselect[0].value == [ids["rnn-packed"], ids["gru seed 1"]]  # variant order: rnn before gru
    assert len(at.dataframe[0].value) == 2


def test_presenter_mode(page):
    at = page
    at.button[0].click().run()
    assert not at.exception
    assert at.query_params["present"] == ["1"] or at.query_params["present"] == "1"
    assert any("stSidebar" in m.value and "display: none" in m.value for m in at.markdown)
    assert len(at.table) == 1 and len(at.dataframe) == 0  # the headline as a plain, big-type table
    assert len(at.get("plotly_chart")) == 5
    assert at.expander[0].label == "Selection"  # the controls, out of the way
    assert at.button[0].label == "Exit presenter mode"
    at.button[0].click().run()
    assert "present" not in at.query_params
    assert len(at.dataframe) == 1


def _frame(rows):
    base = {"status": "FINISHED", "workload": "heartbeat", "model.bidirectional": "false", "model.num_layers": "1",
            "model.hidden_size": "64", "train.sampler": "none", "train.class_weighted_loss": "false",
            "sample": 0.1, "test/balanced_accuracy": None}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_groupings_pick_best_or_latest_per_variant():
    frame = _frame([
        {"run_id": "a", "model.name": "gru", "test/macro_f1": 0.5, "start_time": 1},
        {"run_id": "b", "model.name": "gru", "test/macro_f1": 0.7, "start_time": 2},
        {"run_id": "c", "model.name": "gru", "test/macro_f1": 0.6, "start_time": 3},
        {"run_id": "d", "model.name": "lstm", "model.bidirectional": "true", "test/macro_f1": 0.8, "start_time": 4},
        {"run_id": "e", "model.name": "rnn-trimmed", "test/macro_f1": 0.2, "start_time": 5},
        {"run_id": "f", "model.name": "gru", "train.sampler": "weighted", "test/macro_f1": 0.9, "start_time": 6},
        {"run_id": "g", "model.name": "gru", "train.class_weighted_loss": "true", "test/macro_f1": 0.4,
         "start_time": 7},
        {"run_id": "h", "model.name": "gru", "sample": 1.0, "test/macro_f1": 0.99, "start_time": 8},
        {"run_id": "i", "model.name": "mlp", "test/macro_f1": 0.3, "start_time": 9},
        {"run_id": "j", "model.name": "lstm", "status": "FAILED", "test/macro_f1": None, "start_time": 10},
    ])
    assert services.study_fractions(frame, "heartbeat") == [0.1, 1.0]  # 0.1 covers the most variants
    assert services.variant_study(frame, "heartbeat", 0.1, "best") == ["e", "b", "d"]
    assert services.variant_study(frame, "heartbeat", 0.1, "latest") == ["e", "c", "d"]
    assert services.sampler_models(frame, "heartbeat", 0.1) == ["gru 1x64"]
    # the sampler question ranks by balanced accuracy: the same pick as One-click and Studies
    frame.loc[frame["run_id"] == "c", "test/balanced_accuracy"] = 0.95
    assert services.sampler_study(frame, "heartbeat", 0.1, "gru 1x64", "best") == ["c", "f", "g"]
    assert services.sampler_study(frame, "heartbeat", 1.0, "gru 1x64") == ["h"]
    assert services.variant_study(frame, "titles", 0.1) == []


def test_listing_and_details_read_fast_match_mlflow(arena, monkeypatch):
    """The plain-SQLite listing and the in-place artifact reads give exactly
    what MLflow's own API gives."""
    import math

    import experiments.queries as q

    home, ids = arena
    clean = lambda rows: [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}  # noqa: E731
                          for r in rows]
    fast = q.list_runs(home)
    assert q._sqlite_runs(home / "mlflow.db", ["0"], 10) is not None  # the fast path is the one taken
    fast_details = [q.run_detail(home, i) for i in ids.values()]
    monkeypatch.setattr(q, "_sqlite_runs", lambda *args: None)
    real = q._artifact_json
    monkeypatch.setattr(q, "_artifact_json", lambda home, run_id, path, root=None: real(home, run_id, path))
    assert clean(fast) == clean(q.list_runs(home)) and len(fast) == 5
    assert clean(q.list_runs(home, limit=2)) == clean(fast[:2])
    for a, b in zip(fast_details, (q.run_detail(home, i) for i in ids.values())):
        assert a["report"] == b["report"] and a["confusion"] == b["confusion"] and a["report"] is not None
        assert a["top_confusions"] == b["top_confusions"]


def test_the_comparison_states_its_finding_with_seeds_of_one_config(page, arena):
    from experiments import study_report

    at, (home, ids) = page, arena
    rep = study_report.compare(home, list(at.multiselect[0].value), "macro_f1")
    shown = [m.value for m in (*at.success, *at.info)]
    assert rep["finding"] in shown
    by_config = {r["config"]: r for r in rep["rows"]}
    assert len(by_config) == 4  # five runs: the GRU's two seeds are one config
    two = [r for r in rep["rows"] if r["seeds"] == 2]
    assert len(two) == 1 and sorted(two[0]["per_seed"]) == sorted(
        services.runs(str(home)).set_index("run_id").loc[[ids["gru"], ids["gru seed 1"]], "test/macro_f1"])
    for r in rep["rows"]:  # every interval inside [0, 1]; below 3 seeds, the test-set bootstrap's
        assert 0 <= r["ci_low"] <= r["ci_high"] <= 1 and r["ci_method"] == "test-set bootstrap"
    if any(r["learned"] for r in rep["rows"]):
        assert rep["rows"][0]["config"] in rep["finding"] and rep["rows"][1]["config"] in rep["finding"]
    else:  # one epoch on the fixture's 300 beats: nothing learns, and the finding says so
        assert rep["finding"].startswith(f"No config learned on every seed (best: {rep['rows'][0]['config']}")
        assert len(at.warning) == 1 and at.warning[0].value.count("⚠ not learned") == 5
    assert "learned" in at.dataframe[0].value.columns


def test_the_default_pair_is_two_configs_and_a_grouping_never_sets_a_equal_b(page):
    at = page
    a = next(s for s in at.selectbox if s.label == "Run A (compared against)").value
    b = next(s for s in at.selectbox if s.label == "Run B").value
    assert a != b and not (a.startswith("same ·") and b.startswith("same ·"))  # not two seeds of one GRU
    for button in (2, 1):  # the sampler grouping, then the variants
        at.button[button].click().run()
        assert not at.exception
        a = next(s for s in at.selectbox if s.label == "Run A (compared against)").value
        b = next(s for s in at.selectbox if s.label == "Run B").value
        assert a != b
        assert any("Confusion matrix difference" in s for s in _titles(at))
