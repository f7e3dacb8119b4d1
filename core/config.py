"""The one description of a run: a frozen RunConfig made of data, model and
training sub-configs, validated at construction.

`to_params()` flattens it to MLflow params ("model.hidden_size" -> "64") and
`RunConfig.from_params()` is its exact inverse. Every user-facing option of a
run lives here, so the CLI, the dashboard and sweeps all build the same object.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field, fields

from core import cells, samplers
from core import workloads as W

WORKLOADS = W.NAMES
CELLS = cells.NAMES
SEQUENCE_MODES = ("padded", "packed", "trimmed")
# titles only: the study's bag-of-embeddings MLP, and TF-IDF + a linear classifier (scikit-learn)
TEXT_ONLY_NAMES = ("mlp", "tfidf")


def recurrent_names() -> tuple[str, ...]:
    """Registry names of the recurrent models: the cell alone reads the padded
    beat; -packed / -trimmed otherwise. Read from core.cells when called."""
    return tuple(c if m == "padded" else f"{c}-{m}" for c in cells.names() for m in SEQUENCE_MODES)


def model_names() -> tuple[str, ...]:
    """Every model registry name, read from core.cells when called."""
    return recurrent_names() + TEXT_ONLY_NAMES


RECURRENT_NAMES = recurrent_names()
MODEL_NAMES = model_names()
WORD_VECTORS = ("none", "word2vec", "fasttext")
ACTIVATIONS = ("relu", "mish", "tanh")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SAMPLERS = samplers.NAMES
NORMALIZATIONS = ("none", "zscore")
# what a model reads beside each item: nothing, or (heartbeats) the beat's rhythm: its RR intervals
RHYTHMS = ("none", "rr")
# where a heartbeat's window starts: at the R peak (Kaggle's layout), or 0.3 s before it, with the P wave
WINDOWS = ("r-peak", "p-wave")
SCHEDULES = ("none", "cosine", "onecycle", "warmup-cosine")
READOUTS = ("final", "end")
PACKED_IMPLS = ("pack", "reverse")
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda", "mps")
MONITOR_METRICS = ("macro_f1", "balanced_accuracy", "accuracy", "loss")
# heartbeat evaluation: Kaggle's split of the beats (the same patients on both sides), or de Chazal's DS1/DS2 records
DATA_SPLITS = tuple(dict.fromkeys(s for w in W.all_workloads() for s in w.evaluations))


MAX_SEED = 2**32 - 1  # numpy's and torch's generators both take it
MAX_STEPS = 187  # samples in a heartbeat (the longest sequence a shift or trim can act on)


def _short(value: typing.Any, limit: int = 40) -> typing.Any:
    """A value as it appears in an error message: long ones are cut."""
    text = str(value)
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... ({len(text)} characters)"


def _choice(name: str, value: str, choices: typing.Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={_short(value)!r} is not valid; choose one of: {', '.join(choices)}")


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclass(frozen=True)
class DataConfig:
    workload: str = "heartbeat"
    sample: float = 1.0  # fraction of train and validation kept (stratified, every class kept)
    val_fraction: float = 0.1  # validation carved from train, stratified
    split_seed: int = 2018  # seed of the train/val split and of the sample
    normalize: str = "none"  # "zscore": standardise with train statistics
    noise_std: float = 0.0  # augmentation (train only): gaussian noise on valid steps
    scale_range: float = 0.0  # augmentation: amplitude x U(1-r, 1+r)
    max_shift: int = 0  # augmentation: time shift by up to this many steps
    reliable_only: bool = False  # titles: keep only rows whose label_quality is "reliable"
    # heartbeat: "inter-patient" trains on de Chazal's DS1 records and tests on DS2 (validation: whole DS1 records)
    split: str = "intra-patient"
    # "rr": the head also reads the beat's rhythm (RR intervals before and after it, local and patient means, and
    # the same divided by the patient's mean); workloads whose items have a rhythm only
    rhythm: str = "none"
    # "p-wave": each beat's window starts 0.3 s before its R peak (the P wave), same 187 steps; workloads whose
    # items have a rhythm (heartbeats built from the raw records) only
    window: str = "r-peak"

    def validate(self) -> None:
        _choice("data.workload", self.workload, WORKLOADS)
        _check(0.0 < self.sample <= 1.0, f"data.sample={_short(self.sample)} must be in (0, 1], e.g. 0.1 for a 10% sample")
        _check(0.01 <= self.val_fraction <= 0.9,
               f"data.val_fraction={_short(self.val_fraction)} must be between 0.01 and 0.9: less leaves (almost) no "
               "validation items to pick the best epoch, more leaves too little to train on")
        _check(0 <= self.split_seed <= MAX_SEED, f"data.split_seed={_short(self.split_seed)} must be between 0 and {MAX_SEED}")
        _choice("data.normalize", self.normalize, NORMALIZATIONS)
        _check(0 <= self.noise_std <= 1, f"data.noise_std={_short(self.noise_std)} must be between 0 and 1: beats are "
               "scaled to [0, 1], so stronger noise drowns them")
        _check(0 <= self.scale_range < 1, f"data.scale_range={_short(self.scale_range)} must be in [0, 1)")
        _check(0 <= self.max_shift <= MAX_STEPS, f"data.max_shift={_short(self.max_shift)} must be between 0 and "
               f"{MAX_STEPS}: a beat has {MAX_STEPS} steps")
        _choice("data.split", self.split, DATA_SPLITS)
        _choice("data.rhythm", self.rhythm, RHYTHMS)
        if self.rhythm != "none" and self.workload in WORKLOADS and not W.get(self.workload).has_rhythm:
            raise ValueError(f"data.rhythm={self.rhythm!r}: the {self.workload} workload's items have no rhythm; "
                             f"use data.rhythm=none (workloads with one: {', '.join(W.names(has_rhythm=True)) or 'none'})")
        _choice("data.window", self.window, WINDOWS)
        if self.window != WINDOWS[0] and self.workload in WORKLOADS and not W.get(self.workload).has_rhythm:
            raise ValueError(f"data.window={self.window!r}: the {self.workload} workload's items have no R peak; "
                             f"use data.window={WINDOWS[0]} (workloads with one: "
                             f"{', '.join(W.names(has_rhythm=True)) or 'none'})")


@dataclass(frozen=True)
class ModelConfig:
    name: str = "gru"  # a registry name: see core.models.list_models()
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between recurrent layers (needs num_layers > 1)
    trim_steps: int = 37  # trimmed models: trailing steps dropped (187 -> 150)
    head_hidden: int = 0  # 0: linear head; > 0: one hidden linear layer of this size
    head_activation: str = "relu"
    head_dropout: float = 0.0
    embedding_dim: int = 100  # titles: size of the word embedding
    word_vectors: str = "none"  # titles: initialise the embedding with gensim vectors trained on train titles
    freeze_embeddings: bool = False  # titles: keep the initialised embedding fixed
    readout: str = "final"  # "final": the RNN's last state; "end": the forward state at each sequence's true end
    packed_impl: str = "pack"  # packed models: "pack" = pack_padded_sequence; "reverse" = same results, each sequence reversed within its length (faster on CPU)
    frame: int = 1  # recurrent models: input samples read per step (frame stacking): 187 beat samples in 4s = 47 steps

    @property
    def cell(self) -> str:
        return self.name.split("-")[0]

    @property
    def sequence_mode(self) -> str:
        parts = self.name.split("-")
        return parts[1] if len(parts) > 1 else "padded"

    def validate(self) -> None:
        # core.models builds its registry from model_names(); checking here keeps torch out of config users
        _choice("model.name", self.name, model_names())
        _check(self.hidden_size >= 1, f"model.hidden_size={_short(self.hidden_size)} must be a positive integer")
        _check(self.hidden_size <= 4096, f"model.hidden_size={_short(self.hidden_size)} is too large (max 4096)")
        _check(1 <= self.num_layers <= 16, f"model.num_layers={_short(self.num_layers)} must be between 1 and 16")
        _check(0.0 <= self.dropout < 1.0, f"model.dropout={_short(self.dropout)} must be in [0, 1)")
        _check(0 <= self.trim_steps < MAX_STEPS, f"model.trim_steps={_short(self.trim_steps)} must be between 0 and "
               f"{MAX_STEPS - 1}: a beat has {MAX_STEPS} steps and at least one must stay")
        _check(0 <= self.head_hidden <= 65_536,
               f"model.head_hidden={_short(self.head_hidden)} must be between 0 and 65536 (0 = no hidden layer)")
        _choice("model.head_activation", self.head_activation, ACTIVATIONS)
        _check(0.0 <= self.head_dropout < 1.0, f"model.head_dropout={_short(self.head_dropout)} must be in [0, 1)")
        _check(1 <= self.embedding_dim <= 2048, f"model.embedding_dim={_short(self.embedding_dim)} must be between 1 and 2048")
        _choice("model.word_vectors", self.word_vectors, WORD_VECTORS)
        _choice("model.readout", self.readout, READOUTS)
        _choice("model.packed_impl", self.packed_impl, PACKED_IMPLS)
        _check(1 <= self.frame <= 64, f"model.frame={_short(self.frame)} must be between 1 and 64 (input samples per step)")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "none"  # learning-rate schedule over the epochs
    warmup_epochs: float = 1.0  # warmup-cosine: linear warm-up over this many epochs, then cosine decay
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    label_smoothing: float = 0.0
    class_weighted_loss: bool = False  # cross-entropy weighted by inverse class frequency
    sampler: str = samplers.NONE  # a core.samplers name; "weighted": WeightedRandomSampler by inverse class frequency
    bucket: bool = False  # batches of similar length, each cut to its longest (faster; padded models see less padding)
    early_stopping: int = 0  # patience in epochs; 0 = off
    monitor: str = "macro_f1"  # validation metric for early stopping and the best epoch
    restore_best: bool = True  # reload the best epoch's weights before testing
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # "bf16": forward passes under bfloat16 autocast (for GPUs; weights and optimizer stay fp32)

    def validate(self) -> None:
        _check(1 <= self.epochs <= 10_000, f"train.epochs={_short(self.epochs)} must be between 1 and 10000")
        _check(1 <= self.batch_size <= 65_536, f"train.batch_size={_short(self.batch_size)} must be between 1 and 65536")
        _choice("train.optimizer", self.optimizer, OPTIMIZERS)
        _check(0.0 < self.lr < 10.0, f"train.lr={_short(self.lr)} must be in (0, 10)")
        _check(0 <= self.weight_decay <= 10, f"train.weight_decay={_short(self.weight_decay)} must be between 0 and "
               "10: stronger decay pulls every weight to zero within a few steps")
        _choice("train.schedule", self.schedule, SCHEDULES)
        _check(0.0 <= self.warmup_epochs <= self.epochs,
               f"train.warmup_epochs={_short(self.warmup_epochs)} must be between 0 and train.epochs ({self.epochs})")
        _check(0 <= self.grad_clip <= 1e6, f"train.grad_clip={_short(self.grad_clip)} must be between 0 and 1e6 "
               "(0 = off; a larger limit never clips)")
        _check(0.0 <= self.label_smoothing < 1.0, f"train.label_smoothing={_short(self.label_smoothing)} must be in [0, 1)")
        _choice("train.sampler", self.sampler, SAMPLERS)
        _check(0 <= self.early_stopping <= 10_000, f"train.early_stopping={_short(self.early_stopping)} must be "
               "between 0 and 10000 (0 = off; runs have at most 10000 epochs)")
        _choice("train.monitor", self.monitor, MONITOR_METRICS)
        _check(0 <= self.seed <= MAX_SEED, f"train.seed={_short(self.seed)} must be between 0 and {MAX_SEED}")
        _choice("train.device", self.device, DEVICES)
        _choice("train.precision", self.precision, PRECISIONS)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for part in (self.data, self.model, self.train):
            _check_types(part)
            part.validate()
        self._validate_workload()

    def _validate_workload(self) -> None:
        """Options that apply to some workloads only stay at their defaults elsewhere."""
        d, m = self.data, self.model
        w = W.get(d.workload)
        if not w.tokens:
            _check(m.name not in TEXT_ONLY_NAMES,
                   f"model.name={m.name!r} is for the {_workloads(tokens=True)} workload; "
                   f"for {w.name} choose one of: {', '.join(recurrent_names())}")
            _check(m.word_vectors == "none",
                   f"model.word_vectors applies to the {_workloads(tokens=True)} workload only; use none for {w.name}")
        if not w.label_quality:
            _check(not d.reliable_only, f"data.reliable_only applies to the {_workloads(label_quality=True)} workload only")
        wrong = [k for k, used in {"data.normalize": d.normalize != "none", "data.noise_std": d.noise_std > 0,
                                   "data.scale_range": d.scale_range > 0, "data.max_shift": d.max_shift > 0}.items()
                 if used and w.tokens]
        if d.split not in w.evaluations:
            wrong.append("data.split")
        _check(not wrong, f"{', '.join(wrong)} apply to the {_workloads(inputs='signal')} workload only; "
                          f"leave them at their defaults for {w.name}")

    # -- MLflow params -------------------------------------------------
    def to_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for section in SECTIONS:
            part = getattr(self, section)
            for f in fields(part):
                params[f"{section}.{f.name}"] = _to_str(getattr(part, f.name))
        return params

    @classmethod
    def from_params(cls, params: typing.Mapping[str, str]) -> "RunConfig":
        """Inverse of to_params. Unknown keys are ignored (other params of the
        run); missing keys take their defaults."""
        parts = {}
        for section, part_cls in SECTIONS.items():
            kwargs = {}
            hints = _hints(part_cls)
            for f in fields(part_cls):
                key = f"{section}.{f.name}"
                if key in params:
                    kwargs[f.name] = _from_str(key, params[key], hints[f.name])
            parts[section] = part_cls(**kwargs)
        return cls(**parts)

    def replace(self, **overrides: typing.Any) -> "RunConfig":
        """Copy with dotted overrides: cfg.replace(**{"model.hidden_size": 32})."""
        params = self.to_params()
        for key, value in overrides.items():
            if key not in params:
                raise ValueError(f"unknown option {key!r}; valid options: {', '.join(sorted(params))}")
            params[key] = _to_str(value)
        return RunConfig.from_params(params)

    def digest(self) -> str:
        """Stable short hash of the config (same config, same digest)."""
        return hashlib.sha256(json.dumps(self.to_params(), sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> str:
        m = self.model
        if m.name == "tfidf":
            return "tfidf 1-2 grams + linear SVM"
        bi = "bi-" if m.bidirectional else ""
        extra = self._treatments()
        if m.word_vectors != "none":
            extra += f" +{m.word_vectors}"
        if m.name == "mlp":
            return f"mlp {m.embedding_dim}-{m.hidden_size}" + (f"-{m.head_hidden}" if m.head_hidden else "") + extra
        if m.frame > 1:
            extra = f" frame {m.frame}" + extra
        if self.data.split != "intra-patient":
            extra += f" {self.data.split}"
        return f"{bi}{m.name} {m.num_layers}x{m.hidden_size}{extra}"

    def _treatments(self) -> str:
        """What a run does about imbalance and scale, for its description:
        the sampler, the class-weighted loss, augmentation and z-scored inputs."""
        parts = []
        label = samplers.get(self.train.sampler).label
        if label:
            parts.append(label)
        if self.train.class_weighted_loss:
            parts.append("class-weighted loss")
        if self.data.noise_std or self.data.scale_range or self.data.max_shift:
            parts.append("augmentation")
        if self.data.normalize != "none":
            parts.append({"zscore": "z-score"}.get(self.data.normalize, self.data.normalize))
        if self.data.rhythm != "none":
            parts.append("rhythm")
        if self.data.window != WINDOWS[0]:
            parts.append(self.data.window)
        return "".join(f" +{p}" for p in parts)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _workloads(**features: typing.Any) -> str:
    """The workloads with these features, for a message: "heartbeat"."""
    return " or ".join(W.names(**features))


def option_names() -> list[str]:
    return list(RunConfig().to_params())


def _to_str(value: typing.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _from_str(key: str, text: typing.Any, typ: type) -> typing.Any:
    if not isinstance(text, str):
        text = _to_str(text)
    try:
        if typ is bool:
            low = text.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        return str(text)
    except ValueError:
        raise ValueError(f"{key}={_short(text)!r} is not a valid {typ.__name__}") from None


@functools.cache
def _hints(cls: type) -> dict[str, type]:
    """The field types of a config class (typing.get_type_hints is slow: a
    study validates thousands of configs)."""
    return typing.get_type_hints(cls)


def _check_types(part: typing.Any) -> None:
    hints = _hints(type(part))
    for f in fields(part):
        value = getattr(part, f.name)
        typ = hints[f.name]
        name = f"{type(part).__name__.replace('Config', '').lower()}.{f.name}"
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(part, f.name, float(value))
            continue
        ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
        if typ is float and isinstance(value, float) and (value != value or abs(value) == float("inf")):
            ok = False
        if not ok:
            raise ValueError(f"{name}={_short(value)!r} must be a {typ.__name__}")


def to_json(cfg: RunConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), indent=2, sort_keys=True)
