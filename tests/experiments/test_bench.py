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
                 "--variants", "bi-gru 2x64", "--quality", "--max-epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "time to quality" in out and "did NOT reach" in out or "reached the target" in out


@pytest.mark.parametrize("argv, message", [
    (["bench", "heartbeat", "--variants", "bi-transformer"], "unknown variant"),
    (["bench", "heartbeat", "--batches", "0"], "--batches 0 is too small"),
])
def test_bench_user_errors(home, kaggle_dir, argv, message, capsys):
    assert main(["prepare", "heartbeat", "--source", str(kaggle_dir)]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bench_needs_prepared_data(home, capsys):
    assert main(["bench", "heartbeat"]) == 2
    assert "not prepared" in capsys.readouterr().err
