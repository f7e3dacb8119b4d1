"""The one-click comparison in a real headless Chromium (Debian's
/usr/bin/chromium), as a class would see it: pick the sampler question, tick
two arms (named in words), a one-minute budget, start, and wait for the end:
the finding, the ranked table beside the full-data reference runs of the
same configs, presenter mode and the one-file HTML download. Slow: run with
`bash scripts/test.sh -m slow`; skipped where Chromium is missing.
RNN_ARENA_SCREENSHOTS=DIR keeps the 1400x900 screenshots in DIR."""
import os
import re
from pathlib import Path

import pytest

from core.data import heartbeat as hb
from tests.dashboard.browser import CHROMIUM, FLAGS, MARKS, dashboard

pytestmark = MARKS


@pytest.fixture
def server(home, kaggle_dir):
    from experiments import reference

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    reference.import_records(home, log=lambda m: None)  # the answer key: results/reference
    with dashboard(home) as url:
        yield url


def test_one_click_sampler_comparison_in_chromium(server, home, tmp_path):
    from playwright.sync_api import sync_playwright

    from experiments import sweep

    shots = Path(os.environ.get("RNN_ARENA_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(server + "/comparison")
        page.wait_for_selector("text=Estimated", timeout=60_000)
        page.get_by_text("What does a sampler change?").click()
        page.wait_for_selector("text=no imbalance handling", timeout=30_000)  # the arms in words
        assert page.locator("text=imbalance=").count() == 0  # no option syntax on the page
        for arm in ("class-weighted loss", "augmentation"):
            # the arm's tick box (its name also shows in the plan's details below)
            page.get_by_test_id("stCheckbox").filter(has_text=arm).click()
            page.wait_for_timeout(500)
        budget = page.get_by_role("spinbutton", name="Budget (minutes)")
        budget.fill("1")
        budget.press("Enter")
        page.wait_for_selector("text=To fit 1 min", timeout=30_000)
        page.get_by_role("button", name="Start the comparison").click()
        page.wait_for_selector("text=Comparison to watch", timeout=60_000)
        studies = []
        for _ in range(120):  # the imported reference studies are listed already: wait for this one
            studies = [s for s in sweep.list_studies(home) if not s.get("reference")]
            if studies and studies[0]["total"]:
                break
            page.wait_for_timeout(500)
        assert len(studies) == 1 and studies[0]["total"] == 2  # two ticked arms, one seed
        study = studies[0]
        # the end: the ranking, its finding and the download
        page.get_by_role("button", name="Download this comparison as HTML").wait_for(timeout=300_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
        page.screenshot(path=str(shots / "sampler-comparison.png"), full_page=False)

        # the one-file HTML: offline, escaped, the reference column, the arms in words
        with page.expect_download() as info:
            page.get_by_role("button", name="Download this comparison as HTML").click()
        saved = shots / "sampler-comparison.html"
        info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert "full data, reference" in text and "no imbalance handling" in text and "weighted sampler" in text
        assert not re.search(r"<script[^>]+src=", text) and "<link" not in text  # plotly inline: opens offline

        # presenter mode: the sidebar gone, the ranking as a plain table with the reference beside it
        page.get_by_role("button", name="Presenter mode").click()
        page.wait_for_selector("text=Exit presenter mode", timeout=30_000)
        page.wait_for_selector("[data-testid='stTable'] >> text=full data, reference", timeout=60_000)
        assert page.get_by_test_id("stSidebar").is_hidden()
        table = page.get_by_test_id("stTable").first.inner_text()
        assert "weighted sampler" in table and "no imbalance handling" in table and "imbalance=" not in table
        page.get_by_test_id("stTable").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "sampler-comparison-presenter.png"), full_page=False)
        width = page.evaluate("document.querySelector('[data-testid=\"stTable\"]').scrollWidth")
        assert width <= 1400  # the table fits the projector's page

        # ?present=1 opens it on Studies too
        page.goto(server + "/studies?present=1")
        page.wait_for_selector("text=Exit presenter mode", timeout=60_000)
        browser.close()
    assert sweep.progress(home, study["parent_id"])["done"] == 2
    assert (shots / "sampler-comparison.png").stat().st_size > 20_000
