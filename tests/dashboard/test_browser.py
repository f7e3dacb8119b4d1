"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium),
served on loopback. Slow: run with `bash scripts/test.sh -m slow`."""
import shutil
import subprocess

import pytest

from tests.dashboard.browser import CHROMIUM, FLAGS, MARKS, dashboard

pytestmark = MARKS


@pytest.fixture
def server(home):
    with dashboard(home) as url:
        yield url


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
