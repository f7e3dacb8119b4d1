"""Classification metrics from a confusion matrix, and the final report.

Per-epoch metrics come from one integer confusion matrix (cheap, exact);
the end-of-run report uses scikit-learn's classification_report.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# above this many classes, a run keeps a sparse confusion matrix and reports, tables and charts
# summarise (worst and best classes) rather than list every class
MANY_CLASSES = 20


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """cm[i, j] = count of true class i predicted as j."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def summary(cm: np.ndarray) -> dict[str, float]:
    """accuracy, balanced accuracy (mean recall over classes present in
    y_true) and macro-F1 (over classes present in y_true or y_pred), as
    scikit-learn defines them."""
    cm = np.asarray(cm, dtype=np.float64)
    scores = scores_from_counts(np.diag(cm)[None], cm.sum(axis=1)[None], cm.sum(axis=0)[None])
    return {name: float(row[0]) for name, row in scores.items()}


def scores_from_counts(tp: np.ndarray, true: np.ndarray, pred: np.ndarray,
                       subsets: dict[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """accuracy, balanced accuracy (mean recall over classes present in
    y_true) and macro-F1 (F1 = 2 tp / (true + pred), averaged over classes
    present in y_true or y_pred), row by row: scikit-learn's definitions.
    `subsets` adds, per name, the mean F1 over those class indices (a class
    with neither true nor predicted items scores 0 there)."""
    present = true > 0
    labelled = present | (pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=present)
    f1 = np.divide(2 * tp, true + pred, out=np.zeros_like(tp), where=labelled)
    n = true.sum(axis=1)
    out = {
        "accuracy": tp.sum(axis=1) / np.maximum(n, 1),
        "balanced_accuracy": recall.sum(axis=1) / np.maximum(present.sum(axis=1), 1),
        "macro_f1": f1.sum(axis=1) / np.maximum(labelled.sum(axis=1), 1),
    }
    for name, idx in (subsets or {}).items():
        out[name] = f1[:, list(idx)].mean(axis=1)
    return out


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """scikit-learn's report as a dict: per class precision/recall/f1/support,
    plus accuracy, macro avg and weighted avg. Every class is listed."""
    from sklearn.metrics import classification_report as sk_report

    return sk_report(
        y_true, y_pred, labels=list(range(len(class_names))), target_names=list(class_names),
        output_dict=True, zero_division=0,
    )


def report_table(report: dict, class_names: Sequence[str]) -> str:
    lines = [f"{'class':>12} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for name in [*class_names, "macro avg", "weighted avg"]:
        r = report[name]
        lines.append(f"{name:>12} {r['precision']:9.4f} {r['recall']:9.4f} {r['f1-score']:9.4f} {int(r['support']):9d}")
    lines.append(f"{'accuracy':>12} {report['accuracy']:9.4f}")
    return "\n".join(lines)


def top_confusions(cm: np.ndarray, class_names: Sequence[str], k: int = 20) -> list[dict]:
    """The k largest off-diagonal cells: true class, predicted class, count,
    and the share of the true class that went there."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None)[::-1][:k]
    support = cm.sum(axis=1)
    out = []
    for i, j in zip(*np.unravel_index(flat, cm.shape)):
        if off[i, j] == 0:
            break
        out.append({"true": class_names[i], "pred": class_names[j], "count": int(off[i, j]),
                    "share_of_true": float(off[i, j] / support[i]) if support[i] else 0.0})
    return out


def sparse_confusion(cm: np.ndarray, class_names: Sequence[str]) -> dict:
    """A confusion matrix for many classes: only its non-zero cells."""
    rows, cols = np.nonzero(cm)
    return {"labels": list(class_names), "shape": list(cm.shape),
            "cells": [[int(r), int(c), int(cm[r, c])] for r, c in zip(rows, cols)]}


def dense_from_sparse(sparse: dict) -> np.ndarray:
    cm = np.zeros(sparse["shape"], dtype=np.int64)
    for r, c, v in sparse["cells"]:
        cm[r, c] = v
    return cm


def extremes(report: dict, class_names: Sequence[str], k: int = 10, key: str = "f1-score") -> dict:
    """Worst and best k classes by `key` (ties broken by support)."""
    rows = sorted(((report[n][key], report[n]["support"], n) for n in class_names if report[n]["support"] > 0))
    pick = lambda items: [{"class": n, key: float(v), "support": int(s)} for v, s, n in items]  # noqa: E731
    return {"worst": pick(rows[:k]), "best": pick(rows[::-1][:k])}


def readable_report(report: dict, cm: np.ndarray, class_names: Sequence[str], k: int = 10) -> str:
    """For many classes: the averages, the worst and best classes, and the
    most-confused pairs, rather than hundreds of rows."""
    lines = [f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro avg']['f1-score']:.4f}   "
             f"macro recall (balanced accuracy) {report['macro avg']['recall']:.4f}", ""]
    ex = extremes(report, class_names, k)
    for title, rows in (("worst classes by F1", ex["worst"]), ("best classes by F1", ex["best"])):
        lines.append(f"{title}:")
        lines += [f"  {r['class']:<40} F1 {r['f1-score']:.3f}  support {r['support']}" for r in rows]
        lines.append("")
    lines.append("most-confused pairs (true -> predicted):")
    lines += [f"  {c['true']} -> {c['pred']}: {c['count']} ({c['share_of_true']:.0%} of {c['true']})"
              for c in top_confusions(cm, class_names, k)]
    return "\n".join(lines)


def subset_macro_f1(cm: np.ndarray, class_names: Sequence[str], keep: Sequence[str]) -> float:
    """Macro-F1 over some classes only (each class's F1 from the full matrix,
    averaged over `keep`): for heartbeats the 4-class macro-F1 over N, S, V
    and F, as Q has a handful of beats in an inter-patient test set."""
    cm = np.asarray(cm, dtype=np.float64)
    tp, true, pred = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    idx = [list(class_names).index(c) for c in keep]
    f1 = [2 * tp[i] / (true[i] + pred[i]) if true[i] + pred[i] > 0 else 0.0 for i in idx]
    return float(np.mean(f1)) if f1 else 0.0


def event_scores(cm: np.ndarray, class_names: Sequence[str], events: Sequence[tuple[str, str]]) -> dict[str, dict]:
    """AAMI EC57's per-event figures from a confusion matrix: for each
    (class, event name) pair, e.g. ("S", "SVEB"), the sensitivity Se (recall),
    the positive predictivity +P (precision), F1 and the count of true events."""
    cm = np.asarray(cm, dtype=np.int64)
    out = {}
    for cls, event in events:
        i = list(class_names).index(cls)
        tp, true, pred = int(cm[i, i]), int(cm[i].sum()), int(cm[:, i].sum())
        se = tp / true if true else 0.0
        pp = tp / pred if pred else 0.0
        out[event] = {"class": cls, "se": se, "pp": pp, "f1": 2 * tp / (true + pred) if true + pred else 0.0,
                      "true": true, "predicted": pred, "found": tp}
    return out


def per_group_events(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, class_names: Sequence[str],
                     events: Sequence[tuple[str, str]]) -> list[dict]:
    """One row per group (a patient's record): its items, and for each event
    class its count, how many were found (Se) and how many of that class's
    predictions were right (+P). Rows in group order."""
    y_true, y_pred, groups = (np.asarray(a, dtype=np.int64) for a in (y_true, y_pred, groups))
    rows = []
    for g in np.unique(groups):
        m = groups == g
        cm = confusion_matrix(y_true[m], y_pred[m], len(class_names))
        row = {"group": int(g), "items": int(m.sum())}
        for event, s in event_scores(cm, class_names, events).items():
            row[event] = {k: s[k] for k in ("true", "found", "predicted", "se", "pp")}
        rows.append(row)
    return rows
