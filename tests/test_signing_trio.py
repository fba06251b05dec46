"""Signing and validation from async code on every event loop kamusm claims: inside a running
asyncio loop ``validate_pdf`` works and ``avalidate_pdf`` exists; under trio (run with
``trio.run`` here, since the test plugin runs async tests on asyncio) ``asigning_session``,
``asign_pdf``, ``asign_cms`` and ``avalidate_pdf`` sign on a real SoftHSM2 card with a key
made on the token, checked with pyHanko's validator and ``openssl cms -verify``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import trio

from kamusm.signing import asign_cms, asign_pdf, avalidate_pdf, validate_pdf
from kamusm.testing.certificates import (
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import SoftHsmToken
from tests.test_signing_pdf import openssl_verify


@pytest.fixture
def issued(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> IssuedCertificate:
    made = certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    for ca in (certificate_factory.nes_ca, certificate_factory.root):
        softhsm_token.write_certificate(*ca.as_token_object())
    return made


@pytest.fixture
def card(softhsm_token: SoftHsmToken, issued: IssuedCertificate) -> SoftHsmToken:
    return softhsm_token


def test_validate_pdf_works_inside_a_running_asyncio_loop(
    card: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    from kamusm.signing import sign_pdf

    with card.token().signing_session(card.pin) as session:
        signed = sign_pdf(session, sample_pdf())
    roots = [certificate_factory.root.der]

    async def inside() -> tuple[bool, bool]:
        (blocking,) = validate_pdf(signed, trust_roots=roots)
        (awaited,) = await avalidate_pdf(signed, trust_roots=roots)
        return blocking.ok, awaited.ok

    assert asyncio.run(inside()) == (True, True)


def test_signing_and_validating_under_trio(
    card: SoftHsmToken,
    issued: IssuedCertificate,
    certificate_factory: CertificateFactory,
    tmp_path: Path,
) -> None:
    data = b"Resmi yazi eki"
    roots = [certificate_factory.root.der]

    async def under_trio() -> tuple[list[bool], bytes]:
        async with card.token().asigning_session(card.pin) as session:
            signed = await asign_pdf(session, sample_pdf("trio"))
            cms = await asign_cms(session, data)
        reports = await avalidate_pdf(signed, trust_roots=roots)
        return [r.ok for r in reports], cms

    oks, cms = trio.run(under_trio)
    assert oks == [True]
    openssl_verify(tmp_path, cms, data, certificate_factory, issued)
