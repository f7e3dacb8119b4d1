"""Sweeps that survive interruption: the queue lives in the MLflow store.

A study is recorded as a parent run (tags `arena.kind=study`,
`arena.study_key`; params `study.*`; its definition as the artifact
`study/definition.json`) and one child run per config and seed, created up
front with status SCHEDULED, tag `mlflow.parentRunId` and the config digest
`arena.config_digest`. Running a study again finds the parent by its key (the
study's name and the digests of all its configs) and only works the queue:

- FINISHED children are skipped; a config is never trained twice.
- SCHEDULED children (and RUNNING ones that never started a process) run.
- Interrupted children run again, from their last epoch checkpoint: KILLED
  (Ctrl-C, SIGTERM), FAILED because their process died (`kill -9`, a crash:
  see launcher.reap_dead_runs), or RUNNING with a process that no longer lives
  (process identity: host, pid and start time).
- Children RUNNING in a live process (a worker that outlived its
  coordinator) are waited for, not started again.
- FAILED children (an error in training) stay failed unless retry_failed.

One coordinator works a study at a time: it holds a lock file in the data
folder (`locks/study-KEY.lock`) and alone hands configs to executors, so two
workers never get the same config. Executors: `inline` (this process, one
run at a time), `local` (N worker processes), `ray` (one Ray task per run,
on a local instance or a cluster; every task logs to the same tracking URI).
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from experiments import studies as S
from experiments.launcher import is_alive, process_identity
from experiments.mlflow_tracker import client, experiment_id
from experiments.settings import ENV_TRACKING_URI, PROJECT_ROOT, local_tracking_uri, tracking_uri
from experiments.tags import (
    ATTEMPTS_TAG, CONFIG_KEY_TAG, COUNTS_TAG, DESCRIBE_TAG, ERROR_TAG, ERROR_TAGS, ERROR_TYPE_TAG,
    EXECUTOR_TAG, FACTORS_TAG, FACTOR_PREFIX, KEY_TAG, KIND_TAG, METRIC_TAG, PARENT_TAG, POINT_INDEX_TAG,
    POINT_TAG, PROC_TAG, REFERENCE_TAG, SEED_TAG, STATUS_TAG, STUDY_DESCRIPTION_TAG, STUDY_TAG, TOTAL_RUNS_TAG, WORKLOAD_TAG
)

DEFINITION = "study/definition.json"
EXECUTORS = ("local", "ray")

# what a child's store state means for the queue
DONE, RUNNING, QUEUED, INTERRUPTED, FAILED = "done", "running", "queued", "interrupted", "failed"


# -- the queue in the store ------------------------------------------------------------
@dataclass
class Opened:
    parent_id: str
    key: str
    created: bool  # False: an earlier invocation made it (this one resumes)
    total: int


def definition(study: S.Study, workload: str, seeds: int, overrides: dict[str, Any]) -> dict:
    """Everything needed to rebuild the study's runs (stored with the parent)."""
    return {
        "name": study.name, "description": study.description, "workload": workload, "base": study.base,
        "factors": {f.name: ({f.distribution[0]: list(f.distribution[1:])} if f.distribution else
                             {lv.label: lv.overrides for lv in f.levels}) for f in study.factors},
        "search": study.search, "trials": study.trials, "seed": study.seed, "seeds": seeds,
        "metric": study.metric, "overrides": overrides, "recipe": study.recipe, "notes": study.notes,
        **({"question": study.question} if study.question else {}),
    }


def from_definition(spec: dict) -> tuple[S.Study, str, int, dict[str, Any]]:
    """Inverse of definition(): option factors come back as named levels with
    the same labels, so the runs and the study key are the same."""
    body = {k: v for k, v in spec.items() if k != "overrides"}
    return S.study_from_dict(body, "recorded study"), spec["workload"], int(spec["seeds"]), dict(spec.get("overrides") or {})


