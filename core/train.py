"""Training and evaluation. `train_one_epoch` and `evaluate` return plain data
and never log; `fit` runs the epochs, hands metrics to a Tracker, checkpoints
every epoch (so an interrupted run resumes where it stopped) and evaluates the
best weights on test.

The data path is vectorised: a split is three tensors on the device, a batch
is an index tensor, augmentation works on whole batches.
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import WeightedRandomSampler

from core import metrics as M
from core import samplers
from core.data.files import temporary_name
from core.config import RECURRENT_NAMES, DataConfig, RunConfig, TrainConfig
from core.models import build_model, count_parameters, parameter_count, training_bytes
from core.tracking import NullTracker, Tracker

EVAL_BATCH = 256  # on CPU, recurrent batches past a few hundred evaluate slower per beat; a GPU wants more
EVAL_BATCH_GPU = 8192


@dataclass
class TensorSplit:
    x: torch.Tensor  # (N, T) or (N, T, F) float32, or (N, T) int64 token ids
    lengths: torch.Tensor  # (N,) int64, true lengths
    y: torch.Tensor  # (N,) int64
    extra: torch.Tensor | None = None  # (N, E) float32 side features the head reads (a beat's rhythm), or None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_extra(self) -> int:
        return 0 if self.extra is None else int(self.extra.shape[-1])

    @classmethod
    def from_arrays(cls, x: np.ndarray, lengths: np.ndarray, y: np.ndarray, device: torch.device,
                    extra: np.ndarray | None = None) -> "TensorSplit":
        x = np.ascontiguousarray(x)
        dtype = torch.int64 if np.issubdtype(x.dtype, np.integer) else torch.float32  # token ids stay ids
        return cls(
            torch.as_tensor(x, dtype=dtype, device=device),
            torch.as_tensor(np.asarray(lengths), dtype=torch.int64, device=device),
            torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device),
            None if extra is None else torch.as_tensor(np.ascontiguousarray(extra), dtype=torch.float32, device=device),
        )


@dataclass
class Epoch:
    loss: float
    samples: int
    seconds: float


@dataclass
class Evaluation:
    loss: float
    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray  # (N, C)
    cm: np.ndarray
    metrics: dict[str, float]


@dataclass
class FitResult:
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    test: Evaluation
    report: dict
    model: nn.Module
    num_parameters: int
    device: str
    resumed_from: int = 0
    extras: dict = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device=cuda but no CUDA GPU is available; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("train.device=mps but Apple's MPS is not available; use --device auto or cpu")
    return torch.device(name)


# ---------------------------------------------------------------------------
# batches
def make_batches(
    n: int,
    batch_size: int,
    generator: torch.Generator,
    lengths: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Index tensors for one epoch. With `weights`, indices are drawn by a
    WeightedRandomSampler (with replacement, n draws) on `generator`. With
    `lengths`, batches hold beats of similar length (sorted within chunks of
    50 batches, then the batch order is shuffled)."""
    if weights is not None:
        sampler = WeightedRandomSampler(weights.double().cpu(), num_samples=n, replacement=True, generator=generator)
        order = torch.tensor(list(sampler), dtype=torch.int64)
    else:
        order = torch.randperm(n, generator=generator)
    if lengths is None:
        return list(order.split(batch_size))
    chunk = batch_size * 50
    lens = lengths.cpu()
    batches: list[torch.Tensor] = []
    for start in range(0, n, chunk):
        part = order[start : start + chunk]
        part = part[torch.argsort(lens[part], stable=True)]
        batches += list(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffle]


def epoch_batches(tc: TrainConfig, split: TensorSplit, generator: torch.Generator,
                  weights: torch.Tensor | None = None) -> list[torch.Tensor]:
    """One epoch's index batches as the config asks: its batch size, bucketed
    by length when `train.bucket`, drawn by the sampler's `weights` if any."""
    return make_batches(len(split), tc.batch_size, generator, split.lengths if tc.bucket else None, weights)


def cuts_batches(cfg: RunConfig) -> bool:
    """Whether a batch is cut to its longest sequence. Packed models ignore
    padding, so cutting is free for them; trimmed models count their dropped
    steps from the full padded length, so never cut."""
    mode = cfg.model.sequence_mode if cfg.model.name in RECURRENT_NAMES else "packed"
    return mode == "packed" or (cfg.train.bucket and mode != "trimmed")


