"""A class opening the dashboard at once: N sessions open the same page
together, against one dashboard server on loopback, with hundreds of runs in
the store; seconds per session until the page's script has finished.

Each session is what a browser tab is to the server: a websocket on
/_stcore/stream that asks for the page (a rerun_script message, as the
browser sends on load) and reads the server's messages until the script
finished. Sessions start together (a barrier), each on its own thread and
connection. Pages in turn; each page `--rounds` times. The first round of a
page meets whatever the earlier pages left in the server's caches; the store
does not change meanwhile. What is not measured: drawing in a browser (each
tab draws its own charts on its own machine).

    python benchmarks/dashboard_render.py --runs 557 --home /tmp/arena-557 --keep --pages home   # seed once
    python benchmarks/concurrent_sessions.py --home /tmp/arena-557 --sessions 30 --rounds 2
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL_PATHS = {"home": "", "compare": "compare", "studies": "studies", "comparison": "comparison",
             "monitor": "monitor", "report": "report", "data": "data", "new_run": "new-run"}


def open_page(port: int, page: str, timeout: float = 300.0) -> dict:
    """One session: connect, ask for the page, wait for the end of its script."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    started = time.perf_counter()
    deltas = 0
    exceptions = 0
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], open_timeout=timeout,
                 max_size=2**28, ping_interval=None) as ws:  # no keepalive: a busy server is timed, not dropped
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = URL_PATHS[page]
        msg.rerun_script.page_script_hash = ""
        ws.send(msg.SerializeToString())
        deadline = started + timeout
        while True:
            raw = ws.recv(timeout=max(0.1, deadline - time.perf_counter()))
            if isinstance(raw, str):
                continue
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                deltas += 1
                if fwd.delta.WhichOneof("type") == "new_element" and \
                        fwd.delta.new_element.WhichOneof("type") == "exception":
                    exceptions += 1
            elif kind == "script_finished":
                # 0 = finished successfully; fragments and reruns report other values
                if fwd.script_finished in (0, 1):  # FINISHED_SUCCESSFULLY / FINISHED_WITH_COMPILE_ERROR
                    break
            elif kind == "page_not_found":
                raise RuntimeError(f"page {page!r} not found")
    return {"seconds": time.perf_counter() - started, "deltas": deltas, "exceptions": exceptions}


def crowd(port: int, page: str, sessions: int) -> list[dict]:
    """`sessions` sessions opening `page` at the same moment."""
    barrier = threading.Barrier(sessions)
    out: list[dict] = [{} for _ in range(sessions)]

    def one(i: int) -> None:
        barrier.wait()
        try:
            out[i] = open_page(port, page)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            out[i] = {"seconds": float("nan"), "error": f"{type(exc).__name__}: {exc}"[:120]}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", required=True, help="a data folder with runs (seed one with dashboard_render.py --keep)")
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--pages", nargs="*", default=["home", "compare", "studies"])
    ap.add_argument("--single", action="store_true", help="also time one session alone per page, before the crowd")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 200 or not 1 <= args.rounds <= 10:
        raise SystemExit("--sessions must be 1..200 and --rounds 1..10")
    home = Path(args.home).expanduser().resolve()
    os.environ["RNN_ARENA_HOME"] = str(home)

    from dashboard.headless import served
    from experiments.queries import list_runs

    total = len(list_runs(home, limit=50_000))
    rows = []
    with served(home) as url:
        port = int(url.rsplit(":", 1)[1])
        open_page(port, "home")  # the server's imports, once (a dashboard already up)
        for page in args.pages:
            if args.single:
                alone = open_page(port, page)
                print(f"{page:<9} one session alone: {alone['seconds']:.2f} s", file=sys.stderr, flush=True)
                rows.append({"page": page, "round": "alone", "times": [alone["seconds"]], "errors": 0,
                             "exceptions": alone["exceptions"]})
            for r in range(1, args.rounds + 1):
                t0 = time.perf_counter()
                got = crowd(port, page, args.sessions)
                wall = time.perf_counter() - t0
                times = [g["seconds"] for g in got if "error" in g or g["seconds"] == g["seconds"]]
                errors = [g["error"] for g in got if "error" in g]
                row = {"page": page, "round": r, "times": [t for t in times if t == t], "errors": len(errors),
                       "exceptions": sum(g.get("exceptions", 0) for g in got), "wall": wall,
                       "first_error": errors[0] if errors else ""}
                rows.append(row)
                ts = sorted(row["times"]) or [float("nan")]
                print(f"{page:<9} round {r}: median {statistics.median(ts):.2f} s, max {ts[-1]:.2f} s, "
                      f"{len(errors)} errors {row['first_error']}", file=sys.stderr, flush=True)

    command = "python benchmarks/concurrent_sessions.py " + " ".join(sys.argv[1:])
    print(f"\nCommand: `{command}`")
    print(f"{total} runs in the store; {args.sessions} sessions opening each page at once; one server on "
          f"127.0.0.1; {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f} at the end.\n")
    print("| page | round | sessions | median (s) | 90th percentile (s) | slowest (s) | errors | page exceptions |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ts = sorted(row["times"]) or [float("nan")]
        p90 = ts[min(len(ts) - 1, int(round(0.9 * (len(ts) - 1))))]
        n = 1 if row["round"] == "alone" else args.sessions
        print(f"| {row['page']} | {row['round']} | {n} | {statistics.median(ts):.2f} | {p90:.2f} | {ts[-1]:.2f} | "
              f"{row['errors']} | {row['exceptions']} |")


if __name__ == "__main__":
    main()
