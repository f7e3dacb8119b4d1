"""The product-title workload (MercadoLibre Data Challenge 2019, Spanish).

Owns: reading the course's `spanish.{train,validation,test}.jsonl.gz` and the
challenge's raw `train.csv` (streamed, bad input named by file and line), the
processed cache (keyed by a hash of the input bytes, the options and the
recipe), seeded samples that keep every category, and the plain-data
summaries the dashboard shows. Torch-free: the torch datasets are in
core.data.title_datasets.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from core.data.files import no_space, sha256_file, temporary_name
from core.data.sampling import class_counts, stratified_sample, stratified_split
from core.text import UNK_ID, LabelMap, Vocab, build_vocab, spanish_stopwords, tokenize, tokenize_many

RECIPE_VERSION = "titles-v1"
SPLITS = ("train", "validation", "test")
COURSE_FILES = {s: f"spanish.{s}.jsonl.gz" for s in SPLITS}
COLUMNS = ("title", "category", "label_quality", "language")
CHALLENGE_COLUMNS = ("title", "label_quality", "language", "category")
UNKNOWN = "unknown"  # label_quality / language when the input does not say
MAX_LEN_CAP = 64
MIN_CLASS_ROWS = 3  # a category needs a row in each of train, validation, test
SPLIT_SEED = 2019
CATEGORY_RE = re.compile(r"[A-Z0-9_]+")  # challenge categories: DIAPER_BAGS
PREPARE_HINT = "run: python -m experiments prepare titles --source PATH"
MAX_LINE_BYTES = 1 << 20  # a title row is a few hundred bytes: a longer line is not a title file (or a gzip bomb)
MAX_STORED_TITLE = 1000  # characters of each raw title kept in the cache (for display and TF-IDF)

Progress = Callable[[int, int, str], None]  # (done, total, what)


# ---------------------------------------------------------------------------
# the course's jsonl.gz
def _check_file(path: Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"{path}: file not found; {what}")
    return path


def _gzip_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of a gzip file; gzip damage becomes a ValueError."""
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes); download it again")
    lineno = 0
    try:
        with gzip.open(path, "rb") as fh:
            while raw := fh.readline(MAX_LINE_BYTES + 1):  # bounded: no newline never means unbounded memory
                lineno += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise ValueError(f"{path}, line {lineno}: longer than {MAX_LINE_BYTES >> 20} MiB (a title row is a "
                                     "few hundred bytes); this is not the course's JSON lines file, or it is damaged")
                yield lineno, raw
    except gzip.BadGzipFile as exc:
        if lineno == 0 and "Not a gzipped file" in str(exc):
            raise ValueError(f"{path}: not a gzip file; expected a gzip-compressed JSON-lines file (*.jsonl.gz)") from None
        raise ValueError(f"{path}: corrupt gzip data after line {lineno} ({exc}); download the file again") from None
    except EOFError:
        raise ValueError(f"{path}: the gzip data ends early, after line {lineno} (truncated download?); download the file again") from None
    except (OSError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot read the gzip data after line {lineno} ({type(exc).__name__}: {exc}); download the file again") from None


def _parse_line(path: Path, lineno: int, raw: bytes) -> tuple[str, str, str, str] | None:
    """One jsonl row as (title, category, label_quality, language); None for a blank line."""
    where = f"{path}, line {lineno}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not UTF-8 text (bad byte at column {exc.start + 1}); the file must be UTF-8 JSON lines") from None
    if lineno == 1:
        text = text.lstrip("\ufeff")
    if not text.strip():
        return None
    try:
        row = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{where}: not valid JSON ({str(exc)[:120]}); each line must be one JSON object") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a JSON {type(row).__name__}, expected an object with 'title' and 'category'")
    for name in ("title", "category"):
        if name not in row:
            raise ValueError(f"{where}: no '{name}' field; each row needs 'title' and 'category' (is this the course's file?)")
    title, category = row["title"], row["category"]
    if not isinstance(title, str):
        raise ValueError(f"{where}: 'title' is {type(title).__name__}, expected a string")
    if not isinstance(category, str) or not category:
        raise ValueError(f"{where}: 'category' is {category!r}, expected a non-empty string")
    quality, language = row.get("label_quality"), row.get("language")
    quality = quality if isinstance(quality, str) else UNKNOWN
    language = language if isinstance(language, str) else UNKNOWN
    for name, value in (("title", title), ("category", category), ("label_quality", quality), ("language", language)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON's "\ud800": a lone surrogate no later step can store
            raise ValueError(f"{where}: '{name}' holds an invalid \\u escape (a lone surrogate); "
                             "the file must be UTF-8 JSON lines") from None
    return title, category, quality, language


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS)) if rows else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})