def open_study(home: Path, study: S.Study, workload: str, seeds: int | None = None,
               overrides: dict[str, Any] | None = None) -> Opened:
    """Find the study's parent run by its key, or record it and queue all its
    runs. Children missing from an earlier, interrupted set-up are added."""
    overrides = dict(overrides or {})
    seeds = study.seeds if seeds is None else seeds
    trial_list = S.trials(study, workload, overrides, seeds)
    workload = study.workload or workload
    key = S.study_key(study, trial_list)
    c = client(home)
    exp = experiment_id(home, workload)
    parent_id = _find_parent(home, exp, key, study.name, {t.key for t in trial_list})
    created = parent_id is None
    if parent_id is None:
        parent_id = _create_parent(home, exp, study, workload, seeds, overrides, key, len(trial_list))
    have = {child_key(r) for r in children(home, parent_id)}
    from experiments import runner

    for t in trial_list:
        if t.key in have:
            continue
        tags = {PARENT_TAG: parent_id, STUDY_TAG: study.name, CONFIG_KEY_TAG: t.key, POINT_TAG: t.point.label,
                POINT_INDEX_TAG: str(t.point.index), SEED_TAG: str(t.seed), ATTEMPTS_TAG: "0",
                **{FACTOR_PREFIX + k: v for k, v in t.point.levels.items()}}
        run_id = runner.create_run(t.config, home, f"{study.name} · {t.point.label} · seed {t.seed}", tags=tags)
        c.update_run(run_id, status="SCHEDULED")
    return Opened(parent_id, key, created, len(trial_list))


def child_key(run) -> str:
    """A child's config key: its tag, or computed from its params (runs
    recorded before the tag existed)."""
    from core.config import RunConfig

    return run.data.tags.get(CONFIG_KEY_TAG) or S.config_key(RunConfig.from_params(run.data.params))


def _find_parent(home: Path, exp: str, key: str, name: str, keys: set[str]) -> str | None:
    """The study's parent: by its key tag, else a study of the same name whose
    children are exactly these configs (its key tag is then brought up to date)."""
    found = _runs(home, [exp], f"tags.`{KEY_TAG}` = '{key}'")
    parents = sorted((r for r in found if r.data.tags.get(KIND_TAG) == "study"), key=lambda r: r.info.start_time)
    if parents:
        return parents[0].info.run_id
    same_name = _runs(home, [exp], f"tags.`{KIND_TAG}` = 'study' and tags.`{STUDY_TAG}` = '{name}'")
    for parent in sorted(same_name, key=lambda r: r.info.start_time):
        if {child_key(r) for r in children(home, parent.info.run_id)} == keys:
            client(home).set_tag(parent.info.run_id, KEY_TAG, key)
            return parent.info.run_id
    return None


def find_study(home: Path, study: S.Study, workload: str, seeds: int | None = None,
               overrides: dict[str, Any] | None = None) -> str | None:
    """The parent run of this exact study (same name and runs), if recorded."""
    seeds = study.seeds if seeds is None else seeds
    key = S.study_key(study, S.trials(study, workload, dict(overrides or {}), seeds))
    workload = study.workload or workload
    exp = client(home).get_experiment_by_name(workload)
    keys = {t.key for t in S.trials(study, workload, dict(overrides or {}), seeds)}
    return _find_parent(home, exp.experiment_id, key, study.name, keys) if exp is not None else None


