"""The heartbeat workload (MIT-BIH Arrhythmia Database, 5 AAMI classes).

Owns: reading Kaggle's "ECG Heartbeat Categorization" CSVs, building the same
187-sample beats from raw PhysioNet records (folder, .zip or .tar.*) with wfdb,
downloading those records, the processed cache (keyed by a hash of the input
bytes and the recipe), Kaggle-format export, and the train/val/test splits.
"""
from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from core.data.files import no_space, sha256_file, temporary_name
from core.data.sampling import class_counts, stratified_sample, stratified_split

CLASS_NAMES = ("N", "S", "V", "F", "Q")
# the AAMI (ANSI/AAMI EC57) names of the five classes, shown beside the letters
CLASS_LONG_NAMES = {"N": "normal", "S": "supraventricular ectopic", "V": "ventricular ectopic", "F": "fusion",
                    "Q": "unknown / paced"}
NUM_CLASSES = 5
BEAT_LENGTH = 187
RECIPE_VERSION = "mitbih-kaggle-v1"
# the rhythm of each beat (from the record's beat annotations; seconds): the RR interval before it and after
# it, the mean RR over it and the LOCAL_RR_BEATS - 1 beats before it, and the patient's (record's) mean RR
RR_COLUMNS = ("pre_rr", "post_rr", "local_rr", "patient_rr")
# what a model with data.rhythm=rr reads beside the beat: the four intervals, then the first three divided
# by the patient's own mean (the form that transfers between patients)
RHYTHM_FEATURES = (*RR_COLUMNS, "pre_rr_norm", "post_rr_norm", "local_rr_norm")
RHYTHM_LABELS = {"pre_rr": "RR before (s)", "post_rr": "RR after (s)", "local_rr": "local mean RR (s)",
                 "patient_rr": "patient mean RR (s)", "pre_rr_norm": "RR before / patient mean",
                 "post_rr_norm": "RR after / patient mean", "local_rr_norm": "local mean RR / patient mean"}
LOCAL_RR_BEATS = 10
# the window that starts before the R peak (data.window=p-wave): 0.3 s at MIT-BIH's 360 Hz, where the P wave
# sits (an S beat's early, odd or missing P wave is what gives it away); 36 steps after the every-3rd sampling
PRE_R_SAMPLES = 108
PHYSIONET_URL = "https://physionet.org/files/mitdb/1.0.0/"  # RNN_ARENA_PHYSIONET_URL overrides
KAGGLE_FILES = ("mitbih_train.csv", "mitbih_test.csv")
# Kaggle's class totals and test counts (N, S, V, F, Q): when a raw build has
# exactly Kaggle's totals, the test split takes Kaggle's per-class sizes.
KAGGLE_TOTALS = (90589, 2779, 7236, 803, 8039)
KAGGLE_TEST_COUNTS = (18118, 556, 1448, 162, 1608)
TEST_FRACTION = 0.2
SPLIT_SEED = 2018
# de Chazal, O'Dwyer & Reilly (2004): the inter-patient split of the MIT-BIH records. No patient
# is on both sides; the four paced records (102, 104, 107, 217) are left out, as in the paper.
DS1 = (101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124, 201, 203, 205, 207, 208, 209, 215, 220, 223, 230)
DS2 = (100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210, 212, 213, 214, 219, 221, 222, 228, 231, 232, 233, 234)
PACED = (102, 104, 107, 217)
VAL_DRAWS = 100  # seeded record subsets tried for an inter-patient validation set (enough to keep the
# classes on both sides and near their shares, few enough that other seeds pick other records)

# AAMI mapping of MIT-BIH beat symbols
AAMI = {
    **{s: 0 for s in "NLRej"},
    **{s: 1 for s in "AaJS"},
    **{s: 2 for s in "VE"},
    "F": 3,
    **{s: 4 for s in "/fQ"},
}
RECORD_RE = re.compile(r"^(\d{3})\.(hea|dat|atr)$")
MAX_ARCHIVE_BYTES = 2 * 1024**3  # refuse to unpack more than this (zip bombs)
MAX_CSV_LINE_BYTES = 64 * 1024  # a Kaggle line is about 4.7 KB (188 values as %.18e)

Progress = Callable[[int, int, str], None]  # (done, total, what)


def spelled_out(labels: Iterable[str]) -> list[str]:
    """Class labels with their AAMI names ("S supraventricular ectopic") when
    they are the heartbeat classes; other labels (title categories) as they are."""
    labels = [str(x) for x in labels]
    if not labels or not set(labels) <= set(CLASS_NAMES):
        return labels
    return [f"{x} {CLASS_LONG_NAMES[x]}" for x in labels]