def iter_jsonl_gz(path: str | Path, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """DataFrame chunks (columns title, category, label_quality, language) of
    at most chunk_rows rows, read line by line; extra fields are ignored."""
    path = _check_file(path, "give the folder with the course's spanish.*.jsonl.gz files")
    rows: list[tuple[str, str, str, str]] = []
    for lineno, raw in _gzip_lines(path):
        row = _parse_line(path, lineno, raw)
        if row is not None:
            rows.append(row)
        if len(rows) >= chunk_rows:
            yield _frame(rows)
            rows = []
    if rows:
        yield _frame(rows)


def read_jsonl_gz(path: str | Path) -> pd.DataFrame:
    """The whole file as one DataFrame (empty titles kept)."""
    chunks = list(iter_jsonl_gz(path))
    return pd.concat(chunks, ignore_index=True) if chunks else _frame([])


# ---------------------------------------------------------------------------
# the challenge's raw train.csv
def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class _LineLimited(io.RawIOBase):
    """A byte stream that stops with a ValueError when one line grows past
    MAX_LINE_BYTES, so a file without newlines (or a gzip bomb) cannot fill
    the memory while pandas looks for the end of a row."""

    def __init__(self, raw, path: Path):
        self.raw, self.path, self.run, self.lines = raw, path, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.raw.readinto(buf)
        if n:
            chunk = bytes(memoryview(buf)[:n])
            last = chunk.rfind(b"\n")
            self.lines += chunk.count(b"\n")
            self.run = n - 1 - last if last >= 0 else self.run + n
            if self.run > MAX_LINE_BYTES:
                raise ValueError(f"{self.path}, line {self.lines + 1}: longer than {MAX_LINE_BYTES >> 20} MiB (a title "
                                 "row is a few hundred bytes); this is not the challenge's train.csv, or it is damaged")
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _csv_layout(path: Path) -> tuple[list[str] | None, list[str]]:
    """(header=None for a header-less file, the column names) from the first line."""
    try:
        with _open_bytes(path) as fh:
            raw = fh.readline(MAX_LINE_BYTES + 1)
        first = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise ValueError(f"{path}, line 1: not UTF-8 text; the challenge's train.csv is UTF-8") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot read it ({type(exc).__name__}: {exc}); the file may be truncated or "
                         "corrupt, download it again") from None
    expected = f"expected the header {','.join(CHALLENGE_COLUMNS)} (the challenge's train.csv)"
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"{path}, line 1: longer than {MAX_LINE_BYTES >> 20} MiB; {expected}")
    if not first.strip():
        raise ValueError(f"{path}: the file is empty or starts with a blank line; {expected}")
    try:
        fields = next(csv.reader([first]), [])
    except csv.Error as exc:
        raise ValueError(f"{path}, line 1: {exc}; {expected}") from None
    names = [f.strip().lower() for f in fields]
    if sorted(names) == sorted(CHALLENGE_COLUMNS) or sorted(names) == ["category", "title"]:
        return fields, names
    if len(fields) == 2 and CATEGORY_RE.fullmatch(fields[1].strip()):
        return None, ["title", "category"]  # the header-less title,category form
    shown = [f if len(f) <= 40 else f"{f[:40]}... ({len(f)} characters)" for f in fields[:6]]
    more = f" and {len(fields) - 6} more" if len(fields) > 6 else ""
    raise ValueError(
        f"{path}: line 1 has columns {shown}{more}; expected the header {','.join(CHALLENGE_COLUMNS)} "
        "(the challenge's train.csv), or header-less rows 'title,CATEGORY'"
    )


