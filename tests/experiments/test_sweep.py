"""Sweeps: the queue in the store, resume after Ctrl-C, kill -9 and crashes,
local workers, Ray, and the ranked report."""
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.data import heartbeat as hb
from experiments import studies as S
from experiments import study_report, sweep
from experiments.__main__ import main
from experiments.launcher import process_identity
from experiments.mlflow_tracker import client, experiment_id
from experiments.tags import (
    ATTEMPTS_TAG, CONFIG_KEY_TAG, DIGEST_TAG, EPOCH_TAG, EXECUTOR_TAG, KEY_TAG, PROC_TAG
)

ROOT = Path(__file__).resolve().parents[2]
TINY = {"model.hidden_size": 4, "train.epochs": 1, "train.batch_size": 64, "train.device": "cpu"}


@pytest.fixture
def prepared(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    return home


def tiny_study(name="tiny", models=("gru", "rnn"), seeds=2, epochs=1) -> S.Study:
    return S.Study(name=name, base={**TINY, "train.epochs": epochs}, seeds=seeds,
                   factors=(S.Factor("model.name", tuple(S.Level(m, {"model.name": m}) for m in models)),))


def _fake(status, tags=None, run_id="r1"):
    return SimpleNamespace(info=SimpleNamespace(status=status, run_id=run_id), data=SimpleNamespace(tags=tags or {}))


def test_what_each_store_state_means_for_the_queue():
    dead = f"{socket.gethostname()}:99999999:?"
    assert sweep.state_of(_fake("FINISHED")) == sweep.DONE
    assert sweep.state_of(_fake("SCHEDULED")) == sweep.QUEUED
    assert sweep.state_of(_fake("RUNNING")) == sweep.QUEUED  # recorded, never started
    assert sweep.state_of(_fake("RUNNING", {PROC_TAG: process_identity()})) == sweep.RUNNING
    assert sweep.state_of(_fake("RUNNING", {PROC_TAG: dead})) == sweep.INTERRUPTED
    assert sweep.state_of(_fake("RUNNING", {PROC_TAG: dead}), in_flight={"r1"}) == sweep.RUNNING
    assert sweep.state_of(_fake("KILLED")) == sweep.INTERRUPTED
    assert sweep.state_of(_fake("FAILED", {"error_type": "ProcessDied"})) == sweep.INTERRUPTED
    assert sweep.state_of(_fake("FAILED", {"error_type": "ValueError"})) == sweep.FAILED
    # on another machine: a Ray task dies with the coordinator that owns it
    remote = {PROC_TAG: "elsewhere:12:34", EXECUTOR_TAG: "ray"}
    assert sweep.state_of(_fake("RUNNING", remote), coordinator_alive=True) == sweep.RUNNING
    assert sweep.state_of(_fake("RUNNING", remote), coordinator_alive=False) == sweep.INTERRUPTED


def _children(home, parent_id):
    return sweep.children(home, parent_id)


def test_cli_study_prints_the_table_and_resumes_without_rerunning(prepared, tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nbase: {model.hidden_size: 4, train.epochs: 1, train.batch_size: 64}\n"
                    "factors:\n  model.name: [gru, rnn]\nseeds: 2\n")
    assert main(["study", "--file", str(path), "--workers", "1", "--device", "cpu", "--boot", "200"]) == 0
    first = capsys.readouterr()
    assert "4 runs: 0 done" in first.err and "[4/4] done" in first.err
    assert "rank" in first.out and "macro-F1 [95% CI]" in first.out and "best" in first.out
    (study,) = sweep.list_studies(prepared)
    assert (study["done"], study["total"], study["parent_status"]) == (4, 4, "FINISHED")
    ends = {r.info.run_id: r.info.end_time for r in _children(prepared, study["parent_id"])}

    assert main(["study", "--file", str(path), "--workers", "1", "--device", "cpu", "--boot", "200"]) == 0
    again = capsys.readouterr()
    assert "4 runs: 4 done" in again.err and "] done" not in again.err  # nothing trained again
    assert {r.info.run_id: r.info.end_time for r in _children(prepared, study["parent_id"])} == ends
    assert len(sweep.list_studies(prepared)) == 1
    # parents stay out of the run list; children carry the parent tag
    assert main(["runs"]) == 0
    assert "study tiny" not in capsys.readouterr().out
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "architectures: 10 configs" in listed and study["parent_id"] in listed and "4/4 done" in listed


@pytest.mark.parametrize("argv, message", [
    (["study"], "name a study"),
    (["study", "nope"], "no built-in study 'nope'; choose one of: architectures"),
    (["study", "architectures", "--hidden-size", "-1"], "--hidden-size -1 must be a positive integer"),
    (["study", "architectures", "--seeds", "0"], "--seeds 0 must be between 1 and 100"),
    (["study", "architectures", "--address", "x"], "--address is for --executor ray"),
    (["study", "architectures", "--workers", "0"], "--workers 0 must be at least 1"),
    (["study", "tiny", "--resume", "abc"], "--resume continues a recorded study as it was defined"),
    (["study", "--resume", "abc"], "no study run 'abc'"),
])
def test_study_command_errors_are_one_line(prepared, argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1] and "Traceback" not in "".join(err)
    assert sweep.list_studies(prepared) == []  # nothing recorded


def test_interrupted_runs_run_again_failed_ones_only_when_asked(prepared):
    study = tiny_study()
    opened, result = sweep.run_study(prepared, study, "heartbeat", workers=1, log=lambda m: None)
    assert result.counts["done"] == 4
    runs = _children(prepared, opened.parent_id)
    c = client(prepared)
    killed, crashed, failed = runs[0].info.run_id, runs[1].info.run_id, runs[2].info.run_id
    c.set_terminated(killed, status="KILLED")  # as after Ctrl-C
    c.set_tag(crashed, "error_type", "ProcessDied")  # as reap_dead_runs leaves a kill -9
    c.set_terminated(crashed, status="FAILED")
    c.set_tag(failed, "error_type", "ValueError")  # a real error in training
    c.set_terminated(failed, status="FAILED")
    assert sweep.progress(prepared, opened.parent_id)["interrupted"] == 2
    # a study recorded before config keys were tagged, under a key computed another way, is still found
    for r in runs:
        c.delete_tag(r.info.run_id, CONFIG_KEY_TAG)
    c.set_tag(opened.parent_id, KEY_TAG, "an-older-key")
    assert sweep.find_study(prepared, study, "heartbeat") == opened.parent_id

    again, result = sweep.run_study(prepared, study, "heartbeat", workers=1, log=lambda m: None)
    assert again.parent_id == opened.parent_id and not again.created
    assert sorted(o["run_id"] for o in result.outcomes) == sorted([killed, crashed])
    assert result.counts["done"] == 3 and result.counts["failed"] == 1
    assert c.get_run(opened.parent_id).info.status == "FAILED"  # not every run finished
    assert "error_type" not in c.get_run(crashed).data.tags and c.get_run(crashed).data.tags[ATTEMPTS_TAG] == "2"

    _, result = sweep.run_study(prepared, study, "heartbeat", workers=1, log=lambda m: None, retry_failed=True)
    assert [o["run_id"] for o in result.outcomes] == [failed]
    assert result.counts["done"] == 4 and c.get_run(opened.parent_id).info.status == "FINISHED"
    assert len(_children(prepared, opened.parent_id)) == 4
    assert Counter(r.data.tags[DIGEST_TAG] for r in _children(prepared, opened.parent_id)).most_common(1)[0][1] == 1


def test_one_coordinator_per_study(prepared):
    with sweep.study_lock(prepared, "k1"):
        with pytest.raises(ValueError, match="already being run by process"):
            with sweep.study_lock(prepared, "k1"):
                pass
        with sweep.study_lock(prepared, "k2"):  # another study is free
            pass
    with sweep.study_lock(prepared, "k1"):  # released
        pass


def test_report_ranks_with_intervals_tests_and_effects(prepared):
    study = S.Study(name="rep", base=TINY, seeds=2, factors=(
        S.Factor("model.name", (S.Level("gru", {"model.name": "gru"}), S.Level("rnn", {"model.name": "rnn"}))),
        S.Factor("model.bidirectional", (S.Level("false", {"model.bidirectional": False}),
                                         S.Level("true", {"model.bidirectional": True})))),
        notes={"rnn · bidirectional=false": "a lesson"})
    opened, _ = sweep.run_study(prepared, study, "heartbeat", workers=1, log=lambda m: None)
    rep = study_report.report(prepared, opened.parent_id, n_boot=100)
    rows = rep["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and rows[0]["verdict"] == "best"
    means = [r["macro_f1"] for r in rows]
    assert means == sorted(means, reverse=True)
    assert rep["test_size"] == 100 and all(r["seeds"] == 2 for r in rows)
    for r in rows[1:]:
        assert r["verdict"] in ("worse", "not different")
        assert r["diff_low"] <= r["diff"] <= r["diff_high"] and 0 < r["p_boot"] <= 1
        assert r["mcnemar_pairs"] == 2 and r["p_adjusted"] >= r["p"]
    effects = {e["factor"]: e for e in rep["effects"]}
    assert set(effects) == {"model.name", "model.bidirectional"}
    bi = effects["model.bidirectional"]["contrasts"][0]
    assert bi["matched"] == 2 and bi["reference"] == "false"
    text = study_report.table(rep, markdown=True)
    assert text.count("\n") == 5 and "| 1 |" in text
    # two seeds: the seed interval is uninformative, the test-set bootstrap's stands in, inside [0, 1]
    for r in rows:
        assert r["ci_method"] == "test-set bootstrap" and r["ci_informative"]
        for m in ("macro_f1", "accuracy", "balanced_accuracy"):
            assert 0 <= r[f"{m}_low"] <= r[f"{m}_high"] <= 1
        assert isinstance(r["learned"], bool) and r["per_seed"] and len(r["per_seed"]) == 2
    assert {r["config"]: r["note"] for r in rows}["rnn · bidirectional=false"] == "a lesson"
    assert sum(bool(r["note"]) for r in rows) == 1
    # --json rows: per_seed is test macro-F1 whatever the study ranks by (here balanced accuracy)
    by_bal = study_report.report(prepared, opened.parent_id, metric="balanced_accuracy", n_boot=50)
    summary = study_report.summary_rows(by_bal)
    runs = {r["run_id"]: r for r in by_bal["runs"]}
    for row in summary:
        mine = sorted((r for r in runs.values() if r["config"] == row["config"]), key=lambda r: r["seed"])
        assert row["metric"] == "macro_f1" and row["ranked_by"] == "balanced_accuracy"
        assert row["per_seed"] == [r["macro_f1"] for r in mine]
        assert row["scores"]["balanced_accuracy"]["per_seed"] == [r["balanced_accuracy"] for r in mine]
    bal_means = [row["scores"]["balanced_accuracy"]["mean"] for row in summary]
    assert bal_means == sorted(bal_means, reverse=True)  # in the study's rank order
    assert isinstance(rep["finding"], str) and rep["finding"].endswith(".") and rows[0]["name"] in rep["finding"]
    assert rep["seeds_to_settle"] is None or rep["seeds_to_settle"] > 2
    for e in rep["effects"]:
        assert all(0 <= lv["low"] <= lv["high"] <= 1 for lv in e["levels"] if lv["low"] == lv["low"])
    assert "with fewer than 3 seeds" in study_report.legend(rep).lower()


def _wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


EIGHT = ("name: eight\nbase: {model.hidden_size: 4, train.epochs: 3, train.batch_size: 16}\n"
         "factors:\n  model.name: [gru, rnn, lstm, gru-packed]\n  model.bidirectional: [false, true]\nseeds: 1\n")


def _start_sweep(home, path, workers):
    experiment_id(home, "heartbeat")  # the store exists before two processes open it
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNN_ARENA_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "experiments", "study", "--file", str(path), "--workers",
                             str(workers), "--threads", "1", "--device", "cpu"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_9_half_way_then_restart(home, path, workers, before_kill=None):
    """Start the sweep in its own process group, SIGKILL the whole group
    (coordinator and workers) once half the configs are done and one is
    training, restart it here, and check every config finished exactly once."""
    study = S.load_study(path)
    proc = _start_sweep(home, path, workers)
    state = {}
    try:
        parent = _wait_until(lambda: sweep.find_study(home, study, "heartbeat", 1, {"train.device": "cpu"}), 60,
                             "the study to be recorded")
        runs = lambda: _children(home, parent)  # noqa: E731

        def running_in(pids):
            return next((r for r in runs() if r.info.status == "RUNNING" and r.data.tags.get(PROC_TAG)
                         and pids(int(r.data.tags[PROC_TAG].split(":")[1]))), None)

        if before_kill:
            state.update(before_kill(proc, running_in))
        def mid_run():  # half the configs done, one past its first of three epochs
            rs = runs()
            return sum(r.info.status == "FINISHED" for r in rs) >= 4 and any(
                r.info.status == "RUNNING" and r.data.tags.get(EPOCH_TAG) == "1" for r in rs)

        _wait_until(mid_run, 120, "half the sweep done and a run training")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    except AssertionError:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(proc.stdout.read().decode()[-3000:]) from None
    log = proc.stdout.read().decode()
    before = {r.info.run_id: r for r in runs()}
    finished_before = {rid: r.info.end_time for rid, r in before.items() if r.info.status == "FINISHED"}
    assert 4 <= len(finished_before) < 8, log
    assert any(r.info.status == "RUNNING" for r in before.values()), log  # killed mid-run: it still says RUNNING

    _, result = sweep.run_study(home, study, "heartbeat", 1, {"train.device": "cpu"}, workers=1, log=lambda m: None)
    after = runs()
    assert result.counts["done"] == 8 and len(after) == 8
    per_config = Counter(r.data.tags[CONFIG_KEY_TAG] for r in after if r.info.status == "FINISHED")
    assert len(per_config) == 8 and set(per_config.values()) == {1}  # every config finished, exactly once
    assert all(r.info.end_time == finished_before[r.info.run_id] for r in after if r.info.run_id in finished_before)
    assert {o["run_id"] for o in result.outcomes}.isdisjoint(finished_before)  # none trained again
    assert client(home).get_run(parent).info.status == "FINISHED"
    return log, state


def test_kill_9_of_the_sweep_half_way_loses_nothing(prepared, tmp_path):
    path = tmp_path / "eight.yaml"
    path.write_text(EIGHT)
    _kill_9_half_way_then_restart(prepared, path, workers=1)


@pytest.mark.slow
def test_kill_9_of_one_local_worker_requeues_its_run(prepared, tmp_path):
    """With two worker processes, a worker killed with SIGKILL is noticed by
    the live sweep and its config re-queued; then the whole sweep is killed
    and restarted."""
    path = tmp_path / "eight.yaml"
    path.write_text(EIGHT)

    def kill_a_worker(proc, running_in):
        victim = _wait_until(lambda: running_in(lambda pid: pid != proc.pid), 90, "a run in a worker process")
        os.kill(int(victim.data.tags[PROC_TAG].split(":")[1]), signal.SIGKILL)
        return {"victim": victim.info.run_id}

    log, state = _kill_9_half_way_then_restart(prepared, path, workers=2, before_kill=kill_a_worker)
    assert "worker lost, re-queued" in log, log
    assert int(client(prepared).get_run(state["victim"]).data.tags[ATTEMPTS_TAG]) >= 2


def test_ray_runs_the_same_sweep(prepared):  # about 20 s, most of it starting Ray and its workers
    ray = pytest.importorskip("ray")
    study = tiny_study("on-ray", models=("gru", "lstm"), seeds=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        opened, result = sweep.run_study(prepared, study, "heartbeat", executor="ray", log=lambda m: None)
    finally:
        ray.shutdown()
    assert result.counts["done"] == 2 and result.counts["total"] == 2
    runs = _children(prepared, opened.parent_id)
    assert {r.data.tags[EXECUTOR_TAG] for r in runs} == {"ray"}
    assert all(r.info.status == "FINISHED" and "test/macro_f1" in r.data.metrics for r in runs)
    # each run trained in a Ray worker process, not in this one
    assert all(int(r.data.tags[PROC_TAG].split(":")[1]) != os.getpid() for r in runs)


def _rows(*specs):
    """Ranked rows as rank_runs makes them: (config, per-seed scores, verdict, Holm p, learned)."""
    rows = []
    for rank, (config, scores, verdict, p, learned) in enumerate(specs, start=1):
        rows.append({"config": config, "rank": rank, "seeds": len(scores), "mean": sum(scores) / len(scores),
                     "verdict": verdict, "p_adjusted": p, "learned": learned, "diff": 0.0})
    best = rows[0]["mean"]
    for r in rows[1:]:
        r.update(diff=best - r["mean"], diff_low=best - r["mean"] - 0.02, diff_high=best - r["mean"] + 0.02)
    return rows, {r["config"]: list(s[1]) for r, s in zip(rows, specs)}


def test_the_finding_sentence_from_the_ranking():
    from core import stats as core_stats

    rows, scores = _rows(("bi-GRU", [0.90, 0.92, 0.91], "best", float("nan"), True),
                         ("GRU", [0.78, 0.80, 0.79], "worse", 0.004, True),
                         ("RNN", [0.2, 0.25, 0.22], "worse", 0.001, False))
    finding, seeds = study_report._finding(rows, scores, "macro-F1", 0.05)
    low, high = core_stats.welch_ci([0.90, 0.92, 0.91], [0.78, 0.80, 0.79])  # 3 seeds: the interval over seeds
    assert finding == (f"bi-GRU beats GRU, the runner-up of 3 configs, by 0.12 macro-F1 [{low:.2f}, {high:.2f}] over "
                       "3 seeds, Holm p 0.004.") and seeds is None and (low, high) != (0.10, 0.14)
    rows, scores = _rows(("bi-GRU", [0.90, 0.84], "best", float("nan"), True),
                         ("GRU", [0.86, 0.82], "not different", 0.6, True))
    finding, seeds = study_report._finding(rows, scores, "macro-F1", 0.05)
    # 2 seeds: the test-set bootstrap's interval of the difference
    assert finding.startswith("These runs cannot tell bi-GRU from GRU: bi-GRU leads by 0.03 macro-F1 [0.01, 0.05]")
    from core.stats import seed_spread, seeds_to_settle

    assert seeds == seeds_to_settle(0.03, seed_spread([0.90, 0.84]), seed_spread([0.86, 0.82])) and seeds > 2
    assert f"about {seeds} seeds per config would settle it" in finding
    rows, scores = _rows(("A", [0.7], "best", float("nan"), True), ("B", [0.6], "not different", 0.2, True))
    finding, seeds = study_report._finding(rows, scores, "accuracy", 0.05)
    assert seeds is None and "cannot be computed (one seed per config gives no seed spread)" in finding
    rows, scores = _rows(("A", [0.7], "best", float("nan"), True))
    assert study_report._finding(rows, scores, "accuracy", 0.05)[0] == "Only A has finished runs: nothing to compare yet."


def test_the_finding_names_what_the_winner_pays_when_intervals_are_apart():
    def row(config, bal, acc, f1, learned=True, width=0.01):
        out = {"config": config, "learned": learned}
        for m, v in (("balanced_accuracy", bal), ("accuracy", acc), ("macro_f1", f1)):
            out.update({m: v, f"{m}_low": v - width, f"{m}_high": v + width})
        return out

    rows = [row("weighted sampler", 0.90, 0.94, 0.79), row("none", 0.82, 0.975, 0.86), row("augmentation", 0.79, 0.97, 0.83)]
    text = study_report._tradeoff(rows, "balanced_accuracy")
    assert text == ("It pays for its balanced accuracy in macro-F1 (0.790 against 0.860 for none) and accuracy "
                    "(0.940 against 0.975 for none): their intervals do not overlap.")
    # overlapping intervals, or a rival that did not learn, are no trade-off
    assert study_report._tradeoff([row("a", 0.9, 0.94, 0.8, width=0.05), row("b", 0.8, 0.97, 0.84, width=0.05)],
                                  "balanced_accuracy") == ""
    assert study_report._tradeoff([row("a", 0.9, 0.94, 0.8), row("b", 0.2, 0.97, 0.84, learned=False)],
                                  "balanced_accuracy") == ""


def _lesson_row(name, score, acc, state="learned", verdict="worse", note="", never=()):
    return {"config": name, "name": name, "macro_f1": score, "balanced_accuracy": score, "accuracy": acc,
            "state": state, "verdict": verdict, "note": note, "never_found": list(never), "learned_reason": ""}


def test_the_lesson_leads_with_what_fails_and_why_then_what_wins():
    rows = [_lesson_row("GRU, both directions", 0.92, 0.98, verdict="best"),
            _lesson_row("LSTM, both directions", 0.91, 0.98, verdict="not different"),
            _lesson_row("simple RNN, packed", 0.80, 0.97),
            _lesson_row("simple RNN", 0.37, 0.90, state="partly", note="read after the padding",
                        never=["S (supraventricular ectopic)", "F (fusion)"])]
    text = study_report.lesson(rows, "macro_f1")
    assert text.startswith("Simple RNN (macro-F1 0.37) only partly learns, never finding S (supraventricular "
                           "ectopic), F (fusion). Why: read after the padding.")
    assert "Best: “GRU, both directions” and “LSTM, both directions” (macro-F1 0.91–0.92)" in text


def test_the_lesson_measures_every_treatment_against_the_same_baseline():
    rows = [_lesson_row("weighted sampler", 0.92, 0.96, verdict="best"),
            _lesson_row("class-weighted loss", 0.91, 0.97, verdict="not different"),
            _lesson_row("no imbalance handling", 0.87, 0.98)]
    text = study_report.lesson(rows, "balanced_accuracy", rows[2])
    assert text == ("Weighted sampler lifts balanced accuracy most. Against no imbalance handling (balanced accuracy "
                    "0.87, accuracy 0.98): weighted sampler buys +0.05 balanced accuracy for −0.02 accuracy; "
                    "class-weighted loss buys +0.04 balanced accuracy for −0.01 accuracy.")
    # nothing learned: no lesson, the finding says what to try
    assert study_report.lesson([_lesson_row("a", 0.1, 0.5, state="not learned"),
                                _lesson_row("b", 0.1, 0.5, state="not learned")], "macro_f1") == ""


def test_learned_reads_as_a_three_way_verdict():
    assert study_report.learned_text({"state": "learned"}) == "learned"
    assert study_report.learned_text({"state": "partly", "note": "x"}) == "partly (expected)"
    assert study_report.learned_text({"state": "not learned", "unlearned": 1, "seeds": 3}).startswith(
        "⚠ not learned, 1/3 seeds")
