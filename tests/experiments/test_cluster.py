"""The cluster path, end to end on this machine: an MLflow tracking server
(SQLite backend, artifacts served through it) and a Ray cluster of a head and
a second node, each node with its own data folder. A study is dispatched over
both nodes, one node's worker is killed with SIGKILL half-way, the study
resumes, and the dashboard's listings read the runs from the server. Plus the
quick, one-line failures of a wrong store or Ray address."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.data import heartbeat as hb
from experiments import loopback as L

ROOT = Path(__file__).resolve().parents[2]
STUDY = """name: two-nodes
base: {model.hidden_size: 4, train.epochs: 3, train.batch_size: 32, train.device: cpu}
factors:
  model.name: [gru, rnn, lstm, rnn-trimmed]
seeds: 2
"""


def _cli(args, home, timeout=60, **env):
    return subprocess.run([sys.executable, "-m", "experiments", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1",
                                                **env})


def _one_line(done, pattern):
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith(("error", "Traceback"))]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert re.search(pattern, lines[0]), lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, kaggle_dir):
    """Server, head (data folder A) and a second node (data folder B)."""
    pytest.importorskip("ray")
    root = tmp_path_factory.mktemp("lab")
    homes = {name: root / f"home-{name}" for name in ("head", "node")}
    for home in homes.values():
        hb.prepare(kaggle_dir, home, log=lambda m: None)
    services = []
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:  # the server and the head start side by side
            server = pool.submit(L.start_mlflow_server, root / "server")
            head = pool.submit(L.start_ray_node, root / "ray", 1, None, {"RNN_ARENA_HOME": str(homes["head"])})
            for future in (server, head):
                try:
                    services.append(future.result())
                except BaseException:
                    for other in (server, head):
                        if other is not future and other.exception() is None:
                            other.result().stop()
                    raise
        services.append(L.start_ray_node(root / "ray", cpus=1, head=services[1].address,
                                         env={"RNN_ARENA_HOME": str(homes["node"])}))
        yield {"root": root, "homes": homes, "server": services[0], "head": services[1].address}
    finally:
        for service in reversed(services):
            service.stop()


def _children(client, exp_name):
    exp = client.get_experiment_by_name(exp_name)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    return [r for r in runs if "mlflow.parentRunId" in r.data.tags]


@pytest.mark.slow
@pytest.mark.cluster  # minutes: a server and two Ray nodes start; CI runs it (.ci/run), the default suite does not
def test_a_study_over_two_ray_nodes_against_a_tracking_server(lab, monkeypatch):
    from experiments import mlflow_tracker as T
    from experiments import queries, sweep

    uri, home = lab["server"].address, lab["homes"]["head"]
    study = lab["root"] / "two-nodes.yaml"
    study.write_text(STUDY)
    env = {**os.environ, **L.RAY_ENV, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "experiments", "--tracking-uri", uri, "study", "--file", str(study),
            "--executor", "ray", "--address", lab["head"]]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    monkeypatch.setenv("RNN_ARENA_TRACKING_URI", uri)
    monkeypatch.setenv("RNN_ARENA_HOME", str(home))
    T._CLIENTS.clear()
    c = T.client(home)
    killed = None
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:  # kill -9 one worker past its first epoch
            if killed is None and c.get_experiment_by_name("heartbeat") is not None:
                for run in _children(c, "heartbeat"):
                    tags = run.data.tags
                    if run.info.status == "RUNNING" and int(tags.get("arena.epoch", "0")) >= 1 and \
                            "arena.process" in tags:
                        try:
                            os.kill(int(tags["arena.process"].split(":")[1]), signal.SIGKILL)
                            killed = run.info.run_id
                        except ProcessLookupError:
                            pass
                        break
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out[-3000:]
    assert "8/8 runs done, 0 failed" in out, out[-3000:]
    assert killed is not None, "no run was caught half-way to be killed"

    children = _children(c, "heartbeat")
    assert len(children) == 8 and {r.info.status for r in children} == {"FINISHED"}
    assert len({r.data.tags["arena.study_config"] + r.data.tags["arena.seed"] for r in children}) == 8
    nodes = {r.data.tags["arena.node"] for r in children}
    assert len(nodes) == 2, nodes  # both nodes trained runs
    victim = c.get_run(killed)
    assert victim.info.status == "FINISHED" and int(victim.data.tags["arena.attempts"]) >= 2
    for run in children:  # artifacts live on the server, served through it
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")
        assert {"report", "predictions", "model", "config.json"} <= {a.path for a in c.list_artifacts(run.info.run_id)}
    assert list((lab["root"] / "server" / "artifacts").rglob("classification_report.json"))

    again = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and "8 runs: 8 done" in again.stdout + again.stderr, again.stderr[-2000:]
    assert len(_children(c, "heartbeat")) == 8  # nothing trained twice

    rows = queries.list_runs(home)  # what the dashboard's pages list
    assert len(rows) == 8 and {r["status"] for r in rows} == {"FINISHED"}
    studies = sweep.list_studies(home)
    assert [(s["name"], s["done"], s["total"]) for s in studies] == [("two-nodes", 8, 8)]
    detail = queries.run_detail(home, rows[0]["run_id"])
    assert detail["report"] and detail["confusion"]
    T._CLIENTS.clear()


def test_a_node_without_the_data_says_which_node_and_what_to_run(home, tiny_config, monkeypatch):
    from experiments import runner

    monkeypatch.setenv("RNN_ARENA_NODE", "10.0.0.7 (Ray node abc)")
    run_id = runner.create_run(tiny_config, home)
    with pytest.raises(ValueError) as info:
        runner.execute(run_id, home)
    message = str(info.value)
    assert message.startswith("on node 10.0.0.7 (Ray node abc)") and "python -m experiments prepare heartbeat" in message
    assert "\n" not in message
    from experiments.mlflow_tracker import client

    run = client(home).get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["error"] == message
    assert not (home / "datasets").exists() or not list((home / "datasets").iterdir())  # nothing half-written


def test_an_unreachable_ray_address_is_one_line_within_seconds(tmp_path, kaggle_dir):
    hb.prepare(kaggle_dir, tmp_path / "h", log=lambda m: None)
    port = _closed_port()
    started = time.perf_counter()
    done = _cli(["study", "architectures", "--executor", "ray", "--address", f"127.0.0.1:{port}"], tmp_path / "h")
    assert time.perf_counter() - started < 15
    _one_line(done, rf"^error: cannot reach the Ray cluster at 127\.0\.0\.1:{port} \(connection refused\)")


def test_a_wrong_tracking_uri_is_one_line_within_seconds(tmp_path):
    started = time.perf_counter()
    _one_line(_cli(["--tracking-uri", "ftp://127.0.0.1:21", "runs"], tmp_path / "h"),
              r"^error: RNN_ARENA_TRACKING_URI='ftp://127\.0\.0\.1:21' has the scheme 'ftp'")
    port = _closed_port()
    _one_line(_cli(["--tracking-uri", f"http://127.0.0.1:{port}", "runs"], tmp_path / "h"),
              rf"^error: cannot reach the tracking server at http://127\.0\.0\.1:{port}")
    assert time.perf_counter() - started < 30  # two commands, each well under 15 s


def test_a_missing_database_driver_is_one_line_within_seconds(tmp_path):
    with socket.socket() as listener:  # something answers on the port: the driver is what is missing
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.perf_counter()
        done = _cli(["--tracking-uri", f"mssql+pyodbc://u:p@127.0.0.1:{port}/arena", "runs"], tmp_path / "h")
        assert time.perf_counter() - started < 15
    _one_line(done, r"^error: the tracking store mssql\+pyodbc://.* needs a database driver that is not installed")


def test_cancel_of_a_run_on_another_machine_goes_through_the_store(home, tiny_config):
    from experiments import launcher, runner
    from experiments.mlflow_tracker import MlflowTracker, client

    run_id = runner.create_run(tiny_config, home)
    c = client(home)
    c.update_run(run_id, status="RUNNING")
    c.set_tag(run_id, launcher.PROC_TAG, "another-host:1234:99")  # no signal reaches it from here
    assert launcher.cancel(home, run_id) == "stopping"
    assert c.get_run(run_id).info.status == "KILLED"
    with pytest.raises(KeyboardInterrupt):  # what the run on the other machine does at its next progress report
        runner.check_cancelled(MlflowTracker(home, run_id))
