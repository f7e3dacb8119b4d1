"""Screenshots of the pages a class sees on a projector, at 1400x900, in a
real headless Chromium (Debian's /usr/bin/chromium) against a data folder:

    .venv/bin/python scripts/screenshots.py --home HOME --out DIR [--comparison NAME ...]

Each one-click comparison named is picked on the One-click page and shot
as it is, then in presenter mode; then Studies (presenter mode), the New run
form, Home and Data. Prints each file it writes.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.headless import CHROMIUM, FLAGS, served  # noqa: E402


def _pick(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    box.locator("input").first.click()
    page.keyboard.type(option)  # the select filters its options as one types
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    page.wait_for_timeout(2500)


def _settle(page, text: str, timeout: int = 120_000) -> None:
    page.wait_for_selector(f"text={text}", timeout=timeout)
    page.wait_for_timeout(2500)  # charts draw after the text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--comparison", action="append", default=[], help="a one-click comparison's name (repeatable)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with served(args.home) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def shot(name: str, full: bool = False) -> None:
            path = args.out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            print(path)

        for name in args.comparison:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            page.goto(url + "/comparison")
            _settle(page, "Comparison to watch")
            _pick(page, "Comparison to watch", name)
            _settle(page, "Download this comparison as HTML")
            page.get_by_text("Ranking", exact=True).first.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            shot(f"{slug}-ranking")
            shot(f"{slug}-full", full=True)
            page.get_by_role("button", name="Presenter mode").click()
            _settle(page, "Exit presenter mode")
            page.get_by_text("Ranking", exact=True).first.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            shot(f"{slug}-presenter")
            page.get_by_role("button", name="Exit presenter mode").click()
            page.wait_for_timeout(1500)
        page.goto(url + "/studies?present=1")
        _settle(page, "Finding")
        page.get_by_text("Ranking", exact=True).first.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        shot("studies-presenter")
        shot("studies-full", full=True)
        page.goto(url + "/new-run")
        _settle(page, "Basics")
        shot("new-run")
        page.goto(url + "/")
        _settle(page, "Start here")
        shot("home")
        page.goto(url + "/data")
        _settle(page, "Class distribution", timeout=180_000)
        page.get_by_text("Class distribution", exact=True).first.scroll_into_view_if_needed()
        page.mouse.wheel(0, 250)
        page.wait_for_timeout(1500)
        shot("data")
        browser.close()


if __name__ == "__main__":
    main()
