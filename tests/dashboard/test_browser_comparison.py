"""The one-click comparison in a real headless Chromium (Debian's
/usr/bin/chromium): pick the sampler question, tick two arms, a one-minute
budget, start, and wait for the overlaid curves and the ranked table with
its finding. Slow: run with `bash scripts/test.sh -m slow`; skipped where
Chromium is missing."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.data import heartbeat as hb

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    port = _free_port()
    env = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_one_click_sampler_comparison_in_chromium(server, home, tmp_path):
    from playwright.sync_api import sync_playwright

    from experiments import sweep

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(server + "/comparison")
        page.wait_for_selector("text=Estimated", timeout=60_000)
        page.get_by_text("What does a sampler change?").click()
        page.wait_for_selector("text=imbalance=augmentation", timeout=30_000)
        for arm in ("imbalance=class-weighted loss", "imbalance=augmentation"):
            # the arm's tick box (its name also shows in the plan's details below)
            page.get_by_test_id("stCheckbox").filter(has_text=arm).click()
            page.wait_for_timeout(500)
        budget = page.get_by_role("spinbutton", name="Budget (minutes)")
        budget.fill("1")
        budget.press("Enter")
        page.wait_for_selector("text=To fit 1 min", timeout=30_000)
        page.get_by_role("button", name="Start the comparison").click()
        page.wait_for_selector("text=Comparison to watch", timeout=60_000)
        (study,) = sweep.list_studies(home)
        assert study["total"] == 2  # two ticked arms, one seed
        page.wait_for_selector("text=Finding:", timeout=240_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
        assert page.locator("text=imbalance=weighted sampler").count() >= 1
        page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
        browser.close()
    assert sweep.progress(home, study["parent_id"])["done"] == 2
    assert (tmp_path / "comparison.png").stat().st_size > 20_000
