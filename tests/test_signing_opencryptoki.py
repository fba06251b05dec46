"""Signing on opencryptoki's software token, which really counts wrong PINs and locks after
three: a wrong PIN during signing moves the card towards its final try, and the next signature
is refused until the person agrees to spend it; the card is never locked by the library.

opencryptoki 3.8's software token has no EC mechanism at all (its 46 mechanisms, listed by
``pkcs11-tool -M`` and by python-pkcs11, hold neither ``CKM_EC_KEY_PAIR_GEN`` nor
``CKM_ECDSA``; its changelog names ECDSA for the EP11 and CCA tokens only): it makes no EC key
and signs nothing with one. It does store an EC private key given to it. The count is kept by
``C_Login``, before any key is looked at, so an imported P-384 key shows the same counting for
an ECDSA certificate; the ECDSA signatures themselves are verified on SoftHSM2
(``test_signing_session``)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from kamusm import _token_seam
from kamusm.errors import (
    FinalTryNotAcknowledgedError,
    PinIncorrectError,
    TokenError,
    UnattendedSigningRefusedError,
)
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.token import SignatureScheme
from kamusm.values import Pin

pytestmark = pytest.mark.opencryptoki

DATA = b"e-Fatura GIB2026000000117"


def test_wrong_pins_while_signing_reach_the_final_try_and_the_next_signature_needs_agreement(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory
) -> None:
    card = opencryptoki_token
    # opencryptoki 3.8's software token makes RSA key pairs only (EC: CKR_MECHANISM_INVALID).
    issued = certify_on_token(card, certificate_factory.mali_muhur_signing, key=KeySpec.RSA_2048)
    public = x509.load_der_x509_certificate(issued.der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    token = card.token()
    with token.signing_session(card.pin) as signer:
        public.verify(signer.sign(DATA), DATA, padding.PKCS1v15(), hashes.SHA256())

    statuses = []
    for _ in range(2):
        with pytest.raises(PinIncorrectError) as caught, token.signing_session(Pin("0000")):
            pytest.fail("a wrong PIN never opens a session")
        statuses.append(caught.value.status)
    assert statuses[0] is not None and statuses[0].count_low and not statuses[0].final_try
    assert statuses[1] is not None and statuses[1].final_try and not statuses[1].locked

    # The right PIN, but the person did not agree to the final try: the card is not touched.
    with pytest.raises(FinalTryNotAcknowledgedError), token.signing_session(card.pin):
        pytest.fail("refused before the login")
    # A server signing on its own never spends it either.
    with (
        pytest.raises(UnattendedSigningRefusedError),
        token.signing_session(card.pin, unattended=True, acknowledge_final_try=True),
    ):
        pytest.fail("refused before the login")
    status = token.pin_status()
    assert status.final_try and not status.locked

    with token.signing_session(card.pin, acknowledge_final_try=True) as signer:
        signature = signer.sign(DATA, SignatureScheme.RSA_PKCS1_SHA512)
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA512())
    after = token.pin_status()
    assert not after.final_try and not after.count_low and not after.locked


def import_ec_key(card: OpencryptokiToken, key: ec.EllipticCurvePrivateKey, key_id: bytes) -> None:
    """Store a P-384 private key on the token with this ``CKA_ID`` (the token cannot make one)."""
    value = key.private_numbers().private_value.to_bytes(48, "big")
    with _token_seam.lock():
        p11_token = _token_seam.p11_token(card.module(), card.slot_id)
        with p11_token.open(rw=True, user_pin=card.pin.reveal()) as session:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.KEY_TYPE: KeyType.EC,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.SIGN: True,
                    Attribute.ID: key_id,
                    Attribute.LABEL: "ec-p384",
                    Attribute.EC_PARAMS: encode_named_curve_parameters("1.3.132.0.34"),
                    Attribute.VALUE: value,
                }
            )


def test_an_ecdsa_certificate_counts_the_same_and_the_final_try_needs_agreement(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory
) -> None:
    card = opencryptoki_token
    issued = certificate_factory.mali_muhur_signing(key=KeySpec.EC_P384)
    assert isinstance(issued.private_key, ec.EllipticCurvePrivateKey)
    import_ec_key(card, issued.private_key, issued.object_id)
    card.write_certificate(issued.der, issued.label, issued.object_id)
    token = card.token()

    # The right PIN opens the session and the EC key is found by the certificate's CKA_ID; the
    # token itself cannot sign with it (a typed error, not a crash), and the card is as it was.
    with token.signing_session(card.pin) as signer:
        assert signer.default_scheme is SignatureScheme.ECDSA_SHA384
        with pytest.raises(TokenError) as refused:
            signer.sign(DATA)
    assert refused.value.code == "CKR_MECHANISM_INVALID"
    assert not token.pin_status().count_low

    statuses = []
    for _ in range(2):
        with pytest.raises(PinIncorrectError) as caught, token.signing_session(Pin("0000")):
            pytest.fail("a wrong PIN never opens a session")
        statuses.append(caught.value.status)
    assert statuses[0] is not None and statuses[0].count_low and not statuses[0].final_try
    assert statuses[1] is not None and statuses[1].final_try and not statuses[1].locked

    with pytest.raises(FinalTryNotAcknowledgedError), token.signing_session(card.pin):
        pytest.fail("refused before the login")
    with (
        pytest.raises(UnattendedSigningRefusedError),
        token.signing_session(card.pin, unattended=True, acknowledge_final_try=True),
    ):
        pytest.fail("refused before the login")
    status = token.pin_status()
    assert status.final_try and not status.locked

    with token.signing_session(card.pin, acknowledge_final_try=True) as signer:
        assert signer.certificate.fingerprint_sha256 == issued.info().fingerprint_sha256
    after = token.pin_status()
    assert not after.final_try and not after.count_low and not after.locked


@pytest.mark.anyio
async def test_the_async_session_counts_the_same_and_needs_agreement_on_the_final_try(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory
) -> None:
    card = opencryptoki_token
    issued = certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    public = x509.load_der_x509_certificate(issued.der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    token = card.token()
    for _ in range(2):
        with pytest.raises(PinIncorrectError):
            async with token.asigning_session(Pin("0000")):
                pytest.fail("a wrong PIN never opens a session")
    assert (await token.apin_status()).final_try
    with pytest.raises(FinalTryNotAcknowledgedError):
        async with token.asigning_session(card.pin):
            pytest.fail("refused before the login")
    status = await token.apin_status()
    assert status.final_try and not status.locked
    async with token.asigning_session(card.pin, acknowledge_final_try=True) as signer:
        signature = await signer.sign(DATA)
    public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())
    after = await token.apin_status()
    assert not after.final_try and not after.count_low and not after.locked