def _create_parent(home: Path, exp: str, study: S.Study, workload: str, seeds: int, overrides: dict, key: str,
                   total: int) -> str:
    from mlflow.entities import Param

    from experiments.mlflow_tracker import MlflowTracker

    c = client(home)
    n_points = total // max(seeds, 1)
    tags = {KIND_TAG: "study", STUDY_TAG: study.name, KEY_TAG: key, WORKLOAD_TAG: workload,
            DESCRIBE_TAG: f"study {study.name}: {n_points} configs x {seeds} seed{'s' if seeds != 1 else ''}",
            STUDY_DESCRIPTION_TAG: study.description[:4000], TOTAL_RUNS_TAG: str(total),
            FACTORS_TAG: json.dumps(S.factor_names(study)), METRIC_TAG: study.metric}
    run = c.create_run(exp, run_name=f"study {study.name}", tags=tags)
    params = {"study.name": study.name, "study.workload": workload, "study.search": study.search,
              "study.seeds": str(seeds), "study.metric": study.metric, "study.configs": str(n_points)}
    if study.search == "random":
        params.update({"study.trials": str(study.trials), "study.random_seed": str(study.seed)})
    params["study.recipe"] = study.recipe
    for k, v in {**S.recipe_overrides(study, workload), **study.base, **overrides}.items():
        params[f"study.base.{k}"] = S._label(v)
    for f in study.factors:
        text = json.dumps(list(f.distribution) if f.distribution else [lv.label for lv in f.levels])
        params[f"study.factor.{f.name}"] = text[:6000]
    c.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
    MlflowTracker(home, run.info.run_id).log_dict(definition(study, workload, seeds, overrides), DEFINITION)
    c.update_run(run.info.run_id, status="SCHEDULED")
    return run.info.run_id


def _runs(home: Path, experiment_ids: list[str], filter_string: str = "") -> list:
    """Every run matching the filter, page by page."""
    c = client(home)
    out, token = [], None
    while True:
        page = c.search_runs(experiment_ids, filter_string=filter_string, max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _experiments(home: Path) -> list[str]:
    return [e.experiment_id for e in client(home).search_experiments()]


def children(home: Path, parent_id: str) -> list:
    parent = client(home).get_run(parent_id)
    return _runs(home, [parent.info.experiment_id], f"tags.`{PARENT_TAG}` = '{parent_id}'")


def parent_definition(home: Path, parent_id: str) -> tuple[S.Study, str, int, dict[str, Any]]:
    """The study recorded with a parent run (to resume it by id)."""
    c = client(home)
    try:
        run = c.get_run(parent_id)
    except Exception:
        raise ValueError(f"no study run {parent_id!r} in {home}; list studies with: python -m experiments study --list") from None
    if run.data.tags.get(KIND_TAG) != "study":
        raise ValueError(f"run {parent_id} is not a study")
    try:
        path = c.download_artifacts(parent_id, DEFINITION)
    except Exception as exc:  # MLflow's error for a missing artifact, or a store that cannot serve it
        raise ValueError(f"study run {parent_id} has no recorded definition ({DEFINITION}): it was not started by "
                         f"the study command (an imported reference study, say), so it cannot be resumed "
                         f"({type(exc).__name__})") from None
    with open(path, encoding="utf-8") as fh:
        return from_definition(json.load(fh))


def state_of(run, in_flight: set[str] = frozenset(), coordinator_alive: bool | None = None) -> str:
    """What a child's recorded status means for the queue."""
    status, tags = run.info.status, run.data.tags
    if status == "FINISHED":
        return DONE
    if status == "SCHEDULED":
        return QUEUED
    if status == "KILLED":
        return INTERRUPTED
    if status == "FAILED":
        return INTERRUPTED if tags.get(ERROR_TYPE_TAG) == "ProcessDied" else FAILED
    # RUNNING
    if run.info.run_id in in_flight:
        return RUNNING
    identity = tags.get(PROC_TAG)
    if not identity:
        return QUEUED  # recorded, never picked up
    alive = is_alive(identity)
    if alive:
        return RUNNING
    if alive is None:  # a process on another machine: a Ray task dies with the coordinator that owns it
        return INTERRUPTED if tags.get(EXECUTOR_TAG) == "ray" and coordinator_alive is False else RUNNING
    return INTERRUPTED


def progress(home: Path, parent_id: str) -> dict:
    """Counts of a study's runs by queue state, and the study's own status."""
    c = client(home)
    parent = c.get_run(parent_id)
    coordinator = parent.data.tags.get(PROC_TAG, "")
    alive = is_alive(coordinator) if coordinator else False
    counts = {DONE: 0, RUNNING: 0, QUEUED: 0, INTERRUPTED: 0, FAILED: 0}
    for run in children(home, parent_id):
        counts[state_of(run, coordinator_alive=alive)] += 1
    counts["total"] = sum(counts.values())
    active = parent.info.status == "RUNNING" and alive is not False
    return {**counts, "parent_status": parent.info.status, "active": bool(active)}


def list_studies(home: Path) -> list[dict]:
    """Recorded studies, newest first, with their progress."""
    if tracking_uri(home) == local_tracking_uri(home) and not (home / "mlflow.db").exists():
        return []
    exps = _experiments(home)
    if not exps:
        return []
    out = []
    for run in sorted(_runs(home, exps, f"tags.`{KIND_TAG}` = 'study'"), key=lambda r: -r.info.start_time):
        t = run.data.tags
        out.append({"parent_id": run.info.run_id, "name": t.get(STUDY_TAG, "?"), "workload": t.get(WORKLOAD_TAG, "?"),
                    "describe": t.get(DESCRIBE_TAG, ""), "start_time": run.info.start_time,
                    "metric": t.get(METRIC_TAG, "macro_f1"), "factors": json.loads(t.get(FACTORS_TAG, "[]")),
                    "sample": run.data.params.get("study.base.data.sample", "1.0"),
                    "reference": t.get(REFERENCE_TAG) == "true",  # full-data reference runs (results/reference)
                    **progress(home, run.info.run_id)})
    return out


# -- one coordinator per study ---------------------------------------------------------
@contextmanager
def study_lock(home: Path, key: str) -> Iterator[None]:
    """Exclusive right to work a study's queue, held while the process lives."""
    import fcntl

    folder = home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"study-{key}.lock"
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise ValueError(f"this study is already being run by {holder}; wait for it to end or stop it "
                         f"(Ctrl-C, or kill that process), then run the command again to resume") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"process {os.getpid()}")
    fh.flush()
    try:
        yield
    finally:
        fh.close()