def iter_challenge_csv(path: str | Path, language: str | None = "spanish", chunksize: int = 100_000) -> Iterator[pd.DataFrame]:
    """Chunks (columns title, category, label_quality, language) of the rows
    whose language is `language` (None keeps all). A header-less
    title,category file has no language: all its rows are kept, with
    label_quality and language 'unknown'."""
    path = _check_file(path, "give the challenge's train.csv")
    header, names = _csv_layout(path)
    offset = 2 if header is not None else 1  # file line of data row 0
    reader = None
    stream = io.BufferedReader(_LineLimited(_open_bytes(path), path), 1 << 16)
    try:
        reader = pd.read_csv(stream, header=0 if header is not None else None, names=names, dtype=str,
                             na_filter=False, keep_default_na=False, encoding="utf-8", chunksize=chunksize,
                             index_col=False, engine="c")
        while True:
            with warnings.catch_warnings():
                # pandas drops the extra fields of a chunk's first row with only a warning (an
                # unquoted comma in a title, "Mochila, roja,BACKPACKS"): an error here, not bad rows
                warnings.simplefilter("error", pd.errors.ParserWarning)
                try:
                    chunk = next(reader)
                except StopIteration:
                    break
            yield _challenge_chunk(path, chunk, offset, language)
    except pd.errors.ParserWarning:
        raise ValueError(f"{path}: {_first_wide_row(path, len(names))}; quote titles that contain commas") from None
    except pd.errors.ParserError as exc:
        text = str(exc).strip().splitlines()[-1]
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        detail = f"line {m.group(2)} has {m.group(3)} fields, expected {m.group(1)}" if m else text
        raise ValueError(f"{path}: {detail}; quote titles that contain commas") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; the challenge's train.csv is UTF-8") from None
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt .csv.gz
        raise ValueError(f"{path}: cannot read it after line {stream.raw.lines} ({type(exc).__name__}: {exc}); "
                         "the file may be truncated or corrupt, download it again") from None
    finally:
        if reader is not None:
            reader.close()
        stream.close()


def _first_wide_row(path: Path, fields: int) -> str:
    """Where the first row with more than `fields` fields is (a second, slow
    pass over a file already known to be bad)."""
    csv.field_size_limit(MAX_LINE_BYTES)
    with _open_bytes(path) as fh:
        rows = csv.reader(io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline=""))
        for row in rows:
            if len(row) > fields:
                return f"line {rows.line_num} has {len(row)} fields, expected {fields}"
    return f"a row has more than {fields} fields"


def _challenge_chunk(path: Path, chunk: pd.DataFrame, offset: int, language: str | None) -> pd.DataFrame:
    empty = (chunk["category"].str.strip() == "").to_numpy()
    if empty.any():
        row = int(chunk.index[np.flatnonzero(empty)[0]])
        raise ValueError(f"{path}: data row {row + 1} (line {row + offset} unless a title spans lines) has no category; "
                         "the line may be truncated")
    if "language" not in chunk:
        chunk = chunk.assign(label_quality=UNKNOWN, language=UNKNOWN)
    elif language is not None:
        chunk = chunk[chunk["language"] == language]
    return chunk.loc[:, list(COLUMNS)].reset_index(drop=True)


def read_challenge_csv(path: str | Path, language: str | None = "spanish", chunksize: int = 100_000) -> pd.DataFrame:
    chunks = list(iter_challenge_csv(path, language, chunksize))
    return pd.concat(chunks, ignore_index=True) if chunks else _frame([])


