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
def datasets(home_dir: str) -> list[dict]:
    """One entry per workload: whether it is ready, its size and a chart's data."""
    from core.data import heartbeat as hb
    from core.data import titles as tt

    beats = hb.dataset_info(Path(home_dir))
    entry = {"workload": "heartbeat", "name": "Heartbeats: MIT-BIH Arrhythmia (5 AAMI classes)", "ready": beats is not None}
    if beats:
        origin = {"kaggle-csv": "Kaggle's CSV files", "raw-records": "the raw PhysioNet records",
                  "raw-archive": "an archive of the raw PhysioNet records"}.get(beats["kind"], beats["kind"])
        entry.update(summary=f"{beats['beats']:,} beats ({beats['train']:,} train, {beats['test']:,} test), built from {origin}.",
                     chart={"names": list(beats["counts"]), "counts": list(beats["counts"].values()),
                            "title": "Beats per class (all splits)", "xlabel": "class"},
                     caption="N dominates: a model that always says N is 83% accurate and useless. "
                             "Watch balanced accuracy and macro-F1, and the recall of S and F.")
    titles = tt.dataset_info(Path(home_dir))
    second = {"workload": "titles", "name": "Product titles: MercadoLibre 2019, Spanish (632 categories)",
              "ready": titles is not None}
    if titles:
        counts = titles["counts"]
        second.update(summary=f"{sum(counts.values()):,} titles ({', '.join(f'{v:,} {k}' for k, v in counts.items())}), "
                              f"{titles['num_classes']} categories, vocabulary {titles['vocab_size']:,}.")
        stats = titles_summary(home_dir)
        picked = stats["top_categories"] + stats["bottom_categories"]
        second.update(chart={"names": [p["category"] for p in picked], "counts": [p["count"] for p in picked],
                             "title": "The 10 most and 10 least frequent categories (train)", "xlabel": "category"},
                      caption="Categories are far more balanced than heartbeats, but there are 632 of them: "
                              "balanced accuracy is the study's metric.")
    return [entry, second]


@st.cache_data(ttl=60, show_spinner=False)
def titles_summary(home_dir: str) -> dict:
    from core.data import titles as tt

    return tt.summaries(tt.load_titles(Path(home_dir)))


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


@st.cache_data(ttl=5, show_spinner=False)
def run_detail(home_dir: str, run_id: str) -> dict:
    """A run's params, histories and report artifacts (the config as params)."""
    from experiments.queries import run_detail as detail

    d = detail(Path(home_dir), run_id)
    d["describe"] = d["config"].describe()
    d["config"] = d["config"].to_params()  # plain strings: cacheable
    return d
