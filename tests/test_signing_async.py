"""``async with token.asigning_session(pin)`` on SoftHSM2 tokens whose keys were made on the
token: the same guards as the blocking session, signatures made in a worker thread that verify
with the certificate's key, PDF and CMS through pyHanko's asynchronous API, and no session or
login left behind however the block ends: an error, a cancelled block, or a task cancelled while
its session was still opening."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kamusm.errors import (
    FinalTryNotAcknowledgedError,
    PinIncorrectError,
    SigningSessionClosedError,
    UnattendedSigningRefusedError,
)
from kamusm.signing import asign_cms, asign_pdf, validate_pdf
from kamusm.testing.certificates import (
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.token import _LOCK, AsyncSigningSession, SignatureScheme, Token
from kamusm.values import Pin
from tests.test_signing_pdf import openssl_verify
from tests.test_signing_session import no_session_left

pytestmark = pytest.mark.anyio

DATA = "Sayı: 2026/118 — Konu: Evrak".encode()


def public_key(issued: IssuedCertificate) -> Any:
    return x509.load_der_x509_certificate(issued.der).public_key()


async def test_an_async_session_signs_in_a_worker_thread_and_closes(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    card = softhsm_token
    issued = certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    kept: list[AsyncSigningSession] = []
    async with token.asigning_session(card.pin) as session:
        kept.append(session)
        assert not session.closed and session.default_scheme is SignatureScheme.RSA_PKCS1_SHA256
        assert card.pin.reveal() not in repr(session)
        signature = await session.sign(DATA)
        pss = SignatureScheme.RSA_PSS_SHA384
        by_digest = await session.sign_digest(pss.digest(DATA), pss)
    public = public_key(issued)
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())
    pss_padding = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    public.verify(by_digest, DATA, pss_padding, hashes.SHA384())
    assert kept[0].closed and no_session_left(card)
    with pytest.raises(SigningSessionClosedError):
        await kept[0].sign(DATA)


async def test_the_event_loop_runs_while_the_session_opens_and_signs(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    """Another thread holds the library lock (a long card operation elsewhere): the opening
    waits for it in a worker thread while other tasks on the loop run."""
    card = softhsm_token
    issued = certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    token = card.token()
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with _LOCK:
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait()
    progressed = anyio.Event()
    signatures: list[bytes] = []

    async def sign() -> None:
        async with token.asigning_session(card.pin) as session:
            signatures.append(await session.sign(DATA))

    async def other_work() -> None:
        await anyio.lowlevel.checkpoint()
        progressed.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sign)
            tg.start_soon(other_work)
            await progressed.wait()
            assert not signatures  # the loop got here while the opening waits for the lock
            release.set()
    finally:
        release.set()
        holder.join()
    public = public_key(issued)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signatures[0], DATA, ec.ECDSA(hashes.SHA384()))
    assert no_session_left(card)


async def test_the_guards_of_the_blocking_session_apply(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    card = softhsm_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    with pytest.raises(PinIncorrectError) as caught:
        async with token.asigning_session(Pin("000000")):
            pytest.fail("a wrong PIN never opens a session")
    assert caught.value.status is not None and caught.value.status.count_low
    assert "000000" not in repr(caught.value)
    with pytest.raises(UnattendedSigningRefusedError):
        async with token.asigning_session(card.pin, unattended=True):
            pytest.fail("refused before the login")
    assert no_session_left(card)


async def test_the_final_try_needs_acknowledgement(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SoftHSM2 never reaches a final try: shown on the state the token reports (faked), as
    in test_signing_session; opencryptoki counts for real (test_signing_opencryptoki)."""
    card = softhsm_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    real = token._read

    def final_try() -> Any:
        import attrs

        info = real()
        return attrs.evolve(info, pin_status=attrs.evolve(info.pin_status, final_try=True))

    monkeypatch.setattr(token, "_read", final_try)
    with pytest.raises(FinalTryNotAcknowledgedError):
        async with token.asigning_session(card.pin):
            pytest.fail("refused before the login")
    async with token.asigning_session(card.pin, acknowledge_final_try=True) as session:
        assert await session.sign(DATA)


async def fail_inside(token: Token, pin: Pin, kept: list[AsyncSigningSession]) -> None:
    """An async signing session whose block raises."""
    async with token.asigning_session(pin) as session:
        kept.append(session)
        _ = 1 / 0


async def test_an_error_or_a_cancel_inside_the_block_still_closes_the_session(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    card = softhsm_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    kept: list[AsyncSigningSession] = []
    with pytest.raises(ZeroDivisionError):
        await fail_inside(token, card.pin, kept)
    assert kept[-1].closed and no_session_left(card)

    with anyio.CancelScope() as scope:
        async with token.asigning_session(card.pin) as session:
            kept.append(session)
            scope.cancel()
            await session.sign(DATA)  # cancelled here
            pytest.fail("the block was cancelled")
    assert scope.cancelled_caught
    assert kept[-1].closed and no_session_left(card)


class _Seen(logging.Handler):
    """Sets an event when a record with this message start arrives (from any thread)."""

    def __init__(self, start: str) -> None:
        super().__init__(logging.DEBUG)
        self.start, self.event = start, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.start):
            self.event.set()


async def test_a_task_cancelled_while_its_session_opens_leaves_no_login_behind(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    """The task stops waiting (asyncio's own cancel) while the worker thread waits for the
    library lock; the thread then opens the session for nobody and must close it again."""
    card = softhsm_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    opening, closed = _Seen("Entering "), _Seen("Signing session on token")
    closed_again = _Seen("Its caller stopped waiting")
    log = logging.getLogger("kamusm.token")
    level = log.level
    log.setLevel(logging.DEBUG)
    for handler in (opening, closed, closed_again):
        log.addHandler(handler)
    ran: list[bool] = []

    async def open_it() -> None:
        async with token.asigning_session(card.pin):
            ran.append(True)

    try:
        with _LOCK:  # held by this thread: the worker thread's opening waits for it
            task = asyncio.get_running_loop().create_task(open_it())
            while not opening.event.is_set():
                await anyio.lowlevel.checkpoint()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # The lock is free: the worker thread opens the session, finds its caller gone and
        # closes it again (its close is logged last, from that thread).
        assert await anyio.to_thread.run_sync(closed.event.wait, 30)
    finally:
        for handler in (opening, closed, closed_again):
            log.removeHandler(handler)
        log.setLevel(level)
    assert not ran
    assert closed_again.event.is_set()  # closed on purpose, not left to the garbage collector
    assert no_session_left(card)


async def test_pdf_and_cms_through_pyhankos_async_api(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    """The PDF validates with pyHanko's validator, the CMS with ``openssl cms -verify``."""
    card = softhsm_token
    issued = certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    chain = [certificate_factory.nes_ca.der, certificate_factory.root.der]
    async with card.token().asigning_session(card.pin) as session:
        signed = await asign_pdf(session, sample_pdf("Görev yazısı"), ca_certificates=chain)
        cms = await asign_cms(session, DATA, ca_certificates=chain)
    # validate_pdf runs pyHanko's own event loop: not on this one.
    roots = [certificate_factory.root.der]
    (report,) = await anyio.to_thread.run_sync(lambda: validate_pdf(signed, trust_roots=roots))
    assert report.ok and report.holder_name is not None
    await anyio.to_thread.run_sync(
        lambda: openssl_verify(tmp_path, cms, DATA, certificate_factory, issued)
    )
    assert no_session_left(card)
