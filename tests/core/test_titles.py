import gzip
import json
import tempfile
from pathlib import Path

import nltk
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from core import text
from core.data import title_datasets as td
from core.data import titles as tt
from core.text import LabelMap, build_vocab

from tests.conftest import CATEGORIES, WORDS, course_folder, course_row, title_for, write_jsonl_gz  # noqa: F401


@pytest.fixture(autouse=True)
def _stopwords(fake_stopwords):
    return fake_stopwords


# ---------------------------------------------------------------------------
# jsonl.gz reader
def test_jsonl_reader(tmp_path):
    rows = [course_row("Mochila Maternal Skip Hop®", "DIAPER_BAGS"), course_row("", "LAMPS"),
            {"title": "Lámpara", "category": "LAMPS"}]
    frame = tt.read_jsonl_gz(write_jsonl_gz(tmp_path / "a.jsonl.gz", rows, [b"", b"  "]))
    assert list(frame.columns) == ["title", "category", "label_quality", "language"]
    assert frame["title"].tolist() == ["Mochila Maternal Skip Hop®", "", "Lámpara"]
    assert frame["label_quality"].tolist() == ["reliable", "reliable", "unknown"]
    chunks = list(tt.iter_jsonl_gz(tmp_path / "a.jsonl.gz", chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)


@pytest.mark.parametrize("lines, message", [
    ([b'{"title": "a", "category": "X"}', b"{not json"], r"line 2: not valid JSON"),
    ([b'{"title": "a", "category": "X"}', b'{"title": "b"}'], r"line 2: no 'category' field"),
    ([b'{"category": "X"}'], r"line 1: no 'title' field"),
    ([b'{"title": 3, "category": "X"}'], r"line 1: 'title' is int"),
    ([b'{"title": "a", "category": null}'], r"line 1: 'category' is None"),
    ([b'["a", "X"]'], r"line 1: a JSON list"),
    ([b'{"title": "a", "category": "X"}', b'{"title": "\xf1and\xfa", "category": "X"}'], r"line 2: not UTF-8"),
])
def test_jsonl_bad_lines(tmp_path, lines, message):
    path = write_jsonl_gz(tmp_path / "bad.jsonl.gz", [], lines)
    with pytest.raises(ValueError, match=r"bad\.jsonl\.gz, " + message):
        tt.read_jsonl_gz(path)


def test_jsonl_not_gzip_truncated_missing(tmp_path):
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_text('{"title": "a", "category": "X"}\n')
    with pytest.raises(ValueError, match="plain.jsonl.gz: not a gzip file"):
        tt.read_jsonl_gz(plain)
    full = write_jsonl_gz(tmp_path / "full.jsonl.gz", [course_row(f"titulo numero {i}", "X") for i in range(300)])
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut.jsonl.gz: the gzip data ends early, after line \d+"):
        tt.read_jsonl_gz(cut)
    with pytest.raises(ValueError, match="file not found"):
        tt.read_jsonl_gz(tmp_path / "nope.jsonl.gz")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_jsonl_reader_on_any_bytes(data, compress):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.jsonl.gz"
        path.write_bytes(gzip.compress(data) if compress else data)
        try:
            assert isinstance(tt.read_jsonl_gz(path), pd.DataFrame)
        except ValueError:
            pass


# ---------------------------------------------------------------------------
# challenge CSV
def write_challenge_csv(path: Path, n=30) -> Path:
    lines = ["title,label_quality,language,category"]
    for i in range(n):
        lang = "spanish" if i % 3 else "portuguese"
        lines.append(f'"{WORDS[i % 4].title()}, modelo {i}",{"reliable" if i % 2 else "unreliable"},{lang},{CATEGORIES[i % 4]}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_challenge_csv_filters_language_and_chunks(tmp_path):
    path = write_challenge_csv(tmp_path / "train.csv")
    whole = tt.read_challenge_csv(path, chunksize=1000)
    assert len(whole) == 20 and set(whole["language"]) == {"spanish"}
    assert whole["title"].iloc[0] == "Mochila, modelo 1"  # quoted comma kept
    pd.testing.assert_frame_equal(tt.read_challenge_csv(path, chunksize=4), whole)
    pt = tt.read_challenge_csv(path, language="portuguese")
    assert len(pt) == 10 and len(tt.read_challenge_csv(path, language=None)) == 30


def test_challenge_csv_header_less_and_errors(tmp_path):
    bare = tmp_path / "train.txt"
    bare.write_text('Hidrolavadora Lavor One 120 Bar,ELECTRIC_PRESSURE_WASHERS\n"Placa, Sonido",SOUND_CARDS\n')
    frame = tt.read_challenge_csv(bare)
    assert frame["category"].tolist() == ["ELECTRIC_PRESSURE_WASHERS", "SOUND_CARDS"]
    assert set(frame["language"]) == {"unknown"}  # no language column: nothing filtered
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,title,language\n1,Mochila,spanish\n")
    with pytest.raises(ValueError, match="expected the header title,label_quality,language,category"):
        tt.read_challenge_csv(wrong)
    extra = write_challenge_csv(tmp_path / "extra.csv", n=6)
    extra.write_text(extra.read_text() + "a,b,spanish,X,Y\n")
    with pytest.raises(ValueError, match="extra.csv: line 8 has 5 fields, expected 4"):
        tt.read_challenge_csv(extra, chunksize=2)
    short = tmp_path / "short.csv"
    short.write_text("title,label_quality,language,category\nMochila,reliable,spanish\n")
    with pytest.raises(ValueError, match="data row 1 .*no category"):
        tt.read_challenge_csv(short)


# ---------------------------------------------------------------------------
# datasets
def test_title_dataset_items():
    ds = td.TitleDataset(np.arange(12).reshape(3, 4), np.array([4, 2, 1]), np.array([0, 1, 0]))
    ids, length, y = ds[1]
    assert ids.tolist() == [4, 5, 6, 7] and int(length) == 2 and int(y) == 1 and ids.dtype == torch.int64
    ids, lengths, ys = next(iter(DataLoader(ds, batch_size=3)))
    assert ids.shape == (3, 4) and lengths.tolist() == [4, 2, 1]


def streaming_setup(tmp_path):
    # every title encodes differently: a unique 3-letter word each
    rows = [course_row(f"{WORDS[i % 8]} producto {'abcdefghij'[i % 10]}{'klmn'[i // 10]}x", CATEGORIES[i % 8])
            for i in range(40)]
    rows.insert(5, course_row("desconocido", "UNSEEN"))
    path = write_jsonl_gz(tmp_path / "s.jsonl.gz", rows)
    vocab = build_vocab([text.tokenize(r["title"]) for r in rows], min_freq=1, stopwords=())
    return path, vocab, LabelMap(CATEGORIES)


def test_streaming_every_row_once_seeded_order(tmp_path):
    path, vocab, labels = streaming_setup(tmp_path)
    key = lambda batch: [tuple(r) for r in batch[0].tolist()]  # noqa: E731
    ds = td.StreamingTitleDataset(path, vocab, labels, max_len=4, buffer_size=8, seed=1, chunk_rows=7)
    epoch1 = [tuple(i.tolist()) for i, _, _ in ds]
    assert len(epoch1) == 40 and ds.skipped == 1 and ds.rows == 40
    plain = td.StreamingTitleDataset(path, vocab, labels, max_len=4, buffer_size=1)
    in_order = [tuple(i.tolist()) for i, _, _ in plain]  # buffer of one: file order
    assert len(set(in_order)) == 40 and vocab.tokens[in_order[0][0]] == WORDS[0]
    assert sorted(epoch1) == sorted(in_order) and epoch1 != in_order
    epoch2 = [tuple(i.tolist()) for i, _, _ in ds]
    assert sorted(epoch2) == sorted(epoch1) and epoch2 != epoch1  # a new order each epoch
    again = td.StreamingTitleDataset(path, vocab, labels, max_len=4, buffer_size=8, seed=1, chunk_rows=7)
    other = td.StreamingTitleDataset(path, vocab, labels, max_len=4, buffer_size=8, seed=2, chunk_rows=7)
    assert [tuple(i.tolist()) for i, _, _ in again] == epoch1
    assert [tuple(i.tolist()) for i, _, _ in other] != epoch1
    batches = list(DataLoader(again, batch_size=16, num_workers=0))
    assert sum(len(b[2]) for b in batches) == 40 and batches[0][0].shape == (16, 4)
    assert sorted(sum((key(b) for b in batches), [])) == sorted(epoch1)


def test_streaming_labels_match_titles(tmp_path):
    path, vocab, labels = streaming_setup(tmp_path)
    ds = td.StreamingTitleDataset(path, vocab, labels, max_len=4, buffer_size=5, seed=3)
    for ids, length, y in ds:  # the first word names the category
        assert vocab.tokens[int(ids[0])] == WORDS[int(y)] and 1 <= int(length) <= 4


def test_streaming_challenge_csv(tmp_path):
    path = write_challenge_csv(tmp_path / "train.csv")  # 20 Spanish rows of 4 categories
    vocab = build_vocab([WORDS[:4]], min_freq=1, stopwords=())
    ds = td.StreamingTitleDataset(path, vocab, LabelMap(CATEGORIES[:3]), max_len=3, buffer_size=4)
    rows = list(ds)
    # Spanish rows are i % 3 != 0; those of category i % 4 == 3 (i = 7, 11, 19, 23) are not in the map
    assert len(rows) == 16 and ds.skipped == 4
    assert all(vocab.tokens[int(i[0])] == WORDS[int(y)] for i, _, y in rows)


# ---------------------------------------------------------------------------
# prepare, cache, load
def test_prepare_course_folder_and_reuse(tmp_path):
    source = course_folder(tmp_path / "meli")
    home = tmp_path / "home"
    logs = []
    first = tt.prepare(source, home, log=logs.append)
    assert not first["reused"] and first["kind"] == "course-jsonl"
    assert first["counts"] == {"train": 81, "validation": 24, "test": 24} and first["num_classes"] == 8
    cache = Path(first["cache"])
    assert cache.parent == home / "cache" and cache.name == f"titles-{first['key']}"
    for name in ("vocab.json", "labels.json", "meta.json", "train.npz", "validation.npz", "test.npz"):
        assert (cache / name).is_file()
    with np.load(cache / "train.npz", allow_pickle=False) as z:  # no pickle needed
        assert z["titles"].dtype.kind == "U" and z["tokens"].shape == (81, first["max_len"])
    info = tt.dataset_info(home)
    assert info["workload"] == "titles" and info["vocab_size"] == first["vocab_size"] and "reused" not in info
    data = tt.load_titles(home)
    assert data.class_names == CATEGORIES == data.labels.categories  # order of first appearance in train
    assert "para" not in data.vocab.index and "zapatillas" in data.vocab.index  # stopwords removed
    assert data.train.titles[-1] == "" and data.train.length[-1] == 1 and data.train.n_tokens[-1] == 0
    assert (data.train.length >= 1).all() and data.train.tokens.dtype == np.int64
    assert data.test.titles[0] == title_for(0, 0)
    second = tt.prepare(source, home, log=logs.append)
    assert second["reused"] and second["key"] == first["key"] and "reusing" in logs[-1]
    changed = tt.prepare(source, home, min_freq=1, log=logs.append)
    assert not changed["reused"] and changed["key"] != first["key"]


def test_prepare_unknown_test_category(tmp_path):
    source = course_folder(tmp_path / "meli")
    write_jsonl_gz(source / "spanish.test.jsonl.gz", [course_row("dron volador", "DRONES", "test")])
    with pytest.raises(ValueError, match=r"spanish.test.jsonl.gz: category 'DRONES'.*does not occur in train"):
        tt.prepare(source, tmp_path / "home", log=lambda m: None)


def test_prepare_challenge_csv_split(tmp_path):
    lines = ["title,label_quality,language,category"]
    for c in range(6):
        for i in range(20 if c < 5 else 2):  # the last category is too small
            lines.append(f"{WORDS[c]} modelo {WORDS[(c + i) % 8]} {i},reliable,spanish,{CATEGORIES[c]}")
    lines.append("mochila portuguesa,reliable,portuguese,BACKPACKS")
    source = tmp_path / "train.csv"
    source.write_text("\n".join(lines) + "\n")
    logs = []
    meta = tt.prepare(source, tmp_path / "home", log=logs.append)
    assert meta["kind"] == "challenge-csv" and meta["dropped_categories"] == 1 and meta["dropped_rows"] == 2
    assert meta["counts"] == {"train": 80, "validation": 10, "test": 10} and meta["num_classes"] == 5
    assert any("dropped 1 categories" in m for m in logs)
    data = tt.load_titles(tmp_path / "home")
    for split in (data.train, data.validation, data.test):
        assert set(split.y.tolist()) == set(range(5))


def test_prepare_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        tt.prepare(tmp_path / "nope", tmp_path / "home")
    partial = tmp_path / "partial"
    partial.mkdir()
    write_jsonl_gz(partial / "spanish.train.jsonl.gz", [course_row("a b c", "X")])
    with pytest.raises(ValueError, match="spanish.validation.jsonl.gz, spanish.test.jsonl.gz missing"):
        tt.prepare(partial, tmp_path / "home")
    with pytest.raises(ValueError, match="python -m experiments prepare titles --source PATH"):
        tt.load_titles(tmp_path / "home")
    assert tt.dataset_info(tmp_path / "home") is None


# ---------------------------------------------------------------------------
# samples and summaries
@pytest.fixture
def prepared(tmp_path):
    tt.prepare(course_folder(tmp_path / "meli", per_class=(20, 4, 4)), tmp_path / "home", log=lambda m: None)
    return tt.load_titles(tmp_path / "home")


def test_sample_keeps_every_category(prepared):
    s = tt.make_splits(prepared, sample=0.25, seed=0)
    assert len(s.test) == len(prepared.test)
    counts = np.bincount(s.train.y, minlength=8)
    assert (counts >= 1).all() and len(s.train) == pytest.approx(0.25 * len(prepared.train), abs=8)
    full = np.bincount(prepared.train.y, minlength=8)
    assert np.allclose(counts / counts.sum(), full / full.sum(), atol=0.03)
    assert (np.bincount(s.val.y, minlength=8) >= 1).all()
    same = tt.make_splits(prepared, sample=0.25, seed=0)
    assert np.array_equal(same.train.titles, s.train.titles)
    train, val, test = s  # unpacks like a tuple
    assert train is s.train and val is s.val and test is s.test
    reliable = tt.make_splits(prepared, sample=1.0, seed=0, reliable_only=True)
    assert set(reliable.train.label_quality) == {"reliable"} and len(reliable.test) == len(prepared.test)


def test_summaries(prepared):
    s = tt.summaries(prepared, sample=0.5, seed=1)
    json.dumps(s)  # plain data only
    assert s["num_classes"] == 8 and s["class_counts"]["full"]["train"][0] == 21  # 20 + the empty title
    assert sum(s["class_counts"]["sample"]["train"]) < sum(s["class_counts"]["full"]["train"])
    assert s["class_counts"]["sample"]["test"] == s["class_counts"]["full"]["test"]
    assert s["top_categories"][0] == {"category": "SNEAKERS", "count": 21}
    assert len(s["top_categories"]) == 8 and len(s["bottom_categories"]) == 8
    hist = s["length_histogram"]["train"]
    assert sum(hist["counts"]) == len(prepared.train) and hist["counts"][0] == 1  # the empty title
    assert 0.0 <= s["unk_share"]["validation"] <= 1.0 and 0.0 <= s["unk_share"]["test"] <= 1.0
    assert s["empty_titles"]["train"] == 1 and s["all_unk_titles"]["train"] >= 1
    assert tt.summaries(prepared)["class_counts"]["sample"] is None


def test_empty_files_and_huge_titles(tmp_path):
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        tt.read_jsonl_gz(empty)
    gz_empty = write_jsonl_gz(tmp_path / "gz_empty.jsonl.gz", [])
    assert len(tt.read_jsonl_gz(gz_empty)) == 0
    huge = "Zapatillas " * 10_000  # a 110,000-character title
    frame = tt.read_jsonl_gz(write_jsonl_gz(tmp_path / "huge.jsonl.gz", [course_row(huge, "SNEAKERS")]))
    assert len(frame["title"][0]) == len(huge)
    assert text.tokenize(huge)[:2] == ["zapatillas", "zapatillas"]


def test_prepare_with_a_huge_title_and_an_empty_split(tmp_path):
    folder = course_folder(tmp_path / "meli")
    rows = [course_row(title_for(c, i), CATEGORIES[c]) for i in range(10) for c in range(8)]
    rows.append(course_row("Mochila " * 20_000, "BACKPACKS"))
    write_jsonl_gz(folder / "spanish.train.jsonl.gz", rows)
    meta = tt.prepare(folder, tmp_path / "home", log=lambda m: None, workers=1)
    assert meta["counts"]["train"] == 81 and meta["max_len"] <= 64
    write_jsonl_gz(folder / "spanish.test.jsonl.gz", [])
    with pytest.raises(ValueError, match="test"):
        tt.prepare(folder, tmp_path / "home2", log=lambda m: None, workers=1)
