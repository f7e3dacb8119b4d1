"""Hostile or careless input beyond the corpus's files: study files that are
code, data folders whose names look like URI syntax, finished runs that must
stay finished, class names MLflow refuses, damaged checkpoints, two prepares
at once, models too big for memory, and error lines after a progress bar.
Each test here failed before the matching fix."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data import heartbeat as hb
from experiments import mlflow_tracker as T
from experiments import runner

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-m", "experiments", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


def _one_line(done: subprocess.CompletedProcess, expect: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-800:]
    assert len(lines) == 1 and re.search(expect, lines[0]), done.stderr[-800:]


@pytest.fixture
def prepared(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


def _finished_run(home: Path, cfg: RunConfig) -> str:
    """A run recorded as FINISHED with one metric (no training needed)."""
    run_id = runner.create_run(cfg, home)
    c = T.client(home)
    c.log_metric(run_id, "test/accuracy", 0.5)
    c.set_terminated(run_id, status="FINISHED")
    return run_id


# ---------------------------------------------------------------------------
# a study file is data
def test_a_python_study_file_runs_only_with_allow_code(tmp_path):
    marker = tmp_path / "ran"
    study = tmp_path / "study.py"
    study.write_text(f"open({str(marker)!r}, 'w').write('x')\n"
                     "STUDY = {'name': 'x', 'factors': {'model.hidden_size': [8, 16]}}\n")
    home = tmp_path / "home"
    _one_line(_cli(["study", "--file", str(study), "--report"], home),
              r"^error: .*study\.py is a Python file: running it would run its code; .*--allow-code")
    assert not marker.exists()
    done = _cli(["study", "--file", str(study), "--allow-code", "--report"], home)
    assert marker.exists(), done.stderr  # the explicit option runs it (then: no data prepared here)
    helptext = _cli(["study", "--help"], home).stdout
    assert "--allow-code" in helptext and "nothing in it runs" in helptext


def test_the_dashboards_other_options_use_the_strict_parser():
    from dashboard import study_services as ss
    from tests.reliability.corpus import aliases

    started = time.perf_counter()
    with pytest.raises(ValueError, match="other options: its aliases expand to more than 100,000 values"):
        ss._parse_options(aliases() + "model.hidden_size: *h\n")
    with pytest.raises(ValueError, match="key 'train.lr' is given twice"):
        ss._parse_options("train.lr: 0.1\ntrain.lr: 0.01\n")
    assert ss._parse_options("model.hidden_size: 64\n") == {"model.hidden_size": 64}
    assert time.perf_counter() - started < 5


# ---------------------------------------------------------------------------
# the store's address
@pytest.mark.parametrize("name", ["e#f g h", "k&l=m;n@h:1", "50%+ñ"])
def test_a_data_folder_with_uri_characters_keeps_its_store_inside(tmp_path, name):
    from experiments.queries import list_runs
    from experiments.settings import arena_home

    T._CLIENTS.clear()
    home = arena_home(tmp_path / name / "home")
    run_id = runner.create_run(RunConfig(), home)
    T.MlflowTracker(home, run_id).log_text("hello", "notes/hello.txt")
    assert (home / "mlflow.db").is_file()
    outside = [p for p in tmp_path.rglob("*") if home not in p.parents and p != home and p not in home.parents]
    assert outside == [], outside  # no store or artifact written next to the data folder
    assert [p.read_text() for p in (home / "artifacts").rglob("hello.txt")] == ["hello"]
    assert [r["run_id"] for r in list_runs(home)] == [run_id]  # the fast reader opens the same file
    T._CLIENTS.clear()


@pytest.mark.parametrize("name, why", [("a?b", r"'\?'"), ("c%20d", r"'%20' \(read as a percent-escape\)")])
def test_a_data_folder_the_store_address_cannot_carry_is_refused(tmp_path, name, why):
    home = tmp_path / name / "home"
    _one_line(_cli(["runs"], home), rf"^error: the data folder .*{re.escape(name)}/home has {why} in its path, which the "
                                    r"MLflow store's address \(sqlite:///\.\.\.\) cannot carry")
    assert list(tmp_path.iterdir()) == []  # nothing created, here or next to it


def test_a_damaged_store_is_one_line_within_seconds_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    (home / "mlflow.db").mkdir(parents=True)
    started = time.perf_counter()
    done = _cli(["runs"], home)
    assert time.perf_counter() - started < 15
    _one_line(done, r"^error: the MLflow store .*mlflow\.db is not a file \(a folder")
    assert list(tmp_path.iterdir()) == [home] and not list((home / "mlflow.db").iterdir())  # nothing created elsewhere


def test_a_tracking_server_that_is_down_is_one_line_within_seconds(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    started = time.perf_counter()
    done = _cli(["runs"], tmp_path / "home", RNN_ARENA_TRACKING_URI=f"http://127.0.0.1:{port}")
    assert time.perf_counter() - started < 15
    _one_line(done, rf"^error: cannot reach the tracking server at http://127\.0\.0\.1:{port} \(connection refused\)")


# ---------------------------------------------------------------------------
# finished runs stay finished
def test_worker_is_hidden_refuses_a_finished_run_and_zero_slots(home, tiny_config):
    listing = _cli(["--help"], home).stdout
    assert "worker" not in listing and "study" in listing
    run_id = _finished_run(home, tiny_config)
    _one_line(_cli(["worker", run_id], home), rf"^error: run {run_id} is FINISHED; its results are final")
    _one_line(_cli(["worker", run_id, "--slots", "0"], home), r"^error: --slots 0 must be at least 1")
    T._CLIENTS.clear()
    run = T.client(home).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert len(T.client(home).get_metric_history(run_id, "test/accuracy")) == 1  # nothing logged a second time


def test_execute_refuses_a_finished_run(home, tiny_config):
    run_id = _finished_run(home, tiny_config)
    with pytest.raises(ValueError, match="is FINISHED; its results are final"):
        runner.execute(run_id, home)
    assert T.client(home).get_run(run_id).info.status == "FINISHED"


def test_a_signal_after_the_run_finished_does_not_change_its_status(prepared, tiny_config, monkeypatch):
    class SignalOnCleanup(type(Path())):
        """The checkpoint path; removing it (the step after FINISHED) is where a SIGTERM lands."""

        def unlink(self, missing_ok=False):
            if self.suffix == ".pt":
                raise KeyboardInterrupt
            return super().unlink(missing_ok=missing_ok)

    monkeypatch.setattr(runner, "checkpoint_path", lambda home, run_id: SignalOnCleanup(home / "ck" / f"{run_id}.pt"))
    run_id = runner.create_run(tiny_config, prepared)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(run_id, prepared)
    run = T.client(prepared).get_run(run_id)
    assert run.info.status == "FINISHED" and "error" not in run.data.tags


# ---------------------------------------------------------------------------
# class names that MLflow refuses in a metric key
def test_metric_keys_from_any_class_names_are_valid_and_distinct():
    from mlflow.utils.validation import _validate_metric_name

    names = ["HOME & GARDEN", "HOME _ GARDEN", "HOME ? GARDEN", "a/b", "..", "", "ÑANDÚ", "x" * 400, "N"]
    keys = runner.class_metric_keys(names)
    assert len(set(keys.values())) == len(names) and keys["N"] == "N"
    for part in keys.values():
        for prefix in ("test/recall_", "test/f1_"):
            _validate_metric_name(prefix + part)


def test_a_titles_category_with_an_ampersand_trains_to_the_end(home, tmp_path, fake_stopwords):
    from core.data import titles as tt
    from tests.conftest import course_row, write_jsonl_gz

    folder = tmp_path / "meli"
    folder.mkdir()
    cats = {"HOME & GARDEN": "jardin maceta", "TOYS/GAMES": "juguete pelota", "BOOKS": "libro novela"}
    for split, n in (("train", 12), ("validation", 4), ("test", 4)):
        write_jsonl_gz(folder / f"spanish.{split}.jsonl.gz",
                       [course_row(f"{words} modelo {i}", cat, split) for i in range(n) for cat, words in cats.items()])
    tt.prepare(folder, home, log=lambda m: None, workers=1)
    cfg = RunConfig(data=DataConfig(workload="titles"), model=ModelConfig(name="tfidf"),
                    train=TrainConfig(epochs=1, device="cpu"))
    summary = runner.run(cfg, home)
    run = T.client(home).get_run(summary.run_id)
    assert run.info.status == "FINISHED"
    assert "test/recall_HOME _ GARDEN" in run.data.metrics and "test/f1_TOYS_GAMES" in run.data.metrics


# ---------------------------------------------------------------------------
# a damaged or pickle-carrying checkpoint on resume
class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("content", ["garbage", "pickle"])
def test_resuming_from_a_bad_checkpoint_is_one_clear_error(prepared, tiny_config, tmp_path, content, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_id = runner.create_run(tiny_config, prepared)
    ckpt = runner.checkpoint_path(prepared, run_id)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if content == "garbage":
        ckpt.write_bytes(b"PK\x03\x04" + os.urandom(300))
    else:
        torch.save({"model": Payload()}, ckpt)
    with pytest.raises(ValueError) as err:
        runner.execute(run_id, prepared)  # what run --resume does (the CLI prints the ValueError as its one line)
    why = "it holds Python objects besides weights" if content == "pickle" else "RuntimeError: "
    assert re.fullmatch(rf"the checkpoint .*{run_id}\.pt cannot be resumed from \({why}.*\); delete it to train "
                        r"this run again from its first epoch", str(err.value)), str(err.value)
    assert len(str(err.value)) < 400 and not (tmp_path / "pwned").exists()
    assert T.client(prepared).get_run(run_id).info.status == "FAILED"


# ---------------------------------------------------------------------------
# two prepares at once
def test_two_heartbeat_prepares_at_once_both_succeed(home, kaggle_dir, monkeypatch):
    """The second prepare runs to the end while the first is about to move its file into place."""
    real_replace = os.replace
    nested = []

    def replace(src, dst):
        if str(dst).endswith(".npz") and not nested:
            nested.append(None)  # once: the second prepare's own replace goes through
            nested[0] = hb.prepare(kaggle_dir, home, log=lambda m: None)
        return real_replace(src, dst)

    monkeypatch.setattr(hb.os, "replace", replace)
    first = hb.prepare(kaggle_dir, home, log=lambda m: None)
    assert nested and nested[0]["beats"] == first["beats"]
    assert len(hb.load_beats(home)) == first["beats"]
    assert not [p for p in (home / "cache").iterdir() if "tmp" in p.name]


def test_two_titles_prepares_at_once_both_succeed(home, titles_dir, monkeypatch):
    from core.data import titles as tt

    real_replace = os.replace
    nested = []

    def replace(src, dst):
        if Path(dst).name.startswith("titles-") and not nested:
            nested.append(None)  # once: the second prepare's own replace goes through
            nested[0] = tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
        return real_replace(src, dst)

    monkeypatch.setattr(tt.os, "replace", replace)
    first = tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
    assert nested and nested[0]["key"] == first["key"]
    assert tt.load_titles(home).train.y.size > 0
    assert not [p for p in (home / "cache").iterdir() if "tmp" in p.name]


# ---------------------------------------------------------------------------
# a model too big for memory is refused before it is built
def test_the_parameter_estimate_is_exact_for_every_model():
    from core.models import build_model, list_models, parameter_count

    for name in list_models():
        if name == "tfidf":
            continue
        for vocab in ([None, 40] if name != "mlp" else [40]):
            cfg = ModelConfig(name=name, hidden_size=6, num_layers=2, bidirectional=True, head_hidden=5, frame=2,
                              embedding_dim=4)
            built = sum(p.numel() for p in build_model(cfg, num_classes=7, vocab_size=vocab).parameters())
            assert parameter_count(cfg, num_classes=7, vocab_size=vocab) == built, (name, vocab)


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(monkeypatch):
    from core import train as core_train
    from core.train import TensorSplit

    monkeypatch.setattr(core_train, "available_bytes", lambda device: 1 << 30)  # 1 GiB free
    x = torch.rand(32, 187)
    split = TensorSplit(x, torch.full((32,), 187), torch.arange(32) % 5)
    cfg = RunConfig(model=ModelConfig(name="lstm", hidden_size=4096, num_layers=8, bidirectional=True),
                    train=TrainConfig(epochs=1, device="cpu"))
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"bi-lstm 8x4096 with [\d,]+ parameters needs about [\d.]+ GiB to train but "
                                         r"only 1\.0 GiB is free on cpu; use a smaller model\.hidden_size"):
        core_train.fit(cfg, split, split, split, list("NSVFQ"))
    assert time.perf_counter() - started < 2  # refused from the estimate, not after allocating 8 x 270M weights


# ---------------------------------------------------------------------------
# error lines after a progress bar
def test_an_error_half_way_through_prepare_starts_its_own_line(tmp_path):
    from tests.conftest import write_record

    records = tmp_path / "records"
    records.mkdir()
    write_record(records, "100", n_beats=20, seed=0)
    write_record(records, "101", n_beats=20, seed=1)
    (records / "101.atr").unlink()
    done = _cli(["prepare", "heartbeat", "--source", str(records)], tmp_path / "home")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.rstrip("\n").split("\n")[-1]
    assert last.startswith("error: record 101: 101.atr is missing"), repr(done.stderr[-400:])
