"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium),
served on loopback. Slow: run with `bash scripts/test.sh -m slow`."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home):
    port = _free_port()
    env = {**os.environ, "RNN_ARENA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def test_home_page_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        page.wait_for_selector("text=No runs yet", timeout=60_000)
        assert page.locator("h1", has_text="RNN Arena").count() == 1
        assert page.locator("text=Not prepared yet").count() == 2  # neither workload is prepared
        page.screenshot(path=str(tmp_path / "home.png"))
        browser.close()
    assert (tmp_path / "home.png").stat().st_size > 10_000


def test_server_binds_to_loopback_only(server):
    port = int(server.rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
    locals_ = [line.split()[3] for line in out.splitlines() if line.strip()]
    if not locals_:
        pytest.skip("ss is not available to list listening sockets")
    assert all(addr.startswith("127.0.0.1:") for addr in locals_), locals_


def test_data_page_in_chromium(server, home, kaggle_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    from core.data import heartbeat as hb

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2400})
        page.goto(server + "/data")
        page.wait_for_selector("text=Mean beat per class", timeout=60_000)
        assert page.locator(".js-plotly-plot").count() == 5
        page.goto(server + "/compare?present=1")
        page.wait_for_selector("text=Nothing to compare yet", timeout=60_000)
        page.wait_for_selector("text=Exit presenter mode", timeout=60_000)
        page.wait_for_function("getComputedStyle(document.querySelector('[data-testid=stSidebar]')).display == 'none'",
                               timeout=30_000)  # presenter mode hides the sidebar
        page.screenshot(path=str(tmp_path / "data.png"))
        browser.close()
