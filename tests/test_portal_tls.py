"""TLS against the sandbox served by uvicorn with a certificate from a locally generated CA
(trustme): the client refuses an unknown CA and accepts a configured one."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from kamusm.errors import PortalTlsError
from kamusm.portal import AsyncPortalClient, PortalClient
from kamusm.testing.sandbox import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_sandbox(ca: trustme.CA, tmp_path: Path) -> Iterator[tuple[RunningSandbox, Path]]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    with running_sandbox(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as sb:
        assert sb.url.startswith("https://127.0.0.1:")
        yield sb, cafile


def test_unknown_ca_is_refused(tls_sandbox: tuple[RunningSandbox, Path]) -> None:
    sb, _ = tls_sandbox
    with PortalClient(sb.url, retries=0) as client, pytest.raises(PortalTlsError):
        client.login_methods()


def test_configured_ca_bundle_is_accepted(tls_sandbox: tuple[RunningSandbox, Path]) -> None:
    sb, cafile = tls_sandbox
    with PortalClient(sb.url, verify=str(cafile)) as client:
        assert client.login_methods()["password"] is True


@pytest.mark.anyio
async def test_async_client_with_an_ssl_context(
    tls_sandbox: tuple[RunningSandbox, Path],
) -> None:
    sb, cafile = tls_sandbox
    context = ssl.create_default_context(cafile=str(cafile))
    async with AsyncPortalClient(sb.url, verify=context) as client:
        assert (await client.login_methods())["sifreli_giris"] is True
    async with AsyncPortalClient(sb.url) as untrusting:
        with pytest.raises(PortalTlsError):
            await untrusting.login_methods()


def test_hostname_must_match(ca: trustme.CA, tmp_path: Path) -> None:
    """A certificate from the trusted CA but for another name is refused too."""
    cert = ca.issue_cert("portal.example.test")
    certfile, keyfile, cafile = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    with (
        running_sandbox(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as sb,
        PortalClient(sb.url, verify=str(cafile)) as client,
        pytest.raises(PortalTlsError),
    ):
        client.login_methods()
