"""What a workload is: a torch-free description (names, how to prepare it,
its evaluation splits, class names and their long names, the key metric,
whether its inputs are tokens from a vocabulary, how the Home page sums it
up) and the hooks that read its data. Hooks import their heavy libraries
when called, so reading the registry never imports torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

SPLITS = ("train", "validation", "test")  # the prepared splits every workload has
INPUT_KINDS = ("signal", "tokens")  # real-valued sequences, or token ids from a vocabulary


@dataclass
class RunData:
    """What a workload gives a run: tensors for train/val/test on a device,
    class names, and for token workloads the vocabulary size, optional word
    vectors and the preprocessed texts for the TF-IDF reference."""

    train: Any  # core.train.TensorSplit
    val: Any
    test: Any
    class_names: list[str]
    vocab_size: int | None = None
    embedding_init: Any = None  # torch.Tensor (vocab, dim) or None
    texts: dict[str, list[str]] = field(default_factory=dict)  # split -> space-joined tokens (tfidf)
    test_examples: list[str] | None = None  # raw test inputs to show beside predictions (titles)
    test_records: Any = None  # np.ndarray (N,): the record (patient) of each test item, where there is one
    split_info: dict = field(default_factory=dict)  # what the run's split holds, for its report (JSON-able)


@dataclass(frozen=True)
class Benchmarks:
    """What the scripts in benchmarks/ need to know about a workload."""

    # benchmarks/variants.py: one sampled run per (label, overrides); its table shows these test metrics,
    # then the test recall of these classes
    variants: tuple[tuple[str, dict[str, Any]], ...] = ()
    table_metrics: tuple[str, ...] = ("accuracy", "macro_f1")
    recall_of: tuple[str, ...] = ()
    # benchmarks/dashboard_render.py's synthetic runs: items in the full train split, test items per class,
    # the models they cycle through (() = every recurrent model) and (lowest, highest, how many) result skills
    train_size: int = 0
    test_counts: tuple[int, ...] = ()
    models: tuple[str, ...] = ()
    skills: tuple[float, float, int] = (0.2, 0.95, 12)


@dataclass(frozen=True)
class Workload:
    name: str  # the registry name: data.workload, `prepare NAME`, the MLflow experiment
    title: str  # the Home page's heading
    label: str  # short label on pickers
    about: str  # what it is, in a few words (the CLI's help)
    unit: str  # what one item is called: "beats", "titles"
    inputs: str  # one of INPUT_KINDS: which options apply and which Data page profile it gets
    key_metric: str  # the metric studies and comparisons rank by (a MONITOR_METRICS name)
    key_metric_name: str  # that metric as written in text
    prepare_help: str  # Home page: where the files come from
    data_help: str  # Data page: what prepare builds
    prepare_commands: tuple[tuple[str, str], ...]  # (`experiments` arguments, what they do)
    # hooks: torch-free unless said otherwise
    dataset_info: Callable[[Path], dict | None]  # the prepared dataset's metadata, or None
    cache_ready: Callable[[dict], bool]  # whether the cache that metadata names is there
    prepare: Callable[..., dict]  # (source, home, progress=, log=, **options) -> metadata
    overview: Callable[[dict, Path], dict]  # Home page: summary, chart and caption of a prepared dataset
    describe_prepared: Callable[[dict], list[str]]  # the lines `prepare` prints about what it built
    load: Callable[..., RunData]  # the torch part: (cfg, home, device, tensors) -> RunData
    check_data: Callable[[Any, Path], None] = lambda cfg, home: None  # refuse a config the data cannot serve
    evaluations: tuple[str, ...] = ("intra-patient",)  # data.split values; the first is the default
    class_names: tuple[str, ...] = ()  # fixed class names; () when the prepared data defines them
    long_names: dict[str, str] = field(default_factory=dict)  # class name -> long name ("S" -> "supraventricular ectopic")
    label_quality: bool = False  # rows carry a label quality (data.reliable_only applies)
    prepare_options: tuple[str, ...] = ()  # keyword options `prepare` takes (CLI flags of the same name)
    needs_source: bool = False  # prepare cannot download: a --source is required
    # (validation accuracy, macro-F1) that `bench --quality` trains to; None: no such target
    quality_target: tuple[float, float] | None = None
    per_class_note: str = ""  # Run report: what the per-class table means in this field
    f1_note: str = "Classes where the bars differ most are where the models disagree."  # Compare: per-class F1 bars
    log_counts: bool = False  # class counts read best on a log scale (one class dominates)
    # the class names of the prepared data, read without loading it (torch-free); None: not prepared
    prepared_classes: Callable[[Path], list[str] | None] = lambda home: None
    # the classroom recipe (core.presets.CLASSROOM): dotted overrides every arm of a built-in study or one-click
    # comparison shares; {}: none. Wall seconds of one run of its slowest config on one core (None: not measured)
    classroom: dict[str, Any] = field(default_factory=dict)
    classroom_slowest_run_seconds: float | None = None
    benchmarks: Benchmarks = field(default_factory=Benchmarks)
    # data.rhythm=rr: the names of the per-item rhythm features the head reads beside the sequence (); their
    # labels for pages; () when the items have no rhythm
    rhythm: tuple[str, ...] = ()
    rhythm_labels: dict[str, str] = field(default_factory=dict)
    # AAMI-style per-class reporting: (class, what the field calls it) pairs whose sensitivity (Se), positive
    # predictivity (+P) and F1 pages and `runs` show, e.g. ("S", "SVEB"); and the classes of a second macro-F1
    # shown beside the all-class one (heartbeats: N, S, V and F, as Q is all but absent from DS2)
    event_classes: tuple[tuple[str, str], ...] = ()
    core_classes: tuple[str, ...] = ()

    @property
    def has_rhythm(self) -> bool:
        return bool(self.rhythm)

    def event_rows(self, metrics: dict) -> list[dict]:
        """AAMI-style figures of a finished run, from its test metrics (keys
        "test/recall_S" ...): one row per event class with its sensitivity
        (Se), positive predictivity (+P) and F1, then the core classes'
        macro-F1 when logged. [] when the workload names no events or the run
        logged none."""
        rows = []
        for c, event in self.event_classes:
            se, pp, f1 = (metrics.get(f"test/{k}_{c}") for k in ("recall", "precision", "f1"))
            if se is None:
                continue
            rows.append({"event": f"{event} ({c} {self.long_names.get(c, '')})".replace(" )", ")"),
                         "Se (sensitivity)": se, "+P (positive predictivity)": pp, "F1": f1})
        return rows

    def class_metrics(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Test metrics over some of the classes, logged as test/<name>, ranked and
        bootstrapped like the others: name -> (what pages call it, class indices).
        Each event class's F1 ("f1_S": "SVEB F1") and the core classes' macro-F1."""
        names = list(self.class_names)
        out = {f"f1_{c}": (f"{event} F1", (names.index(c),)) for c, event in self.event_classes}
        if self.core_classes:
            out["macro_f1_core"] = (f"{len(self.core_classes)}-class macro-F1 ({', '.join(self.core_classes)})",
                                    tuple(names.index(c) for c in self.core_classes))
        return out

    @property
    def tokens(self) -> bool:
        """Inputs are token ids from a vocabulary (embeddings, text-only models, word vectors apply)."""
        return self.inputs == "tokens"

    def prepare_lines(self, program: str = ".venv/bin/python -m experiments", comments: bool = True) -> str:
        """The prepare commands as a shell snippet, with their comments aligned."""
        width = max(len(args) for args, _ in self.prepare_commands) + 3
        return "\n".join(f"{program} {args.ljust(width)}# {what}" if what and comments else f"{program} {args}"
                         for args, what in self.prepare_commands)

    def prepared(self, home: Path) -> dict | None:
        """The metadata when the dataset is prepared and its cache is still there."""
        meta = self.dataset_info(Path(home))
        return meta if meta is not None and self.cache_ready(meta) else None

    def spell(self, labels) -> list[str] | None:
        """Labels with their long names ("S supraventricular ectopic") when they are this workload's classes."""
        labels = [str(x) for x in labels]
        if not self.long_names or not labels or not set(labels) <= set(self.long_names):
            return None
        return [f"{x} {self.long_names[x]}" for x in labels]
