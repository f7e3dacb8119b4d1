"""The 'has this run learned?' check."""
import numpy as np
import pytest

from core import diagnosis as D

SUPPORT = [18118, 556, 1448, 162, 1608]  # the heartbeat test set


def test_always_majority_is_not_learned_and_says_why():
    cm = np.zeros((5, 5), dtype=int)
    cm[:, 0] = SUPPORT  # everything predicted N
    v = D.check(cm, ["N", "S", "V", "F", "Q"])
    assert not v.learned
    assert "predicts N for 100.0%" in v.reason and "always predicting" in v.reason
    assert v.majority_macro_f1 == pytest.approx(0.1811, abs=1e-4)
    assert v.line.startswith(D.MARK) and "try:" in v.line


def test_a_model_that_separates_the_classes_has_learned():
    cm = np.diag(SUPPORT).astype(int)
    cm[0, 0] -= 100
    cm[0, 1] += 100
    v = D.check(cm, list("NSVFQ"))
    assert v.learned and v.reason == "" and v.line == ""


def test_each_rule_alone_marks_a_run():
    # 98.5% of predictions on one class, yet some minority items right: rule 1 only
    v = D.verdict(0.985, "N", 0.40, 0.18)
    assert not v.learned and "98.5%" in v.reason and "within" not in v.reason
    # spread predictions but no better than always-majority: rule 2 only
    v = D.verdict(0.80, "N", 0.19, 0.18)
    assert not v.learned and "within 0.02" in v.reason
    assert D.verdict(0.80, "N", 0.21, 0.18).learned


def test_bad_matrices_are_refused():
    with pytest.raises(ValueError, match="square"):
        D.check(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least one"):
        D.check(np.zeros((3, 3)))
