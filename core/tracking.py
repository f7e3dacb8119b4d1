"""The Tracker protocol: how `fit` hands out what it measured. core never
imports MLflow; experiments provides the MLflow tracker. `NullTracker` is for
tests and scripts, `MemoryTracker` keeps everything in memory."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Tracker(Protocol):
    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_dict(self, obj: Any, name: str) -> None: ...

    def log_text(self, text: str, name: str) -> None: ...

    def log_file(self, path: Path, name: str | None = None) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...


class NullTracker:
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_dict(self, obj: Any, name: str) -> None:
        pass

    def log_text(self, text: str, name: str) -> None:
        pass

    def log_file(self, path: Path, name: str | None = None) -> None:
        pass

    def set_tags(self, tags: dict[str, str]) -> None:
        pass


class MemoryTracker(NullTracker):
    def __init__(self) -> None:
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self.artifacts: dict[str, Any] = {}
        self.tags: dict[str, str] = {}

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.metrics.append((step, dict(metrics)))

    def log_dict(self, obj: Any, name: str) -> None:
        self.artifacts[name] = obj

    def log_text(self, text: str, name: str) -> None:
        self.artifacts[name] = text

    def log_file(self, path: Path, name: str | None = None) -> None:
        self.artifacts[name or Path(path).name] = Path(path).read_bytes()

    def set_tags(self, tags: dict[str, str]) -> None:
        self.tags.update(tags)
