"""One run: config -> data -> fit -> MLflow.

`create_run` records the config (params) and returns the run id;
`execute` trains it and records metrics and artifacts; a failure marks the
run FAILED with its error as a tag, an interrupt marks it KILLED, and what it
logged before stays. `resume` continues an interrupted run from its last
epoch checkpoint.
"""
from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.config import RunConfig, to_json
from core.metrics import MANY_CLASSES
from experiments.mlflow_tracker import MlflowTracker, client, experiment_id
from experiments.tags import (
    DESCRIBE_TAG, DIGEST_TAG, EPOCHS_RUN_TAG, EPOCH_TAG, ERROR_TAG, ERROR_TRACEBACK_TAG, ERROR_TYPE_TAG,
    LEARNED_TAG, MODEL_TAG, NUM_PARAMETERS_TAG, PREFIX, PROC_TAG, PROGRESS_TAG, REASON_TAG, STATUS_TAG,
    STOPPED_EARLY_TAG, WALL_SECONDS_TAG, WORKLOAD_TAG, NODE_TAG
)
from experiments.settings import ENV_NODE, remote_store, tracking_uri



@dataclass
class RunSummary:
    run_id: str
    status: str
    test: dict[str, float]
    per_class: dict[str, dict[str, float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    seconds_per_epoch: float
    device: str
    num_parameters: int


def interrupt_on_signals() -> None:
    """Ctrl-C and `kill` (SIGTERM) both end a run as KILLED with its last
    epoch checkpointed; a background job otherwise ignores SIGINT."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def checkpoint_path(home: Path, run_id: str) -> Path:
    return home / "checkpoints" / f"{run_id}.pt"


CHECKPOINT_ARTIFACT = "checkpoint/last.pt"  # on a tracking server: the last epoch's checkpoint, for any node


def fetch_checkpoint(c, run_id: str, ckpt: Path) -> bool:
    """Copy the run's checkpoint from the tracking server to `ckpt` when this
    node has none (the run was interrupted on another node). The file
    appears whole or not at all."""
    if ckpt.is_file():
        return False
    import tempfile

    names = {f.path for f in c.list_artifacts(run_id, "checkpoint")}
    if CHECKPOINT_ARTIFACT not in names:
        return False
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ckpt.parent) as tmp:
        local = c.download_artifacts(run_id, CHECKPOINT_ARTIFACT, tmp)
        os.replace(local, ckpt)
    return True


def drop_shared_checkpoint(c, run_id: str, uri: str) -> None:
    """A finished run needs no checkpoint: remove it from the server (best effort)."""
    try:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(c.get_run(run_id).info.artifact_uri, tracking_uri=uri)
        repo.delete_artifacts("checkpoint")
    except Exception:
        pass


def create_run(cfg: RunConfig, home: Path, run_name: str | None = None, tags: dict[str, str] | None = None) -> str:
    c = client(home)
    exp = experiment_id(home, cfg.data.workload)
    all_tags = {WORKLOAD_TAG: cfg.data.workload, MODEL_TAG: cfg.model.name, DESCRIBE_TAG: cfg.describe(),
                DIGEST_TAG: cfg.digest(), **(tags or {})}
    run = c.create_run(exp, run_name=run_name or cfg.describe(), tags=all_tags)
    from mlflow.entities import Param

    c.log_batch(run.info.run_id, params=[Param(k, v) for k, v in cfg.to_params().items()])
    return run.info.run_id


def load_config(home: Path, run_id: str) -> RunConfig:
    try:
        run = client(home).get_run(run_id)
    except Exception:
        raise ValueError(f"no run {run_id!r} in {home}; list runs with: python -m experiments runs") from None
    return RunConfig.from_params(run.data.params)


def resumable_config(home: Path, run_id: str) -> RunConfig:
    """The config of a run that may be resumed: one that exists, is not
    FINISHED and is not RUNNING in a live process (ValueError otherwise)."""
    cfg = load_config(home, run_id)
    run = client(home).get_run(run_id)
    if run.info.status == "FINISHED":
        raise ValueError(f"run {run_id} already FINISHED; start a new run instead")
    if run.info.status == "RUNNING":
        from experiments.launcher import is_alive

        identity = run.data.tags.get(PROC_TAG, "")
        if is_alive(identity):
            raise ValueError(f"run {run_id} is still RUNNING in process {identity.split(':')[1]}; stop it before resuming")
    return cfg


def execute(
    run_id: str,
    home: Path,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_start: Callable[[dict], None] | None = None,
) -> RunSummary:
    """Train a created run to the end. Resumes from its checkpoint if one
    exists. A FINISHED run is final: it is refused, and nothing (an error,
    a signal) ever changes a FINISHED status afterwards."""
    cfg = load_config(home, run_id)
    c = client(home)
    if c.get_run(run_id).info.status == "FINISHED":
        raise ValueError(f"run {run_id} is FINISHED; its results are final and are not trained again: start a new run")
    tracker = MlflowTracker(home, run_id)
    started = time.perf_counter()
    try:
        c.update_run(run_id, status="RUNNING")
        from experiments.launcher import process_identity

        tracker.set_tags({PROC_TAG: process_identity()})
        progress = Progress(tracker)
        progress.phase("loading data")
        data, device = _load_data(cfg, home, tracker)
        metric_keys = class_metric_keys(data.class_names)  # before training: a bad key must not lose a finished run
        info = _record_start(cfg, home, tracker, data, device)
        if on_start:
            on_start(info)
        ckpt = checkpoint_path(home, run_id)
        shared_ckpt = remote_store(home)  # another node may resume this run: its checkpoint goes to the server
        if shared_ckpt:
            fetch_checkpoint(c, run_id, ckpt)
        progress.cancellable = shared_ckpt
        hooks = _Hooks(tracker, progress, ckpt if shared_ckpt else None, on_epoch, on_batch)
        result = _train(cfg, data, tracker, ckpt, progress, hooks)
        summary = _record_result(tracker, cfg, result, data.class_names, time.perf_counter() - started, data, metric_keys)
        c.set_terminated(run_id, status="FINISHED")
        ckpt.unlink(missing_ok=True)
        if shared_ckpt:
            drop_shared_checkpoint(c, run_id, tracking_uri(home))
        return summary
    except BaseException as exc:
        if not finished(c, run_id):  # a signal after the run was marked FINISHED changes nothing
            _record_stop(c, tracker, run_id, exc)
        raise


def _load_data(cfg: RunConfig, home: Path, tracker: MlflowTracker):
    """The run's data and the device it is on (tfidf: the CPU); on a cluster node, the node is tagged and
    named in a not-prepared error."""
    from core.train import resolve_device
    from experiments import workloads

    device = resolve_device(cfg.train.device) if cfg.model.name != "tfidf" else resolve_device("cpu")
    node = os.environ.get(ENV_NODE)
    if node:
        tracker.set_tags({NODE_TAG: node})
    try:
        return workloads.load(cfg, home, device), device
    except ValueError as exc:
        if node and "not prepared" in str(exc):  # a cluster node without the data: say which, and what to run there
            raise ValueError(f"on node {node} ({socket.gethostname()}): {exc}") from None
        raise


def _record_start(cfg: RunConfig, home: Path, tracker: MlflowTracker, data, device) -> dict:
    """Tag the device, the split sizes and the dataset's key; log the config. Those facts."""
    from experiments import workloads

    info = {"device": str(device), "train_size": len(data.train), "val_size": len(data.val),
            "test_size": len(data.test),
            "dataset_key": (workloads.dataset_info(cfg.data.workload, home) or {}).get("key", "")}
    tracker.set_tags({f"{PREFIX}{k}": v for k, v in info.items()})
    tracker.log_text(to_json(cfg), "config.json")
    return info


class _Hooks:
    """What a run does after each batch and epoch: progress tags, the shared
    checkpoint uploaded and a cancel from outside noticed (when the store is
    remote), then the caller's callbacks."""

    def __init__(self, tracker, progress, shared_ckpt: Path | None, on_epoch, on_batch):
        self.tracker, self.progress, self.shared_ckpt = tracker, progress, shared_ckpt
        self.on_epoch, self.on_batch = on_epoch, on_batch

    def epoch_done(self, epoch: int, row: dict) -> None:
        if self.shared_ckpt is not None and self.shared_ckpt.is_file():
            self.tracker.log_file(self.shared_ckpt, CHECKPOINT_ARTIFACT)
        if self.shared_ckpt is not None:
            check_cancelled(self.tracker)
        self.tracker.set_tags({EPOCH_TAG: str(epoch)})  # progress for `runs` and the monitor
        self.progress.epoch_end()
        if self.on_epoch:
            self.on_epoch(epoch, row)

    def batch_done(self, done: int, total: int) -> None:
        self.progress.batch(done, total)
        if self.on_batch:
            self.on_batch(done, total)


def _train(cfg: RunConfig, data, tracker: MlflowTracker, ckpt: Path, progress, hooks: _Hooks):
    """tfidf: scikit-learn in one step; the neural models: core.train.fit, checkpointed every epoch."""
    train, val, test, class_names = data.train, data.val, data.test, data.class_names
    if cfg.model.name == "tfidf":
        from core.classical import fit_tfidf

        t = data.texts
        result = fit_tfidf(cfg, (t["train"], train.y.numpy()), (t["val"], val.y.numpy()), (t["test"], test.y.numpy()),
                           class_names, tracker=tracker)
        hooks.epoch_done(1, result.history[0])
        return result
    from core.train import fit

    progress.phase("training")
    return fit(cfg, train, val, test, class_names, tracker=tracker, checkpoint=ckpt, on_epoch=hooks.epoch_done,
               on_batch=hooks.batch_done, vocab_size=data.vocab_size, embedding_init=data.embedding_init,
               on_phase=progress.phase)


def _record_stop(c, tracker: MlflowTracker, run_id: str, exc: BaseException) -> None:
    """An interrupt marks the run KILLED (resumable); anything else FAILED, with the error and its traceback."""
    if isinstance(exc, KeyboardInterrupt):
        tracker.set_tags({STATUS_TAG: "interrupted; resume with: python -m experiments run --resume " + run_id})
        c.set_terminated(run_id, status="KILLED")
        return
    message = str(exc) or type(exc).__name__
    tracker.set_tags({ERROR_TAG: message, ERROR_TYPE_TAG: type(exc).__name__,
                      ERROR_TRACEBACK_TAG: traceback.format_exc()[-4000:]})
    c.set_terminated(run_id, status="FAILED")


PROGRESS_EVERY = 2.0  # seconds between two progress tags (each is a write to the store)


class Progress:
    """Where a background run is within its epoch, for the monitor: the
    phase ("loading data", "training", "testing") and the batch, written as a
    tag at most every PROGRESS_EVERY seconds (and at each phase change)."""

    def __init__(self, tracker, every: float = PROGRESS_EVERY):
        self.tracker, self.every = tracker, every
        self.last = 0.0
        self.state = {"phase": "starting", "batch": 0, "batches": 0, "epoch_started": time.time()}

    def _write(self) -> None:
        self.last = time.time()
        self.tracker.set_tags({PROGRESS_TAG: json.dumps({**self.state, "at": round(self.last, 1)})})

    def phase(self, name: str) -> None:
        self.state.update(phase=name, batch=0, batches=0, epoch_started=round(time.time(), 1))
        self._write()

    def epoch_end(self) -> None:
        self.state["epoch_started"] = round(time.time(), 1)  # the next epoch's batches start now

    def batch(self, done: int, total: int) -> None:
        self.state.update(phase="training", batch=done, batches=total)
        if done == 1 or time.time() - self.last >= self.every:
            self._write()
            if self.cancellable:
                check_cancelled(self.tracker)

    cancellable = False  # True where no signal can reach the run (another node): the store says when to stop


def check_cancelled(tracker) -> None:
    """A run cancelled from another machine is marked KILLED in the store
    (launcher.cancel): stop it here as a signal would, checkpoint kept."""
    if tracker.client.get_run(tracker.run_id).info.status == "KILLED":
        raise KeyboardInterrupt


def finished(c, run_id: str) -> bool:
    """True when the run is already FINISHED (then its status never changes)."""
    try:
        return c.get_run(run_id).info.status == "FINISHED"
    except Exception:  # the store cannot answer: mark the run as the caller meant to
        return False


def class_metric_keys(class_names) -> dict[str, str]:
    """Each class's part of the per-class metric keys (test/recall_<part>):
    characters MLflow refuses in a key ('&' in 'HOME & GARDEN') become '_',
    and two classes that end up alike get a number, so that no run fails
    at the end of its training over a class's name."""
    import re

    keys: dict[str, str] = {}
    used: set[str] = set()
    for name in class_names:
        part = re.sub(r"[^A-Za-z0-9_.\- ]", "_", str(name)).strip()[:120] or "class"
        part = re.sub(r"\.{2,}", "_", part)  # MLflow refuses keys that read as '..' paths
        unique, n = part, 2
        while unique in used:
            unique, n = f"{part}_{n}", n + 1
        used.add(unique)
        keys[name] = unique
    return keys


def run(cfg: RunConfig, home: Path, run_name: str | None = None, **callbacks) -> RunSummary:
    run_id = create_run(cfg, home, run_name)
    if "on_created" in callbacks:
        callbacks.pop("on_created")(run_id)
    return execute(run_id, home, **callbacks)


def _record_result(tracker: MlflowTracker, cfg: RunConfig, result, class_names, seconds: float, data,
                   metric_keys: dict[str, str] | None = None) -> RunSummary:
    from core import diagnosis
    from core import metrics as M

    test = result.test
    final = {f"test/{k}": v for k, v in test.metrics.items()}
    if test.loss == test.loss:  # NaN for models without a loss (tfidf)
        final["test/loss"] = test.loss
    final["best_epoch"] = result.best_epoch
    per_class = {n: result.report[n] for n in class_names}
    if len(class_names) <= MANY_CLASSES:
        keys = metric_keys or class_metric_keys(class_names)
        for n in class_names:
            final[f"test/recall_{keys[n]}"] = per_class[n]["recall"]  # sensitivity
            final[f"test/precision_{keys[n]}"] = per_class[n]["precision"]  # positive predictive value
            final[f"test/f1_{keys[n]}"] = per_class[n]["f1-score"]
    final.update(_event_metrics(cfg, test, class_names, data))
    tracker.log_metrics(final, step=len(result.history))
    tracker.log_dict(result.report, "report/classification_report.json")
    tracker.log_dict(M.top_confusions(test.cm, class_names, 50), "report/top_confusions.json")
    if len(class_names) <= MANY_CLASSES:
        tracker.log_text(M.report_table(result.report, class_names), "report/classification_report.txt")
        tracker.log_dict({"labels": list(class_names), "matrix": test.cm.tolist()}, "report/confusion_matrix.json")
    else:
        tracker.log_text(M.readable_report(result.report, test.cm, class_names), "report/classification_report.txt")
        tracker.log_dict(M.extremes(result.report, class_names, 20), "report/extremes.json")
        tracker.log_dict(M.sparse_confusion(test.cm, class_names), "report/confusion_sparse.json")
    tracker.log_text(_predictions_csv(test, class_names, data.test_examples), "predictions/test_predictions.csv")
    _log_per_record(tracker, cfg, test, class_names, data)
    if getattr(data, "split_info", None):
        tracker.log_dict(data.split_info, "report/split.json")
    if cfg.model.name != "tfidf":
        _log_weights(tracker, cfg, result.model, len(class_names), data.vocab_size)
        _log_explanation(tracker, cfg, result.model, class_names, data)
    epochs = len(result.history)
    check = diagnosis.check(test.cm, class_names)
    tracker.set_tags({
        LEARNED_TAG: str(check.learned).lower(),
        REASON_TAG: check.line,
        NUM_PARAMETERS_TAG: str(result.num_parameters),
        EPOCHS_RUN_TAG: str(epochs),
        STOPPED_EARLY_TAG: str(result.stopped_early).lower(),
        WALL_SECONDS_TAG: f"{seconds:.1f}",
    })
    train_seconds = [row["epoch_seconds"] for row in result.history]
    return RunSummary(
        run_id=tracker.run_id, status="FINISHED",
        test={**test.metrics, "loss": test.loss}, per_class=per_class,
        best_epoch=result.best_epoch, epochs_run=epochs, seconds=seconds,
        seconds_per_epoch=sum(train_seconds) / len(train_seconds) if train_seconds else 0.0,
        device=result.device, num_parameters=result.num_parameters,
    )


def _event_metrics(cfg: RunConfig, test, class_names, data) -> dict[str, float]:
    """The workload's second macro-F1 over its core classes (heartbeats: N, S,
    V, F) as test/macro_f1_core; the per-event figures are the per-class
    recall and precision already logged."""
    from core import metrics as M
    from core import workloads as W

    w = W.get(cfg.data.workload)
    if not w.core_classes or not set(w.core_classes) <= set(class_names):
        return {}
    return {"test/macro_f1_core": M.subset_macro_f1(test.cm, class_names, w.core_classes)}


def _log_per_record(tracker: MlflowTracker, cfg: RunConfig, test, class_names, data) -> None:
    """Per test record (patient): its beats and each event class's count,
    sensitivity and positive predictivity (report/per_record.json)."""
    from core import metrics as M
    from core import workloads as W

    w = W.get(cfg.data.workload)
    records = getattr(data, "test_records", None)
    if not w.event_classes or records is None or len(records) != len(test.y_true) or (records < 0).all():
        return
    rows = M.per_group_events(test.y_true, test.y_pred, records, class_names, w.event_classes)
    tracker.log_dict({"events": [list(e) for e in w.event_classes], "rows": rows}, "report/per_record.json")


def _log_explanation(tracker: MlflowTracker, cfg: RunConfig, model, class_names, data) -> None:
    """The gradient through time and example attributions (experiments.explain),
    stored with the run; its cost is tagged. An explanation that cannot be made
    is noted in a tag and never fails a trained run."""
    from experiments import explain

    try:
        out = explain.compute(cfg, model, data, list(class_names))
    except Exception as exc:  # a view of the model, not its result: the run stays whole
        tracker.set_tags({f"{PREFIX}explain_error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        return
    tracker.log_dict(out, explain.ARTIFACT)
    tracker.set_tags({f"{PREFIX}explain_seconds": f"{out['seconds']:.2f}"})


def _log_weights(tracker: MlflowTracker, cfg: RunConfig, model, num_classes: int, vocab_size: int | None) -> None:
    import tempfile

    from safetensors.torch import save_file

    meta = {"config": json.dumps(cfg.to_params()), "num_classes": str(num_classes),
            "vocab_size": str(vocab_size or 0), "num_extra": str(getattr(model, "num_extra", 0))}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "model.safetensors"
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(weights), metadata=meta)
        tracker.log_file(weights, "model/model.safetensors")


def _predictions_csv(test, class_names, examples: list[str] | None = None) -> str:
    """One row per test item: index, true and predicted class; class
    probabilities for few classes, the top 3 for many; the input text where
    there is one."""
    import numpy as np

    buf = io.StringIO()
    w = csv.writer(buf)
    many = len(class_names) > MANY_CLASSES
    head = ["index", "y_true", "y_pred", "true", "pred"]
    head += ["top3", "top3_scores"] if many else [f"p_{n}" for n in class_names]
    if examples is not None:
        head.append("text")
    w.writerow(head)
    top3 = np.argsort(-test.probs, axis=1)[:, :3] if many else None
    for i, (t, p) in enumerate(zip(test.y_true, test.y_pred)):
        row = [i, int(t), int(p), class_names[int(t)], class_names[int(p)]]
        if many:
            row += ["|".join(class_names[j] for j in top3[i]), "|".join(f"{test.probs[i, j]:.4f}" for j in top3[i])]
        else:
            row += [f"{v:.5f}" for v in test.probs[i]]
        if examples is not None:
            row.append(examples[i])
        w.writerow(row)
    return buf.getvalue()


def load_model(home: Path, run_id: str):
    """The trained model of a finished run, rebuilt from its params and its
    safetensors weights (no pickle)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from core.models import build_model

    cfg = load_config(home, run_id)
    if cfg.model.name == "tfidf":
        raise ValueError(f"run {run_id} is a TF-IDF reference: it keeps no neural weights")
    try:
        local = client(home).download_artifacts(run_id, "model/model.safetensors")
    except Exception as exc:  # MLflow's error for a missing artifact
        raise ValueError(f"run {run_id} has no saved weights (model/model.safetensors): a run that ended before its "
                         f"test, or a full-data reference run imported from its record, keeps none "
                         f"({type(exc).__name__})") from None
    with safe_open(local, framework="pt") as fh:
        meta = fh.metadata()
    vocab_size = int(meta.get("vocab_size", "0")) or None
    model = build_model(cfg.model, num_features=1, num_classes=int(meta.get("num_classes", "5")), vocab_size=vocab_size,
                        num_extra=int(meta.get("num_extra", "0")))
    model.load_state_dict(load_file(local))
    model.eval()
    return cfg, model
