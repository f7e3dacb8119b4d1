"""The Data page's reads: class counts, samples, lengths and examples of the
prepared datasets, as plain lists and dicts.

No torch: the arrays are read by core.data's own cache readers from the
caches that `prepare` wrote (`datasets/<workload>.json` names the cache), and
the samples are drawn by the same make_splits the runs use, so a run with the
same options trains on exactly these counts.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from core import workloads as W
from core.data import heartbeat as hb
from core.data.sampling import class_counts

if TYPE_CHECKING:
    from core.data import titles as tt

SPLITS = W.SPLITS
MIN_RUNNING_SHARE = 0.01  # the mean beat stops where fewer beats of the class are still running


def defaults() -> dict:
    """The run defaults the page starts from (validation fraction, split seed, evaluation split)."""
    from core.config import DataConfig

    d = DataConfig()
    return {"val_fraction": d.val_fraction, "seed": d.split_seed, "evaluation": d.split}


def dataset_meta(home: Path, workload: str) -> dict | None:
    """The prepared dataset's metadata, or None when it is not prepared (or its
    cache is gone)."""
    try:
        return W.get(workload).prepared(Path(home))
    except (OSError, ValueError):  # a damaged metadata file: prepare again
        return None


def imbalance(counts: list[int]) -> dict:
    """Largest over smallest class, over the classes present; how many are missing."""
    present = [c for c in counts if c > 0]
    ratio = max(present) / min(present) if present else float("nan")
    return {"ratio": ratio, "largest": max(counts, default=0), "smallest": min(present, default=0),
            "missing": len(counts) - len(present)}


def extremes(names: list[str], counts: list[int], k: int = 10) -> dict:
    """Indices of the k most and k least frequent classes (ties keep class
    order); with 2k classes or fewer, all of them as "top", most frequent first."""
    order = [int(i) for i in np.argsort(-np.asarray(counts), kind="stable")]
    if len(order) <= 2 * k:
        return {"top": order, "bottom": []}
    return {"top": order[:k], "bottom": order[::-1][:k][::-1]}


# ---------------------------------------------------------------------------
# heartbeat
@st.cache_resource(show_spinner=False, max_entries=2)
def _beats(cache: str, mtime: float, with_x: bool) -> hb.Beats:
    """The prepared beats; without x only the small arrays are read."""
    return hb.read_cache(Path(cache), with_x)


def _beat_splits(beats: hb.Beats, val_fraction: float, sample: float, seed: int,
                 evaluation: str) -> dict[str, hb.Beats]:
    s = hb.make_splits(beats, val_fraction, sample, seed, evaluation)  # the runs' own split and sampler
    return {"train": s.train, "validation": s.val, "test": s.test}


@st.cache_data(show_spinner=False, max_entries=32)
def _heartbeat_counts(cache: str, mtime: float, sample: float, seed: int, val_fraction: float,
                      evaluation: str) -> dict:
    beats = _beats(cache, mtime, False)
    full = _beat_splits(beats, val_fraction, 1.0, seed, evaluation)
    part = _beat_splits(beats, val_fraction, sample, seed, evaluation) if sample < 1.0 else full
    count = lambda b: class_counts(b.y, hb.NUM_CLASSES).tolist()  # noqa: E731
    return {"class_names": list(hb.CLASS_NAMES), "full": {s: count(b) for s, b in full.items()},
            "sample": {s: count(b) for s, b in part.items()}, "sample_fraction": sample, "seed": seed,
            "evaluation": evaluation}


def heartbeat_counts(meta: dict, sample: float, seed: int, val_fraction: float,
                     evaluation: str = "intra-patient") -> dict:
    """Class counts per split for the full data and for a `sample` drawn as a
    run draws it (train and validation sampled; test always whole), under the
    intra- or inter-patient `evaluation` split. A ValueError says why a split
    cannot be drawn (inter-patient beats built from Kaggle's CSVs)."""
    cache = Path(meta["cache"])
    return _heartbeat_counts(str(cache), cache.stat().st_mtime, float(sample), int(seed), float(val_fraction),
                             str(evaluation))


def _split_rows(beats: hb.Beats, split: str, val_fraction: float, seed: int, evaluation: str) -> np.ndarray:
    """Row indices of a full split, as hb.make_splits draws it."""
    train, val, test = hb.split_indices(beats, float(val_fraction), seed, evaluation)
    return {"train": train, "validation": val, "test": test}[split]


@st.cache_data(show_spinner=False, max_entries=4)
def _record_sets(cache: str, mtime: float, seed: int, val_fraction: float) -> dict:
    beats = _beats(cache, mtime, False)
    count = lambda mask: class_counts(beats.y[mask], hb.NUM_CLASSES).tolist()  # noqa: E731
    rows = [{"evaluation": "intra-patient", "set": "train (Kaggle's split)", "mask": beats.split == 0},
            {"evaluation": "intra-patient", "set": "test (Kaggle's split)", "mask": beats.split == 1}]
    has_records = bool(len(beats)) and bool((beats.record >= 0).any())
    val_records: list[int] = []
    if has_records:
        sets = hb.record_sets(beats)
        rows += [{"evaluation": "inter-patient", "set": "DS1 (train and validation)", "mask": sets["DS1"]},
                 {"evaluation": "inter-patient", "set": "DS2 (test)", "mask": sets["DS2"]},
                 {"evaluation": "left out", "set": "paced records " + ", ".join(map(str, hb.PACED)),
                  "mask": sets["paced"]}]
        ds1 = sets["DS1"]
        if len(np.unique(beats.record[ds1])) >= 2 and sets["DS2"].any():  # else no inter-patient run is possible
            val_records = hb.validation_records(beats.record[ds1], beats.y[ds1], val_fraction, seed)
    table = []
    for row in rows:
        mask = row.pop("mask")
        counts = count(mask)
        records = len(np.unique(beats.record[mask])) if has_records else None
        table.append({**row, "records": records, **dict(zip(hb.CLASS_NAMES, counts)), "total": int(sum(counts))})
    return {"rows": table, "has_records": has_records, "validation_records": val_records}


def heartbeat_record_sets(meta: dict, seed: int, val_fraction: float) -> dict:
    """Class counts of both evaluation splits' record sets: Kaggle's train
    and test (intra-patient; the same 48 patients on both sides), de Chazal's
    DS1 and DS2 and the paced records left out (inter-patient; only when the
    beats carry record ids), and the DS1 records a run with this seed and
    validation fraction holds out for validation."""
    cache = Path(meta["cache"])
    return _record_sets(str(cache), cache.stat().st_mtime, int(seed), float(val_fraction))


@st.cache_data(show_spinner=False, max_entries=16)
def _heartbeat_profile(cache: str, mtime: float, split: str, seed: int, val_fraction: float, example: int,
                       evaluation: str) -> dict:
    beats = _beats(cache, mtime, True)
    rows = _split_rows(beats, split, val_fraction, seed, evaluation)
    y, lengths = beats.y[rows], beats.length[rows]
    steps = beats.x.shape[1]
    rng = np.random.default_rng(seed)
    classes = []
    for c, name in enumerate(hb.CLASS_NAMES):
        idx = rows[y == c]  # rows of this class, in the whole array
        entry = {"name": hb.spelled_out([name])[0], "count": int(len(idx))}
        if len(idx):
            pick = int(rng.permutation(idx)[example % len(idx)])
            n = int(beats.length[pick])
            entry["example"] = beats.x[pick, :n].astype(float).round(4).tolist()
            entry["example_index"] = int(np.searchsorted(rows, pick))  # its position in the split
            # padding is zero, so plain sums over the rows are sums over the running steps
            x = beats.x[idx]  # (n_c, T)
            counts = np.bincount(beats.length[idx], minlength=steps + 1)
            alive = len(idx) - np.cumsum(counts)[:steps]  # (T,) beats still running at each step
            total = x.sum(axis=0, dtype=np.float64)
            squares = np.square(x).sum(axis=0, dtype=np.float64)
            mean = total / np.maximum(alive, 1)
            std = np.sqrt(np.maximum(squares / np.maximum(alive, 1) - mean**2, 0.0))
            keep = alive >= max(3, MIN_RUNNING_SHARE * len(idx))
            last = int(np.flatnonzero(keep)[-1]) + 1 if keep.any() else 0
            entry.update(mean=mean[:last].round(4).tolist(), std=std[:last].round(4).tolist(),
                         length_counts=counts.tolist())
        classes.append(entry)
    return {"split": split, "size": int(len(rows)), "steps": steps, "classes": classes,
            "length": {"mean": float(lengths.mean()) if len(lengths) else 0.0,
                       "median": float(np.median(lengths)) if len(lengths) else 0.0,
                       "padding_share": float(1 - lengths.sum() / (steps * len(lengths))) if len(lengths) else 0.0}}


def heartbeat_profile(meta: dict, split: str, seed: int, val_fraction: float, example: int = 0,
                      evaluation: str = "intra-patient") -> dict:
    """For one split: an example beat per class (cut at its true length), the
    mean beat and its standard deviation per class over the steps where the
    beats are still running (padding left out), and true-length counts."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    cache = Path(meta["cache"])
    return _heartbeat_profile(str(cache), cache.stat().st_mtime, split, int(seed), float(val_fraction), int(example),
                              str(evaluation))


# ---------------------------------------------------------------------------
# titles
@st.cache_resource(show_spinner=False, max_entries=2)
def _titles(cache: str, mtime: float) -> tt.TitlesData:
    """The encoded splits, vocabulary and categories, as runs read them."""
    from core.data import titles as tt  # pandas and gensim: only when titles are shown

    return tt.read_cache(Path(cache))


@st.cache_data(show_spinner=False, max_entries=32)
def _titles_counts(cache: str, mtime: float, sample: float, seed: int, reliable_only: bool) -> dict:
    from core.data import titles as tt

    data = _titles(cache, mtime)
    k = len(data.labels)
    full = tt.make_splits(data, 1.0, seed, reliable_only)  # the runs' own sampler
    part = tt.make_splits(data, sample, seed, reliable_only) if sample < 1.0 else full
    count = lambda splits: {s: class_counts(t.y, k).tolist() for s, t in zip(SPLITS, splits)}  # noqa: E731
    return {"class_names": data.class_names, "full": count(full), "sample": count(part), "sample_fraction": sample,
            "seed": seed, "reliable_only": reliable_only}


def titles_counts(meta: dict, sample: float, seed: int, reliable_only: bool = False) -> dict:
    """Category counts per split for the full data and for a `sample` drawn
    as a run draws it (train and validation sampled, validation with seed + 1;
    test whole), keeping only reliable labels in train and validation when
    `reliable_only`."""
    folder = Path(meta["cache"])
    return _titles_counts(str(folder), (folder / "meta.json").stat().st_mtime, float(sample), int(seed),
                          bool(reliable_only))


@st.cache_data(show_spinner=False, max_entries=16)
def _titles_profile(cache: str, mtime: float, split: str, seed: int, n_examples: int) -> dict:
    data = _titles(cache, mtime)
    part, vocab, names = data.splits()[split], data.vocab.tokens, data.class_names
    n_tokens = part.n_tokens.astype(np.int64)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(n_tokens), size=min(n_examples, len(n_tokens)), replace=False) if len(n_tokens) else []
    examples = []
    for i in rows:
        ids = part.tokens[i, : int(part.length[i])]
        tokens = [vocab[int(t)] for t in ids] if n_tokens[i] > 0 else []
        examples.append({"title": str(part.titles[i]), "tokens": " · ".join(tokens) or "(nothing left)",
                         "kept": int(n_tokens[i]), "category": names[int(part.y[i])],
                         "label quality": str(part.label_quality[i])})
    max_len = int(part.tokens.shape[1])
    return {"split": split, "size": int(len(n_tokens)), "max_len": max_len, "examples": examples,
            "length_counts": np.bincount(n_tokens, minlength=max_len + 1).tolist() if len(n_tokens) else [0],
            "mean_tokens": float(n_tokens.mean()) if len(n_tokens) else 0.0,
            "truncated": int((n_tokens > max_len).sum()), "empty": int((n_tokens == 0).sum())}


def titles_profile(meta: dict, split: str, seed: int, n_examples: int = 12) -> dict:
    """For one split: random raw titles beside the tokens the model reads
    (stopwords dropped, unknown words as [UNK], cut at max_len), and the
    histogram of tokens per title before truncation."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    folder = Path(meta["cache"])
    return _titles_profile(str(folder), (folder / "meta.json").stat().st_mtime, split, int(seed), int(n_examples))
