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
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.config import RunConfig, to_json
from experiments.mlflow_tracker import MlflowTracker, client, experiment_id

STATUS_TAG = "arena.status_detail"


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


def create_run(cfg: RunConfig, home: Path, run_name: str | None = None, tags: dict[str, str] | None = None) -> str:
    c = client(home)
    exp = experiment_id(home, cfg.data.workload)
    all_tags = {"workload": cfg.data.workload, "model": cfg.model.name, "arena.describe": cfg.describe(),
                "arena.config_digest": cfg.digest(), **(tags or {})}
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


def load_data(cfg: RunConfig, home: Path, device):
    """Arrays for train/val/test as tensors on `device`, and the class names."""
    from core.data import heartbeat as hb
    from core.train import TensorSplit

    beats = hb.load_beats(home)
    splits = hb.make_splits(beats, cfg.data.val_fraction, cfg.data.sample, cfg.data.split_seed)
    to = lambda b: TensorSplit.from_arrays(b.x, b.length, b.y, device)  # noqa: E731
    return to(splits.train), to(splits.val), to(splits.test), list(hb.CLASS_NAMES)


def execute(
    run_id: str,
    home: Path,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_start: Callable[[dict], None] | None = None,
) -> RunSummary:
    """Train a created run to the end. Resumes from its checkpoint if one exists."""
    cfg = load_config(home, run_id)
    c = client(home)
    tracker = MlflowTracker(home, run_id)
    started = time.perf_counter()
    try:
        c.update_run(run_id, status="RUNNING")
        from experiments.launcher import PROC_TAG, process_identity

        tracker.set_tags({PROC_TAG: process_identity()})
        from core.train import fit, resolve_device

        device = resolve_device(cfg.train.device)
        train, val, test, class_names = load_data(cfg, home, device)
        info = {"device": str(device), "train_size": len(train), "val_size": len(val), "test_size": len(test)}
        tracker.set_tags({f"arena.{k}": v for k, v in info.items()})
        tracker.log_text(to_json(cfg), "config.json")
        if on_start:
            on_start(info)
        ckpt = checkpoint_path(home, run_id)

        def epoch_done(epoch: int, row: dict) -> None:
            tracker.set_tags({"arena.epoch": str(epoch)})  # progress for `runs` and the monitor
            if on_epoch:
                on_epoch(epoch, row)

        result = fit(cfg, train, val, test, class_names, tracker=tracker, checkpoint=ckpt, on_epoch=epoch_done, on_batch=on_batch)
        summary = _record_result(tracker, cfg, result, class_names, time.perf_counter() - started)
        c.set_terminated(run_id, status="FINISHED")
        ckpt.unlink(missing_ok=True)
        return summary
    except KeyboardInterrupt:
        tracker.set_tags({STATUS_TAG: "interrupted; resume with: python -m experiments run --resume " + run_id})
        c.set_terminated(run_id, status="KILLED")
        raise
    except BaseException as exc:
        message = str(exc) or type(exc).__name__
        tracker.set_tags({"error": message, "error_type": type(exc).__name__,
                          "error_traceback": traceback.format_exc()[-4000:]})
        c.set_terminated(run_id, status="FAILED")
        raise


def run(cfg: RunConfig, home: Path, run_name: str | None = None, **callbacks) -> RunSummary:
    run_id = create_run(cfg, home, run_name)
    if "on_created" in callbacks:
        callbacks.pop("on_created")(run_id)
    return execute(run_id, home, **callbacks)


def _record_result(tracker: MlflowTracker, cfg: RunConfig, result, class_names, seconds: float) -> RunSummary:
    from core.metrics import report_table
    from safetensors.torch import save_file
    import tempfile

    test = result.test
    final = {f"test/{k}": v for k, v in test.metrics.items()}
    final["test/loss"] = test.loss
    final["best_epoch"] = result.best_epoch
    per_class = {n: result.report[n] for n in class_names}
    for n in class_names:
        final[f"test/recall_{n}"] = per_class[n]["recall"]
        final[f"test/f1_{n}"] = per_class[n]["f1-score"]
    tracker.log_metrics(final, step=len(result.history))
    tracker.log_dict(result.report, "report/classification_report.json")
    tracker.log_text(report_table(result.report, class_names), "report/classification_report.txt")
    tracker.log_dict({"labels": list(class_names), "matrix": test.cm.tolist()}, "report/confusion_matrix.json")
    tracker.log_text(_predictions_csv(test, class_names), "predictions/test_predictions.csv")
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "model.safetensors"
        state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
        save_file(state, str(weights), metadata={"config": json.dumps(cfg.to_params())})
        tracker.log_file(weights, "model/model.safetensors")
    epochs = len(result.history)
    tracker.set_tags({
        "arena.num_parameters": str(result.num_parameters),
        "arena.epochs_run": str(epochs),
        "arena.stopped_early": str(result.stopped_early).lower(),
        "arena.wall_seconds": f"{seconds:.1f}",
    })
    train_seconds = [row["epoch_seconds"] for row in result.history]
    return RunSummary(
        run_id=tracker.run_id, status="FINISHED",
        test={**test.metrics, "loss": test.loss}, per_class=per_class,
        best_epoch=result.best_epoch, epochs_run=epochs, seconds=seconds,
        seconds_per_epoch=sum(train_seconds) / len(train_seconds) if train_seconds else 0.0,
        device=result.device, num_parameters=result.num_parameters,
    )


def _predictions_csv(test, class_names) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["index", "y_true", "y_pred", *[f"p_{n}" for n in class_names]])
    for i, (t, p, probs) in enumerate(zip(test.y_true, test.y_pred, test.probs)):
        w.writerow([i, int(t), int(p), *[f"{v:.5f}" for v in probs]])
    return buf.getvalue()


def load_model(home: Path, run_id: str):
    """The trained model of a finished run, rebuilt from its params and its
    safetensors weights (no pickle)."""
    from safetensors.torch import load_file
    from core.models import build_model
    from core.data.heartbeat import NUM_CLASSES

    cfg = load_config(home, run_id)
    c = client(home)
    local = c.download_artifacts(run_id, "model/model.safetensors")
    model = build_model(cfg.model, num_features=1, num_classes=NUM_CLASSES)
    model.load_state_dict(load_file(local))
    model.eval()
    return cfg, model
