"""Seeded stratified splits and samples that keep every class.

All randomness here comes from a numpy Generator seeded by the caller, so the
same labels and seed give the same indices on any machine and device.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np


def _class_indices(y: np.ndarray) -> dict[int, np.ndarray]:
    y = np.asarray(y)
    return {int(c): np.flatnonzero(y == c) for c in np.unique(y)}


def stratified_split(
    y: np.ndarray, holdout: float | Mapping[int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout), class by class.

    `holdout` is a fraction of each class, or an exact count per class. Every
    class with at least two members lands on both sides.
    """
    if isinstance(holdout, float) and not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout fraction {holdout} must be in (0, 1)")
    rng = np.random.default_rng(seed)
    keep, out = [], []
    for c, idx in _class_indices(y).items():
        idx = rng.permutation(idx)
        if isinstance(holdout, Mapping):
            k = int(holdout.get(c, 0))
        else:
            k = int(round(holdout * len(idx)))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        else:
            k = 0
        out.append(idx[:k])
        keep.append(idx[k:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(out))


def stratified_sample(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a `fraction` of each class (at least one of every class)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"sample fraction {fraction} must be in (0, 1]")
    if fraction == 1.0:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    chosen = []
    for _, idx in _class_indices(y).items():
        k = max(1, int(round(fraction * len(idx))))
        chosen.append(rng.choice(idx, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def class_counts(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes)
