"""Speed benchmark: RNN Arena's trainer against the plain notebook-style loop
(TensorDataset + DataLoader, padded inputs, batch 128, Adam 1e-3), on the same
model and data, in the same process, so that ratios are measured side by side.

Per variant it prints train and eval samples/s of both, seconds per epoch
(training), peak memory, and the ratio; with `--quality` it also trains the
fast preset until the validation metrics reach the target and reports the
wall time and the test metrics at that point.

    python -m experiments bench heartbeat [--device cpu|cuda] [--json PATH]

No MLflow: nothing here is recorded as a run. Needs torch and the prepared
workload only, so it also runs where MLflow is not installed.
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.config import RunConfig
from core.presets import NOTEBOOK, preset_overrides

PLAIN_BATCH = 128


def _log(*args) -> None:
    print(*args, flush=True)  # progress shows at once, also when the output goes to a file
PLAIN_LR = 1e-3


@dataclass
class Variant:
    label: str
    overrides: dict  # RunConfig overrides of the arena side; the plain loop reads padded inputs with readout "final"
    batch_size: int = PLAIN_BATCH
    padded_label: str | None = None  # packed / bucketed rows: the padded row of the same cell, for the time ratio


@dataclass
class Row:
    workload: str
    variant: str
    device: str
    batch_size: int
    arena_samples_per_s: float
    plain_samples_per_s: float
    ratio: float
    arena_eval_samples_per_s: float
    plain_eval_samples_per_s: float
    eval_ratio: float
    arena_seconds_per_epoch: float
    plain_seconds_per_epoch: float
    arena_peak_mb: float
    plain_peak_mb: float
    arena_metric: float | None = None  # validation metric after the timed batches' epoch (quality rows: test)
    plain_metric: float | None = None
    metric: str = ""
    arena_seconds_to_quality: float | None = None
    plain_seconds_to_quality: float | None = None
    notes: list[str] = field(default_factory=list)


def heartbeat_variants() -> list[Variant]:
    base = {"model.bidirectional": True, "model.num_layers": 2, "model.hidden_size": 64}
    rows = []
    for cell in ("gru", "lstm", "rnn"):
        fast_cell = {**base, "model.name": cell, "model.readout": "end", "train.bucket": True}
        rows.append(Variant(f"bi-{cell} 2x64", fast_cell))
        if cell == "gru":
            rows.append(Variant(f"bi-{cell} 2x64 unbucketed", {**base, "model.name": cell}))
        rows.append(Variant(f"bi-{cell} 2x64 packed", {**base, "model.name": f"{cell}-packed", "train.bucket": True},
                            padded_label=f"bi-{cell} 2x64"))
        rows.append(Variant(f"bi-{cell} 2x64 packed (reverse)", {**base, "model.name": f"{cell}-packed",
                                                                  "model.packed_impl": "reverse", "train.bucket": True},
                            padded_label=f"bi-{cell} 2x64"))
    rows.insert(1, Variant("bi-gru 2x64 (batch 512)", {**base, "model.name": "gru", "model.readout": "end",
                                                       "train.bucket": True}, batch_size=512))
    framed = {"model.name": "gru", "model.bidirectional": True, "model.readout": "end", "train.bucket": True,
              "model.frame": 4}
    rows.insert(2, Variant("bi-gru 2x64 frame 4", {**framed, "model.num_layers": 2, "model.hidden_size": 64}))
    rows.insert(3, Variant("bi-gru 1x128 frame 2", {**framed, "model.num_layers": 1, "model.hidden_size": 128,
                                                    "model.frame": 2}))
    rows.insert(4, Variant("bi-gru 1x128 frame 4", {**framed, "model.num_layers": 1, "model.hidden_size": 128}))
    return rows


def titles_variants() -> list[Variant]:
    base = {"data.workload": "titles", "model.hidden_size": 128, "model.embedding_dim": 100}
    rows = []
    for cell in ("gru", "lstm"):
        rows.append(Variant(f"bi-{cell} 1x128", {**base, "model.name": cell, "model.bidirectional": True,
                                                 "model.readout": "end", "train.bucket": True}))
        rows.append(Variant(f"bi-{cell} 1x128 packed", {**base, "model.name": f"{cell}-packed",
                                                        "model.bidirectional": True, "train.bucket": True},
                            padded_label=f"bi-{cell} 1x128"))
        rows.append(Variant(f"bi-{cell} 1x128 packed (reverse)", {**base, "model.name": f"{cell}-packed",
                                                                  "model.packed_impl": "reverse",
                                                                  "model.bidirectional": True, "train.bucket": True},
                            padded_label=f"bi-{cell} 1x128"))
    rows.append(Variant("mlp", {**base, "model.name": "mlp", "train.bucket": True}))
    return rows


# ---------------------------------------------------------------------------
# memory
_BASELINE_MB = [0.0]


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak(device) -> None:
    """Start a peak-memory measurement. CUDA: the allocator's peak; CPU (Linux):
    the process's peak resident set, reset to the current one (writing 5 to
    /proc/self/clear_refs), so the peak counts only what the measured loop adds."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    _BASELINE_MB[0] = _status_mb("VmRSS") or 0.0


