"""Bad input of every kind the project reads: the corpus (corpus.py) through
the real readers with a sentinel folder around the data folder, the CLI as a
subprocess, and property-based tests of the readers and of
RunConfig.from_params. Each bad input ends in a ValueError whose message
names the file, line or option and what to do (or in a counted skip); none
raises anything else, hangs, fills the memory or writes outside the data
folder."""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import RunConfig, option_names
from core.data import heartbeat as hb
from core.data import titles as tt
from tests.reliability.corpus import CASES, ESCAPE, write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _small_archive_limit(monkeypatch):
    monkeypatch.setattr(hb, "MAX_ARCHIVE_BYTES", 2 << 20)  # 2 MiB: the size guard is reached in milliseconds


def _listing(folder: Path, skip: Path) -> list[str]:
    """Every path under folder except those inside skip (links marked)."""
    return sorted(str(p.relative_to(folder)) + ("@" if p.is_symlink() else "")
                  for p in folder.rglob("*") if p != skip and skip not in p.parents)


# ---------------------------------------------------------------------------
# the corpus
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus(case, tmp_path, request):
    if case.needs_stopwords:
        request.getfixturevalue("fake_stopwords")
    sentinel = tmp_path / "sentinel"  # inputs and the data folder side by side in here
    inputs, home = sentinel / "in", sentinel / "home"
    inputs.mkdir(parents=True)
    target = case.build(inputs)
    before = _listing(sentinel, home)
    if case.max_peak_mb:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        result, error = case.read(target, home), None
    except Exception as exc:  # noqa: BLE001 - the type is what is checked
        result, error = None, exc
    seconds = time.perf_counter() - started
    if case.max_peak_mb:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert peak < case.max_peak_mb, f"{case.id}: {peak:.0f} MB peak while reading"
    if case.outcome == "error":
        assert error is not None, f"{case.id}: accepted, returned {result!r:.200}"
        assert type(error) is ValueError, f"{case.id}: {type(error).__name__}: {error}"
        assert re.search(case.expect, str(error)), f"{case.id}: {error}"
    else:
        assert error is None, f"{case.id}: {type(error).__name__}: {error}"
        assert case.check(result), f"{case.id}: {result!r:.300}"
    assert seconds < case.max_seconds, f"{case.id}: {seconds:.1f} s"
    assert _listing(sentinel, home) == before, "written outside the data folder"
    assert not (tmp_path / ESCAPE).exists()
    if home.exists():
        assert not [p for p in home.rglob("*") if p.is_symlink()], "a link was created in the data folder"


def test_corpus_covers_every_format():
    formats = {c.format for c in CASES}
    assert {"Kaggle CSV", "MIT-BIH record", "MIT-BIH archive", "titles jsonl.gz", "challenge CSV", "run config",
            "study YAML"} <= formats
    assert len(CASES) >= 30
    kinds = " ".join(c.malformation.lower() for c in CASES)
    for kind in ("truncated", "utf-16", "latin-1", "binary", "wrong columns", "nan", "10 mb", "empty", "../",
                 "absolute", "symlink", "hardlink", "bomb"):
        assert kind in kinds, kind


def test_a_failed_prepare_keeps_the_previous_dataset(tmp_path, kaggle_dir):
    """A bad source leaves the prepared dataset as it was: runs keep working."""
    home = tmp_path / "home"
    good = hb.prepare(kaggle_dir, home, log=lambda m: None)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mitbih_train.csv").write_bytes(b"\0" * 100)
    (bad / "mitbih_test.csv").write_bytes((kaggle_dir / "mitbih_test.csv").read_bytes())
    with pytest.raises(ValueError, match="mitbih_train.csv"):
        hb.prepare(bad, home, log=lambda m: None)
    assert hb.dataset_info(home) == {k: v for k, v in good.items() if k != "reused"}
    assert len(hb.load_beats(home)) == 400
    assert sorted(p.name for p in (home / "cache").iterdir()) == sorted([Path(good["cache"]).name,
                                                                         Path(good["cache"]).with_suffix(".json").name])


