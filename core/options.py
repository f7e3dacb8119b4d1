"""One declaration per run option: its help, choices, bounds, whether it is a
basic or an advanced setting, and which workloads it applies to.

The CLI's `--help` (experiments/__main__.py) and the dashboard's New run form
both read this table, so a help text is written once. Torch-free.
RunConfig.validate stays the authority on what is valid; the bounds here are
the inclusive ranges a form widget offers (tests check that the config
accepts both ends).
"""
from __future__ import annotations

from dataclasses import dataclass

from core import config as C
from core import samplers
from core import workloads as W

BOTH = W.NAMES
BEATS = W.names(inputs="signal")  # options on real-valued sequences (the beats)
TITLES = W.names(tokens=True)  # options on token ids from a vocabulary (the titles)


@dataclass(frozen=True)
class Option:
    key: str  # dotted RunConfig name, e.g. "model.hidden_size"
    help: str
    basic: bool = False  # shown first on the New run form; the rest sit under "advanced"
    workloads: tuple[str, ...] = BOTH  # the workloads it applies to (the form shows only these)
    choices: tuple[str, ...] | None = None
    low: float | None = None  # inclusive bounds a widget offers
    high: float | None = None
    step: float | None = None  # a widget's step for floats

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


_OPTIONS = (
    # -- data ----------------------------------------------------------------------------
    Option("data.workload", "which data: " + " or ".join(f"{w.name} ({w.about})" for w in W.all_workloads()),
           basic=True, choices=C.WORKLOADS),
    Option("data.sample", "fraction of train and validation to use, class proportions kept, every class present "
           "(e.g. 0.1); the test set is never sampled", basic=True, low=0.001, high=1.0, step=0.05),
    Option("data.split", "heartbeat: intra-patient = Kaggle's split (beats of the same patients in train and "
           "test); inter-patient = de Chazal's: train on the DS1 records, test on DS2, validation = whole DS1 "
           "records, paced records left out (needs data prepared from the raw records)",
           workloads=tuple(w.name for w in W.all_workloads() if len(w.evaluations) > 1), choices=C.DATA_SPLITS),
    Option("data.rhythm", "rr: the classifier also reads each beat's rhythm beside its shape: the RR intervals "
           "before and after it, the mean over the last 10 beats and the patient's mean, and the same divided by "
           "the patient's mean. A premature (S) beat looks normal but comes early for its patient; its rhythm "
           "gives it away (needs data prepared from the raw records)",
           basic=True, workloads=W.names(has_rhythm=True), choices=C.RHYTHMS),
    Option("data.val_fraction", "share of train held out for validation, as whole records with --split "
           "inter-patient (titles use their own validation split)",
           workloads=BEATS, low=0.01, high=0.9, step=0.01),
    Option("data.split_seed", "seed of the validation split and of the sample", low=0, high=C.MAX_SEED),
    Option("data.normalize", "zscore: standardise beats with train statistics", workloads=BEATS,
           choices=C.NORMALIZATIONS),
    Option("data.noise_std", "augmentation: gaussian noise std on train beats", workloads=BEATS, low=0.0, high=1.0,
           step=0.01),
    Option("data.scale_range", "augmentation: amplitude scaled by U(1-r, 1+r)", workloads=BEATS, low=0.0,
           high=0.99, step=0.05),
    Option("data.max_shift", "augmentation: random time shift of up to this many steps", workloads=BEATS, low=0,
           high=187),
    Option("data.reliable_only", "keep only the training titles whose label_quality is reliable", workloads=TITLES),
    # -- model ---------------------------------------------------------------------------
    Option("model.name", f"model from the registry: {', '.join(C.CELLS)} read the padded input; -packed uses the true "
           "lengths; -trimmed drops trailing steps; titles also have mlp (mean of word embeddings) and tfidf "
           "(TF-IDF + linear SVM)", basic=True, choices=C.MODEL_NAMES),
    Option("model.bidirectional", "read the sequence in both directions", basic=True),
    Option("model.hidden_size", "hidden units per direction", basic=True, low=1, high=4096),
    Option("model.num_layers", "stacked recurrent layers", basic=True, low=1, high=16),
    Option("model.dropout", "dropout between recurrent layers (needs 2 or more layers)", low=0.0, high=0.95,
           step=0.05),
    Option("model.trim_steps", "trimmed models: how many trailing steps to drop", workloads=BEATS, low=0, high=186),
    Option("model.head_hidden", "size of a hidden layer in the classifier head (0 = linear head)", low=0,
           high=65_536),
    Option("model.head_activation", "activation of the head's hidden layer", choices=C.ACTIVATIONS),
    Option("model.head_dropout", "dropout in the head", low=0.0, high=0.95, step=0.05),
    Option("model.embedding_dim", "size of the word embedding", workloads=TITLES, low=1, high=2048),
    Option("model.word_vectors", "initialise the word embedding with gensim vectors (word2vec or fastText) "
           "trained on the training titles; none: random", workloads=TITLES, choices=C.WORD_VECTORS),
    Option("model.freeze_embeddings", "keep the initialised word embedding fixed while training", workloads=TITLES),
    Option("model.readout", "what the head reads: final = the RNN's last state (after any padding); end = the "
           "forward state at each sequence's true end and the backward state at its start", choices=C.READOUTS),
    Option("model.packed_impl", "packed models: pack = PyTorch's pack_padded_sequence; reverse = the same "
           "results with each sequence reversed within its length (faster on CPU)", choices=C.PACKED_IMPLS),
    Option("model.frame", "input samples read per recurrent step (frame stacking): 4 reads a 187-sample beat in "
           "47 steps", workloads=BEATS, low=1, high=64),
    # -- training ------------------------------------------------------------------------
    Option("train.epochs", "maximum epochs", basic=True, low=1, high=10_000),
    Option("train.batch_size", "items (beats or titles) per batch", basic=True, low=1, high=65_536),
    Option("train.optimizer", "optimizer", choices=C.OPTIMIZERS),
    Option("train.lr", "learning rate (peak learning rate with --schedule onecycle)", basic=True, low=1e-6,
           high=9.99, step=1e-4),
    Option("train.weight_decay", "weight decay", low=0.0, high=10.0, step=1e-4),
    Option("train.schedule", "learning-rate schedule over the run", basic=True, choices=C.SCHEDULES),
    Option("train.warmup_epochs", "--schedule warmup-cosine: epochs of linear warm-up before the cosine decay",
           low=0.0, high=10_000.0, step=0.5),
    Option("train.grad_clip", "clip the gradient norm to this (0 = off)", low=0.0, high=1e6, step=0.5),
    Option("train.label_smoothing", "label smoothing of the cross-entropy", low=0.0, high=0.95, step=0.05),
    Option("train.class_weighted_loss", "weight the loss by inverse class frequency", basic=True),
    Option("train.sampler", samplers.help_text(), basic=True, choices=C.SAMPLERS),
    Option("train.bucket", "batch items of similar length and cut each batch to its longest (faster on CPU)"),
    Option("train.early_stopping", "stop after this many epochs without improvement of --monitor (0 = off)",
           low=0, high=10_000),
    Option("train.monitor", "validation metric that picks the best epoch", choices=C.MONITOR_METRICS),
    Option("train.restore_best", "test the best epoch's weights rather than the last"),
    Option("train.seed", "seed of initialisation, batch order, sampler and augmentation", basic=True, low=0,
           high=C.MAX_SEED),
    Option("train.device", "auto picks cuda, then mps, then cpu", choices=C.DEVICES),
    Option("train.precision", "bf16: forward passes under bfloat16 autocast (meant for GPUs; weights stay fp32)",
           choices=C.PRECISIONS),
)
OPTIONS: dict[str, Option] = {o.key: o for o in _OPTIONS}


def option(key: str) -> Option:
    """The declaration of a dotted option; an option added to RunConfig
    without one gets an advanced entry with no help (a test asks for one)."""
    return OPTIONS.get(key) or Option(key, "")


def for_workload(workload: str) -> list[Option]:
    """The options that apply to a workload, in RunConfig's order (the
    workload itself left out: it is chosen first)."""
    if workload not in C.WORKLOADS:
        raise ValueError(f"workload {workload!r} is not valid; choose one of: {', '.join(C.WORKLOADS)}")
    out = []
    for key in C.option_names():
        opt = option(key)
        if key != "data.workload" and workload in opt.workloads:
            out.append(opt)
    return out


def choices_for(key: str, workload: str | None = None) -> tuple[str, ...] | None:
    """An option's choices, narrowed to a workload where it matters (without
    tokens, the models are the recurrent ones)."""
    if key == "model.name" and workload is not None and not W.get(workload).tokens:
        return C.RECURRENT_NAMES
    return option(key).choices
