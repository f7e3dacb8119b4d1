from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import runner
from experiments.tags import LEARNED_TAG, REASON_TAG

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
    # two curves, per-class bars, confusion matrix; inside the model: the gradient through time, the examples'
    # attributions, the hidden state over time
    assert len(at.get("plotly_chart")) == 7
    assert "How to read it: how strongly the loss reacts" in captions
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


def test_report_shows_sensitivity_and_ppv_of_an_inter_patient_run(home, interpatient_records_dir, tiny_config):
    hb.prepare(interpatient_records_dir, home, log=lambda m: None)
    cfg = tiny_config.replace(**{"data.split": "inter-patient", "train.epochs": 1})
    summary = runner.run(cfg, home)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["sensitivity (recall)", "PPV (precision)", "F1", "support"]
    for name in hb.CLASS_NAMES:
        assert table.loc[name, "sensitivity (recall)"] == summary.per_class[name]["recall"]
        assert table.loc[name, "PPV (precision)"] == summary.per_class[name]["precision"]
    assert table.loc[list(hb.CLASS_NAMES), "support"].sum() == int(hb.record_sets(hb.load_beats(home))["DS2"].sum())
    captions = " ".join(c.value for c in at.caption)
    assert "ECG papers publish" in captions and "tested on de Chazal's DS2 records" in captions


MONITOR = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "monitor.py")
COMPARE = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "compare.py")
ALL_N = [[30, 0, 0, 0, 0], [5, 0, 0, 0, 0], [8, 0, 0, 0, 0], [2, 0, 0, 0, 0], [6, 0, 0, 0, 0]]


def _fresh():
    import streamlit as st

    st.cache_data.clear()  # the pages' cached reads live in this process across AppTests


def test_a_run_that_has_not_learned_is_marked_with_the_reason(home, kaggle_dir, tiny_config):
    from core import diagnosis
    from experiments.mlflow_tracker import client
    from experiments.queries import run_detail

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    run_id = runner.run(tiny_config, home).run_id
    c = client(home)
    # the verdict recorded when it finished agrees with the check of its stored confusion matrix
    d = run_detail(home, run_id)
    expected = diagnosis.check(d["confusion"]["matrix"], d["confusion"]["labels"])
    assert (d["learned"], d["learned_reason"]) == (expected.learned, expected.line)
    # an all-N run, as the issue saw it: the tags say so, every page shows the mark and the reason
    verdict = diagnosis.check(ALL_N, d["confusion"]["labels"])
    c.set_tag(run_id, LEARNED_TAG, "false")
    c.set_tag(run_id, REASON_TAG, verdict.line)
    _fresh()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any(w.value == verdict.line for w in at.warning)
    assert verdict.line.startswith(diagnosis.MARK) and "try:" in verdict.line
    monitor = AppTest.from_file(MONITOR, default_timeout=60).run()
    assert not monitor.exception
    assert list(monitor.dataframe[0].value["learned"]) == [diagnosis.MARK]
    assert any(verdict.line in w.value for w in monitor.warning)
    # a run recorded before the tag existed: judged from its stored confusion matrix
    c.delete_tag(run_id, LEARNED_TAG)
    c.delete_tag(run_id, REASON_TAG)
    _fresh()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert (expected.line in shown) == (not expected.learned)
    assert any("Learned" in c.value for c in at.caption) == expected.learned


def test_greyed_ready_made_buttons_say_why(home, kaggle_dir, tiny_config):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    runner.run(tiny_config.replace(**{"train.epochs": 1}), home)
    _fresh()
    at = AppTest.from_file(COMPARE, default_timeout=60).run()
    assert not at.exception
    variants, sampler = at.button[1], at.button[2]
    assert variants.disabled and sampler.disabled
    captions = " ".join(c.value for c in at.caption)
    assert "two or more recurrent variants at sample 1" in captions and "there is one" in captions
    assert "two or more of: no sampler, the weighted sampler" in captions
    assert variants.proto.help and sampler.proto.help