def test_a_damaged_metadata_file_means_prepare_again(tmp_path, kaggle_dir):
    home = tmp_path / "home"
    meta = hb.prepare(kaggle_dir, home, log=lambda m: None)
    Path(meta["cache"]).with_suffix(".json").write_text('{"workload": "heart')  # cut by a crash or a full disk
    (home / "datasets" / "heartbeat.json").write_text("")
    assert hb.dataset_info(home) is None
    with pytest.raises(ValueError, match="python -m experiments prepare heartbeat"):
        hb.load_beats(home)
    again = hb.prepare(kaggle_dir, home, log=lambda m: None)  # rebuilt, not stuck on the damaged file
    assert not again["reused"] and len(hb.load_beats(home)) == 400


# ---------------------------------------------------------------------------
# the command line, as a user meets it
def _cli(args: list[str], home: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "experiments", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=180)


def test_cli_bad_arguments_give_one_line(tmp_path, kaggle_dir):
    home = tmp_path / "home"
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    bad_zip = write(tmp_path, "corrupt.zip", b"PK\x03\x04" + b"\x00" * 200)
    bad_yaml = write(tmp_path, "study.yaml", b"name: [unclosed\n")
    cases = [
        (["run", "heartbeat", "--epochs"], r"argument --epochs: expected one argument; see: python -m experiments run --help"),
        (["run", "heartbeat", "--bogus", "1"], r"unrecognized arguments: --bogus 1; see: python -m experiments --help"),
        (["prepare", "nothing"], r"argument workload: invalid choice: 'nothing'"),
        (["runs", "--limit", "abc"], r"argument --limit: invalid int value: 'abc'"),
        (["runs", "--limit", "0"], r"runs --limit 0 must be between 1 and 50000"),
        (["run", "heartbeat", "--lr", "nan"], r"--lr 'nan' is not a valid float"),
        (["run", "heartbeat", "--sample", "1e999"], r"--sample '1e999' is not a valid float"),
        (["run", "heartbeat", "--hidden-size", "9" * 30], r"--hidden-size 9{30} is too large \(max 4096\)"),
        (["run", "heartbeat", "--model", "grü"], r"--model 'grü' is not valid; choose one of: rnn"),
        (["run", "heartbeat", "--threads", "0"], r"--threads 0 must be at least 1"),
        (["run", "heartbeat", "--threads", "100000"], r"--threads 100000 must be at most \d+: this machine has \d+ cores"),
        (["bench", "heartbeat", "--threads", "100000"], r"--threads 100000 must be at most \d+: this machine has"),
        (["study", "architectures", "--threads", "100000"], r"--threads 100000 must be at most \d+: this machine"),
        (["reference", "run", "--threads", "100000"], r"--threads 100000 must be at most \d+: this machine has"),
        (["run", "heartbeat", "--noise-std", "1e30"], r"--noise-std 1e\+30 must be between 0 and 1: beats are scaled"),
        (["run", "heartbeat", "--val-fraction", "1e-9"], r"--val-fraction 1e-09 must be between 0\.01 and 0\.9"),
        (["study", "architectures", "--boot", "10000000"], r"--boot 10000000 must be at most 100,000: "),
        (["worker", "any-run", "--slots", "0"], r"--slots 0 must be at least 1"),
        (["--home", str(blocker / "sub"), "runs"], r"cannot create the data folder .*a-file/sub.*set RNN_ARENA_HOME or --home"),
        (["prepare", "heartbeat", "--source", str(bad_zip)], r"corrupt\.zip: "),
        (["export", "heartbeat", "--out", str(blocker / "out")], r"Not a directory: .*a-file/out"),
        (["study", "--file", str(bad_yaml)], r"study\.yaml is not valid YAML \(line 2\)"),
    ]
    _check_cli(cases, home)
    assert not (blocker.parent / "out").exists()


@pytest.mark.slow
def test_cli_bad_arguments_that_reach_mlflow_or_torch(tmp_path, kaggle_dir, fake_stopwords):
    home = tmp_path / "home"
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    bad_csv = write(tmp_path, "train.csv", b"title;category\nMochila;BACKPACKS\n")
    cases = [
        (["cancel", "no-such-run"], r"no run 'no-such-run' in .*list runs with: python -m experiments runs"),
        (["worker", "no-such-run"], r"no run 'no-such-run' in "),
        (["run", "--resume", "../../etc"], r"no run '\.\./\.\./etc' in "),
        (["prepare", "titles", "--source", str(bad_csv)], r"train\.csv: line 1 has columns .*expected the header"),
    ]
    _check_cli(cases, home)


