"""RNN Arena's command line.

    python -m experiments prepare heartbeat [--source PATH]
    python -m experiments run heartbeat --model gru --bidirectional --sample 0.1 --epochs 5
    python -m experiments run --resume RUN_ID
    python -m experiments runs
    python -m experiments export heartbeat --out DIR

A mistake in the input ends the command with a one-line message on stderr
and exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import typing
from dataclasses import fields
from pathlib import Path

from core import config as C
from core import options as O
from core.metrics import MANY_CLASSES
from core.presets import DESCRIPTIONS, preset_overrides
from core.workloads import get as get_workload
from core.workloads import quality_targets
from experiments.tags import QUEUE_TAG, STATUS_TAG


class UserError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors (no usage block): status 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {message}; see: {self.prog} --help\n")


def _flag(field_name: str) -> str:
    return "--model" if field_name == "name" else "--" + field_name.replace("_", "-")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig option; help and choices come from core.options
    (the New run form reads the same table)."""
    for section, part_cls in C.SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        hints = typing.get_type_hints(part_cls)
        default = part_cls()
        for f in fields(part_cls):
            if section == "data" and f.name == "workload":
                continue
            typ = hints[f.name]
            dest = f"{section}.{f.name}"
            value = getattr(default, f.name)
            opt = O.option(dest)
            text = opt.help
            if opt.workloads != O.BOTH:
                text = f"{', '.join(opt.workloads)} only: {text}"
            if typ is bool:
                group.add_argument(_flag(f.name), dest=dest, action=argparse.BooleanOptionalAction, default=None,
                                   help=f"{text} (default: {'on' if value else 'off'})".replace("%", "%%"))
            else:
                one_of = f"; one of {', '.join(opt.choices)}" if opt.choices else ""
                group.add_argument(_flag(f.name), dest=dest, type=str, default=None, metavar=typ.__name__.upper(),
                                   help=f"{text} (default: {value}{one_of})".replace("%", "%%"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m experiments",
        description="RNN Arena: prepare data, train and compare recurrent classifiers, recorded in MLflow.",
        epilog="Start with: prepare heartbeat, then run heartbeat --sample 0.1 --epochs 3, then runs.",
    )
    parser.add_argument("--home", help="data folder (downloads, cache, MLflow store); default $RNN_ARENA_HOME or ./.rnn-arena")
    parser.add_argument("--tracking-uri", help="the MLflow store: an MLflow server (http://HOST:5000) or a database "
                                               "URI; default $RNN_ARENA_TRACKING_URI, else the SQLite file in the "
                                               "data folder")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_prepare(sub)
    _add_run(sub)
    _add_records(sub)
    _add_bench(sub)
    _add_cancel_and_reference(sub)
    _add_study(sub)
    return parser


def _add_prepare(sub) -> None:
    """`prepare WORKLOAD`: build a dataset."""
    p = sub.add_parser("prepare", help="download or import a dataset and build it",
                       description="heartbeat: build the beats from raw MIT-BIH records (folder, .zip or .tar.*) or from Kaggle's "
                                   "two CSVs; without --source the records are downloaded from PhysioNet. titles: preprocess the "
                                   "MercadoLibre 2019 Spanish titles (course jsonl.gz splits or the challenge CSV).")
    p.add_argument("workload", choices=C.WORKLOADS)
    p.add_argument("--min-freq", type=int, default=2, help="titles: a word must occur in this many training titles (default 2)")
    p.add_argument("--max-vocab", type=int, default=50_000, help="titles: at most this many words (default 50000)")
    p.add_argument("--source", help="heartbeat: folder or archive of MIT-BIH records, or a folder with mitbih_train.csv "
                                    "and mitbih_test.csv; titles: a folder with spanish.{train,validation,test}.jsonl.gz "
                                    "or the challenge's train.csv")


def _add_run(sub) -> None:
    """`run`: train one model, with one flag per config option."""
    r = sub.add_parser("run", help="train and evaluate one model, recorded in MLflow",
                       description="Train one model on a prepared workload, evaluate it on test and record everything in MLflow. "
                                   "Example: run heartbeat --model gru --bidirectional --sample 0.1 --epochs 5")
    r.add_argument("workload", nargs="?", choices=C.WORKLOADS)
    r.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted run from its last finished epoch")
    r.add_argument("--run-name", help="a name for the run (default: a description of the model)")
    r.add_argument("--preset", help="start from a named set of options (explicit options win): "
                                    + "; ".join(f"{k}: {v}" for k, v in DESCRIPTIONS.items()).replace("%", "%%"))
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for torch (default: torch's choice); 1 keeps a background run from slowing other work")
    _add_config_options(r)


def _add_records(sub) -> None:
    """`runs`, `export`, `models`, and the internal `worker`."""
    ls = sub.add_parser("runs", help="list recorded runs with status and test metrics")
    ls.add_argument("--workload", choices=C.WORKLOADS)
    ls.add_argument("--limit", type=int, default=50)

    e = sub.add_parser("export", help="write the built beats as Kaggle-format CSVs")
    e.add_argument("workload", choices=["heartbeat"])
    e.add_argument("--out", required=True, help="folder for mitbih_train.csv and mitbih_test.csv")

    sub.add_parser("models", help="list the models in the registry")

    # internal (the dashboard starts it for a run it recorded): no help=, so --help does not list it
    w = sub.add_parser("worker", description="internal: train a recorded, not yet finished run when a slot is free")
    w.add_argument("run_id")
    w.add_argument("--slots", type=int, default=1, help="how many runs may train at once")
    w.add_argument("--threads", type=int, default=None)


def _add_bench(sub) -> None:
    """`bench`: the arena trainer against the plain notebook loop."""
    b = sub.add_parser("bench", help="speed benchmark: the arena trainer against the plain notebook loop",
                       description="Train and evaluate samples/s, seconds per epoch and peak memory of RNN Arena's "
                                   "trainer and of the plain notebook-style loop (DataLoader, padded, batch 128, Adam "
                                   "1e-3) on the same model and data in one process, with the ratios; --quality adds "
                                   f"the wall time until the workload's targets ({quality_targets()}). Records nothing "
                                   "in MLflow. Example: bench heartbeat --threads 2 --json bench.json")
    b.add_argument("workload", choices=C.WORKLOADS)
    b.add_argument("--device", default="auto", choices=C.DEVICES)
    b.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice)")
    b.add_argument("--batches", type=int, default=20, help="timed training batches per variant (default 20)")
    b.add_argument("--warmup", type=int, default=3, help="untimed batches first (default 3)")
    b.add_argument("--rounds", type=int, default=2,
                   help="the two loops take turns this many times; each keeps its fastest round (default 2)")
    b.add_argument("--eval-limit", type=int, default=4096, help="validation samples for eval speed (default 4096)")
    b.add_argument("--variants", help="comma-separated variant labels (default: all)")
    b.add_argument("--quality", action="store_true", help="also train the fast preset to quality (heartbeat)")
    b.add_argument("--quality-preset", default="fast", metavar="PRESET",
                   help="--quality: the full-data heartbeat preset to train (default fast)")
    b.add_argument("--max-epochs", type=int, default=40, help="--quality: give up after this many epochs")
    b.add_argument("--seed", type=int, help="--quality: the arena run's seed (default: the preset's)")
    b.add_argument("--plain-quality", action="store_true", help="--quality: also train the plain loop to quality (slow on CPU)")
    b.add_argument("--plain-epochs-to-quality", type=float,
                   help="--quality without --plain-quality: the plain loop's epochs to quality, measured elsewhere")
    b.add_argument("--json", help="also write the rows as JSON to this file")


def _add_cancel_and_reference(sub) -> None:
    """`cancel` a run; `reference` runs (import, status, run)."""
    k = sub.add_parser("cancel", help="stop a queued or running run (it is marked KILLED and can be resumed)")
    k.add_argument("run_id")

    x = sub.add_parser("explain", help="inside a finished run: the gradient through time, what drove example "
                                       "decisions, one item's hidden state over time",
                       description="Explain a finished run from its kept weights: the mean size of the loss gradient "
                                   "with respect to each input step over a fixed, seeded set of test items per class "
                                   "(gradient_by_step), example items with each step's integrated-gradient share, "
                                   "and one item's hidden units over time.")
    x.add_argument("run_id")
    x.add_argument("--json", required=True, help="write the explanation here (JSON)")
    x.add_argument("--per-class", type=int, default=32, help="test items per class behind each curve (default 32)")
    x.add_argument("--seed", type=int, default=0, help="seed of the items' draw (default 0)")

    ref = sub.add_parser("reference", help="full-data reference runs: import the committed records, or train more",
                         description="Reference runs are the built-in studies' configs trained on the full data, "
                                     "kept as small records in results/reference/. 'import' loads them into the store "
                                     "as finished runs marked 'full data, reference' (a second import loads nothing "
                                     "twice); 'status' lists what is recorded and what is left; 'run' trains the next "
                                     "missing ones and writes their records (hours on a CPU).")
    ref.add_argument("action", choices=["import", "status", "run"])
    ref.add_argument("--seeds", type=int, default=3, help="seeds per config to plan for (default 3)")
    from experiments.reference import groups

    ref.add_argument("--only", action="append", help=f"run: only this group ({', '.join(g for g, *_ in groups())}); "
                                                      "repeatable")
    ref.add_argument("--max-runs", type=int, default=1, help="run: train at most this many (default 1)")
    ref.add_argument("--threads", type=int, default=None, help="run: torch threads")


def _add_study(sub) -> None:
    """`study`: configs x seeds, ranked."""
    st = sub.add_parser("study", help="run a study: configs x seeds, resumable, ranked with CIs and significance",
                        description="Run a built-in or custom study (a set of configs, each with several seeds) and "
                                    "print the configs ranked with confidence intervals and tests against the best. "
                                    "Running the same command again resumes: finished runs are skipped, interrupted "
                                    "ones run again. Run options (--sample, --epochs, --hidden-size ...) apply to "
                                    "every config; the study's factors override them. "
                                    "Example: study architectures --seeds 3 (the classroom recipe)")
    st.add_argument("name", nargs="?", help="a built-in study (see --list), or a name for --file's study")
    st.add_argument("--list", action="store_true", help="list the built-in studies and the studies recorded here")
    st.add_argument("--file", help="a custom study in YAML: data only (name, base, factors, search, seeds...); "
                                   "nothing in it runs")
    st.add_argument("--allow-code", action="store_true",
                    help="let --file name a Python file defining STUDY; its code RUNS with your rights: only for "
                         "files you wrote or trust")
    st.add_argument("--resume", metavar="STUDY_RUN_ID", help="continue a recorded study by its run id (see --list)")
    st.add_argument("--workload", choices=C.WORKLOADS, default=None, help="default: the study's own, else heartbeat")
    st.add_argument("--seeds", type=int, default=None, help="seeds per config, train.seed 0..N-1 (default: the study's, 3)")
    st.add_argument("--executor", default="local", choices=("local", "ray"), help="local: worker processes on this machine (default); "
                                                        "ray: one Ray task per run")
    st.add_argument("--workers", type=int, default=None,
                    help="runs at a time (default: the number of cores; with ray: the cluster's CPUs)")
    st.add_argument("--address", help="ray: the cluster's address (default: start a local Ray instance)")
    st.add_argument("--threads", type=int, metavar="N",
                    help="torch threads per local worker (default: $OMP_NUM_THREADS, else cores / workers)")
    st.add_argument("--retry-failed", action="store_true", help="also run again the configs whose training failed")
    st.add_argument("--report", action="store_true", help="print the table of what has finished, start nothing")
    st.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the paired tests (default 1000)")
    st.add_argument("--markdown", action="store_true", help="print the ranked table as markdown")
    st.add_argument("--json", metavar="PATH", help="also write one row per config as JSON (per-seed scores, mean, "
                                                   "interval, learned, note)")
    _add_config_options(st)


def _config_from_args(args: argparse.Namespace) -> C.RunConfig:
    params = {}
    if getattr(args, "preset", None):
        try:
            params.update({k: C._to_str(v) for k, v in preset_overrides(args.preset).items()})
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if args.workload and params.get("data.workload", args.workload) != args.workload:
            raise UserError(f"preset {args.preset!r} is for the {params['data.workload']} workload, not {args.workload}")
    if args.workload:
        params["data.workload"] = args.workload
    for key, value in vars(args).items():
        if "." in key and value is not None:
            params[key] = value if isinstance(value, str) else C._to_str(value)
    try:
        return C.RunConfig.from_params(params)
    except ValueError as exc:
        raise UserError(_cli_names(str(exc))) from None


def _cli_names(message: str) -> str:
    for section, part_cls in C.SECTIONS.items():
        for f in fields(part_cls):
            message = message.replace(f"{section}.{f.name}=", f"{_flag(f.name)} ")
    return message


def _progress():
    from tqdm import tqdm

    return tqdm


def cmd_prepare(args, home: Path) -> None:
    from experiments import workloads

    tqdm = _progress()
    bar = None

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        if bar is None or total != bar.total:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, desc="preparing", file=sys.stderr)
        bar.update(done - bar.n)
        bar.set_postfix_str(what)

    source = Path(args.source).expanduser() if args.source else None
    if args.min_freq < 1 or args.max_vocab < 1:
        raise UserError("--min-freq and --max-vocab must be at least 1")
    _bounded("--min-freq", args.min_freq, 1, 1_000_000, "no word occurs in more titles than that")
    _bounded("--max-vocab", args.max_vocab, 1, 10_000_000, "the embedding of a larger vocabulary would not fit")
    options = {name: getattr(args, name) for name in get_workload(args.workload).prepare_options}
    meta = workloads.prepare(args.workload, source, home, progress=progress, log=lambda m: print(m, file=sys.stderr),
                             **options)
    if bar is not None:
        bar.close()
    print("\n".join(get_workload(args.workload).describe_prepared(meta)))
    built = "reused from the cache" if meta.get("reused") else f"built in {meta['build_seconds']:.1f} s"
    print(f"{built}: {meta['cache']}")


