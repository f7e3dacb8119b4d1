"""What the real-browser tests share: Chromium, its flags and the served
dashboard (dashboard.headless, which benchmarks/dashboard_render.py uses
too), and their marks."""
from pathlib import Path

import pytest

from dashboard.headless import CHROMIUM, FLAGS
from dashboard.headless import served as dashboard

__all__ = ["CHROMIUM", "FLAGS", "MARKS", "dashboard"]

MARKS = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