# ---------------------------------------------------------------------------
# the in-memory form
@dataclass
class Beats:
    """Beats as arrays, one row each: x (N, 187) float32 in [0, 1] zero-padded,
    y (N,) int64 class, length (N,) true length, record (N,) record id or -1,
    split (N,) 0 train / 1 test; for beats built from raw records also
    rr (N, 4) float32 seconds (RR_COLUMNS), r_sample (N,) the beat's
    annotation (R peak) sample in its record and x_p (N, 187) the same beats
    cut from PRE_R_SAMPLES before the R peak (`beats_from_record`); None when
    built from Kaggle's CSVs."""

    x: np.ndarray
    y: np.ndarray
    length: np.ndarray
    record: np.ndarray
    split: np.ndarray
    rr: np.ndarray | None = None
    r_sample: np.ndarray | None = None
    x_p: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> "Beats":
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return Beats(self.x[idx], self.y[idx], self.length[idx], self.record[idx], self.split[idx],
                     pick(self.rr), pick(self.r_sample), pick(self.x_p))

    def counts(self) -> dict[str, int]:
        return dict(zip(CLASS_NAMES, (int(c) for c in class_counts(self.y, NUM_CLASSES))))


def true_lengths(x: np.ndarray) -> np.ndarray:
    """Position after the last non-zero value of each row (zeros also occur
    inside beats, so this is not the count of non-zeros); at least 1."""
    nonzero = x != 0
    last = x.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 1).astype(np.int64)


# ---------------------------------------------------------------------------
# Kaggle CSVs
def read_kaggle_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one Kaggle file: 187 values in [0, 1] then the label 0..4, no header.
    Returns (x float32 (N, 187), y int64 (N,)); any bad row is a ValueError that
    names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found; give the folder that holds {' and '.join(KAGGLE_FILES)}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty; download it again")
    _check_first_line(path)
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=None, dtype=str, na_filter=False, engine="c", encoding="ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a plain ASCII CSV ({exc.reason} at byte {exc.start}); is this the Kaggle file?") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; download it again") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: {_parser_message(exc)}; each line must have {BEAT_LENGTH} values and a label") from None
    if frame.shape[1] != BEAT_LENGTH + 1:
        raise ValueError(
            f"{path}: found {frame.shape[1]} columns, expected {BEAT_LENGTH + 1} "
            f"({BEAT_LENGTH} values then the label); is this a Kaggle mitbih_*.csv file?"
        )
    cells = frame.to_numpy()
    blank = cells == ""
    # pandas pads a short line with empty fields: a trailing run of 2+ blanks is a short line
    trailing = np.cumprod(blank[:, ::-1], axis=1).sum(axis=1)
    if (trailing >= 2).any():
        row = int(np.flatnonzero(trailing >= 2)[0])
        raise ValueError(
            f"{path}: line {row + 1} has {BEAT_LENGTH + 1 - int(trailing[row])} values, expected {BEAT_LENGTH + 1} "
            "(the line may be truncated); fix or re-download the file"
        )
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) | blank
    if bad.any():
        row, col = np.argwhere(bad)[0]
        text = frame.iat[row, col]
        what = "is empty (the line may be truncated)" if text == "" else f"is not a number: {text[:40]!r}"
        raise ValueError(f"{path}, line {row + 1}, column {col + 1} {what}; fix or re-download the file")
    inf = np.isinf(values)
    if inf.any():
        row, col = np.argwhere(inf)[0]
        raise ValueError(f"{path}, line {row + 1}, column {col + 1} is infinite; values must be finite numbers in [0, 1]")
    outside = (values[:, :-1] < 0) | (values[:, :-1] > 1)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(f"{path}, line {row + 1}, column {col + 1} is {values[row, col]:g}; Kaggle's beats are "
                         "scaled to [0, 1] (is this a Kaggle mitbih_*.csv file?)")
    labels = values[:, -1]
    wrong = (labels != np.round(labels)) | (labels < 0) | (labels > NUM_CLASSES - 1)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"{path}, line {row + 1}: label {float(labels[row]):g} is not a class 0..4 (N, S, V, F, Q); "
            "the last column must be the class"
        )
    return values[:, :-1].astype(np.float32), labels.astype(np.int64)


def _check_first_line(path: Path) -> None:
    """Count the first line's fields before pandas sees the file: pandas makes
    one column per field of line 1, and a 10 MB line of commas took minutes."""
    with open(path, "rb") as fh:
        first = fh.readline(MAX_CSV_LINE_BYTES + 1)
    if len(first) > MAX_CSV_LINE_BYTES:
        raise ValueError(f"{path}: line 1 is longer than {MAX_CSV_LINE_BYTES >> 10} KiB (a Kaggle line is about 5 KB); "
                         "is this a Kaggle mitbih_*.csv file?")
    fields = first.count(b",") + 1
    if first.strip() and fields != BEAT_LENGTH + 1:
        raise ValueError(
            f"{path}: found {fields} columns, expected {BEAT_LENGTH + 1} ({BEAT_LENGTH} values then the label) "
            "on line 1; is this a Kaggle mitbih_*.csv file?"
        )


