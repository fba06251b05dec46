"""pytest fixtures for applications that test against real test tokens and the sandbox.

pytest loads this plugin by itself wherever kamusm is installed (the ``pytest11`` entry point
``kamusm.testing.pytest_plugin``); ``-p no:kamusm.testing.pytest_plugin`` turns it off. Listing
it in ``pytest_plugins`` as well does no harm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamusm._extras import require

require("test", "pytest")

import pytest

# The helper modules import without pytest (the demo and the sandbox use them); their fixtures
# live here. They load pkcs11 only when a fixture runs.
from kamusm.testing.opencryptoki import (
    OpencryptokiToken,
    fresh_opencryptoki_token,
    opencryptoki_unavailable_reason,
)
from kamusm.testing.softhsm import (
    SOFTHSM2_LOCATIONS,
    SoftHsmToken,
    create_softhsm_token,
    find_softhsm_module,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kamusm.testing.certificates import CertificateFactory
    from kamusm.testing.sandbox import RunningSandbox


@pytest.fixture
def softhsm_token_factory() -> Callable[..., SoftHsmToken]:
    """Make SoftHSM2 tokens with :func:`~kamusm.testing.softhsm.create_softhsm_token`'s
    arguments; fresh each call. Skips, saying what to install, without SoftHSM2."""
    if find_softhsm_module() is None:
        pytest.skip(
            "SoftHSM2 is not installed: apt-get install softhsm2 (looked in "
            + ", ".join(SOFTHSM2_LOCATIONS)
            + ")"
        )
    return create_softhsm_token


@pytest.fixture
def softhsm_token(softhsm_token_factory: Callable[..., SoftHsmToken]) -> SoftHsmToken:
    """A fresh SoftHSM2 token for this test: PIN 123456, SO PIN 12345678, no certificates."""
    return softhsm_token_factory()


@pytest.fixture
def opencryptoki_token() -> OpencryptokiToken:
    """The opencryptoki test token, wiped and initialised for this test: PIN 123456, SO PIN
    11223344. Skips, saying what is missing, when not root or opencryptoki is not installed."""
    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return fresh_opencryptoki_token()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def certificate_factory() -> CertificateFactory:
    """A :class:`kamusm.testing.certificates.CertificateFactory` shared by the session.

    Its test CA and keys are made once; its reference time is the session's start.
    """
    from kamusm.testing.certificates import CertificateFactory  # noqa: PLC0415 (cryptography)

    return CertificateFactory()


@pytest.fixture
def kamusm_sandbox() -> Iterator[RunningSandbox]:
    """A fresh sandbox portal served on 127.0.0.1 for this test, on a manual clock
    (``kamusm_sandbox.advance(seconds)``), with an empty temporary SQLite database."""
    from kamusm.testing.sandbox import running_sandbox  # noqa: PLC0415 (starlette, uvicorn)

    with running_sandbox() as running:
        yield running
