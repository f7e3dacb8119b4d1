"""A small cluster on this machine, for the cluster test and benchmark: an
MLflow tracking server (SQLite backend, artifacts served through the server)
and Ray nodes (a head and more), all bound to 127.0.0.1.

Every process is started in its own session and stopped by its process
group, so stopping one never touches another Ray or MLflow on the machine
(`ray stop` would stop them all).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    address: str
    log: Path
    env: dict = field(default_factory=dict)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the service's process group, SIGKILL if it lingers."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever of the group is left (Ray's daemons)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def _start(name: str, argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)


def _wait(what: str, ready, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{what} exited with {proc.returncode}: {' | '.join(tail)}")
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s; see {log}")


def start_mlflow_server(folder: Path, timeout: float = 300.0, port: int | None = None) -> Service:
    """`mlflow server` on 127.0.0.1 with a SQLite backend and proxied
    artifacts (`--serve-artifacts`): clients need only its http address.
    `port`: the port of a server started here before (a restart)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = folder / f"server-{port}.log"
    argv = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts",
            "--host", HOST, "--port", str(port), "--workers", "1"]
    proc = _start("mlflow server", argv, log)
    uri = f"http://{HOST}:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    service = Service("mlflow server", proc, uri, log)
    try:
        _wait("the MLflow server", ready, proc, log, timeout)
    except BaseException:
        service.stop()
        raise
    return service


# every node and driver of the cluster: token authentication (the head's token, ~/.ray/auth_token), no usage stats
RAY_ENV = {"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}


def start_ray_node(folder: Path, cpus: int, head: str | None = None, env: dict | None = None,
                   timeout: float = 180.0) -> Service:
    """A Ray head (head=None) or a node joining the head at `head`, with
    `cpus` CPUs. Ray refuses loopback addresses (it replaces 127.0.0.1 by
    the machine's own address), so its address is HOST_IP:PORT as the head
    reports it. `env` reaches the node's workers (e.g. its own
    RNN_ARENA_HOME)."""
    folder.mkdir(parents=True, exist_ok=True)
    argv = [str(BIN / "ray"), "start", "--block", "--num-cpus", str(cpus), "--disable-usage-stats",
            "--object-store-memory", str(100 * 2**20)]
    if head is None:
        argv += ["--head", "--port", str(free_port()), "--include-dashboard=false", "--temp-dir", str(folder / "ray")]
        log = folder / "ray-head.log"
    else:
        argv += ["--address", head]
        log = folder / f"ray-node-{free_port()}.log"
    node_env = {**RAY_ENV, "OMP_NUM_THREADS": "1", **(env or {})}
    proc = _start("ray node", argv, log, node_env)
    service = Service("ray head" if head is None else "ray node", proc, head or "", log, node_env)
    started = lambda: "Ray runtime started" in log.read_text(errors="replace")  # noqa: E731
    try:
        _wait(service.name, started, proc, log, timeout)
    except BaseException:
        service.stop()
        raise
    if head is None:
        match = re.search(r"ray start --address='([^']+)'", log.read_text(errors="replace"))
        service.address = match.group(1) if match else ""
    return service