def _iter_any(path: Path, chunk_rows: int, language: str | None) -> Iterator[pd.DataFrame]:
    if path.name.endswith(".jsonl.gz"):
        return iter_jsonl_gz(path, chunk_rows)
    return iter_challenge_csv(path, language, chunk_rows)


# ---------------------------------------------------------------------------
# encoded splits
@dataclass
class Titles:
    """One encoded split, a row per title: tokens (N, max_len) int64 ids
    zero-padded, length (N,) int64 >= 1, y (N,) int64 class, label_quality
    (N,) str, titles (N,) str raw title, n_tokens (N,) int64 tokens kept
    before truncation (0: nothing left, encoded as one [UNK])."""

    tokens: np.ndarray
    length: np.ndarray
    y: np.ndarray
    label_quality: np.ndarray
    titles: np.ndarray
    n_tokens: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def x(self) -> np.ndarray:  # the name the training code uses for inputs
        return self.tokens

    def subset(self, idx: np.ndarray) -> "Titles":
        n = None if self.n_tokens is None else self.n_tokens[idx]
        return Titles(self.tokens[idx], self.length[idx], self.y[idx], self.label_quality[idx], self.titles[idx], n)


@dataclass
class TitlesData:
    train: Titles
    validation: Titles
    test: Titles
    vocab: Vocab
    labels: LabelMap
    meta: dict = field(default_factory=dict)

    @property
    def class_names(self) -> list[str]:
        return list(self.labels.names)

    def splits(self) -> dict[str, Titles]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass
class TitleSplits:
    train: Titles
    val: Titles
    test: Titles

    def __iter__(self):  # train, val, test = make_splits(...)
        return iter((self.train, self.val, self.test))


# ---------------------------------------------------------------------------
# prepare: read, tokenize, build vocab and labels, encode, cache
def _source_files(source: Path) -> tuple[str, dict[str, Path]]:
    """('course-jsonl', {split: file}) or ('challenge-csv', {'all': file})."""
    if source.is_dir():
        present = {s: source / f for s, f in COURSE_FILES.items() if (source / f).is_file()}
        if len(present) == len(SPLITS):
            return "course-jsonl", present
        if present:
            missing = [COURSE_FILES[s] for s in SPLITS if s not in present]
            raise ValueError(f"{source}: {', '.join(missing)} missing; the folder needs all of {', '.join(COURSE_FILES.values())}")
        for name in ("train.csv", "train.csv.gz"):
            if (source / name).is_file():
                return "challenge-csv", {"all": source / name}
        raise ValueError(f"{source}: found neither {', '.join(COURSE_FILES.values())} nor train.csv; "
                         "give the course's folder or the challenge's train.csv")
    if source.is_file():
        if source.name.endswith(".jsonl.gz"):
            raise ValueError(f"{source}: give the folder that holds all of {', '.join(COURSE_FILES.values())}")
        return "challenge-csv", {"all": source}
    raise ValueError(f"{source}: no such file or folder; give the course's folder of spanish.*.jsonl.gz or the challenge's train.csv")


def _fingerprint(files: dict[str, Path], options: dict) -> str:
    h = hashlib.sha256(RECIPE_VERSION.encode())
    h.update(json.dumps(options, sort_keys=True).encode())
    for split, f in sorted(files.items()):
        h.update(f"{split}:{f.name}:{sha256_file(f)}".encode())
    return h.hexdigest()[:16]


