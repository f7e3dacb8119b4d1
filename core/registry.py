"""What the torch-free registries (core.workloads, core.cells, core.samplers) share."""
from __future__ import annotations

from typing import Mapping, TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """registry[name], or a ValueError naming the choices ("unknown cell 'x'; choose one of: rnn, gru, lstm")."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {str(name)[:40]!r}; choose one of: {', '.join(registry)}") from None
