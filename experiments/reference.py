"""Reference runs: the built-in studies' configs trained on the full data,
kept as small committed records (results/reference/) that any fresh clone can
load into its store as finished runs marked "full data, reference".

A reference run is a built-in study's config with the study's classroom
recipe, apart from the amount of training (REFERENCE_TRAINING: the whole
training data and more epochs). `run_next` trains the first planned run that
has no record yet and writes its record, so a job that stops anywhere carries
on from the records that exist (scripts/reference.sh commits each one as it
is written). `import_records` loads the records into the store, grouped into
one study per record group so that the Studies page ranks and tests them like
any study; a second import loads nothing twice.

A record holds the config, the per-epoch curves, the test metrics, the
confusion matrix (heartbeats) and the test predictions as small integers
(zlib-compressed, base64); the test labels are stored once per test set.
"""
from __future__ import annotations

import base64
import hashlib
import json
import platform
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.config import RunConfig, option_names
from experiments import studies as S
from experiments.tags import (
    CONFIG_KEY_TAG, DESCRIBE_TAG, DEVICE_TAG, DIGEST_TAG, EPOCHS_RUN_TAG, FACTORS_TAG, FACTOR_PREFIX, KEY_TAG,
    KIND_TAG, LEARNED_TAG, METRIC_TAG, MODEL_TAG, NUM_PARAMETERS_TAG, PARENT_TAG, POINT_INDEX_TAG, POINT_TAG,
    REASON_TAG, RECORD_TAG, REFERENCE_MACHINE_TAG, REFERENCE_TAG, SEED_TAG, STUDY_DESCRIPTION_TAG, STUDY_TAG,
    WALL_SECONDS_TAG, WORKLOAD_TAG
)

FORMAT = 1
ROOT = Path(__file__).resolve().parent.parent / "results" / "reference"
LABEL = "full data, reference"

# What differs from the classroom recipe: the amount of training.
REFERENCE_TRAINING = {
    "heartbeat": {"data.sample": 1.0, "train.epochs": 10},
    "titles": {"data.sample": 1.0, "train.epochs": 8},
}


@dataclass(frozen=True)
class Planned:
    group: str  # record folder: the study, or the study and its split
    study: S.Study
    workload: str
    overrides: dict[str, Any]
    trial: S.Trial

    @property
    def path(self) -> Path:
        return ROOT / self.group / f"{slug(self.trial.point.label)}-seed{self.trial.seed}.json"


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _title_reference_study() -> S.Study:
    """The original titles study's models: mean-embedding MLP, GRU, LSTM, bi-LSTM and TF-IDF."""
    from dataclasses import replace

    study = S.builtin("title-models")
    factor = study.factors[0]
    levels = tuple(lv for lv in factor.levels if lv.label != "rnn")
    return replace(study, factors=(replace(factor, levels=levels),))


def groups() -> list[tuple[str, S.Study, str, dict[str, Any]]]:
    """(group, study, workload, extra overrides) in the order they are run."""
    out = [
        ("architectures", S.builtin("architectures"), "heartbeat", {}),
        ("samplers", S.builtin("samplers"), "heartbeat", {}),
        ("title-models", _title_reference_study(), "titles", {}),
    ]
    if "data.split" in option_names():  # inter-patient evaluation: DS1 -> DS2
        from dataclasses import replace

        arch = S.builtin("architectures")
        keep = {"gru · bidirectional=true", "lstm · bidirectional=true"}
        inter = replace(arch, name="architectures-inter-patient",
                        factors=arch.factors)  # the points are filtered in plan()
        out.append(("architectures-inter-patient", inter, "heartbeat", {"data.split": "inter-patient", "_keep": keep}))
    if "data.rhythm" in option_names():  # a new patient, with and without the beat's rhythm (DS1 -> DS2)
        out.append(("rhythm", S.builtin("rhythm"), "heartbeat", {}))
    return out


def plan(seeds: int = 3) -> list[Planned]:
    """Every reference run, seed by seed: seed 0 of every group first, so that
    an interrupted job has the widest coverage."""
    by_seed: dict[int, list[Planned]] = {}
    for group, study, workload, extra in groups():
        extra = dict(extra)
        keep = extra.pop("_keep", None)
        overrides = {**REFERENCE_TRAINING[workload], **extra}
        for t in S.trials(study, workload, overrides, seeds):
            if keep is not None and t.point.label not in keep:
                continue
            by_seed.setdefault(t.seed, []).append(Planned(group, study, workload, overrides, t))
    return [p for seed in sorted(by_seed) for p in by_seed[seed]]


def missing(seeds: int = 3, only: set[str] | None = None) -> list[Planned]:
    return [p for p in plan(seeds) if not p.path.exists() and (not only or p.group in only)]


