"""The sampler registry: how a training epoch draws its items. A name maps
to what describe() and the help say and to the per-item draw weights that
core.train.make_batches takes (None: a plain shuffle of every item once).
Torch-free to read; the weights are computed on the tensors fit() passes.

Adding a sampler: write its weights function and add a Sampler below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from core.registry import lookup

NONE = "none"


@dataclass(frozen=True)
class Sampler:
    name: str
    help: str  # the option's help ("" for none)
    label: str  # in a run's description ("" for none)
    # (y (N,) int64 labels, class_weights (C,) inverse class frequencies) -> (N,) draw weights or None
    weights: Callable[[Any, Any], Any]
    words: str = ""  # what a class calls it, "none" included ("no sampler")
    explain: str = ""  # the idea in one line


def _shuffle(y, class_weights):
    return None


def _inverse_frequency(y, class_weights):
    return class_weights[y.cpu()]  # (N,): every class drawn about equally often


def _inverse_square_root(y, class_weights):
    return class_weights[y.cpu()].sqrt()  # (N,): each class drawn in proportion to the square root of its count


REGISTRY: dict[str, Sampler] = {s.name: s for s in (
    Sampler(NONE, "", "", _shuffle, words="no sampler",
            explain="every training item once per epoch in a random order: rare classes stay rare in every batch"),
    Sampler("weighted", "draw batches with a WeightedRandomSampler by inverse class frequency", "weighted sampler",
            _inverse_frequency, words="weighted sampler",
            explain="draws rare classes more often, so every class appears about equally often in training"),
    Sampler("sqrt", "draw each class in proportion to the square root of its count: rare classes more often than "
            "a plain shuffle, without repeating a handful of items hundreds of times per epoch as the weighted "
            "sampler does", "square-root sampler", _inverse_square_root, words="square-root sampler",
            explain="draws rare classes more often than a shuffle but less than the weighted sampler: each class "
                    "in proportion to the square root of its count"),
)}
NAMES = tuple(REGISTRY)


def get(name: str) -> Sampler:
    return lookup(REGISTRY, name, "sampler")


def help_text() -> str:
    """The train.sampler option's help: each sampler's, by name."""
    return "; ".join(f"{s.name}: {s.help}" for s in REGISTRY.values() if s.help)
