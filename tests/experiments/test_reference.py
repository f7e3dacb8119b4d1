"""Reference runs: a record per finished run, resumable from the records
that exist, and an import that loads each record once as a reference run."""
import json

import numpy as np
import pytest

from core.data import heartbeat as hb
from experiments import reference as R
from experiments import study_report
from experiments.__main__ import main
from experiments.mlflow_tracker import client, experiment_id
from experiments.tags import DESCRIBE_TAG, KIND_TAG, REFERENCE_TAG


@pytest.fixture
def tiny_reference(home, kaggle_dir, tmp_path, monkeypatch):
    """Two planned heartbeat runs on the tiny fixture, records under tmp_path."""
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    monkeypatch.setattr(R, "ROOT", tmp_path / "reference")
    monkeypatch.setattr(R, "REFERENCE_TRAINING", {"heartbeat": {"data.sample": 1.0, "train.epochs": 1,
                                                                "model.hidden_size": 4, "train.device": "cpu"}})
    arch = R.S.builtin("architectures")
    monkeypatch.setattr(R, "groups", lambda: [("architectures", arch, "heartbeat",
                                               {"_keep": {"gru · bidirectional=false", "rnn-packed · bidirectional=false"}})])
    return home


def test_predictions_pack_to_small_integers_and_back():
    y = np.array([0, 4, 3, 3, 1] * 1000)
    packed = R.pack(y)
    assert packed["dtype"] == "uint8" and len(packed["zlib_b64"]) < 200
    assert np.array_equal(R.unpack(packed), y)
    wide = np.array([0, 631, 5])
    assert R.pack(wide)["dtype"] == "uint16" and np.array_equal(R.unpack(R.pack(wide)), wide)
    broken = dict(packed, n=3)
    with pytest.raises(ValueError, match="holds more than the 3 items it declares"):
        R.unpack(broken)


def test_records_resume_and_import_once(tiny_reference, capsys):
    home = tiny_reference
    assert len(R.plan(seeds=1)) == 2
    first = R.run_next(home, seeds=1, log=lambda m: None)
    assert first is not None and first.exists()
    rec = json.loads(first.read_text())
    assert rec["history"]["val/macro_f1"] and set(rec["test"]) >= {"accuracy", "macro_f1", "balanced_accuracy"}
    assert rec["params"]["data.sample"] == "1.0" and rec["params"]["train.epochs"] == "1"
    assert rec["params"]["data.normalize"] == "zscore"  # the classroom recipe, apart from the amount of training
    # a new process (another machine) carries on from the records that exist
    assert [p.trial.point.label for p in R.missing(seeds=1)] == ["gru · bidirectional=false"]
    assert R.run_next(home, seeds=1, log=lambda m: None) is not None
    assert R.run_next(home, seeds=1, log=lambda m: None) is None
    total = sum(p.stat().st_size for p in R.ROOT.rglob("*.json"))
    assert total < 30_000  # small: curves, metrics and predictions as integers

    fresh = home.parent / "fresh-home"
    fresh.mkdir()
    assert R.import_records(fresh, log=lambda m: None) == 2
    assert R.import_records(fresh, log=lambda m: None) == 0  # nothing twice
    c = client(fresh)
    exp = experiment_id(fresh, "heartbeat")
    runs = c.search_runs([exp], filter_string=f"tags.`{REFERENCE_TAG}` = 'true'")
    children = [r for r in runs if r.data.tags.get(KIND_TAG) != "study"]
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    assert all("full data, reference" in r.data.tags[DESCRIBE_TAG] for r in children)
    # the imported runs form a study that the report ranks with paired tests on the same test set
    parent = children[0].data.tags["mlflow.parentRunId"]
    rep = study_report.report(fresh, parent, n_boot=50)
    assert len(rep["rows"]) == 2 and rep["test_size"] > 0 and not rep["notes"]
    y_true, y_pred = study_report.load_predictions(fresh, children[0].info.run_id)
    assert y_true.size == y_pred.size == rep["test_size"]
    # a classroom study's page sets each config beside its reference
    scores = study_report.reference_scores(fresh, "architectures")
    assert set(scores) == {"gru · bidirectional=false", "rnn-packed · bidirectional=false"}
    assert all(len(v["seeds"]) == 1 and 0 <= v["mean"] <= 1 for v in scores.values())
    assert study_report.reference_scores(fresh, "samplers") == {}


def test_reference_cli_import_says_how_many(tiny_reference, capsys):
    assert main(["reference", "status", "--seeds", "1"]) == 0
    assert "2 of 2 planned runs" in capsys.readouterr().out
    assert main(["reference", "import"]) == 0
    assert "no reference records" in capsys.readouterr().out
    assert main(["reference", "run", "--seeds", "0"]) == 2


def _ref(mean, half):
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "seeds": [mean - half / 2, mean + half / 2]}


