"""The documentation site as a reader gets it: built with ``mkdocs build --strict``, served over
HTTP on 127.0.0.1 and opened in Debian's headless Chromium (through Selenium, with the browser
and driver paths given, so nothing is downloaded).

The state diagrams must become images in the page with nothing fetched from anywhere but the
site itself: the renderer is shipped with the site (docs/assets/vendor/mermaid).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_header_links_to_the_project(site: Path) -> None:
    """The theme's repository link goes to the project, not a placeholder ("Example")."""
    source = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "urls"
    ]["Source"]
    page = (site / "index.html").read_text(encoding="utf-8")
    link = re.search(r'<a href="([^"]+)"[^>]*class="md-source"', page)
    assert link is not None and link.group(1) == source
    assert "Example" not in page.split('class="md-source"', 1)[1].split("</a>", 1)[0]


def test_the_command_page_shows_choices_without_escapes(site: Path) -> None:
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "<code>--lang tr|en</code>" in page
    assert "\\|" not in page
