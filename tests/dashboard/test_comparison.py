"""One-click comparison: arms of each question, the estimate and the plan
that fits a budget, and the page's flow from the question to the ranking."""
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from dashboard import comparison_services as cs
from experiments import sweep

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "dashboard" / "views" / "comparison.py")


def _history(rows):
    base = {"status": "FINISHED", "workload": "heartbeat", "model.bidirectional": "false", "model.frame": "4",
            "train.batch_size": "32", "model.hidden_size": "64", "sample": 0.3, "epochs": 8,
            "start_time": 0, "end_time": 0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_questions_and_their_arms():
    assert list(cs.questions("heartbeat")) == ["variants", "samplers", "rhythm", "own"]
    assert list(cs.questions("titles")) == ["variants", "own"]  # the sampler arms are beat options
    variants = cs.arms(cs.base_study("variants", "heartbeat"))
    assert len(variants) == 10 and variants[0]["label"] == "rnn · bidirectional=false"
    assert "vanishes" in variants[0]["note"]  # the padded simple RNN's failure is the lesson
    samplers = [a["label"] for a in cs.arms(cs.base_study("samplers", "heartbeat"))]
    assert samplers == ["imbalance=none", "imbalance=weighted sampler", "imbalance=class-weighted loss",
                        "imbalance=augmentation"]
    own = cs.base_study("own", "heartbeat", {"model.name": ["gru", "lstm"], "model.bidirectional": ["false", "true"]})
    assert [a["label"] for a in cs.arms(own)] == ["gru · bidirectional=false", "gru · bidirectional=true",
                                                 "lstm · bidirectional=false", "lstm · bidirectional=true"]
    with pytest.raises(ValueError, match="pick at least one option"):
        cs.base_study("own", "heartbeat", {})
    with pytest.raises(ValueError, match="not asked of the titles workload"):
        cs.base_study("samplers", "titles")


def test_ticked_arms_become_one_factor_with_the_same_labels_and_notes():
    from experiments import studies as S

    study = cs.base_study("variants", "heartbeat")
    sub = cs.comparison_study(study, ["rnn · bidirectional=false", "gru · bidirectional=true"], "lesson 'one'")
    assert sub.name == "lesson one"  # no quotes: the name goes into MLflow filters
    assert [p.label for p in S.points(sub)] == ["rnn · bidirectional=false", "gru · bidirectional=true"]
    assert list(sub.notes) == ["rnn · bidirectional=false"] and sub.recipe == "classroom"
    trials = S.trials(sub, "heartbeat", {}, 2)
    assert len(trials) == 4 and trials[0].config.data.normalize == "zscore"  # the classroom recipe underneath
    everything = cs.comparison_study(study, [a["label"] for a in cs.arms(study)])
    assert everything.factors == study.factors  # all ticked: the study's own factors (their effects)
    with pytest.raises(ValueError, match="at least two arms"):
        cs.comparison_study(study, ["gru · bidirectional=true"])
    with pytest.raises(ValueError, match="unknown arm"):
        cs.comparison_study(study, ["gru", "lstm"])


def test_parse_values_types_or_says_what_to_type():
    assert cs.parse_values("model.hidden_size", "32, 64,64", "int") == [32, 64]
    assert cs.parse_values("train.lr", "1e-3, 0.003", "float") == [0.001, 0.003]
    with pytest.raises(ValueError, match="'big' is not an int"):
        cs.parse_values("model.hidden_size", "32, big", "int")
    with pytest.raises(ValueError, match="at least one value"):
        cs.parse_values("model.hidden_size", " , ", "int")


def test_makespan_hands_runs_to_the_first_free_worker():
    assert cs.makespan([10, 10, 10, 10], 2) == 20
    assert cs.makespan([30, 10, 10], 2) == 30
    assert cs.makespan([], 2) == 0


def test_estimate_uses_earlier_runs_of_the_same_model_and_batch():
    study = cs.comparison_study(cs.base_study("samplers", "heartbeat"),
                                ["imbalance=none", "imbalance=weighted sampler"])
    # gru at the recipe: 5 s an epoch on a 30% sample, 20 s outside the epochs; another batch size is ignored
    frame = _history([{"model.name": "gru", "last_epoch_seconds": 5.0, "end_time": 60_000},
                      {"model.name": "gru", "last_epoch_seconds": 50.0, "train.batch_size": "128",
                       "end_time": 420_000},
                      {"model.name": "lstm", "last_epoch_seconds": 1.0, "end_time": 10_000}])
    p = cs.plan(frame, study, "heartbeat", 2, 10, workers=2)
    assert p.fits and p.changes == [] and p.overrides == {}
    assert [a["seconds"] for a in p.arms] == [60.0, 60.0]  # 20 + 8 epochs x 5 s
    assert "1 earlier run of this model" in p.arms[0]["source"]
    assert p.seconds == cs.COORDINATOR_SECONDS + 120  # 4 runs, 2 at a time


def test_plan_cuts_epochs_then_sample_to_fit_or_says_it_cannot():
    study = cs.comparison_study(cs.base_study("samplers", "heartbeat"),
                                ["imbalance=none", "imbalance=weighted sampler"])
    frame = _history([{"model.name": "gru", "last_epoch_seconds": 30.0, "end_time": 250_000}])  # 240 s a run
    p = cs.plan(frame, study, "heartbeat", 1, 3, workers=2)  # the recipe takes 250 s + 10: over 3 min
    assert p.fits and p.overrides == {"train.epochs": 5}
    assert p.changes == ["5 epochs instead of the recipe's 8"] and p.seconds <= 180
    tight = cs.plan(frame, study, "heartbeat", 1, 1, workers=2)
    assert tight.fits and tight.overrides["train.epochs"] == cs.MIN_EPOCHS and tight.overrides["data.sample"] < 0.3
    assert any("sample instead of 30%" in c for c in tight.changes)
    slow = _history([{"model.name": "gru", "last_epoch_seconds": 3000.0, "end_time": 0}])
    never = cs.plan(slow, study, "heartbeat", 1, 1, workers=2)
    assert not never.fits and never.overrides == {}


def test_arms_without_history_are_counted_long():
    study = cs.comparison_study(cs.base_study("samplers", "heartbeat"),
                                ["imbalance=none", "imbalance=weighted sampler"])
    p = cs.plan(pd.DataFrame(), study, "heartbeat", 1, 60, workers=1)
    assert [a["seconds"] for a in p.arms] == [110.0, 110.0]
    assert "slowest classroom config" in p.arms[0]["source"]
    titles = cs.comparison_study(cs.base_study("variants", "titles"), ["model=mlp", "model=gru"])
    unknown = cs.plan(pd.DataFrame(), titles, "titles", 1, 10)
    assert unknown.seconds is None and unknown.fits  # nothing measured: no estimate, said on the page


def test_finding_and_seeds_read_the_report_where_it_says():
    rep = {"metric": "macro_f1", "metric_name": "macro-F1", "rows": [
        {"rank": 1, "config": "gru", "seeds": 2, "macro_f1": 0.8, "macro_f1_low": 0.7, "macro_f1_high": 0.9,
         "verdict": "best"},
        {"rank": 2, "config": "rnn", "seeds": 2, "macro_f1": 0.2, "macro_f1_low": 0.1, "macro_f1_high": 0.3,
         "verdict": "worse", "learned": False, "note": "read after the zeros"}]}
    assert cs.finding(rep) == "gru ranks first (macro-F1 0.800); every other arm is significantly worse."
    assert cs.settle_text(rep) == ""
    table = cs.ranked(rep)
    assert list(table["learned"]) == ["", "⚠ not learned"] and "note" not in table  # the reason: under the table
    assert cs.reasons(rep) == [("expected", "rnn did not learn, as expected: read after the zeros.")]
    assert table["test macro-F1 [95% CI]"].iloc[0] == "0.800 [0.700, 0.900]"
    rep.update(finding="gru beats rnn by 0.6", seeds_to_settle=5)
    assert cs.finding(rep) == "gru beats rnn by 0.6"
    assert cs.settle_text(rep).startswith("About 5 seeds")


def test_page_without_data_says_how_to_prepare(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "No data is prepared yet" in at.info[0].value
    assert "Home page prepares the heartbeats" in at.info[0].value and not at.code  # no terminal needed


def test_pick_tick_fit_launch_watch_and_rank(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "fits 10 min" in at.success[0].value  # ten variants, no history: counted long, still in budget
    at.radio[1].set_value("samplers").run()
    for label in ("class-weighted loss", "augmentation"):  # the arms in words
        next(c for c in at.checkbox if c.label == label).uncheck().run()
    next(n for n in at.number_input if n.label == "Budget (minutes)").set_value(1).run()
    assert not at.exception
    assert "To fit 1 min" in at.warning[0].value and "epochs instead of the recipe's 8" in at.warning[0].value
    next(t for t in at.text_input if t.label == "Name (optional)").input("first lesson").run()
    next(b for b in at.button if b.label == "Start the comparison").click().run()
    assert not at.exception and not at.error
    (study,) = sweep.list_studies(home)
    assert study["name"] == "first lesson" and study["total"] == 2
    runs = sweep.children(home, study["parent_id"])
    assert {r.data.params["train.epochs"] for r in runs} == {str(cs.MIN_EPOCHS)}  # the plan's cut, not the recipe's 8
    assert {r.data.params["data.normalize"] for r in runs} == {"zscore"}  # the classroom recipe underneath
    deadline = time.time() + 150
    while time.time() < deadline and sweep.progress(home, study["parent_id"])["done"] < 2:
        time.sleep(1)
    assert sweep.progress(home, study["parent_id"])["done"] == 2
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception
    assert "first lesson" in page.selectbox[0].value or "first lesson" in str(page.selectbox[0].options)
    charts = page.get("plotly_chart")
    # every arm's validation score and loss, overlaid; the recall of each class per arm; the arms' gradient
    # through time (inside the models)
    assert len(charts) == 4
    import json

    heat = json.loads(charts[2].proto.spec)["data"][0]
    assert heat["type"] == "heatmap" and sorted(heat["y"]) == ["no imbalance handling", "weighted sampler"]
    table = page.dataframe[0].value
    assert sorted(table["arm"]) == ["no imbalance handling", "weighted sampler"]
    assert list(table["rank"]) == [1, 2]
    assert any("no imbalance handling" in m.value for m in (*page.success, *page.info))  # the finding in words
    assert any(b.label == "Presenter mode" for b in page.button)
    assert page.get("download_button")


def test_ranked_falls_back_on_the_runs_tags_and_the_studys_notes():
    rep = {"metric": "macro_f1", "metric_name": "macro-F1", "rows": [
        {"rank": 1, "config": "gru", "seeds": 2, "macro_f1": 0.8, "verdict": "best"},
        {"rank": 2, "config": "rnn", "seeds": 2, "macro_f1": 0.2, "verdict": "worse"}]}
    runs = [{"arm": "gru", "status": "FINISHED", "learned": True}, {"arm": "gru", "status": "FINISHED", "learned": True},
            {"arm": "rnn", "status": "FINISHED", "learned": True}, {"arm": "rnn", "status": "FINISHED", "learned": False}]
    table = cs.ranked(rep, runs, {"rnn": "read after the zeros"})
    assert list(table["learned"]) == ["learned", "⚠ not learned"]  # an arm learned only when every seed did
    assert list(cs.ranked(rep)["learned"]) == ["", ""]  # nothing known: nothing claimed


def test_a_bidirectional_arm_is_timed_from_its_unidirectional_twin_at_twice_the_epoch():
    study = cs.comparison_study(cs.base_study("variants", "heartbeat"),
                                ["gru · bidirectional=false", "gru · bidirectional=true"])
    frame = _history([{"model.name": "gru", "last_epoch_seconds": 5.0, "end_time": 60_000}])  # 20 s + 8 x 5 s
    p = cs.plan(frame, study, "heartbeat", 1, 60, workers=1)
    assert [a["seconds"] for a in p.arms] == [60.0, 100.0]  # 20 + 8 x 10 s
    assert "unidirectional twin, x2" in p.arms[1]["source"]


def test_a_study_runs_wait_in_the_queue_is_not_counted_as_its_cost():
    """A study records its runs when it is queued: the last one's wall time
    is mostly waiting for a worker, so only its epochs count."""
    study = cs.comparison_study(cs.base_study("samplers", "heartbeat"),
                                ["imbalance=none", "imbalance=weighted sampler"])
    queued = _history([{"model.name": "gru", "last_epoch_seconds": 5.0, "end_time": 1_800_000,
                        "study": "architectures"}])  # 30 min from queueing to the end, 40 s of epochs
    p = cs.plan(queued, study, "heartbeat", 1, 10, workers=2)
    assert [a["seconds"] for a in p.arms] == [cs.START_SECONDS + 40.0] * 2


def test_the_rhythm_question_plans_from_its_studys_own_sample_and_epochs():
    study = cs.base_study("rhythm", "heartbeat")
    labels = [a["label"] for a in cs.arms(study)]
    assert len(labels) == 8 and "input=beat + rhythm · model=bi-GRU · imbalance=square-root sampler" in labels
    # a bidirectional GRU measured here at 5 s an epoch on a 30% sample
    frame = _history([{"model.name": "gru", "model.bidirectional": "true", "last_epoch_seconds": 5.0,
                       "end_time": 60_000}])
    p = cs.plan(frame, study, "heartbeat", 1, 60, workers=2)
    assert p.recipe == {"data.sample": 0.2, "train.epochs": 6} and p.overrides == {}
    tight = cs.plan(frame, study, "heartbeat", 1, 1, workers=2)
    assert tight.overrides.get("train.epochs", 6) <= 6  # never more epochs than the study's own
