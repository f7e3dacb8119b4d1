"""The words a class reads for a model, a config and a run, derived from the
registries' labels (core.cells, core.samplers, core.options): "GRU, both
directions", "simple RNN, packed", "weighted sampler". Torch-free.

The technical names (model.name=gru-packed, the MLflow params and a study's
config labels) stay what they are: these functions only say them in words.
"""
from __future__ import annotations

from typing import Any, Mapping

from core import cells, samplers

# a model name's second part: what it does with the zero padding after a sequence
MODES = {
    "padded": ("", "reads every step, the zero padding after the sequence included, and answers after it"),
    "packed": ("packed", "reads each sequence only to its true end: no padding in the way"),
    "trimmed": ("trimmed", "drops a fixed number of steps (mostly padding) from the end before reading"),
}
OTHER_MODELS = {
    "mlp": ("word-average MLP", "averages the word vectors of a title and classifies the average: no order"),
    "tfidf": ("TF-IDF + linear SVM", "the classical method: word and word-pair counts weighted by rarity, and a "
                                     "linear classifier"),
}
BOTH = "both directions"
AUGMENTATION_KEYS = ("data.noise_std", "data.scale_range", "data.max_shift")
AUGMENTATION = "augmentation"
BASELINE = "no imbalance handling"  # a config that adds nothing to the recipe (the samplers study's "none")


def _split(model: str) -> tuple[str, str]:
    cell, _, mode = str(model).partition("-")
    return cell, mode or "padded"


def model_words(model: str, bidirectional: bool = False) -> str:
    """'gru-packed', True -> 'GRU, packed, both directions'; an unknown name as it is."""
    if model in OTHER_MODELS:
        return OTHER_MODELS[model][0] + (f", {BOTH}" if bidirectional else "")
    cell, mode = _split(model)
    if cell not in cells.REGISTRY or mode not in MODES:
        return str(model)
    parts = [cells.get(cell).label or cell, MODES[mode][0]]
    if bidirectional:
        parts.append(BOTH)
    return ", ".join(p for p in parts if p)


def model_explain(model: str, bidirectional: bool = False) -> str:
    """The idea of a model in a sentence."""
    if model in OTHER_MODELS:
        return OTHER_MODELS[model][1].capitalize() + "."
    cell, mode = _split(model)
    if cell not in cells.REGISTRY or mode not in MODES:
        return ""
    text = f"{cells.get(cell).label}: {cells.get(cell).explain}; {MODES[mode][1]}"
    if bidirectional:
        text += "; a second pass reads backwards from the end, so nothing has to survive the whole sequence"
    return text + "."


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _off(key: str, value: Any) -> bool:
    """Whether an option's value is its 'nothing added' value."""
    if value is None or value is False or str(value).lower() in ("false", "none", "", "0", "0.0"):
        return True
    return key == "train.sampler" and value == samplers.NONE


def _value(key: str, value: Any) -> str:
    from core import options as O

    label = O.option(key).label
    if isinstance(value, bool) or str(value).lower() in ("true", "false"):
        return label if _true(value) else f"no {label}"
    if key == "train.sampler":
        s = samplers.REGISTRY.get(str(value))
        return (s.words or s.name) if s else str(value)
    if key == "data.rhythm":  # "rr": the RR intervals, said as what they are
        return "beat + rhythm" if str(value) != "none" else "beat only"
    if key == "data.window":
        return "from the P wave" if str(value) == "p-wave" else "from the R peak"
    return f"{label} {value}"


