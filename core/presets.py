"""Named run presets: dotted RunConfig overrides shared by the CLI
(`--preset NAME`) and the dashboard's New run form. Explicit options win over
a preset's values."""
from __future__ import annotations

from core import workloads as W
from core.config import RunConfig

# The plain training loop of the original notebooks: padded beats read to the
# last of 187 steps, batches of 128, Adam 1e-3, nothing else.
NOTEBOOK = {
    "model.name": "gru", "model.bidirectional": True, "model.num_layers": 2, "model.hidden_size": 64,
    "model.readout": "final", "train.batch_size": 128, "train.optimizer": "adam", "train.lr": 1e-3,
    "train.schedule": "none", "train.grad_clip": 0.0, "train.bucket": False, "train.epochs": 40,
}
# A bidirectional GRU trained the fast way: each step reads 2 samples (94
# steps instead of 187), batches of 128 sorted by length within chunks and cut
# to their longest beat, the head reading each direction's state at the beat's
# true end, one-cycle Adam peaking at 2e-3, gradient clipping at 1.0. It met
# validation 0.985 / 0.92 at epoch 20 on 2 CPU cores in 19.5 minutes, test
# 0.9871 / 0.9216 (results/RESULTS.md, Speed).
FAST = {
    "model.name": "gru", "model.bidirectional": True, "model.num_layers": 1, "model.hidden_size": 128,
    "model.frame": 2, "model.readout": "end", "train.batch_size": 128, "train.optimizer": "adam", "train.lr": 2e-3,
    "train.schedule": "onecycle", "train.grad_clip": 1.0, "train.bucket": True, "train.epochs": 26,
}

# The classroom recipes: what every arm of a built-in study or one-click
# comparison shares, chosen by measurement on a 2-core laptop (benchmark:
# benchmarks/classroom.py; numbers in results/RESULTS.md, "Classroom"). The
# arms differ only in the factor under study. Each workload states its own
# (core.workloads: Workload.classroom, with the reasons beside it).
CLASSROOM: dict[str, dict] = {w.name: dict(w.classroom) for w in W.all_workloads() if w.classroom}


# Wall seconds of one run of the slowest config of a workload's classroom recipe
# on one core (heartbeats: 15-110 s per config, measured). A comparison counts
# an arm that has no earlier run of its model on this machine at this much, so
# its first estimate errs long.
CLASSROOM_SLOWEST_RUN_SECONDS = {w.name: w.classroom_slowest_run_seconds for w in W.all_workloads()
                                 if w.classroom_slowest_run_seconds is not None}


def classroom(workload: str) -> dict:
    """The classroom recipe of a workload (dotted RunConfig overrides)."""
    if workload not in CLASSROOM:
        raise ValueError(f"no classroom recipe for workload {workload!r}; choose one of: {', '.join(CLASSROOM)}")
    return dict(CLASSROOM[workload])


PRESETS: dict[str, dict] = {
    # the heartbeat classroom recipe on a bidirectional LSTM (the fastest gated cell on a CPU: one fused kernel),
    # reading each direction at the beat's true end, batches cut to their longest beat
    "quick-look": {**CLASSROOM["heartbeat"], "model.name": "lstm", "model.bidirectional": True,
                   "model.readout": "end", "train.bucket": True},
    "best-bigru": {  # test accuracy 0.9882 / macro-F1 0.9293 on the full heartbeat data (results/RESULTS.md)
        "model.name": "gru", "model.bidirectional": True, "model.hidden_size": 128, "model.readout": "end",
        "train.batch_size": 128, "train.lr": 2e-3, "train.schedule": "onecycle", "train.grad_clip": 1.0,
        "train.bucket": True, "train.epochs": 26,
    },
    "fast": FAST,
    "notebook": NOTEBOOK,
    "titles-mlp": {"data.workload": "titles", "model.name": "mlp", "model.hidden_size": 64, "train.epochs": 20,
                   "train.monitor": "balanced_accuracy"},
    "titles-bilstm": {
        "data.workload": "titles", "model.name": "lstm-packed", "model.bidirectional": True, "model.hidden_size": 256,
        "model.embedding_dim": 300, "model.word_vectors": "word2vec", "model.head_hidden": 512,
        "model.head_dropout": 0.4, "train.optimizer": "adamw", "train.weight_decay": 0.01, "train.lr": 0.002,
        "train.schedule": "onecycle", "train.label_smoothing": 0.1, "train.epochs": 15,
        "train.monitor": "balanced_accuracy"},
}

DESCRIPTIONS = {
    "best-bigru": "bi-GRU 1x128 reading the true end, one-cycle 2e-3, 26 epochs: test macro-F1 0.93 on the full data",
    "fast": "bi-GRU 1x128 reading 2 samples a step, length-sorted batches: test 0.987 / macro-F1 0.92 on the full data",
    "notebook": "bi-GRU 2x64 exactly as the original notebooks trained it (padded, batch 128, Adam 1e-3, 40 epochs)",
    "quick-look": "30% sample, bi-LSTM 1x64 reading 4 samples a step, 8 epochs: the quickest first result",
    "titles-mlp": "the titles study's baseline: mean of word embeddings and a hidden layer",
    "titles-bilstm": "the best titles model: packed bi-LSTM 1x256 on word2vec vectors",
}


def preset_overrides(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def apply_preset(name: str, base: RunConfig | None = None) -> RunConfig:
    return (base or RunConfig()).replace(**preset_overrides(name))