def sample_weights(tc: TrainConfig, y: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """The sampler's per-item draw weights for labels y; None: a plain shuffle."""
    return samplers.get(tc.sampler).weights(y, inverse_frequency(y, num_classes))


def _take(split: TensorSplit, idx: torch.Tensor, cut: bool):
    """A batch: x, lengths, y and the side features (None without)."""
    idx = idx.to(split.y.device)
    x, lengths, y = split.x[idx], split.lengths[idx], split.y[idx]
    if cut:
        x = x[:, : int(lengths.max())]  # (B, T_batch)
    return x, lengths, y, None if split.extra is None else split.extra[idx]


def call(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
    """The model's logits; side features are passed only where there are some."""
    return model(x, lengths) if extra is None else model(x, lengths, extra)


# ---------------------------------------------------------------------------
# preprocessing and augmentation (whole tensors, train only for augmentation)
def valid_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)


def zscore_stats(split: TensorSplit) -> tuple[float, float]:
    mask = valid_mask(split.lengths, split.x.shape[1])
    values = split.x[mask]
    return float(values.mean()), float(values.std().clamp_min(1e-6))


def apply_zscore(split: TensorSplit, mean: float, std: float) -> TensorSplit:
    mask = valid_mask(split.lengths, split.x.shape[1])
    return TensorSplit(((split.x - mean) / std) * mask, split.lengths, split.y, split.extra)


def augment_batch(x: torch.Tensor, lengths: torch.Tensor, cfg: DataConfig, generator: torch.Generator):
    """Noise, amplitude scale and time shift for a batch x (B, T). Random
    numbers come from a CPU generator so that CPU and GPU runs match."""
    B, T = x.shape[0], x.shape[1]
    dev = x.device
    if cfg.max_shift > 0:
        shift = torch.randint(-cfg.max_shift, cfg.max_shift + 1, (B,), generator=generator).to(dev)
        src = torch.arange(T, device=dev)[None, :] - shift[:, None]  # (B, T) source index
        inside = (src >= 0) & (src < lengths[:, None])
        x = torch.gather(x, 1, src.clamp(0, T - 1)) * inside
        lengths = (lengths + shift).clamp(1, T)
    mask = valid_mask(lengths, T)
    if cfg.scale_range > 0:
        scale = 1 + (torch.rand(B, generator=generator) * 2 - 1) * cfg.scale_range
        x = x * scale.to(dev)[:, None]
    if cfg.noise_std > 0:
        x = x + torch.randn(x.shape, generator=generator).to(dev) * cfg.noise_std * mask
    return x, lengths


# ---------------------------------------------------------------------------
# one epoch, one evaluation
def autocast(device: torch.device, precision: str):
    """bfloat16 autocast for `precision="bf16"` (CUDA, or CPU where supported);
    a no-op context for fp32."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def flushing_denormals() -> bool:
    """Whether this thread flushes denormal floats to zero (a denormal input
    then reads as zero)."""
    return (torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0


@contextlib.contextmanager
def flush_denormals(device: torch.device):
    """On CPU, flush denormal floats (below 1.2e-38) to zero for the block,
    then restore the previous setting. A simple RNN's state decays into
    denormals over a beat's zero padding, and x86 computes with them many
    times slower: flushing trained the bi-RNN 2x64 about 3x faster in
    results/RESULTS.md, and changes no value above 1.2e-38."""
    if device.type != "cpu":
        yield
        return
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def train_one_epoch(
    model: nn.Module,
    split: TensorSplit,
    batches: Sequence[torch.Tensor],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    *,
    cut: bool = False,
    grad_clip: float = 0.0,
    scheduler=None,
    augment: Callable | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> Epoch:
    model.train()
    start = time.perf_counter()
    total, seen = 0.0, 0
    for i, idx in enumerate(batches):
        x, lengths, y, extra = _take(split, idx, cut)
        if augment is not None:
            x, lengths = augment(x, lengths)
        with autocast(x.device, precision):
            logits = call(model, x, lengths, extra)  # (B, C)
        loss = loss_fn(logits.float(), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the training loss became {loss.item()} at batch {i}; lower the learning rate or enable gradient clipping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        seen += len(y)
        if on_batch is not None:
            on_batch(i + 1, len(batches))
    if split.x.is_cuda:
        torch.cuda.synchronize()
    return Epoch(loss=total / max(seen, 1), samples=seen, seconds=time.perf_counter() - start)


@torch.no_grad()
def evaluate(model: nn.Module, split: TensorSplit, num_classes: int, *, cut: bool = False, batch_size: int | None = None,
             precision: str = "fp32") -> Evaluation:
    """Plain cross-entropy loss, predictions and metrics on a split. With
    `cut`, beats are read in length order and each batch cut to its longest."""
    model.eval()
    if batch_size is None:
        batch_size = EVAL_BATCH_GPU if split.y.is_cuda else EVAL_BATCH
    order = torch.argsort(split.lengths.cpu()) if cut else torch.arange(len(split))
    probs = torch.empty((len(split), num_classes), dtype=torch.float32)
    loss_sum = 0.0
    for idx in order.split(batch_size):
        x, lengths, y, extra = _take(split, idx, cut)
        with autocast(x.device, precision):
            logits = call(model, x, lengths, extra)
        logits = logits.float()
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        probs[idx] = torch.softmax(logits, dim=-1).cpu()
    y_true = split.y.cpu().numpy()
    y_pred = probs.argmax(dim=1).numpy()
    cm = M.confusion_matrix(y_true, y_pred, num_classes)
    return Evaluation(loss_sum / max(len(split), 1), y_true, y_pred, probs.numpy(), cm, M.summary(cm))


def train_and_validate(
    model: nn.Module,
    train: TensorSplit,
    val: TensorSplit,
    num_classes: int,
    batches: Sequence[torch.Tensor],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    tc: TrainConfig,
    *,
    cut: bool,
    scheduler=None,
    augment: Callable | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, float], Evaluation]:
    """One epoch of `fit`: train on `batches`, then evaluate on val. Returns
    the epoch's metrics row (what is logged per epoch) and the validation."""
    ep = train_one_epoch(model, train, batches, optimizer, loss_fn, cut=cut, grad_clip=tc.grad_clip,
                         scheduler=scheduler, augment=augment, on_batch=on_batch, precision=tc.precision)
    start = time.perf_counter()
    ev = evaluate(model, val, num_classes, cut=cut, precision=tc.precision)
    row = {
        "train/loss": ep.loss,
        "val/loss": ev.loss,
        "val/accuracy": ev.metrics["accuracy"],
        "val/balanced_accuracy": ev.metrics["balanced_accuracy"],
        "val/macro_f1": ev.metrics["macro_f1"],
        "epoch_seconds": ep.seconds + time.perf_counter() - start,
        "samples_per_second": ep.samples / ep.seconds if ep.seconds > 0 else 0.0,
        "lr": optimizer.param_groups[0]["lr"],
    }
    return row, ev


# ---------------------------------------------------------------------------
# fit
def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer over the model's parameters (already on their device).
    Adam and AdamW use PyTorch's fused kernel on CPU and CUDA: one pass over
    all parameters per step instead of a kernel per operation and tensor
    (same update; on CPU it cut Adam's step for the titles model, whose
    embedding holds most of the weights, from about 16 ms to 3 ms)."""
    params = list(model.parameters())
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total)
    if cfg.schedule == "warmup-cosine":
        warm = int(round(cfg.warmup_epochs * steps_per_epoch))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(_warmup_cosine, warm=warm, total=total))
    return None


def _warmup_cosine(step: int, warm: int, total: int) -> float:
    """Learning-rate factor: linear from ~0 to 1 over `warm` steps, then cosine down to 0 at `total`."""
    if step < warm:
        return (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def inverse_frequency(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    counts = torch.bincount(y.cpu(), minlength=num_classes).double()
    return torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp_min(1)), torch.zeros_like(counts))


def _better(value: float, best: float | None, metric: str) -> bool:
    if best is None:
        return True
    return value < best if metric == "loss" else value > best


def _flushing_denormals_on_cpu(fn):
    """Run `fn(cfg, train, ...)` inside `flush_denormals(train's device)`."""
    @functools.wraps(fn)
    def wrapper(cfg, train, *args, **kwargs):
        with flush_denormals(train.y.device):
            return fn(cfg, train, *args, **kwargs)
    return wrapper


@_flushing_denormals_on_cpu
def fit(
    cfg: RunConfig,
    train: TensorSplit,
    val: TensorSplit,
    test: TensorSplit,
    class_names: Sequence[str],
    tracker: Tracker | None = None,
    checkpoint: Path | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    vocab_size: int | None = None,
    embedding_init: torch.Tensor | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> FitResult:
    """Train with `cfg` (splits already on one device), log each epoch to the
    tracker, checkpoint to `checkpoint` after every epoch (resuming from it if
    it exists), then evaluate the best (or last) weights on test (`on_phase`
    hears "testing" as that starts: a long pass with no batches to count). Token-id
    inputs (titles) need `vocab_size`; `embedding_init` seeds the embedding.
    On CPU, denormal floats are flushed to zero while it runs."""
    tracker = tracker or NullTracker()
    tc = cfg.train
    num_classes = len(class_names)
    device = train.y.device
    torch.manual_seed(tc.seed)
    generator = torch.Generator().manual_seed(tc.seed)
    model, optimizer, scheduler = _build(cfg, train, num_classes, vocab_size, embedding_init)
    train, val, test = _normalized(cfg.data, train, val, test, tracker)
    loss_fn, weights, augment = _objective(cfg, train, num_classes, generator)
    cut = cuts_batches(cfg)
    progress = _Progress()
    if checkpoint is not None and checkpoint.is_file():
        progress = _resume(checkpoint, device, model, optimizer, scheduler, generator)
    start_epoch = len(progress.history)

    for epoch in range(start_epoch + 1, tc.epochs + 1):
        if progress.stalled(tc):
            break
        batches = epoch_batches(tc, train, generator, weights)
        row, ev = train_and_validate(model, train, val, num_classes, batches, optimizer, loss_fn, tc, cut=cut,
                                     scheduler=scheduler, augment=augment, on_batch=on_batch)
        tracker.log_metrics(row, step=epoch)
        progress.record(epoch, row, ev.loss if tc.monitor == "loss" else ev.metrics[tc.monitor], tc.monitor, model)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, generator, progress.history, progress.best_value,
                             progress.best_epoch, progress.bad_epochs, progress.best_state)
        if on_epoch is not None:
            on_epoch(epoch, row)

    if tc.restore_best and progress.best_state is not None:
        model.load_state_dict(progress.best_state)
    if on_phase is not None:
        on_phase("testing")
    test_eval = evaluate(model, test, num_classes, cut=cut, precision=tc.precision)
    report = M.classification_report(test_eval.y_true, test_eval.y_pred, class_names)
    return FitResult(
        history=progress.history, best_epoch=progress.best_epoch, stopped_early=len(progress.history) < tc.epochs,
        test=test_eval, report=report, model=model, num_parameters=count_parameters(model), device=str(device),
        resumed_from=start_epoch,
    )


def _build(cfg: RunConfig, train: TensorSplit, num_classes: int, vocab_size: int | None,
           embedding_init: torch.Tensor | None):
    """The model on train's device (after checking it fits in memory), its optimizer and its scheduler."""
    tc, device = cfg.train, train.y.device
    num_features = 1 if train.x.dim() == 2 else train.x.shape[-1]
    check_memory(cfg, min(tc.batch_size, len(train)), train.x.shape[1], num_features, num_classes, vocab_size, device)
    model = build_model(cfg.model, num_features=num_features, num_classes=num_classes,
                        vocab_size=vocab_size, embedding_init=embedding_init, num_extra=train.num_extra).to(device)
    if train.num_extra:  # side features standardised with the training split's statistics only
        model.set_extra_stats(train.extra.mean(dim=0), train.extra.std(dim=0) if len(train) > 1
                              else torch.ones(train.num_extra, device=device))
    optimizer = make_optimizer(model, tc)
    scheduler = make_scheduler(optimizer, tc, math.ceil(len(train) / tc.batch_size))
    return model, optimizer, scheduler


def _normalized(dc: DataConfig, train: TensorSplit, val: TensorSplit, test: TensorSplit, tracker: Tracker):
    """The three splits, z-scored with train's statistics (recorded as tags) when the config asks for it."""
    if dc.normalize != "zscore":
        return train, val, test
    mean, std = zscore_stats(train)
    splits = tuple(apply_zscore(s, mean, std) for s in (train, val, test))
    tracker.set_tags({"zscore.mean": f"{mean:.6f}", "zscore.std": f"{std:.6f}"})
    return splits


def _objective(cfg: RunConfig, train: TensorSplit, num_classes: int, generator: torch.Generator):
    """What training optimises and draws: the loss (class-weighted and
    smoothed as configured), the sampler's per-item weights (None: a plain
    shuffle) and the batch augmentation (None: none)."""
    tc, dc = cfg.train, cfg.data
    class_weights = inverse_frequency(train.y, num_classes)
    loss_fn = nn.CrossEntropyLoss(
        weight=class_weights.float().to(train.y.device) if tc.class_weighted_loss else None,
        label_smoothing=tc.label_smoothing,
    )
    weights = sample_weights(tc, train.y, num_classes)
    augmenting = dc.noise_std > 0 or dc.scale_range > 0 or dc.max_shift > 0
    augment = (lambda x, lengths: augment_batch(x, lengths, dc, generator)) if augmenting else None
    return loss_fn, weights, augment


@dataclass
class _Progress:
    """The epochs so far and the best one: what a checkpoint keeps besides the weights."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int = 0
    best_state: dict | None = None
    bad_epochs: int = 0

    def stalled(self, tc: TrainConfig) -> bool:
        """Early stopping: no improvement for `early_stopping` epochs."""
        return bool(tc.early_stopping) and self.bad_epochs >= tc.early_stopping

    def record(self, epoch: int, row: dict[str, float], value: float, monitor: str, model: nn.Module) -> None:
        """An epoch's metrics; its weights are kept when its monitored value is the best so far."""
        self.history.append(row)
        if _better(value, self.best_value, monitor):
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1


def _resume(checkpoint: Path, device: torch.device, model: nn.Module, optimizer, scheduler,
            generator: torch.Generator) -> _Progress:
    """Load the checkpoint's weights, optimizer, scheduler and random states in
    place; its progress. A file that cannot be read is a ValueError naming it."""
    try:
        state = torch.load(checkpoint, map_location=device, weights_only=True)  # no pickled code runs
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = [dict(zip(state["history_keys"], map(float, row))) for row in state["history"].tolist()]
        return _Progress(history, float(state["best_value"]) if history else None, int(state["best_epoch"]),
                         state.get("best_model"), int(state["bad_epochs"]))
    except Exception as exc:  # damaged, foreign, or carrying pickled objects: refuse it, say which file
        raise ValueError(f"the checkpoint {checkpoint} cannot be resumed from ({_unreadable(exc)}); delete it "
                         "to train this run again from its first epoch") from None


def _unreadable(exc: Exception) -> str:
    """Why a checkpoint could not be loaded, in a few words."""
    # torch.load(weights_only=True) raises pickle's UnpicklingError (told by name: no pickle import here)
    if type(exc).__name__ == "UnpicklingError":
        return "it holds Python objects besides weights; they are not loaded, as loading them could run code"
    first = (str(exc).strip().splitlines() or [""])[0]
    first = first if len(first) <= 100 else first[:100] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def available_bytes(device: torch.device) -> int | None:
    """Memory free for a new model on `device`: the GPU's free memory, or
    the machine's available RAM (Linux); None when it cannot be told."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    free = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:  # a container's own limit (cgroup v2) can be far below the machine's memory
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            free.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return max(0, min(free)) if free else None


def check_memory(cfg: RunConfig, batch_size: int, steps: int, num_features: int, num_classes: int,
                 vocab_size: int | None, device: torch.device) -> None:
    """Refuse, before anything is allocated, a model that would not fit in
    memory (rather than an allocator error minutes later, or the machine
    swapping)."""
    need = training_bytes(cfg.model, batch_size, steps, num_features, num_classes, vocab_size)
    free = available_bytes(device)
    if free is not None and need > free:
        params = parameter_count(cfg.model, num_features, num_classes, vocab_size)
        gib = 1 << 30
        raise ValueError(f"{cfg.describe()} with {params:,} parameters needs about {need / gib:.1f} GiB to train but "
                         f"only {free / gib:.1f} GiB is free on {device.type}; use a smaller model.hidden_size, "
                         "model.num_layers, model.head_hidden or train.batch_size")


def _save_checkpoint(path, model, optimizer, scheduler, generator, history, best_value, best_epoch, bad_epochs, best_state) -> None:
    keys = list(history[0]) if history else []
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history_keys": keys,
        "history": torch.tensor([[row[k] for k in keys] for row in history], dtype=torch.float64),
        "best_value": torch.tensor(best_value if best_value is not None else float("nan")),
        "best_epoch": best_epoch,
        "bad_epochs": bad_epochs,
    }
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if best_state is not None:
        state["best_model"] = best_state
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)  # never a half-written checkpoint
    finally:
        tmp.unlink(missing_ok=True)
