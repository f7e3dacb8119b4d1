from pathlib import Path

from experiments import settings


def test_store_label_names_the_server_when_runs_go_to_one(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(settings.ENV_TRACKING_URI, raising=False)
    assert settings.store_label(tmp_path) == str(tmp_path)
    monkeypatch.setenv(settings.ENV_TRACKING_URI, "http://127.0.0.1:5123")
    assert settings.store_label(tmp_path) == "the tracking server http://127.0.0.1:5123"
