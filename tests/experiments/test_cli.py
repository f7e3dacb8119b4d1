"""The CLI as a user meets it: in-process for speed, and once as a real
subprocess to check the exit status and that no traceback reaches stderr."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_prepare_run_runs_export(home, records_dir, tmp_path, capsys):
    assert main(["prepare", "heartbeat", "--source", str(records_dir)]) == 0
    out = capsys.readouterr().out
    assert "207 beats" in out and "train" in out and "test" in out
    assert main(["prepare", "heartbeat", "--source", str(records_dir)]) == 0
    assert "reused from the cache" in capsys.readouterr().out
    assert main(["run", "heartbeat", "--model", "gru-packed", "--bidirectional", "--sample", "0.5", "--epochs", "2",
                 "--hidden-size", "8", "--sampler", "weighted", "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "FINISHED" in out and "macro_f1" in out and "balanced_accuracy" in out
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "FINISHED" in out and "bi-gru-packed 1x8" in out
    assert main(["export", "heartbeat", "--out", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "mitbih_train.csv").is_file()


def test_home_option_overrides_the_environment(tmp_path, records_dir, capsys, monkeypatch):
    monkeypatch.setenv("RNN_ARENA_HOME", str(tmp_path / "env-home"))
    assert main(["--home", str(tmp_path / "flag-home"), "prepare", "heartbeat", "--source", str(records_dir)]) == 0
    assert (tmp_path / "flag-home" / "datasets" / "heartbeat.json").is_file()
    assert not (tmp_path / "env-home" / "datasets").exists()


@pytest.mark.parametrize("argv, message", [
    (["run", "heartbeat", "--hidden-size", "-3"], "--hidden-size -3 must be a positive integer"),
    (["run", "heartbeat", "--model", "transformer"], "--model 'transformer' is not valid; choose one of: rnn"),
    (["run", "heartbeat", "--lr", "fast"], "--lr 'fast' is not a valid float"),
    (["run", "heartbeat", "--sample", "2"], "--sample 2.0 must be in (0, 1]"),
    (["run", "heartbeat", "--optimizer", "adagrad"], "choose one of: adam, adamw, sgd, rmsprop"),
    (["run"], "name a workload"),
    (["run", "--resume", "0123"], "no run '0123'"),
    (["prepare", "heartbeat", "--source", "/no/such/path"], "no such file or folder"),
    (["export", "heartbeat", "--out", "x"], "not prepared"),
    (["run", "heartbeat", "--preset", "turbo"], "unknown preset 'turbo'; choose one of: quick-look, best-bigru, fast"),
    (["run", "heartbeat", "--preset", "titles-mlp"], "preset 'titles-mlp' is for the titles workload"),
    (["run", "heartbeat", "--schedule", "warmup-cosine", "--epochs", "2", "--warmup-epochs", "3"],
     "--warmup-epochs 3.0 must be between 0 and train.epochs (2)"),
    (["run", "heartbeat", "--readout", "middle"], "--readout 'middle' is not valid; choose one of: final, end"),
    (["run", "heartbeat", "--split", "by-beat"], "--split 'by-beat' is not valid; choose one of: intra-patient, inter-patient"),
    (["run", "titles", "--split", "inter-patient"], "data.split apply to the heartbeat workload only"),
])
def test_user_errors_are_one_line(home, argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_run_before_prepare(home, capsys):
    assert main(["run", "heartbeat", "--epochs", "1"]) == 2
    assert "prepare heartbeat" in capsys.readouterr().err


def test_unwritable_home(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--home", str(blocker), "runs"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_models_and_empty_runs(home, capsys):
    assert main(["models"]) == 0
    assert "lstm-packed" in capsys.readouterr().out
    assert main(["runs"]) == 0
    assert "no runs recorded" in capsys.readouterr().out


def test_subprocess_exit_status_and_help(tmp_path):
    env = {**os.environ, "RNN_ARENA_HOME": str(tmp_path / "h"), "OMP_NUM_THREADS": "1"}
    bad = subprocess.run([sys.executable, "-m", "experiments", "run", "heartbeat", "--hidden-size", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == ["error: --hidden-size 0 must be a positive integer"]
    helped = subprocess.run([sys.executable, "-m", "experiments", "run", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--bidirectional" in helped.stdout and "--sample" in helped.stdout
    assert "--split" in helped.stdout and "inter-patient" in helped.stdout


def test_preset_fills_options_and_explicit_options_win():
    from experiments.__main__ import _config_from_args, build_parser

    args = build_parser().parse_args(["run", "heartbeat", "--preset", "fast", "--epochs", "3", "--hidden-size", "32"])
    cfg = _config_from_args(args)
    assert (cfg.train.schedule, cfg.model.readout, cfg.model.frame, cfg.train.bucket) == ("onecycle", "end", 2, True)
    assert (cfg.train.epochs, cfg.model.hidden_size) == (3, 32)
    titles = _config_from_args(build_parser().parse_args(["run", "--preset", "titles-mlp"]))
    assert (titles.data.workload, titles.model.name) == ("titles", "mlp")


def test_inter_patient_run_tests_on_ds2_and_reports_sensitivity_and_ppv(home, interpatient_records_dir, capsys):
    from core.data import heartbeat as hb
    from experiments.queries import list_runs
    from experiments.runner import load_config

    assert main(["prepare", "heartbeat", "--source", str(interpatient_records_dir)]) == 0
    capsys.readouterr()
    assert main(["run", "heartbeat", "--split", "inter-patient", "--epochs", "1", "--hidden-size", "8", "--quiet",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    beats = hb.load_beats(home)
    assert f"test {int(hb.record_sets(beats)['DS2'].sum()):,}" in captured.err  # the DS2 beats, all of them
    assert "Se/recall" in captured.out and "PPV/precision" in captured.out and "tested on the DS2 records" in captured.out
    run_id = list_runs(home, "heartbeat")[0]["run_id"]
    assert load_config(home, run_id).data.split == "inter-patient"


def test_inter_patient_on_kaggle_csvs_says_why_and_records_nothing(home, kaggle_dir, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    capsys.readouterr()
    for argv in (["run", "heartbeat", "--split", "inter-patient", "--epochs", "1"],
                 ["study", "architectures", "--split", "inter-patient", "--report"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "needs the record each beat comes from" in err and "prepare heartbeat" in err and err.count("\n") == 1
    assert main(["runs"]) == 0 and "no runs recorded" in capsys.readouterr().out


def test_studies_take_the_split_option(home, interpatient_records_dir, capsys):
    from experiments import studies
    from experiments.__main__ import build_parser

    args = build_parser().parse_args(["study", "architectures", "--split", "inter-patient"])
    overrides = {k: v for k, v in vars(args).items() if "." in k and v is not None}
    trials = studies.trials(studies.builtin("architectures"), "heartbeat", overrides, 1)
    assert trials and all(t.config.data.split == "inter-patient" for t in trials)
    assert main(["prepare", "heartbeat", "--source", str(interpatient_records_dir)]) == 0
    capsys.readouterr()
    assert main(["study", "architectures", "--split", "inter-patient", "--report"]) == 0
    assert "has not been started" in capsys.readouterr().out