# -- one trial, wherever it runs -----------------------------------------------------------
def run_trial(home_dir: str, run_id: str, reraise_interrupt: bool = False) -> dict:
    """Train one queued child run and return a short summary. Runs in the
    coordinator (where a Ctrl-C must reach the coordinator: reraise_interrupt),
    in a local worker process or in a Ray task."""
    from experiments import runner

    home = Path(home_dir)
    c = client(home)
    if c.get_run(run_id).info.status == "FINISHED":  # a last guard: never train a finished config again
        return {"run_id": run_id, "status": "skipped"}
    started = time.perf_counter()
    try:
        summary = runner.execute(run_id, home)
    except KeyboardInterrupt:
        if reraise_interrupt:
            raise
        return {"run_id": run_id, "status": "KILLED", "seconds": time.perf_counter() - started}
    except Exception as exc:  # recorded as FAILED by execute
        return {"run_id": run_id, "status": "FAILED", "error": str(exc) or type(exc).__name__,
                "seconds": time.perf_counter() - started}
    return {"run_id": run_id, "status": "FINISHED", "seconds": summary.seconds,
            **{f"test/{k}": float(v) for k, v in summary.test.items()}}


def _init_worker(threads: int) -> None:
    """A local worker process: few threads each, and Ctrl-C / SIGTERM end the
    current run as KILLED (resumable)."""
    import torch

    from experiments import runner

    torch.set_num_threads(threads)
    runner.interrupt_on_signals()