def _peak_mb(device) -> float:
    """CUDA: peak allocated (data on the device included); CPU: peak resident
    memory above the process's resident memory at the last `_reset_peak`."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    peak = _status_mb("VmHWM")
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return max(0.0, peak - _BASELINE_MB[0])


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------
# the two loops
def plain_train(model, x_cpu, y_cpu, device, batches: int, warmup: int, seed: int) -> tuple[float, int]:
    """The notebook loop: DataLoader over CPU tensors, every batch copied to
    the device, every beat read over all its padded steps."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x_cpu, y_cpu), batch_size=PLAIN_BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=PLAIN_LR)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    full = None
    seen, start = 0, None
    for i, (xb, yb) in enumerate(loader):
        if i == warmup:
            _sync(device)
            start, seen = time.perf_counter(), 0
        if i == warmup + batches:
            break
        xb, yb = xb.to(device), yb.to(device)
        if full is None or len(full) != len(yb):
            full = torch.full((len(yb),), xb.shape[1], dtype=torch.int64, device=device)
        loss = loss_fn(model(xb, full), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(yb)
    _sync(device)
    return time.perf_counter() - start, seen


def plain_eval(model, x_cpu, y_cpu, device, limit: int) -> tuple[float, int]:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x_cpu[:limit], y_cpu[:limit]), batch_size=PLAIN_BATCH)
    model.eval()
    start, seen = time.perf_counter(), 0
    with torch.no_grad():
        for xb, yb in loader:
            xb = xb.to(device)
            full = torch.full((len(yb),), xb.shape[1], dtype=torch.int64, device=device)
            model(xb, full).argmax(1).cpu()
            seen += len(yb)
    _sync(device)
    return time.perf_counter() - start, seen


def arena_train(model, cfg: RunConfig, split, batches: int, warmup: int, seed: int) -> tuple[float, int]:
    """RNN Arena's own epoch code (core.train.train_one_epoch) on the first
    batches of an epoch: index batches on device-resident tensors, bucketed and
    cut when the config says so."""
    import torch
    from torch import nn

    from core.train import cuts_batches, epoch_batches, make_optimizer, make_scheduler, train_one_epoch

    gen = torch.Generator().manual_seed(seed)
    order = epoch_batches(cfg.train, split, gen)
    opt = make_optimizer(model, cfg.train)
    sched = make_scheduler(opt, cfg.train, max(1, math.ceil(len(split) / cfg.train.batch_size)))
    cut = cuts_batches(cfg)
    loss_fn = nn.CrossEntropyLoss()
    train_one_epoch(model, split, order[:warmup], opt, loss_fn, cut=cut, grad_clip=cfg.train.grad_clip, scheduler=sched)
    _sync(split.y.device)
    ep = train_one_epoch(model, split, order[warmup:warmup + batches], opt, loss_fn, cut=cut,
                         grad_clip=cfg.train.grad_clip, scheduler=sched)
    return ep.seconds, ep.samples


def arena_eval(model, cfg: RunConfig, split, limit: int, num_classes: int) -> tuple[float, int]:
    from core.train import TensorSplit, cuts_batches, evaluate

    sub = TensorSplit(split.x[:limit], split.lengths[:limit], split.y[:limit])
    cut = cuts_batches(cfg)
    start = time.perf_counter()
    evaluate(model, sub, num_classes, cut=cut)
    _sync(split.y.device)
    return time.perf_counter() - start, len(sub)


