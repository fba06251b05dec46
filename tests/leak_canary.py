"""The leak canary: a pytest plugin whose ``leaks`` fixture fails a test in which a secret it
was told about (PIN, SO PIN, SMS code, verification code, password) appears anywhere the test
could see it:

- a log record of any logger, at DEBUG, from the test's setup and call (its message and args);
- what reached stdout or stderr at the file-descriptor level (a subprocess, a C library or
  ``os.write(2, ...)`` included), through ``capfd``;
- the ``repr`` and ``str`` of every object handed to :meth:`Secrets.seen` (results, prompts,
  errors), the holder-facing messages of a :class:`~kamusm.errors.KamusmError` in both
  languages, and for an exception its whole chain (``__cause__``, ``__context__``, groups):
  each link's ``repr``, ``str``, arguments, the ``repr`` of each of its attributes, and the
  body of any HTTP request or response a link or an attribute holds
  (``err.__cause__.request.content`` once held the verification code);
- for an exception handed to :meth:`Secrets.seen`, also the frame locals of
  every traceback in its chain (each link's ``__traceback__``, frame by frame): their
  ``repr``, bytes decoded, and a
  :class:`~kamusm.Pin` or :class:`~kamusm.VerificationCode` revealed, since a finished frame
  keeps its locals for as long as the error lives (a login frame once held the PIN). Frames
  of the test files themselves are left out: the test is where the secret comes from.

A test that skipped is not judged ("saw no log record" would be a false failure). Registered
for the whole suite in ``tests/conftest.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamusm import KamusmError, Pin, VerificationCode

__all__ = ["Secrets", "exception_texts", "frame_texts", "leaks"]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def _body_texts(value: object) -> list[str]:
    """The bodies an HTTP request or response carries (httpx's ``content``), looked for in
    every attribute of every link: ``err.__cause__.request.content`` once held a code."""
    texts = []
    for name in ("request", "response"):
        try:
            inner = getattr(value, name, None)
        except Exception:  # noqa: BLE001 - httpx raises RuntimeError for a request never set
            inner = None
        if inner is not None and inner is not value and not isinstance(value, type):
            texts += _body_texts(inner)
    try:
        content = getattr(value, "content", None)
    except Exception:  # noqa: BLE001 - a response not read yet has no content to look at
        content = None
    if isinstance(content, bytes | bytearray):
        texts.append(bytes(content).decode("utf-8", "replace"))
    return texts


_TESTS_DIR = str(Path(__file__).resolve().parent)


def _local_texts(value: object) -> list[str]:
    """What a frame local shows: its repr, bytes decoded, a secret value type revealed."""
    texts = [repr(value)]
    if isinstance(value, bytes | bytearray):
        texts.append(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Pin | VerificationCode):
        texts.append(value.reveal())
    return texts


def frame_texts(exc: BaseException) -> list[str]:
    """The frame locals of every traceback in ``exc``'s chain (see the module docstring)."""
    texts: list[str] = []
    pending: list[BaseException] = [exc]
    visited: set[int] = set()
    while pending:
        link = pending.pop()
        if id(link) in visited:
            continue
        visited.add(id(link))
        tb = link.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if not str(Path(frame.f_code.co_filename).resolve()).startswith(_TESTS_DIR):
                for value in frame.f_locals.values():
                    texts += _local_texts(value)
            tb = tb.tb_next
        pending += [n for n in (link.__cause__, link.__context__) if n is not None]
        if isinstance(link, BaseExceptionGroup):
            pending += list(link.exceptions)
    return texts


def exception_texts(exc: BaseException) -> list[str]:
    """Every text an exception's whole chain can show: each link's repr, str, args, the repr
    of each of its attributes and any HTTP body they hold, and a kamusm error's messages."""
    texts: list[str] = []
    pending: list[BaseException] = [exc]
    visited: set[int] = set()
    while pending:
        link = pending.pop()
        if id(link) in visited:
            continue
        visited.add(id(link))
        texts += [repr(link), str(link), *(repr(arg) for arg in link.args)]
        if isinstance(link, KamusmError):
            texts += [link.message("tr"), link.message("en")]
        attributes = getattr(link, "__dict__", {})
        for value in attributes.values():
            texts.append(repr(value))
            texts += _body_texts(value)
        texts += _body_texts(link)
        for nested in (link.__cause__, link.__context__):
            if nested is not None:
                pending.append(nested)
        if isinstance(link, BaseExceptionGroup):
            pending += list(link.exceptions)
    return texts


class Secrets:
    """Every secret a test handles, to be looked for in everything it printed or logged."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.texts: list[str] = []

    def add(self, *values: str | Pin | VerificationCode | None) -> None:
        for value in values:
            if value is not None:
                self.values.add(value if isinstance(value, str) else value.reveal())

    def seen(self, *objects: object) -> None:
        for obj in objects:
            if isinstance(obj, BaseException):
                self.texts += exception_texts(obj) + frame_texts(obj)
            else:
                self.texts += [repr(obj), str(obj)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    item.stash.setdefault(_REPORTS, {})[report.when] = report


@pytest.fixture
def leaks(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[Secrets]:
    """The canary: see the module docstring. Tell it the test's secrets with ``add``."""
    caplog.set_level(logging.DEBUG)
    found = Secrets()
    yield found
    reports = request.node.stash.get(_REPORTS, {})
    if any(report.skipped for report in reports.values()):
        return  # a skip is a skip: nothing ran to be judged
    out, err = capfd.readouterr()
    seen = caplog.get_records("setup") + caplog.get_records("call")
    records = [r.getMessage() for r in seen] + [str(r.args) for r in seen if r.args]
    for record in seen:
        if record.exc_info and record.exc_info[1] is not None:
            records += exception_texts(record.exc_info[1])
    everything = "\n".join([*records, *found.texts, out, err])
    assert seen, "the canary saw no log record at all"
    for secret in found.values:
        assert secret not in everything, "a secret reached a log record, output, repr or message"
