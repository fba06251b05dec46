"""Signing on opencryptoki's software token, which really counts wrong PINs and locks after
three: a wrong PIN during signing moves the card towards its final try, and the next signature
is refused until the person agrees to spend it; the card is never locked by the library."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kamusm.errors import (
    FinalTryNotAcknowledgedError,
    PinIncorrectError,
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
