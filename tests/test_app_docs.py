"""The wizard's documentation shows only screenshots the browser tests take."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "app.md"
SHOTS = ROOT / "docs" / "screenshots"


def _taken_by_tests() -> set[str]:
    source = (ROOT / "tests" / "test_app_browser.py").read_text(encoding="utf-8")
    named = re.findall(r'(?:shot\([^,]+, |shot_name=|screenshot=)"([a-z0-9-]+)"', source)
    return set(named)


def test_every_picture_on_the_page_is_one_a_browser_test_takes_and_exists() -> None:
    shown = set(re.findall(r"\(screenshots/([a-z0-9-]+)\.png\)", PAGE.read_text("utf-8")))
    assert shown, "the page shows no screenshot"
    assert shown <= _taken_by_tests()
    for name in shown:
        data = (SHOTS / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name


def test_no_picture_is_kept_that_no_test_takes() -> None:
    kept = {p.stem for p in SHOTS.glob("*.png")}
    assert kept <= _taken_by_tests()