def _bounded(flag: str, value: int | None, low: int, high: int, why: str) -> None:
    """A numeric option outside [low, high]: one line with the reason."""
    if value is None:
        return
    if value < low:
        raise UserError(f"{flag} {value} must be at least {low}")
    if value > high:
        raise UserError(f"{flag} {_cut(value)} must be at most {high:,}: {why}")


def _cut(value, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def max_threads() -> int:
    return 4 * (os.cpu_count() or 1)


def _set_threads(threads: int | None) -> None:
    _bounded("--threads", threads, 1, max_threads(),
             f"this machine has {os.cpu_count() or 1} cores; more threads than 4 per core only slow torch down")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def cmd_run(args, home: Path) -> None:
    from experiments import runner

    _set_threads(args.threads)
    cfg, run_id = _resumed_run(args, home) if args.resume else _new_run(args, home)
    runner.interrupt_on_signals()
    console = _RunConsole(cfg.train.epochs, args.quiet)
    try:
        summary = runner.execute(run_id, home, on_epoch=console.on_epoch, on_batch=console.on_batch,
                                 on_start=console.on_start)
    except KeyboardInterrupt:
        print(f"\ninterrupted: run {run_id} is marked KILLED; resume with: python -m experiments run --resume {run_id}", file=sys.stderr)
        raise SystemExit(130)
    except (ValueError, FloatingPointError) as exc:
        raise UserError(f"run {run_id} failed and is marked FAILED in MLflow: {exc}") from None
    finally:
        console.close()
    _print_summary(summary, cfg)


def _resumed_run(args, home: Path) -> tuple[C.RunConfig, str]:
    """`run --resume RUN_ID`: the run's config once experiments.runner agrees it can be resumed."""
    from experiments import runner

    try:
        cfg = runner.resumable_config(home, args.resume)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"resuming run {args.resume} ({cfg.describe()})", file=sys.stderr)
    return cfg, args.resume


