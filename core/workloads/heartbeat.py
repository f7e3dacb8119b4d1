"""Heartbeats: MIT-BIH beats in the 5 AAMI classes (core.data.heartbeat reads
and builds them). The description, and the run's tensors beside it."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.data import heartbeat as hb
from core.workloads.base import Benchmarks, RunData, Workload

ORIGINS = {"kaggle-csv": "Kaggle's CSV files", "raw-records": "the raw PhysioNet records",
           "raw-archive": "an archive of the raw PhysioNet records"}


def _prepare(source: Path | None, home: Path, progress=None, log=print) -> dict:
    return hb.prepare(source, home, progress=progress, log=log)


def _cache_ready(meta: dict) -> bool:
    return Path(str(meta.get("cache", ""))).is_file()


def _overview(meta: dict, home: Path) -> dict:
    origin = ORIGINS.get(meta["kind"], meta["kind"])
    return {"summary": f"{meta['beats']:,} beats ({meta['train']:,} train, {meta['test']:,} test), built from {origin}.",
            "chart": {"names": list(meta["counts"]), "counts": list(meta["counts"].values()),
                      "title": "Beats per class (all splits)", "xlabel": "class"},
            "caption": "N (normal) dominates: a model that always says N is 83% accurate and useless. "
                       "Watch balanced accuracy and macro-F1, and the recall of S (supraventricular "
                       "ectopic) and F (fusion)."}


def _describe_prepared(meta: dict) -> list[str]:
    """What `prepare heartbeat` prints: the beats per class in each split."""
    names = hb.CLASS_NAMES
    lines = [f"heartbeat: {meta['beats']:,} beats from {meta['source']} ({meta['kind']})",
             f"{'':>6} " + " ".join(f"{n:>7}" for n in [*names, "total"])]
    for label, counts in (("all", meta["counts"]), ("train", meta["train_counts"]), ("test", meta["test_counts"])):
        lines.append(f"{label:>6} " + " ".join(f"{counts[n]:>7,}" for n in names) + f" {sum(counts.values()):>7,}")
    lines.append("classes (AAMI): " + ", ".join(hb.spelled_out(names)))
    return lines


def _check_data(cfg, home: Path) -> None:
    """An inter-patient split and the rhythm need beats built from the raw records."""
    meta = hb.dataset_info(home) or {}
    if cfg.data.split == "inter-patient" and meta.get("kind") == "kaggle-csv":
        raise ValueError(hb.NO_RECORDS)
    if cfg.data.rhythm != "none" and meta:
        if meta.get("kind") == "kaggle-csv":
            raise ValueError(hb.NO_RHYTHM)
        if not meta.get("rhythm"):
            raise ValueError("the prepared heartbeat data was built before the beats kept their rhythm (RR "
                             "intervals); prepare it again: python -m experiments prepare heartbeat [--source PATH]")
    if cfg.data.window != "r-peak" and meta:
        if meta.get("kind") == "kaggle-csv":
            raise ValueError(hb.NO_P_WAVE)
        if not meta.get("p_wave"):
            raise ValueError("the prepared heartbeat data was built before the beats kept the window before the R "
                             "peak; prepare it again: python -m experiments prepare heartbeat [--source PATH]")


def load(cfg, home: Path, device, tensors: bool = True) -> RunData:
    """The run's splits as tensors on `device` (torch); with data.rhythm=rr
    each beat's rhythm features (hb.RHYTHM_FEATURES) ride beside it; with
    data.window=p-wave the beats are the windows from before the R peak."""
    from core.train import TensorSplit

    beats = hb.load_beats(home)
    if cfg.data.rhythm != "none":
        hb.require_rhythm(beats)
    if cfg.data.window != "r-peak":
        hb.require_p_wave(beats)
        beats = dataclasses.replace(beats, x=beats.x_p, length=hb.true_lengths(beats.x_p))
    splits = hb.make_splits(beats, cfg.data.val_fraction, cfg.data.sample, cfg.data.split_seed, cfg.data.split)

    def to(b: hb.Beats):
        extra = hb.rhythm_features(b.rr) if cfg.data.rhythm != "none" else None
        return TensorSplit.from_arrays(b.x, b.length, b.y, device, extra)

    info = {}
    if cfg.data.split == "inter-patient":  # validation is whole DS1 patients: which, and what they hold
        info = {part: {"records": [int(r) for r in np.unique(b.record)], "counts": b.counts()}
                for part, b in (("train", splits.train), ("validation", splits.val), ("test", splits.test))}
    return RunData(to(splits.train), to(splits.val), to(splits.test), list(hb.CLASS_NAMES),
                   test_records=splits.test.record, split_info=info)


WORKLOAD = Workload(
    name="heartbeat",
    title="Heartbeats: MIT-BIH Arrhythmia (5 AAMI classes)",
    label="Heartbeats (MIT-BIH, 5 AAMI classes)",
    about="MIT-BIH beats, 5 AAMI classes",
    unit="beats",
    inputs="signal",
    key_metric="macro_f1",
    key_metric_name="macro-F1",
    prepare_help="Download the raw records from PhysioNet (needs the network), or build from a local copy: a folder, "
                 "`.zip` or `.tar.*` of the MIT-BIH records, or the folder holding Kaggle's two CSVs.",
    data_help="Build the beats from the MIT-BIH records (downloaded from PhysioNet, or a local folder or archive "
              "of them, or the folder with Kaggle's two CSVs):",
    prepare_commands=(("prepare heartbeat", "download from PhysioNet"),
                      ("prepare heartbeat --source PATH", "or build from a local copy")),
    dataset_info=hb.dataset_info,
    cache_ready=_cache_ready,
    prepare=_prepare,
    overview=_overview,
    describe_prepared=_describe_prepared,
    load=load,
    check_data=_check_data,
    evaluations=("intra-patient", "inter-patient"),
    class_names=hb.CLASS_NAMES,
    long_names=dict(hb.CLASS_LONG_NAMES),
    quality_target=(0.985, 0.92),  # what the notebook loop reaches in 40 epochs (test 0.9859 / 0.921)
    per_class_note=" ECG papers publish these two per class (S = SVEB, V = VEB) beside F1.",
    f1_note="The minority classes (for heartbeats S supraventricular ectopic and F fusion) separate the models; "
            "N (normal) is easy for all of them.",
    log_counts=True,
    prepared_classes=lambda home: list(hb.CLASS_NAMES),
    # A 30% stratified sample (23,638 training beats, 193 of them F), each step
    # reading 4 samples (47 steps instead of 187), batches of 32, one-cycle Adam
    # peaking at 4e-3 over 8 epochs (about 5,900 steps), z-scored beats, and the
    # recurrent state read where the RNN stops: after the zero padding for a
    # padded model (so a simple RNN read after its zeros still fails, which is the
    # lesson), at the true end for a packed one. Padded batches are not cut to
    # their longest beat, for the same reason.
    classroom={
        "data.sample": 0.3, "data.normalize": "zscore", "model.hidden_size": 64, "model.frame": 4,
        "model.readout": "final", "model.packed_impl": "reverse", "train.batch_size": 32, "train.optimizer": "adam",
        "train.lr": 4e-3, "train.schedule": "onecycle", "train.grad_clip": 1.0, "train.bucket": False,
        "train.epochs": 8,
    },
    classroom_slowest_run_seconds=110.0,  # 15-110 s per config, measured
    rhythm=hb.RHYTHM_FEATURES,
    rhythm_labels=dict(hb.RHYTHM_LABELS),
    event_classes=(("S", "SVEB"), ("V", "VEB")),
    core_classes=("N", "S", "V", "F"),
    benchmarks=Benchmarks(
        variants=(*((name, {"model.name": name}) for name in ("rnn", "rnn-packed", "rnn-trimmed", "gru", "lstm")),
                  *((f"bi-{cell}", {"model.name": cell, "model.bidirectional": True}) for cell in ("gru", "lstm")),
                  ("bi-gru + weighted sampler", {"model.name": "gru", "model.bidirectional": True,
                                                 "train.sampler": "weighted"})),
        recall_of=("S", "F"),  # the minority classes that separate the models
        train_size=78_799,
        test_counts=(18118, 556, 1448, 162, 1608),  # Kaggle's test split per class (N, S, V, F, Q)
    ),
)
