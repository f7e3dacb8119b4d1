"""The titles workload through the runner and the CLI, on a tiny course-format fixture."""
import json

import numpy as np
import pytest
import torch

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data import titles as tt
from experiments import runner
from experiments.__main__ import main
from experiments.mlflow_tracker import client
from experiments.tags import DATASET_KEY_TAG


@pytest.fixture
def prepared_titles(home, titles_dir):
    tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
    return home


def _cfg(**model):
    return RunConfig(data=DataConfig(workload="titles", val_fraction=0.2),
                     model=ModelConfig(**{"hidden_size": 16, "embedding_dim": 8, **model}),
                     train=TrainConfig(epochs=3, batch_size=16, lr=1e-2, device="cpu"))


@pytest.mark.parametrize("model", [
    {"name": "mlp"},
    {"name": "mlp", "head_hidden": 8, "head_dropout": 0.2, "head_activation": "mish"},
    {"name": "lstm-packed", "bidirectional": True},
    {"name": "gru-packed", "word_vectors": "word2vec"},
    {"name": "rnn-packed", "word_vectors": "fasttext", "freeze_embeddings": True},
])
def test_neural_title_runs(prepared_titles, model):
    summary = runner.run(_cfg(**model), prepared_titles)
    run = client(prepared_titles).get_run(summary.run_id)
    assert run.info.status == "FINISHED"
    assert "test/balanced_accuracy" in run.data.metrics
    cfg, net = runner.load_model(prepared_titles, summary.run_id)
    data = tt.load_titles(prepared_titles)
    with torch.no_grad():
        pred = net(torch.as_tensor(data.test.tokens, dtype=torch.int64), torch.as_tensor(data.test.length, dtype=torch.int64))
    assert (pred.argmax(1).numpy() == data.test.y).mean() == pytest.approx(summary.test["accuracy"])


def test_tfidf_reference_is_logged_like_a_run(prepared_titles):
    summary = runner.run(_cfg(name="tfidf"), prepared_titles)
    c = client(prepared_titles)
    run = c.get_run(summary.run_id)
    assert run.info.status == "FINISHED" and summary.test["balanced_accuracy"] > 0.9
    preds = open(c.download_artifacts(summary.run_id, "predictions/test_predictions.csv")).read().splitlines()
    assert preds[0].endswith("text") and len(preds) == 1 + 8 * 4
    with pytest.raises(ValueError, match="keeps no neural weights"):
        runner.load_model(prepared_titles, summary.run_id)


def test_many_classes_get_sparse_confusions_and_extremes(prepared_titles, monkeypatch):
    monkeypatch.setattr(runner, "MANY_CLASSES", 4)  # the fixture has 8 categories
    summary = runner.run(_cfg(name="mlp"), prepared_titles)
    c = client(prepared_titles)
    sparse = json.load(open(c.download_artifacts(summary.run_id, "report/confusion_sparse.json")))
    assert sum(v for _, _, v in sparse["cells"]) == 32 and len(sparse["labels"]) == 8
    text = open(c.download_artifacts(summary.run_id, "report/classification_report.txt")).read()
    assert "worst classes by F1" in text


def test_cli_prepare_and_run_titles(home, titles_dir, capsys):
    assert main(["prepare", "titles", "--source", str(titles_dir)]) == 0
    out = capsys.readouterr().out
    assert "categories 8" in out and "[UNK] share of tokens" in out and "titles/s" in out
    assert main(["run", "titles", "--model", "lstm-packed", "--bidirectional", "--sample", "0.5", "--epochs", "1",
                 "--hidden-size", "8", "--embedding-dim", "8", "--quiet"]) == 0
    assert "balanced_accuracy" in capsys.readouterr().out
    assert main(["run", "titles", "--model", "tfidf", "--quiet"]) == 0
    assert main(["run", "titles", "--max-shift", "3"]) == 2
    assert "heartbeat workload only" in capsys.readouterr().err
    assert main(["run", "heartbeat", "--model", "mlp"]) == 2
    assert "is for the titles workload" in capsys.readouterr().err


def test_titles_without_stopwords_corpus_is_a_clear_error(home, titles_dir, monkeypatch, capsys):
    monkeypatch.setenv("NLTK_DATA", str(home / "nowhere"))
    assert main(["prepare", "titles", "--source", str(titles_dir)]) == 2
    assert "NLTK_DATA" in capsys.readouterr().err


def test_prepare_options_and_the_dataset_key_is_recorded(home, titles_dir, capsys):
    assert main(["prepare", "titles", "--source", str(titles_dir), "--min-freq", "1"]) == 0
    key = json.loads((home / "datasets" / "titles.json").read_text())["key"]
    assert json.loads((home / "datasets" / "titles.json").read_text())["options"]["min_freq"] == 1
    assert main(["prepare", "titles", "--source", str(titles_dir), "--min-freq", "0"]) == 2
    summary = runner.run(_cfg(name="mlp"), home)
    assert client(home).get_run(summary.run_id).data.tags[DATASET_KEY_TAG] == key


def test_the_report_of_a_tfidf_run_says_why_it_has_no_curves(prepared_titles):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    runner.run(_cfg(name="tfidf"), prepared_titles)
    page = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "report.py")
    at = AppTest.from_file(page, default_timeout=90).run()
    assert not at.exception
    assert any("fitted in one pass" in i.value for i in at.info)
    assert not any("One epoch only" in c.value for c in at.caption)
    captions = " ".join(c.value for c in at.caption)
    assert "always predicting the most frequent class (" in captions and "N (normal)" not in captions


def test_a_title_run_explains_its_words_and_its_embedding(prepared_titles):
    import json

    summary = runner.run(_cfg(name="gru-packed", word_vectors="word2vec"), prepared_titles)
    c = client(prepared_titles)
    assert "arena.explain_error" not in c.get_run(summary.run_id).data.tags
    ex = json.load(open(c.download_artifacts(summary.run_id, "explain/explain.json")))
    assert ex["steps"] == len(ex["gradient_by_step"]) and ex["by_class"]
    first = ex["examples"][0]
    assert len(first["words"]) == len(first["attribution"]) == first["length"]
    assert ex["neighbours"] and all(len(v) == 5 for v in ex["neighbours"].values())
    for word, near in ex["neighbours"].items():
        assert word not in [w for w, _ in near] and all(-1 <= s <= 1 for _, s in near)