def _check_cli(cases: list[tuple[list[str], str]], home: Path) -> None:
    env = {"NLTK_DATA": os.environ.get("NLTK_DATA", "")}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: _cli(c[0], home, env), cases))
    wrong = []
    for (args, expect), done in zip(cases, results):
        lines = done.stderr.strip().splitlines()
        ok = (done.returncode == 2 and "Traceback" not in done.stderr and len(lines) == 1
              and lines[0].startswith("error: ") and re.search(expect, lines[0]))
        if not ok:
            wrong.append(f"{args}: status {done.returncode}, stderr {done.stderr[-500:]!r}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------
# property-based: random bytes and rows into the readers
def _reads_or_says_why(read, path: Path):
    """The reader's result, or None after a ValueError (never a subclass or
    another type) that names the file."""
    try:
        return read(path)
    except ValueError as exc:
        assert type(exc) is ValueError, f"{type(exc).__name__}: {exc}"
        assert path.name in str(exc), str(exc)
        return None


CELL = st.one_of(
    st.sampled_from(["0.5", "0", "1", "nan", "NaN", "inf", "-inf", "-0.1", "1.5", "", " ", "abc", "1e400", "0x1",
                     '"0.5"', "'", "1e-400", "+0.5", ".5", "5."]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=4),
)


@st.composite
def kaggle_text(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        n = draw(st.sampled_from([188, 188, 188, 187, 189, 1, 2]))
        cells = ["0.5"] * (n - 1) + [draw(st.sampled_from(["0", "4", "2.0", "1"]))]
        for _ in range(draw(st.integers(0, 3))):
            cells[draw(st.integers(0, n - 1))] = draw(CELL)
        lines.append(",".join(cells))
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return (sep.join(lines) + draw(st.sampled_from(["", sep]))).encode("utf-8", "surrogatepass")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(kaggle_text(), st.binary(max_size=600)))
def test_kaggle_reader_on_random_rows_and_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mitbih_train.csv"
        path.write_bytes(data)
        got = _reads_or_says_why(hb.read_kaggle_csv, path)
        if got is not None:
            x, y = got
            assert x.shape == (len(y), 187) and x.dtype == np.float32
            assert np.isfinite(x).all() and ((x >= 0) & (x <= 1)).all() and set(y) <= set(range(5))


FIELD = st.one_of(st.text(max_size=12), st.sampled_from(["", '"', '""', "a,b", "SNEAKERS", "spanish", "reliable",
                                                          "\r", "\x00", "\ufeff", "Ñandú"]))


@st.composite
def challenge_text(draw) -> bytes:
    header = draw(st.sampled_from(["title,label_quality,language,category", "title,category",
                                   "category,language,label_quality,title", "", "title"]))
    rows = draw(st.lists(st.lists(FIELD, min_size=1, max_size=6), max_size=6))
    buf = io.StringIO()
    if draw(st.booleans()):  # quoted properly, or joined raw (broken quoting)
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(([header.split(",")] if header else []) + rows)
        text = buf.getvalue()
    else:
        text = "\n".join(([header] if header else []) + [",".join(r) for r in rows]) + "\n"
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.filterwarnings("error::pandas.errors.ParserWarning")  # pandas' warning meant dropped fields
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(challenge_text(), st.binary(max_size=400)), st.booleans(), st.sampled_from(["spanish", None]))
def test_challenge_reader_on_random_rows_and_bytes(data, compress, language):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("train.csv.gz" if compress else "train.csv")
        path.write_bytes(gzip.compress(data) if compress else data)
        frame = _reads_or_says_why(lambda p: tt.read_challenge_csv(p, language=language, chunksize=3), path)
        if frame is not None:
            assert list(frame.columns) == ["title", "category", "label_quality", "language"]
            assert (frame["category"].str.strip() != "").all()


JSON = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(st.characters(exclude_categories=()), max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
ROW = st.fixed_dictionaries({"title": JSON, "category": JSON}, optional={"label_quality": JSON, "language": JSON})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(ROW.map(lambda r: json.dumps(r).encode()), JSON.map(lambda v: json.dumps(v).encode()),
                          st.binary(max_size=40)), max_size=5))
def test_jsonl_reader_on_random_json_lines(lines):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "spanish.train.jsonl.gz"
        path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
        frame = _reads_or_says_why(tt.read_jsonl_gz, path)
        if frame is not None:
            assert list(frame.columns) == ["title", "category", "label_quality", "language"]
            for column in frame.columns:  # storable: the cache and pandas need encodable text
                assert all(isinstance(v, str) and v.encode("utf-8") is not None for v in frame[column])


