"""Word vectors for the titles workload: gensim Word2Vec or FastText trained
on the training titles only, laid out in the vocabulary's id order so they
can initialise a model's embedding ([PAD] and [UNK] get zero / mean vectors)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def train_word_vectors(
    token_lists: Sequence[Sequence[str]], vocab_tokens: Sequence[str], dim: int, kind: str, seed: int,
    epochs: int = 10, workers: int = 1,
) -> np.ndarray:
    """(len(vocab_tokens), dim) float32: row i is the vector of vocab_tokens[i];
    rows 0 ([PAD]) is zero, 1 ([UNK]) the mean of the known vectors. With
    workers=1 gensim is deterministic for a seed."""
    from gensim.models import FastText, Word2Vec

    cls = {"word2vec": Word2Vec, "fasttext": FastText}.get(kind)
    if cls is None:
        raise ValueError(f"word vectors {kind!r} are not available; choose word2vec or fasttext")
    sentences = [list(t) for t in token_lists if len(t) > 0]
    if not sentences:
        raise ValueError("no training titles with tokens: cannot train word vectors")
    model = cls(sentences=sentences, vector_size=dim, window=5, min_count=1, sg=1, seed=seed,
                workers=workers, epochs=epochs)
    rng = np.random.default_rng(seed)
    out = rng.normal(0.0, 0.1, size=(len(vocab_tokens), dim)).astype(np.float32)
    known = []
    for i, tok in enumerate(vocab_tokens):
        if i < 2:
            continue
        if kind == "fasttext" or tok in model.wv.key_to_index:
            out[i] = model.wv[tok]
            known.append(i)
    out[0] = 0.0
    out[1] = out[known].mean(axis=0) if known else 0.0
    return out