def _new_run(args, home: Path) -> tuple[C.RunConfig, str]:
    """`run WORKLOAD ...`: the config from the flags, checked against the prepared data, recorded."""
    from experiments import runner, workloads

    if not args.workload and not args.preset:
        raise UserError("name a workload (run heartbeat ...) or --resume RUN_ID")
    cfg = _config_from_args(args)
    try:
        workloads.check_ready([cfg], home)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    run_id = runner.create_run(cfg, home, args.run_name)
    print(f"run {run_id}: {cfg.describe()}, sample {cfg.data.sample}, {cfg.train.epochs} epochs", file=sys.stderr)
    return cfg, run_id


class _RunConsole:
    """What `run` shows while it trains: a progress bar per epoch (unless
    quiet), a line per epoch, the split sizes at the start."""

    SHORT = {"train/loss": "train/loss", "val/loss": "val/loss", "val/accuracy": "val/acc",
             "val/balanced_accuracy": "val/bal_acc", "val/macro_f1": "val/macro_f1"}

    def __init__(self, epochs: int, quiet: bool):
        self.epochs, self.quiet = epochs, quiet
        self.tqdm = _progress()
        self.bar = None
        self.epoch = 0

    def on_batch(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None or done == 1:
            self.close()
            self.bar = self.tqdm(total=total, desc=f"epoch {self.epoch + 1}/{self.epochs}", unit="batch", file=sys.stderr,
                                 leave=False)
        self.bar.update(done - self.bar.n)

    def on_epoch(self, epoch: int, row: dict) -> None:
        self.epoch = epoch
        parts = [f"{label} {row[key]:.4f}" for key, label in self.SHORT.items() if key in row]
        print(f"epoch {epoch:>3}/{self.epochs}  " + "  ".join(parts) + f"  {row['epoch_seconds']:.1f}s",
              file=sys.stderr, flush=True)

    def on_start(self, info: dict) -> None:
        print(f"device {info['device']}: train {info['train_size']:,}, val {info['val_size']:,}, test {info['test_size']:,}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_summary(summary, cfg: C.RunConfig) -> None:
    """The finished run: its timing, test metrics and per-class table (the
    worst and best five when there are many classes)."""
    from core.workloads import spelled_out

    print(f"run {summary.run_id} FINISHED on {summary.device} in {summary.seconds:.1f} s "
          f"({summary.epochs_run} epochs, {summary.seconds_per_epoch:.1f} s/epoch, best epoch {summary.best_epoch})")
    print(f"{'metric':<20}{'test':>8}")
    for k in ("accuracy", "balanced_accuracy", "macro_f1", "loss"):
        if summary.test[k] == summary.test[k]:  # tfidf has no loss
            print(f"{k:<20}{summary.test[k]:>8.4f}")
    rows = list(zip(spelled_out(summary.per_class), summary.per_class.values()))  # "S supraventricular ectopic"
    if len(rows) > MANY_CLASSES:  # the worst and best five by F1
        rows.sort(key=lambda kv: kv[1]["f1-score"])
        print(f"{len(rows)} classes; the five worst and five best by F1:")
        rows = rows[:5] + rows[-5:]
    width = max(8, *(len(n) + 2 for n, _ in rows))
    # sensitivity (recall) and positive predictive value (precision): the per-class measures ECG papers publish
    print(f"{'class':<{width}}{'Se/recall':>11}{'PPV/precision':>15}{'f1':>8}{'support':>9}")
    for name, r in rows:
        print(f"{name:<{width}}{r['recall']:>11.4f}{r['precision']:>15.4f}{r['f1-score']:>8.4f}{int(r['support']):>9,}")
    if cfg.data.split == "inter-patient":
        print("inter-patient: tested on the DS2 records, whose patients the model never saw")


def cmd_runs(args, home: Path) -> None:
    from experiments.queries import list_runs

    rows = list_runs(home, args.workload, limit=args.limit)
    if not rows:
        print(f"no runs recorded in {home} yet; start one with: python -m experiments run heartbeat --sample 0.1 --epochs 3")
        return
    from core.diagnosis import MARK

    fmt = "{:<32} {:<9} {:<10} {:<34} {:>6} {:>6} {:>8} {:>8} {:>8}  {:<16}  {}"
    print(fmt.format("run_id", "status", "workload", "model", "sample", "epochs", "test_acc", "bal_acc", "macro_f1",
                     "started", "learned"))
    unlearned = []
    for r in rows:
        num = lambda v: f"{v:.4f}" if v is not None else "-"  # noqa: E731
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["start_time"] / 1000)) if r["start_time"] else "-"
        learned = {True: "yes", False: MARK, None: "-"}[r.get("learned")]
        if r.get("learned") is False:
            unlearned.append(r)
        print(fmt.format(r["run_id"], r["status"], r["workload"], r["model"][:34], f"{r['sample']:g}", r["epochs"],
                         num(r["test/accuracy"]), num(r["test/balanced_accuracy"]), num(r["test/macro_f1"]), started,
                         learned))
    for r in unlearned[:10]:
        print(f"{r['run_id'][:8]}: {r['learned_reason']}")
    _print_events(rows)


