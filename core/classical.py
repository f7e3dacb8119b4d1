"""The classical reference for titles: TF-IDF over word 1-2 grams of the
preprocessed titles and a linear SVM (scikit-learn). It reports like any run:
one validation row through the Tracker, then test metrics and the report."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from core import metrics as M
from core.config import RunConfig
from core.tracking import NullTracker, Tracker
from core.train import Evaluation, FitResult


def _evaluate(model, texts: Sequence[str], y: np.ndarray, num_classes: int) -> Evaluation:
    scores = model.decision_function(texts)  # (N, C) margins, not probabilities
    y_pred = model.classes_[scores.argmax(axis=1)]
    full = np.full((len(texts), num_classes), -np.inf, dtype=np.float32)
    full[:, model.classes_] = scores
    cm = M.confusion_matrix(y, y_pred, num_classes)
    return Evaluation(float("nan"), np.asarray(y), y_pred, full, cm, M.summary(cm))


def fit_tfidf(
    cfg: RunConfig,
    train: tuple[Sequence[str], np.ndarray],
    val: tuple[Sequence[str], np.ndarray],
    test: tuple[Sequence[str], np.ndarray],
    class_names: Sequence[str],
    tracker: Tracker | None = None,
) -> FitResult:
    """`train`/`val`/`test` are (space-joined preprocessed tokens, labels)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    tracker = tracker or NullTracker()
    num_classes = len(class_names)
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"),
        LinearSVC(C=1.0, class_weight="balanced" if cfg.train.class_weighted_loss else None, random_state=cfg.train.seed),
    )
    start = time.perf_counter()
    model.fit(list(train[0]), np.asarray(train[1]))
    seconds = time.perf_counter() - start
    ev = _evaluate(model, list(val[0]), np.asarray(val[1]), num_classes)
    row = {"val/accuracy": ev.metrics["accuracy"], "val/balanced_accuracy": ev.metrics["balanced_accuracy"],
           "val/macro_f1": ev.metrics["macro_f1"], "epoch_seconds": seconds,
           "samples_per_second": len(train[1]) / seconds if seconds > 0 else 0.0}
    tracker.log_metrics(row, step=1)
    test_eval = _evaluate(model, list(test[0]), np.asarray(test[1]), num_classes)
    report = M.classification_report(test_eval.y_true, test_eval.y_pred, class_names)
    n_features = len(model.named_steps["tfidfvectorizer"].vocabulary_)
    return FitResult(history=[row], best_epoch=1, stopped_early=False, test=test_eval, report=report,
                     model=model, num_parameters=n_features * num_classes, device="cpu",
                     extras={"tfidf_features": n_features})
