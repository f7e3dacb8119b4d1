"""The speed benchmark on a tiny prepared home: it runs both loops, prints the
table and writes the JSON rows the issue names. Timings are not asserted."""
import json

import pytest

from experiments.__main__ import main


def test_bench_prints_table_and_json(home, kaggle_dir, tmp_path, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    capsys.readouterr()
    out_json = tmp_path / "bench.json"
    argv = ["bench", "heartbeat", "--device", "cpu", "--batches", "1", "--warmup", "1", "--eval-limit", "32",
            "--variants", "bi-gru 2x64,bi-gru 2x64 packed (reverse)", "--json", str(out_json)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "python -m experiments bench" in out and "| bi-gru 2x64 | 128 |" in out
    assert "the two loops take turns, 2 round(s) each" in out
    assert "time vs padded bi-gru 2x64" in out
    rows = json.loads(out_json.read_text())
    assert [r["variant"] for r in rows] == ["bi-gru 2x64", "bi-gru 2x64 packed (reverse)"]
    for r in rows:
        for key in ("workload", "variant", "device", "batch_size", "arena_samples_per_s", "plain_samples_per_s",
                    "ratio", "arena_metric", "plain_metric", "arena_seconds_to_quality", "plain_seconds_to_quality"):
            assert key in r
        assert r["arena_samples_per_s"] > 0 and r["plain_samples_per_s"] > 0
        assert r["ratio"] == pytest.approx(r["arena_samples_per_s"] / r["plain_samples_per_s"])


def test_bench_quality_on_tiny_data_reports_not_reached(home, kaggle_dir, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    assert main(["bench", "heartbeat", "--device", "cpu", "--batches", "1", "--warmup", "0", "--eval-limit", "16",
                 "--rounds", "1", "--variants", "bi-gru 2x64", "--quality", "--max-epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "time to quality" in out
    assert "did NOT reach the validation target by epoch 1" in out  # one epoch on 200 synthetic beats
    assert "MISSES the test target 0.985 / 0.92" in out


def test_bench_quality_preset_and_given_plain_epochs(home, kaggle_dir, tmp_path, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    out_json = tmp_path / "q.json"
    assert main(["bench", "heartbeat", "--device", "cpu", "--batches", "1", "--warmup", "0", "--eval-limit", "16",
                 "--variants", "bi-gru 2x64,bi-gru 1x128 frame 4", "--quality", "--quality-preset", "best-bigru",
                 "--seed", "3", "--max-epochs", "1", "--plain-epochs-to-quality", "40", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "arena, preset best-bigru (model.name=gru" in out and "train.seed=3" in out and "| bi-gru 1x128 frame 4 | 128 |" in out
    rows = json.loads(out_json.read_text())
    quality = rows[-1]
    assert quality["variant"] == "bi-gru 1x128, preset best-bigru, time to quality"
    assert quality["arena_seconds_to_quality"] is None  # not reached in one epoch
    plain_epoch = rows[0]["plain_seconds_per_epoch"]
    assert quality["plain_seconds_to_quality"] == pytest.approx(40 * plain_epoch)
    assert any("40 epochs to quality (given, not run here)" in n for n in quality["notes"])


@pytest.mark.parametrize("argv, message", [
    (["bench", "heartbeat", "--variants", "bi-transformer"], "unknown variant"),
    (["bench", "heartbeat", "--batches", "0"], "--batches 0 is too small"),
    (["bench", "heartbeat", "--rounds", "0"], "--rounds 0 is too small"),
    (["bench", "heartbeat", "--variants", "bi-gru 2x64", "--batches", "1", "--eval-limit", "8", "--quality",
      "--quality-preset", "titles-mlp"], "--quality-preset titles-mlp is not a full-data heartbeat preset"),
    (["bench", "heartbeat", "--variants", "bi-gru 2x64", "--batches", "1", "--eval-limit", "8", "--quality",
      "--quality-preset", "nope"], "unknown preset 'nope'"),
    (["bench", "heartbeat", "--variants", "bi-gru 2x64", "--batches", "1", "--eval-limit", "8", "--quality",
      "--seed", "-1"], "train.seed=-1 must be between 0 and"),
    (["bench", "heartbeat", "--variants", "bi-gru 2x64 (batch 512)", "--warmup", "1"],
     "--warmup 1 leaves no batch to time: the training split has 1 batch(es) of 512"),
])
def test_bench_user_errors(home, kaggle_dir, argv, message, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bench_needs_prepared_data(home, capsys):
    assert main(["bench", "heartbeat"]) == 2
    assert "not prepared" in capsys.readouterr().err