# -- predictions as small integers -----------------------------------------------------
def pack(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values)
    dtype = np.uint8 if values.max(initial=0) < 256 else np.uint16
    raw = values.astype(dtype).tobytes()
    return {"dtype": np.dtype(dtype).name, "n": int(values.size),
            "zlib_b64": base64.b64encode(zlib.compress(raw, 9)).decode("ascii")}


def unpack(obj: dict[str, Any]) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(obj["zlib_b64"]))
    values = np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).astype(np.int64)
    if values.size != int(obj["n"]):
        raise ValueError(f"a reference record's predictions hold {values.size} items, not {obj['n']}")
    return values


def labels_digest(y_true: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(y_true, dtype=np.int64).tobytes()).hexdigest()[:16]


# -- running -------------------------------------------------------------------------------
def run_next(home: Path, seeds: int = 3, only: set[str] | None = None, threads: int | None = None,
             log: Callable[[str], None] = print) -> Path | None:
    """Train the first planned run without a record and write its record.
    Returns the record's path, or None when every planned run has one."""
    todo = missing(seeds, only)
    item = next((p for p in todo if _claim(home, p)), None)
    if item is None:
        if todo:
            log(f"the {len(todo)} run(s) without a record are being trained by other jobs on this home")
        return None
    try:
        return _train(home, item, len(todo), threads, log)
    finally:
        _claim_path(home, item).unlink(missing_ok=True)


def _claim_path(home: Path, item: Planned) -> Path:
    return home / "reference-claims" / f"{item.group}--{item.path.stem}.pid"


def _claim(home: Path, item: Planned) -> bool:
    """Take a planned run for this process, so that two jobs on one home
    (one per core) never train the same run; a claim whose process is gone is
    taken over."""
    import os

    path = _claim_path(home, item)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text() or 0)
                os.kill(pid, 0)
                return False  # alive: another job trains it
            except (ValueError, ProcessLookupError, FileNotFoundError):
                path.unlink(missing_ok=True)  # a stale claim
                continue
            except PermissionError:
                return False
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return not item.path.exists()  # written meanwhile by a job that has finished
    return False


def _train(home: Path, item: Planned, left: int, threads: int | None, log: Callable[[str], None]) -> Path:
    from experiments import runner

    if threads:
        import torch

        torch.set_num_threads(threads)
    label = f"{item.group}: {item.trial.point.label}, seed {item.trial.seed}"
    log(f"reference run {label} ({left} left): {item.trial.config.describe()}")
    started = time.time()
    run_id = runner.create_run(item.trial.config, home, run_name=f"reference {item.group} {item.trial.point.label}",
                               tags={REFERENCE_TAG: "building"})
    summary = runner.execute(run_id, home)
    record = record_of(home, summary.run_id, item)
    write_record(item.path, record, item.workload, home, summary.run_id)
    log(f"wrote {item.path.relative_to(ROOT.parent.parent)} in {time.time() - started:.0f} s: "
        f"test macro-F1 {record['test']['macro_f1']:.4f}, balanced accuracy {record['test']['balanced_accuracy']:.4f}")
    return item.path


def record_of(home: Path, run_id: str, item: Planned) -> dict[str, Any]:
    from experiments.mlflow_tracker import client
    from experiments.study_report import load_predictions

    c = client(home)
    run = c.get_run(run_id)
    m, t = run.data.metrics, run.data.tags
    history: dict[str, list[float]] = {}
    for key in ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1", "epoch_seconds"):
        points = sorted(c.get_metric_history(run_id, key), key=lambda p: p.step)
        if points:
            history[key] = [round(float(p.value), 6) for p in points]
    y_true, y_pred = load_predictions(home, run_id)
    cfg = item.trial.config
    return {
        "format": FORMAT,
        "group": item.group, "study": item.study.name, "config": item.trial.point.label,
        "levels": item.trial.point.levels, "seed": item.trial.seed, "workload": item.workload,
        "split": cfg.to_params().get("data.split", "intra-patient"),
        "describe": cfg.describe(), "params": cfg.to_params(),
        "history": history,
        "test": {k[len("test/"):]: round(float(v), 6) for k, v in m.items() if k.startswith("test/")},
        "best_epoch": int(m.get("best_epoch", 0)), "epochs_run": int(t.get(EPOCHS_RUN_TAG, "0")),
        "wall_seconds": float(t.get(WALL_SECONDS_TAG, "nan")),
        "num_parameters": int(t.get(NUM_PARAMETERS_TAG, "0")),
        "learned": t.get(LEARNED_TAG) == "true", "learned_reason": t.get(REASON_TAG, ""),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip() + f", {t.get(DEVICE_TAG, 'cpu')}",
        "test_labels": labels_digest(y_true),
        "test_pred": pack(y_pred),
    }


