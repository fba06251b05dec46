"""The guarded signing session on real SoftHSM2 tokens whose key pairs were made on the token:
every guard before the PIN reaches the card, the key found by CKA_ID or by public key, RSA
PKCS#1 v1.5 / PSS and ECDSA signatures that verify with the certificate's key, and nothing left
open or kept afterwards."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kamusm import _token_seam
from kamusm.errors import (
    DigestLengthError,
    FinalTryNotAcknowledgedError,
    NotReadyToSignError,
    PinIncorrectError,
    SigningKeyNotFoundError,
    SigningSessionClosedError,
    UnattendedSigningRefusedError,
    UnsupportedSignatureSchemeError,
)
from kamusm.readiness import NextAction, ReadinessState
from kamusm.testing.certificates import (
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.token import SignatureScheme, Token
from kamusm.values import Pin

DATA = "Sayı: 2026/117 — Konu: Görevlendirme".encode()
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def verify(
    issued: IssuedCertificate, signature: bytes, data: bytes, scheme: SignatureScheme
) -> None:
    """Verify with the public key in the certificate (cryptography); raises if it fails."""
    public = x509.load_der_x509_certificate(issued.der).public_key()
    algorithm = _HASHES[scheme.hash_name]
    if isinstance(public, rsa.RSAPublicKey):
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
            if scheme.is_pss
            else padding.PKCS1v15()
        )
        public.verify(signature, data, pad, algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(algorithm))


def no_session_left(card: SoftHsmToken) -> bool:
    """Whether this process holds no session and no login on the card: an SO login succeeds
    only then (a read-only session gives CKR_SESSION_READ_ONLY_EXISTS, a user login
    CKR_USER_ANOTHER_ALREADY_LOGGED_IN)."""
    import pkcs11

    with _token_seam.lock():
        p11 = _token_seam.p11_token(card.module(), card.token().slot_id)
        try:
            with p11.open(rw=True, so_pin=card.so_pin.reveal()):
                return True
        except (
            pkcs11.exceptions.SessionReadOnlyExists,
            pkcs11.exceptions.UserAlreadyLoggedIn,
            pkcs11.exceptions.AnotherUserAlreadyLoggedIn,
        ):
            return False


def refused(token: Token, pin: Pin, **options: Any) -> None:
    """Open a signing session that must be refused before its block runs."""
    with token.signing_session(pin, **options):
        pytest.fail("the block must not run")


def fail_inside(token: Token, pin: Pin, kept: list[Any]) -> None:
    """A signing session whose block raises."""
    with token.signing_session(pin) as signer:
        kept.append(signer)
        assert not signer.closed
        _ = 1 / 0


@pytest.fixture
def nes_rsa(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> tuple[SoftHsmToken, IssuedCertificate]:
    issued = certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    return softhsm_token, issued


RSA_SCHEMES = [s for s in SignatureScheme if s.is_rsa]
EC_SCHEMES = [s for s in SignatureScheme if not s.is_rsa]


def test_rsa_2048_key_made_on_the_token_signs_every_rsa_scheme(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, issued = nes_rsa
    token = card.token()
    with token.signing_session(card.pin) as signer:
        assert signer.certificate.fingerprint_sha256 == issued.info().fingerprint_sha256
        assert signer.default_scheme is SignatureScheme.RSA_PKCS1_SHA256
        for scheme in RSA_SCHEMES:
            verify(issued, signer.sign(DATA, scheme), DATA, scheme)
            digest = scheme.digest(DATA)
            verify(issued, signer.sign_digest(digest, scheme), DATA, scheme)
        with pytest.raises(UnsupportedSignatureSchemeError):
            signer.sign(DATA, SignatureScheme.ECDSA_SHA384)
        with pytest.raises(DigestLengthError) as short:
            signer.sign_digest(b"\x00" * 20, SignatureScheme.RSA_PKCS1_SHA256)
        assert "20" in short.value.message("tr") and "cannot be used" not in str(short.value)
    assert no_session_left(card)


@pytest.mark.parametrize(
    ("spec", "default"),
    [
        (KeySpec.EC_P384, SignatureScheme.ECDSA_SHA384),
        (KeySpec.EC_P256, SignatureScheme.ECDSA_SHA256),
    ],
)
def test_ecdsa_keys_made_on_the_token_sign_with_every_hash(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    spec: KeySpec,
    default: SignatureScheme,
) -> None:
    issued = certify_on_token(softhsm_token, certificate_factory.nes, key=spec)
    assert issued.info().key_curve == ("secp384r1" if spec is KeySpec.EC_P384 else "secp256r1")
    with softhsm_token.token().signing_session(softhsm_token.pin) as signer:
        assert signer.default_scheme is default
        verify(issued, signer.sign(DATA), DATA, default)
        for scheme in EC_SCHEMES:
            verify(issued, signer.sign(DATA, scheme), DATA, scheme)
            verify(issued, signer.sign_digest(scheme.digest(DATA), scheme), DATA, scheme)
        with pytest.raises(UnsupportedSignatureSchemeError):
            signer.sign(DATA, SignatureScheme.RSA_PSS_SHA256)


def test_the_key_is_found_by_its_public_key_when_the_ids_differ(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    for spec in (KeySpec.RSA_2048, KeySpec.EC_P384):
        spki = softhsm_token.generate_key_pair(spec, label="key", object_id=spec.value.encode())
        issued = certificate_factory.nes(key=spec, public_key=spki, index=len(spec.value))
        # The certificate's CKA_ID names no key: only the public key can pair them.
        softhsm_token.write_certificate(issued.der, issued.label, b"other-" + spec.value.encode())
        token = softhsm_token.token()
        info = next(
            c
            for c in token.certificates()
            if c.fingerprint_sha256 == issued.info().fingerprint_sha256
        )
        with token.signing_session(softhsm_token.pin, certificate=info) as signer:
            scheme = signer.default_scheme
            verify(issued, signer.sign(DATA), DATA, scheme)


def test_a_certificate_without_its_key_is_a_typed_error_and_leaves_nothing_open(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    issued = certificate_factory.nes()  # the factory's own key: not on the token
    softhsm_token.write_certificate(*issued.as_token_object())
    token = softhsm_token.token()
    with pytest.raises(SigningKeyNotFoundError) as caught:
        refused(token, softhsm_token.pin)
    assert caught.value.message("tr") and caught.value.message("en")
    assert no_session_left(softhsm_token)


def test_the_session_is_closed_however_the_block_ends_and_refuses_later_use(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, _ = nes_rsa
    token = card.token()
    kept: list[Any] = []
    with pytest.raises(ZeroDivisionError):
        fail_inside(token, card.pin, kept)
    assert no_session_left(card)
    assert kept[0].closed
    with pytest.raises(SigningSessionClosedError):
        kept[0].sign(DATA)


def test_the_library_lock_is_held_per_call_not_for_the_whole_session(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, issued = nes_rsa
    got: list[bool] = []
    with card.token().signing_session(card.pin) as signer:

        def other_thread() -> None:
            lock = _token_seam.lock()
            got.append(lock.acquire(timeout=30))
            lock.release()

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        verify(issued, signer.sign(DATA), DATA, signer.default_scheme)
    assert got == [True]


def test_no_pin_is_kept_and_none_is_logged(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    card, _ = nes_rsa
    secret = card.pin.reveal()
    token = card.token()

    def holds_secret(obj: object, depth: int = 0) -> bool:
        if isinstance(obj, str | bytes):
            return secret in (obj if isinstance(obj, str) else obj.decode("latin-1"))
        if depth > 3 or isinstance(obj, Pin):
            return isinstance(obj, Pin)
        values = getattr(obj, "__dict__", {}).values()
        return any(holds_secret(v, depth + 1) for v in values)

    with token.signing_session(card.pin) as signer:
        assert not holds_secret(signer)
        assert not holds_secret(token)
        assert secret not in repr(signer)
        signer.sign(DATA)
    assert caplog.records
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_a_wrong_pin_is_pin_incorrect_with_the_new_state_and_nothing_stays_open(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, _ = nes_rsa
    token = card.token()
    with pytest.raises(PinIncorrectError) as caught:
        refused(token, Pin("000000"))
    assert caught.value.status is not None and caught.value.status.count_low  # SoftHSM2 counts
    assert "000000" not in repr(caught.value) and "000000" not in caught.value.message("en")
    assert no_session_left(card)


def test_unattended_signing_refuses_once_a_wrong_pin_was_seen_even_with_the_right_pin(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, issued = nes_rsa
    token = card.token()
    with token.signing_session(card.pin, unattended=True) as signer:  # clean card: it signs
        verify(issued, signer.sign(DATA), DATA, signer.default_scheme)
    with pytest.raises(PinIncorrectError):
        token.verify_pin(Pin("000000"))
    before = token.pin_status()
    with pytest.raises(UnattendedSigningRefusedError) as caught:
        refused(token, card.pin, unattended=True)
    assert caught.value.status == before
    assert "görevli" in caught.value.message("tr") and "operator" in caught.value.message("en")
    # An attended signature still works (and a correct login resets nothing on SoftHSM2).
    with token.signing_session(card.pin) as signer:
        verify(issued, signer.sign(DATA), DATA, signer.default_scheme)


@pytest.mark.parametrize(
    ("make", "state"),
    [
        (lambda f: f.expired_nes(key=KeySpec.EC_P384), ReadinessState.EXPIRED),
        (lambda f: f.not_yet_valid_nes(key=KeySpec.EC_P384), ReadinessState.NOT_YET_VALID),
        (lambda f: f.other(), ReadinessState.NOT_QUALIFIED),
        (lambda f: f.mali_muhur_encryption(), ReadinessState.NO_SIGNING_CERTIFICATE),
    ],
)
def test_a_card_that_cannot_sign_now_is_refused_before_the_pin_reaches_it(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    make: Callable[[CertificateFactory], IssuedCertificate],
    state: ReadinessState,
) -> None:
    softhsm_token.write_certificate(*make(certificate_factory).as_token_object())
    token = softhsm_token.token()
    # A wrong PIN: had it reached the card, SoftHSM2 would now show a wrong PIN.
    with pytest.raises(NotReadyToSignError) as caught:
        refused(token, Pin("000000"))
    assert caught.value.readiness.state is state
    assert not token.pin_status().count_low
    assert caught.value.message("tr").startswith("İmza atılmadı")


def test_the_final_try_needs_acknowledgement_before_the_pin_reaches_the_card(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SoftHSM2 never reaches a final try: the flag is read from the card, so the guard is
    shown here on the state the token reports (faked); opencryptoki counts for real."""
    card, _ = nes_rsa
    token = card.token()
    real = token._read

    def final_try() -> Any:
        info = real()
        import attrs

        return attrs.evolve(info, pin_status=attrs.evolve(info.pin_status, final_try=True))

    monkeypatch.setattr(token, "_read", final_try)
    with pytest.raises(FinalTryNotAcknowledgedError), token.signing_session(card.pin):
        pytest.fail("the block must not run")
    with token.signing_session(card.pin, acknowledge_final_try=True) as signer:
        assert signer.sign(DATA)


def test_readiness_reads_without_login_and_names_the_signing_certificate(
    nes_rsa: tuple[SoftHsmToken, IssuedCertificate],
) -> None:
    card, issued = nes_rsa
    token = card.token()
    ready = token.readiness()
    assert ready.state is ReadinessState.READY and ready.can_sign
    assert ready.action is NextAction.ASK_PIN
    assert ready.certificate is not None
    assert ready.certificate.fingerprint_sha256 == issued.info().fingerprint_sha256
    assert "imzaya hazır" in ready.message("tr") and "ready to sign" in ready.message("en")
    assert no_session_left(card)
    with pytest.raises(PinIncorrectError):
        token.verify_pin(Pin("000000"))
    seen = token.readiness()
    assert seen.state is ReadinessState.WRONG_PIN_SEEN and seen.can_sign
    later = token.readiness(now=datetime.now(UTC) + timedelta(days=3 * 365 - 40))
    assert ReadinessState.EXPIRING in later.findings