def _print_events(rows: list[dict]) -> None:
    """AAMI-style figures of the finished runs whose workload names event
    classes (heartbeats: SVEB and VEB sensitivity Se, positive predictivity +P
    and F1, and the 4-class macro-F1 over N, S, V and F)."""
    from core import workloads as W

    for w in W.all_workloads():
        if not w.event_classes:
            continue
        mine = [r for r in rows if r["workload"] == w.name and r.get(f"test/recall_{w.event_classes[0][0]}") is not None]
        if not mine:
            continue
        num = lambda v: f"{v:.4f}" if v is not None else "-"  # noqa: E731
        core = w.class_metrics().get("macro_f1_core", ("",))[0]
        head = [f"{e} {k}" for _, e in w.event_classes for k in ("Se", "+P", "F1")]
        print(f"\n{w.name}: AAMI figures (Se = sensitivity, +P = positive predictivity)"
              + (f"; {core}" if core else ""))
        print("{:<10} ".format("run") + " ".join(f"{h:>9}" for h in head) + (f" {'core F1':>9}" if core else ""))
        for r in mine:
            vals = [num(r.get(f"test/{k}_{c}")) for c, _ in w.event_classes for k in ("recall", "precision", "f1")]
            tail = f" {num(r.get('test/macro_f1_core')):>9}" if core else ""
            print(f"{r['run_id'][:8]:<10} " + " ".join(f"{v:>9}" for v in vals) + tail)


