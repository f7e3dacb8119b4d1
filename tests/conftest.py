"""Shared fixtures: small data written in the real formats (PhysioNet records
via wfdb, Kaggle CSVs), a tiny config, and a temporary RNN_ARENA_HOME."""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# one thread: tests are tiny, and two busy processes with two threads each slow
# each other down by orders of magnitude on a 2-core machine
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402

# symbols cycled through the fixture records: every AAMI class and a non-beat
BEAT_SYMBOLS = ["N", "N", "L", "A", "N", "V", "N", "F", "/", "N", "R", "a", "E", "f", "N", "Q", "j", "S", "J", "e"]


def torch_left_out(code: str, home: Path) -> bool:
    """Run `code` in a fresh Python with RNN_ARENA_HOME=home; whether torch stayed out of it."""
    import os
    import subprocess

    code += "\nimport sys; print('torch' in sys.modules)"
    env = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1] == "False"


def write_record(folder: Path, name: str, n_beats: int = 60, seed: int = 0, fs: int = 360) -> dict:
    """A 2-channel format-212 record with beat annotations every ~0.8 s and
    a rhythm annotation ('+') in between; returns what was written."""
    import wfdb

    rng = np.random.default_rng(seed)
    gaps = rng.integers(220, 330, size=n_beats)
    samples = np.cumsum(gaps) + 50
    length = int(samples[-1] + 400)
    t = np.arange(length)
    sig = 1024 + 60 * np.sin(2 * np.pi * t / 97.0) + rng.normal(0, 4, size=length)
    for s in samples:  # an R-peak-like spike at every beat
        sig[s : s + 6] += 300
    d0 = np.round(sig).astype(np.int64)
    d1 = np.round(1024 + 30 * np.cos(2 * np.pi * t / 71.0)).astype(np.int64)
    d_signal = np.stack([d0, d1], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=d_signal, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[1024, 1024], write_dir=str(folder))
    symbols = [BEAT_SYMBOLS[(i + seed) % len(BEAT_SYMBOLS)] for i in range(n_beats)]
    ann_samples = list(samples)
    ann_symbols = list(symbols)
    # a rhythm annotation between beats 3 and 4 changes beat 3's segment length
    ann_samples.insert(4, int(samples[3] + 40))
    ann_symbols.insert(4, "+")
    wfdb.wrann(name, "atr", np.array(ann_samples), symbol=ann_symbols, write_dir=str(folder))
    return {"signal": d0, "samples": np.array(ann_samples), "symbols": ann_symbols}


@pytest.fixture(scope="session")
def records_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mitdb")
    for i, name in enumerate(["100", "101", "102"]):
        write_record(folder, name, n_beats=70, seed=i)
    (folder / "RECORDS").write_text("100\n101\n102\n")
    return folder


# record names chosen from de Chazal's sets: DS1 (train), DS2 (test), paced (left out)
INTERPATIENT_RECORDS = {"DS1": ["101", "106", "108", "109"], "DS2": ["100", "103"], "paced": ["102"]}


@pytest.fixture(scope="session")
def interpatient_records_dir(tmp_path_factory) -> Path:
    """Seven small raw records, four of them DS1, two DS2 and one paced."""
    folder = tmp_path_factory.mktemp("mitdb-interpatient")
    names = sorted(n for group in INTERPATIENT_RECORDS.values() for n in group)
    for i, name in enumerate(names):
        write_record(folder, name, n_beats=44, seed=i)
    (folder / "RECORDS").write_text("".join(f"{n}\n" for n in names))
    return folder


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory) -> Path:
    from core.data.heartbeat import write_kaggle_csv

    folder = tmp_path_factory.mktemp("kaggle")
    rng = np.random.default_rng(1)
    for name, n in (("mitbih_train.csv", 300), ("mitbih_test.csv", 100)):
        x, y = synthetic_beats(n, rng)
        write_kaggle_csv(folder / name, x, y)
    return folder


def synthetic_beats(n: int, rng: np.random.Generator, steps: int = 187) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose class shows in their shape, zero-padded at varying lengths."""
    y = np.concatenate([np.arange(5), rng.choice(5, size=n - 5, p=[0.6, 0.1, 0.15, 0.05, 0.1])])
    t = np.linspace(0, 1, steps)
    x = np.zeros((n, steps), np.float32)
    for i, c in enumerate(y):
        length = int(rng.integers(60, steps + 1))
        wave = 0.2 + 0.15 * c + 0.1 * np.sin(2 * np.pi * (c + 1) * t[:length]) + rng.normal(0, 0.02, length)
        x[i, :length] = np.clip(wave, 0.01, 1.0)
    return x, y.astype(np.int64)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "arena"
    monkeypatch.setenv("RNN_ARENA_HOME", str(h))
    return h


@pytest.fixture
def tiny_config() -> RunConfig:
    return RunConfig(
        data=DataConfig(sample=1.0, val_fraction=0.2),
        model=ModelConfig(name="gru", hidden_size=8),
        train=TrainConfig(epochs=2, batch_size=64, device="cpu"),
    )


# ---------------------------------------------------------------------------
# titles: the course's jsonl.gz format and a tiny NLTK stopwords corpus
WORDS = ["zapatillas", "mochila", "celular", "bolso", "lampara", "remera", "taladro", "puzzle"]
CATEGORIES = ["SNEAKERS", "BACKPACKS", "CELLPHONES", "DIAPER_BAGS", "LAMPS", "T_SHIRTS", "DRILLS", "PUZZLES"]


@pytest.fixture
def fake_stopwords(tmp_path, monkeypatch):
    """A tiny NLTK stopwords corpus found through NLTK_DATA only."""
    import nltk

    from core import text

    root = tmp_path / "nltk_data"
    (root / "corpora" / "stopwords").mkdir(parents=True)
    (root / "corpora" / "stopwords" / "spanish").write_text("de\npara\ncon\nlos\n", encoding="utf-8")
    monkeypatch.setenv("NLTK_DATA", str(root))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])  # nothing found but through NLTK_DATA
    monkeypatch.setattr(text, "_DOWNLOAD_TRIED", True)  # tests never reach the network
    return root


def course_row(title, category, split="train", quality="reliable"):
    # the course's full schema; the extra fields must be ignored
    return {"language": "spanish", "label_quality": quality, "title": title, "category": category, "split": split,
            "tokenized_title": title.lower().split(), "data": [1, 2], "target": 0, "n_labels": 8, "size": 1}


def write_jsonl_gz(path: Path, rows, raw_lines=()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows] + [bytes(x) for x in raw_lines]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    return path


def title_for(c: int, i: int) -> str:
    # the category shows in the first word; the rest varies
    return f"{WORDS[c].title()} Modelo {WORDS[(c + i) % 8]} Para Nene {i}X{i} Envío Gratis"


def course_folder(folder: Path, per_class=(10, 3, 3)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "validation", "test"), per_class):
        rows = [course_row(title_for(c, i), CATEGORIES[c], split, "reliable" if i % 3 else "unreliable")
                for i in range(n) for c in range(len(CATEGORIES))]
        if split == "train":
            rows.append(course_row("", CATEGORIES[0]))  # empty title, kept
        write_jsonl_gz(folder / f"spanish.{split}.jsonl.gz", rows)
    return folder




@pytest.fixture
def titles_dir(tmp_path, fake_stopwords) -> Path:
    return course_folder(tmp_path / "meli", per_class=(12, 4, 4))
