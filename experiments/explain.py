"""Inside a finished run (core.explain): the gradient through time over a
fixed, seeded set of test items per class, example items with each step's
share of the decision, and one item's hidden state over time. Computed once
at the end of training and stored with the run (explain/explain.json), and
by `python -m experiments explain RUN_ID --json PATH` for any run whose
weights are kept.

Inputs are prepared as the run trained on them: z-scored with the training
split's statistics where the run did so; padding stays zero.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

PER_CLASS = 32  # test items per class behind each curve
MAX_ITEMS = 640  # with many classes (titles), fewer per class so that the cost stays bounded
EXAMPLES_PER_CLASS = 1  # a correct and a misclassified example of each class, where there is one
ARTIFACT = "explain/explain.json"


def _prepared(cfg, data):
    """The test split as the model saw it in training (core.train's z-score on train's statistics)."""
    from core.train import apply_zscore, zscore_stats

    test = data.test
    if cfg.data.normalize == "zscore" and test.x.is_floating_point():
        mean, std = zscore_stats(data.train)
        test = apply_zscore(test, mean, std)
    return test


def compute(cfg, model, data, class_names, per_class: int = PER_CLASS, seed: int = 0) -> dict[str, Any]:
    """The explanation of a trained model on its run's test split, as plain data."""
    import torch

    from core import explain as E

    from core.metrics import MANY_CLASSES

    started = time.perf_counter()
    model = model.cpu().eval()
    test = _prepared(cfg, data)
    y = test.y.cpu().numpy()
    many = len(class_names) > MANY_CLASSES  # titles: hundreds of classes, a bounded draw and no per-class curves
    if many:
        per_class = max(1, min(per_class, MAX_ITEMS // len(class_names)))
    idx = E.pick_items(y, per_class, seed)
    pick = torch.as_tensor(idx, dtype=torch.int64)
    x, lengths, yy = test.x.cpu()[pick], test.lengths.cpu()[pick], test.y.cpu()[pick]
    extra = None if test.extra is None else test.extra.cpu()[pick]
    curve = E.gradient_by_step(model, x, lengths, yy, extra)
    by_class = {}
    for c in ([] if many else np.unique(y[idx])):
        rows = torch.as_tensor(np.flatnonzero(y[idx] == c))
        by_class[class_names[int(c)]] = E.gradient_by_step(
            model, x[rows], lengths[rows], yy[rows], None if extra is None else extra[rows]).round(8).tolist()
    with torch.no_grad():
        logits = model(x, lengths) if extra is None else model(x, lengths, extra)
    pred = logits.argmax(dim=1).numpy()
    examples = _examples(model, x, lengths, yy.numpy(), pred, extra, class_names, test.x.is_floating_point())
    out: dict[str, Any] = {
        "steps": int(x.shape[1]), "items": int(len(idx)), "per_class": per_class, "seed": seed,
        "gradient_by_step": curve.round(8).tolist(), "by_class": by_class,
        "mean_length": float(lengths.double().mean()), "frame": int(cfg.model.frame),
        "sequence_mode": cfg.model.sequence_mode if cfg.model.name not in ("mlp", "tfidf") else "none",
        "bidirectional": bool(cfg.model.bidirectional), "examples": examples,
        "method": "integrated gradients (zero baseline, 32 steps): each step's share of the predicted class's "
                  "logit against the all-padding input; the shares add up to that difference",
    }
    if hasattr(model, "rnn") and test.x.is_floating_point():
        one = int(np.argmax(yy.numpy() != 0)) if (yy.numpy() != 0).any() else 0  # a beat that is not N, if any
        states = E.hidden_states(model, x[one : one + 1], lengths[one : one + 1])
        out["hidden"] = {"class": class_names[int(yy[one])], "length": int(lengths[one]),
                         "end_step": int(-(-int(lengths[one]) // max(1, cfg.model.frame))),
                         "states": np.round(states, 4).tolist()}
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def _examples(model, x, lengths, y, pred, extra, class_names, signal: bool) -> list[dict]:
    """A correct and a misclassified example of each class (where there is
    one) with each step's integrated-gradient share of the predicted class."""
    import torch

    from core import explain as E

    rows = []
    for c in np.unique(y)[:10]:  # at most 10 classes' examples
        for correct in (True, False):
            hit = np.flatnonzero((y == c) & ((pred == y) == correct))
            rows += [(int(i), correct) for i in hit[:EXAMPLES_PER_CLASS]]
    if not rows:
        return []
    pick = torch.as_tensor([i for i, _ in rows])
    attributions, gap = E.integrated_gradients(model, x[pick], lengths[pick], torch.as_tensor(pred[pick.numpy()]),
                                               None if extra is None else extra[pick])
    out = []
    for k, (i, correct) in enumerate(rows):
        n = int(lengths[i])
        item = {"class": class_names[int(y[i])], "predicted": class_names[int(pred[i])], "correct": correct,
                "length": n, "attribution": np.round(attributions[k, :n], 6).tolist(), "gap": float(gap[k])}
        if signal:
            item["x"] = np.round(x[i, :n].numpy().astype(np.float64), 4).tolist()
        else:
            item["tokens"] = x[i, :n].tolist()
        out.append(item)
    return out


def explain_run(home: Path, run_id: str, per_class: int = PER_CLASS, seed: int = 0) -> dict[str, Any]:
    """Load a finished run's weights and data and explain it (the CLI)."""
    import torch

    from experiments import runner, workloads

    cfg, model = runner.load_model(home, run_id)
    data = workloads.load(cfg, home, torch.device("cpu"))
    out = compute(cfg, model, data, data.class_names, per_class, seed)
    return {"run_id": run_id, **out}