def cmd_export(args, home: Path) -> None:
    from core.data import heartbeat as hb

    for path in hb.export_kaggle(home, Path(args.out).expanduser()):
        print(path)


def cmd_worker(args, home: Path) -> None:
    import signal

    from experiments import launcher, runner

    # a cancel that arrives while MLflow and torch are still being imported is
    # only noted: interrupting an import half-way leaves modules unusable
    early: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: early.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: early.append(signum))
    from experiments.mlflow_tracker import client

    _bounded("--slots", args.slots, 1, 1024, "each slot is a run training at once")
    _set_threads(args.threads)
    c = client(home)
    status = launcher._get_run(home, args.run_id).info.status
    if status == "FINISHED":
        raise UserError(f"run {args.run_id} is FINISHED; its results are final and are not trained again")

    def stop_queued() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if not runner.finished(c, args.run_id):  # a FINISHED status never changes
            c.set_tag(args.run_id, STATUS_TAG, "cancelled while queued")
            c.set_terminated(args.run_id, status="KILLED")
        raise SystemExit(130)

    if early:
        stop_queued()
    runner.interrupt_on_signals()
    try:
        slot = launcher.wait_for_slot(home, args.slots, args.run_id)
    except KeyboardInterrupt:
        stop_queued()
    with slot:
        c.set_tag(args.run_id, QUEUE_TAG, "started")
        try:
            summary = runner.execute(args.run_id, home)
        except KeyboardInterrupt:
            raise SystemExit(130)
        except Exception as exc:  # recorded as FAILED by execute
            print(f"run {args.run_id} failed: {exc}", file=sys.stderr)
            raise SystemExit(1)
    print(f"run {summary.run_id} FINISHED: " + ", ".join(f"{k} {v:.4f}" for k, v in summary.test.items()))