def test_agreement_with_the_reference_counts_flipped_pairs():
    reference = {"a": _ref(0.95, 0.01), "b": _ref(0.90, 0.01), "c": _ref(0.40, 0.05), "d": _ref(0.91, 0.02)}
    same = [{"config": c, "macro_f1": v} for c, v in (("a", 0.86), ("b", 0.80), ("c", 0.20), ("d", 0.81))]
    agree = study_report.reference_agreement(same, reference, "macro_f1")
    assert agree["configs"] == 4 and agree["spearman"] == pytest.approx(1.0)
    # separated by the reference: a-b, a-c, b-c, c-d, a-d (b and d overlap)
    assert agree["separated"] == 5 and agree["flipped"] == []
    assert "every one keeps its order" in agree["sentence"]
    flipped = [{"config": c, "macro_f1": v} for c, v in (("a", 0.70), ("b", 0.80), ("c", 0.20), ("d", 0.81))]
    agree = study_report.reference_agreement(flipped, reference, "macro_f1")
    assert agree["flipped"] == ["a vs b", "a vs d"] and "2 come out the other way" in agree["sentence"]
    assert agree["spearman"] < 1.0
    # each flip says why: no intervals here (one seed, no interval) reads as noise
    assert [f["within_noise"] for f in agree["flips"]] == ["yes", "yes"]
    assert "b is 0.10 ahead of a here" in agree["flips"][0]["reason"] and "a is 0.05 ahead" in agree["flips"][0]["reason"]
    # a lead here whose intervals are apart: the budget, not noise; words (`name`) name the arms
    half = {"a": 0.004, "b": 0.004, "c": 0.004, "d": 0.2}  # d's interval reaches a's
    apart = [dict(r, name=r["config"].upper(), ci_low=r["macro_f1"] - half[r["config"]],
                  ci_high=r["macro_f1"] + half[r["config"]]) for r in flipped]
    flips = study_report.reference_agreement(apart, reference, "macro_f1")["flips"]
    assert [(f["a"], f["b"], f["within_noise"]) for f in flips] == [("A", "B", "no"), ("A", "D", "yes")]
    assert "learns faster" in flips[0]["reason"] and "intervals overlap" in flips[1]["reason"]
    # fewer than 3 configs in common: nothing to say
    assert study_report.reference_agreement(same[:2], reference, "macro_f1") is None
    assert study_report.reference_agreement(same, {}, "macro_f1") is None


def test_the_ranking_table_sets_each_config_beside_its_reference():
    from dashboard import study_services as ss

    row = {"rank": 1, "config": "a", "seeds": 3, "macro_f1": 0.86, "macro_f1_low": 0.8, "macro_f1_high": 0.9,
           "verdict": "best", "learned": True, "ci_from": "seeds"}
    rep = {"metric": "macro_f1", "metric_name": "macro-F1", "rows": [row, dict(row, config="z", rank=2,
                                                                                verdict="not different")],
           "reference": {"a": _ref(0.95, 0.01)}}
    table = ss.ranked_table(rep)
    assert table.loc[0, "full data, reference"] == "0.9500 [0.940, 0.960] (2 seeds)"
    assert table.loc[1, "full data, reference"] == ""
    assert "full data, reference" not in ss.ranked_table(dict(rep, reference={})).columns


def test_two_jobs_on_one_home_never_train_the_same_run(tiny_reference, tmp_path):
    import subprocess
    import sys

    home = tiny_reference
    first, second = R.plan(seeds=1)
    # another live process holds the first run: this job takes the second
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claim = R._claim_path(home, first)
        claim.parent.mkdir(parents=True, exist_ok=True)
        claim.write_text(str(other.pid))
        logged = []
        assert R.run_next(home, seeds=1, log=logged.append) == second.path
        assert not R._claim_path(home, second).exists()  # released when its record is written
        assert R.run_next(home, seeds=1, log=logged.append) is None  # the rest is someone else's
        assert "being trained by other jobs" in logged[-1]
    finally:
        other.kill()
        other.wait()
    # the holder is gone: its stale claim is taken over
    assert R.run_next(home, seeds=1, log=lambda m: None) == first.path
    assert first.path.exists()


def test_agreement_with_a_one_seed_reference_says_no_pair_is_told_apart_yet():
    one = {c: {"mean": m, "ci_low": None, "ci_high": None, "seeds": [m]} for c, m in (("a", 0.9), ("b", 0.8), ("c", 0.4))}
    rows = [{"config": c, "macro_f1": v} for c, v in (("a", 0.85), ("b", 0.7), ("c", 0.3))]
    agree = study_report.reference_agreement(rows, one, "macro_f1")
    assert agree["separated"] == 0 and "no pair is told apart" in agree["sentence"]


def test_pages_open_on_a_home_whose_only_studies_are_imported_references(tiny_reference, monkeypatch):
    """A fresh clone's dashboard imports the references first: the study
    pickers must not open on one and fail for its missing definition."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from dashboard import services
    from experiments import sweep

    home = tiny_reference
    R.run_next(home, seeds=1, log=lambda m: None)
    fresh = home.parent / "fresh-home"
    fresh.mkdir()
    assert R.import_records(fresh, log=lambda m: None) == 1
    (parent,) = [s["parent_id"] for s in sweep.list_studies(fresh)]
    with pytest.raises(ValueError, match="no recorded definition .* imported reference study"):
        sweep.parent_definition(fresh, parent)
    from experiments import runner

    (child,) = [r for r in sweep.children(fresh, parent)]
    with pytest.raises(ValueError, match="has no saved weights .* reference run"):
        runner.load_model(fresh, child.info.run_id)
    monkeypatch.setenv("RNN_ARENA_HOME", str(fresh))
    root = Path(__file__).resolve().parents[2] / "dashboard" / "views"
    for page in ("comparison.py", "studies.py"):
        at = AppTest.from_file(str(root / page), default_timeout=90).run()
        assert not at.exception, (page, at.exception)
    assert services.own_first([{"parent_id": "ref", "reference": True}, {"parent_id": "mine"},
                               {"parent_id": "older", "reference": False}]) == ["mine", "older", "ref"]
