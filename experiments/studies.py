"""Studies: a named set of run configs that differ in one or a few factors,
each trained with several seeds.

A study is base options (dotted RunConfig names, e.g. "model.hidden_size")
plus factors. A factor is either one option with a list of values
(`model.bidirectional: [false, true]`) or a named factor whose levels each set
several options (`imbalance: {none: {}, weighted: {train.sampler: weighted}}`).
`search: grid` crosses every level of every factor; `search: random` draws
`trials` points (seeded, so the same study always gives the same points)
from lists or from ranges (`{loguniform: [1e-4, 1e-2]}`, `{uniform: [a, b]}`,
`{int: [a, b]}`). Each point is run with seeds 0..seeds-1 (`train.seed`).

Built-in studies live in BUILTIN; users write the same structure in a YAML
file (data only), or, with allow_code, in a Python file that defines STUDY (a dict)
or a Study.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import workloads as W
from core.config import WORKLOADS, RunConfig, option_names

SEARCHES = ("grid", "random")
# what a study may rank by: the headline metrics, then metrics over some classes (heartbeats: SVEB F1 "f1_S",
# VEB F1 "f1_V", the 4-class macro-F1 "macro_f1_core"; core.workloads.Workload.class_metrics)
METRICS = ("macro_f1", "balanced_accuracy", "accuracy", *W.class_metrics())
STUDY_KEYS = {"name", "description", "workload", "base", "factors", "search", "trials", "seed", "seeds", "metric",
              "recipe", "notes", "question"}
RECIPES_NAMES = ("classroom", "none")  # "classroom": core.presets.CLASSROOM[workload] under the study's base


@dataclass(frozen=True)
class Level:
    label: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Factor:
    name: str  # an option ("model.bidirectional") or a free name ("imbalance")
    levels: tuple[Level, ...] = ()
    distribution: tuple[str, float, float] | None = None  # random search: ("loguniform", low, high)


@dataclass(frozen=True)
class Study:
    name: str
    description: str = ""
    base: dict[str, Any] = field(default_factory=dict)
    factors: tuple[Factor, ...] = ()
    search: str = "grid"
    trials: int = 0  # random search: how many points
    seed: int = 0  # random search: seed of the draw
    seeds: int = 3  # training seeds per point
    metric: str = "macro_f1"  # what the ranking sorts and tests
    workload: str | None = None  # None: the command's --workload decides
    recipe: str = "none"  # "classroom": every config starts from the workload's classroom recipe
    notes: dict[str, str] = field(default_factory=dict)  # config label -> why it is expected to fail (a lesson)
    question: str = ""  # the factor the study asks about: its finding leads with what that factor decides


@dataclass(frozen=True)
class Point:
    """One configuration of a study, before seeds."""
    index: int
    label: str  # e.g. "gru · bidirectional=true"
    levels: dict[str, str]  # factor name -> level label
    overrides: dict[str, Any]  # the options its factor levels set


@dataclass(frozen=True)
class Trial:
    """One run of a study: a point with one seed."""
    point: Point
    seed: int
    config: RunConfig

    @property
    def digest(self) -> str:
        return self.config.digest()

    @property
    def key(self) -> str:
        return config_key(self.config)


def config_key(cfg: RunConfig) -> str:
    """A config's identity within studies: a hash of the options that differ
    from their defaults, so an option added to RunConfig later (with a
    default) leaves the keys of recorded studies unchanged."""
    defaults = _default_params()
    changed = {k: v for k, v in cfg.to_params().items() if defaults.get(k) != v}
    return hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:12]


@functools.cache
def _default_params() -> dict[str, str]:
    return RunConfig().to_params()


# -- built-ins ---------------------------------------------------------------
def _short(option: str) -> str:
    return option.split(".", 1)[1] if "." in option else option


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(option: str, values: list) -> Factor:
    return Factor(option, tuple(Level(_label(v), {option: v}) for v in values))


def _named(name: str, levels: dict[str, dict[str, Any]]) -> Factor:
    return Factor(name, tuple(Level(label, dict(overrides)) for label, overrides in levels.items()))


# A unidirectional simple RNN that reads its state after the zero padding (187
# steps, or 150 trimmed, against a mean beat of 112) has to carry the beat
# through the zeros: its gradient vanishes on the way and it stays near
# always-N. That failure is the lesson of the original study's "RNN with zeros
# trimmed" (accuracy 0.43); packing (reading each beat to its true end), a
# gated cell or a second, backward direction all fix it.
READ_AFTER_ZEROS = ("a simple RNN read after the zero padding: the beat must survive dozens of zero steps and its "
                    "gradient vanishes on the way, so it stays near always-N; packing, a GRU/LSTM or a backward "
                    "direction fixes it")
ARCHITECTURES = Study(
    name="architectures",
    description="Simple RNN (padded, packed, trimmed), GRU and LSTM, each uni- and bidirectional.",
    factors=(
        _values("model.name", ["rnn", "rnn-packed", "rnn-trimmed", "gru", "lstm"]),
        _values("model.bidirectional", [False, True]),
    ),
    recipe="classroom",
    notes={"rnn · bidirectional=false": READ_AFTER_ZEROS, "rnn-trimmed · bidirectional=false": READ_AFTER_ZEROS},
)

SAMPLERS = Study(
    name="samplers",
    description="Ways to handle class imbalance on a GRU (as in the original study): none, a weighted sampler, a "
                "class-weighted loss, augmentation (noise, amplitude scaling, time shifts).",
    # batches cut to their longest beat: a GRU carries its state through the
    # padding anyway, and it trains 1.5x faster this way
    base={"model.name": "gru", "model.bidirectional": False, "train.bucket": True},
    factors=(
        _named("imbalance", {
            "none": {},
            "weighted sampler": {"train.sampler": "weighted"},
            "class-weighted loss": {"train.class_weighted_loss": True},
            "augmentation": {"data.noise_std": 0.02, "data.scale_range": 0.1, "data.max_shift": 5},
        }),
    ),
    # what imbalance handling is for: the recall of the rare classes, which
    # balanced accuracy (mean recall per class) shows and accuracy hides; the
    # finding names what the winner pays in accuracy and macro-F1
    metric="balanced_accuracy",
    recipe="classroom",
)

# The original 36-model grid, as a full factorial of four factors:
#   head activation relu / mish / tanh (the three stages of the original study)
#   x hidden size 64 / 128 x uni- / bidirectional
#   x training recipe, three coupled settings of dropout, optimizer, learning
#     rate and weight decay (crossing those four alone would give 54 more runs
#     per cell; the recipes span the combinations the original stages tried).
# A two-layer GRU with a 64-unit hidden head, so that the head activation and
# the dropout between recurrent layers both act.
RECIPES = {
    "adam 1e-3, no dropout": {"model.dropout": 0.0, "train.optimizer": "adam", "train.lr": 1e-3,
                              "train.weight_decay": 0.0},
    "adamw 3e-3, dropout 0.2, wd 1e-4": {"model.dropout": 0.2, "train.optimizer": "adamw", "train.lr": 3e-3,
                                         "train.weight_decay": 1e-4},
    "rmsprop 1e-3, dropout 0.3, wd 1e-5": {"model.dropout": 0.3, "train.optimizer": "rmsprop", "train.lr": 1e-3,
                                           "train.weight_decay": 1e-5},
}
GRID36 = Study(
    name="grid36",
    description="The original 36-model grid: head activation (relu, mish, tanh) x hidden 64/128 x uni/bidirectional "
                "x 3 training recipes (dropout, optimizer, learning rate, weight decay), on a 2-layer GRU.",
    base={"model.name": "gru", "model.num_layers": 2, "model.head_hidden": 64},
    factors=(
        _values("model.head_activation", ["relu", "mish", "tanh"]),
        _values("model.hidden_size", [64, 128]),
        _values("model.bidirectional", [False, True]),
        _named("recipe", RECIPES),
    ),
    recipe="classroom",
)

# The titles study's models on the titles classroom recipe: the mean-embedding
# MLP (the original baseline), a simple RNN, GRU, LSTM, bidirectional LSTM, and
# TF-IDF with a linear SVM as the classical reference.
TITLE_MODELS = Study(
    name="title-models",
    description="Product titles: mean-embedding MLP, simple RNN, GRU, LSTM and bidirectional LSTM (packed), and the "
                "TF-IDF + linear SVM reference.",
    workload="titles",
    factors=(
        _named("model", {
            "mlp": {"model.name": "mlp"},
            "rnn": {"model.name": "rnn-packed"},
            "gru": {"model.name": "gru-packed"},
            "lstm": {"model.name": "lstm-packed"},
            "bi-lstm": {"model.name": "lstm-packed", "model.bidirectional": True},
            "tfidf": {"model.name": "tfidf"},
        }),
    ),
    metric="balanced_accuracy",
    recipe="classroom",
)

# A new patient (de Chazal's inter-patient split: train on the DS1 records, test
# on DS2): a premature supraventricular (S) beat looks like a normal one; what
# gives it away is that it comes early for its patient. The beat alone hardly
# finds one; the beat with its rhythm (RR intervals, also divided by the
# patient's own mean RR) does. Ranked by the F1 of S (SVEB), the class the
# question is about; a square-root sampler is the imbalance handling that
# works here (the inverse-frequency one draws each of DS1's 8 Q beats about a
# thousand times per epoch).
RHYTHM = Study(
    name="rhythm",
    description="A new patient: does the beat's rhythm (RR intervals) help find premature beats? Beat only against "
                "beat + rhythm, on a bidirectional GRU and LSTM, with and without a square-root sampler; trained "
                "on the DS1 records, tested on the DS2 patients.",
    workload="heartbeat",
    # the classroom recipe on a 20% sample of DS1 for 6 epochs: 8 arms in about 10 minutes on 2 cores (the
    # reference runs train on all of DS1 for 10 epochs)
    base={"data.split": "inter-patient", "model.bidirectional": True, "data.sample": 0.2, "train.epochs": 6},
    factors=(
        # the arms with the rhythm and the sampler first: the full-data reference job trains them first
        _named("input", {"beat + rhythm": {"data.rhythm": "rr"}, "beat only": {}}),
        _named("model", {"bi-GRU": {"model.name": "gru"}, "bi-LSTM": {"model.name": "lstm"}}),
        _named("imbalance", {"square-root sampler": {"train.sampler": "sqrt"}, "none": {}}),
    ),
    metric="f1_S",
    recipe="classroom",
    question="input",
)

BUILTIN = {s.name: s for s in (ARCHITECTURES, SAMPLERS, GRID36, TITLE_MODELS, RHYTHM)}


def recipe_overrides(study: Study, workload: str) -> dict[str, Any]:
    """The options every config of the study starts from (before its base)."""
    if study.recipe == "none":
        return {}
    from core.presets import classroom

    return classroom(workload)


def builtin(name: str) -> Study:
    if name not in BUILTIN:
        raise ValueError(f"no built-in study {name!r}; choose one of: {', '.join(BUILTIN)}, or give --file my_study.yaml")
    return BUILTIN[name]


# -- user files ----------------------------------------------------------------
EXAMPLE_YAML = """\
name: my-study
description: Does a bidirectional GRU need a weighted sampler?
base:
  model.name: gru
  model.hidden_size: 32