# ---------------------------------------------------------------------------
# property-based: RunConfig.from_params (tests/core/test_config.py covers text values of the options)
OPTION = re.compile(r"\b(data|model|train)\.\w+")
ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.floats(),
                      st.text(max_size=8), st.lists(st.integers(), max_size=2), st.binary(max_size=4),
                      st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(option_names()), ANY_VALUE, max_size=6))
def test_from_params_on_any_python_values(params):
    """Params from YAML studies or the dashboard arrive as any Python value."""
    try:
        cfg = RunConfig.from_params(params)
    except ValueError as exc:
        assert type(exc) is ValueError and OPTION.search(str(exc)), str(exc)
    else:
        assert RunConfig.from_params(cfg.to_params()) == cfg


NUMERIC = [k for k in option_names() if k.split(".")[1] in {
    "sample", "val_fraction", "split_seed", "noise_std", "scale_range", "max_shift", "hidden_size", "num_layers",
    "dropout", "trim_steps", "head_hidden", "head_dropout", "embedding_dim", "epochs", "batch_size", "lr",
    "weight_decay", "warmup_epochs", "grad_clip", "label_smoothing", "early_stopping", "seed", "frame"}]
NUMBER_TEXT = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats().map(repr), st.floats(-2, 2).map(str),
                        st.from_regex(r"\A\s?[-+]?\d{1,4}(_\d{3})?(\.\d{0,3})?([eE][-+]?\d{1,3})?\s?\Z"),
                        st.sampled_from(["1e309", "-1e309", "0x10", "1/2", "½", "١٢", "1.0.0", "--1", "1e", ""]))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(NUMERIC), NUMBER_TEXT, min_size=1, max_size=4))
def test_from_params_on_number_like_text(params):
    try:
        cfg = RunConfig.from_params(params)
    except ValueError as exc:
        assert type(exc) is ValueError and OPTION.search(str(exc)), str(exc)
    else:
        assert RunConfig.from_params(cfg.to_params()) == cfg
        for key, value in cfg.to_params().items():  # what was accepted is finite and in range
            if key in NUMERIC:
                assert np.isfinite(float(value)), key


def test_seeds_torch_cannot_use_are_refused_by_the_config():
    with pytest.raises(ValueError, match="train.seed"):
        RunConfig.from_params({"train.seed": str(10**23)})


def test_an_impossible_head_size_is_refused_by_the_config():
    with pytest.raises(ValueError, match="model.head_hidden"):
        RunConfig.from_params({"model.head_hidden": "100000000000"})


def test_error_messages_cut_long_values():
    with pytest.raises(ValueError) as err:
        RunConfig.from_params({"model.hidden_size": "9" * 4000})
    assert len(str(err.value)) < 200 and "4000 characters" in str(err.value)
    with pytest.raises(ValueError) as err:
        RunConfig.from_params({"model.name": "x" * 5000})
    assert "5000 characters" in str(err.value) and len(str(err.value)) < 400


# ---------------------------------------------------------------------------
# study files in another encoding, and a grid too large to expand
@pytest.mark.parametrize("data", [b"name: x\n".decode().encode("utf-16"), bytes(range(256))], ids=["utf16", "binary"])
def test_study_file_in_another_encoding(tmp_path, data):
    from experiments import studies

    path = write(tmp_path, "study.yaml", data)
    with pytest.raises(ValueError) as err:
        studies.load_study(path)
    assert type(err.value) is ValueError and "study.yaml" in str(err.value)


def test_a_huge_study_grid_is_refused_quickly(tmp_path):
    path = tmp_path / "big.yaml"
    factors = "".join(f"  {k}: [{', '.join(str(v) for v in range(1, 11))}]\n" for k in (
        "model.hidden_size", "model.num_layers", "train.epochs", "train.batch_size", "model.head_hidden",
        "train.early_stopping", "model.trim_steps", "data.max_shift"))
    path.write_text(f"name: big\nfactors:\n{factors}")
    code = ("import sys; sys.path.insert(0, '.'); from experiments import studies\n"
            f"try:\n    studies.trials(studies.load_study({str(path)!r}))\nexcept ValueError as e:\n    print('refused:', e)")
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=20,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        done = None
    assert done is not None and "refused:" in done.stdout