# ---------------------------------------------------------------------------
def machine(device) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    if device.type == "cuda":
        text += f", {torch.cuda.get_device_name(device)}"
    return text


def throughput(workload: str, variants: list[Variant], data, device, num_classes: int, vocab_size: int | None,
               batches: int, warmup: int, eval_limit: int, log=_log, rounds: int = 2) -> list[Row]:
    import torch

    from core.models import build_model
    from core.train import flush_denormals

    x_cpu = data.train.x.cpu()
    y_cpu = data.train.y.cpu()
    rows: dict[str, Row] = {}
    for v in variants:
        arena_cfg = RunConfig().replace(**{"data.workload": workload, **v.overrides, "train.batch_size": v.batch_size})
        plain_model_cfg = RunConfig().replace(**{"data.workload": workload, **v.overrides}).model
        if plain_model_cfg.sequence_mode == "packed":  # the plain loop reads padded inputs: its model is the padded cell
            plain_model_cfg = RunConfig().replace(**{"data.workload": workload, **v.overrides,
                                                     "model.name": plain_model_cfg.cell}).model
        # the plain loop reads every padded step, one sample per step, and its head the final state
        plain_model_cfg = RunConfig(model=plain_model_cfg, data=arena_cfg.data).replace(
            **{"model.readout": "final", "model.frame": 1}).model
        kwargs = {"num_classes": num_classes, "vocab_size": vocab_size}
        # the plain loop's batches are 128 beats; the arena's row says its own batch size
        n_plain = batches * max(1, v.batch_size // PLAIN_BATCH)

        torch.manual_seed(0)
        plain_model = build_model(plain_model_cfg, **kwargs).to(device)
        torch.manual_seed(0)
        arena_model = build_model(arena_cfg.model, **kwargs).to(device)
        # the loops take turns, `rounds` times each, and each keeps its fastest round: a slow spell of a
        # noisy machine (or a fresh process's first allocations) then does not land on one side only
        p_best = a_best = pe_best = ae_best = p_peak = a_peak = 0.0
        for r in range(rounds):
            _reset_peak(device)
            p_sec, p_seen = plain_train(plain_model, x_cpu, y_cpu, device, n_plain, warmup, seed=r)
            p_peak = max(p_peak, _peak_mb(device))
            pe_sec, pe_seen = plain_eval(plain_model, data.val.x.cpu(), data.val.y.cpu(), device, eval_limit)
            _reset_peak(device)
            with flush_denormals(device):  # the arena side runs as core.train.fit does
                a_sec, a_seen = arena_train(arena_model, arena_cfg, data.train, batches, warmup, seed=r)
                a_peak = max(a_peak, _peak_mb(device))
                ae_sec, ae_seen = arena_eval(arena_model, arena_cfg, data.val, eval_limit, num_classes)
            p_best, a_best = max(p_best, p_seen / p_sec), max(a_best, a_seen / a_sec)
            pe_best, ae_best = max(pe_best, pe_seen / pe_sec), max(ae_best, ae_seen / ae_sec)

        a_sps, p_sps = a_best, p_best
        row = Row(workload=workload, variant=v.label, device=device.type, batch_size=v.batch_size,
                  arena_samples_per_s=a_sps, plain_samples_per_s=p_sps, ratio=a_sps / p_sps,
                  arena_eval_samples_per_s=ae_best, plain_eval_samples_per_s=pe_best,
                  eval_ratio=ae_best / pe_best,
                  arena_seconds_per_epoch=len(data.train) / a_sps, plain_seconds_per_epoch=len(data.train) / p_sps,
                  arena_peak_mb=a_peak, plain_peak_mb=p_peak)
        if v.padded_label and v.padded_label in rows:
            padded = rows[v.padded_label]
            row.notes.append(f"time vs padded {v.padded_label}: {padded.arena_samples_per_s / a_sps:.2f}x")
        rows[v.label] = row
        log(f"  {v.label:<26} arena {a_sps:8.0f}/s  plain {p_sps:8.0f}/s  x{row.ratio:.2f}  "
            + " ".join(row.notes))
    return list(rows.values())


def time_to_quality(cfg: RunConfig, data, device, num_classes: int, target_acc: float, target_f1: float,
                    max_epochs: int, log=_log) -> dict:
    """Train `cfg` (its epochs set the schedule) until the validation metrics
    first reach both targets, then evaluate on test. Returns wall seconds
    (training and validation, data already on the device), epochs, and
    validation and test metrics at that point."""
    import torch
    from torch import nn

    from core.models import build_model
    from core.train import cuts_batches, epoch_batches, evaluate, make_optimizer, make_scheduler, train_and_validate

    tc = cfg.train
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    model = build_model(cfg.model, num_classes=num_classes).to(device)
    opt = make_optimizer(model, tc)
    sched = make_scheduler(opt, tc, math.ceil(len(data.train) / tc.batch_size))
    loss_fn = nn.CrossEntropyLoss()
    cut = cuts_batches(cfg)
    start = time.perf_counter()
    for epoch in range(1, min(max_epochs, tc.epochs) + 1):
        batches = epoch_batches(tc, data.train, gen)
        val = train_and_validate(model, data.train, data.val, num_classes, batches, opt, loss_fn, tc, cut=cut,
                                 scheduler=sched)[1].metrics
        elapsed = time.perf_counter() - start
        log(f"  epoch {epoch:3d}  {elapsed:7.1f}s  val acc {val['accuracy']:.4f}  macro-F1 {val['macro_f1']:.4f}")
        if val["accuracy"] >= target_acc and val["macro_f1"] >= target_f1:
            test = evaluate(model, data.test, num_classes, cut=cut, precision=tc.precision).metrics
            return {"reached": True, "seconds": elapsed, "epochs": epoch, "val": val, "test": test}
    test = evaluate(model, data.test, num_classes, cut=cut, precision=tc.precision).metrics
    return {"reached": False, "seconds": time.perf_counter() - start, "epochs": epoch, "val": val, "test": test}


def format_table(rows: list[Row]) -> str:
    head = ("| variant | batch | arena train/s | plain train/s | ratio | arena eval/s | plain eval/s | eval ratio "
            "| arena s/epoch | plain s/epoch | arena peak MB | plain peak MB | notes |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        notes = "; ".join(r.notes)
        lines.append(f"| {r.variant} | {r.batch_size} | {r.arena_samples_per_s:,.0f} | {r.plain_samples_per_s:,.0f} | "
                     f"{r.ratio:.2f}x | {r.arena_eval_samples_per_s:,.0f} | {r.plain_eval_samples_per_s:,.0f} | "
                     f"{r.eval_ratio:.2f}x | {r.arena_seconds_per_epoch:,.1f} | {r.plain_seconds_per_epoch:,.1f} | "
                     f"{r.arena_peak_mb:,.0f} | {r.plain_peak_mb:,.0f} | {notes} |")
    return "\n".join(lines)


def run(workload: str, home: Path, device_name: str = "auto", batches: int = 20, warmup: int = 3,
        eval_limit: int = 4096, variants: list[str] | None = None, quality: bool = False, max_epochs: int = 40,
        plain_quality: bool = False, plain_epochs_to_quality: float | None = None, json_path: Path | None = None,
        quality_preset: str = "fast", argv: list[str] | None = None, log=_log,
        seed: int | None = None, rounds: int = 2) -> list[Row]:
    from core.train import resolve_device
    from experiments import workloads

    arena_cfg, overrides = _quality_config(workload, quality_preset, seed) if quality else (None, {})
    device = resolve_device(device_name)
    base = RunConfig().replace(**{"data.workload": workload})
    workloads.check_ready([base], home)
    data = workloads.load(base, home, device)
    num_classes = len(data.class_names)
    _log_header(log, argv or [workload], device, data, rounds, batches, warmup, eval_limit)
    chosen = _chosen_variants(workload, variants, len(data.train), warmup)
    rows = throughput(workload, chosen, data, device, num_classes, data.vocab_size, batches, warmup, eval_limit, log,
                      rounds)
    log("")
    log(format_table(rows))
    if quality:
        plain_row = next((r for r in rows if r.variant == "bi-gru 2x64"), None)
        rows.append(_quality_row(workload, arena_cfg, overrides, quality_preset, data, device, num_classes, max_epochs,
                                 plain_quality, plain_epochs_to_quality, plain_row, log))
    if json_path:
        Path(json_path).write_text(json.dumps([_json_row(r) for r in rows], indent=2))
        log(f"# wrote {json_path}")
    return rows


def _quality_config(workload: str, preset: str, seed: int | None) -> tuple[RunConfig, dict]:
    """--quality: the full-data preset the arena trains to the workload's target (its seed replaced by `seed`)."""
    from core.workloads import get, quality_targets

    if get(workload).quality_target is None:
        raise ValueError(f"--quality is defined for these workloads' targets: {quality_targets()}")
    overrides = preset_overrides(preset)
    if seed is not None:
        overrides = {**overrides, "train.seed": seed}
    arena_cfg = RunConfig().replace(**overrides)
    if arena_cfg.data.workload != workload or arena_cfg.data.sample < 1.0:
        raise ValueError(f"--quality-preset {preset} is not a full-data {workload} preset")
    return arena_cfg, overrides


def _log_header(log, argv: list[str], device, data, rounds: int, batches: int, warmup: int, eval_limit: int) -> None:
    log(f"# python -m experiments bench {' '.join(argv)}")
    log(f"# {machine(device)}; train {len(data.train):,}, val {len(data.val):,}, test {len(data.test):,}")
    log(f"# throughput: the two loops take turns, {rounds} round(s) each, and each keeps its fastest; a round times "
        f"{batches} training batches after {warmup} warm-up batches, then eval over {eval_limit:,} samples; "
        f"s/epoch = train size / train samples per second; the arena flushes denormals to zero on CPU, as its "
        f"trainer does, the plain loop keeps the default; peak MB: "
        + ("CUDA peak allocated" if device.type == "cuda" else "peak resident memory added by the loop"))


def _chosen_variants(workload: str, labels: list[str] | None, train_size: int, warmup: int) -> list[Variant]:
    """The workload's variants, or those named; each must leave a batch to time after the warm-up."""
    from core.workloads import get

    chosen = titles_variants() if get(workload).tokens else heartbeat_variants()
    if labels:
        unknown = [v for v in labels if v not in {x.label for x in chosen}]
        if unknown:
            raise ValueError(f"unknown variant(s) {unknown}; choose from: {', '.join(x.label for x in chosen)}")
        chosen = [x for x in chosen if x.label in labels]
    largest = max(v.batch_size for v in chosen)
    if warmup >= math.ceil(train_size / largest):
        raise ValueError(f"--warmup {warmup} leaves no batch to time: the training split has "
                         f"{math.ceil(train_size / largest)} batch(es) of {largest}; lower --warmup")
    return chosen


def _plain_seconds_to_quality(data, device, num_classes: int, acc_target: float, f1_target: float, max_epochs: int,
                              plain_quality: bool, plain_epochs: float | None, plain_row: Row | None, log):
    """The plain loop's seconds to quality (None: unknown) and how they were had: trained here with
    --plain-quality, or its given epochs to quality times its measured seconds per epoch."""
    if plain_quality:
        log("plain loop (notebook preset):")
        plain = _plain_to_quality(data, device, num_classes, acc_target, f1_target, max_epochs, log)
        return (plain["seconds"] if plain["reached"] else None,
                f"plain reached it at epoch {plain['epochs']}" if plain["reached"]
                else f"plain did not reach it in {plain['epochs']} epochs")
    if plain_epochs and plain_row:
        return (plain_epochs * plain_row.plain_seconds_per_epoch,
                f"plain: {plain_epochs:g} epochs to quality (given, not run here) x "
                f"{plain_row.plain_seconds_per_epoch:.1f} s/epoch measured above")
    return None, ""


def _quality_row(workload: str, arena_cfg: RunConfig, overrides: dict, preset: str, data, device, num_classes: int,
                 max_epochs: int, plain_quality: bool, plain_epochs: float | None, plain_row: Row | None, log) -> Row:
    """--quality: train the preset until the workload's validation target, test there, and compare with the
    plain loop's time to quality; the row, its table and notes logged."""
    from core.train import flush_denormals
    from core.workloads import get

    acc_target, f1_target = get(workload).quality_target
    log(f"\n# time to quality: validation accuracy >= {acc_target:g} and macro-F1 >= {f1_target:g}, then test at "
        "that epoch")
    log(f"arena, preset {preset} ({', '.join(f'{k}={v}' for k, v in overrides.items())}):")
    with flush_denormals(device):  # as core.train.fit runs
        arena = time_to_quality(arena_cfg, data, device, num_classes, acc_target, f1_target, max_epochs, log)
    plain_secs, plain_note = _plain_seconds_to_quality(data, device, num_classes, acc_target, f1_target, max_epochs,
                                                       plain_quality, plain_epochs, plain_row, log)
    m = arena_cfg.model
    label = (f"{'bi-' if m.bidirectional else ''}{m.name} {m.num_layers}x{m.hidden_size}"
             f"{f' frame {m.frame}' if m.frame > 1 else ''}, preset {preset}, time to quality")
    q = Row(workload=workload, variant=label, device=device.type,
            batch_size=arena_cfg.train.batch_size, arena_samples_per_s=float("nan"), plain_samples_per_s=float("nan"),
            ratio=(plain_secs / arena["seconds"]) if (plain_secs and arena["reached"]) else float("nan"),
            arena_eval_samples_per_s=float("nan"), plain_eval_samples_per_s=float("nan"), eval_ratio=float("nan"),
            arena_seconds_per_epoch=arena["seconds"] / arena["epochs"], plain_seconds_per_epoch=float("nan"),
            arena_peak_mb=_peak_mb(device), plain_peak_mb=float("nan"),
            arena_metric=arena["test"]["macro_f1"], metric="test macro_f1",
            arena_seconds_to_quality=arena["seconds"] if arena["reached"] else None,
            plain_seconds_to_quality=plain_secs, notes=[plain_note] if plain_note else [])
    test_ok = arena["test"]["accuracy"] >= acc_target and arena["test"]["macro_f1"] >= f1_target
    q.notes.append(f"arena {'reached' if arena['reached'] else 'did NOT reach'} the validation target "
                   f"{'at' if arena['reached'] else 'by'} epoch {arena['epochs']}; test there: accuracy "
                   f"{arena['test']['accuracy']:.4f}, macro-F1 {arena['test']['macro_f1']:.4f} "
                   f"({'meets' if test_ok else 'MISSES'} the test target {acc_target:g} / {f1_target:g})")
    speedup = f"{q.ratio:.2f}x" if np.isfinite(q.ratio) else "n/a"
    log("\n| | epochs | seconds | test accuracy | test macro-F1 | speed-up |\n|---|---|---|---|---|---|")
    log(f"| arena, preset {preset} | {arena['epochs']} | {arena['seconds']:.0f} | {arena['test']['accuracy']:.4f} | "
        f"{arena['test']['macro_f1']:.4f} | {speedup} |")
    if plain_secs:
        log(f"| plain loop | | {plain_secs:.0f} | | | |")
    for note in q.notes:
        log(f"- {note}")
    return q


def _plain_to_quality(data, device, num_classes, target_acc, target_f1, max_epochs, log) -> dict:
    """The notebook loop, epoch after epoch, until the validation targets."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from core.models import build_model
    from core.train import evaluate

    cfg = RunConfig().replace(**NOTEBOOK)
    torch.manual_seed(0)
    model = build_model(cfg.model, num_classes=num_classes).to(device)
    loader = DataLoader(TensorDataset(data.train.x.cpu(), data.train.y.cpu()), batch_size=PLAIN_BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=PLAIN_LR)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            full = torch.full((len(yb),), xb.shape[1], dtype=torch.int64, device=device)
            loss = loss_fn(model(xb, full), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = evaluate(model, data.val, num_classes).metrics
        elapsed = time.perf_counter() - start
        log(f"  epoch {epoch:3d}  {elapsed:7.1f}s  val acc {val['accuracy']:.4f}  macro-F1 {val['macro_f1']:.4f}")
        if val["accuracy"] >= target_acc and val["macro_f1"] >= target_f1:
            return {"reached": True, "seconds": elapsed, "epochs": epoch}
    return {"reached": False, "seconds": time.perf_counter() - start, "epochs": max_epochs}


def _json_row(r: Row) -> dict:
    out = asdict(r)
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


if __name__ == "__main__":  # pragma: no cover - the CLI entry is `python -m experiments bench`
    sys.exit("use: python -m experiments bench heartbeat|titles")
