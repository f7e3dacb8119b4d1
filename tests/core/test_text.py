import json

import nltk
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import text
from core.text import PAD_ID, UNK_ID, LabelMap, Vocab, build_vocab, tokenize, tokenize_many


@pytest.mark.parametrize("title, expected", [
    ("Zapatillas Nike Air Max 90 <b>talle</b> 42!!", ["zapatillas", "nike", "air", "max", "talle"]),
    ("Celular Samsung A10s 32GB Libre De Fábrica, Envío Gratis", ["celular", "samsung", "libre", "fábrica", "envío", "gratis"]),
    ("Bolso Maternal/bebe Incluye Cambiador + Correa", ["bolso", "maternal", "bebe", "incluye", "cambiador", "correa"]),
    ("Mochilas Marietastore® (tdy 7352)", ["mochilas", "marietastore", "tdy"]),
    ("ÑANDÚ juguete_niño\tcon\nluz", ["ñandú", "juguete", "niño", "con", "luz"]),
    ("", []),
    ("123 456 7.5", []),
    ("😀😀😀 ", []),
])
def test_filters_on_real_looking_titles(title, expected):
    assert tokenize(title) == expected


def test_filter_order():
    names = [f.__name__ for f in text.FILTERS]
    assert names == ["lowercase", "strip_tags", "split_alphanum", "strip_punctuation", "strip_non_alphanum",
                     "strip_multiple_whitespaces", "strip_numeric", "strip_short3"]


def test_parallel_tokenize_equals_sequential(monkeypatch):
    titles = [f"Producto {i} Modelo X{i}Z talle <i>{i % 7}</i> Envío Gratis" for i in range(60)] + ["", "12"]
    monkeypatch.setattr(text, "CHUNK", 7)  # several chunks, so order across workers matters
    assert tokenize_many(titles, workers=2, min_parallel=0) == [tokenize(t) for t in titles]
    assert tokenize_many(titles, workers=1) == [tokenize(t) for t in titles]


TRAIN = [["zapato", "rojo", "para", "nene"], ["zapato", "azul", "para"], ["zapato", "rojo", "de"],
         ["remera", "azul"], ["remera"], ["raro"]]


def test_vocab_from_train_only():
    v = build_vocab(TRAIN, min_freq=2, max_size=100, stopwords={"para", "de"})
    assert v.tokens[:2] == ["[PAD]", "[UNK]"]
    assert set(v.tokens[2:]) == {"zapato", "rojo", "azul", "remera"}  # 'nene', 'raro' once; stopwords gone
    ids, n = v.encode(["zapato", "para", "nuevo", "rojo"], max_len=5)
    assert ids.dtype == np.int64 and ids.shape == (5,)
    # stopwords are dropped, unseen words are [UNK]
    assert list(ids) == [v.index["zapato"], UNK_ID, v.index["rojo"], PAD_ID, PAD_ID] and n == 3


def test_vocab_max_size_keeps_most_frequent():
    v = build_vocab(TRAIN, min_freq=1, max_size=2, stopwords=())
    # zapato is in 3 titles, the next five in 2: zapato and one of them are kept
    assert len(v) == 4 and v.tokens[2:].count("zapato") == 1
    assert set(v.tokens[2:]) <= {"zapato", "rojo", "para", "azul", "remera"}
    # stopwords are removed before the cut, so they take none of the max_size places
    v = build_vocab(TRAIN, min_freq=1, max_size=1, stopwords={"zapato"})
    assert len(v) == 3 and v.tokens[2] != "zapato"


def test_empty_and_stopword_only_encode_as_one_unk():
    v = build_vocab(TRAIN, min_freq=1, stopwords={"para"})
    ids, lengths = v.encode_many([[], ["para"], ["zapato"] * 9], max_len=4)
    assert ids.shape == (3, 4) and lengths.tolist() == [1, 1, 4]
    assert ids[0].tolist() == [UNK_ID, 0, 0, 0] and ids[1].tolist() == [UNK_ID, 0, 0, 0]
    assert ids[2].tolist() == [v.index["zapato"]] * 4  # truncated to max_len
    assert v.count_kept([[], ["para", "zapato"]]).tolist() == [0, 1]


def test_encode_many_matches_encode():
    v = build_vocab(TRAIN, min_freq=1, stopwords={"de"})
    lists = TRAIN + [[], ["nada", "de", "nada"]]
    ids, lengths = v.encode_many(lists, max_len=3)
    for row, toks in enumerate(lists):
        one, n = v.encode(toks, 3)
        assert one.tolist() == ids[row].tolist() and n == lengths[row]


def test_vocab_json_round_trip():
    v = build_vocab(TRAIN, min_freq=1, stopwords={"para"})
    back = Vocab.from_json(json.loads(json.dumps(v.to_json())))
    assert back == v and back.tokens == v.tokens and back.index == v.index


def test_label_map_order_and_unknown():
    labels = LabelMap.fit(["SHOES", "BAGS", "SHOES", "TOYS"])
    assert labels.names == ["SHOES", "BAGS", "TOYS"]
    assert labels.encode(["TOYS", "SHOES"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"'DRONES'.*row 2.*train"):
        labels.encode(["BAGS", "DRONES"], where="test.jsonl.gz")
    assert LabelMap.from_json(json.loads(json.dumps(labels.to_json()))) == labels


def test_stopwords_through_nltk_data(fake_stopwords):
    assert text.spanish_stopwords() == {"de", "para", "con", "los"}
    v = build_vocab(TRAIN, min_freq=1)  # default: NLTK's list
    assert "para" not in v.index and "de" not in v.index and "zapato" in v.index


def test_missing_stopwords_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nowhere")])
    monkeypatch.setattr(text, "_DOWNLOAD_TRIED", False)
    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise OSError("network unreachable")

    monkeypatch.setattr(nltk, "download", offline)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"NLTK_DATA.*corpora/stopwords.*nltk\.downloader stopwords"):
            text.spanish_stopwords()
    assert len(calls) == 1  # tried once, not on every call


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tokenize_property(title):
    tokens = tokenize(title)
    assert isinstance(tokens, list)
    for t in tokens:
        assert len(t) >= 3 and not any(c in "0123456789" for c in t)
        assert t == t.strip() and " " not in t


TRICKY = [
    "a <b>x</b> c <i", "> cierre", "<<b>a>", "<>x>", "ǂǂǂ separador ǂǂǂ", "abcǂǂǂdef", "X1Y2 ab12cd 12ab ñ12ñ",
    "İstanbul ÇANTA ßtraße", "tab\there\x1cgroup", "", "   ", "ab", "abc", "palabra_con-guiones.y/barras",
    "😀abc😀 ａｂｃ full-width", "\u00a0espacio\u2003raro", "<b>sin cierre", "dos  espacios",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.sampled_from(TRICKY)), max_size=12))
def test_batched_tokenize_equals_the_reference_filter_chain(titles):
    assert tokenize_many(titles, workers=1) == [tokenize(t) for t in titles]


def test_batched_tokenize_on_tricky_titles():
    assert tokenize_many(TRICKY, workers=1) == [tokenize(t) for t in TRICKY]
    assert tokenize_many(TRICKY * 3, workers=2, min_parallel=0) == [tokenize(t) for t in TRICKY * 3]
