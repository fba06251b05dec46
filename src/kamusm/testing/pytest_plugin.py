"""pytest fixtures for applications that test against real test tokens and the sandbox.

Enable with ``pytest_plugins = ["kamusm.testing.pytest_plugin"]`` in ``conftest.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

# Token fixtures (their modules load pkcs11 only when a fixture runs).
from kamusm.testing.opencryptoki import opencryptoki_token  # noqa: F401 (re-exported fixture)
from kamusm.testing.softhsm import softhsm_token, softhsm_token_factory  # noqa: F401

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kamusm.testing.certificates import CertificateFactory
    from kamusm.testing.sandbox import RunningSandbox


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
