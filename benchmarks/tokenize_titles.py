"""Title preprocessing speed: the reference filter chain (gensim
preprocess_string title by title) against RNN Arena's batched tokenizer, in
one process and across worker processes, on the same titles; checks that the
tokens are identical. Best of --repeat runs each, interleaved.

    python benchmarks/tokenize_titles.py --source ../shared/data/meli/resplit --repeat 3
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import text as T  # noqa: E402


def read_titles(source: Path) -> list[str]:
    titles: list[str] = []
    for path in sorted(source.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            titles += [json.loads(line)["title"] for line in fh if line.strip()]
    if not titles:
        raise SystemExit(f"no spanish.*.jsonl.gz titles in {source}")
    return titles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="folder with spanish.*.jsonl.gz")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    titles = read_titles(args.source)
    ways = {
        "reference: gensim preprocess_string per title": lambda: [T.tokenize(t) for t in titles],
        "RNN Arena, 1 process": lambda: T.tokenize_many(titles, workers=1),
        f"RNN Arena, {args.workers} processes": lambda: T.tokenize_many(titles, workers=args.workers, min_parallel=0),
    }
    best: dict[str, float] = {}
    results: dict[str, list] = {}
    for _ in range(args.repeat):
        for name, fn in ways.items():
            start = time.perf_counter()
            results[name] = fn()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    reference = results[next(iter(ways))]
    print(f"# python benchmarks/tokenize_titles.py --source {args.source} --repeat {args.repeat}")
    print(f"# {len(titles):,} titles, {os.cpu_count()} cores, best of {args.repeat}")
    print("| way | seconds | titles/s | vs reference | tokens identical |\n|---|---|---|---|---|")
    base = best[next(iter(ways))]
    for name in ways:
        print(f"| {name} | {best[name]:.2f} | {len(titles) / best[name]:,.0f} | {base / best[name]:.2f}x | "
              f"{'yes' if results[name] == reference else 'NO'} |")


if __name__ == "__main__":
    main()
