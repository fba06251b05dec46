"""Green means every test ran: a pytest plugin that, under ``KAMUSM_NO_SKIPS=1``, turns every
skip into a failure and refuses a run that leaves out an opencryptoki test.

``scripts/test`` sets ``KAMUSM_NO_SKIPS=1`` when run as root (CI is), where every part the
tests need is installed, and passes ``-p tests.ci_guard`` so that the guard holds even with
``--noconftest``; ``tests/conftest.py`` loads it too, for a plain ``pytest`` with the variable
set. Under the variable:

- a skipped test is reported as failed (a skip would hide a missing part);
- a run in which an opencryptoki test is deselected (``-m "not opencryptoki"``, ``-k``,
  ``--deselect``) or test files are ignored (``--ignore``, ``--ignore-glob``) stops with a
  usage error before any test runs: the counting and locking rules are tested only there.

Without the variable it does nothing: a developer's targeted run is theirs to choose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

ENV = "KAMUSM_NO_SKIPS"
MARK = "opencryptoki"

_LEFT_OUT = pytest.StashKey[list[str]]()


def _active() -> bool:
    return os.environ.get(ENV) == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LEFT_OUT] = []
    if not _active():
        return
    ignored = [*(config.getoption("ignore") or []), *(config.getoption("ignore_glob") or [])]
    if ignored:
        raise pytest.UsageError(
            f"{ENV}=1: every test must run, but these are ignored: {', '.join(ignored)}"
        )


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(MARK) is not None:
            item.config.stash[_LEFT_OUT].append(item.nodeid)


def pytest_collection_finish(session: pytest.Session) -> None:
    left_out = session.config.stash.get(_LEFT_OUT, [])
    if _active() and left_out:
        shown = ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else "")
        raise pytest.UsageError(
            f"{ENV}=1: {len(left_out)} opencryptoki test(s) deselected ({shown}); "
            "the counting and locking rules are tested only there, so every one must run"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and _active():
        report.outcome = "failed"
        report.longrepr = f"skipped under {ENV}=1: {report.longrepr!r}"
