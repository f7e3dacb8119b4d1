"""The workload registry: a name maps to one torch-free description
(core.workloads.base.Workload). Everyone else loops over `all_workloads()`
or looks one up with `get(name)`; an unknown name is a ValueError.

Adding a workload: write core/workloads/<name>.py defining WORKLOAD and add
its module name to MODULES below (one line).
"""
from __future__ import annotations

import importlib

from core.registry import lookup
from core.workloads.base import INPUT_KINDS, SPLITS, Benchmarks, RunData, Workload

MODULES = ("heartbeat", "titles")  # core/workloads/<module>.py, each defining WORKLOAD; in menu order
REGISTRY: dict[str, Workload] = {w.name: w for w in (importlib.import_module(f"core.workloads.{m}").WORKLOAD
                                                     for m in MODULES)}
NAMES = tuple(REGISTRY)

__all__ = ["INPUT_KINDS", "NAMES", "Benchmarks", "REGISTRY", "SPLITS", "RunData", "Workload", "all_workloads", "class_metrics", "get", "names",
           "quality_targets", "spelled_out"]


def get(name: str) -> Workload:
    return lookup(REGISTRY, name, "workload")


def all_workloads() -> list[Workload]:
    return list(REGISTRY.values())


def names(**features) -> tuple[str, ...]:
    """Names of the workloads whose attributes equal `features`: names(tokens=True)."""
    return tuple(w.name for w in REGISTRY.values() if all(getattr(w, k) == v for k, v in features.items()))


def class_metrics() -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every workload's metrics over some of its classes (Workload.class_metrics), by name."""
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    for w in REGISTRY.values():
        out.update(w.class_metrics())
    return out


def quality_targets() -> str:
    """The targets `bench --quality` trains to, for help and messages:
    "heartbeat: validation accuracy 0.985 and macro-F1 0.92"."""
    return "; ".join(f"{w.name}: validation accuracy {w.quality_target[0]:g} and macro-F1 {w.quality_target[1]:g}"
                     for w in REGISTRY.values() if w.quality_target)


def spelled_out(labels) -> list[str]:
    """Class labels with their long names when they are one workload's
    classes (the AAMI names of the heartbeat classes); others unchanged."""
    labels = [str(x) for x in labels]
    for w in REGISTRY.values():
        spelled = w.spell(labels)
        if spelled is not None:
            return spelled
    return labels


def in_class_order(labels) -> list[str]:
    """Labels in their workload's own class order (N, S, V, F, Q) when they
    are one workload's fixed classes; otherwise as given."""
    labels = [str(x) for x in labels]
    for w in REGISTRY.values():
        if w.class_names and labels and set(labels) <= set(w.class_names):
            return [c for c in w.class_names if c in set(labels)]
    return labels