def _read_splits(kind: str, files: dict[str, Path], log: Callable[[str], None]) -> tuple[dict[str, pd.DataFrame], dict]:
    if kind == "course-jsonl":
        frames = {s: read_jsonl_gz(files[s]) for s in SPLITS}
        for s, frame in frames.items():
            if frame.empty:
                raise ValueError(f"{files[s]}: the {s} split has no rows; every split needs titles")
        return frames, {}
    rows = read_challenge_csv(files["all"])
    counts = rows["category"].value_counts()
    small = counts[counts < MIN_CLASS_ROWS]
    rows = rows[~rows["category"].isin(small.index)].reset_index(drop=True)
    if len(small):
        log(f"dropped {len(small)} categories with fewer than {MIN_CLASS_ROWS} rows ({int(small.sum())} rows)")
    if rows.empty:
        raise ValueError(f"{files['all']}: no category has {MIN_CLASS_ROWS} or more rows (in the chosen language); nothing to train on")
    y = pd.factorize(rows["category"])[0]
    rest, test = stratified_split(y, 0.1, SPLIT_SEED)  # n >= 3: at least one row each side
    train, val = stratified_split(y[rest], 1 / 9, SPLIT_SEED + 1)
    parts = {"train": rows.iloc[rest[train]], "validation": rows.iloc[rest[val]], "test": rows.iloc[test]}
    extra = {"dropped_categories": int(len(small)), "dropped_rows": int(small.sum())}
    return {s: p.reset_index(drop=True) for s, p in parts.items()}, extra


def choose_max_len(n_tokens: np.ndarray) -> int:
    """The 99th percentile of train title lengths, at least 1, at most 64."""
    if len(n_tokens) == 0:
        return 1
    return int(min(MAX_LEN_CAP, max(1, math.ceil(float(np.percentile(n_tokens, 99))))))


def _str_array(values, max_chars: int = MAX_STORED_TITLE) -> np.ndarray:
    """Fixed-width unicode, so np.load needs no pickle; each string cut to
    max_chars, as the width is the longest one's (one 1 MB title among 60,000
    rows would otherwise take 240 GB)."""
    arr = np.asarray([str(v)[:max_chars] for v in values], dtype=str)
    return arr if arr.size else np.zeros(0, dtype="<U1")


def _build(kind: str, files: dict[str, Path], cache_tmp: Path, opts: dict, stop: set[str],
           workers: int | None, progress: Progress | None, log: Callable[[str], None]) -> dict:
    step = lambda n, what: progress and progress(n, 5, what)  # noqa: E731
    frames, extra = _read_splits(kind, files, log)
    step(1, "read")
    sizes = [len(frames[s]) for s in SPLITS]
    started = time.perf_counter()
    all_tokens = tokenize_many([t for s in SPLITS for t in frames[s]["title"]], workers=workers)
    tokenize_seconds = time.perf_counter() - started
    bounds = np.cumsum([0, *sizes])
    tokens = {s: all_tokens[bounds[i] : bounds[i + 1]] for i, s in enumerate(SPLITS)}
    step(2, "tokenized")
    if not sizes[0]:
        raise ValueError(f"{files.get('train', files.get('all'))}: no train rows")
    vocab = build_vocab(tokens["train"], opts["min_freq"], opts["max_vocab"], stop)
    labels = LabelMap.fit(frames["train"]["category"])
    n_tokens = {s: vocab.count_kept(tokens[s]) for s in SPLITS}
    max_len = opts["max_len"] or choose_max_len(n_tokens["train"])
    step(3, "vocabulary")
    counts = {}
    for s in SPLITS:
        ids, lengths = vocab.encode_many(tokens[s], max_len)
        y = labels.encode(frames[s]["category"], where=str(files.get(s, files.get("all"))))
        np.savez_compressed(cache_tmp / f"{s}.npz", tokens=ids.astype(np.int32), length=lengths.astype(np.int32),
                            y=y.astype(np.int32), n_tokens=n_tokens[s].astype(np.int32),
                            label_quality=_str_array(frames[s]["label_quality"]), titles=_str_array(frames[s]["title"]))
        counts[s] = int(len(y))
    step(4, "encoded")
    (cache_tmp / "vocab.json").write_text(json.dumps(vocab.to_json(), ensure_ascii=False))
    (cache_tmp / "labels.json").write_text(json.dumps(labels.to_json(), ensure_ascii=False))
    return {"counts": counts, "num_classes": len(labels), "vocab_size": len(vocab), "max_len": int(max_len),
            "tokens_per_title": {s: round(float(n_tokens[s].mean()), 3) if len(n_tokens[s]) else 0.0 for s in SPLITS},
            "tokenize_titles_per_second": round(sum(sizes) / max(tokenize_seconds, 1e-9)), **extra}


