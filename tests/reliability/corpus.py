"""The bad-input corpus: every format RNN Arena reads, broken in the ways
files of unknown origin break (truncated, wrong encoding, wrong columns,
NaN/inf, huge lines, empty, archives with `../`, absolute paths, links and
bombs), each with the outcome it must have.

Everything is generated here, from a seed; nothing binary is committed.
A case is `build(inputs)` -> the thing to read, `read(target, home)` -> call
the project's reader on it with `home` as the data folder, and the expected
outcome: a ValueError whose message matches `expect` (it names the file, line
or option and says what to do), or, for `outcome="parsed"`/`"skipped"`, a
return value that `check` accepts.

    .venv/bin/python tests/reliability/corpus.py   # runs every case, prints the report's table
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random
import struct
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROW = ",".join(["0.5"] * 187)
MB10 = 10 * 1024 * 1024
ESCAPE = "rnn-arena-escape"  # the name every traversal case tries to write outside the data folder


@dataclass
class Case:
    id: str
    format: str
    malformation: str
    build: Callable[[Path], Any]
    read: Callable[[Any, Path], Any]
    expect: str = ""  # regex the ValueError's message must match (for outcome="error")
    outcome: str = "error"  # "error", "parsed" or "skipped"
    check: Callable[[Any], bool] | None = None  # for parsed/skipped: what the result must be
    max_seconds: float = 15.0
    max_peak_mb: float | None = None  # Python-heap peak while reading (bombs, huge lines)
    needs_stopwords: bool = False
    note: str = ""  # what the report says happened


# ---------------------------------------------------------------------------
# writers of well-formed pieces
def good_beats(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 5
    x = np.zeros((n, 187), np.float32)
    for i in range(n):
        length = int(rng.integers(60, 188))
        x[i, :length] = rng.uniform(0.05, 1.0, length)
    return x, y.astype(np.int64)


def kaggle_folder(inputs: Path, train: bytes, test: bytes | None = None) -> Path:
    """A source folder with a (bad) mitbih_train.csv and a good mitbih_test.csv."""
    from core.data.heartbeat import write_kaggle_csv

    folder = inputs / "kaggle"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mitbih_train.csv").write_bytes(train)
    if test is None:
        x, y = good_beats(20, seed=1)
        write_kaggle_csv(folder / "mitbih_test.csv", x, y)
    else:
        (folder / "mitbih_test.csv").write_bytes(test)
    return folder


def good_kaggle_bytes(n: int = 20) -> bytes:
    x, y = good_beats(n)
    buf = io.StringIO()
    np.savetxt(buf, np.concatenate([x.astype(np.float64), y[:, None].astype(np.float64)], axis=1), fmt="%.18e",
               delimiter=",")
    return buf.getvalue().encode()


def record_folder(inputs: Path, name: str = "records", n_beats: int = 30) -> Path:
    from tests.conftest import write_record

    folder = inputs / name
    folder.mkdir(parents=True, exist_ok=True)
    write_record(folder, "100", n_beats=n_beats, seed=0)
    return folder


def record_bytes(inputs: Path) -> dict[str, bytes]:
    folder = record_folder(inputs, "_good")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def header_with_length(inputs: Path, sig_len: int) -> bytes:
    """Record 100's header with another signal length on its first line."""
    lines = record_bytes(inputs)["100.hea"].decode().splitlines()
    first = lines[0].split()
    first[3] = str(sig_len)
    return ("\n".join([" ".join(first)] + lines[1:]) + "\n").encode()


def records_with(inputs: Path, **replace: bytes) -> Path:
    """Record 100 with some of its files replaced (key '100_hea' for 100.hea)."""
    folder = record_folder(inputs)
    for key, data in replace.items():
        (folder / key.replace("_", ".")).write_bytes(data)
    return folder


def jsonl_gz(inputs: Path, lines: list[bytes], name: str = "spanish.train.jsonl.gz") -> Path:
    path = inputs / name
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    return path


def titled(title: str, category: str = "BACKPACKS") -> bytes:
    return json.dumps({"title": title, "category": category, "label_quality": "reliable", "language": "spanish"}).encode()


CSV_HEADER = b"title,label_quality,language,category\n"


def challenge_rows(n: int = 30) -> bytes:
    cats = ["BACKPACKS", "LAMPS", "DRILLS"]
    return b"".join(f"Mochila modelo {i},reliable,spanish,{cats[i % 3]}\n".encode() for i in range(n))


def write(inputs: Path, name: str, data: bytes) -> Path:
    path = inputs / name
    path.write_bytes(data)
    return path


def gzip_bomb(size: int, chunk: bytes = b"a" * (1 << 20)) -> bytes:
    """`size` bytes of one repeated chunk and no newline, gzip-compressed (about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(out) + comp.flush()


# ---------------------------------------------------------------------------
# archives
def _zip(path: Path, members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # unix
            info.external_attr = (0o120777 << 16)  # a symbolic link
            zf.writestr(info, target)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def lying_zip(path: Path, real: int, declared: int) -> Path:
    """A zip whose 100.dat inflates to `real` bytes while both its headers
    say `declared` (a zip bomb that lies about its size)."""
    _zip(path, [("100.dat", b"\0" * real)])
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)  # uncompressed size, local header
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)  # uncompressed size, central directory
    path.write_bytes(bytes(data))
    return path


def escape_target(inputs: Path) -> Path:
    """An absolute path outside the data folder that an archive member names."""
    return inputs.parent / ESCAPE / "100.hea"


# ---------------------------------------------------------------------------
# readers
def hb_prepare(source: Path, home: Path):
    from core.data import heartbeat as hb

    return hb.prepare(source, home, log=lambda m: None)


def read_kaggle(path: Path, home: Path):
    from core.data import heartbeat as hb

    return hb.read_kaggle_csv(path)


def read_jsonl(path: Path, home: Path):
    from core.data import titles as tt

    return tt.read_jsonl_gz(path)


def read_challenge(path: Path, home: Path):
    from core.data import titles as tt

    return tt.read_challenge_csv(path)


def titles_prepare(source: Path, home: Path):
    from core.data import titles as tt

    return tt.prepare(source, home, log=lambda m: None, workers=1)


def from_params(params: dict, home: Path):
    from core.config import RunConfig

    return RunConfig.from_params(params)


def study(path: Path, home: Path):
    from experiments import studies

    return studies.trials(studies.load_study(path))


def study_text(path: Path, home: Path):
    """The dashboard's Studies form: the same text, handed to the parser as text."""
    from experiments import studies

    return studies.trials(studies.study_from_text(path.read_text(encoding="utf-8"), "the study"))


def aliases(levels: int = 8) -> str:
    """Anchors that double nine-fold per level ("billion laughs"): *h is 9**8 values once expanded."""
    return "a: &a [8,8,8,8,8,8,8,8,8]\n" + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
                                                    for p, c in zip("abcdefg"[:levels - 1], "bcdefgh"))