def labels_path(workload: str, split: str, digest: str, root: Path | None = None) -> Path:
    return (root or ROOT) / "labels" / f"{workload}-{split}-{digest}.json"


def write_record(path: Path, record: dict[str, Any], workload: str, home: Path, run_id: str) -> None:
    import pandas as pd

    from experiments.mlflow_tracker import client
    from experiments.study_report import PREDICTIONS

    frame = pd.read_csv(client(home).download_artifacts(run_id, PREDICTIONS), usecols=["y_true", "y_pred", "true", "pred"])
    labels = labels_path(workload, record["split"], record["test_labels"])
    names = dict(zip(frame["y_true"], frame["true"].astype(str))) | dict(zip(frame["y_pred"], frame["pred"].astype(str)))
    if labels.exists():
        old = json.loads(labels.read_text(encoding="utf-8"))
        names = {**{int(k): v for k, v in old.get("class_names", {}).items()}, **names}
    _write_json(labels, {"workload": workload, "split": record["split"], "digest": record["test_labels"],
                         "y_true": pack(frame["y_true"].to_numpy()),
                         "class_names": {str(int(k)): v for k, v in sorted(names.items())}})
    _write_json(path, record)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp")
    tmp.write_text(json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_records(root: Path | None = None) -> list[dict[str, Any]]:
    root = root or ROOT
    records = []
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name == "labels":
            continue
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable reference record ({exc}); restore it with git checkout") from None
        if not isinstance(rec, dict) or rec.get("format") != FORMAT:
            raise ValueError(f"{path} is not a reference record of format {FORMAT}")
        rec["_key"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        rec["_path"] = str(path)
        records.append(rec)
    return records


def test_labels(rec: dict[str, Any], root: Path | None = None) -> np.ndarray:
    path = labels_path(rec["workload"], rec["split"], rec["test_labels"], root)
    if not path.exists():
        raise ValueError(f"the test labels {path.name} of {rec['_path']} are missing; restore results/reference/labels")
    return unpack(json.loads(path.read_text(encoding="utf-8"))["y_true"])


# -- importing -------------------------------------------------------------------------------
def import_records(home: Path, root: Path | None = None, log: Callable[[str], None] = print) -> int:
    """Load every record not yet in the store as a FINISHED run marked as
    reference, a child of one study run per group. Returns how many it loaded."""
    from mlflow.entities import Metric, Param, RunTag

    from experiments.mlflow_tracker import MlflowTracker, client, experiment_id

    root = root or ROOT
    records = read_records(root)
    if not records:
        log(f"no reference records in {root}")
        return 0
    c = client(home)
    loaded = 0
    by_group: dict[str, list[dict]] = {}
    for rec in records:
        by_group.setdefault(rec["group"], []).append(rec)
    for group, recs in by_group.items():
        workload = recs[0]["workload"]
        exp = experiment_id(home, workload)
        have = {r.data.tags.get(RECORD_TAG) for r in
                c.search_runs([exp], filter_string=f"tags.{REFERENCE_TAG} = 'true'", max_results=50_000)}
        todo = [r for r in recs if r["_key"] not in have]
        if not todo:
            continue
        parent_id = _reference_parent(home, exp, group, recs[0])
        for rec in todo:
            cfg = RunConfig.from_params(rec["params"])
            now = int(time.time() * 1000)
            tags = {
                WORKLOAD_TAG: workload, MODEL_TAG: cfg.model.name,
                DESCRIBE_TAG: f"{rec['describe']} ({LABEL})", DIGEST_TAG: cfg.digest(),
                REFERENCE_TAG: "true", RECORD_TAG: rec["_key"],
                PARENT_TAG: parent_id, STUDY_TAG: rec["study"], POINT_TAG: rec["config"],
                POINT_INDEX_TAG: str(_point_index(rec)), SEED_TAG: str(rec["seed"]),
                CONFIG_KEY_TAG: S.config_key(cfg.replace(**{"train.seed": 0})),
                EPOCHS_RUN_TAG: str(rec["epochs_run"]), WALL_SECONDS_TAG: f"{rec['wall_seconds']:.1f}",
                NUM_PARAMETERS_TAG: str(rec["num_parameters"]),
                LEARNED_TAG: str(bool(rec["learned"])).lower(), REASON_TAG: rec["learned_reason"],
                REFERENCE_MACHINE_TAG: rec.get("machine", ""),
                **{f"{FACTOR_PREFIX}{k}": v for k, v in rec["levels"].items()},
            }
            run = c.create_run(exp, run_name=f"{rec['config']} seed {rec['seed']} ({LABEL})", start_time=now)
            rid = run.info.run_id
            metrics = [Metric(k, v, now, step + 1) for k, vs in rec["history"].items() for step, v in enumerate(vs)]
            metrics += [Metric(f"test/{k}", v, now, rec["epochs_run"]) for k, v in rec["test"].items()]
            metrics.append(Metric("best_epoch", rec["best_epoch"], now, rec["epochs_run"]))
            for start in range(0, len(metrics), 900):
                c.log_batch(rid, metrics=metrics[start:start + 900])
            c.log_batch(rid, params=[Param(k, v) for k, v in rec["params"].items()],
                        tags=[RunTag(k, str(v)) for k, v in tags.items()])
            _log_artifacts(MlflowTracker(home, rid), rec, test_labels(rec, root))
            c.set_terminated(rid, status="FINISHED", end_time=now)
            loaded += 1
        c.set_terminated(parent_id, status="FINISHED")
    log(f"loaded {loaded} reference run(s) into {home}" + ("" if loaded else " (all were already there)"))
    return loaded


def _point_index(rec: dict[str, Any]) -> int:
    study = S.builtin(rec["study"]) if rec["study"] in S.BUILTIN else None
    if study is None:
        return 0
    labels = [p.label for p in S.points(study)]
    return labels.index(rec["config"]) if rec["config"] in labels else 0


def _reference_parent(home: Path, exp: str, group: str, first: dict[str, Any]) -> str:
    """The group's study run (found by its key, or made)."""
    from experiments.mlflow_tracker import MlflowTracker, client

    c = client(home)
    key = f"reference-{group}"
    found = c.search_runs([exp], filter_string=f"tags.{KEY_TAG} = '{key}'", max_results=1)
    if found:
        return found[0].info.run_id
    study = S.builtin(first["study"]) if first["study"] in S.BUILTIN else None
    factors = S.factor_names(study) if study else sorted(first["levels"])
    tags = {KIND_TAG: "study", STUDY_TAG: first["study"], KEY_TAG: key, WORKLOAD_TAG: first["workload"],
            REFERENCE_TAG: "true", DESCRIBE_TAG: f"study {group} ({LABEL})",
            STUDY_DESCRIPTION_TAG: f"{study.description if study else group} Trained on the full data "
                                       f"({LABEL}).", FACTORS_TAG: json.dumps(factors),
            METRIC_TAG: study.metric if study else "macro_f1"}
    run = c.create_run(exp, run_name=f"study {group} ({LABEL})", tags=tags)
    c.log_batch(run.info.run_id, params=[])
    MlflowTracker(home, run.info.run_id).log_dict({"reference": group, "records": "results/reference/" + group},
                                                  "study/reference.json")
    return run.info.run_id


def _log_artifacts(tracker, rec: dict[str, Any], y_true: np.ndarray) -> None:
    """The artifacts the pages read: predictions, confusion matrix and report."""
    import csv
    import io

    from core import metrics as M

    y_pred = unpack(rec["test_pred"])
    if y_pred.size != y_true.size:
        raise ValueError(f"{rec['_path']}: {y_pred.size} predictions for {y_true.size} test labels")
    names = _class_names(rec, int(max(y_true.max(), y_pred.max())) + 1)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["index", "y_true", "y_pred", "true", "pred"])
    for i, (t, p) in enumerate(zip(y_true.tolist(), y_pred.tolist())):
        w.writerow([i, t, p, names[t], names[p]])
    tracker.log_text(buf.getvalue(), "predictions/test_predictions.csv")
    cm = M.confusion_matrix(y_true, y_pred, len(names))
    report = M.classification_report(y_true, y_pred, names)
    tracker.log_dict(report, "report/classification_report.json")
    tracker.log_dict(M.top_confusions(cm, names, 50), "report/top_confusions.json")
    if len(names) <= M.MANY_CLASSES:
        tracker.log_dict({"labels": names, "matrix": cm.tolist()}, "report/confusion_matrix.json")
        tracker.log_text(M.report_table(report, names), "report/classification_report.txt")
    else:
        tracker.log_dict(M.sparse_confusion(cm, names), "report/confusion_sparse.json")
        tracker.log_dict(M.extremes(report, names, 20), "report/extremes.json")
    tracker.log_dict(rec["params"], "config.json")


def _class_names(rec: dict[str, Any], num_classes: int) -> list[str]:
    from core.workloads import get

    fixed = get(rec["workload"]).class_names
    if fixed:
        return list(fixed)
    path = labels_path(rec["workload"], rec["split"], rec["test_labels"], Path(rec["_path"]).parent.parent)
    known = json.loads(path.read_text(encoding="utf-8")).get("class_names", {})
    return [known.get(str(i), f"category {i}") for i in range(num_classes)]
