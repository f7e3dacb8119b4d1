"""The dashboard's only way into experiments and core: cached, read-only calls
that return plain data. Pages never import torch or MLflow."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from experiments.settings import arena_home


def home() -> Path:
    return arena_home(os.environ.get("RNN_ARENA_HOME"))


@st.cache_data(ttl=10, show_spinner=False)
def datasets(home_dir: str) -> pd.DataFrame:
    """One row per workload: whether it is ready, its size and class counts."""
    from core.data import heartbeat as hb

    meta = hb.dataset_info(Path(home_dir))
    row = {"workload": "heartbeat", "name": "MIT-BIH Arrhythmia (5 AAMI classes)", "ready": meta is not None}
    if meta:
        row.update(beats=meta["beats"], train=meta["train"], test=meta["test"], source=meta["kind"],
                   **{f"class {k}": v for k, v in meta["counts"].items()})
    return pd.DataFrame([row])


@st.cache_data(ttl=5, show_spinner=False)
def runs(home_dir: str, limit: int = 500) -> pd.DataFrame:
    from experiments.queries import list_runs

    frame = pd.DataFrame(list_runs(Path(home_dir), limit=limit))
    if frame.empty:
        return frame
    frame["started"] = pd.to_datetime(frame["start_time"], unit="ms")
    return frame


def class_names() -> list[str]:
    from core.data.heartbeat import CLASS_NAMES

    return list(CLASS_NAMES)
