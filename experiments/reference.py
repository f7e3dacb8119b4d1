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
    REASON_TAG, RECORD_TAG, IDENTITY_TAG, REFERENCE_MACHINE_TAG, REFERENCE_TAG, SEED_TAG, STUDY_DESCRIPTION_TAG, STUDY_TAG,
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
    if "data.window" in option_names():  # the same with the window from before the R peak (the P wave)
        from dataclasses import replace

        keep = {f"input=beat + rhythm · model={m} · imbalance=square-root sampler" for m in ("bi-GRU", "bi-LSTM")}
        out.append(("rhythm-p-wave", replace(S.builtin("rhythm"), name="rhythm-p-wave"), "heartbeat",
                    {"data.window": "p-wave", "_keep": keep}))
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
MAX_ITEMS = 2_000_000  # test items a record may hold (the largest test set here: 49,690 beats)
RECORD_BYTES = 1 << 20  # a record is a few KB
LABELS_BYTES = 8 << 20  # a labels file: the packed labels and up to a few thousand class names
DTYPES = {"uint8": 1, "uint16": 2}


def pack(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values)
    dtype = np.uint8 if values.max(initial=0) < 256 else np.uint16
    raw = values.astype(dtype).tobytes()
    return {"dtype": np.dtype(dtype).name, "n": int(values.size),
            "zlib_b64": base64.b64encode(zlib.compress(raw, 9)).decode("ascii")}


def unpack(obj: Any, where: str = "a reference record's predictions") -> np.ndarray:
    """The integers of pack(), checked: a known dtype, a count within
    MAX_ITEMS, expanded with that bound (a zlib bomb or a cut stream is a
    ValueError, never a memory error)."""
    from experiments.untrusted import inflate

    if not isinstance(obj, dict) or obj.get("dtype") not in DTYPES or type(obj.get("n")) is not int:
        raise ValueError(f"{where}: expected {{dtype: uint8 or uint16, n: a count, zlib_b64: text}}")
    n = obj["n"]
    if not 1 <= n <= MAX_ITEMS:
        raise ValueError(f"{where}: {n} items is outside 1..{MAX_ITEMS:,}")
    size = DTYPES[obj["dtype"]]
    try:
        raw = inflate(obj.get("zlib_b64"), n * size, where)
    except ValueError as exc:
        if "expands to more" in str(exc):
            raise ValueError(f"{where}: the data holds more than the {n} items it declares") from None
        raise
    values = np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).astype(np.int64)
    if values.size != n or len(raw) != n * size:
        raise ValueError(f"{where}: the data holds {len(raw) // size} items, not {n}")
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
    """Every record under `root`, each checked as data from elsewhere
    (check_record) before anything is written: a ValueError in one line
    names the first bad record and what is wrong with it."""
    root = Path(root or ROOT)
    records, errors = [], []
    labels: dict[Path, tuple[np.ndarray, dict[int, str]]] = {}
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name == "labels":
            continue
        try:
            records.append(check_record(path, root, labels))
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        more = f" (and {len(errors) - 1} other record(s) refused)" if len(errors) > 1 else ""
        raise ValueError(f"{errors[0]}{more}; nothing was imported")
    return records


HISTORY_KEYS = ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1", "epoch_seconds")
MAX_EPOCHS = 10_000
METRIC_KEY = r"[A-Za-z0-9_.-]{1,64}"


def identity(rec: dict[str, Any]) -> str:
    """What a record describes, not its file's name or bytes: the same run
    saved under another name or with other whitespace has the same identity."""
    what = [rec["workload"], rec["study"], rec["config"], rec["seed"], rec["split"], rec["test_labels"]]
    return hashlib.sha256(json.dumps(what).encode("utf-8")).hexdigest()[:24]


