"""What the browser tests of ``kamusm app`` and the sandbox's training pages share: a sandbox
with its pages on a manual clock, the wizard beside it, a headless Chromium, and screenshots.

Screenshots go to ``KAMUSM_SCREENSHOTS`` when it is set (``scripts/screenshots`` points it at
``docs/screenshots``, which the documentation shows), else to a directory under ``$TMPDIR``:
every run writes them, and the documentation's pictures are always ones a test run made.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from kamusm.app import AppConfig, AppServer
from kamusm.sandbox import SandboxPortal, SandboxServer, SandboxSettings
from kamusm.testing.sandbox import RunningSandbox, TestHolder, provision_softhsm_card
from kamusm.values import ManualClock, Product, SystemClock

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from kamusm.testing.softhsm import SoftHsmToken

SCREENSHOTS = Path(
    os.environ.get("KAMUSM_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / f"kamusm-screenshots-{os.getuid()}"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def shot(browser: WebDriver, name: str) -> Path:
    """Save what the browser shows as ``<name>.png`` and check it is a PNG."""
    path = SCREENSHOTS / f"{name}.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


@contextmanager
def training_sandbox(settings: SandboxSettings | None = None) -> Iterator[RunningSandbox]:
    """A fresh sandbox with its training pages, on a manual clock that starts at the real
    time (the test certificates are valid then)."""
    clock = ManualClock(SystemClock().now())
    with (
        SandboxPortal(settings=settings, clock=clock) as portal,
        SandboxServer(portal, training=True) as server,
    ):
        yield RunningSandbox(
            url=server.url, admin_token=server.admin_token, portal=portal, clock=clock
        )


@attrs.frozen
class Stage:
    """A sandbox with its pages, one holder's SoftHSM2 card registered there, and the wizard
    working on that card's module and that sandbox's clock."""

    sandbox: RunningSandbox
    app: AppServer
    holder: TestHolder
    card: SoftHsmToken
    product: Product


@contextmanager
def stage(
    *,
    product: Product = Product.NES,
    initial_pin: str | None = None,
    lang: str = "tr",
    settings: SandboxSettings | None = None,
) -> Iterator[Stage]:
    holder = TestHolder.default()
    with training_sandbox(settings) as sb:
        card = provision_softhsm_card(
            sb.portal, holder=holder, product=product, initial_pin=initial_pin
        )
        config = AppConfig(
            portal_url=sb.url,
            module_path=card.module_path,
            clock=sb.clock,
            lang="en" if lang == "en" else "tr",
        )
        with AppServer(config) as app:
            yield Stage(sandbox=sb, app=app, holder=holder, card=card, product=product)


def digits_in(text: str, length: int) -> str:
    """The one run of exactly ``length`` digits in ``text``."""
    found = re.findall(rf"(?<!\d)\d{{{length}}}(?!\d)", text)
    assert len(found) == 1, "expected one code in the text"
    return str(found[0])