def cmd_bench(args, home: Path) -> None:
    from experiments import bench

    _set_threads(args.threads)
    for name, high in (("batches", 100_000), ("warmup", 10_000), ("eval_limit", 10_000_000), ("max_epochs", 10_000),
                       ("rounds", 100)):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            raise UserError(f"--{name.replace('_', '-')} {getattr(args, name)} is too small")
        _bounded(f"--{name.replace('_', '-')}", getattr(args, name), 0, high,
                 "a benchmark that long measures nothing more")
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    bench.run(args.workload, home, args.device, args.batches, args.warmup, args.eval_limit, variants, args.quality,
              args.max_epochs, args.plain_quality, args.plain_epochs_to_quality, args.json,
              quality_preset=args.quality_preset, argv=sys.argv[2:], seed=args.seed,
              rounds=args.rounds)


def cmd_cancel(args, home: Path) -> None:
    from experiments import launcher

    print(f"run {args.run_id}: {launcher.cancel(home, args.run_id)}")


def cmd_study(args, home: Path) -> None:
    from experiments import studies

    if args.list:
        _list_studies(home)
        return
    _check_study_bounds(args)
    study, asked, seeds, overrides = _resumed_study(args, home) if args.resume else _new_study(args)
    try:
        workload, _ = studies.checked_trials(study, asked, overrides, seeds, home)
    except studies.WrongWorkload as exc:
        raise UserError(f"{exc}; drop --workload {exc.asked}") from None
    except ValueError as exc:
        raise UserError(_cli_names(str(exc))) from None
    parent_id = _work_study(args, home, study, workload, seeds, overrides)
    if parent_id is not None:
        _print_study_report(args, home, parent_id, study.notes)


