"""Product titles: MercadoLibre 2019 Spanish titles in 632 categories
(core.data.titles reads and encodes them). The description, and the run's
tensors beside it. core.data.titles is imported when a hook runs: it brings
pandas and gensim."""
from __future__ import annotations

import json
from pathlib import Path

from core.workloads.base import Benchmarks, RunData, Workload

NO_DOWNLOAD = ("the titles data cannot be downloaded automatically; give --source PATH: a folder with "
               "spanish.{train,validation,test}.jsonl.gz, or the challenge's train.csv")


def _dataset_info(home: Path) -> dict | None:
    from core.data import titles as tt

    return tt.dataset_info(home)


def _prepared_classes(home: Path) -> list[str] | None:
    """The categories of the prepared titles, read from the cache's labels.json (pandas and gensim stay out)."""
    meta = Path(home) / "datasets" / "titles.json"
    if not meta.is_file():
        return None
    labels = Path(json.loads(meta.read_text())["cache"]) / "labels.json"
    return json.loads(labels.read_text())["categories"] if labels.is_file() else None


def _cache_ready(meta: dict) -> bool:
    return (Path(str(meta.get("cache", ""))) / "meta.json").is_file()


def _prepare(source: Path | None, home: Path, progress=None, log=print, **options) -> dict:
    from core.data import titles as tt

    if source is None:
        raise ValueError(NO_DOWNLOAD)
    return tt.prepare(source, home, progress=progress, log=log, **options)


def _overview(meta: dict, home: Path) -> dict:
    from core.data import titles as tt

    counts = meta["counts"]
    stats = tt.summaries(tt.load_titles(Path(home)))
    picked = stats["top_categories"] + stats["bottom_categories"]
    return {"summary": f"{sum(counts.values()):,} titles ({', '.join(f'{v:,} {k}' for k, v in counts.items())}), "
                       f"{meta['num_classes']} categories, vocabulary {meta['vocab_size']:,}.",
            "chart": {"names": [p["category"] for p in picked], "counts": [p["count"] for p in picked],
                      "title": "The 10 most and 10 least frequent categories (train)", "xlabel": "category"},
            "caption": "Categories are far more balanced than heartbeats, but there are 632 of them: "
                       "balanced accuracy is the study's metric."}


def _describe_prepared(meta: dict) -> list[str]:
    """What `prepare titles` prints: rows per split, the vocabulary, token counts and [UNK] shares."""
    from core.data import titles as tt

    stats = tt.summaries(tt.load_titles(Path(meta["cache"]).parents[1]))
    counts = meta["counts"]
    lines = [f"titles: {sum(counts.values()):,} rows from {meta['source']} ({meta['kind']}): "
             + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
             f"categories {meta['num_classes']:,}   vocabulary {meta['vocab_size']:,} (with [PAD], [UNK])   "
             f"max_len {meta['max_len']}",
             "tokens per title: " + ", ".join(f"{k} {v:.2f}" for k, v in meta.get("tokens_per_title", {}).items()),
             "[UNK] share of tokens: " + ", ".join(f"{k} {v:.2%}" for k, v in stats["unk_share"].items())]
    if "tokenize_titles_per_second" in meta:
        lines.append(f"preprocessing: {meta['tokenize_titles_per_second']:,} titles/s")
    if meta.get("dropped_categories"):
        lines.append(f"dropped {meta['dropped_categories']} categories with fewer than 3 rows ({meta['dropped_rows']} rows)")
    return lines


def load(cfg, home: Path, device, tensors: bool = True) -> RunData:
    """The run's splits as tensors on `device`, the vocabulary size, the raw
    test titles, and the TF-IDF texts or initial word vectors the model asks for (torch)."""
    from core.data import titles as tt
    from core.train import TensorSplit

    data = tt.load_titles(home)
    train, val, test = tt.make_splits(data, cfg.data.sample, cfg.data.split_seed, reliable_only=cfg.data.reliable_only)
    names = list(data.labels.categories)
    to = lambda t: TensorSplit.from_arrays(t.tokens, t.length, t.y, device)  # noqa: E731
    out = RunData(to(train), to(val), to(test), names, vocab_size=len(data.vocab),
                  test_examples=[str(t) for t in test.titles], token_names=list(data.vocab.tokens))
    if cfg.model.name == "tfidf":
        from core.text import tokenize_many

        out.texts = {name: [" ".join(toks) for toks in tokenize_many([str(t) for t in split.titles])]
                     for name, split in (("train", train), ("val", val), ("test", test))}
    elif cfg.model.word_vectors != "none":
        import torch

        from core.embeddings import train_word_vectors

        tokens = data.vocab.tokens
        sentences = [[tokens[i] for i in row[:n] if i > 1] for row, n in zip(train.tokens, train.length)]
        vectors = train_word_vectors(sentences, tokens, cfg.model.embedding_dim, cfg.model.word_vectors, cfg.train.seed)
        out.embedding_init = torch.as_tensor(vectors)
    return out


WORKLOAD = Workload(
    name="titles",
    title="Product titles: MercadoLibre 2019, Spanish (632 categories)",
    label="Product titles (MercadoLibre, 632 categories)",
    about="Spanish product titles, 632 categories",
    unit="titles",
    inputs="tokens",
    key_metric="balanced_accuracy",
    key_metric_name="balanced accuracy",
    prepare_help="Give a folder with the course's `spanish.{train,validation,test}.jsonl.gz`, or the challenge's "
                 "`train.csv`. NLTK's Spanish stopwords are needed: set `NLTK_DATA` where there is no network.",
    data_help="Build the encoded titles from the course's `spanish.{train,validation,test}.jsonl.gz` folder or the "
              "challenge's `train.csv` (needs NLTK's Spanish stopwords; set `NLTK_DATA` where there is no network):",
    prepare_commands=(("prepare titles --source PATH", ""),),
    dataset_info=_dataset_info,
    cache_ready=_cache_ready,
    prepare=_prepare,
    overview=_overview,
    describe_prepared=_describe_prepared,
    load=load,
    label_quality=True,
    prepare_options=("min_freq", "max_vocab"),
    needs_source=True,
    prepared_classes=_prepared_classes,
    classroom={
        "data.sample": 0.5, "model.hidden_size": 128, "model.embedding_dim": 100, "model.packed_impl": "reverse",
        "train.batch_size": 64, "train.optimizer": "adam", "train.lr": 3e-3, "train.schedule": "onecycle",
        "train.grad_clip": 1.0, "train.bucket": True, "train.epochs": 8, "train.monitor": "balanced_accuracy",
    },
    benchmarks=Benchmarks(
        variants=(("baseline mlp", {"model.name": "mlp"}),
                  *((f"{cell} (packed)", {"model.name": f"{cell}-packed"}) for cell in ("rnn", "gru", "lstm")),
                  *((f"bi-{cell} (packed)", {"model.name": f"{cell}-packed", "model.bidirectional": True})
                    for cell in ("lstm", "gru")),
                  ("tfidf reference", {"model.name": "tfidf"})),
        table_metrics=("balanced_accuracy", "accuracy", "macro_f1"),
        train_size=50_940,
        test_counts=(10,) * 632,
        models=("rnn-packed", "gru-packed", "lstm-packed", "gru-packed", "lstm-packed", "mlp", "tfidf"),
        skills=(0.1, 0.93, 6),
    ),
)
