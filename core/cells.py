"""The recurrent cell registry: a name maps to how core.models builds the
layer and the facts about it that others need (parameter counts, the shape
of its state, the kernel of one direction). Torch-free: the torch.nn class
is named here and looked up when a model is built, so core.config can list
the cells without importing torch.

Adding a cell: add a Cell below (its torch.nn class must take the
nn.RNN/GRU/LSTM arguments); every model name (CELL, CELL-packed,
CELL-trimmed) and every option listing follows.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.registry import lookup


@dataclass(frozen=True)
class Cell:
    name: str  # the model name's first part: "gru", "gru-packed"
    module: str  # the torch.nn class that builds the layer: "GRU"
    gates: int  # weight blocks per layer and direction (parameter counts, memory estimates)
    # the torch._VF function computing one layer and direction; {nonlinearity} is the layer's
    kernel: str
    cell_state: bool = False  # the state is (h, c), not h alone
    label: str = ""  # what a class calls it: "simple RNN", "GRU"
    explain: str = ""  # the idea in one line


REGISTRY: dict[str, Cell] = {c.name: c for c in (
    Cell("rnn", "RNN", gates=1, kernel="rnn_{nonlinearity}", label="simple RNN",
         explain="one state updated at every step with nothing to protect it, so what it saw early fades"),
    Cell("gru", "GRU", gates=3, kernel="gru", label="GRU",
         explain="gates decide at every step what the state keeps and what it overwrites, so it remembers longer"),
    Cell("lstm", "LSTM", gates=4, kernel="lstm", cell_state=True, label="LSTM",
         explain="a separate memory cell behind input, forget and output gates carries what it saw across long "
                 "sequences"),
)}
NAMES = tuple(REGISTRY)


def get(name: str) -> Cell:
    return lookup(REGISTRY, name, "cell")


def names() -> tuple[str, ...]:
    """The cells registered now (NAMES is the list at import)."""
    return tuple(REGISTRY)
