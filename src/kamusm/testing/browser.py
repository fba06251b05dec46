"""Headless Chromium for browser tests: Debian's ``chromium`` driven by its ``chromium-driver``
through Selenium, offline.

Both paths are given to Selenium, so Selenium Manager never looks for (or downloads) a browser
or a driver. Every browser gets a fresh profile directory, removed afterwards, and the
arguments that keep it from calling home::

    with headless_chromium() as browser:
        browser.get("http://127.0.0.1:8000/")
        browser.save_screenshot("page.png")

The chromedriver process is started by Selenium's ``Service`` and stopped by ``quit()``, which
ends exactly the browser it started.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kamusm._extras import require

require("test", "selenium")

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "CHROMIUM_ARGUMENTS",
    "chromium_available",
    "headless_chromium",
]

#: Debian's browser and driver (``apt-get install chromium chromium-driver``).
CHROMIUM = os.environ.get("KAMUSM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KAMUSM_CHROMEDRIVER", "/usr/bin/chromedriver")

#: Headless, no sandbox (root in a container), and nothing that reaches the network on its own.
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--password-store=basic",
    "--lang=tr-TR",
)


def chromium_available() -> bool:
    """Whether Debian's chromium and chromium-driver are installed here."""
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


@contextmanager
def headless_chromium(*, width: int = 1100, height: int = 900) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, for the ``with`` block."""
    from selenium import webdriver  # noqa: PLC0415 (selenium only for browser tests)
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = tempfile.mkdtemp(prefix="kamusm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
