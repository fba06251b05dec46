"""Project-wide test settings.

``KAMUSM_NO_SKIPS=1`` (``scripts/test`` sets it when run as root, which CI is) turns every
skip into a failure: where the test command installs every part, a test that skips would hide
a missing part instead of testing it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Generator

import pytest

from kamusm.testing.pcsc import socket_path_for

# The fixtures of kamusm.testing come from its pytest11 entry point (pyproject.toml), as in an
# embedder's suite (tests/test_packaging.py proves that in a fresh environment). Listed here as
# well for a checkout whose .venv was installed before the entry point existed; the entry point
# is named after the module, so pytest loads it once either way.
pytest_plugins = ["kamusm.testing.pytest_plugin"]

# Every PC/SC client of the test run (this process and the commands it starts) talks to the
# run's own pcscd (the pcsc_service fixture), never to one of the machine: the client library
# reads this once per process, so it is set before anything can talk to PC/SC.
_PCSC_DIR = tempfile.mkdtemp(prefix="kpcsc")
os.environ["PCSCLITE_CSOCK_NAME"] = socket_path_for(_PCSC_DIR)
atexit.register(shutil.rmtree, _PCSC_DIR, True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and os.environ.get("KAMUSM_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped under KAMUSM_NO_SKIPS=1: {report.longrepr!r}"