class InlineExecutor:
    """One run at a time in this process."""

    name = "local"

    def __init__(self, home: Path):
        self.home = home
        self.capacity = 1

    def submit(self, run_id: str) -> str:
        return run_id

    def wait(self, handles: dict[str, Any], timeout: float | None) -> list[dict]:
        run_id = next(iter(handles))
        return [run_trial(str(self.home), run_id, reraise_interrupt=True)]

    def stop(self, handles: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class LocalExecutor:
    """N worker processes on this machine (spawned, so torch starts clean)."""

    name = "local"

    def __init__(self, home: Path, workers: int, threads: int):
        self.home, self.capacity, self.threads = home, workers, threads
        self._pool = None

    def _ensure(self):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.capacity, mp_context=mp.get_context("spawn"),
                                             initializer=_init_worker, initargs=(self.threads,))
        return self._pool

    def submit(self, run_id: str):
        return self._ensure().submit(run_trial, str(self.home), run_id)

    def wait(self, handles: dict[str, Any], timeout: float | None) -> list[dict]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures
        from concurrent.futures.process import BrokenProcessPool

        by_future = {f: r for r, f in handles.items()}
        done, _ = wait_futures(list(by_future), timeout=timeout, return_when=FIRST_COMPLETED)
        out, broken = [], False
        for fut in done:
            try:
                out.append(fut.result())
            except BrokenProcessPool:  # a worker died (killed, out of memory): its run is re-queued
                broken = True
                out.append({"run_id": by_future[fut], "status": "LOST"})
            except BaseException as exc:  # KeyboardInterrupt in a worker, before its run started
                out.append({"run_id": by_future[fut], "status": "KILLED", "error": type(exc).__name__})
        if broken:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        return out

    def stop(self, handles: dict[str, Any]) -> None:
        """End the workers' runs as KILLED (SIGTERM) and wait for them to record it."""
        import signal

        if self._pool is None:
            return
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ray_trial(home_dir: str, run_id: str, node_home: bool = False) -> dict:
    """A Ray task: one run. On a cluster (node_home) the node's own
    RNN_ARENA_HOME, where its data is prepared, is used when it has one."""
    import ray
    import torch

    from experiments.settings import ENV_HOME, ENV_NODE

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if node_home and os.environ.get(ENV_HOME):
        home_dir = os.environ[ENV_HOME]
    ctx = ray.get_runtime_context()
    os.environ[ENV_NODE] = f"{ray.util.get_node_ip_address()} (Ray node {ctx.get_node_id()[:12]})"
    return run_trial(home_dir, run_id)


