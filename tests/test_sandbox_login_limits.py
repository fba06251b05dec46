"""Password logins are rate-limited like code redemption, over real HTTP on 127.0.0.1: after
the allowed number of wrong e-Devlet passwords even the right one is answered 429 with a
Retry-After, until the window has passed on the sandbox's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from kamusm.sandbox import SandboxSettings
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox

HOLDER = TestHolder.default()
ALLOWED = 4  # wrong passwords answered 401 before the limit; set here, not read from the code
WINDOW = 90  # seconds


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    settings = SandboxSettings(max_failures=ALLOWED, failure_window=timedelta(seconds=WINDOW))
    with running_sandbox(settings=settings) as running:
        HOLDER.register(running.portal)
        yield running


def login(sb: RunningSandbox, password: str) -> httpx.Response:
    return httpx.post(
        f"{sb.url}/api/v1/session/edevlet",
        json={"tckn": HOLDER.tckn.value, "password": password},
    )


def test_wrong_passwords_are_rate_limited_and_then_even_the_right_one_waits(
    sb: RunningSandbox,
) -> None:
    answers = [login(sb, f"wrong-{n}").status_code for n in range(ALLOWED)]
    assert answers == [401] * ALLOWED
    limited = login(sb, HOLDER.password)
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) == WINDOW
    assert "session_token" not in limited.json()
    assert login(sb, "wrong-again").status_code == 429  # not counted as a chance to guess

    sb.advance(WINDOW)
    opened = login(sb, HOLDER.password)
    assert opened.status_code == 200
    assert opened.json()["session_token"]


def test_a_right_password_below_the_limit_still_opens_a_session(sb: RunningSandbox) -> None:
    """The limit counts failures: fewer than allowed leave the right password working."""
    for n in range(ALLOWED - 1):
        assert login(sb, f"wrong-{n}").status_code == 401
    assert login(sb, HOLDER.password).status_code == 200


def test_the_wait_counts_from_the_oldest_failure_in_the_window(sb: RunningSandbox) -> None:
    """Failures spread over time: the Retry-After is the time until the oldest one leaves the
    window (not the newest), down to the last second, and then one guess is allowed again."""
    assert login(sb, "wrong-0").status_code == 401
    sb.advance(10)
    assert login(sb, "wrong-1").status_code == 401
    sb.advance(10)
    for n in range(2, ALLOWED):
        assert login(sb, f"wrong-{n}").status_code == 401
    limited = login(sb, HOLDER.password)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) == WINDOW - 20  # from the first failure
    sb.advance(WINDOW - 20 - 0.5)
    almost = login(sb, HOLDER.password)
    assert almost.status_code == 429
    assert int(almost.headers["Retry-After"]) == 1  # half a second left: one, not zero or two
    sb.advance(0.5)
    assert login(sb, HOLDER.password).status_code == 200  # the first failure left the window
