import numpy as np
import pytest

from core.classical import fit_tfidf
from core.config import DataConfig, ModelConfig, RunConfig
from core.embeddings import train_word_vectors
from core.tracking import MemoryTracker

WORDS = {0: "zapatilla nike running", 1: "celular samsung galaxy", 2: "mesa madera comedor"}


def _texts(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return [WORDS[c] + f" extra{rng.integers(0, 5)}" for c in y], y


def test_tfidf_reference_logs_and_reports():
    cfg = RunConfig(data=DataConfig(workload="titles"), model=ModelConfig(name="tfidf"))
    tracker = MemoryTracker()
    result = fit_tfidf(cfg, _texts(60, 0), _texts(20, 1), _texts(30, 2), ["A", "B", "C"], tracker)
    assert result.test.metrics["accuracy"] == 1.0
    assert tracker.metrics[0][0] == 1 and "val/balanced_accuracy" in tracker.metrics[0][1]
    assert result.test.probs.shape == (30, 3) and result.extras["tfidf_features"] > 0


def test_word_vectors_follow_the_vocabulary():
    sentences = [s.split() for s in _texts(50, 0)[0]]
    vocab = ["[PAD]", "[UNK]", "zapatilla", "celular", "mesa", "nunca_visto"]
    vec = train_word_vectors(sentences, vocab, dim=8, kind="word2vec", seed=0)
    assert vec.shape == (6, 8) and (vec[0] == 0).all()
    again = train_word_vectors(sentences, vocab, dim=8, kind="word2vec", seed=0)
    np.testing.assert_allclose(vec, again)  # one worker: deterministic
    ft = train_word_vectors(sentences, vocab, dim=8, kind="fasttext", seed=0)
    assert np.abs(ft[5]).sum() > 0  # fasttext builds unseen words from n-grams
    with pytest.raises(ValueError, match="no training titles"):
        train_word_vectors([[]], vocab, 8, "word2vec", 0)
