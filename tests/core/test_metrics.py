import numpy as np
import pytest
from sklearn import metrics as skm

from core import metrics as M


@pytest.mark.parametrize("seed", range(5))
def test_summary_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.choice(5, size=300, p=[0.7, 0.1, 0.1, 0.05, 0.05])
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, 300))
    if seed == 0:
        y_pred[y_pred == 3] = 0  # a class never predicted
    cm = M.confusion_matrix(y_true, y_pred, 5)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    s = M.summary(cm)
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    assert s["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))


def test_summary_with_absent_class_matches_scikit_learn():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    s = M.summary(M.confusion_matrix(y_true, y_pred, 5))
    assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    assert s["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))


def test_report_lists_every_class_and_prints():
    names = ["N", "S", "V", "F", "Q"]
    report = M.classification_report(np.array([0, 0, 1]), np.array([0, 1, 1]), names)
    assert set(names) <= set(report) and report["F"]["support"] == 0
    text = M.report_table(report, names)
    assert "macro avg" in text and text.count("\n") == 8


def test_top_confusions_and_sparse_round_trip():
    names = [f"c{i}" for i in range(4)]
    cm = np.array([[5, 3, 0, 0], [0, 4, 0, 1], [2, 0, 6, 0], [0, 0, 0, 0]])
    top = M.top_confusions(cm, names, k=10)
    assert [(t["true"], t["pred"], t["count"]) for t in top] == [("c0", "c1", 3), ("c2", "c0", 2), ("c1", "c3", 1)]
    assert top[0]["share_of_true"] == pytest.approx(3 / 8)
    np.testing.assert_array_equal(M.dense_from_sparse(M.sparse_confusion(cm, names)), cm)


def test_extremes_and_readable_report_for_many_classes():
    rng = np.random.default_rng(0)
    names = [f"CATEGORY_{i}" for i in range(40)]
    y_true = rng.integers(0, 40, 2000)
    y_pred = np.where(rng.random(2000) < 0.6, y_true, rng.integers(0, 40, 2000))
    report = M.classification_report(y_true, y_pred, names)
    ex = M.extremes(report, names, k=5)
    assert len(ex["worst"]) == 5 and ex["worst"][0]["f1-score"] <= ex["best"][0]["f1-score"]
    text = M.readable_report(report, M.confusion_matrix(y_true, y_pred, 40), names, k=5)
    assert "worst classes by F1" in text and "most-confused pairs" in text and text.count("\n") < 40
