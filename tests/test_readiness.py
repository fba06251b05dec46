"""The readiness check decided from a PIN state, test certificates and a time (the pure part;
the token part is in test_signing_session.py): each state, its order, the next action, the
product's reset route, and both languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from kamusm.messages import LANGUAGES
from kamusm.readiness import NextAction, Readiness, ReadinessState, assess
from kamusm.testing.certificates import CertificateFactory, IssuedCertificate, KeySpec
from kamusm.values import PinStatus, Product

CLEAN = PinStatus()
SEEN = PinStatus(count_low=True)
FINAL = PinStatus(count_low=True, final_try=True)
LOCKED = PinStatus(locked=True)
NO_PIN = PinStatus(initialized=False)


def judge(
    factory: CertificateFactory,
    status: PinStatus,
    *issued: IssuedCertificate,
    days: int = 30,
    product: Product | None = None,
) -> Readiness:
    return assess(
        status,
        [c.info() for c in issued],
        factory.now,
        product=product,
        expiry_warning_days=days,
    )


def test_a_clean_card_with_a_valid_nes_is_ready(certificate_factory: CertificateFactory) -> None:
    nes = certificate_factory.nes()
    ready = judge(certificate_factory, CLEAN, nes)
    assert ready.findings == (ReadinessState.READY,)
    assert ready.action is NextAction.ASK_PIN and ready.can_sign
    assert ready.certificate is not None and ready.certificate.der == nes.der
    assert ready.product is Product.NES
    assert nes.info().describe("tr") in ready.message("tr")


@pytest.mark.parametrize(
    ("status", "state", "action", "can_sign", "after_ack"),
    [
        (SEEN, ReadinessState.WRONG_PIN_SEEN, NextAction.ASK_PIN_CAREFULLY, True, True),
        (FINAL, ReadinessState.FINAL_TRY, NextAction.ACKNOWLEDGE_FINAL_TRY, False, True),
        (LOCKED, ReadinessState.LOCKED, NextAction.RESET_PIN, False, False),
        (NO_PIN, ReadinessState.PIN_NOT_INITIALIZED, NextAction.RESET_PIN, False, False),
    ],
)
def test_the_pin_state_decides_whether_to_ask(
    certificate_factory: CertificateFactory,
    status: PinStatus,
    state: ReadinessState,
    action: NextAction,
    can_sign: bool,
    after_ack: bool,
) -> None:
    ready = judge(certificate_factory, status, certificate_factory.nes())
    assert ready.state is state and ready.action is action
    assert ready.can_sign is can_sign
    assert ready.may_sign_after_acknowledgement is after_ack


@pytest.mark.parametrize(
    ("make", "state", "action"),
    [
        (lambda f: f.expired_nes(), ReadinessState.EXPIRED, NextAction.RENEW_CERTIFICATE),
        (
            lambda f: f.not_yet_valid_nes(),
            ReadinessState.NOT_YET_VALID,
            NextAction.WAIT_UNTIL_VALID,
        ),
        (lambda f: f.other(), ReadinessState.NOT_QUALIFIED, NextAction.USE_ANOTHER_CARD),
        (
            lambda f: f.mali_muhur_encryption(),
            ReadinessState.NO_SIGNING_CERTIFICATE,
            NextAction.USE_ANOTHER_CARD,
        ),
    ],
)
def test_a_certificate_that_cannot_sign_now_says_why(
    certificate_factory: CertificateFactory,
    make: Callable[[CertificateFactory], IssuedCertificate],
    state: ReadinessState,
    action: NextAction,
) -> None:
    ready = judge(certificate_factory, CLEAN, make(certificate_factory))
    assert ready.findings == (state,)
    assert ready.action is action
    assert not ready.can_sign and not ready.may_sign_after_acknowledgement


def test_no_certificate_at_all_is_no_signing_certificate(
    certificate_factory: CertificateFactory,
) -> None:
    ready = judge(certificate_factory, CLEAN)
    assert ready.state is ReadinessState.NO_SIGNING_CERTIFICATE and ready.certificate is None


def test_expired_nes_beside_a_valid_plain_certificate_reports_the_expiry(
    certificate_factory: CertificateFactory,
) -> None:
    ready = judge(
        certificate_factory, CLEAN, certificate_factory.other(), certificate_factory.expired_nes()
    )
    assert ready.state is ReadinessState.EXPIRED


def test_expiring_within_n_days_is_a_warning_that_still_signs(
    certificate_factory: CertificateFactory,
) -> None:
    now = certificate_factory.now
    nes = certificate_factory.nes(
        not_before=now - timedelta(days=100), not_after=now + timedelta(days=10)
    )
    ready = judge(certificate_factory, SEEN, nes, days=30)
    assert ready.findings == (ReadinessState.WRONG_PIN_SEEN, ReadinessState.EXPIRING)
    assert ready.can_sign and ready.days_left in (9, 10)
    assert "10 gün" in ready.message("tr") or "9 gün" in ready.message("tr")
    assert judge(certificate_factory, CLEAN, nes, days=5).findings == (ReadinessState.READY,)


def test_findings_are_sorted_worst_first(certificate_factory: CertificateFactory) -> None:
    ready = judge(certificate_factory, LOCKED, certificate_factory.expired_nes())
    assert ready.findings == (ReadinessState.LOCKED, ReadinessState.EXPIRED)
    assert ready.action is NextAction.RESET_PIN


def test_a_locked_card_is_routed_to_the_reset_of_its_product(
    certificate_factory: CertificateFactory,
) -> None:
    nes = judge(certificate_factory, LOCKED, certificate_factory.nes())
    seal = judge(certificate_factory, LOCKED, *certificate_factory.mali_muhur_card())
    assert nes.product is Product.NES and seal.product is Product.MALI_MUHUR
    assert "PIN Oluşturma/Kilit Çözme" in nes.next_step("tr")
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in seal.next_step("tr")
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in seal.next_step("en")
    for ready in (nes, seal):
        assert "PUK" in ready.next_step("tr")


def test_a_product_limits_the_choice(certificate_factory: CertificateFactory) -> None:
    card = [certificate_factory.nes(), *certificate_factory.mali_muhur_card()]
    ready = judge(certificate_factory, CLEAN, *card, product=Product.MALI_MUHUR)
    assert ready.certificate is not None and ready.certificate.product is Product.MALI_MUHUR
    only_nes = judge(
        certificate_factory, CLEAN, certificate_factory.nes(), product=Product.MALI_MUHUR
    )
    assert only_nes.state is ReadinessState.NO_SIGNING_CERTIFICATE


# Words that would show English leaking into a Turkish text (a short list, by eye).
_ENGLISH = re.compile(r"\b(the|card|sign|ready|expired|locked|please|certificate|try)\b", re.I)


@pytest.mark.parametrize("state", list(ReadinessState))
def test_every_state_and_action_has_turkish_and_english_text(
    certificate_factory: CertificateFactory, state: ReadinessState
) -> None:
    cert = certificate_factory.nes(key=KeySpec.EC_P384).info()
    ready = Readiness(
        findings=(state,), pin_status=CLEAN, certificate=cert, product=Product.NES, days_left=3
    )
    for lang in LANGUAGES:
        assert ready.message(lang) and ready.next_step(lang)
    assert ready.message("tr") != ready.message("en")
    assert ready.next_step("tr") != ready.next_step("en")
    assert not _ENGLISH.search(ready.message("tr").replace(cert.describe("tr"), ""))
    assert not _ENGLISH.search(ready.next_step("tr"))


def test_dates_are_turkish_local_days_in_dd_mm_yyyy_and_the_count_matches_the_date(
    certificate_factory: CertificateFactory,
) -> None:
    from datetime import UTC, datetime

    # 22:30 UTC on 9 January is 01:30 on 10 January in Türkiye (UTC+3).
    now = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    ends = datetime(2027, 1, 9, 22, 30, tzinfo=UTC)
    nes = certificate_factory.nes(not_before=now - timedelta(days=300), not_after=ends)
    ready = assess(CLEAN, [nes.info()], now, expiry_warning_days=30)
    assert ready.findings == (ReadinessState.EXPIRING,)
    assert "10.01.2027" in ready.message("tr") and "2027-01-09" not in ready.message("tr")
    assert "2027-01-10" in ready.message("en")
    assert ready.days_left == 9  # 1 January to 10 January, as the date shown says
    assert "9 gün" in ready.message("tr")
    expired = assess(CLEAN, [nes.info()], ends + timedelta(days=2))
    assert "10.01.2027" in expired.message("tr")
