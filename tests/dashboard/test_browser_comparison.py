"""The one-click comparison in a real headless Chromium (Debian's
/usr/bin/chromium): pick the sampler question, tick two arms, a one-minute
budget, start, and wait for the overlaid curves and the ranked table with
its finding. Slow: run with `bash scripts/test.sh -m slow`; skipped where
Chromium is missing."""
import pytest

from core.data import heartbeat as hb
from tests.dashboard.browser import CHROMIUM, FLAGS, MARKS, dashboard

pytestmark = MARKS


@pytest.fixture
def server(home, kaggle_dir):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    with dashboard(home) as url:
        yield url


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
