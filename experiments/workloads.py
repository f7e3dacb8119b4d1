"""A run's way to its workload's data, through the registry in core.workloads:
the prepared dataset's metadata, preparing it, refusing a config the data
cannot serve, and the tensors a run trains on."""
from __future__ import annotations

from pathlib import Path

from core.config import RunConfig
from core.workloads import RunData, get

__all__ = ["RunData", "check_data", "check_ready", "dataset_info", "load", "prepare"]


def dataset_info(workload: str, home: Path) -> dict | None:
    return get(workload).dataset_info(home)


def check_data(cfg: RunConfig, home: Path) -> None:
    """Refuse, before a run is recorded, a config its prepared data cannot
    serve (an inter-patient split needs beats built from the raw records)."""
    get(cfg.data.workload).check_data(cfg, home)


def check_ready(configs, home: Path) -> None:
    """Refuse, before anything is recorded, configs whose workload is not
    prepared in `home` or whose prepared data cannot serve them (ValueError)."""
    configs = list(configs)
    for workload in dict.fromkeys(cfg.data.workload for cfg in configs):
        if dataset_info(workload, home) is None:
            raise ValueError(f"the {workload} data is not prepared in {home}; run: "
                             f"python -m experiments prepare {workload} [--source PATH]")
    for cfg in configs:
        check_data(cfg, home)


def prepare(workload: str, source: Path | None, home: Path, progress=None, log=print, **options) -> dict:
    return get(workload).prepare(source, home, progress=progress, log=log, **options)


def load(cfg: RunConfig, home: Path, device, tensors: bool = True) -> RunData:
    return get(cfg.data.workload).load(cfg, home, device, tensors)
