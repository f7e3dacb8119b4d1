"""Classroom benchmark: do the built-in comparisons learn within a lesson's
budget on this machine? Runs the study commands exactly as a teacher would
(classroom recipe, no other option), times them wall to wall, and checks
each against its target:

  architectures, 1 seed   <= 8 min (2 workers); every config but a documented
                          teaching failure test macro-F1 >= 0.60; bi-GRU >= 0.80
  architectures, 3 seeds  <= 20 min, the same on every seed
  samplers, 3 seeds       <= 10 min; recall of S and F per arm with intervals
  quick-look run          start to report <= 60 s, test macro-F1 >= 0.70
  title-models            <= 10 min; GRU and LSTM balanced accuracy >= 0.50

  python benchmarks/classroom.py --data-home .rnn-arena --parts quick,arch1,arch3,samplers,titles \
      --out results/classroom

Each part runs in a fresh store (the prepared data is copied from
--data-home), so nothing is resumed from an earlier attempt. Writes the
study JSON rows and a markdown summary into --out.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TARGETS = {"arch1": 8 * 60, "arch3": 20 * 60, "samplers": 10 * 60, "quick": 60, "titles": 10 * 60}


def fresh_home(data_home: Path) -> Path:
    home = Path(tempfile.mkdtemp(prefix="arena-classroom-"))
    for part in ("datasets", "cache"):
        if (data_home / part).exists():
            shutil.copytree(data_home / part, home / part)
    return home


def run(cmd: list[str], home: Path, threads: int | None = 1) -> tuple[float, str]:
    """Run a command, wall-timed. threads=1 for study workers (one core each);
    None leaves torch's default (a single run uses both cores)."""
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    print("$ " + " ".join(["python"] + cmd[1:]), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        raise SystemExit(f"command failed ({proc.returncode})")
    return wall, proc.stdout


def study(name: str, workload: str, seeds: int, home: Path, out: Path, tag: str) -> tuple[float, list[dict]]:
    path = out / f"{tag}.json"
    wall, text = run([PY, "-m", "experiments", "--home", str(home), "study", name, "--workload", workload,
                      "--seeds", str(seeds), "--workers", "2", "--threads", "1", "--json", str(path)], home)
    (out / f"{tag}.txt").write_text(text, encoding="utf-8")
    return wall, json.loads(path.read_text(encoding="utf-8"))


def fmt_ci(row: dict, key: str = "", metric: str = "") -> str:
    """The row's macro-F1 (or `metric`'s, or class `key`'s recall) with its interval."""
    src = row["recall"][key] if key else (row["scores"][metric] if metric else row)
    if src["ci_low"] is None:
        return f"{src['mean']:.3f} (one seed)"
    return f"{src['mean']:.3f} [{src['ci_low']:.3f}, {src['ci_high']:.3f}]"


def arch_part(tag: str, seeds: int, data_home: Path, out: Path) -> list[str]:
    home = fresh_home(data_home)
    wall, rows = study("architectures", "heartbeat", seeds, home, out, tag)
    lines = [f"### architectures, {seeds} seed(s): {wall / 60:.1f} min wall (target <= {TARGETS[tag] // 60} min): "
             f"{'met' if wall <= TARGETS[tag] else 'MISSED'}", "",
             "| config | macro-F1 per seed | mean [95% CI] | learned | >= 0.60 every seed | note |", "|---|---|---|---|---|---|"]
    ok = wall <= TARGETS[tag]
    for r in rows:
        every = all(v >= 0.60 for v in r["per_seed"])
        failure = bool(r["note"])
        if not failure and not every:
            ok = False
        if r["config"] == "gru · bidirectional=true" and not all(v >= 0.80 for v in r["per_seed"]):
            ok = False
        lines.append(f"| {r['config']} | {', '.join(f'{v:.3f}' for v in r['per_seed'])} | {fmt_ci(r)} | "
                     f"{'yes' if r['learned'] else 'no'} | {'yes' if every else 'no'} | "
                     f"{'teaching failure' if failure else ''} |")
    lines += ["", f"All targets {'met' if ok else 'NOT met'} (bi-GRU >= 0.80 on every seed; every config without a "
                  f"teaching-failure note >= 0.60 on every seed).", ""]
    shutil.rmtree(home, ignore_errors=True)
    return lines


def samplers_part(data_home: Path, out: Path) -> list[str]:
    home = fresh_home(data_home)
    wall, rows = study("samplers", "heartbeat", 3, home, out, "samplers")
    lines = [f"### samplers, 3 seeds: {wall / 60:.1f} min wall (target <= 10 min): "
             f"{'met' if wall <= TARGETS['samplers'] else 'MISSED'}", "",
             "| arm | balanced acc. [95% CI] | macro-F1 | accuracy | recall S [95% CI] | recall F [95% CI] | learned |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:  # the study ranks by balanced accuracy
        lines.append(f"| {r['config']} | {fmt_ci(r, metric='balanced_accuracy')} | {r['macro_f1']:.3f} | "
                     f"{r['accuracy']:.3f} | "
                     f"{fmt_ci(r, 'S')} | {fmt_ci(r, 'F')} | {'yes' if r['learned'] else 'no'} |")
    shutil.rmtree(home, ignore_errors=True)
    return lines + [""]


def titles_part(data_home: Path, out: Path, seeds: int) -> list[str]:
    home = fresh_home(data_home)
    wall, rows = study("title-models", "titles", seeds, home, out, "titles")
    lines = [f"### title-models, {seeds} seed(s): {wall / 60:.1f} min wall (target <= 10 min): "
             f"{'met' if wall <= TARGETS['titles'] else 'MISSED'}", "",
             "| model | balanced acc. per seed | mean [95% CI] | macro-F1 | accuracy | learned |", "|---|---|---|---|---|---|"]
    for r in rows:
        bal = r["scores"]["balanced_accuracy"]
        lines.append(f"| {r['config']} | {', '.join(f'{v:.3f}' for v in bal['per_seed'])} | "
                     f"{fmt_ci(r, metric='balanced_accuracy')} | "
                     f"{r['macro_f1']:.3f} | {r['accuracy']:.3f} | {'yes' if r['learned'] else 'no'} |")
    shutil.rmtree(home, ignore_errors=True)
    return lines + [""]


def quick_part(data_home: Path) -> list[str]:
    home = fresh_home(data_home)
    wall, text = run([PY, "-m", "experiments", "--home", str(home), "run", "heartbeat", "--preset", "quick-look",
                      "--quiet"], home, threads=None)
    f1 = next(float(line.split()[-1]) for line in text.splitlines() if line.startswith("macro_f1"))
    shutil.rmtree(home, ignore_errors=True)
    ok = wall <= TARGETS["quick"] and f1 >= 0.70
    return [f"### quick-look preset: start to report {wall:.1f} s (target <= 60 s), test macro-F1 {f1:.4f} "
            f"(target >= 0.70): {'met' if ok else 'MISSED'}", ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-home", default=".rnn-arena", help="a home where the data is prepared")
    ap.add_argument("--parts", default="quick,arch1,arch3,samplers,titles")
    ap.add_argument("--title-seeds", type=int, default=3)
    ap.add_argument("--out", default="results/classroom")
    args = ap.parse_args()
    data_home, out = Path(args.data_home).resolve(), ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}", flush=True)
    parts = {"quick": lambda: quick_part(data_home), "arch1": lambda: arch_part("arch1", 1, data_home, out),
             "arch3": lambda: arch_part("arch3", 3, data_home, out), "samplers": lambda: samplers_part(data_home, out),
             "titles": lambda: titles_part(data_home, out, args.title_seeds)}
    for part in args.parts.split(","):
        started = time.strftime("%Y-%m-%d %H:%M")
        if part not in parts:
            raise SystemExit(f"unknown part {part!r}; choose from {', '.join(parts)}")
        lines = parts[part]()
        text = "\n".join([f"<!-- {started} -->"] + lines)
        print(text, flush=True)
        (out / f"{part}.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