class RayExecutor:
    """One Ray task per run. Without an address a local Ray instance is
    started (and stopped at the end); an instance this process already started
    (ray.init) is used as it is. On a cluster the project is shipped as the
    tasks' working_dir and every task logs to the same tracking URI."""

    name = "ray"

    def __init__(self, home: Path, workers: int | None, address: str | None, log: Callable[[str], None]):
        try:
            import ray
        except ImportError:
            raise ValueError("the ray executor needs Ray: .venv/bin/pip install -r requirements.txt") from None
        self.ray, self.home = ray, home
        self.owned = not ray.is_initialized()
        remote = address not in (None, "", "local")
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", ENV_TRACKING_URI: tracking_uri(home)}
        if remote:
            if tracking_uri(home).startswith("sqlite:"):
                log(f"warning: runs are tracked in a SQLite file ({tracking_uri(home)}) that Ray workers on other "
                    f"machines cannot reach; set {ENV_TRACKING_URI} to an MLflow server every node can reach")
            runtime_env = {"working_dir": str(PROJECT_ROOT), "env_vars": env,
                           "excludes": [".venv/", ".rnn-arena/", ".git/", "data/raw/", "data/cache/", "results/",
                                        "**/__pycache__/"]}
        else:
            runtime_env = {"env_vars": {**env, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *sys.path[1:]])}}
        if self.owned:
            if remote:
                check_ray_address(address)
            try:
                if remote:
                    # the project travels as the job's working_dir (Ray takes it only at ray.init)
                    ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
                else:
                    ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
            except Exception as exc:
                raise ValueError(f"cannot start or reach Ray{' at ' + address if address else ''}: {exc}") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.capacity = max(1, min(workers, cpus) if workers else cpus)
        task_env = {"env_vars": runtime_env["env_vars"]} if remote else runtime_env
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial).options(runtime_env=task_env)
        self._node_home = remote

    def submit(self, run_id: str):
        return self._remote.remote(str(self.home), run_id, self._node_home)

    def wait(self, handles: dict[str, Any], timeout: float | None) -> list[dict]:
        by_ref = {ref: r for r, ref in handles.items()}
        ready, _ = self.ray.wait(list(by_ref), num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            try:
                out.append(self.ray.get(ref))
            except self.ray.exceptions.TaskCancelledError:
                out.append({"run_id": by_ref[ref], "status": "KILLED"})
            except self.ray.exceptions.RayError as exc:  # the task's worker died, or the task failed
                out.append({"run_id": by_ref[ref], "status": "LOST", "error": str(exc).splitlines()[0][:300]})
        return out

    def stop(self, handles: dict[str, Any]) -> None:
        for ref in handles.values():
            self.ray.cancel(ref)  # KeyboardInterrupt in the task: the run is marked KILLED
        if handles:
            try:
                self.ray.wait(list(handles.values()), num_returns=len(handles), timeout=30)
            except Exception:
                pass

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()


RAY_CONNECT_SECONDS = 5.0  # a head that does not take a connection in this time is taken as down


def check_ray_address(address: str) -> None:
    """Refuse, within seconds and in one line, a Ray address nothing listens
    on (ray.init would wait for minutes). "auto" and names without a port
    are left to Ray."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_SECONDS):
            return
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__).lower()
        raise ValueError(f"cannot reach the Ray cluster at {address} ({why}); start its head there "
                         f"(ray start --head --port {port}), or leave out --address to use a local Ray") from None


def make_executor(home: Path, executor: str, workers: int | None, address: str | None,
                  log: Callable[[str], None], threads: int | None = None):
    """`threads`: torch threads per local worker (default: OMP_NUM_THREADS if
    set, else the cores shared out among the workers)."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers} must be at least 1")
    if executor == "ray":
        return RayExecutor(home, workers, address, log)
    if address:
        raise ValueError("--address is for --executor ray")
    workers = workers or default_workers()
    if threads is not None and threads < 1:
        raise ValueError(f"--threads {threads} must be at least 1")
    env_threads = os.environ.get("OMP_NUM_THREADS", "")
    threads = threads or (int(env_threads) if env_threads.isdigit() and int(env_threads) > 0 else
                          max(1, (os.cpu_count() or 1) // workers))
    if workers == 1:
        import torch

        torch.set_num_threads(threads)
        return InlineExecutor(home)
    return LocalExecutor(home, workers, threads=threads)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


# -- the coordinator --------------------------------------------------------------------------------
@dataclass
class SweepResult:
    counts: dict[str, int]
    interrupted: bool = False
    outcomes: list[dict] = field(default_factory=list)


def work(home: Path, parent_id: str, executor=None, log: Callable[[str], None] = print,
         retry_failed: bool = False, max_attempts: int = 3, poll: float = 2.0) -> SweepResult:
    """Work a study's queue until every run is done or failed. The caller
    holds study_lock. A Ctrl-C / SIGTERM stops the running trials (KILLED,
    resumable) and re-raises KeyboardInterrupt."""
    c = client(home)
    executor = executor or InlineExecutor(home)
    previous_alive = _take_over(c, parent_id, executor)
    queue = _Queue(retry_failed, max_attempts)
    queue.count(home, parent_id, previous_alive, executor, log)
    try:
        _drain(c, home, parent_id, executor, queue, previous_alive, poll, log)
    except KeyboardInterrupt:
        executor.stop(queue.in_flight)
        for rid in queue.in_flight:
            _mark_lost(c, rid)
        c.set_tag(parent_id, STATUS_TAG, "interrupted; run the same study command again to resume")
        c.set_terminated(parent_id, status="KILLED")
        raise
    except BaseException as exc:
        executor.stop(queue.in_flight)
        c.set_tag(parent_id, ERROR_TAG, str(exc)[:4000] or type(exc).__name__)
        c.set_terminated(parent_id, status="FAILED")
        raise
    finally:
        executor.close()
    return SweepResult(_record_end(c, home, parent_id), outcomes=queue.outcomes)


def _take_over(c, parent_id: str, executor) -> bool:
    """Make this process the study's coordinator (refused while another live
    process runs it); whether an earlier coordinator is still alive."""
    parent = c.get_run(parent_id)
    previous = parent.data.tags.get(PROC_TAG, "")
    previous_alive = is_alive(previous) if previous else False
    if previous_alive and parent.info.status == "RUNNING" and previous != process_identity():
        executor.close()
        raise ValueError(f"this study is already being run by process {previous.split(':')[1]}; wait for it to end "
                         f"or stop it, then run the command again to resume")
    for key in ERROR_TAGS:
        if key in parent.data.tags:
            c.delete_tag(parent_id, key)
    c.set_tag(parent_id, PROC_TAG, process_identity())
    c.update_run(parent_id, status="RUNNING")
    return previous_alive


@dataclass
class _Queue:
    """What this session of a coordinator knows about the study's children."""

    retry_failed: bool
    max_attempts: int
    in_flight: dict[str, Any] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # stopped from outside (Monitor's cancel): not restarted in this session
    outcomes: list[dict] = field(default_factory=list)
    done: int = 0
    total: int = 0

    def count(self, home: Path, parent_id: str, previous_alive: bool, executor, log) -> None:
        """The children's states at the start, logged in one line."""
        first = {rid: state_of(r, coordinator_alive=previous_alive) for rid, r in
                 ((r.info.run_id, r) for r in children(home, parent_id))}
        self.total = len(first)
        self.done = sum(s == DONE for s in first.values())
        log(f"{self.total} runs: {self.done} done, " + ", ".join(f"{sum(s == k for s in first.values())} {k}"
                                                                for k in (RUNNING, QUEUED, INTERRUPTED, FAILED))
            + f"; executor {executor.name}, {executor.capacity} at a time")

    def todo(self, runs: dict, states: dict[str, str]) -> list[str]:
        """The children to hand out, seed by seed, then config by config:
        queued or interrupted (failed too, once, with retry_failed), neither in
        flight nor held, with attempts left."""
        todo = [rid for rid, s in states.items()
                if rid not in self.in_flight and rid not in self.held and self.attempts.get(rid, 0) < self.max_attempts
                and (s in (QUEUED, INTERRUPTED) or (self.retry_failed and s == FAILED and rid not in self.attempts))]
        todo.sort(key=lambda rid: (int(runs[rid].data.tags.get(SEED_TAG, 0)),
                                   int(runs[rid].data.tags.get(POINT_INDEX_TAG, 0))))
        return todo

    def ended(self, c, out: dict, run, log) -> None:
        """A child the executor is done with: one it was stopped from outside is held; a lost one is marked."""
        rid = out["run_id"]
        self.in_flight.pop(rid, None)
        self.outcomes.append(out)
        if out["status"] == "KILLED":
            self.held.add(rid)
        elif out["status"] == "LOST":
            _mark_lost(c, rid)
        self.done += out["status"] == "FINISHED"
        log(f"[{self.done}/{self.total}] " + _line(out, run))


def _drain(c, home: Path, parent_id: str, executor, queue: _Queue, previous_alive: bool, poll: float, log) -> None:
    """Hand out children while the executor has room, until none is left to
    run and none of an earlier coordinator is still training."""
    while True:
        runs = {r.info.run_id: r for r in children(home, parent_id)}
        states = {rid: state_of(r, set(queue.in_flight), previous_alive) for rid, r in runs.items()}
        waiting_on_others = [rid for rid, s in states.items() if s == RUNNING and rid not in queue.in_flight]
        todo = queue.todo(runs, states)
        while todo and len(queue.in_flight) < executor.capacity:
            rid = todo.pop(0)
            _prepare(c, runs[rid], executor.name)
            queue.attempts[rid] = queue.attempts.get(rid, 0) + 1
            queue.in_flight[rid] = executor.submit(rid)
        if not queue.in_flight:
            if not waiting_on_others:
                return
            time.sleep(poll)  # runs of an earlier coordinator still train: wait for them
            continue
        for out in executor.wait(queue.in_flight, timeout=poll if waiting_on_others else None):
            queue.ended(c, out, runs.get(out["run_id"]), log)


def _record_end(c, home: Path, parent_id: str) -> dict[str, int]:
    """The study's final counts on its parent run, FINISHED when every child is done, else FAILED with why."""
    counts = progress(home, parent_id)
    counts.pop("active", None)
    counts.pop("parent_status", None)
    finished = counts[DONE] == counts["total"]
    c.set_tag(parent_id, COUNTS_TAG, json.dumps(counts))
    if not finished:
        c.set_tag(parent_id, STATUS_TAG,
                  f"{counts[FAILED]} failed, {counts[QUEUED] + counts[INTERRUPTED]} not run; see the failed runs' errors")
    c.set_terminated(parent_id, status="FINISHED" if finished else "FAILED")
    return counts


def _prepare(c, run, executor_name: str) -> None:
    """A child about to be handed out: clear an earlier attempt's error and
    note the attempt (the run resumes from its checkpoint, if it has one)."""
    rid, tags = run.info.run_id, run.data.tags
    for key in ERROR_TAGS:
        if key in tags:
            c.delete_tag(rid, key)
    c.set_tag(rid, ATTEMPTS_TAG, str(int(tags.get(ATTEMPTS_TAG, "0")) + 1))
    c.set_tag(rid, EXECUTOR_TAG, executor_name)
    if run.info.status != "SCHEDULED":
        c.update_run(rid, status="SCHEDULED")


def _mark_lost(c, run_id: str) -> None:
    """A run whose worker vanished: FAILED with ProcessDied, so it is re-run."""
    run = c.get_run(run_id)
    if run.info.status in ("RUNNING", "SCHEDULED"):
        c.set_tag(run_id, ERROR_TAG, "the worker running this config ended unexpectedly; the study re-runs it")
        c.set_tag(run_id, ERROR_TYPE_TAG, "ProcessDied")
        c.set_terminated(run_id, status="FAILED")


def _line(out: dict, run) -> str:
    label = run.data.tags.get(POINT_TAG, "?") if run is not None else "?"
    seed = run.data.tags.get(SEED_TAG, "?") if run is not None else "?"
    status = out["status"]
    what = {"FINISHED": "done", "FAILED": "FAILED", "KILLED": "stopped", "LOST": "worker lost, re-queued",
            "skipped": "already done"}.get(status, status)
    text = f"{what:<8} {label} · seed {seed}"
    if status == "FINISHED":
        text += (f"  macro_f1 {out.get('test/macro_f1', float('nan')):.4f}  bal_acc "
                 f"{out.get('test/balanced_accuracy', float('nan')):.4f}  {out.get('seconds', 0):.0f} s")
    elif out.get("error"):
        text += f": {out['error']}"
    return text


def run_study(home: Path, study: S.Study, workload: str, seeds: int | None = None,
              overrides: dict[str, Any] | None = None, executor: str = "local", workers: int | None = None,
              address: str | None = None, log: Callable[[str], None] = print, retry_failed: bool = False,
              threads: int | None = None) -> tuple[Opened, SweepResult]:
    """Record (or find) the study and work its queue to the end."""
    overrides = dict(overrides or {})
    seeds = study.seeds if seeds is None else seeds
    key = S.study_key(study, S.trials(study, workload, overrides, seeds))
    with study_lock(home, key):
        ex = make_executor(home, executor, workers, address, log, threads)  # a wrong option fails before recording
        try:
            opened = open_study(home, study, workload, seeds, overrides)
        except BaseException:
            ex.close()
            raise
        result = work(home, opened.parent_id, ex, log=log, retry_failed=retry_failed)
    return opened, result