def prepare(source: Path, home: Path, progress: Progress | None = None, log: Callable[[str], None] = print,
            min_freq: int = 2, max_vocab: int = 50_000, max_len: int | None = None, workers: int | None = None) -> dict:
    """Build (or reuse) the encoded titles and make them the active titles
    dataset in `home`. Returns its metadata (counts, vocab size, cache path)."""
    source = Path(source).expanduser().resolve()
    home = Path(home)
    kind, files = _source_files(source)
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    stop = spanish_stopwords()
    opts = {"min_freq": int(min_freq), "max_vocab": int(max_vocab), "max_len": max_len, "split_seed": SPLIT_SEED,
            "stopwords": hashlib.sha256("\n".join(sorted(stop)).encode()).hexdigest()[:16]}
    key = _fingerprint(files, opts)
    cache = home / "cache" / f"titles-{key}"
    if (cache / "meta.json").is_file():
        meta = json.loads((cache / "meta.json").read_text())
        log(f"reusing the encoded titles in {cache} (built from the same bytes and options)")
        meta["reused"] = True
    else:
        meta = _build_cache(source, kind, files, cache, key, opts, stop, workers, progress, log)
    meta_path = home / "datasets" / "titles.json"
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(meta_path)
    try:
        tmp.write_text(json.dumps({k: v for k, v in meta.items() if k != "reused"}, indent=2))
        os.replace(tmp, meta_path)
    finally:
        tmp.unlink(missing_ok=True)
    return meta


def _build_cache(source, kind, files, cache, key, opts, stop, workers, progress, log) -> dict:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(cache)
    tmp.mkdir()
    start = time.perf_counter()
    try:
        built = _build(kind, files, tmp, opts, stop, workers, progress, log)
        meta = {"workload": "titles", "source": str(source), "kind": kind, "key": key, "recipe": RECIPE_VERSION,
                "cache": str(cache), "options": opts, **built,
                "build_seconds": round(time.perf_counter() - start, 2)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        if cache.exists() and not (cache / "meta.json").is_file():  # a stale partial entry from an old crash
            shutil.rmtree(cache, ignore_errors=True)
        try:
            os.replace(tmp, cache)  # atomic: a half-written cache never looks valid
        except OSError as exc:
            if not (cache / "meta.json").is_file():
                raise
            # another prepare of the same bytes and options finished first: its entry is the same, keep it
            log(f"another prepare built the same entry first; using it ({exc.strerror})")
    except OSError as exc:
        raise no_space(exc, "the encoded titles", cache.parent) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"encoded {sum(meta['counts'].values())} titles: {meta['num_classes']} categories, "
        f"vocabulary {meta['vocab_size']}, max_len {meta['max_len']} ({meta['build_seconds']} s)")
    meta["reused"] = False
    return meta


def dataset_info(home: Path) -> dict | None:
    meta_path = Path(home) / "datasets" / "titles.json"
    if not meta_path.is_file():
        return None
    return json.loads(meta_path.read_text())


def _load_split(path: Path) -> Titles:
    with np.load(path) as z:  # plain arrays, no pickle
        i64 = lambda k: z[k].astype(np.int64)  # noqa: E731
        return Titles(i64("tokens"), i64("length"), i64("y"), z["label_quality"], z["titles"], i64("n_tokens"))


def load_titles(home: Path) -> TitlesData:
    meta = dataset_info(home)
    cache = Path(meta["cache"]) if meta else None
    if cache is None or not (cache / "meta.json").is_file():
        raise ValueError(f"the titles data is not prepared in {home}; {PREPARE_HINT}")
    return read_cache(cache, meta)


