"""What each workload gives a run: tensors for train/val/test on a device,
class names, and for titles the vocabulary size, optional word vectors, and
the preprocessed texts for the TF-IDF reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.config import RunConfig


@dataclass
class RunData:
    train: Any  # core.train.TensorSplit
    val: Any
    test: Any
    class_names: list[str]
    vocab_size: int | None = None
    embedding_init: Any = None  # torch.Tensor (vocab, dim) or None
    texts: dict[str, list[str]] = field(default_factory=dict)  # split -> space-joined tokens (tfidf)
    test_examples: list[str] | None = None  # raw test inputs to show beside predictions (titles)


def dataset_info(workload: str, home: Path) -> dict | None:
    if workload == "heartbeat":
        from core.data import heartbeat as hb

        return hb.dataset_info(home)
    from core.data import titles as tt

    return tt.dataset_info(home)


def check_data(cfg: RunConfig, home: Path) -> None:
    """Refuse, before a run is recorded, a config its prepared data cannot
    serve: an inter-patient split needs beats built from the raw records."""
    if cfg.data.workload != "heartbeat" or cfg.data.split != "inter-patient":
        return
    from core.data import heartbeat as hb

    meta = hb.dataset_info(home) or {}
    if meta.get("kind") == "kaggle-csv":
        raise ValueError(hb.NO_RECORDS)


def prepare(workload: str, source: Path | None, home: Path, progress=None, log=print, **options) -> dict:
    if workload == "heartbeat":
        from core.data import heartbeat as hb

        return hb.prepare(source, home, progress=progress, log=log)
    from core.data import titles as tt

    if source is None:
        raise ValueError("the titles data cannot be downloaded automatically; give --source PATH: a folder with "
                         "spanish.{train,validation,test}.jsonl.gz, or the challenge's train.csv")
    return tt.prepare(source, home, progress=progress, log=log, **options)


def load(cfg: RunConfig, home: Path, device, tensors: bool = True) -> RunData:
    if cfg.data.workload == "heartbeat":
        return _heartbeat(cfg, home, device)
    return _titles(cfg, home, device, tensors)


def _heartbeat(cfg: RunConfig, home: Path, device) -> RunData:
    from core.data import heartbeat as hb
    from core.train import TensorSplit

    beats = hb.load_beats(home)
    splits = hb.make_splits(beats, cfg.data.val_fraction, cfg.data.sample, cfg.data.split_seed, cfg.data.split)
    to = lambda b: TensorSplit.from_arrays(b.x, b.length, b.y, device)  # noqa: E731
    return RunData(to(splits.train), to(splits.val), to(splits.test), list(hb.CLASS_NAMES))


def _titles(cfg: RunConfig, home: Path, device, tensors: bool) -> RunData:
    from core.data import titles as tt
    from core.train import TensorSplit

    data = tt.load_titles(home)
    train, val, test = tt.make_splits(data, cfg.data.sample, cfg.data.split_seed, reliable_only=cfg.data.reliable_only)
    names = list(data.labels.categories)
    to = lambda t: TensorSplit.from_arrays(t.tokens, t.length, t.y, device)  # noqa: E731
    out = RunData(to(train), to(val), to(test), names, vocab_size=len(data.vocab),
                  test_examples=[str(t) for t in test.titles])
    if cfg.model.name == "tfidf":
        from core.text import tokenize_many

        out.texts = {name: [" ".join(toks) for toks in tokenize_many([str(t) for t in split.titles])]
                     for name, split in (("train", train), ("val", val), ("test", test))}
    elif cfg.model.word_vectors != "none":
        import torch

        from core.embeddings import train_word_vectors

        tokens = data.vocab.tokens
        sentences = [[tokens[i] for i in row[:n] if i > 1] for row, n in zip(train.tokens, train.length)]
        vectors = train_word_vectors(sentences, tokens, cfg.model.embedding_dim, cfg.model.word_vectors, cfg.train.seed)
        out.embedding_init = torch.as_tensor(vectors)
    return out
