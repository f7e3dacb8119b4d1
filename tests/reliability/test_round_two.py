"""The second reliability round: records imported twice (copies, re-saved
files, two imports at once, a store that fails half-way), start actions
clicked twice or from two tabs, and a tracking server that goes away."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import reference as R

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "results" / "reference"
NAMES = ("gru-bidirectional-false-seed0.json", "gru-bidirectional-false-seed1.json")
LABELS = "heartbeat-intra-patient-b78104de5af29fdc.json"


def _root(tmp_path: Path) -> Path:
    """Two real heartbeat records and their label file, as results/reference."""
    root = tmp_path / "records"
    (root / "architectures").mkdir(parents=True)
    (root / "labels").mkdir()
    for name in NAMES:
        (root / "architectures" / name).write_bytes((REAL / "architectures" / name).read_bytes())
    (root / "labels" / LABELS).write_bytes((REAL / "labels" / LABELS).read_bytes())
    return root


def _runs(home: Path) -> list[tuple[str, str]]:
    """(status, identity or record key) of every reference run that is not a study."""
    with sqlite3.connect(home / "mlflow.db") as db:
        return db.execute(
            "SELECT r.status, coalesce(i.value, k.value, '') FROM runs r "
            "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'arena.reference' AND t.value = 'true' "
            "LEFT JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'arena.kind' "
            "LEFT JOIN tags i ON i.run_uuid = r.run_uuid AND i.key = 'arena.reference_identity' "
            "LEFT JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'arena.reference_record' "
            "WHERE s.value IS NULL AND r.lifecycle_stage = 'active'").fetchall()


def _unfinished(home: Path) -> int:
    with sqlite3.connect(home / "mlflow.db") as db:
        return db.execute("SELECT count(*) FROM runs WHERE status IN ('RUNNING', 'SCHEDULED')").fetchone()[0]


def test_a_record_copied_or_resaved_is_imported_once(tmp_path, home):
    root = _root(tmp_path)
    assert R.import_records(home, root, log=lambda m: None) == 2
    # the same record under another name, and re-saved with other whitespace and key order
    rec = json.loads((root / "architectures" / NAMES[0]).read_text())
    (root / "architectures" / "copy-of-seed0.json").write_text(json.dumps(rec, indent=3))
    (root / "architectures" / NAMES[1]).write_text(json.dumps(
        json.loads((root / "architectures" / NAMES[1]).read_text()), indent=1, sort_keys=False))
    said = []
    assert R.import_records(home, root, log=said.append) == 0
    assert any("skipped" in line and "copy-of-seed0" in line for line in said), said
    runs = _runs(home)
    assert len(runs) == 2 and {s for s, _ in runs} == {"FINISHED"}
    assert len({k for _, k in runs}) == 2


def test_two_imports_at_once_load_every_record_once(tmp_path, home):
    root = _root(tmp_path)
    code = ("import sys; from pathlib import Path; from experiments import reference as R; "
            "R.import_records(Path(sys.argv[1]), Path(sys.argv[2]))")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home), str(root)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    runs = _runs(home)
    assert len(runs) == 2, runs
    assert {s for s, _ in runs} == {"FINISHED"}
    said = " ".join(o for o, _ in outs)
    assert "loaded 2 reference run(s)" in said and "loaded 0 reference run(s)" in said, said


def test_a_store_that_fails_half_way_leaves_no_run_running_and_the_next_import_completes(tmp_path, home, monkeypatch):
    root = _root(tmp_path)
    real = R._log_artifacts
    calls = []

    def failing(tracker, rec, y_true):
        calls.append(rec["_path"])
        if len(calls) == 2:
            raise ConnectionError("Connection refused (the tracking server went away)")
        return real(tracker, rec, y_true)

    monkeypatch.setattr(R, "_log_artifacts", failing)
    with pytest.raises(ValueError, match=r"importing .*seed1\.json failed \(Connection refused.*marked FAILED"):
        R.import_records(home, root, log=lambda m: None)
    assert _unfinished(home) == 0
    assert sorted(s for s, _ in _runs(home)) == ["FAILED", "FINISHED"]
    monkeypatch.setattr(R, "_log_artifacts", real)
    assert R.import_records(home, root, log=lambda m: None) == 1
    finished = [k for s, k in _runs(home) if s == "FINISHED"]
    assert len(finished) == 2 and len(set(finished)) == 2
    assert _unfinished(home) == 0


def test_a_run_left_running_by_a_killed_import_is_failed_by_the_next(tmp_path, home):
    """An import killed outright (kill -9, a power cut) cannot mark its run:
    the next import does, and loads the record again."""
    from experiments.mlflow_tracker import client, experiment_id
    from experiments.tags import IDENTITY_TAG, PROC_TAG, REFERENCE_TAG

    root = _root(tmp_path)
    rec = R.read_records(root)[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from experiments.launcher import process_identity

    exp = experiment_id(home, "heartbeat")
    client(home).create_run(exp, tags={IDENTITY_TAG: rec["_key"], REFERENCE_TAG: "true",
                                       PROC_TAG: process_identity(os.getpid()).rsplit(":", 2)[0] + f":{dead.pid}:1"})
    assert _unfinished(home) == 1
    assert R.import_records(home, root, log=lambda m: None) == 2
    assert _unfinished(home) == 0
    assert sorted(s for s, _ in _runs(home)) == ["FAILED", "FINISHED", "FINISHED"]


# ---------------------------------------------------------------------------
# a tracking server that goes away: a line per retry, a bound, one clear line
class _Server:
    """An MlflowClient stand-in whose calls fail like a stopped server's for `down` calls."""

    def __init__(self, down: int):
        self.down = down
        self.calls = 0

    def get_run(self, run_id):
        from mlflow.exceptions import MlflowException

        self.calls += 1
        if self.calls <= self.down:
            raise MlflowException("API request to http://127.0.0.1:5999/api/2.0/mlflow/runs/get failed with exception "
                                  "HTTPConnectionPool(host='127.0.0.1', port=5999): Max retries exceeded with url "
                                  "(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] "
                                  "Connection refused'))")
        return f"run {run_id}"


