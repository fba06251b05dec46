"""The certificate is checked against the clock at each signature of a session, not only when
it opened (a certificate that expires during a long session signs nothing more), on a real
SoftHSM2 card with a key made on the token and the test clock; and the test certificate
factory certifies a key made on the token for every kind it issues."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kamusm.errors import NotReadyToSignError
from kamusm.readiness import ReadinessState
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token
from kamusm.values import ManualClock


def test_a_certificate_that_expires_during_the_session_signs_nothing_more(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    clock = ManualClock(certificate_factory.now)
    certify_on_token(
        softhsm_token,
        certificate_factory.nes,
        key=KeySpec.EC_P384,
        not_before=clock.now() - timedelta(days=30),
        not_after=clock.now() + timedelta(hours=1),
    )
    with softhsm_token.token().signing_session(softhsm_token.pin, clock=clock) as session:
        assert session.sign(b"before")
        clock.advance(timedelta(hours=2))
        with pytest.raises(NotReadyToSignError) as caught:
            session.sign(b"after")
        assert ReadinessState.EXPIRED in caught.value.readiness.findings
        with pytest.raises(NotReadyToSignError):
            session.sign_digest(b"\x00" * 48)


@pytest.mark.parametrize("kind", ["qualified_seal", "expired_nes", "not_yet_valid_nes"])
def test_every_kind_can_be_certified_on_the_token(
    certificate_factory: CertificateFactory, kind: str
) -> None:
    card = create_softhsm_token()
    issued = certify_on_token(card, getattr(certificate_factory, kind), key=KeySpec.EC_P384)
    (stored,) = card.token().certificates()
    assert stored.fingerprint_sha256 == issued.info().fingerprint_sha256
    assert issued.private_key is None  # the key lives on the token only


def test_a_second_session_of_this_process_on_the_card_is_its_own_error_with_real_threads(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    import threading

    from kamusm.errors import SigningSessionOpenError, TokenBusyError

    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    outcomes: list[BaseException | bytes] = []

    def attempt() -> None:
        try:
            with softhsm_token.token().signing_session(softhsm_token.pin) as other:
                outcomes.append(other.sign(b"x"))
        except Exception as exc:  # noqa: BLE001 - collected and judged below
            outcomes.append(exc)

    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        threads = [threading.Thread(target=attempt) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert session.sign(b"still mine")
    assert len(outcomes) == 3
    assert all(isinstance(o, SigningSessionOpenError) for o in outcomes), outcomes
    error = outcomes[0]
    assert isinstance(error, SigningSessionOpenError) and not isinstance(error, TokenBusyError)
    assert "bu programda" in error.message("tr").lower()
    assert not softhsm_token.token().pin_status().count_low  # no PIN was tried
    attempt()  # once closed, the next session opens
    assert isinstance(outcomes[-1], bytes)
