import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from core.data import titles as tt
from core.data.sampling import class_counts
from dashboard import data_services as ds
from tests.conftest import torch_left_out

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "dashboard" / "views" / "data.py")


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _check_charts(at, n: int) -> list[dict]:
    """n charts, each with a title and axis labels, and a caption for each."""
    specs = _specs(at)
    assert len(specs) == n
    for spec in specs:
        layout = spec["layout"]
        assert layout["title"]["text"]
        assert any(k.startswith("xaxis") and v.get("title", {}).get("text") for k, v in layout.items())
        assert any(k.startswith("yaxis") and v.get("title", {}).get("text") for k, v in layout.items())
    assert len(at.caption) >= n
    return specs


@pytest.fixture
def beats_home(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


@pytest.fixture
def titles_home(home, titles_dir):
    tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
    return home


def test_data_page_without_data_says_how_to_prepare(home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "not prepared yet" in at.warning[0].value
    assert "prepare heartbeat" in at.code[0].value
    assert any("Home page" in m.value for m in at.markdown)
    at.radio[0].set_value("titles").run()
    assert not at.exception
    assert "prepare titles --source" in at.code[0].value


def test_heartbeat_counts_match_what_a_run_trains_on(beats_home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    beats = hb.load_beats(beats_home)
    full = hb.make_splits(beats, 0.1, 1.0, 2018)  # the run defaults: validation 10%, seed 2018
    sample = hb.make_splits(beats, 0.1, 0.1, 2018)
    m = _metrics(at)
    assert m["beats in train"] == f"{len(full.train):,}"
    assert m["beats in the sample"] == f"{len(sample.train):,}"
    counts = class_counts(full.train.y, 5)
    assert m["imbalance, full data"] == f"{counts.max() / counts.min():,.1f} : 1"
    specs = _check_charts(at, 5)  # full, sample, examples, mean beats, lengths
    assert specs[0]["data"][0]["y"] == counts.tolist()
    assert specs[1]["data"][0]["y"] == class_counts(sample.train.y, 5).tolist()
    assert "Mean beat" in specs[3]["layout"]["title"]["text"]

    at.slider[0].set_value(0.5).run()
    assert _metrics(at)["beats in the sample"] == f"{len(hb.make_splits(beats, 0.1, 0.5, 2018).train):,}"
    at.radio[1].set_value("test").run()  # test is never sampled
    m = _metrics(at)
    assert m["beats in test"] == m["beats in the sample"] == f"{len(full.test):,}"
    before = _specs(at)[2]["data"][0]["y"]
    next(n for n in at.number_input if n.label == "Example").set_value(1).run()
    assert not at.exception
    assert _specs(at)[2]["data"][0]["y"] != before  # another beat of class N


def test_mean_beat_leaves_the_padding_out(beats_home):
    meta = ds.dataset_meta(beats_home, "heartbeat")
    profile = ds.heartbeat_profile(meta, "test", 2018, 0.1)
    test = hb.make_splits(hb.load_beats(beats_home), 0.1, 1.0, 2018).test
    n = test.subset(test.y == 0)
    step = 50  # every fixture beat is at least 60 steps long
    assert np.all(n.length > step)
    entry = profile["classes"][0]
    assert entry["count"] == len(n)
    assert entry["mean"][step] == pytest.approx(float(n.x[:, step].mean()), abs=1e-4)
    assert entry["std"][step] == pytest.approx(float(n.x[:, step].std()), abs=1e-4)
    # a step where some beats have ended: their padding zeros must not drag the mean down
    alive = (n.length[:, None] > np.arange(n.x.shape[1])).sum(axis=0)
    late = int(np.flatnonzero((alive >= 3) & (alive < len(n)))[-1])
    running = n.x[n.length > late, late]
    assert entry["mean"][late] == pytest.approx(float(running.mean()), abs=1e-4)
    assert entry["mean"][late] > float(n.x[:, late].mean()) + 0.01
    assert sum(entry["length_counts"]) == len(n)
    splits = hb.make_splits(hb.load_beats(beats_home), 0.1, 1.0, 2018)
    for split, part in (("train", splits.train), ("validation", splits.val)):  # the runs' own split
        profile = ds.heartbeat_profile(meta, split, 2018, 0.1)
        assert [c["count"] for c in profile["classes"]] == class_counts(part.y, 5).tolist()
        assert profile["length"]["mean"] == pytest.approx(float(part.length.mean()))
    assert ds.imbalance([10, 5, 0]) == {"ratio": 2.0, "largest": 10, "smallest": 5, "missing": 1}


def test_titles_page_counts_examples_and_lengths(titles_home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio[0].set_value("titles").run()
    assert not at.exception
    data = tt.load_titles(titles_home)
    split = tt.make_splits(data, 0.1, 2018)  # what a titles run with --sample 0.1 trains on
    m = _metrics(at)
    assert m["titles in train"] == f"{len(data.train):,}"
    assert m["titles in the sample"] == f"{len(split.train):,}"
    specs = _check_charts(at, 4)  # top/bottom full, the same in the sample, rank, lengths
    assert len(specs[0]["data"][0]["y"]) == 8  # 8 categories: all of them, largest first (horizontal bars)
    assert specs[0]["data"][0]["y"][0] == "SNEAKERS"  # the extra empty title makes it the largest
    assert specs[1]["data"][0]["x"] == class_counts(split.train.y, 8)[[data.labels.index[c] for c in
                                                                         specs[1]["data"][0]["y"]]].tolist()
    examples = at.dataframe[0].value
    assert {"title", "tokens", "kept", "category"} <= set(examples.columns)
    words = {str(t): i for i, t in enumerate(data.train.titles)}
    for row in examples.itertuples():
        i = words[row.title]
        ids = data.train.tokens[i, : data.train.length[i]]
        expected = " · ".join(data.vocab.tokens[j] for j in ids) if data.train.n_tokens[i] else "(nothing left)"
        assert row.tokens == expected
    lengths = specs[3]
    assert sum(lengths["data"][0]["y"]) == len(data.train)

    at.radio[1].set_value("validation").run()
    assert _metrics(at)["titles in the sample"] == f"{len(split.val):,}"  # validation sampled with seed + 1
    assert "type" not in _specs(at)[0]["layout"].get("xaxis", {})  # linear by default for titles
    at.toggle[0].set_value(True).run()
    assert _specs(at)[0]["layout"]["xaxis"]["type"] == "log"


def test_data_page_never_imports_torch(beats_home):
    code = ("from streamlit.testing.v1 import AppTest; "
            f"at = AppTest.from_file({PAGE!r}, default_timeout=60).run(); "
            "assert not at.exception, at.exception; assert len(at.get('plotly_chart')) == 5")
    assert torch_left_out(code, beats_home)


def test_both_evaluation_splits_per_record_set(home, interpatient_records_dir):
    hb.prepare(interpatient_records_dir, home, log=lambda m: None)
    beats = hb.load_beats(home)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("Why intra-patient scores are higher" in m.value and "0.8834" in m.value for m in at.markdown)
    table = at.dataframe[0].value.set_index("set")
    sets = hb.record_sets(beats)
    for name, mask, records in (("DS1 (train and validation)", sets["DS1"], 4), ("DS2 (test)", sets["DS2"], 2),
                                ("paced records 102, 104, 107, 217", sets["paced"], 1),
                                ("train (Kaggle's split)", beats.split == 0, 7)):
        row = table.loc[name]
        assert row["total"] == int(mask.sum()) and row["records"] == records
        assert [row[c] for c in hb.CLASS_NAMES] == class_counts(beats.y[mask], 5).tolist()

    inter = hb.make_splits(beats, 0.1, 1.0, 2018, "inter-patient")  # the run defaults, inter-patient
    at.radio[2].set_value("inter-patient").run()
    assert not at.exception
    assert _metrics(at)["beats in train"] == f"{len(inter.train):,}"
    held = ", ".join(str(r) for r in sorted(set(inter.val.record.tolist())))
    assert any(f"holds out the whole DS1 records {held} for validation" in c.value for c in at.caption)
    at.radio[1].set_value("test").run()
    assert _metrics(at)["beats in test"] == f"{int(sets['DS2'].sum()):,}"
    profile = ds.heartbeat_profile(ds.dataset_meta(home, "heartbeat"), "validation", 2018, 0.1, 0, "inter-patient")
    assert [c["count"] for c in profile["classes"]] == class_counts(inter.val.y, 5).tolist()


def test_inter_patient_on_kaggle_csvs_says_why(beats_home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert set(at.dataframe[0].value["evaluation"]) == {"intra-patient"}  # no record ids: no DS1/DS2 rows
    assert any("drop the record of each beat" in c.value for c in at.caption)
    at.radio[2].set_value("inter-patient").run()
    assert not at.exception
    assert "needs the record each beat comes from" in at.error[0].value
