"""The encoded titles as torch datasets: an in-memory split, and a streaming
reader that encodes a jsonl.gz or challenge CSV lazily with a fixed
vocabulary and label map. Kept apart from core.data.titles so that reading
the prepared titles never imports torch."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset

from core.data.titles import Titles, _iter_any
from core.text import LabelMap, Vocab, tokenize


class TitleDataset(Dataset):
    """An encoded split in memory; item i is (ids (max_len,) int64, length () int64, y () int64)."""

    def __init__(self, tokens: np.ndarray, length: np.ndarray, y: np.ndarray):
        self.tokens = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
        self.length = torch.as_tensor(np.asarray(length, dtype=np.int64))
        self.y = torch.as_tensor(np.asarray(y, dtype=np.int64))

    @classmethod
    def from_titles(cls, titles: Titles) -> "TitleDataset":
        return cls(titles.tokens, titles.length, titles.y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.tokens[i], self.length[i], self.y[i]


class StreamingTitleDataset(IterableDataset):
    """Reads a jsonl.gz (or challenge CSV) lazily, encodes with a fixed Vocab
    and LabelMap, and shuffles within a buffer of `buffer_size` rows
    (buffer_size=1: file order). Each pass is one epoch; its order comes from
    (seed, epoch), and the epoch advances after each pass in this process
    (call set_epoch with DataLoader workers, which get copies). Rows whose
    category is not in the label map are skipped and counted in `skipped`.
    With DataLoader workers, worker k takes rows k, k + W, ..."""

    def __init__(self, path: str | Path, vocab: Vocab, labels: LabelMap, max_len: int, buffer_size: int = 10_000,
                 seed: int = 0, language: str | None = "spanish", chunk_rows: int = 4_096):
        self.path, self.vocab, self.labels, self.max_len = Path(path), vocab, labels, int(max_len)
        self.buffer_size, self.seed, self.language, self.chunk_rows = max(1, int(buffer_size)), int(seed), language, chunk_rows
        self.epoch = 0
        self.skipped = 0  # rows with an unknown category in the last pass (this process)
        self.rows = 0  # rows yielded in the last pass (this process)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _encoded(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        start, step = (info.id, info.num_workers) if info else (0, 1)
        seen = 0
        for chunk in _iter_any(self.path, self.chunk_rows, self.language):
            pos = np.arange(seen, seen + len(chunk))
            seen += len(chunk)
            chunk = chunk[(pos % step) == start]
            known = chunk["category"].map(self.labels.__contains__).to_numpy(dtype=bool)
            self.skipped += int((~known).sum())
            chunk = chunk[known]
            ids, lengths = self.vocab.encode_many([tokenize(t) for t in chunk["title"]], self.max_len)
            y = self.labels.encode(chunk["category"])
            ids_t, len_t, y_t = torch.from_numpy(ids), torch.from_numpy(lengths), torch.from_numpy(y)
            for i in range(len(y)):
                yield ids_t[i], len_t[i], y_t[i]

    def __iter__(self):
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1
        self.skipped = self.rows = 0
        buffer: list = []
        for item in self._encoded():
            if len(buffer) < self.buffer_size:
                buffer.append(item)
                continue
            j = rng.randrange(self.buffer_size)  # emit a random buffered row, keep the new one
            buffer[j], item = item, buffer[j]
            self.rows += 1
            yield item
        rng.shuffle(buffer)
        self.rows += len(buffer)
        yield from buffer
