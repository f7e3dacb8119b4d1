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
        """What a page calls it ("learning rate"), from WORDS."""
        return WORDS.get(self.key, (self.name.replace("_", " "), ""))[0]

    @property
    def idea(self) -> str:
        """The idea behind it in a sentence or two, for a form's help (the CLI's help names flags)."""
        return WORDS.get(self.key, ("", ""))[1] or self.help


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
    Option("data.window", "where each beat's window starts: r-peak = at its R peak (Kaggle's layout); p-wave = 0.3 s "
           "before it, so the model also sees the P wave (an S beat's early or odd P wave gives it away); same 187 "
           "steps (needs data prepared from the raw records)",
           workloads=W.names(has_rhythm=True), choices=C.WINDOWS),
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

# The words a class reads for each option: (label, the idea in plain words). The pages, findings and exports
# take their words from here; the dotted key is shown only with the technical config.
WORDS: dict[str, tuple[str, str]] = {
    "data.workload": ("data", "What the model learns to classify: heartbeats (five kinds of beat) or product titles."),
    "data.sample": ("share of the data", "Train on a fraction of the training beats or titles, keeping the class "
                    "proportions and every class: smaller is faster and learns less. The test set is never cut."),
    "data.split": ("how patients are split", "Same patients: beats of one patient can be in training and in the test "
                   "(easier). New patients: the test patients are never seen in training (what a hospital needs)."),
    "data.rhythm": ("beat's rhythm", "Also give the classifier when each beat comes: the gaps to the beats before "
                    "and after it, against the patient's usual gap. A premature beat looks normal but comes early; "
                    "its rhythm gives it away. Needs the data built from the raw records."),
    "data.window": ("beat window", "Where each beat's window starts: at its R peak (the tall spike), or 0.3 s before "
                    "it, so the model also sees the P wave, the small bump of the upper heart chambers. A premature "
                    "beat's P wave comes early, looks different or is missing. Needs the data built from the raw "
                    "records."),
    "data.val_fraction": ("validation share", "The part of the training data held out to watch learning and pick the "
                          "best epoch."),
    "data.split_seed": ("data seed", "Decides which items go into the sample and the validation part."),
    "data.normalize": ("standardise the input", "Shift and scale every input so the training data has mean 0 and "
                       "spread 1."),
    "data.noise_std": ("augmentation: noise", "Add a little random noise to every training beat, so the model does "
                       "not learn exact values by heart."),
    "data.scale_range": ("augmentation: amplitude", "Make training beats randomly taller or flatter by up to this "
                         "share."),
    "data.max_shift": ("augmentation: time shift", "Move training beats earlier or later by up to this many samples."),
    "data.reliable_only": ("reliable titles only", "Train only on titles whose category a person checked."),
    "model.name": ("model", "The kind of network. A simple RNN passes one state from step to step; a GRU or LSTM "
                   "adds gates that decide what to keep. Padded models read the zero padding after the beat, "
                   "packed ones stop at its true end, trimmed ones drop the last steps."),
    "model.bidirectional": ("both directions", "Read each sequence forwards and backwards and combine the two: the "
                            "backward pass starts at the end, so nothing has to survive the whole sequence."),
    "model.hidden_size": ("memory size", "How many numbers the state holds at each step (per direction): more can "
                          "remember more, and costs time."),
    "model.num_layers": ("layers", "Recurrent layers stacked on top of each other; each reads the sequence the one "
                         "below produces."),
    "model.dropout": ("dropout between layers", "Switch off a random share of the signals between recurrent layers "
                      "while training, so the model cannot rely on any one of them (needs two or more layers)."),
    "model.trim_steps": ("steps trimmed", "Trimmed models: how many steps to drop from the end of every sequence."),
    "model.head_hidden": ("classifier layer size", "A hidden layer between the recurrent state and the class "
                          "scores (0: the state goes straight to the scores)."),
    "model.head_activation": ("classifier activation", "The bend the classifier's hidden layer applies."),
    "model.head_dropout": ("classifier dropout", "Switch off a random share of the classifier's inputs while "
                           "training."),
    "model.embedding_dim": ("word vector size", "How many numbers describe each word."),
    "model.word_vectors": ("start from word vectors", "Start each word's vector from word2vec or fastText trained on "
                           "the training titles, instead of random numbers."),
    "model.freeze_embeddings": ("keep word vectors fixed", "Do not change the starting word vectors while training."),
    "model.readout": ("what the classifier reads", "Final: the state after the last step, padding included. End: "
                      "the state where each sequence really ends (and, backwards, where it starts)."),
    "model.packed_impl": ("how packing is done", "Two ways to stop at each sequence's true end that give the same "
                          "result; one is faster on a CPU."),
    "model.frame": ("samples per step", "Read several samples of the beat at each step: fewer steps, faster, and "
                    "less for the state to carry."),
    "train.epochs": ("epochs", "How many times training goes through the training data."),
    "train.batch_size": ("batch size", "How many items the model sees before each update."),
    "train.optimizer": ("optimizer", "The rule that turns the gradient into a change of the weights."),
    "train.lr": ("learning rate", "How big a step each update takes: too small learns slowly, too big jumps "
                 "around."),
    "train.weight_decay": ("weight decay", "Pull the weights gently towards zero, which keeps the model simpler."),
    "train.schedule": ("learning-rate schedule", "How the learning rate changes over the run, e.g. one cycle: up, "
                       "then down."),
    "train.warmup_epochs": ("warm-up epochs", "Epochs at the start where the learning rate rises slowly."),
    "train.grad_clip": ("gradient clipping", "Cap how big one update can be (0: no cap), so one odd batch cannot "
                        "throw the model off."),
    "train.label_smoothing": ("label smoothing", "Aim a little below 100% certainty for the right class."),
    "train.class_weighted_loss": ("class-weighted loss", "Count a mistake on a rare class more than one on a common "
                                  "class."),
    "train.sampler": ("sampler", "How batches are drawn: a weighted sampler draws rare classes more often, so every "
                      "class appears about equally often."),
    "train.bucket": ("group by length", "Put items of similar length in the same batch and cut the padding: faster, "
                     "same model."),
    "train.early_stopping": ("stop early after", "Stop when the validation score has not improved for this many "
                             "epochs (0: never)."),
    "train.monitor": ("score that picks the best epoch", "The validation score that decides which epoch is best."),
    "train.restore_best": ("test the best epoch", "Test the weights of the best epoch rather than the last one."),
    "train.seed": ("seed", "Decides the starting weights and the order of the batches: another seed, another run "
                   "of the same model."),
    "train.device": ("device", "Where to train: auto takes a GPU when there is one."),
    "train.precision": ("precision", "bf16 computes in half precision on a GPU (faster); the weights stay full "
                        "precision."),
}


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