def check_record(path: Path, root: Path, labels: dict | None = None) -> dict[str, Any]:
    """One record, read as data from elsewhere: a regular file of at most
    RECORD_BYTES; each field of the right type, size and range; names of a
    safe alphabet; the predictions expanded with a bound, of the length of
    their label file and within its classes; the label file verified against
    its digest; the stored accuracy that of the predictions. Returns the
    record with its identity (`_key`), its labels and predictions."""
    from experiments import untrusted as U

    def bad(why: str) -> ValueError:
        return ValueError(f"reference record {path}: {why}")

    try:
        rec = U.read_json(path, RECORD_BYTES, "a reference record")
    except ValueError as exc:
        raise ValueError(f"reference record {exc}") from None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT:
        raise bad(f"not a reference record of format {FORMAT}")
    need = {"group": str, "study": str, "config": str, "workload": str, "split": str, "seed": int, "params": dict,
            "levels": dict, "history": dict, "test": dict, "best_epoch": int, "epochs_run": int,
            "num_parameters": int, "learned": bool, "describe": str, "test_labels": str, "test_pred": dict}
    for key, typ in need.items():
        if key not in rec:
            raise bad(f"the field {key!r} is missing")
        if not isinstance(rec[key], typ) or (typ is int and isinstance(rec[key], bool)):
            raise bad(f"the field {key!r} is {type(rec[key]).__name__}, not {typ.__name__}")
    try:
        from core.workloads import NAMES

        U.check_name(rec["group"], "the group")
        U.check_name(rec["workload"], "the workload")
        U.check_name(rec["split"], "the split")
        U.check_name(rec["study"], "the study")
        U.check_name(rec["config"], "the config", U.LABEL)
        if rec["workload"] not in NAMES:
            raise ValueError(f"the workload {rec['workload']!r} is not one of {', '.join(NAMES)}")
        if len(rec["levels"]) > 64:
            raise ValueError(f"{len(rec['levels'])} factor levels (at most 64)")
        for k, v in rec["levels"].items():
            U.check_name(k, "a factor's name", U.LABEL)
            U.check_name(v, f"the level of {k}", U.LABEL)
        if not re.fullmatch(r"[0-9a-f]{16}", rec["test_labels"]):
            raise ValueError(f"the test labels' digest {rec['test_labels'][:40]!r} is not 16 hex digits")
    except ValueError as exc:
        raise bad(str(exc)) from None
    if not 0 <= rec["seed"] < 2**31:
        raise bad(f"the seed {rec['seed']} is outside 0..2^31-1")
    for key in ("best_epoch", "epochs_run"):
        if not 0 <= rec[key] <= MAX_EPOCHS:
            raise bad(f"{key} {rec[key]} is outside 0..{MAX_EPOCHS}")
    if not 0 <= rec["num_parameters"] < 10**12:
        raise bad(f"num_parameters {rec['num_parameters']} is outside 0..10^12")
    for key, limit in (("describe", 500), ("learned_reason", 2000), ("machine", 200)):
        value = rec.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise bad(f"{key} must be text of at most {limit} characters")
    wall = rec.get("wall_seconds", 0.0)
    if type(wall) not in (int, float) or not (np.isfinite(wall) and 0 <= wall < 1e9):
        raise bad(f"wall_seconds {str(wall)[:40]} is not a duration in seconds")
    for key, values in rec["history"].items():
        if key not in HISTORY_KEYS:
            raise bad(f"the curve {str(key)[:40]!r} is not one of {', '.join(HISTORY_KEYS)}")
        if not isinstance(values, list) or len(values) > MAX_EPOCHS or not all(_finite(v) for v in values):
            raise bad(f"the curve {key!r} must be a list of at most {MAX_EPOCHS} finite numbers")
    if len(rec["test"]) > 10_000:
        raise bad(f"{len(rec['test'])} test metrics (at most 10,000)")
    for key, value in rec["test"].items():
        if not re.fullmatch(METRIC_KEY, key) or not _finite(value):
            raise bad(f"the test metric {str(key)[:40]!r} must be a name of letters, digits and ._- with a finite value")
    if len(rec["params"]) > 1000 or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 1000
                                            for k, v in rec["params"].items()):
        raise bad("params must map option names to text")
    try:
        cfg = RunConfig.from_params(rec["params"])
    except ValueError as exc:
        raise bad(f"its config is refused ({str(exc)[:300]})") from None
    if cfg.data.workload != rec["workload"]:
        raise bad(f"its config trains {cfg.data.workload}, not its workload {rec['workload']}")
    y_pred = unpack(rec["test_pred"], f"reference record {path}: the predictions")
    y_true, names = verified_labels(rec["workload"], rec["split"], rec["test_labels"], root, labels)
    if y_pred.size != y_true.size:
        raise bad(f"{y_pred.size} predictions for the {y_true.size} test labels of {labels_path(rec['workload'], rec['split'], rec['test_labels'], root).name}")
    top = int(y_pred.max())
    if top >= len(names) or int(y_pred.min()) < 0:
        raise bad(f"a predicted class ({top}) is out of range: the test set has {len(names)} classes (0..{len(names) - 1})")
    accuracy = rec["test"].get("accuracy")
    if accuracy is not None and abs(float((y_true == y_pred).mean()) - float(accuracy)) > 1e-4:
        raise bad(f"its stored test accuracy {accuracy:.4f} is not that of its predictions on its test labels "
                  f"({float((y_true == y_pred).mean()):.4f}); the record or its label file was changed")
    out = dict(rec)
    out["_path"] = str(path)
    out["_key"] = identity(rec)
    out["_bytes_key"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]  # the key of earlier imports
    out["_y_true"], out["_y_pred"], out["_names"] = y_true, y_pred, names
    return out


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and bool(np.isfinite(value))


