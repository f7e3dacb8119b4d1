"""Studies page: guidance when empty, a finished study's ranking, sweep and
factor effects, and a study started from the form in the background."""
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import studies as S
from experiments import study_report
from experiments import sweep

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGE = str(ROOT / "dashboard" / "views" / "studies.py")
TINY = {"model.hidden_size": 4, "train.epochs": 1, "train.batch_size": 64, "train.device": "cpu"}


def test_studies_page_without_data_or_studies_guides(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    texts = " ".join(i.value for i in at.info)
    assert "Prepare a dataset first" in texts and "No study yet" in texts
    assert "python -m experiments study architectures" in at.code[0].value


def test_a_finished_study_shows_ranking_sweep_and_effects(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    study = S.Study(name="page", base=TINY, seeds=2, factors=(
        S.Factor("model.bidirectional", (S.Level("false", {"model.bidirectional": False}),
                                         S.Level("true", {"model.bidirectional": True}))),),
        notes={"bidirectional=false": "one direction reads the padding last"})
    sweep.run_study(home, study, "heartbeat", workers=1, log=lambda m: None)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["4", "0", "0", "0"]  # done, running, queued, failed
    table = at.dataframe[0].value
    assert list(table["rank"]) == [1, 2] and table["vs best"].iloc[0] == "best"
    assert table["vs best"].iloc[1] in ("≈ not different", "✗ worse")
    assert "macro-F1 [95% CI]" in table.columns and "[" in table["macro-F1 [95% CI]"].iloc[0]
    charts = at.get("plotly_chart")
    # ranking, the recall of each class, the configs' gradient through time and two hidden states side by side,
    # parallel coordinates, the factor's effect
    assert len(charts) == 7
    assert any("How to read it: how strongly the loss reacts" in c.value for c in at.caption)
    import json

    heat = json.loads(charts[1].proto.spec)["data"][0]
    assert heat["type"] == "heatmap" and len(heat["y"]) == 2
    assert [x.split()[0] for x in heat["x"]] == [c for c in hb.CLASS_NAMES if c in {x.split()[0] for x in heat["x"]}]
    assert heat["x"][0].startswith("N normal") and all(0 <= v <= 1 for row in heat["z"] for v in row if v is not None)
    captions = " ".join(c.value for c in at.caption)
    assert "Holm" in captions and "both directions, each level against false" in captions
    # the finding, computed from the statistics, in one sentence
    rep = study_report.report(home, sweep.list_studies(home)[0]["parent_id"])
    shown = [e.value for e in (*at.success, *at.info)]
    from dashboard import comparison_services as cs

    shown += [m.value for m in at.markdown]  # the lesson in the box, the ties beneath it
    assert all(part in shown for part in cs.finding_parts(rep) if part) and table["config"].iloc[0] in rep["finding"]
    # two seeds: the seed interval is called uninformative; intervals stay in [0, 1]
    assert any("uninformative" in w.value and "test-set bootstrap" in w.value for w in at.warning)
    assert set(at.dataframe[2].value["CI from"]) == {"test bootstrap"}  # under "Other metrics"
    technical = at.dataframe[1].value  # each config in words beside its technical label
    assert list(technical["technical config"]) == [r["config"] for r in rep["rows"]]
    assert set(table["config"]) == {"one direction", "both directions"}
    for text in table["macro-F1 [95% CI]"]:
        low, high = (float(v) for v in text.split("[")[1].split("]")[0].split(","))
        assert 0 <= low <= high <= 1
    # every config says whether it learned; the note explains the expected failure, as a lesson not an error
    learned = dict(zip(table["config"], table["learned"]))
    by_row = {r["name"]: r for r in rep["rows"]}
    for config, text in learned.items():
        state = by_row[config]["state"]
        assert text.startswith({"learned": "learned", "partly": "partly", "not learned": "⚠ not learned"}[state])
        assert text.endswith("(expected)") == bool(by_row[config]["note"] and state != "learned")
    assert any("one direction reads the padding last" in i.value for i in at.info)
    assert not any("one direction reads the padding last" in e.value for e in (*at.warning, *at.error))
    per_run = at.dataframe[3].value  # every run, seed by seed, with its own mark
    assert len(per_run) == 4 and set(per_run["seed"]) == {0, 1}
    for r in rep["runs"]:
        row = per_run[per_run["run id"] == r["run_id"][:8]].iloc[0]
        assert (row["learned"] == "learned") == bool(r["learned"])
        assert row["why not"] == ("" if r["learned"] else r["learned_reason"])


def test_start_a_custom_study_from_the_form(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/studies.py").run()
    assert not at.exception
    at.selectbox[0].select("custom (YAML)").run()
    at.text_area[0].input("name: form\nbase: {model.hidden_size: 4, train.batch_size: 64}\n"
                          "factors:\n  model.name: [gru, rnn]\nseeds: 1\n")
    inputs = {n.label: n for n in at.number_input}
    inputs["epochs"].set_value(1)
    inputs["workers"].set_value(1)
    inputs["seeds"].set_value(1)
    inputs["sample fraction"].set_value(1.0)
    at.text_area[1].input("train.device: cpu")
    next(b for b in at.button if b.label == "Start study").click().run()
    assert not at.exception
    assert "Study started in the background" in at.success[0].value
    (study,) = sweep.list_studies(home)
    assert study["name"] == "form" and study["total"] == 2
    deadline = time.time() + 90
    while time.time() < deadline and sweep.progress(home, study["parent_id"])["done"] < 2:
        time.sleep(0.5)
    assert sweep.progress(home, study["parent_id"])["done"] == 2
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception
    assert len(page.dataframe[0].value) == 2


def test_form_errors_are_shown_not_raised(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox[0].select("custom (YAML)").run()
    at.text_area[0].input("name: bad\nfactors:\n  hidden_size: [4, 8]\n")
    next(b for b in at.button if b.label == "Start study").click().run()
    assert not at.exception
    assert "did you mean model.hidden_size" in at.error[0].value
    assert sweep.list_studies(home) == []


def test_the_hidden_states_set_a_simple_rnn_beside_a_gru():
    from dashboard.study_services import contrast_pair

    labels = ["gru · bidirectional=true", "rnn-packed · bidirectional=false", "rnn · bidirectional=false"]
    assert contrast_pair(labels) == ("rnn · bidirectional=false", "gru · bidirectional=true")
    words = ["GRU, both directions", "simple RNN, packed", "simple RNN, both directions", "simple RNN"]
    assert contrast_pair(words) == ("simple RNN", "GRU, both directions")
    assert contrast_pair(["a", "b", "c"]) == ("a", "b")