@pytest.fixture
def clock(monkeypatch):
    """time.sleep and time.monotonic on a fake clock; the lines said while waiting."""
    import time

    from experiments import mlflow_tracker as T

    now = [1000.0]
    said: list[str] = []
    monkeypatch.setattr(time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(T, "SAY", said.append)
    return now, said


def test_waiting_on_a_stopped_server_is_visible_and_carries_on_when_it_returns(clock, monkeypatch):
    from experiments.mlflow_tracker import RetryingClient

    now, said = clock
    monkeypatch.setenv("RNN_ARENA_SERVER_WAIT", "120")
    server = _Server(down=4)
    c = RetryingClient(server, None, "http://127.0.0.1:5999")
    assert c.get_run("abc") == "run abc"
    waits = [line for line in said if "does not answer" in line]
    assert len(waits) == 4, said
    assert all("waited" in line and "of 120 s (RNN_ARENA_SERVER_WAIT)" in line for line in waits)
    assert "waited 0 s" in waits[0] and "waited 0 s" not in waits[-1]
    assert "answers again" in said[-1]


def test_waiting_on_a_server_is_bounded_and_ends_in_one_clear_line(clock, monkeypatch):
    from experiments.mlflow_tracker import RetryingClient

    now, said = clock
    monkeypatch.setenv("RNN_ARENA_SERVER_WAIT", "60")
    start = now[0]
    c = RetryingClient(_Server(down=10**6), None, "http://127.0.0.1:5999")
    with pytest.raises(ValueError, match=r"the tracking server http://127\.0\.0\.1:5999 did not answer for 6\d s "
                                         r"\(RNN_ARENA_SERVER_WAIT=60\); what finished is kept on the server: start it, "
                                         r"then run the same command again to resume"):
        c.get_run("abc")
    assert 60 <= now[0] - start <= 75
    assert 3 <= len(said) <= 20
    # marking runs as the command stops does not wait the bound again
    before = now[0]
    with pytest.raises(ValueError, match="did not answer"):
        c.get_run("abc")
    assert now[0] == before


def test_the_wait_setting_is_checked(monkeypatch):
    from experiments import settings
    from experiments.settings import server_wait_seconds

    monkeypatch.delenv("RNN_ARENA_SERVER_WAIT", raising=False)
    monkeypatch.setattr(settings, "_process_wait", None)
    assert server_wait_seconds() == 300
    settings.wait_in_this_process(10)  # the dashboard's pages: seconds, not minutes
    assert server_wait_seconds() == 10
    monkeypatch.setenv("RNN_ARENA_SERVER_WAIT", "soon")
    with pytest.raises(ValueError, match="RNN_ARENA_SERVER_WAIT='soon' is not a number of seconds"):
        server_wait_seconds()


def test_a_local_store_does_not_wait_on_a_connection_error():
    from experiments.mlflow_tracker import RetryingClient

    with pytest.raises(Exception, match="Connection refused"):
        RetryingClient(_Server(down=1), None, None).get_run("abc")


# ---------------------------------------------------------------------------
# a second click, or the same form from two tabs, starts one thing and says so
@pytest.fixture
def prepared(home, kaggle_dir):
    from core.data import heartbeat as hb

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


@pytest.fixture
def no_processes(monkeypatch):
    """Start actions record their runs but start no process: what each would have started."""
    import subprocess as sp

    from dashboard import study_services as ss
    from experiments import launcher, runner
    from experiments.tags import QUEUE_TAG

    started = {"runs": [], "studies": [], "cancels": []}

    def launch(cfg, home, run_name=None, slots=1):
        import time

        time.sleep(0.3)  # a start takes a while: the second click lands during it
        run_id = runner.create_run(cfg, home, run_name, tags={QUEUE_TAG: "queued"})
        started["runs"].append(run_id)
        return run_id

    class Popen:
        def __init__(self, args, **kwargs):
            started["studies"].append(args)

    def cancel(home, run_id):
        started["cancels"].append(run_id)
        return "stopping"

    monkeypatch.setattr(launcher, "launch", launch)
    monkeypatch.setattr(launcher, "cancel", cancel)
    from types import SimpleNamespace

    monkeypatch.setattr(ss, "subprocess", SimpleNamespace(Popen=Popen, DEVNULL=sp.DEVNULL, STDOUT=sp.STDOUT))
    return started


def test_two_quick_clicks_on_new_runs_start_make_one_run(prepared, no_processes):
    from concurrent.futures import ThreadPoolExecutor

    from dashboard import services
    from experiments.queries import list_runs

    params = {**services.option_defaults(), "data.workload": "heartbeat", "train.epochs": "1",
              "model.hidden_size": "8", "train.device": "cpu"}
    with ThreadPoolExecutor(2) as pool:  # two sessions (tabs) at once
        ids = list(pool.map(lambda _: services.launch(str(prepared), params, "", 1), range(2)))
    again = services.launch(str(prepared), params, "", 1)  # and a third click a moment later
    assert len(list_runs(prepared)) == 1 and len(no_processes["runs"]) == 1
    assert len({str(i) for i in [*ids, again]}) == 1
    assert sorted(i.repeat for i in ids) == [False, True] and again.repeat
    assert "nothing new was started" in again.note
    # another config is another request
    other = services.launch(str(prepared), {**params, "model.hidden_size": "16"}, "", 1)
    assert not other.repeat and len(list_runs(prepared)) == 2


def test_the_new_run_form_sent_from_two_tabs_starts_one_run(prepared, no_processes):
    from streamlit.testing.v1 import AppTest

    from experiments.queries import list_runs

    page = str(ROOT / "dashboard" / "views" / "new_run.py")
    tabs = [AppTest.from_file(page, default_timeout=90).run() for _ in range(2)]
    for at in tabs:
        assert not at.exception
        next(w for w in at.number_input if w.label == "epochs").set_value(3).run()
    for at in tabs:
        next(b for b in at.button if b.label == "Start run").click().run()
    assert len(list_runs(prepared)) == 1
    assert any("nothing new was started" in m.value for m in tabs[1].info), [m.value for m in tabs[1].info]


def test_a_study_started_twice_or_resumed_from_two_tabs_starts_one_worker(prepared, no_processes):
    from dashboard import study_services as ss
    from experiments import sweep

    args = (str(prepared), "architectures", "", "heartbeat", 0.05, 1, 1, 1)
    first = ss.launch_study(*args)
    second = ss.launch_study(*args)
    assert len(no_processes["studies"]) == 1, "two study workers started"
    assert len(sweep.list_studies(prepared)) == 1
    assert str(first) == str(second) and second.repeat and not first.repeat
    # Resume from two tabs right after the start: the worker the start began, not a second one
    resumed = [ss.start_worker(str(prepared), str(first), 1) for _ in range(2)]
    assert all(r.repeat for r in resumed) and len(no_processes["studies"]) == 1


def test_cancel_clicked_twice_stops_once(prepared, no_processes):
    from dashboard import services

    results = [services.cancel(str(prepared), "0123456789abcdef") for _ in range(2)]
    assert no_processes["cancels"] == ["0123456789abcdef"]
    assert [r.repeat for r in results] == [False, True] and results[1] == "stopping"


def test_a_failed_start_is_not_remembered(tmp_path):
    from experiments.once import once

    calls = []

    def fail():
        calls.append(1)
        raise ValueError("the data is not prepared")

    for _ in range(2):
        with pytest.raises(ValueError):
            once(tmp_path, "run", {"a": 1}, fail)
    assert len(calls) == 2
    assert once(tmp_path, "run", {"a": 1}, lambda: "r1") == "r1"
    assert once(tmp_path, "run", {"a": 1}, lambda: "r2", window=0) == "r2"  # outside the window: a new start


def test_one_click_start_clicked_twice_starts_one_comparison(prepared, no_processes):
    import pandas as pd

    from dashboard import comparison_services as cs

    study = cs.comparison_study(cs.base_study("variants", "heartbeat"),
                                ["rnn · bidirectional=false", "gru · bidirectional=false"], "double click")
    p = cs.plan(pd.DataFrame(), study, "heartbeat", 1, 5, workers=1)
    (first, created), (second, again) = cs.launch(str(prepared), p), cs.launch(str(prepared), p)
    assert len(no_processes["studies"]) == 1, "two study workers started"
    assert str(first) == str(second) and created and not again and second.repeat


# ---------------------------------------------------------------------------
# a class opening the pages at once: one store read for every session, again when the store changes
def test_sessions_opening_a_page_together_share_one_store_read(tmp_path, monkeypatch):
    import time
    from concurrent.futures import ThreadPoolExecutor

    from dashboard import services
    from experiments import queries

    home = tmp_path / "home"
    home.mkdir()
    (home / "mlflow.db").write_bytes(b"v1")
    reads = []

    def list_runs(h, limit=500):
        reads.append(1)
        time.sleep(0.5)  # the listing takes a while: every session arrives meanwhile
        return [{"run_id": f"r{len(reads)}", "start_time": 0}]

    monkeypatch.setattr(queries, "list_runs", list_runs)
    services.runs.clear()
    with ThreadPoolExecutor(30) as pool:
        frames = list(pool.map(lambda _: services.runs(str(home)), range(30)))
    assert len(reads) == 1, f"{len(reads)} store reads for 30 sessions"
    assert all(f["run_id"].tolist() == ["r1"] for f in frames)
    frames[0]["added"] = 1  # a page that adds a column changes only its own copy
    assert "added" not in services.runs(str(home))
    assert len(reads) == 1
    # a run changes: the next session reads the store again, once
    (home / "mlflow.db").write_bytes(b"v2 with a new run")
    assert services.runs(str(home))["run_id"].tolist() == ["r2"] and len(reads) == 2
    with ThreadPoolExecutor(10) as pool:
        frames = list(pool.map(lambda _: services.runs(str(home)), range(10)))
    assert len(reads) == 2 and all(f["run_id"].tolist() == ["r2"] for f in frames)
    services.runs.clear()


def test_reference_import_from_elsewhere_on_the_command_line_is_one_line(tmp_path, home, capsys):
    from experiments.__main__ import main

    root = _root(tmp_path)
    rec = json.loads((root / "architectures" / NAMES[0]).read_text())
    rec["group"] = "../../outside"
    (root / "architectures" / NAMES[0]).write_text(json.dumps(rec))
    assert main(["reference", "import", "--from", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: reference record ") and "the group is '../../outside'" in err[0]
    assert not (home / "mlflow.db").exists()  # nothing written


@pytest.mark.slow
def test_an_import_waits_visibly_for_a_server_that_stops_and_finishes_when_it_returns(tmp_path):
    """A real tracking server stopped in the middle of an import, then
    started again on its port: the import says it waits, carries on, and
    loads every record once; nothing is left RUNNING."""
    import time

    from experiments import loopback as L

    root = _root(tmp_path)
    server = L.start_mlflow_server(tmp_path / "server")
    port = int(server.address.rsplit(":", 1)[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNN_ARENA_TRACKING_URI": server.address,
           "RNN_ARENA_SERVER_WAIT": "240", "RNN_ARENA_HOME": str(tmp_path / "home")}
    log = tmp_path / "import.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "experiments", "reference", "import", "--from", str(root)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    restarted = None
    try:
        def runs() -> int:
            try:
                with sqlite3.connect(tmp_path / "server" / "mlflow.db", timeout=5) as db:
                    return db.execute("SELECT count(*) FROM runs").fetchone()[0]
            except sqlite3.Error:
                return 0

        deadline = time.time() + 180
        while time.time() < deadline and runs() < 1 and proc.poll() is None:
            time.sleep(0.05)
        server.stop()  # the server goes away while the import works: its study run is there, its records not yet
        deadline = time.time() + 120
        while time.time() < deadline and "does not answer" not in log.read_text() and proc.poll() is None:
            time.sleep(0.5)
        said = log.read_text()
        if proc.poll() is None:
            assert "does not answer" in said and "of 240 s (RNN_ARENA_SERVER_WAIT)" in said, said
            restarted = L.start_mlflow_server(tmp_path / "server", port=port)
        assert proc.wait(timeout=300) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        for s in (server, restarted):
            if s is not None:
                s.stop()
    said = log.read_text()
    print(said)
    assert "loaded 2 reference run(s)" in said, said
    if restarted is not None:
        assert "answers again" in said
    with sqlite3.connect(tmp_path / "server" / "mlflow.db") as db:
        statuses = [s for (s,) in db.execute("SELECT status FROM runs")]
    assert "RUNNING" not in statuses and "SCHEDULED" not in statuses, statuses
    assert statuses.count("FINISHED") == 3  # two records and their study