factors:
  model.bidirectional: [false, true]
  imbalance:                       # a named factor: each level sets several options
    none: {}
    weighted: {train.sampler: weighted}
search: grid                       # or: random, with trials: N
seeds: 3
metric: macro_f1                   # or balanced_accuracy, accuracy; heartbeats also f1_S, f1_V, macro_f1_core
question: imbalance                # optional: the factor the finding leads with (what it decides)
"""


def load_study(path: str | Path, allow_code: bool = False) -> Study:
    """A study from a YAML file (data: nothing in it runs). A Python file
    defining STUDY (a dict or a Study) is run only with allow_code=True (the
    command line's --allow-code): its code runs with the user's rights."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"no study file {_cut(path)}; give a .yaml or .py file (see python -m experiments study --help)")
    if path.suffix == ".py":
        if not allow_code:
            raise ValueError(f"{_cut(path)} is a Python file: running it would run its code; a study file is YAML "
                             "data. Write the study as YAML, or, for a file you trust, add --allow-code")
        return _run_python_study(path)
    try:
        if path.stat().st_size > MAX_STUDY_BYTES:
            raise ValueError(f"{_cut(path)} is larger than {MAX_STUDY_BYTES // 1024} KiB; a study file is a short YAML text")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{_cut(path)} is not UTF-8 text (byte {exc.start}); save the study file as UTF-8 YAML") from None
    return study_from_text(text, str(path), default_name=path.stem)


def _run_python_study(path: Path) -> Study:
    import runpy

    try:
        namespace = runpy.run_path(str(path))
    except Exception as exc:
        raise ValueError(f"{_cut(path)}: {type(exc).__name__}: {_cut(exc, 200)}") from None
    spec = namespace.get("STUDY")
    if isinstance(spec, Study):
        return _checked(spec, str(path))
    if not isinstance(spec, dict):
        raise ValueError(f"{_cut(path)} must define STUDY, a dict like the YAML format or a Study")
    return study_from_dict(spec, str(path))


MAX_STUDY_BYTES = 1 << 20  # a study is a few lines; the dashboard's form takes the same text
MAX_YAML_NODES = 100_000  # values after aliases are expanded: far above any study, far below a "billion laughs"


def _cut(value: Any, limit: int = 120) -> str:
    """A path or quoted text as it appears in an error line: long ones cut short."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def parse_yaml(text: str, source: str = "study") -> Any:
    """YAML text as plain data (safe tags only), refusing what a study never
    needs and a hostile text uses: aliases that expand past MAX_YAML_NODES
    values ("billion laughs"), an alias that contains itself, and a key given
    twice in one mapping (YAML would silently keep the last)."""
    import yaml

    if len(text) > MAX_STUDY_BYTES:
        raise ValueError(f"{source} is longer than {MAX_STUDY_BYTES // 1024} KiB; a study is a short YAML text")
    loader = _strict_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"{source} is not valid YAML{where}: {_cut(getattr(exc, 'problem', None) or exc)}") from None
    finally:
        loader.dispose()


def _expanded_size(root: Any, source: str) -> int:
    """How many values the document holds once every alias is expanded,
    counted on the composed graph (an alias shares its node, so this is
    quick however large the expansion would be)."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [x for pair in node.value for x in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_YAML_NODES:
                raise ValueError(f"{source}: its aliases expand to more than {MAX_YAML_NODES:,} values; a study "
                                 "needs no more than a few hundred: write the values out")
            continue
        if id(node) in open_nodes:
            raise ValueError(f"{source}: an alias refers to the value that contains it; write the values out")
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise ValueError(f"{source}: an alias refers to the value that contains it; write the values out")
            stack.append((child, False))
    return sizes[id(root)]


@functools.cache
def _strict_loader() -> type:
    """yaml's safe loader (its C version where installed) that refuses a key given twice."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # "<<: *base" then a key of its own is how YAML overrides a merged value
                    key = self.construct_object(key_node, deep=True)
                    try:
                        duplicate = key in seen
                        seen.add(key)
                    except TypeError:
                        continue  # an unhashable key: the base constructor says so
                    if duplicate:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"key {_cut(key, 60)!r} is given twice in one mapping; keep one",
                            key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def study_from_text(text: str, source: str = "study", default_name: str | None = None) -> Study:
    spec = parse_yaml(text, source)
    if not isinstance(spec, dict):
        raise ValueError(f"{source} must be a mapping with base, factors and search "
                         "(see the example in python -m experiments study --help or the README)")
    if default_name and "name" not in spec:
        spec = {**spec, "name": default_name}
    return study_from_dict(spec, source)


def study_from_dict(spec: dict, source: str = "study") -> Study:
    unknown = set(spec) - STUDY_KEYS
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"valid: {', '.join(sorted(STUDY_KEYS))}")
    raw_name = spec.get("name")
    if raw_name is not None and (isinstance(raw_name, bool) or not isinstance(raw_name, (str, int))):
        raise ValueError(f"{source}: name must be a short text, e.g. name: my-study")
    name = str(raw_name or "").strip()
    if not name:
        raise ValueError(f"{source}: give the study a name (name: my-study)")
    base = spec.get("base") or {}
    if not isinstance(base, dict):
        raise ValueError(f"{source}: base must map options to values, e.g. model.hidden_size: 32")
    search = _text(spec, "search", "grid", source)
    factors_spec = spec.get("factors") or {}
    if not isinstance(factors_spec, dict) or not factors_spec:
        raise ValueError(f"{source}: factors must map each factor to its levels, e.g. model.bidirectional: [false, true]")
    factors = tuple(_factor(str(k), v, search, source) for k, v in factors_spec.items())
    notes = spec.get("notes") or {}
    if not isinstance(notes, dict):
        raise ValueError(f"{source}: notes must map a config's label to a line of text")
    study = Study(name=name, description=_text(spec, "description", "", source), base=dict(base), factors=factors,
                  search=search, trials=_whole(spec, "trials", 0, source), seed=_whole(spec, "seed", 0, source),
                  seeds=_whole(spec, "seeds", 3, source), metric=_text(spec, "metric", "macro_f1", source),
                  workload=None if spec.get("workload") is None else _text(spec, "workload", "", source),
                  recipe=_text(spec, "recipe", "none", source),
                  notes={str(k): str(v) for k, v in notes.items()},
                  question=_text(spec, "question", "", source))
    if study.question and study.question not in {f.name for f in factors}:
        raise ValueError(f"{source}: question: {study.question!r} is not one of the factors "
                         f"({', '.join(f.name for f in factors)})")
    return _checked(study, source)


def _whole(spec: dict, key: str, default: int, source: str) -> int:
    """An integer field: true/false or 2.9 is a mistake, not 1 or 2."""
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{source}: {key}: {_cut(_label(value), 40)} must be a whole number, e.g. {key}: {default or 3}")
    return value


def _text(spec: dict, key: str, default: str, source: str) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{source}: {key}: {_cut(_label(value), 40)} must be text")
    return value


def _factor(name: str, spec: Any, search: str, source: str) -> Factor:
    options = set(option_names())
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS:
        kind, bounds = next(iter(spec.items()))
        if name not in options:
            raise ValueError(f"{source}: factor {name!r} with a range must be an option such as train.lr")
        if search != "random":
            raise ValueError(f"{source}: factor {name}: a {kind} range needs search: random (a grid needs a list)")
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise ValueError(f"{source}: factor {name}: {kind} takes [low, high]")
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except (TypeError, ValueError):
            raise ValueError(f"{source}: factor {name}: {kind} bounds must be numbers") from None
        if not low < high or (kind == "loguniform" and low <= 0):
            raise ValueError(f"{source}: factor {name}: need 0 < low < high for loguniform, low < high otherwise")
        return Factor(name, (), (kind, low, high))
    if isinstance(spec, dict):  # named levels
        levels = []
        for label, overrides in spec.items():
            overrides = overrides or {}
            if not isinstance(overrides, dict):
                raise ValueError(f"{source}: factor {name}, level {label!r}: give the options it sets, "
                                 f"e.g. {{train.sampler: weighted}}")
            levels.append(Level(str(label), dict(overrides)))
        return Factor(name, tuple(levels))
    if isinstance(spec, list) and spec:
        if name not in options:
            close = [o for o in options if o.endswith("." + name)]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"{source}: factor {name!r} is not an option{hint}; a list of values needs an option "
                             f"name such as model.hidden_size, a free name needs named levels")
        return _values(name, spec)
    raise ValueError(f"{source}: factor {name}: give a list of values, named levels, or a range")


DISTRIBUTIONS = ("loguniform", "uniform", "int")


def _checked(study: Study, source: str) -> Study:
    if study.search not in SEARCHES:
        raise ValueError(f"{source}: search={study.search!r}; choose one of: {', '.join(SEARCHES)}")
    if study.search == "random" and not 1 <= study.trials <= 10_000:
        raise ValueError(f"{source}: random search needs trials: N with 1 <= N <= 10000")
    if not 1 <= study.seeds <= 100:
        raise ValueError(f"{source}: seeds={study.seeds} must be between 1 and 100")
    if study.metric not in METRICS:
        raise ValueError(f"{source}: metric={study.metric!r}; choose one of: {', '.join(METRICS)}")
    if study.workload is not None and study.workload not in WORKLOADS:
        raise ValueError(f"{source}: workload={study.workload!r}; choose one of: {', '.join(WORKLOADS)}")
    if len({f.name for f in study.factors}) != len(study.factors):
        raise ValueError(f"{source}: a factor is listed twice")
    if study.recipe not in RECIPES_NAMES:
        raise ValueError(f"{source}: recipe={study.recipe!r}; choose one of: {', '.join(RECIPES_NAMES)}")
    options = set(option_names())
    for where, overrides in [("base", study.base)] + [(f"factor {f.name}, level {lv.label!r}", lv.overrides)
                                                      for f in study.factors for lv in f.levels]:
        for key in overrides:
            if key not in options:
                raise ValueError(f"{source}: {where}: unknown option {key!r}; options look like model.hidden_size, "
                                 f"train.lr (see python -m experiments run --help)")
            if key == "train.seed":
                raise ValueError(f"{source}: {where}: train.seed is set by the study's seeds; use seeds: N")
    return study


MAX_CONFIGS = 10_000  # a grid larger than this is refused before it is expanded
ARM = "arm"  # a named factor whose levels are whole configs (a one-click comparison's ticked arms)
BARE_LABELS = ("model.name", ARM)  # factors whose level alone names a config ("gru", not "name=gru")
MAX_RUNS = 10_000  # configs x seeds: a study larger than this is refused before any config is built


def config_count(study: Study) -> int:
    """How many configs the study has, counted without expanding it."""
    if study.search == "random":
        return study.trials
    return math.prod(len(f.levels) for f in study.factors)


def check_size(study: Study, seeds: int) -> None:
    """Refuse a study of more than MAX_RUNS runs before anything is expanded."""
    configs = config_count(study)
    if configs * seeds > MAX_RUNS:
        raise ValueError(f"study {study.name}: {configs:,} configs x {seeds} seeds = {configs * seeds:,} runs, more "
                         f"than {MAX_RUNS:,}; use fewer levels, trials or seeds")


# -- expansion ---------------------------------------------------------------------
def points(study: Study) -> list[Point]:
    """Every configuration of the study (before seeds), in a stable order."""
    if study.search == "grid":
        if any(f.distribution for f in study.factors):
            raise ValueError(f"study {study.name}: ranges need search: random")
        size = math.prod(len(f.levels) for f in study.factors)
        if size > MAX_CONFIGS:
            raise ValueError(f"study {study.name}: its grid has {size:,} configs (more than {MAX_CONFIGS:,}); "
                             "use fewer levels, or search: random with trials: N")
        combos = itertools.product(*(f.levels for f in study.factors))
    else:
        rng = random.Random(study.seed)
        combos = [[_draw(f, rng) for f in study.factors] for _ in range(study.trials)]
    out = []
    for i, combo in enumerate(combos):
        overrides: dict[str, Any] = {}
        levels = {}
        for f, level in zip(study.factors, combo):
            overrides.update(level.overrides)
            levels[f.name] = level.label
        label = " · ".join(v if k in BARE_LABELS else f"{_short(k)}={v}" for k, v in levels.items())
        out.append(Point(i, label, levels, overrides))
    return out


def _draw(f: Factor, rng: random.Random) -> Level:
    if f.distribution is None:
        return rng.choice(f.levels)
    kind, low, high = f.distribution
    if kind == "loguniform":
        value: Any = float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.3g}")
    elif kind == "uniform":
        value = float(f"{rng.uniform(low, high):.3g}")
    else:
        value = rng.randint(int(low), int(high))
    return Level(_label(value), {f.name: value})


def trials(study: Study, workload: str = "heartbeat", overrides: dict[str, Any] | None = None,
           seeds: int | None = None) -> list[Trial]:
    """Every run of the study: points x seeds, as validated RunConfigs.
    `overrides` (e.g. the command line's --sample, --epochs) apply on top of
    the study's base; a factor still sets its own options."""
    workload = study.workload or workload
    seeds = study.seeds if seeds is None else seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 100:
        raise ValueError(f"--seeds {seeds} must be between 1 and 100")
    check_size(study, seeds)
    base = RunConfig().replace(**{"data.workload": workload})
    out, seen = [], set()
    for p in points(study):
        merged = {**recipe_overrides(study, workload), **study.base, **(overrides or {}), **p.overrides}
        try:
            cfg = base.replace(**merged)
        except ValueError as exc:
            raise ValueError(f"study {study.name}, config {p.label}: {exc}") from None
        if config_key(cfg) in seen:  # random search drew a config twice: run it once
            continue
        seen.add(config_key(cfg))
        for seed in range(seeds):
            out.append(Trial(p, seed, cfg.replace(**{"train.seed": seed})))
    return out


class WrongWorkload(ValueError):
    """A study asked to run on another workload than the one it is for."""

    def __init__(self, study: Study, asked: str):
        super().__init__(f"study {study.name} is for the {study.workload} workload")
        self.asked = asked


def checked_trials(study: Study, workload: str | None, overrides: dict[str, Any] | None, seeds: int | None,
                   home: Path) -> tuple[str, list[Trial]]:
    """What starting (or resuming) a study checks before anything is
    recorded, for the CLI and the dashboard alike: the workload it runs on
    (its own, else the one asked for, else the default; asking for another
    than its own is WrongWorkload), every config valid, and the data prepared
    in `home` and able to serve every config. The workload and the trials;
    ValueError: what to fix."""
    from experiments import workloads

    if study.workload and workload and workload != study.workload:
        raise WrongWorkload(study, workload)
    workload = study.workload or workload or RunConfig().data.workload
    trial_list = trials(study, workload, overrides, seeds)
    workloads.check_ready({t.config: None for t in trial_list}, home)
    return workload, trial_list


def study_key(study: Study, trial_list: list[Trial]) -> str:
    """Same study name and the same runs: the same key (how a rerun finds its study)."""
    text = json.dumps([study.name, sorted(t.key for t in trial_list)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def factor_names(study: Study) -> list[str]:
    return [f.name for f in study.factors]


def varied_options(study: Study) -> set[str]:
    """Options some factor sets (a command-line value for them is overridden)."""
    keys = {f.name for f in study.factors if f.distribution}
    return keys | {k for f in study.factors for lv in f.levels for k in lv.overrides}


def describe(study: Study, seeds: int | None = None) -> str:
    """One line: its configs, the seeds (the study's own, or `seeds` when a
    command asks for another number) and its description."""
    n = len(points(study))
    kind = f"random search, {study.trials} trials" if study.search == "random" else "grid"
    count = study.seeds if seeds is None else seeds
    seeds = f"{count} seed" + ("s" if count != 1 else "")
    text = f"{study.name}: {n} configs ({kind}) x {seeds}." + (f" {study.description}" if study.description else "")
    return text if text.endswith(".") else text + "."
