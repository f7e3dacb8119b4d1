"""A built-in study on the real data, dispatched over a two-node Ray cluster
on this machine against a local MLflow tracking server, then shown by a
dashboard that reads the server (its own home holds no runs): prints the
study's wall time and writes screenshots of Home, Studies and Monitor.

    .venv/bin/python benchmarks/cluster_dashboard.py --data-home .rnn-arena [--study samplers --seeds 2] \
        [--shots /tmp/shots]

--data-home is a home where the study's workload is prepared (its datasets
are read where they are, not copied). Needs Debian's chromium for the shots.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cluster import cli  # noqa: E402
from benchmarks.dashboard_render import link_datasets  # noqa: E402
from experiments import loopback as L  # noqa: E402

PAGES = {"home": "", "studies": "studies", "monitor": "monitor"}


def screenshots(home: Path, uri: str, out: Path, settle: float) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from dashboard import headless

    os.environ["RNN_ARENA_TRACKING_URI"] = uri
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with headless.served(home) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=headless.CHROMIUM, args=headless.FLAGS)
        for name, path in PAGES.items():
            page = browser.new_page(viewport={"width": 1440, "height": 2400})
            page.goto(f"{url}/{path}")
            time.sleep(settle)  # the pages' fragments and charts
            shots.append(out / f"cluster-{name}.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
    return shots


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-home", required=True, help="a home with the study's workload prepared")
    ap.add_argument("--study", default="samplers")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--shots", default="cluster-shots", help="folder for the screenshots")
    ap.add_argument("--settle", type=float, default=40.0, help="seconds each page is given before its screenshot")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="arena-lab-") as tmp:
        root = Path(tmp)
        homes = {k: root / f"home-{k}" for k in ("head", "node", "dashboard")}
        for home in homes.values():
            home.mkdir(parents=True)
            link_datasets(Path(args.data_home).resolve(), home)
        services = []
        try:
            services.append(L.start_mlflow_server(root / "server"))
            services.append(L.start_ray_node(root / "ray", 1, env={"RNN_ARENA_HOME": str(homes["head"])}))
            services.append(L.start_ray_node(root / "ray", 1, head=services[1].address,
                                             env={"RNN_ARENA_HOME": str(homes["node"])}))
            uri = services[0].address
            started = time.perf_counter()
            done = cli(["study", args.study, "--seeds", str(args.seeds), "--executor", "ray",
                        "--address", services[1].address], homes["head"], RNN_ARENA_TRACKING_URI=uri, **L.RAY_ENV)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"the study did not finish:\n{(done.stdout + done.stderr)[-2000:]}")
            print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")
            print(f"study {args.study}, {args.seeds} seed(s), two Ray nodes (1 CPU each) against {uri}: "
                  f"{wall:.0f} s wall")
            for shot in screenshots(homes["dashboard"], uri, Path(args.shots), args.settle):
                print(f"wrote {shot}")
        finally:
            for service in reversed(services):
                service.stop()
    print(f"Command: python benchmarks/cluster_dashboard.py {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
