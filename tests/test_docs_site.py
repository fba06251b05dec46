"""The documentation site as a reader gets it: built with ``mkdocs build --strict``, served over
HTTP on 127.0.0.1 and opened in Debian's headless Chromium (through Selenium, with the browser
and driver paths given, so nothing is downloaded).

The state diagrams must become images in the page with nothing fetched from anywhere but the
site itself: the renderer is shipped with the site (docs/assets/vendor/mermaid).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged."""


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    """The built site served on 127.0.0.1 by a server this test starts and stops."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _diagram_sources() -> int:
    return sum(p.read_text(encoding="utf-8").count("```mermaid") for p in DOCS.rglob("*.md"))


_DIAGRAMS = """
return Array.from(document.querySelectorAll("div.diagram")).map(function (d) {
  var svg = d.querySelector("svg");
  if (!svg) { return null; }
  var box = svg.getBoundingClientRect();
  return {width: box.width, height: box.height, text: svg.textContent};
});
"""


def test_every_state_diagram_is_drawn_as_an_image_with_no_network(
    site: Path, site_url: str
) -> None:
    pytest.importorskip("selenium", reason="the test extra (selenium) is not installed")
    from selenium.webdriver.support.ui import WebDriverWait

    from kamusm.testing.browser import headless_chromium

    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if 'class="diagram"' in p.read_text(encoding="utf-8")
    )
    assert "flows/index.html" in pages
    built = sum((site / p).read_text(encoding="utf-8").count('class="diagram"') for p in pages)
    assert built == _diagram_sources() >= 2  # every ```mermaid block became a diagram slot

    drawn = 0
    with headless_chromium() as browser:
        for page in pages:
            browser.get(site_url + page)
            # Wait for the renderer to have replaced every diagram's source with an image.
            WebDriverWait(browser, 120).until(
                lambda b: all(d is not None for d in b.execute_script(_DIAGRAMS))
            )
            diagrams = browser.execute_script(_DIAGRAMS)
            for diagram in diagrams:
                assert diagram["width"] > 100 and diagram["height"] > 100, (page, diagram)
                assert "Syntax error" not in diagram["text"], page
            drawn += len(diagrams)
            resources = browser.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
            )
            assert any(r.endswith("/mermaid.min.js") for r in resources), resources
            elsewhere = [r for r in resources if not r.startswith(site_url)]
            assert elsewhere == [], f"{page} fetched from outside the site: {elsewhere}"
    assert drawn == built
    flows = (site / "flows" / "index.html").read_text(encoding="utf-8")
    assert "AWAITING_CODE" in flows  # the page carried the source the images were drawn from


def test_the_reset_diagram_shows_the_states_of_the_reset_flow(site_url: str) -> None:
    """The image is the diagram of the code: its text holds the reset flow's states."""
    pytest.importorskip("selenium", reason="the test extra (selenium) is not installed")
    from selenium.webdriver.support.ui import WebDriverWait

    from kamusm.flows import ResetState
    from kamusm.testing.browser import headless_chromium

    with headless_chromium() as browser:
        browser.get(site_url + "flows/")
        WebDriverWait(browser, 120).until(
            lambda b: all(d is not None for d in b.execute_script(_DIAGRAMS))
        )
        first = browser.execute_script(_DIAGRAMS)[0]
    for state in ResetState:
        assert state.name in first["text"], state


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
