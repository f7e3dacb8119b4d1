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


def require_home() -> Path:
    """The data folder, or an error on the page and a stop (never a traceback)."""
    try:
        return home()
    except ValueError as exc:
        st.error(str(exc))
        st.stop()


def compare_rows(details: dict[str, dict]) -> pd.DataFrame:
    """One row per run for the Compare table: test metrics and key params."""
    rows = []
    for name, d in details.items():
        m, cfg, hist = d["metrics"], d["config"], d["history"]
        rows.append({
            "run": name, "model": d["describe"], "sample": float(cfg["data.sample"]),
            "test accuracy": m.get("test/accuracy"), "balanced accuracy": m.get("test/balanced_accuracy"),
            "macro-F1": m.get("test/macro_f1"), "best epoch": int(m.get("best_epoch", 0)),
            "epochs": len(hist), "s/epoch": float(hist["epoch_seconds"].mean()) if "epoch_seconds" in hist else None,
            "sampler": cfg["train.sampler"], "lr": float(cfg["train.lr"]), "run id": d["run_id"][:8],
        })
    return pd.DataFrame(rows)


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


def option_defaults() -> dict[str, str]:
    from core.config import RunConfig

    return RunConfig().to_params()


def choices() -> dict[str, tuple]:
    from core import config as C

    return {"data.normalize": C.NORMALIZATIONS, "model.name": C.MODEL_NAMES, "model.head_activation": C.ACTIVATIONS,
            "model.word_vectors": C.WORD_VECTORS, "train.optimizer": C.OPTIMIZERS, "train.schedule": C.SCHEDULES,
            "train.sampler": C.SAMPLERS, "train.monitor": C.MONITOR_METRICS, "train.device": C.DEVICES}


def launch(home_dir: str, params: dict[str, str], run_name: str | None, slots: int) -> str:
    """Validate the options (ValueError with the message to show) and start
    the run in the background."""
    from core.config import RunConfig
    from experiments import launcher, workloads

    cfg = RunConfig.from_params(params)
    if workloads.dataset_info(cfg.data.workload, Path(home_dir)) is None:
        raise ValueError(f"the {cfg.data.workload} data is not prepared yet; see the Home page")
    run_id = launcher.launch(cfg, Path(home_dir), run_name or None, slots=slots)
    runs.clear()
    return run_id


def cancel(home_dir: str, run_id: str) -> str:
    from experiments import launcher

    result = launcher.cancel(Path(home_dir), run_id)
    runs.clear()
    return result


def estimate_seconds(home_dir: str, params: dict[str, str]) -> float | None:
    """A rough duration: finished runs of the same workload, model and
    direction give seconds per epoch per (sample fraction x hidden unit);
    scaled to this run's sample, hidden size and epochs. None without history."""
    frame = runs(home_dir)
    if frame.empty:
        return None
    same = frame[(frame["status"] == "FINISHED") & (frame["workload"] == params["data.workload"])].head(20)
    rates = []
    for r in same.itertuples():
        d = run_detail(home_dir, r.run_id)
        cfg, hist = d["config"], d["history"]
        if (cfg["model.name"], cfg["model.bidirectional"]) != (params["model.name"], params["model.bidirectional"]):
            continue
        if "epoch_seconds" in hist and len(hist):
            size = float(cfg["data.sample"]) * int(cfg["model.hidden_size"])
            rates.append(float(hist["epoch_seconds"].mean()) / size)
    if not rates:
        return None
    size = float(params["data.sample"]) * int(params["model.hidden_size"])
    return sum(rates) / len(rates) * size * int(params["train.epochs"])