def grid_yaml(factors: int, seeds: int) -> bytes:
    keys = ("model.hidden_size", "model.num_layers", "train.epochs", "train.batch_size", "model.head_hidden")
    body = "".join(f"  {k}: [{', '.join(str(v) for v in range(1, 11))}]\n" for k in keys[:factors])
    return f"name: big\nseeds: {seeds}\nfactors:\n{body}".encode()


# -- the MLflow store (the data folder's mlflow.db) and tracking URIs
def store_home(inputs: Path) -> Path:
    """The data folder the case reads (corpus cases get it as `home`)."""
    return inputs.parent / "home"


def good_store_bytes(inputs: Path) -> bytes:
    """A real MLflow store with one experiment and three runs, checkpointed into one file."""
    import sqlite3

    from experiments import mlflow_tracker as T

    folder = inputs / "_good-store"
    T._CLIENTS.clear()
    exp = T.experiment_id(folder, "heartbeat")
    for _ in range(3):
        T.client(folder).create_run(exp)
    T._CLIENTS.clear()
    conn = sqlite3.connect(folder / "mlflow.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = (folder / "mlflow.db").read_bytes()
    import shutil

    shutil.rmtree(folder)
    return data


def damaged_store(change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def build(inputs: Path) -> Path:
        data = change(good_store_bytes(inputs))
        home = store_home(inputs)
        home.mkdir(parents=True)
        (home / "mlflow.db").write_bytes(data)
        return home
    return build


def store_with_sql(sql: str) -> Callable[[Path], Path]:
    def build(inputs: Path) -> Path:
        import sqlite3

        home = damaged_store(lambda b: b)(inputs)
        conn = sqlite3.connect(home / "mlflow.db")
        conn.executescript(sql)
        conn.close()
        return home
    return build


def folder_as_store(inputs: Path) -> Path:
    home = store_home(inputs)
    (home / "mlflow.db").mkdir(parents=True)
    return home


def open_store(home: Path, _home: Path):
    """What every command does first: open the store and list its experiments."""
    from experiments import mlflow_tracker as T

    T._CLIENTS.clear()
    try:
        return [e.name for e in T.client(home).search_experiments()]
    finally:
        T._CLIENTS.clear()


def free_port(listening: bool) -> int:
    """A local port nobody listens on, or one that accepts connections and never answers."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if listening:
        sock.listen(8)
        _KEEP.append(sock)  # open while the case runs
    else:
        sock.close()
    return port


_KEEP: list = []


def with_tracking_uri(uri: Callable[[], str]) -> Callable[[Path, Path], Any]:
    def read(home: Path, _home: Path):
        from experiments.settings import ENV_TRACKING_URI

        before = os.environ.get(ENV_TRACKING_URI)
        os.environ[ENV_TRACKING_URI] = uri()
        try:
            return open_store(home, home)
        finally:
            if before is None:
                os.environ.pop(ENV_TRACKING_URI, None)
            else:
                os.environ[ENV_TRACKING_URI] = before
            while _KEEP:
                _KEEP.pop().close()
    return read


# ---------------------------------------------------------------------------
# reference records from elsewhere (experiments.reference.import_records)
REF_RECORD = ROOT / "results" / "reference" / "architectures" / "gru-bidirectional-false-seed0.json"
REF_LABELS = ROOT / "results" / "reference" / "labels" / "heartbeat-intra-patient-b78104de5af29fdc.json"


def zlib_bomb(megabytes: int) -> bytes:
    """A valid zlib stream of `megabytes` MiB of zeros, about 1,000 times
    smaller, built in milliseconds (one flushed block repeated)."""
    import struct

    chunk = b"\0" * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    n = megabytes << 20
    return b"\x78\xda" + block * megabytes + end + struct.pack(">I", ((n % 65521) << 16) | 1)


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def reference_root(change: Callable[[dict], Any] | None = None, labels: Callable[[dict], Any] | None = None,
                   raw: Callable[[Path], Any] | None = None, name: str = "gru-bidirectional-false-seed0.json",
                   labels_raw: Callable[[Path], Any] | None = None) -> Callable[[Path], Path]:
    """A folder of records (as results/reference) holding one real record
    and its label file, `change`d (a function of the record's dict, or of
    the label file's dict), or written by `raw`/`labels_raw` (a function of
    the path)."""
    def build(inputs: Path) -> Path:
        root = inputs / "reference"
        rec = json.loads(REF_RECORD.read_text())
        lab = json.loads(REF_LABELS.read_text())
        if change:
            change(rec)
        if labels:
            labels(lab)
        folder = root / "architectures"
        folder.mkdir(parents=True)
        (root / "labels").mkdir()
        lpath = root / "labels" / REF_LABELS.name
        if labels_raw:
            labels_raw(lpath)
        else:
            lpath.write_text(json.dumps(lab))
        path = folder / name
        if raw:
            raw(path)
        else:
            path.write_text(json.dumps(rec))
        return root
    return build


def import_reference(root: Path, home: Path):
    """import_records on `root`; whatever it ends in, no run may be left
    RUNNING or SCHEDULED in the store."""
    from experiments import mlflow_tracker as T
    from experiments import reference as R

    try:
        return R.import_records(home, root, log=lambda m: None)
    finally:
        if (home / "mlflow.db").exists():
            import sqlite3

            with sqlite3.connect(home / "mlflow.db") as db:
                left = db.execute("SELECT count(*) FROM runs WHERE status IN ('RUNNING', 'SCHEDULED')").fetchone()[0]
            assert left == 0, f"{left} run(s) left RUNNING or SCHEDULED"
        T._CLIENTS.clear()


def _set(key: str, value: Any) -> Callable[[dict], None]:
    def change(rec: dict) -> None:
        rec[key] = value
    return change


def _pred(values: np.ndarray | None = None, stream: bytes | None = None, n: int | None = None) -> Callable[[dict], None]:
    def change(rec: dict) -> None:
        from experiments.reference import pack

        packed = pack(values) if values is not None else dict(rec["test_pred"])
        if stream is not None:
            packed["zlib_b64"] = b64(stream)
        if n is not None:
            packed["n"] = n
        rec["test_pred"] = packed
    return change


def _real_pred() -> np.ndarray:
    from experiments.reference import unpack

    return unpack(json.loads(REF_RECORD.read_text())["test_pred"])


def _out_of_range(rec: dict) -> None:
    y = _real_pred().copy()
    y[7] = 9  # five classes: 0..4
    _pred(y)(rec)


def _truncated(rec: dict) -> None:
    import base64

    stream = base64.b64decode(rec["test_pred"]["zlib_b64"])
    rec["test_pred"]["zlib_b64"] = b64(stream[: len(stream) // 2])


def _swapped_labels(lab: dict) -> None:
    from experiments.reference import pack, unpack

    y = unpack(lab["y_true"])
    lab["y_true"] = pack(np.random.default_rng(0).permutation(y))  # same counts, other order: the digest differs


def _huge_record(path: Path) -> None:
    rec = json.loads(REF_RECORD.read_text())
    rec["history"]["train/loss"] = [0.123456789] * 3_500_000  # about 47 MB
    path.write_text(json.dumps(rec))


def _link_to(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.symlink_to(target)
    return make


def python_study(inputs: Path) -> Path:
    """A study file in Python whose code would leave a file outside the data folder."""
    return write(inputs, "s.py", f'open({str(inputs.parent.parent / ESCAPE)!r}, "w").write("ran")\n'
                                 'STUDY = {"name": "x", "factors": {"model.hidden_size": [8, 16]}}\n'.encode())


def stream_titles(path: Path, home: Path):
    """StreamingTitleDataset over a file whose categories are partly unknown: (rows, skipped)."""
    from core.data import title_datasets as td
    from core.text import LabelMap, build_vocab

    ds = td.StreamingTitleDataset(path, build_vocab([["mochila"]], min_freq=1, stopwords=()), LabelMap(["BACKPACKS"]),
                                  max_len=4, buffer_size=1)
    rows = list(ds)
    return len(rows), ds.skipped


def course_folder_with(inputs: Path, train_lines: list[bytes]) -> Path:
    folder = inputs / "meli"
    folder.mkdir(parents=True, exist_ok=True)
    base = [titled(f"Mochila escolar modelo {i}", "BACKPACKS") for i in range(6)] + \
           [titled(f"Lampara de mesa modelo {i}", "LAMPS") for i in range(6)]
    jsonl_gz(folder, base + train_lines, "spanish.train.jsonl.gz")
    jsonl_gz(folder, base[:2] + base[6:8], "spanish.validation.jsonl.gz")
    jsonl_gz(folder, base[2:4] + base[8:10], "spanish.test.jsonl.gz")
    return folder


def _stored_title_width(meta: dict) -> bool:
    with np.load(Path(meta["cache"]) / "train.npz") as z:
        return z["titles"].dtype.itemsize <= 4 * 1000 and len(z["titles"]) == meta["counts"]["train"]


# ---------------------------------------------------------------------------
# the corpus
def cases() -> list[Case]:
    rng = random.Random(2024)
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    good = good_kaggle_bytes()
    out: list[Case] = []
    add = out.append

    # -- heartbeat: Kaggle CSVs (through prepare: the path the CLI and dashboard take)
    K = "Kaggle CSV"
    add(Case("kaggle-cut-mid-line", K, "truncated in the middle of a line", lambda d: kaggle_folder(d, good[: len(good) // 2 + 1234]),
             hb_prepare, r"mitbih_train\.csv: line \d+ has \d+ values, expected 188 \(the line may be truncated\); fix or re-download"))
    add(Case("kaggle-binary", K, "binary garbage", lambda d: kaggle_folder(d, garbage), hb_prepare,
             r"mitbih_train\.csv: (not a plain ASCII CSV|found \d+ columns, expected 188).*is this (the|a) Kaggle"))
    add(Case("kaggle-utf16-no-bom", K, "UTF-16 without BOM", lambda d: kaggle_folder(d, (ROW + ",0\n").encode("utf-16-le") * 3),
             hb_prepare, r"mitbih_train\.csv: line \d+ has 1 values, expected 188 .*fix or re-download"))
    add(Case("kaggle-nul-bytes", K, "NUL bytes", lambda d: kaggle_folder(d, b"\0" * 5000), hb_prepare,
             r"mitbih_train\.csv: found 1 columns, expected 188 .*on line 1; is this a Kaggle mitbih_\*\.csv file\?"))
    add(Case("kaggle-header-row", K, "a header row of names", lambda d: kaggle_folder(
        d, (",".join(f"c{i}" for i in range(188)) + "\n").encode() + good), hb_prepare,
             r"mitbih_train\.csv, line 1, column 1 is not a number: 'c0'; fix or re-download"))
    add(Case("kaggle-semicolons", K, "wrong separator (one column)", lambda d: kaggle_folder(d, good.replace(b",", b";")),
             hb_prepare, r"mitbih_train\.csv: found 1 columns, expected 188 .*is this a Kaggle mitbih_\*\.csv file\?"))
    add(Case("kaggle-out-of-range", K, "values outside [0, 1]", lambda d: kaggle_folder(d, good + (",".join(["5.0"] * 187) + ",0\n").encode()),
             hb_prepare, r"mitbih_train\.csv, line 21, column 1 is 5; Kaggle's beats are scaled to \[0, 1\]"))
    add(Case("kaggle-overflow", K, "1e300 (float32 overflow)", lambda d: kaggle_folder(d, (",".join(["1e300"] * 187) + ",0\n").encode()),
             hb_prepare, r"mitbih_train\.csv, line 1, column 1 is 1e\+300; Kaggle's beats are scaled to \[0, 1\]"))
    add(Case("kaggle-nan-label", K, "NaN label", lambda d: kaggle_folder(d, (ROW + ",NaN\n").encode()), hb_prepare,
             r"mitbih_train\.csv, line 1, column 188 is not a number: 'NaN'; fix or re-download"))
    add(Case("kaggle-10mb-line-1", K, "10 MB single line (line 1)", lambda d: kaggle_folder(d, b"0.5," * (MB10 // 4) + b"0\n"),
             hb_prepare, r"mitbih_train\.csv: line 1 is longer than 64 KiB .*is this a Kaggle mitbih_\*\.csv file\?",
             max_seconds=5))
    add(Case("kaggle-10mb-line-2", K, "10 MB line after a good one", lambda d: kaggle_folder(d, good[:5000].split(b"\n")[0] + b"\n"
                                                                                               + b"0.5," * (MB10 // 4) + b"0\n"),
             hb_prepare, r"mitbih_train\.csv: line 2 has 2621441 values, expected 188", max_seconds=10))
    add(Case("kaggle-blank-lines", K, "empty (only newlines)", lambda d: kaggle_folder(d, b"\n\n\n"), hb_prepare,
             r"mitbih_train\.csv: the file is empty; download it again"))
    add(Case("kaggle-unterminated-quote", K, "an unterminated quote", lambda d: kaggle_folder(d, b'"' + good), hb_prepare,
             r"mitbih_train\.csv: .*EOF inside string.*each line must have 187 values and a label"))
    add(Case("kaggle-only-train", K, "one of the two files missing", lambda d: (kaggle_folder(d, good) / "mitbih_test.csv").unlink()
             or d / "kaggle", hb_prepare, r"kaggle: mitbih_test\.csv is missing next to mitbih_train\.csv; Kaggle's data needs both files"))

    # -- heartbeat: raw PhysioNet records (folder)
    R = "MIT-BIH record"
    add(Case("record-hea-binary", R, "header is binary garbage", lambda d: records_with(d, **{"100_hea": garbage}), hb_prepare,
             r"record 100 in .*records could not be read .*download it again"))
    add(Case("record-hea-utf16", R, "header in UTF-16", lambda d: records_with(
        d, **{"100_hea": record_bytes(d)["100.hea"].decode().encode("utf-16")}), hb_prepare,
             r"record 100 in .*records could not be read .*download it again"))
    add(Case("record-hea-huge-length", R, "header declares 2e9 samples (memory)", lambda d: records_with(
        d, **{"100_hea": header_with_length(d, 2_000_000_000)}), hb_prepare,
             r"record 100: 100\.hea declares 2,000,000,000 samples, more than 100\.dat holds .*download the record again",
             max_seconds=5))
    add(Case("record-hea-traversal", R, "header names ../secret.dat as its signal", lambda d: (
        write(d, "secret.dat", b"\x01" * 30000), records_with(d, **{"100_hea": record_bytes(d)["100.hea"].replace(
            b"100.dat", b"../secret.dat")}))[1], hb_prepare, r"record 100 in .*could not be read \(HeaderSyntaxError"))
    add(Case("record-dat-empty", R, "signal file empty (truncated to 0)", lambda d: records_with(d, **{"100_dat": b""}), hb_prepare,
             r"record 100: 100\.hea declares [\d,]+ samples, more than 100\.dat holds \(0 bytes\)"))
    add(Case("record-dat-device", R, "signal file is a link to /dev/zero", lambda d: (
        records_with(d), (d / "records" / "100.dat").unlink(), (d / "records" / "100.dat").symlink_to("/dev/zero"))[0],
             hb_prepare, r"record 100: 100\.dat is missing from .*every record needs \.hea, \.dat and \.atr", max_seconds=5))
    add(Case("record-atr-empty", R, "annotation file empty", lambda d: records_with(d, **{"100_atr": b""}), hb_prepare,
             r"record 100: 100\.atr holds no beat annotations .*download the record again"))
    add(Case("record-atr-garbage", R, "annotation file is garbage", lambda d: records_with(d, **{"100_atr": garbage}), hb_prepare,
             r"record 100.*(could not be read|annotations point past the end)"))

    # -- heartbeat: archives of records (.zip / .tar.*)
    A = "MIT-BIH archive"

    def members(d: Path, prefix: str = "") -> list[tuple[str, bytes]]:
        return [(prefix + n, b) for n, b in record_bytes(d).items()]

    def is_built(meta) -> bool:
        return meta["kind"] == "raw-archive" and meta["beats"] == 29  # record 100's 30 beats but the last

    add(Case("zip-dotdot", A, "zip members named ../../../x", lambda d: _zip(d / "dotdot.zip", members(d, "../../../")
                                                                           + [(f"../../../{ESCAPE}.hea", b"x")]),
             hb_prepare, outcome="parsed", check=is_built, note="members flattened to their file name; built, nothing written outside"))
    add(Case("tar-dotdot", A, "tar members named ../../../x", lambda d: _tar(d / "dotdot.tar", members(d, "../../../")
                                                                          + [(f"../../../{ESCAPE}.hea", b"x")]),
             hb_prepare, outcome="parsed", check=is_built, note="members flattened to their file name; built, nothing written outside"))
    add(Case("tar-absolute", A, "tar members with absolute paths", lambda d: _tar(d / "abs.tar.gz", [
        (str(escape_target(d)), b"x")] + members(d, "/"), "w:gz"),
             hb_prepare, outcome="parsed", check=is_built, note="absolute names flattened; nothing at the absolute path"))
    add(Case("tar-symlink", A, "tar symlink 100.dat -> /etc/passwd", lambda d: _tar(d / "links.tar", [
        m for m in members(d) if m[0] != "100.dat"] + [_link("100.dat", "/etc/passwd", tarfile.SYMTYPE)]),
             hb_prepare, r"record 100: 100\.dat is missing from .*every record needs", note="link skipped, record incomplete"))
    add(Case("tar-hardlink", A, "tar hardlink 100.dat -> /etc/passwd", lambda d: _tar(d / "hard.tar", [
        m for m in members(d) if m[0] != "100.dat"] + [_link("100.dat", "/etc/passwd", tarfile.LNKTYPE)]),
             hb_prepare, r"record 100: 100\.dat is missing from", note="link skipped, record incomplete"))
    add(Case("tar-device", A, "tar character device named 100.dat", lambda d: _tar(d / "dev.tar", [
        m for m in members(d) if m[0] != "100.dat"] + [_link("100.dat", "", tarfile.CHRTYPE)]),
             hb_prepare, r"record 100: 100\.dat is missing from", note="device skipped"))
    add(Case("zip-symlink", A, "zip symlink 100.dat -> /etc/passwd", lambda d: _zip(d / "links.zip", [
        m for m in members(d) if m[0] != "100.dat"], {"100.dat": "/etc/passwd"}),
             hb_prepare, r"record 100: 100\.hea declares [\d,]+ samples, more than 100\.dat holds \(11 bytes\)",
             note="unpacked as an 11-byte plain file, never a link"))
    add(Case("zip-bomb-lying-size", A, "zip bomb: 50 MB member whose headers say 1 KB", lambda d: lying_zip(d / "bomb.zip", 50 << 20, 1000),
             hb_prepare, r"bomb\.zip: (the archive is corrupt or truncated|a member unpacks to more than it declares)",
             max_peak_mb=64))
    add(Case("tar-bomb-over-limit", A, "tar.gz that unpacks past the size limit", lambda d: _tar(d / "bomb.tar.gz", [
        ("100.dat", b"\0" * (3 << 20))], "w:gz"), hb_prepare, r"bomb\.tar\.gz: unpacks to more than 0 GiB; refusing",
             note="limit lowered to 2 MiB for the test (2 GiB in use)"))
    add(Case("zip-truncated", A, "zip cut in half", lambda d: write(d, "cut.zip", _zip(d / "_full.zip", members(d)).read_bytes()[:9000]),
             hb_prepare, r"cut\.zip: (not a \.zip or \.tar archive|the archive is corrupt or truncated)"))
    add(Case("archive-text", A, "a text file named .zip", lambda d: write(d, "notes.zip", b"hello, this is not an archive\n"),
             hb_prepare, r"notes\.zip: not a \.zip or \.tar archive; give a folder, a \.zip or a \.tar\.\* of the records"))
    add(Case("zip-empty", A, "empty zip", lambda d: _zip(d / "empty.zip", []), hb_prepare,
             r"no MIT-BIH records found \(expected files like 100\.hea.*give a folder or archive"))
    add(Case("zip-nested", A, "records inside a tar.gz inside the zip", lambda d: _zip(d / "nested.zip", [
        ("inner.tar.gz", _tar(d / "_inner.tar.gz", members(d), "w:gz").read_bytes())]),
             hb_prepare, r"no MIT-BIH records found"))

    # -- titles: the course's jsonl.gz
    J = "titles jsonl.gz"
    add(Case("jsonl-gzip-cut-in-header", J, "gzip truncated inside its header", lambda d: write(
        d, "cut.jsonl.gz", gzip.compress(titled("Mochila") + b"\n")[:6]), read_jsonl,
             r"cut\.jsonl\.gz: (the gzip data ends early, after line 0|not a gzip file|corrupt gzip).*"))
    add(Case("jsonl-utf16", J, "UTF-16 text inside the gzip", lambda d: write(
        d, "u16.jsonl.gz", gzip.compress((titled("Mochila") + b"\n").decode().encode("utf-16"))), read_jsonl,
             r"u16\.jsonl\.gz, line 1: not UTF-8 text .*the file must be UTF-8 JSON lines"))
    add(Case("jsonl-latin1", J, "Latin-1 title", lambda d: jsonl_gz(d, [titled("ok"), '{"title": "Ñandú", "category": "X"}'.encode("latin-1")]),
             read_jsonl, r"spanish\.train\.jsonl\.gz, line 2: not UTF-8 text"))
    add(Case("jsonl-binary", J, "binary garbage inside the gzip", lambda d: write(d, "bin.jsonl.gz", gzip.compress(garbage)), read_jsonl,
             r"bin\.jsonl\.gz, line 1: (not UTF-8 text|not valid JSON)"))
    add(Case("jsonl-10mb-line", J, "10 MB single line", lambda d: jsonl_gz(d, [titled("a" * MB10)]), read_jsonl,
             r"spanish\.train\.jsonl\.gz, line 1: longer than 1 MiB .*not the course's JSON lines file", max_seconds=5,
             max_peak_mb=64))
    add(Case("jsonl-gzip-bomb", J, "gzip bomb: 256 MB without a newline", lambda d: write(d, "bomb.jsonl.gz", gzip_bomb(256 << 20)),
             read_jsonl, r"bomb\.jsonl\.gz, line 1: longer than 1 MiB", max_seconds=10, max_peak_mb=64))
    add(Case("jsonl-nan-title", J, "NaN as the title", lambda d: jsonl_gz(d, [b'{"title": NaN, "category": "X"}']), read_jsonl,
             r"line 1: 'title' is float, expected a string"))
    add(Case("jsonl-lone-surrogate", J, r"title with a lone \ud800 escape", lambda d: jsonl_gz(d, [b'{"title": "\\ud800", "category": "X"}']),
             read_jsonl, r"spanish\.train\.jsonl\.gz, line 1: 'title' holds an invalid \\u escape .*must be UTF-8 JSON lines"))
    add(Case("jsonl-deep-nesting", J, "100,000 nested arrays", lambda d: jsonl_gz(d, [b"[" * 100_000 + b"]" * 100_000]), read_jsonl,
             r"line 1: not valid JSON \(maximum recursion depth.*each line must be one JSON object"))
    add(Case("jsonl-wrong-fields", J, "wrong field names", lambda d: jsonl_gz(d, [b'{"product_title": "a", "category": "X"}']),
             read_jsonl, r"line 1: no 'title' field; each row needs 'title' and 'category'"))
    add(Case("jsonl-empty-category", J, "empty category", lambda d: jsonl_gz(d, [b'{"title": "a", "category": ""}']), read_jsonl,
             r"line 1: 'category' is '', expected a non-empty string"))
    add(Case("jsonl-huge-title-prepare", J, "one 900,000-character title in prepare (memory)", lambda d: course_folder_with(
        d, [titled("Mochila " * 112_500)]), titles_prepare, outcome="parsed", check=_stored_title_width, needs_stopwords=True,
             max_peak_mb=200, note="kept; the cache stores its first 1,000 characters"))
    add(Case("jsonl-unknown-category-stream", J, "categories the model does not know (streaming)", lambda d: jsonl_gz(
        d, [titled("mochila azul"), titled("lampara", "LAMPS"), titled("mochila roja"), titled("taladro", "DRILLS")]),
             stream_titles, outcome="skipped", check=lambda r: r == (2, 2), note="2 rows read, 2 skipped and counted"))

    # -- titles: the challenge's train.csv
    C = "challenge CSV"
    add(Case("csv-gz-truncated", C, "train.csv.gz cut in half", lambda d: write(
        d, "train.csv.gz", (lambda z: z[: len(z) // 2])(gzip.compress(CSV_HEADER + challenge_rows(20000)))), read_challenge,
             r"train\.csv\.gz: cannot read it after line \d+ \(EOFError.*the file may be truncated or corrupt, download it again"))
    add(Case("csv-gz-corrupt", C, "train.csv.gz with flipped bytes", lambda d: write(
        d, "train.csv.gz", (lambda z: z[:200] + bytes(b ^ 0xFF for b in z[200:400]) + z[400:])(
            gzip.compress(CSV_HEADER + challenge_rows(20000)))), read_challenge,
             r"train\.csv\.gz: cannot read it.*the file may be truncated or corrupt, download it again"))
    add(Case("csv-latin1", C, "Latin-1 on line 2", lambda d: write(d, "train.csv", CSV_HEADER + "Ñandú,reliable,spanish,X\n".encode("latin-1")),
             read_challenge, r"train\.csv: not UTF-8 text; the challenge's train\.csv is UTF-8"))
    add(Case("csv-utf16", C, "UTF-16", lambda d: write(d, "train.csv", (CSV_HEADER + challenge_rows(3)).decode().encode("utf-16")),
             read_challenge, r"train\.csv, line 1: not UTF-8 text"))
    add(Case("csv-semicolons", C, "wrong columns (semicolon header)", lambda d: write(d, "train.csv", b"title;category\nMochila;BACKPACKS\n"),
             read_challenge, r"train\.csv: line 1 has columns \['title;category'\]; expected the header title,label_quality,language,category"))
    add(Case("csv-long-first-field", C, "a first line of 100,000 characters without a comma", lambda d: write(
        d, "train.csv", b"x" * 100_000 + b"\n" + challenge_rows(3)), read_challenge,
             r"train\.csv: line 1 has columns \['x{40}\.\.\. \(100000 characters\)'\]; expected the header",
             note="the message quoted the whole line"))
    add(Case("csv-empty", C, "empty file", lambda d: write(d, "train.csv", b""), read_challenge,
             r"train\.csv: the file is empty or starts with a blank line; expected the header"))
    add(Case("csv-10mb-title", C, "10 MB title on line 2", lambda d: write(d, "train.csv", CSV_HEADER + b"x" * MB10 + b",reliable,spanish,X\n"),
             read_challenge, r"train\.csv, line 2: longer than 1 MiB .*not the challenge's train\.csv", max_seconds=5, max_peak_mb=64))
    add(Case("csv-10mb-first-line", C, "10 MB first line", lambda d: write(d, "train.csv", b"x" * MB10), read_challenge,
             r"train\.csv, line 1: longer than 1 MiB; expected the header", max_seconds=5))
    add(Case("csv-gzip-bomb", C, "train.csv.gz bomb: 256 MB without a newline", lambda d: write(
        d, "train.csv.gz", gzip.compress(CSV_HEADER) + gzip_bomb(256 << 20)), read_challenge,
             r"train\.csv\.gz, line 2: longer than 1 MiB", max_seconds=10, max_peak_mb=64))
    add(Case("csv-unquoted-comma", C, "unquoted comma in the first row's title (one field too many)", lambda d: write(
        d, "train.csv", CSV_HEADER + b"Mochila, roja,reliable,spanish,BACKPACKS\n" + challenge_rows(5)), read_challenge,
             r"train\.csv: line 2 has 5 fields, expected 4; quote titles that contain commas",
             note="was read as title 'Mochila', category 'reliable' (pandas dropped a field with a warning)"))
    add(Case("csv-unterminated-quote", C, "an unterminated quote", lambda d: write(
        d, "train.csv", CSV_HEADER + b'"Mochila, azul,reliable,spanish,X\n' + challenge_rows(5)), read_challenge,
             r"train\.csv: .*EOF inside string.*quote titles that contain commas"))
    add(Case("csv-too-few-rows", C, "every category under 3 rows (prepare)", lambda d: write(
        d, "train.csv", CSV_HEADER + b"Mochila,reliable,spanish,BACKPACKS\nLampara,reliable,spanish,LAMPS\n"), titles_prepare,
             r"train\.csv: no category has 3 or more rows .*nothing to train on", needs_stopwords=True))

    # -- run configs (RunConfig.from_params: MLflow params, the dashboard form, studies)
    P = "run config"
    for cid, what, params, expect in [
        ("param-int-as-float", "an int written as 1e3", {"model.hidden_size": "1e3"},
         r"model\.hidden_size='1e3' is not a valid int"),
        ("param-nan", "NaN learning rate", {"train.lr": "nan"}, r"train\.lr='nan' is not a valid float"),
        ("param-negative-zero", "sample -0.0", {"data.sample": "-0.0"},
         r"data\.sample=-0\.0 must be in \(0, 1\], e\.g\. 0\.1"),
        ("param-nul-in-name", "NUL byte in the model name", {"model.name": "gru\x00"},
         r"model\.name='gru\\x00' is not valid; choose one of: rnn"),
        ("param-5000-digits", "a 5,000-digit epoch count", {"train.epochs": "9" * 5000},
         r"train\.epochs='9{20}.* is not a valid int"),
        ("param-none", "None (an empty YAML value)", {"model.hidden_size": None},
         r"model\.hidden_size='None' is not a valid int"),
        ("param-list", "a list where a number goes", {"train.batch_size": [1, 2]},
         r"train\.batch_size='\[1, 2\]' is not a valid int"),
        ("param-bool-word", "2 as a yes/no option", {"model.bidirectional": "2"},
         r"model\.bidirectional='2' is not a valid bool"),
        ("param-wrong-workload", "a heartbeat-only option on titles", {"data.workload": "titles", "data.normalize": "zscore"},
         r"data\.normalize apply to the heartbeat workload only"),
    ]:
        add(Case(cid, P, what, lambda d, p=params: p, from_params, expect))

    # -- study files (YAML, read by experiments/studies.py)
    Y = "study YAML"
    add(Case("yaml-syntax", Y, "invalid YAML", lambda d: write(d, "s.yaml", b"name: [unclosed\n"), study,
             r"s\.yaml is not valid YAML \(line 2\)"))
    add(Case("yaml-python-tag", Y, "a !!python/object tag (code execution)", lambda d: write(
        d, "s.yaml", f'!!python/object/apply:os.system ["touch {d.parent / ESCAPE}"]\n'.encode()), study,
             r"s\.yaml is not valid YAML .*could not determine a constructor", note="refused; nothing executed"))
    add(Case("yaml-list", Y, "a list, not a mapping", lambda d: write(d, "s.yaml", b"- 1\n- 2\n"), study,
             r"s\.yaml must be a mapping with base, factors and search"))
    add(Case("yaml-unknown-option", Y, "unknown option in base", lambda d: write(
        d, "s.yaml", b"name: x\nbase: {model.hiden_size: 8}\nfactors:\n  model.bidirectional: [false, true]\n"), study,
             r"s\.yaml: base: unknown option 'model\.hiden_size'"))
    add(Case("yaml-bad-value", Y, "impossible value in a factor", lambda d: write(
        d, "s.yaml", b"name: x\nfactors:\n  model.hidden_size: [-3, 16]\n"), study,
             r"study x, config hidden_size=-3: model\.hidden_size=-3 must be a positive integer"))
    add(Case("yaml-alias-bomb", Y, "billion-laughs aliases", lambda d: write(d, "s.yaml", (
        "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
                                                  for p, c in zip("abcdefg", "bcdefgh"))).encode()), study,
             r"s\.yaml: its aliases expand to more than 100,000 values", max_seconds=5))
    add(Case("yaml-alias-bomb-valid-key", Y, "billion-laughs aliases under factors and base", lambda d: write(
        d, "s.yaml", (aliases() + "name: x\nbase: {model.hidden_size: *h}\nfactors:\n  model.num_layers: *h\n").encode()),
             study, r"s\.yaml: its aliases expand to more than 100,000 values", max_seconds=5, max_peak_mb=64,
             note="was expanded (hung)"))
    add(Case("yaml-alias-bomb-dashboard", Y, "billion-laughs aliases pasted into the dashboard's Studies form", lambda d: write(
        d, "s.yaml", (aliases() + "name: x\nfactors:\n  model.num_layers: *h\n").encode()), study_text,
             r"the study: its aliases expand to more than 100,000 values", max_seconds=5, max_peak_mb=64))
    add(Case("yaml-alias-loop", Y, "an alias inside its own anchor", lambda d: write(
        d, "s.yaml", b"name: x\nfactors: &f\n  model.hidden_size: [8]\n  loop: *f\n"), study,
             r"s\.yaml: an alias refers to the value that contains it"))
    add(Case("yaml-seeds-bool", Y, "seeds: true (a bool where a count goes)", lambda d: write(
        d, "s.yaml", b"name: x\nseeds: true\nfactors:\n  model.hidden_size: [8, 16]\n"), study,
             r"s\.yaml: seeds: true must be a whole number", note="was read as 1 seed"))
    add(Case("yaml-trials-float", Y, "trials: 2.9", lambda d: write(
        d, "s.yaml", b"name: x\nsearch: random\ntrials: 2.9\nfactors:\n  model.hidden_size: [8, 16]\n"), study,
             r"s\.yaml: trials: 2\.9 must be a whole number", note="was cut to 2 trials"))
    add(Case("yaml-search-list", Y, "search: a list where a word goes", lambda d: write(
        d, "s.yaml", b"name: x\nsearch: [grid]\nfactors:\n  model.hidden_size: [8, 16]\n"), study,
             r"s\.yaml: search: \['grid'\] must be text"))
    add(Case("yaml-duplicate-key", Y, "a key given twice (factors)", lambda d: write(
        d, "s.yaml", b"name: x\nfactors:\n  model.hidden_size: [8, 16]\nfactors:\n  model.num_layers: [1, 2]\n"), study,
             r"s\.yaml is not valid YAML \(line 4\): key 'factors' is given twice in one mapping",
             note="the first was silently dropped"))
    add(Case("yaml-duplicate-option", Y, "an option given twice in base", lambda d: write(
        d, "s.yaml", b"name: x\nbase:\n  train.lr: 0.1\n  train.lr: 0.001\nfactors:\n  model.hidden_size: [8, 16]\n"),
             study, r"s\.yaml is not valid YAML \(line 4\): key 'train\.lr' is given twice"))
    add(Case("yaml-grid-times-seeds", Y, "10^4 configs x 100 seeds", lambda d: write(d, "s.yaml", grid_yaml(4, 100)),
             study, r"study big: 10,000 configs x 100 seeds = 1,000,000 runs, more than 10,000", max_seconds=5,
             note="hung expanding a million runs"))
    add(Case("yaml-merge-keys", Y, "YAML merge keys and a shared anchor (valid)", lambda d: write(
        d, "s.yaml", b"name: x\nbase: &b {model.hidden_size: 8}\nfactors:\n  size:\n    small: *b\n"
                     b"    large: {<<: *b, model.hidden_size: 16}\n"), study, outcome="parsed",
             check=lambda trials: sorted({t.config.model.hidden_size for t in trials}) == [8, 16]))
    add(Case("study-python-file", Y, "a Python study file (code execution)", python_study, study,
             r"s\.py is a Python file: running it would run its code; .*add --allow-code",
             note="was executed, even with --report"))

    # -- numeric options without a sensible bound
    for cid, what, params, expect in [
        ("param-noise-huge", "noise std 1e30", {"data.noise_std": "1e30"}, r"data\.noise_std=1e\+30 must be between 0 and 1: "),
        ("param-val-fraction-tiny", "val fraction 1e-9 (no validation item)", {"data.val_fraction": "1e-9"},
         r"data\.val_fraction=1e-09 must be between 0\.01 and 0\.9: less leaves"),
        ("param-shift-huge", "time shift of a million steps", {"data.max_shift": "1000000"},
         r"data\.max_shift=1000000 must be between 0 and 187: a beat has 187 steps"),
        ("param-trim-everything", "trim all 187 steps", {"model.trim_steps": "187"},
         r"model\.trim_steps=187 must be between 0 and 186"),
        ("param-weight-decay-huge", "weight decay 1e30", {"train.weight_decay": "1e30"},
         r"train\.weight_decay=1e\+30 must be between 0 and 10: "),
    ]:
        add(Case(cid, "run config", what, lambda d, p=params: p, from_params, expect))

    # -- the MLflow store: damaged, foreign, out of date, or not a file (opened the way every command opens it)
    M = "MLflow store"
    add(Case("store-truncated", M, "mlflow.db truncated to a third", damaged_store(lambda b: b[: len(b) // 3]),
             open_store, r"the MLflow store .*home/mlflow\.db is damaged .*restore it from a backup, or move it away"))
    add(Case("store-scribbled", M, "mlflow.db with its pages scribbled over", damaged_store(
        lambda b: b[:4096] + bytes((x * 7 + 13) % 256 for x in b[4096:])), open_store,
             r"the MLflow store .*home/mlflow\.db is damaged .*restore it from a backup"))
    add(Case("store-text-file", M, "a text file named mlflow.db", damaged_store(lambda b: b"not a database\n" * 40),
             open_store, r"the MLflow store .*home/mlflow\.db is damaged or not an SQLite file \(file is not a database\)"))
    add(Case("store-foreign-sqlite", M, "another program's SQLite file", store_with_sql(
        "DROP TABLE alembic_version; CREATE TABLE notes (x);"), open_store,
             r"home/mlflow\.db is an SQLite file but not an MLflow store; move it away"))
    add(Case("store-old-schema", M, "a store of an older MLflow schema", store_with_sql(
        "UPDATE alembic_version SET version_num = '451aebb31d03';"), open_store,
             r"was written by an older MLflow \(schema 451aebb31d03\); back it up, then upgrade it with: "
             r"mlflow db upgrade 'sqlite:///.*home/mlflow\.db'"))
    add(Case("store-is-a-folder", M, "mlflow.db is a folder", folder_as_store, open_store,
             r"the MLflow store .*home/mlflow\.db is not a file \(a folder", note="107 s, then a message about disk space"))
    T = "tracking URI"
    add(Case("uri-unknown-scheme", T, "a tracking URI with an unknown scheme", store_home,
             with_tracking_uri(lambda: "foo://somewhere"),
             r"RNN_ARENA_TRACKING_URI='foo://somewhere' has the scheme 'foo', which MLflow cannot track to"))
    add(Case("uri-closed-port", T, "a tracking server that is not running (closed port)", store_home,
             with_tracking_uri(lambda: f"http://127.0.0.1:{free_port(False)}"),
             r"cannot reach the tracking server at http://127\.0\.0\.1:\d+ \(connection refused\); start it",
             note="no answer after 90 s"))
    add(Case("uri-silent-server", T, "a tracking URI whose port accepts connections and never answers", store_home,
             with_tracking_uri(lambda: f"http://127.0.0.1:{free_port(True)}"),
             r"cannot reach the tracking server at http://127\.0\.0\.1:\d+ \(no answer within 5 s\); start it",
             note="MLflow's client waits and retries for minutes"))
    add(Case("uri-missing-driver", T, "a database URI whose driver is not installed", store_home,
             with_tracking_uri(lambda: f"mysql://user@127.0.0.1:{free_port(True)}/db"),
             r"the tracking store mysql://user@127\.0\.0\.1:\d+/db needs a database driver that is not installed"))
    R = "reference record"
    add(Case("ref-pred-bomb-200mb", R, "predictions that expand to 200 MB (zlib bomb)",
             reference_root(_pred(stream=zlib_bomb(200), n=2_000_000)), import_reference,
             r"reference record .*gru-bidirectional-false-seed0\.json: the predictions: the data holds more than the "
             r"2000000 items it declares", max_seconds=5, max_peak_mb=64))
    add(Case("ref-pred-bomb-1gb", R, "predictions that expand to a gigabyte (zlib bomb, a 1.4 MB record)",
             reference_root(_pred(stream=zlib_bomb(1024))), import_reference,
             r"seed0\.json: a reference record is [\d,]+ bytes, more than the 1,048,576 bytes", max_seconds=5,
             max_peak_mb=64))
    add(Case("ref-labels-bomb-1gb", R, "a label file whose labels expand to a gigabyte (zlib bomb)",
             reference_root(labels=lambda lab: lab["y_true"].update(zlib_b64=b64(zlib_bomb(1024)))),
             import_reference, r"heartbeat-intra-patient-b78104de5af29fdc\.json: the labels: the compressed data \(\d+ characters\) is "
             r"longer than 21,892 bytes could compress to",
             max_seconds=5, max_peak_mb=64))
    add(Case("ref-labels-link-dev-zero", R, "a label file that is a symlink to /dev/zero (endless)",
             reference_root(labels_raw=_link_to("/dev/zero")), import_reference,
             r"b78104de5af29fdc\.json: a label file must be a regular file, not a link", max_seconds=5, max_peak_mb=64))
    add(Case("ref-record-link", R, "a record that is a symlink to /etc/passwd",
             reference_root(raw=_link_to("/etc/passwd")), import_reference,
             r"seed0\.json: a reference record must be a regular file, not a link", max_seconds=5))
    add(Case("ref-missing-field", R, "a record missing a field (seed)",
             reference_root(lambda rec: rec.pop("seed")), import_reference,
             r"reference record .*seed0\.json: the field 'seed' is missing; nothing was imported", max_seconds=5))
    add(Case("ref-wrong-type", R, "a record whose seed is text",
             reference_root(_set("seed", "0; DROP")), import_reference,
             r"the field 'seed' is str, not int", max_seconds=5))
    add(Case("ref-class-out-of-range", R, "a predicted class out of range (9 of 5 classes)",
             reference_root(_out_of_range), import_reference,
             r"seed0\.json: a predicted class \(9\) is out of range: the test set has 5 classes", max_seconds=5))
    add(Case("ref-truncated-zlib", R, "a truncated compressed stream",
             reference_root(_truncated), import_reference,
             r"the predictions: the compressed data is truncated", max_seconds=5))
    add(Case("ref-count-mismatch", R, "fewer predictions than test labels",
             reference_root(lambda rec: _pred(_real_pred()[:-10])(rec)), import_reference,
             r"21882 predictions for the 21892 test labels", max_seconds=5))
    add(Case("ref-47mb", R, "a 47 MB record", reference_root(raw=_huge_record), import_reference,
             r"seed0\.json: a reference record is [\d,]+ bytes, more than the 1,048,576 bytes", max_seconds=5, max_peak_mb=64,
             note="ran past three minutes with no output"))
    add(Case("ref-labels-digest", R, "a label file whose content does not match the digest in its name",
             reference_root(labels=_swapped_labels), import_reference,
             r"b78104de5af29fdc\.json: its labels do not match the digest b78104de5af29fdc in its name", max_seconds=5,
             note="accepted; the report's macro-F1 contradicted the record's"))
    add(Case("ref-accuracy-mismatch", R, "predictions that do not give the record's stored accuracy",
             reference_root(lambda rec: _pred(np.zeros(21892, dtype=np.int64))(rec)), import_reference,
             r"its stored test accuracy 0\.9813 is not that of its predictions", max_seconds=5))
    add(Case("ref-workload-traversal", R, "a workload of ../../" + ESCAPE,
             reference_root(_set("workload", "../../" + ESCAPE)), import_reference,
             r"the workload is '\.\./\.\./rnn-arena-escape'; it must be lowercase letters", max_seconds=5))
    add(Case("ref-group-traversal", R, "a group of ../" + ESCAPE,
             reference_root(_set("group", "../" + ESCAPE)), import_reference,
             r"the group is '\.\./rnn-arena-escape'; it must be", max_seconds=5))
    add(Case("ref-group-quote", R, "a group with a quote (an MLflow filter clause)",
             reference_root(_set("group", "arch' OR name = 'x")), import_reference,
             r"the group is .*; it must be lowercase letters, digits and '-'", max_seconds=5))
    add(Case("ref-config-slash", R, "a config name with '/' and a quote",
             reference_root(_set("config", "gru/'bi'")), import_reference,
             r"the config is .*; it must be letters, digits, spaces", max_seconds=5))
    add(Case("ref-nested", R, "a record nested 100,000 deep", reference_root(raw=lambda p: p.write_text("[" * 100_000)),
             import_reference, r"seed0\.json: a reference record is not valid JSON \(nested too deeply\)", max_seconds=5))
    add(Case("ref-nan-metric", R, "a test metric of NaN", reference_root(lambda rec: rec["test"].update(macro_f1=float("nan"))),
             import_reference, r"the test metric 'macro_f1' must be", max_seconds=5))
    return out


CASES = cases()


def run_case(case: Case, inputs: Path, home: Path) -> tuple[str, str]:
    """Run one case; (outcome, detail) as the report shows them."""
    target = case.build(inputs)
    try:
        result = case.read(target, home)
    except ValueError as exc:
        return "error", str(exc)
    return ("parsed" if case.outcome != "skipped" else "skipped"), repr(result)[:120]


def _table() -> None:
    """Run every case in a temporary folder and print the report's table."""
    import tempfile
    import time
    from unittest import mock

    from core import text
    from core.data import heartbeat as hb

    with tempfile.TemporaryDirectory() as tmp:
        stop = Path(tmp) / "nltk" / "corpora" / "stopwords"
        stop.mkdir(parents=True)
        (stop / "spanish").write_text("de\npara\n")
        os.environ["NLTK_DATA"] = str(Path(tmp) / "nltk")
        text._DOWNLOAD_TRIED = True
        print("| # | format | malformation | outcome | message, or what happened | s |")
        print("|---|---|---|---|---|---|")
        for n, case in enumerate(CASES, 1):
            base = Path(tmp) / case.id
            (base / "in").mkdir(parents=True)
            started = time.perf_counter()
            with mock.patch.object(hb, "MAX_ARCHIVE_BYTES", 2 << 20):
                outcome, detail = run_case(case, base / "in", base / "home")
            seconds = time.perf_counter() - started
            detail = detail.replace(str(base), "…").replace("\n", " ")
            detail = detail if len(detail) < 170 else detail[:167] + "..."
            if outcome == "error":
                detail = f"`{detail}`" + (f" ({case.note})" if case.note else "")
            else:
                detail = case.note or detail
            if outcome != case.outcome:
                detail = f"UNEXPECTED ({case.outcome} expected): {detail}"
            detail = detail.replace("|", "\\|")
            print(f"| {n} | {case.format} | {case.malformation.replace('|', '/')} | {outcome} | {detail} | {seconds:.2f} |")


if __name__ == "__main__":
    _table()
