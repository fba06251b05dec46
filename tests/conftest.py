"""Project-wide test settings.

``KAMUSM_NO_SKIPS=1`` (``scripts/test`` sets it when run as root, which CI is) turns every
skip into a failure: where the test command installs every part, a test that skips would hide
a missing part instead of testing it.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

# The fixtures of kamusm.testing come from its pytest11 entry point (pyproject.toml), as in an
# embedder's suite (tests/test_packaging.py proves that in a fresh environment). Listed here as
# well for a checkout whose .venv was installed before the entry point existed; the entry point
# is named after the module, so pytest loads it once either way.
pytest_plugins = ["kamusm.testing.pytest_plugin"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and os.environ.get("KAMUSM_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped under KAMUSM_NO_SKIPS=1: {report.longrepr!r}"
