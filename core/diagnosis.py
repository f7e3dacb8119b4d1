"""Has a run learned? A check on its test confusion matrix, with a one-line
reason and what to try, shown wherever runs are listed or reported.

A run has not learned when one class takes >= 98% of its predictions, or
when its macro-F1 is within 0.02 of what always predicting the most frequent
class would score on the same test set. Both are cheap and need only the
confusion matrix (or the predicted-class shares and the test metrics).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.metrics import summary

DOMINANT_SHARE = 0.98  # one class >= this share of the predictions: not learned
MAJORITY_MARGIN = 0.02  # macro-F1 within this of always-majority: not learned
MARK = "⚠ not learned"  # the visible mark beside such a run (pages, HTML export, CLI)

ADVICE = ("train for more steps (more epochs or a larger sample), raise the learning rate with a one-cycle "
          "schedule, or start from the classroom recipe (python -m experiments study --list)")


@dataclass(frozen=True)
class Verdict:
    learned: bool
    reason: str  # one line: what was seen ("" when it learned)
    advice: str  # what to try ("" when it learned)
    dominant_share: float  # share of the predictions taken by the most predicted class
    dominant_class: str
    majority_macro_f1: float  # macro-F1 of always predicting the most frequent test class

    @property
    def line(self) -> str:
        """The mark, the reason and the advice in one line ("" when it learned)."""
        return "" if self.learned else f"{MARK}: {self.reason}; try: {self.advice}"


def majority_macro_f1(support: Sequence[float]) -> float:
    """Macro-F1 of always predicting the most frequent class: that class's F1
    (precision = its share, recall 1) over the classes present in the test set."""
    support = np.asarray(support, dtype=np.float64)
    total = support.sum()
    present = int((support > 0).sum())
    if total <= 0 or present == 0:
        return 0.0
    share = support.max() / total
    return float(2 * share / (1 + share) / present)


def check(cm: np.ndarray, class_names: Sequence[str] | None = None) -> Verdict:
    """The verdict for a test confusion matrix (rows: true class, columns: predicted)."""
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.sum() <= 0:
        raise ValueError("a confusion matrix must be square and count at least one test item")
    names = list(class_names) if class_names is not None else [str(i) for i in range(cm.shape[0])]
    predicted = cm.sum(axis=0)
    top = int(predicted.argmax())
    share = float(predicted[top] / predicted.sum())
    macro_f1 = summary(cm)["macro_f1"]
    return verdict(share, names[top], macro_f1, majority_macro_f1(cm.sum(axis=1)))


def verdict(dominant_share: float, dominant_class: str, macro_f1: float, majority_f1: float) -> Verdict:
    """The verdict from its parts (for readers that stored them as tags)."""
    reasons = []
    if dominant_share >= DOMINANT_SHARE:
        reasons.append(f"it predicts {dominant_class} for {dominant_share:.1%} of the test items")
    if macro_f1 <= majority_f1 + MAJORITY_MARGIN:
        reasons.append(f"its macro-F1 {macro_f1:.3f} is within {MAJORITY_MARGIN} of always predicting the most "
                       f"frequent class ({majority_f1:.3f})")
    learned = not reasons
    return Verdict(learned=learned, reason="; ".join(reasons), advice="" if learned else ADVICE,
                   dominant_share=dominant_share, dominant_class=dominant_class, majority_macro_f1=majority_f1)