def config_name(overrides: Mapping[str, Any], named: Mapping[str, str] | None = None) -> str:
    """A config in words from the options it sets on top of a shared recipe:
    {"model.name": "gru", "model.bidirectional": True} -> "GRU, both directions";
    {"train.sampler": "weighted"} -> "weighted sampler"; {} -> "no imbalance
    handling". `named`: option -> the name of the level that set it, used for
    options without words of their own (a grid's "adam 1e-3, no dropout")."""
    over = dict(overrides)
    named = dict(named or {})
    parts: list[str] = []
    if "model.name" in over:
        parts.append(model_words(str(over.pop("model.name")), _true(over.pop("model.bidirectional", False))))
    elif "model.bidirectional" in over:
        parts.append(BOTH if _true(over.pop("model.bidirectional")) else "one direction")
    if "train.sampler" in over:
        value = over.pop("train.sampler")
        if not _off("train.sampler", value) or not parts:
            parts.append(_value("train.sampler", value))
    if "train.class_weighted_loss" in over:
        value = over.pop("train.class_weighted_loss")
        if _true(value):
            parts.append(_value("train.class_weighted_loss", True))
    aug = {k: over.pop(k) for k in AUGMENTATION_KEYS if k in over}
    if any(not _off(k, v) for k, v in aug.items()):
        parts.append(AUGMENTATION)
    used_levels: list[str] = []
    for key, value in over.items():
        level = named.get(key)
        if level is not None:
            if level not in used_levels:
                used_levels.append(level)
            continue
        parts.append(_value(key, value))
    parts += used_levels
    return ", ".join(parts) if parts else BASELINE


def run_name(params: Mapping[str, Any]) -> str:
    """A run in words from its MLflow params: the model, then what it adds
    ("GRU, both directions · weighted sampler · 4 samples a step")."""
    p = {k: str(v) for k, v in params.items()}
    model = p.get("model.name", "?")
    head = model_words(model, _true(p.get("model.bidirectional", "false")))
    extra = []
    if model not in OTHER_MODELS and p.get("model.num_layers", "1") not in ("", "1"):
        extra.append(f"{p['model.num_layers']} layers")
    if p.get("model.hidden_size") and model != "tfidf":
        extra.append(f"memory {p['model.hidden_size']}")
    sampler = p.get("train.sampler", samplers.NONE)
    if not _off("train.sampler", sampler):
        extra.append(_value("train.sampler", sampler))
    if _true(p.get("train.class_weighted_loss", "false")):
        extra.append(_value("train.class_weighted_loss", True))
    if any(not _off(k, p.get(k)) for k in AUGMENTATION_KEYS):
        extra.append(AUGMENTATION)
    if p.get("data.normalize", "none") not in ("", "none"):
        extra.append("standardised")
    if p.get("model.frame", "1") not in ("", "1"):
        extra.append(f"{p['model.frame']} samples a step")
    if p.get("data.split", "intra-patient") == "inter-patient":
        extra.append("new patients")
    if p.get("data.rhythm", "none") not in ("", "none"):
        extra.append(_value("data.rhythm", p["data.rhythm"]))
    if p.get("data.window", "r-peak") not in ("", "r-peak"):
        extra.append(_value("data.window", p["data.window"]))
    return " · ".join([head, *extra])


def explain(overrides: Mapping[str, Any]) -> str:
    """One line on what a config does, from the registries' explanations."""
    over = dict(overrides)
    lines = []
    if "model.name" in over:
        lines.append(model_explain(str(over["model.name"]), _true(over.get("model.bidirectional", False))))
    sampler = over.get("train.sampler")
    if sampler is not None and str(sampler) in samplers.REGISTRY and samplers.get(str(sampler)).explain:
        lines.append(samplers.get(str(sampler)).explain.capitalize() + ".")
    if _true(over.get("train.class_weighted_loss", False)):
        from core import options as O
        lines.append(O.option("train.class_weighted_loss").idea)
    if any(not _off(k, over.get(k)) for k in AUGMENTATION_KEYS):
        lines.append("Augmentation: training beats get a little noise, a random height and a small time shift, so "
                     "rare classes look less like the same few examples.")
    if not over:
        lines.append("The recipe as it is: nothing added for the rare classes.")
    return " ".join(line for line in lines if line)