def read_cache(cache: Path, meta: dict | None = None) -> TitlesData:
    """The encoded splits, vocabulary and categories of a cache `prepare` wrote."""
    cache = Path(cache)
    vocab = Vocab.from_json(json.loads((cache / "vocab.json").read_text(encoding="utf-8")))
    labels = LabelMap.from_json(json.loads((cache / "labels.json").read_text(encoding="utf-8")))
    parts = {s: _load_split(cache / f"{s}.npz") for s in SPLITS}
    return TitlesData(parts["train"], parts["validation"], parts["test"], vocab, labels, meta or {})


# ---------------------------------------------------------------------------
# samples and summaries
def make_splits(data: TitlesData, sample: float, seed: int, reliable_only: bool = False) -> TitleSplits:
    """Train and validation each reduced to a seeded stratified `sample` (every
    category keeps at least one row); test whole. `reliable_only` first keeps
    only label_quality == 'reliable' rows of train and validation."""
    train, val = data.train, data.validation
    if reliable_only:
        train = train.subset(train.label_quality == "reliable")
        val = val.subset(val.label_quality == "reliable")
    if sample < 1.0:
        train = train.subset(stratified_sample(train.y, sample, seed))
        val = val.subset(stratified_sample(val.y, sample, seed + 1))
    return TitleSplits(train, val, data.test)


def _unk_share(t: Titles) -> float:
    """Share of the encoded real tokens that are [UNK] (empty titles left out)."""
    pos = np.arange(t.tokens.shape[1])[None, :] < t.length[:, None]  # (N, max_len)
    if t.n_tokens is not None:
        pos &= (t.n_tokens > 0)[:, None]
    total = int(pos.sum())
    return float(((t.tokens == UNK_ID) & pos).sum() / total) if total else 0.0


def _all_unk(t: Titles) -> int:
    pos = np.arange(t.tokens.shape[1])[None, :] < t.length[:, None]
    return int(((t.tokens == UNK_ID) | ~pos).all(axis=1).sum())


def summaries(data: TitlesData, sample: float | None = None, seed: int = 0) -> dict:
    """Plain data (lists, ints, floats) for the dashboard."""
    names, k = data.class_names, len(data.labels)
    parts = data.splits()
    full = {s: class_counts(t.y, k).tolist() for s, t in parts.items()}
    sampled = None
    if sample is not None:
        sp = make_splits(data, sample, seed)
        sampled = {s: class_counts(t.y, k).tolist() for s, t in zip(SPLITS, (sp.train, sp.val, sp.test))}
    train_counts = np.asarray(full["train"])
    order = np.argsort(-train_counts, kind="stable")  # ties keep label order
    pick = lambda idx: [{"category": names[i], "count": int(train_counts[i])} for i in idx]  # noqa: E731
    lengths = {}
    for s, t in parts.items():
        n = t.n_tokens if t.n_tokens is not None else t.length
        h = np.bincount(n, minlength=1) if len(n) else np.zeros(1, np.int64)
        lengths[s] = {"bins": list(range(len(h))), "counts": h.tolist()}
    return {
        "num_classes": k,
        "class_names": names,
        "class_counts": {"full": full, "sample": sampled, "sample_fraction": sample, "seed": seed},
        "top_categories": pick(order[:10]),
        "bottom_categories": pick(order[::-1][:10]),
        "length_histogram": lengths,
        "unk_share": {s: _unk_share(t) for s, t in parts.items()},
        "empty_titles": {s: int((t.n_tokens == 0).sum()) if t.n_tokens is not None else 0 for s, t in parts.items()},
        "all_unk_titles": {s: _all_unk(t) for s, t in parts.items()},
        "vocab_size": len(data.vocab),
        "max_len": int(data.train.tokens.shape[1]),
    }