def _list_studies(home: Path) -> None:
    """`study --list`: the built-in studies, then those recorded in `home` with their progress."""
    from experiments import studies, sweep

    print("built-in studies:")
    for study in studies.BUILTIN.values():
        print(f"  {studies.describe(study)}")
    recorded = sweep.list_studies(home)
    if recorded:
        print(f"recorded in {home}:")
        for s in recorded:
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["start_time"] / 1000))
            print(f"  {s['parent_id']}  {s['name']:<16} {s['workload']:<9} sample {s['sample']:<5} {started}  "
                  f"{s['done']}/{s['total']} done, {s['running']} running, {s['queued'] + s['interrupted']} queued, "
                  f"{s['failed']} failed")


def _check_study_bounds(args) -> None:
    if args.seeds is not None and not 1 <= args.seeds <= 100:
        raise UserError(f"--seeds {args.seeds} must be between 1 and 100")
    if args.boot < 1:
        raise UserError(f"--boot {args.boot} must be at least 1")
    _bounded("--boot", args.boot, 1, 100_000, "more resamples change the p-values by less than 0.005 and take minutes")
    _bounded("--workers", args.workers, 1, 1024, "each worker is a process")
    _bounded("--threads", args.threads, 1, max_threads(),
             f"this machine has {os.cpu_count() or 1} cores; more threads than 4 per core only slow torch down")


def _resumed_study(args, home: Path):
    """`study --resume ID`: the recorded (study, workload, seeds, overrides), nothing else given."""
    from experiments import sweep

    given = [k for k, v in vars(args).items() if "." in k and v is not None]
    if args.name or args.file or given or args.seeds is not None or args.workload:
        raise UserError("--resume continues a recorded study as it was defined: give no study name, --file, "
                        "--workload, --seeds or run options with it")
    return sweep.parent_definition(home, args.resume)


def _new_study(args):
    """`study NAME` or `study --file F`: (study, workload asked for, seeds, run options); a note
    on the run options the study varies itself."""
    from experiments import studies

    if args.file:
        study = studies.load_study(args.file, allow_code=args.allow_code)
        if args.name:
            from dataclasses import replace

            study = replace(study, name=args.name)
    elif args.name:
        study = studies.builtin(args.name)
    else:
        raise UserError("name a study (python -m experiments study --list shows them) or give --file my_study.yaml")
    seeds = args.seeds if args.seeds is not None else study.seeds
    overrides = {k: v for k, v in vars(args).items() if "." in k and v is not None}
    ignored = sorted(set(overrides) & (studies.varied_options(study) | {"train.seed"}))
    if ignored:
        print("note: the study varies " + ", ".join(_flag(k.split(".", 1)[1]) for k in ignored)
              + " itself; the command-line value is not used", file=sys.stderr)
    return study, args.workload, seeds, overrides


def _work_study(args, home: Path, study, workload: str, seeds: int, overrides: dict) -> str | None:
    """Run (or resume) the study's queue to its end; with --report only find
    it. Its parent run id; None when --report finds nothing started."""
    from experiments import studies, sweep

    if args.report:
        parent_id = args.resume or sweep.find_study(home, study, workload, seeds, overrides)
        if parent_id is None:
            print(f"study {study.name} with these options has not been started in {home}; drop --report to start it")
        return parent_id
    print(f"study {studies.describe(study, seeds)} Workload: {workload}.".replace(".. ", ". "), file=sys.stderr)
    runner_signals()
    try:
        opened, result = sweep.run_study(home, study, workload, seeds, overrides, executor=args.executor,
                                         workers=args.workers, address=args.address,
                                         log=lambda line: print(line, file=sys.stderr, flush=True),
                                         retry_failed=args.retry_failed, threads=args.threads)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are kept; run the same command again to resume", file=sys.stderr)
        raise SystemExit(130)
    counts = result.counts
    print(f"study {study.name} ({opened.parent_id}): {counts['done']}/{counts['total']} runs done, "
          f"{counts['failed']} failed", file=sys.stderr)
    return opened.parent_id