def verified_labels(workload: str, split: str, digest: str, root: Path | None = None,
                    cache: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """A test set's labels and class names from its label file, verified:
    a regular file of at most LABELS_BYTES whose labels hash to the digest
    its name carries, every label a known class."""
    from core.workloads import get
    from experiments import untrusted as U

    path = labels_path(workload, split, digest, root)
    if cache is not None and path in cache:
        return cache[path]
    if not (path.exists() or path.is_symlink()):
        raise ValueError(f"the test labels {path} are missing; restore results/reference/labels")
    obj = U.read_json(path, LABELS_BYTES, "a label file")
    if not isinstance(obj, dict) or not isinstance(obj.get("class_names"), dict):
        raise ValueError(f"{path}: not a label file (no class_names)")
    if (obj.get("workload"), obj.get("split"), obj.get("digest")) != (workload, split, digest):
        raise ValueError(f"{path}: it describes {obj.get('workload')!r}/{obj.get('split')!r}/{obj.get('digest')!r}, "
                         "not what its name says")
    y_true = unpack(obj.get("y_true"), f"{path}: the labels")
    if labels_digest(y_true) != digest:
        raise ValueError(f"{path}: its labels do not match the digest {digest} in its name (they hash to "
                         f"{labels_digest(y_true)}); the file was changed, restore it")
    fixed = get(workload).class_names
    if fixed:
        names = list(fixed)
    else:
        known: dict[int, str] = {}
        for k, v in obj["class_names"].items():
            if not (isinstance(k, str) and k.isdigit() and int(k) < 100_000 and isinstance(v, str) and len(v) <= 200):
                raise ValueError(f"{path}: class_names must map class numbers (0..99,999) to names of at most 200 "
                                 "characters")
            known[int(k)] = v
        names = [known.get(i, f"category {i}") for i in range(max(known, default=-1) + 1)]
    if int(y_true.max()) >= len(names):
        raise ValueError(f"{path}: a label ({int(y_true.max())}) is out of range: {len(names)} classes")
    if cache is not None:
        cache[path] = (y_true, names)
    return y_true, names


def test_labels(rec: dict[str, Any], root: Path | None = None) -> np.ndarray:
    if "_y_true" in rec:
        return rec["_y_true"]
    return verified_labels(rec["workload"], rec["split"], rec["test_labels"], root)[0]


# -- importing -------------------------------------------------------------------------------
IMPORT_LOCK = ".reference-import.lock"


def import_records(home: Path, root: Path | None = None, log: Callable[[str], None] = print) -> int:
    """Load every record not yet in the store as a FINISHED run marked as
    reference, a child of one study run per group. Returns how many it loaded.

    Every record is checked before anything is written (read_records). A
    record is in the store once, by what it describes (identity), whatever
    its file is called; imports on one data folder take turns (a file lock).
    A record whose import fails half-way is marked FAILED with the error, so
    no run is left RUNNING, and is imported again by the next import."""
    import fcntl

    root = Path(root or ROOT)
    records = read_records(root)
    if not records:
        log(f"no reference records in {root}")
        return 0
    unique: dict[str, dict] = {}
    for rec in records:
        first = unique.setdefault(rec["_key"], rec)
        if first is not rec:
            log(f"skipped {rec['_path']}: the same run as {first['_path']}")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / IMPORT_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second import waits, then finds everything loaded
        loaded = _import_locked(home, list(unique.values()), log)
    log(f"loaded {loaded} reference run(s) into {home}" + ("" if loaded else " (all were already there)"))
    return loaded


def _import_locked(home: Path, records: list[dict[str, Any]], log: Callable[[str], None]) -> int:
    from experiments.launcher import is_alive, process_identity
    from experiments.mlflow_tracker import client, experiment_id
    from experiments.tags import ERROR_TAG, PROC_TAG

    c = client(home)
    me = process_identity()
    loaded = 0
    by_group: dict[str, list[dict]] = {}
    for rec in records:
        by_group.setdefault(rec["group"], []).append(rec)
    for group, recs in by_group.items():
        workload = recs[0]["workload"]
        exp = experiment_id(home, workload)
        have, legacy = set(), set()
        for r in c.search_runs([exp], filter_string=f"tags.`{REFERENCE_TAG}` = 'true'", max_results=50_000):
            t = r.data.tags
            if t.get(KIND_TAG) == "study":
                continue
            if r.info.status != "FINISHED":
                alive = is_alive(t.get(PROC_TAG, ""))
                stale = alive is False or (alive is None and time.time() - r.info.start_time / 1000 > 3600)
                if r.info.status in ("RUNNING", "SCHEDULED") and stale:
                    c.set_tag(r.info.run_id, ERROR_TAG, "its import was interrupted; imported again")
                    c.set_terminated(r.info.run_id, status="FAILED")
                continue
            if t.get(IDENTITY_TAG):
                have.add(t[IDENTITY_TAG])
            else:  # imported before identities: known by what its tags say
                legacy.add(t.get(RECORD_TAG))
                legacy.add((t.get(STUDY_TAG), t.get(POINT_TAG), t.get(SEED_TAG),
                            r.data.params.get("data.split", "intra-patient")))
        todo = [r for r in recs if r["_key"] not in have and r["_bytes_key"] not in legacy
                and (r["study"], r["config"], str(r["seed"]), r["split"]) not in legacy]
        if not todo:
            continue
        parent_id = _reference_parent(home, exp, group, recs[0])
        try:
            for rec in todo:
                _import_one(home, exp, parent_id, rec, me)
                loaded += 1
        finally:
            try:
                c.set_terminated(parent_id, status="FINISHED")
            except Exception:  # the store went away: the next import finishes it
                pass
    return loaded


def _import_one(home: Path, exp: str, parent_id: str, rec: dict[str, Any], me: str) -> None:
    """One record as one FINISHED run, or a FAILED one with the error (and a
    ValueError in one line that names the record)."""
    from mlflow.entities import Metric, Param, RunTag

    from experiments.mlflow_tracker import MlflowTracker, client
    from experiments.tags import ERROR_TAG, PROC_TAG

    c = client(home)
    cfg = RunConfig.from_params(rec["params"])
    now = int(time.time() * 1000)
    tags = {
        WORKLOAD_TAG: rec["workload"], MODEL_TAG: cfg.model.name,
        DESCRIBE_TAG: f"{rec['describe']} ({LABEL})", DIGEST_TAG: cfg.digest(),
        REFERENCE_TAG: "true", RECORD_TAG: rec["_bytes_key"], IDENTITY_TAG: rec["_key"], PROC_TAG: me,
        PARENT_TAG: parent_id, STUDY_TAG: rec["study"], POINT_TAG: rec["config"],
        POINT_INDEX_TAG: str(_point_index(rec)), SEED_TAG: str(rec["seed"]),
        CONFIG_KEY_TAG: S.config_key(cfg.replace(**{"train.seed": 0})),
        EPOCHS_RUN_TAG: str(rec["epochs_run"]), WALL_SECONDS_TAG: f"{float(rec.get('wall_seconds', 0.0)):.1f}",
        NUM_PARAMETERS_TAG: str(rec["num_parameters"]),
        LEARNED_TAG: str(bool(rec["learned"])).lower(), REASON_TAG: rec.get("learned_reason", ""),
        REFERENCE_MACHINE_TAG: rec.get("machine", ""),
        **{f"{FACTOR_PREFIX}{k}": v for k, v in rec["levels"].items()},
    }
    # the identity goes in with the run: an import cut short leaves a run the next one recognises
    run = c.create_run(exp, run_name=f"{rec['config']} seed {rec['seed']} ({LABEL})", start_time=now,
                       tags={IDENTITY_TAG: rec["_key"], REFERENCE_TAG: "true", PROC_TAG: me, PARENT_TAG: parent_id})
    rid = run.info.run_id
    try:
        metrics = [Metric(k, float(v), now, step + 1) for k, vs in rec["history"].items() for step, v in enumerate(vs)]
        metrics += [Metric(f"test/{k}", float(v), now, rec["epochs_run"]) for k, v in rec["test"].items()]
        metrics.append(Metric("best_epoch", rec["best_epoch"], now, rec["epochs_run"]))
        for start in range(0, len(metrics), 900):
            c.log_batch(rid, metrics=metrics[start:start + 900])
        c.log_batch(rid, params=[Param(k, v) for k, v in rec["params"].items()],
                    tags=[RunTag(k, str(v)) for k, v in tags.items()])
        _log_artifacts(MlflowTracker(home, rid), rec, test_labels(rec))
        c.set_terminated(rid, status="FINISHED", end_time=now)
    except BaseException as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        try:
            c.set_tag(rid, ERROR_TAG, f"import of {rec['_path']} failed: {why}")
            c.set_terminated(rid, status="FAILED")
        except Exception:  # the store itself went away: the next import marks it
            pass
        if not isinstance(exc, Exception):
            raise
        raise ValueError(f"importing {rec['_path']} failed ({why}); the run {rid[:8]} is marked FAILED and the "
                         "next import loads the record again") from None


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

    y_pred = rec["_y_pred"] if "_y_pred" in rec else unpack(rec["test_pred"])
    if y_pred.size != y_true.size:
        raise ValueError(f"{rec['_path']}: {y_pred.size} predictions for {y_true.size} test labels")
    names = rec["_names"] if "_names" in rec else _class_names(rec, int(max(y_true.max(), y_pred.max())) + 1)
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
