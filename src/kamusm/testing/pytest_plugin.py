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
from kamusm.testing.pcsc import pcsc_unavailable_reason, socket_path_for
from kamusm.testing.softhsm import (
    SOFTHSM2_LOCATIONS,
    SoftHsmToken,
    create_softhsm_token,
    find_softhsm_module,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kamusm.testing.certificates import CertificateFactory
    from kamusm.testing.pcsc import VirtualCard, VirtualReaderService
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


class _AsyncioBackend:
    """Holds the ``anyio_backend`` fixture (see :func:`pytest_configure`)."""

    @pytest.fixture
    def anyio_backend(self) -> str:
        """Async tests run on asyncio (anyio's own fixture would also run them on trio when
        trio is installed)."""
        return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    """Register ``anyio_backend`` once every plugin is loaded: of two plugins' fixtures of one
    name the one registered last is used, and anyio's plugin may load after this one."""
    if not config.pluginmanager.has_plugin("kamusm-asyncio-backend"):
        config.pluginmanager.register(_AsyncioBackend(), "kamusm-asyncio-backend")


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


@pytest.fixture(scope="session")
def pcsc_service() -> Iterator[VirtualReaderService]:
    """The test session's own pcscd with the vpcd virtual reader (no card in it), in a private
    namespace: a pcscd someone else runs is never touched. Skips, saying exactly which part is
    missing, without root or the packages.

    PC/SC clients in this process reach it through ``PCSCLITE_CSOCK_NAME``, which the client
    library reads once: when it is already set (as this project's conftest does at start-up),
    the service starts on that path; otherwise it is set here.
    """
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from kamusm.testing.pcsc import VirtualReaderService  # noqa: PLC0415

    reason = pcsc_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    path = os.environ.get("PCSCLITE_CSOCK_NAME")
    if path:
        directory = os.path.dirname(path)
    else:
        directory = tempfile.mkdtemp(prefix="kpcsc")
        os.environ["PCSCLITE_CSOCK_NAME"] = socket_path_for(directory)
    with VirtualReaderService(directory) as service:
        yield service


@pytest.fixture
def virtual_card(pcsc_service: VirtualReaderService) -> Iterator[VirtualCard]:
    """The virtual AKİS card, inserted in the session's virtual reader for this test and taken
    out after it."""
    card = pcsc_service.insert()
    try:
        yield card
    finally:
        pcsc_service.remove()