def _print_study_report(args, home: Path, parent_id: str, notes) -> None:
    """The ranked table, its legend, the finding and notes (and --json rows)."""
    from experiments import study_report

    rep = study_report.report(home, parent_id, n_boot=args.boot)
    if args.json:
        import json

        rows = study_report.summary_rows(rep, notes)
        Path(args.json).expanduser().write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(study_report.table(rep, markdown=args.markdown))
    if rep["rows"]:
        print(study_report.legend(rep))
        print(f"finding: {rep['finding']}")
        for _, line in study_report.explanations(rep):
            print(f"  {line}")
    for note in rep["notes"]:
        print(f"note: {note}")


def cmd_reference(args, home: Path) -> None:
    from experiments import reference

    if not 1 <= args.seeds <= 10:
        raise UserError(f"--seeds {args.seeds} must be between 1 and 10")
    if args.action == "import":
        reference.import_records(home)
        return
    only = set(args.only or [])
    if args.action == "status":
        records = reference.read_records()
        print(f"{len(records)} reference record(s) in {reference.ROOT}")
        left = reference.missing(args.seeds, only)
        print(f"{len(left)} of {len(reference.plan(args.seeds))} planned runs ({args.seeds} seeds) have no record yet")
        for p in left[:20]:
            print(f"  {p.group}: {p.trial.point.label}, seed {p.trial.seed}")
        return
    if not 1 <= args.max_runs <= 1000:
        raise UserError(f"--max-runs {args.max_runs} must be between 1 and 1000")
    _bounded("--threads", args.threads, 1, max_threads(),
             f"this machine has {os.cpu_count() or 1} cores; more threads than 4 per core only slow torch down")
    runner_signals()
    for _ in range(args.max_runs):
        if reference.run_next(home, args.seeds, only, threads=args.threads) is None:
            if not reference.missing(args.seeds, only):
                print("every planned reference run has a record")
            break


def runner_signals() -> None:
    from experiments import runner

    runner.interrupt_on_signals()


def cmd_explain(args, home: Path) -> None:
    import json

    from experiments.explain import explain_run

    _bounded("--per-class", args.per_class, 1, 10_000, "test items per class")
    out = explain_run(home, args.run_id, args.per_class, args.seed)
    path = Path(args.json).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out), encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
    curve = out["gradient_by_step"]
    print(f"explained run {args.run_id} on {out['items']} test items ({out['per_class']} per class) in "
          f"{out['seconds']:.1f} s: {out['steps']} steps, gradient largest at step {max(range(len(curve)), key=curve.__getitem__)}; "
          f"wrote {path}")


def cmd_models(args, home: Path) -> None:
    from core.models import list_models

    print("\n".join(list_models()))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from experiments.settings import arena_home, use_tracking_uri

    try:
        use_tracking_uri(args.tracking_uri)
        home = arena_home(args.home)
        {"prepare": cmd_prepare, "run": cmd_run, "runs": cmd_runs, "export": cmd_export, "models": cmd_models,
         "worker": cmd_worker, "cancel": cmd_cancel, "study": cmd_study,
         "bench": cmd_bench, "reference": cmd_reference, "explain": cmd_explain}[args.command](args, home)
    except (UserError, ValueError) as exc:
        _error(str(exc))
        return 2
    except OSError as exc:
        if exc.errno is None:
            raise
        _error(f"{exc.strerror}: {exc.filename or ''}".rstrip(": "))
        return 2
    return 0


def _error(message: str) -> None:
    """The one error line, on a line of its own: a progress bar still open
    (the command failed half-way) is ended first."""
    try:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()
    except ImportError:
        pass
    sys.stderr.flush()
    print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
