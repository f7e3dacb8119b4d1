"""Security properties, checked on the source tree and on a real run: servers
on loopback with XSRF protection, bounded uploads, archives unpacked without
traversal or links (the cases are in corpus.py), weights loaded without
pickle, no shell, no secrets from the environment in the store, the logs or
the artifacts, and a run's artifacts exactly the files it wrote."""
from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest
import torch

from core.data import heartbeat as hb
from experiments import launcher, runner
from experiments.mlflow_tracker import client
from experiments.queries import list_runs

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("core", "experiments", "dashboard", "benchmarks", "scripts", "tests")


def _python_files() -> list[Path]:
    files = [p for d in SOURCE_DIRS if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 20
    return sorted(files)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.AST) -> str:
    """Dotted name of a call's function: torch.load, os.system, subprocess.run."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else kw.value
    return None


# ---------------------------------------------------------------------------
# servers and the dashboard's configuration
def test_servers_bind_to_loopback_with_xsrf_protection():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["address"] == "127.0.0.1"
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True  # never switched off (Streamlit turns it off only when asked)
    assert config.get("browser", {}).get("gatherUsageStats") is False
    script = (ROOT / "scripts" / "dashboard.sh").read_text()
    assert '--server.address "${RNN_ARENA_ADDRESS:-127.0.0.1}"' in script  # another address only when asked
    readme = (ROOT / "README.md").read_text()
    assert all("--host 127.0.0.1" in line for line in readme.splitlines() if "mlflow ui" in line)
    for path in [*_python_files(), *(ROOT / "scripts").glob("*.sh"), ROOT / ".streamlit" / "config.toml"]:
        if path.name != Path(__file__).name:
            assert "0.0.0.0" not in path.read_text(), f"{path}: binds every interface"


def test_uploads_are_bounded_in_size_and_type():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 0 < config["server"]["maxUploadSize"] <= 200  # MB
    uploaders = []
    for path in (ROOT / "dashboard").rglob("*.py"):
        for call in _calls(ast.parse(path.read_text())):
            if _name(call.func).endswith("file_uploader"):
                uploaders.append(path)
                assert _keyword(call, "type") is not None, f"{path}:{call.lineno}: file_uploader without type="
    # the Home page's dataset upload is the one upload widget (archives, CSVs or raw records)
    assert {p.name for p in uploaders} <= {"home.py"}


@pytest.mark.slow
def test_the_dashboard_listens_on_loopback_only(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RNN_ARENA_HOME": str(tmp_path / "h"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wanted = f":{port:04X}"
        deadline = time.time() + 90
        listening = []
        while time.time() < deadline and not listening:
            rows = [line.split() for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()
                    for line in Path(name).read_text().splitlines()[1:]]
            listening = [r[1] for r in rows if r[1].endswith(wanted) and r[3] == "0A"]  # 0A: LISTEN
            time.sleep(0.5)
        assert listening, "the dashboard did not start"
        assert all(addr.split(":")[0] in ("0100007F", "00000000000000000000000001000000") for addr in listening), listening
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


# ---------------------------------------------------------------------------
# the source tree: no pickle, no shell, no unsafe unpacking
def test_weights_and_caches_load_without_pickle():
    loads = 0
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                bad = {n.split(".")[0] for n in names if n} & {"pickle", "cPickle", "dill", "cloudpickle", "joblib",
                                                               "shelve", "marshal"}
                assert not bad, f"{path}:{node.lineno}: imports {bad}"
        for call in _calls(tree):
            name = _name(call.func)
            if name == "torch.load":
                loads += 1
                assert _keyword(call, "weights_only") is True, f"{path}:{call.lineno}: torch.load without weights_only=True"
            if name.endswith("np.load") or name.endswith("numpy.load"):
                assert _keyword(call, "allow_pickle") in (None, False), f"{path}:{call.lineno}: np.load(allow_pickle=True)"
            assert not name.endswith(("pd.read_pickle", "torch.jit.load")), f"{path}:{call.lineno}: {name}"
    assert loads >= 1  # the checkpoint reader is checked, not missed


def test_no_shell_anywhere():
    for path in _python_files():
        for call in _calls(ast.parse(path.read_text())):
            name = _name(call.func)
            assert _keyword(call, "shell") is not True, f"{path}:{call.lineno}: shell=True"
            assert name not in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
                                "commands.getoutput"), f"{path}:{call.lineno}: {name} runs a shell"


def test_archives_are_only_unpacked_by_the_flattening_extractor():
    """tarfile/zipfile's extract and extractall honour member paths and links;
    the project unpacks with core.data.heartbeat.extract_archive, which keeps
    only file names and plain files (its cases are in corpus.py)."""
    for path in _python_files():
        for call in _calls(ast.parse(path.read_text())):
            name = _name(call.func)
            assert not name.endswith((".extractall", "unpack_archive")), f"{path}:{call.lineno}: {name}"
            assert not (name.endswith(".extract") and "tests" not in path.parts), f"{path}:{call.lineno}: {name}"


# ---------------------------------------------------------------------------
# a real background run with secrets in its environment
MARKER = f"s3cr3t-{uuid.uuid4().hex}"
SECRETS = {"MLFLOW_TRACKING_PASSWORD": MARKER + "-pw", "MLFLOW_TRACKING_TOKEN": MARKER + "-token",
           "AWS_SECRET_ACCESS_KEY": MARKER + "-aws", "HF_TOKEN": MARKER + "-hf", "GITHUB_TOKEN": MARKER + "-gh"}
EXPECTED_ARTIFACTS = {"config.json", "report/classification_report.json", "report/classification_report.txt",
                      "report/confusion_matrix.json", "report/top_confusions.json", "predictions/test_predictions.csv",
                      "model/model.safetensors", "explain/explain.json"}


@pytest.fixture(scope="module", params=["in-process", pytest.param("worker", marks=pytest.mark.slow)])
def secret_run(request, tmp_path_factory, kaggle_dir):
    """One finished run with secrets in the environment: trained in this
    process (the CLI's path), or launched the way the dashboard launches it
    (a worker process that inherits the environment and writes a log)."""
    from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig

    home = tmp_path_factory.mktemp("secure") / "arena"
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    cfg = RunConfig(data=DataConfig(val_fraction=0.2), model=ModelConfig(name="gru", hidden_size=8),
                    train=TrainConfig(epochs=2, batch_size=64, device="cpu"))
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    try:
        if request.param == "worker":
            run_id = launcher.launch(cfg, home, "with secrets around")
        else:
            run_id = runner.run(cfg, home, "with secrets around").run_id
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    deadline = time.time() + 240
    while time.time() < deadline:
        status = next(r["status"] for r in list_runs(home) if r["run_id"] == run_id)
        if status not in ("RUNNING", "QUEUED"):
            break
        time.sleep(0.5)
    log = home / "logs" / f"{run_id}.log"
    assert status == "FINISHED", log.read_text()[-3000:] if log.exists() else status
    return home, run_id, cfg


def test_no_secret_from_the_environment_is_recorded(secret_run):
    home, run_id, cfg = secret_run
    run = client(home).get_run(run_id)
    assert set(run.data.params) == set(cfg.to_params())  # the config, nothing else
    recorded = " ".join([*run.data.params, *run.data.params.values(), *run.data.tags, *run.data.tags.values()])
    assert MARKER not in recorded and not any(k in recorded for k in SECRETS)
    scanned = 0
    for path in home.rglob("*"):  # the SQLite store (and its WAL), logs, artifacts, checkpoints, caches
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            assert MARKER.encode() not in data and MARKER.encode("utf-16-le") not in data, f"secret in {path}"
    assert scanned >= 10
    assert (home / "logs" / f"{run_id}.log").is_file() == (home / "logs").exists()  # the worker's log was scanned


def test_a_run_holds_exactly_the_artifacts_it_wrote(secret_run):
    home, run_id, cfg = secret_run
    folder = home / "artifacts" / "heartbeat" / run_id / "artifacts"
    assert Path(client(home).get_run(run_id).info.artifact_uri.removeprefix("file://")) == folder
    found = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert found == EXPECTED_ARTIFACTS
    assert not [p for p in folder.rglob("*") if p.is_symlink()]
    assert sorted(p.name for p in (home / "artifacts" / "heartbeat").iterdir()) == [run_id]  # no stray runs
    assert not runner.checkpoint_path(home, run_id).exists()  # a finished run leaves no checkpoint behind
    loaded_cfg, model = runner.load_model(home, run_id)  # safetensors: no pickle
    assert loaded_cfg == cfg and sum(p.numel() for p in model.parameters()) > 0
    x = torch.rand(2, 187)
    assert model(x, torch.tensor([187, 100])).shape == (2, 5)