def _parser_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1]
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        return f"line {match.group(2)} has {match.group(3)} values, expected {match.group(1)}"
    return text


def beats_from_kaggle(folder: Path) -> Beats:
    parts = []
    for split, name in enumerate(KAGGLE_FILES):
        x, y = read_kaggle_csv(folder / name)
        parts.append((x, y, np.full(len(y), split, np.uint8)))
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    split = np.concatenate([p[2] for p in parts])
    return Beats(x, y, true_lengths(x), np.full(len(y), -1, np.int64), split)


def write_kaggle_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Kaggle's own layout: every value as %.18e, the label last, no header."""
    rows = np.concatenate([x.astype(np.float64), y.astype(np.float64)[:, None]], axis=1)
    with open(path, "w", encoding="ascii") as fh:
        np.savetxt(fh, rows, fmt="%.18e", delimiter=",")


# ---------------------------------------------------------------------------
# raw PhysioNet records
def beats_from_record(signal: np.ndarray, ann_samples: np.ndarray, ann_symbols: Iterable[str],
                      pre: int = 0) -> tuple[np.ndarray, ...]:
    """The Kaggle recipe for one record (channel 0, raw ADC values):
    each AAMI beat but the record's last, from its annotation sample s,
    x[s : s + floor(1.2 T) : 3] with T the distance to the next annotation,
    min-max over the whole segment, then truncated or zero-padded to 187.
    With `pre` > 0 the window starts `pre` samples earlier (s - pre; the
    P wave), zero-filled in front where the record starts later, so the R
    peak is always at step pre // 3. Returns x, y and each beat's s."""
    symbols = list(ann_symbols)
    ann_samples = np.asarray(ann_samples, dtype=np.int64)
    beat_idx = [i for i, s in enumerate(symbols) if s in AAMI]
    beat_idx = beat_idx[:-1]  # the last beat of each record is dropped
    signal = np.asarray(signal, dtype=np.float64)
    lead = -(-int(pre) // 3)  # steps before the R peak
    x = np.zeros((len(beat_idx), BEAT_LENGTH), np.float32)
    y = np.empty(len(beat_idx), np.int64)
    starts = np.empty(len(beat_idx), np.int64)
    keep = np.ones(len(beat_idx), bool)
    for row, i in enumerate(beat_idx):
        s = int(ann_samples[i])
        span = int(np.floor(1.2 * (ann_samples[i + 1] - s)))
        after = signal[s : s + span : 3]
        if len(after) == 0:
            keep[row] = False
            continue
        before = signal[s - 3 * min(lead, s // 3) : s : 3]  # on the same every-3rd grid as s
        seg = np.concatenate([before, after])
        lo, hi = seg.min(), seg.max()
        seg = (seg - lo) / (hi - lo) if hi > lo else np.zeros_like(seg)
        seg = np.concatenate([np.zeros(lead - len(before)), seg])[:BEAT_LENGTH].astype(np.float32)
        x[row, : len(seg)] = seg
        y[row] = AAMI[symbols[i]]
        starts[row] = s
    return x[keep], y[keep], starts[keep]


def rr_intervals(beat_samples: np.ndarray, fs: float, local_beats: int = LOCAL_RR_BEATS) -> np.ndarray:
    """The rhythm of every beat of one record, from its beat annotations
    (sample positions, any order): (n, 4) float32 seconds, RR_COLUMNS.
    pre-RR: to the beat before (the first beat, which has none, takes its
    post-RR); post-RR: to the beat after (the last beat takes its pre-RR);
    local: the mean pre-RR over this beat and the `local_beats` - 1 before it
    (only the past, as a monitor would); patient: the mean RR over the record."""
    s = np.sort(np.asarray(beat_samples, dtype=np.float64))
    if len(s) < 2:
        raise ValueError(f"a record needs at least 2 beat annotations to measure an RR interval, found {len(s)}")
    if not fs > 0:
        raise ValueError(f"the sampling frequency must be positive, got {fs}")
    rr = np.diff(s) / fs  # (n - 1,)
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    csum = np.concatenate([[0.0], np.cumsum(pre)])
    k = np.arange(len(s))
    lo = np.maximum(0, k - (local_beats - 1))
    local = (csum[k + 1] - csum[lo]) / (k + 1 - lo)
    patient = np.full(len(s), rr.mean())
    return np.stack([pre, post, local, patient], axis=1).astype(np.float32)


def rhythm_features(rr: np.ndarray) -> np.ndarray:
    """(N, 4) RR_COLUMNS -> (N, 7) RHYTHM_FEATURES: the intervals, then the
    first three divided by the patient's mean RR."""
    rr = np.asarray(rr, dtype=np.float32)
    patient = np.maximum(rr[:, 3:4], 1e-6)
    return np.concatenate([rr, rr[:, :3] / patient], axis=1)


def rhythm_of_rows(starts: np.ndarray, ann_samples: np.ndarray, ann_symbols: Iterable[str], fs: float) -> np.ndarray:
    """RR_COLUMNS for the beats that start at `starts` (their annotation
    samples), measured between all of the record's beat annotations (the
    dropped last beat too: it ends the RR after the one before it)."""
    symbols = list(ann_symbols)
    beat_samples = np.asarray(ann_samples, dtype=np.int64)[[i for i, s in enumerate(symbols) if s in AAMI]]
    beat_samples = np.sort(beat_samples)
    rr = rr_intervals(beat_samples, fs)
    rows = np.searchsorted(beat_samples, np.asarray(starts, dtype=np.int64))
    return rr[rows]


def find_records(folder: Path) -> list[str]:
    """Record names in a folder that holds NNN.hea/.dat/.atr (searched one
    level down too, as PhysioNet's zip has a top folder)."""
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        names = sorted({m.group(1) for p in candidate.iterdir() if (m := RECORD_RE.match(p.name))})
        if names:
            return [str(candidate / n) for n in names]
    return []


def beats_from_records(folder: Path, progress: Progress | None = None) -> Beats:
    import wfdb

    records = find_records(folder)
    if not records:
        raise ValueError(
            f"{folder}: no MIT-BIH records found (expected files like 100.hea, 100.dat, 100.atr); "
            "give a folder or archive of the PhysioNet mitdb records, or the folder with the Kaggle CSVs"
        )
    _verify_checksums(Path(records[0]).parent)
    xs, ys, recs, rrs, peaks, xps = [], [], [], [], [], []
    for n, base in enumerate(records):
        name = Path(base).name
        for ext in ("hea", "dat", "atr"):
            if not Path(f"{base}.{ext}").is_file():
                raise ValueError(f"record {name}: {name}.{ext} is missing from {Path(base).parent}; every record needs .hea, .dat and .atr")
        unreadable = lambda exc: ValueError(  # noqa: E731
            f"record {name} in {Path(base).parent} could not be read ({type(exc).__name__}: {str(exc)[:200]}); "
            "the file may be truncated or corrupt, download it again")
        try:
            header = wfdb.rdheader(base)
        except Exception as exc:  # wfdb raises many types on corrupt input
            raise unreadable(exc) from None
        _check_signal_size(name, Path(base).parent, header)
        try:
            rec = wfdb.rdrecord(base, channels=[0], physical=False)
            ann = wfdb.rdann(base, "atr")
        except Exception as exc:
            raise unreadable(exc) from None
        signal = rec.d_signal[:, 0]
        if len(ann.sample) and ann.sample.max() >= len(signal) + 10_000:
            raise ValueError(f"record {name}: annotations point past the end of the signal; {name}.dat looks truncated")
        x, y, starts = beats_from_record(signal, ann.sample, ann.symbol)
        if len(y) == 0:
            raise ValueError(f"record {name}: {name}.atr holds no beat annotations (empty, or not an MIT-BIH "
                             "annotation file); download the record again")
        xs.append(x)
        xps.append(beats_from_record(signal, ann.sample, ann.symbol, pre=PRE_R_SAMPLES)[0])
        ys.append(y)
        recs.append(np.full(len(y), int(name) if name.isdigit() else -1, np.int64))
        rrs.append(rhythm_of_rows(starts, ann.sample, ann.symbol, float(header.fs or 360.0)))
        peaks.append(starts)
        if progress:
            progress(n + 1, len(records), f"record {name}")
    x, y, record = np.concatenate(xs), np.concatenate(ys), np.concatenate(recs)
    split = np.zeros(len(y), np.uint8)
    split[raw_test_indices(y)] = 1
    return Beats(x, y, true_lengths(x), record, split, np.concatenate(rrs), np.concatenate(peaks), np.concatenate(xps))


# bytes per sample of WFDB's signal formats (MIT-BIH uses 212: two 12-bit samples in 3 bytes)
BYTES_PER_SAMPLE = {"212": 1.5, "310": 4 / 3, "311": 4 / 3, "8": 1, "80": 1, "16": 2, "61": 2, "160": 2, "24": 3, "32": 4}


def _check_signal_size(name: str, folder: Path, header) -> None:
    """Refuse a header that declares more samples than its signal file holds:
    wfdb would allocate the declared size (a lying header asked for 279 GiB)."""
    sig_len = int(header.sig_len or 0)
    need: dict[str, float] = {}
    for file_name, fmt in zip(header.file_name or [], header.fmt or []):
        need[file_name] = need.get(file_name, 0.0) + sig_len * BYTES_PER_SAMPLE.get(str(fmt), 1)
    for file_name, size in need.items():
        f = folder / Path(file_name).name
        if f.is_file() and size > f.stat().st_size + 1024:
            raise ValueError(f"record {name}: {name}.hea declares {sig_len:,} samples, more than {f.name} holds "
                             f"({f.stat().st_size:,} bytes); the file is truncated or the header is wrong, "
                             "download the record again")


def raw_test_indices(y: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """Seeded stratified 80/20 split of a raw build. The full database has
    Kaggle's class totals; it then gets Kaggle's per-class test sizes
    (87,554 / 21,892)."""
    counts = tuple(int(c) for c in class_counts(y, NUM_CLASSES))
    holdout = dict(enumerate(KAGGLE_TEST_COUNTS)) if counts == KAGGLE_TOTALS else TEST_FRACTION
    _, test = stratified_split(y, holdout, seed)
    return test


def _verify_checksums(folder: Path) -> None:
    sums = folder / "SHA256SUMS.txt"
    if not sums.is_file():
        return
    bad = []
    for line in sums.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 2 or not RECORD_RE.match(parts[1]):
            continue
        f = folder / parts[1]
        if f.is_file() and sha256_file(f) != parts[0]:
            bad.append(parts[1])
    if bad:
        raise ValueError(f"{folder}: checksum mismatch for {', '.join(bad[:5])} (SHA256SUMS.txt); the files are corrupt, download them again")


# ---------------------------------------------------------------------------
# archives, safely
def extract_archive(archive: Path, dest: Path) -> Path:
    """Unpack the record files (and RECORDS, SHA256SUMS.txt) of a .zip or
    .tar.* into dest. Paths are flattened to their file name, so nothing can
    land outside dest; links and oversized archives are refused."""
    wanted = lambda name: RECORD_RE.match(name) or name in ("RECORDS", "SHA256SUMS.txt")  # noqa: E731
    total = 0
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or not wanted(name):
                        continue
                    total += info.file_size
                    if total > MAX_ARCHIVE_BYTES:
                        raise ValueError(f"{archive}: unpacks to more than {MAX_ARCHIVE_BYTES >> 30} GiB; refusing (not an MIT-BIH archive?)")
                    with zf.open(info) as src, open(dest / name, "wb") as out:
                        _copy_limited(src, out, info.file_size, archive)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf:
                    name = Path(member.name).name
                    if not member.isfile() or not wanted(name):
                        continue  # directories, links and devices are skipped
                    total += member.size
                    if total > MAX_ARCHIVE_BYTES:
                        raise ValueError(f"{archive}: unpacks to more than {MAX_ARCHIVE_BYTES >> 30} GiB; refusing")
                    src = tf.extractfile(member)
                    with open(dest / name, "wb") as out:
                        _copy_limited(src, out, member.size, archive)
        else:
            raise ValueError(f"{archive}: not a .zip or .tar archive; give a folder, a .zip or a .tar.* of the records")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise ValueError(f"could not unpack {archive} into {dest}: {exc.strerror}") from None
        raise ValueError(f"{archive}: the archive is corrupt or truncated ({type(exc).__name__}: {exc}); download it again") from None
    return dest


def _copy_limited(src: io.BufferedIOBase, out: io.BufferedIOBase, declared: int, archive: Path) -> None:
    written = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        written += len(block)
        if written > declared + (1 << 20) or written > MAX_ARCHIVE_BYTES:
            raise ValueError(f"{archive}: a member unpacks to more than it declares; refusing")
        out.write(block)


# ---------------------------------------------------------------------------
# download
def download_records(dest: Path, progress: Progress | None = None, base_url: str | None = None) -> Path:
    """Download the 48 records from PhysioNet with wfdb's downloader, each file
    checked against PhysioNet's SHA256SUMS.txt (files already there and
    intact are kept). `base_url` or RNN_ARENA_PHYSIONET_URL names a mirror."""
    from wfdb.io.download import dl_full_file

    base = base_url or os.environ.get("RNN_ARENA_PHYSIONET_URL") or PHYSIONET_URL
    base = base if base.endswith("/") else base + "/"
    dest.mkdir(parents=True, exist_ok=True)

    def fetch(name: str, target: Path) -> None:
        try:
            dl_full_file(base + name, str(target))
        except Exception as exc:  # wfdb raises requests' and its own errors
            target.unlink(missing_ok=True)
            raise ValueError(
                f"cannot download {base + name} ({type(exc).__name__}: {exc}); without network, download mitdb "
                "elsewhere and pass it with --source PATH (a folder or archive of the records, or the folder "
                "with Kaggle's two CSVs)"
            ) from None

    fetch("SHA256SUMS.txt", dest / "SHA256SUMS.txt")
    sums = {}
    for line in (dest / "SHA256SUMS.txt").read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and RECORD_RE.match(parts[1]):
            sums[parts[1]] = parts[0]
    if not sums:
        raise ValueError(f"{base}SHA256SUMS.txt lists no record files; is {base} the mitdb 1.0.0 folder?")
    names = sorted(sums)
    for n, name in enumerate(names):
        target = dest / name
        if not (target.is_file() and sha256_file(target) == sums[name]):
            tmp = temporary_name(target, ".part")
            fetch(name, tmp)
            if sha256_file(tmp) != sums[name]:
                tmp.unlink()
                raise ValueError(f"{base + name}: checksum mismatch against SHA256SUMS.txt; try the download again")
            os.replace(tmp, target)
        if progress:
            progress(n + 1, len(names), name)
    return dest


# ---------------------------------------------------------------------------
# prepared datasets and the cache
def source_fingerprint(source: Path) -> str:
    """Hash of the bytes that the build reads (and the recipe), so a changed
    input means a new cache entry and an unchanged one is reused."""
    h = hashlib.sha256(RECIPE_VERSION.encode())
    files = [source] if source.is_file() else sorted(
        p for p in source.rglob("*") if p.is_file() and (RECORD_RE.match(p.name) or p.name in KAGGLE_FILES)
    )
    for f in files:
        h.update(f.name.encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()[:16]


def prepare(source: Path | None, home: Path, progress: Progress | None = None, log: Callable[[str], None] = print) -> dict:
    """Build (or reuse) the processed beats and make them the active heartbeat
    dataset in `home`. Returns its metadata (counts, build time, cache path)."""
    home.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = home / "raw" / "mitdb"
        if not (source.is_dir() and find_records(source)):
            log(f"downloading the MIT-BIH records from PhysioNet into {source}")
            download_records(source, progress)
    source = Path(source).expanduser().resolve()
    if not source.exists():
        raise ValueError(f"{source}: no such file or folder; give a folder or archive of MIT-BIH records, or the folder with the Kaggle CSVs")
    key = source_fingerprint(source)
    cache = home / "cache" / f"heartbeat-{key}.npz"
    meta_path = home / "datasets" / "heartbeat.json"
    meta = _read_json(cache.with_suffix(".json")) if cache.is_file() else None
    if meta is not None and not {"rhythm", "p_wave"} <= meta.keys():
        log(f"rebuilding {cache}: it was built before the beats kept their rhythm (RR intervals) and the window "
            "before the R peak")
        meta = None
    if meta is not None:
        log(f"reusing the processed beats in {cache} (built from the same bytes)")
        meta["reused"] = True
    else:
        start = time.perf_counter()
        beats, kind = _build(source, home, progress)
        seconds = time.perf_counter() - start
        meta = {
            "workload": "heartbeat", "source": str(source), "kind": kind, "key": key,
            "recipe": RECIPE_VERSION, "cache": str(cache), "build_seconds": round(seconds, 2),
            "beats": len(beats), "counts": beats.counts(),
            "train": int((beats.split == 0).sum()), "test": int((beats.split == 1).sum()),
            "train_counts": beats.subset(beats.split == 0).counts(),
            "test_counts": beats.subset(beats.split == 1).counts(),
            "rhythm": beats.rr is not None,  # RR intervals kept (raw records carry beat annotations; CSVs do not)
            "p_wave": beats.x_p is not None,  # the beats also cut from before the R peak (raw records only)
        }
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(cache)
        try:
            with open(tmp, "wb") as fh:  # a file object: numpy adds no .npz to the name
                rhythm = {} if beats.rr is None else {"rr": beats.rr, "r_sample": beats.r_sample, "x_p": beats.x_p}
                np.savez_compressed(fh, x=beats.x, y=beats.y.astype(np.uint8), length=beats.length.astype(np.uint16),
                                    record=beats.record, split=beats.split, **rhythm)
            _write_json(cache.with_suffix(".json"), meta)
            os.replace(tmp, cache)  # last and atomic: an entry is complete once its .npz exists
        except OSError as exc:
            raise no_space(exc, "the processed beats", cache.parent) from None
        finally:
            tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        meta["reused"] = False
    _write_json(meta_path, {k: v for k, v in meta.items() if k != "reused"})
    return meta


def _read_json(path: Path) -> dict | None:
    """A metadata file, or None when it is missing or damaged (then rebuilt)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, obj: dict) -> None:
    """Write through a temporary file and rename, so a crash or a full disk
    never leaves a half-written file that later reads would trip on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        tmp.write_text(json.dumps(obj, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _build(source: Path, home: Path, progress: Progress | None) -> tuple[Beats, str]:
    if source.is_dir() and all((source / f).is_file() for f in KAGGLE_FILES):
        return beats_from_kaggle(source), "kaggle-csv"
    present = [f for f in KAGGLE_FILES if (source / f).is_file()] if source.is_dir() else []
    if len(present) == 1:
        missing = next(f for f in KAGGLE_FILES if f not in present)
        raise ValueError(f"{source}: {missing} is missing next to {present[0]}; Kaggle's data needs both files")
    if source.is_dir():
        return beats_from_records(source, progress), "raw-records"
    if source.is_file():
        if source.name in KAGGLE_FILES:
            raise ValueError(f"{source}: give the folder that holds both {KAGGLE_FILES[0]} and {KAGGLE_FILES[1]}")
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=home / "tmp") as tmp:
            extract_archive(source, Path(tmp))
            return beats_from_records(Path(tmp), progress), "raw-archive"
    raise ValueError(f"{source}: not a folder or archive")


def dataset_info(home: Path) -> dict | None:
    """The active dataset's metadata; None when not prepared (or its file is damaged: prepare again)."""
    return _read_json(home / "datasets" / "heartbeat.json")


def load_beats(home: Path) -> Beats:
    meta = dataset_info(home)
    if meta is None or not Path(str(meta.get("cache", ""))).is_file():
        raise ValueError(
            f"the heartbeat data is not prepared in {home}; run: python -m experiments prepare heartbeat "
            "[--source PATH]"
        )
    return read_cache(Path(meta["cache"]))


def read_cache(cache: Path, with_x: bool = True) -> Beats:
    """The beats of a cache `prepare` wrote. Without x only the small arrays
    are read (x is a zero-width stand-in, so Beats.subset and make_splits still work)."""
    with np.load(cache) as z:  # plain arrays, no pickle
        y = z["y"].astype(np.int64)
        x = z["x"] if with_x else np.zeros((len(y), 0), np.float32)
        rr = z["rr"].astype(np.float32) if "rr" in z.files else None
        r_sample = z["r_sample"].astype(np.int64) if "r_sample" in z.files else None
        x_p = z["x_p"] if with_x and "x_p" in z.files else None
        return Beats(x, y, z["length"].astype(np.int64), z["record"], z["split"], rr, r_sample, x_p)


def export_kaggle(home: Path, out: Path) -> list[Path]:
    beats = load_beats(home)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, name in enumerate(KAGGLE_FILES):
        part = beats.subset(beats.split == split)
        write_kaggle_csv(out / name, part.x, part.y)
        paths.append(out / name)
    return paths


@dataclass
class Splits:
    train: Beats
    val: Beats
    test: Beats


def make_splits(beats: Beats, val_fraction: float, sample: float, seed: int, split: str = "intra-patient") -> Splits:
    """Train, validation and test of a run (see `split_indices`); the sample
    keeps a fraction of train and val with every class; test is whole."""
    train_idx, val_idx, test_idx = split_indices(beats, val_fraction, seed, split)
    train, val, test = beats.subset(train_idx), beats.subset(val_idx), beats.subset(test_idx)
    if sample < 1.0:
        train = train.subset(stratified_sample(train.y, sample, seed))
        val = val.subset(stratified_sample(val.y, sample, seed + 1))
    return Splits(train, val, test)


# ---------------------------------------------------------------------------
# inter-patient evaluation (de Chazal et al. 2004)
NO_RECORDS = ("the inter-patient split needs the record each beat comes from, and beats built from Kaggle's CSVs "
              "carry none (the CSVs drop it); prepare the data from the raw MIT-BIH records: python -m experiments "
              "prepare heartbeat [--source FOLDER_OR_ARCHIVE_OF_MITDB_RECORDS], or use --split intra-patient")


NO_RHYTHM = ("the rhythm features (RR intervals) come from each record's beat annotations, and beats built from "
             "Kaggle's CSVs carry none (the CSVs drop them); prepare the data from the raw MIT-BIH records: "
             "python -m experiments prepare heartbeat [--source FOLDER_OR_ARCHIVE_OF_MITDB_RECORDS], or use "
             "--rhythm none")


def require_rhythm(beats: Beats) -> None:
    """A rhythm run needs beats built from raw records (with their RR intervals)."""
    if beats.rr is None or (len(beats) and (beats.record < 0).all()):
        raise ValueError(NO_RHYTHM)


def require_records(beats: Beats) -> None:
    """The inter-patient split assigns beats by record: refuse beats without record ids."""
    if len(beats) and (beats.record < 0).all():
        raise ValueError(NO_RECORDS)


def record_sets(beats: Beats) -> dict[str, np.ndarray]:
    """Row masks of DS1, DS2 and the paced records (records outside all three: in none)."""
    return {"DS1": np.isin(beats.record, DS1), "DS2": np.isin(beats.record, DS2), "paced": np.isin(beats.record, PACED)}


def split_indices(beats: Beats, val_fraction: float, seed: int,
                  split: str = "intra-patient") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of train, validation and test. Intra-patient: validation carved
    from Kaggle's fixed train part (stratified by beat, seeded), test = its
    test part. Inter-patient: train and validation from the DS1 records,
    validation as whole records (`validation_records`), test = DS2."""
    if split == "intra-patient":
        train_part, test = np.flatnonzero(beats.split == 0), np.flatnonzero(beats.split == 1)
        keep, val = stratified_split(beats.y[train_part], float(val_fraction), seed)
        return train_part[keep], train_part[val], test
    if split != "inter-patient":
        raise ValueError(f"split {split!r} is not valid; choose intra-patient or inter-patient")
    require_records(beats)
    sets = record_sets(beats)
    ds1, test = np.flatnonzero(sets["DS1"]), np.flatnonzero(sets["DS2"])
    for name, rows in (("DS1", ds1), ("DS2", test)):
        if len(rows) == 0:
            raise ValueError(f"the prepared heartbeat data holds no {name} record, so the inter-patient split is "
                             "empty; prepare it from all 48 MIT-BIH records")
    held = np.isin(beats.record[ds1], validation_records(beats.record[ds1], beats.y[ds1], val_fraction, seed))
    return ds1[~held], ds1[held], test


def validation_records(record: np.ndarray, y: np.ndarray, val_fraction: float, seed: int,
                       draws: int = VAL_DRAWS) -> list[int]:
    """Whole records held out for validation (never single beats, so no
    patient is on both sides of train and validation).

    A seeded search: each draw shuffles the records and takes them in that
    order until about `val_fraction` of the beats is held out (the prefix just
    below and the one just above the target are both candidates). The best
    candidate has, in this order: the fewest classes missing from train, the
    fewest classes missing from validation (counting only classes that two or
    more records hold, the others cannot be on both sides), then each class's
    share held out closest to `val_fraction`. Same labels and seed, same records."""
    names = np.unique(record)
    if len(names) < 2:
        raise ValueError(f"an inter-patient validation set needs at least 2 training records, found {len(names)}; "
                         "prepare the data from all 48 MIT-BIH records")
    num_classes = int(max(y.max(initial=0) + 1, NUM_CLASSES))
    per_record = np.stack([class_counts(y[record == r], num_classes) for r in names])  # (R, C)
    total = per_record.sum(axis=0)  # (C,)
    present = total > 0
    shared = (per_record > 0).sum(axis=0) >= 2  # classes that can be on both sides
    target = val_fraction * total.sum()

    def score(chosen: np.ndarray) -> tuple:
        held = per_record[chosen].sum(axis=0)
        kept = total - held
        share = np.divide(held, total, out=np.zeros(num_classes), where=present)
        return (int((present & (kept == 0)).sum()), int((shared & (held == 0)).sum()),
                float(np.abs(share[present] - val_fraction).sum()))

    rng = np.random.default_rng(seed)
    best, best_score = None, None
    for _ in range(draws):
        order = rng.permutation(len(names))
        sizes = np.cumsum(per_record[order].sum(axis=1))
        above = int(np.searchsorted(sizes, target)) + 1  # records until the target is reached
        for k in sorted({max(1, above - 1), min(above, len(names) - 1)}):
            chosen = np.sort(order[:k])
            s = score(chosen)
            if best_score is None or s < best_score:
                best, best_score = chosen, s
    return [int(r) for r in names[best]]


NO_P_WAVE = ("the window before the R peak (the P wave) is cut from the raw records, and beats built from Kaggle's "
             "CSVs carry only the part from the R peak on; prepare the data from the raw MIT-BIH records: "
             "python -m experiments prepare heartbeat [--source FOLDER_OR_ARCHIVE_OF_MITDB_RECORDS], or use "
             "--window r-peak")


def require_p_wave(beats: Beats) -> None:
    """A run on the window from before the R peak needs beats built from raw records."""
    if beats.x_p is None or (len(beats) and (beats.record < 0).all()):
        raise ValueError(NO_P_WAVE)
