"""The holder's portal session, over real HTTP on 127.0.0.1 against the sandbox.

Login (e-Devlet password; the other e-Devlet methods answered "not available"; Şifreli Giriş
with SMS), session expiry on the sandbox's ManualClock, certificates, the verification code
for a PIN reset, the legacy initial PIN, and one end-to-end reset on a real SoftHSM2 card.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kamusm.errors import (
    AuthenticationRequiredError,
    ConflictError,
    ForbiddenError,
    InputError,
    LoginFailedError,
    LoginMethodUnavailableError,
    NotFoundError,
    OperationCancelledError,
    SmsCodeRejectedError,
)
from kamusm.portal import (
    AsyncPortalClient,
    EdevletMethod,
    PortalCertificateStatus,
    PortalClient,
)
from kamusm.sandbox import CertificateRecord
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox
from kamusm.values import ManualClock, Pin, Product, SmsCode, Tckn, VerificationCode

CARD = "AKIS00001111AAAA"
OTHER_CARD = "AKIS00002222BBBB"
HOLDER = TestHolder.default()
OTHER = TestHolder.make(Tckn("17291716060"))
INITIAL_PIN = "482913"


def _cert(serial: str, *, days: int = 365) -> CertificateRecord:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    return CertificateRecord(
        serial_number=serial,
        subject=f"CN=TEST {serial}",
        not_before=start,
        not_after=start + timedelta(days=days),
    )


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    # the clock at 2026-01-01 09:00, which the certificates' fixed dates below are set around
    with running_sandbox(clock=ManualClock()) as running:
        for person in (HOLDER, OTHER):
            person.register(running.portal)
        running.portal.register_card(
            serial=CARD,
            holder=HOLDER.tckn,
            product=Product.NES,
            so_credential="99887766",
            initial_pin=INITIAL_PIN,
            certificates=[_cert("0A01"), _cert("0A02", days=30)],
        )
        running.portal.register_card(
            serial=OTHER_CARD,
            holder=OTHER.tckn,
            product=Product.NES,
            so_credential="11223344",
            certificates=[_cert("0B01")],
        )
        yield running


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[PortalClient]:
    with PortalClient(sb.url) as portal:
        yield portal


def _sifreli_giris(sb: RunningSandbox, client: PortalClient) -> None:
    captcha = client.get_captcha()
    pending = client.login_sifreli_giris(
        HOLDER.tckn,
        captcha=captcha,
        captcha_answer=captcha.text.lower(),
        security_word=HOLDER.security_word,
    )
    client.confirm_login_sms(pending, sb.last_sms_code(HOLDER.phone))


def test_login_methods_list_every_edevlet_method(client: PortalClient) -> None:
    methods = client.login_methods()
    assert methods == {
        "password": True,
        "mobile_signature": False,
        "e_signature": False,
        "id_card": False,
        "internet_banking": False,
        "sifreli_giris": True,
    }


def test_edevlet_password_login_opens_a_session(sb: RunningSandbox, client: PortalClient) -> None:
    session = client.login_edevlet(HOLDER.tckn, HOLDER.password)
    assert session.holder == HOLDER.tckn and session.method == "edevlet"
    assert session.expires_at == sb.clock.now() + timedelta(seconds=900)
    assert client.logged_in and client.session() == session


@pytest.mark.parametrize(
    "method", [m for m in EdevletMethod if m is not EdevletMethod.PASSWORD], ids=str
)
def test_other_edevlet_methods_are_not_available(
    client: PortalClient, method: EdevletMethod
) -> None:
    with pytest.raises(LoginMethodUnavailableError):
        client.login_edevlet(HOLDER.tckn, HOLDER.password, method=method)
    assert not client.logged_in


def test_wrong_password_fails_and_unknown_holder_fails_the_same_way(client: PortalClient) -> None:
    with pytest.raises(LoginFailedError):
        client.login_edevlet(HOLDER.tckn, "wrong password")
    with pytest.raises(LoginFailedError):
        client.login_edevlet(Tckn.complete("123456789"), "whatever")
    assert not client.logged_in


def test_session_expires_after_its_validity(sb: RunningSandbox, client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    sb.advance(899)
    client.list_certificates()
    sb.advance(1)
    with pytest.raises(AuthenticationRequiredError):
        client.list_certificates()
    assert not client.logged_in  # the dead token is forgotten


def test_logout_ends_the_session(client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    client.logout()
    assert not client.logged_in
    with pytest.raises(AuthenticationRequiredError):
        client.start_pin_reset(Product.NES)


def test_sifreli_giris_with_sms(sb: RunningSandbox, client: PortalClient) -> None:
    captcha = client.get_captcha()
    with pytest.raises(LoginFailedError):
        client.login_sifreli_giris(
            HOLDER.tckn, captcha=captcha, captcha_answer=captcha.text, security_word="WRONG"
        )
    with pytest.raises(LoginFailedError):  # a captcha is used once, even by a failed login
        client.login_sifreli_giris(
            HOLDER.tckn,
            captcha=captcha,
            captcha_answer=captcha.text,
            security_word=HOLDER.security_word,
        )
    fresh = client.get_captcha()
    pending = client.login_sifreli_giris(
        HOLDER.tckn,
        captcha=fresh,
        captcha_answer=fresh.text,
        # upper case by the Turkish rules: the word's i is İ, not I
        security_word=HOLDER.security_word.replace("i", "İ").replace("ı", "I").upper(),
    )
    assert pending.masked_phone.startswith(HOLDER.phone[:2])
    assert HOLDER.phone not in pending.masked_phone
    right = sb.last_sms_code(HOLDER.phone)
    with pytest.raises(SmsCodeRejectedError) as err:
        client.confirm_login_sms(pending, SmsCode(f"{(int(right.reveal()) + 1) % 10**6:06d}"))
    assert err.value.attempts_remaining == 2
    session = client.confirm_login_sms(pending, right)
    assert session.method == "sifreli_giris" and session.holder == HOLDER.tckn


def test_sifreli_giris_by_passport_number() -> None:
    traveller = TestHolder(
        tckn=Tckn.complete("234567891"),
        name="PASAPORT",
        birth_date=HOLDER.birth_date,
        phone="05550001122",
        password="pw",
        security_word="deniz",
        passport="U12345678",
    )
    with running_sandbox() as sb, PortalClient(sb.url) as client:
        traveller.register(sb.portal)
        captcha = client.get_captcha()
        pending = client.login_sifreli_giris(
            "U12345678", captcha=captcha, captcha_answer=captcha.text, security_word="deniz"
        )
        session = client.confirm_login_sms(pending, sb.last_sms_code(traveller.phone))
        assert session.holder == traveller.tckn


def test_three_wrong_login_sms_cancel_the_login(sb: RunningSandbox, client: PortalClient) -> None:
    captcha = client.get_captcha()
    pending = client.login_sifreli_giris(
        HOLDER.tckn,
        captcha=captcha,
        captcha_answer=captcha.text,
        security_word=HOLDER.security_word,
    )
    right = sb.last_sms_code(HOLDER.phone)
    wrong = SmsCode(f"{(int(right.reveal()) + 1) % 10**6:06d}")
    for _ in range(2):
        with pytest.raises(SmsCodeRejectedError):
            client.confirm_login_sms(pending, wrong)
    with pytest.raises(OperationCancelledError):
        client.confirm_login_sms(pending, wrong)
    with pytest.raises(OperationCancelledError):
        client.confirm_login_sms(pending, right)
    assert not client.logged_in


def test_certificates_are_listed_with_status_and_validity(
    sb: RunningSandbox, client: PortalClient
) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    certs = client.list_certificates()
    assert [c.serial_number for c in certs] == ["0A01", "0A02"]  # not the other holder's
    assert all(c.card_serial == CARD and c.product is Product.NES for c in certs)
    assert all(c.status is PortalCertificateStatus.ACTIVE for c in certs)
    # The sandbox clock starts on 2026-01-01: 0A02 (30 days from 2025-06-01) has expired.
    assert [c.expired for c in certs] == [False, True]
    assert certs[0].not_after == datetime(2026, 6, 1, tzinfo=UTC)


def test_suspend_reactivate_and_revoke(client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    assert client.suspend_certificate("0A01").status is PortalCertificateStatus.SUSPENDED
    with pytest.raises(ConflictError):
        client.suspend_certificate("0A01")
    assert client.reactivate_certificate("0A01").status is PortalCertificateStatus.ACTIVE
    with pytest.raises(InputError):
        client.revoke_certificate("0A01", confirm=False)
    assert client.list_certificates()[0].status is PortalCertificateStatus.ACTIVE
    assert client.revoke_certificate("0A01", confirm=True).status is (
        PortalCertificateStatus.REVOKED
    )
    for action in (client.reactivate_certificate, client.suspend_certificate):
        with pytest.raises(ConflictError) as err:
            action("0A01")
        assert err.value.reason == "certificate_revoked"


def test_revoke_without_confirmation_is_refused_by_the_server_too(sb: RunningSandbox) -> None:
    """The confirmation is the server's rule, not only the client's."""
    import httpx

    with PortalClient(sb.url) as client:
        client.login_edevlet(HOLDER.tckn, HOLDER.password)
        token = client._core._session_token
    response = httpx.post(
        f"{sb.url}/api/v1/certificates/0A01/revoke",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "confirmation_required"


def test_another_holders_certificate_is_not_found(client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    for action in (client.suspend_certificate, client.reactivate_certificate):
        with pytest.raises(NotFoundError):
            action("0B01")
    with pytest.raises(NotFoundError):
        client.revoke_certificate("0B01", confirm=True)


def test_start_pin_reset_gives_a_15_digit_code_valid_300_seconds(
    sb: RunningSandbox, client: PortalClient
) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    code = client.start_pin_reset(Product.NES)
    assert isinstance(code, VerificationCode) and code.length == 15
    assert code.issued_at == sb.clock.now()
    assert code.validity == timedelta(seconds=300)
    assert code.reveal() not in repr(code)


def test_tekrar_kod_al_through_the_client(sb: RunningSandbox, client: PortalClient) -> None:
    """Calling start_pin_reset again invalidates the previous code."""
    from kamusm.errors import VerificationCodeInvalidError

    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    first = client.start_pin_reset(Product.NES)
    second = client.start_pin_reset(Product.NES)
    assert first != second
    with pytest.raises(VerificationCodeInvalidError):
        client.redeem(first, card_serial=CARD)
    assert client.redeem(second, card_serial=CARD).card_serial == CARD


def test_pin_reset_for_a_product_without_card(client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    with pytest.raises(ConflictError) as err:
        client.start_pin_reset(Product.MALI_MUHUR)
    assert err.value.reason == "no_card_for_product"


def test_initial_pin_is_shown_once_after_sifreli_giris(
    sb: RunningSandbox, client: PortalClient
) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    with pytest.raises(ForbiddenError) as refused:  # e-Devlet is not enough: Şifreli Giriş
        client.reveal_initial_pin(CARD)
    assert refused.value.reason == "sifreli_giris_required"
    assert "Şifreli Giriş" in refused.value.message("tr")
    _sifreli_giris(sb, client)
    with pytest.raises(NotFoundError):
        client.reveal_initial_pin(OTHER_CARD)
    pin = client.reveal_initial_pin(CARD)
    assert isinstance(pin, Pin) and pin.reveal() == INITIAL_PIN
    assert INITIAL_PIN not in repr(pin)
    with pytest.raises(ConflictError) as err:
        client.reveal_initial_pin(CARD)
    assert err.value.reason == "initial_pin_already_shown"


def test_sil_deletes_the_initial_pin_for_good(sb: RunningSandbox, client: PortalClient) -> None:
    _sifreli_giris(sb, client)
    client.delete_initial_pin(CARD)
    with pytest.raises(NotFoundError):
        client.reveal_initial_pin(CARD)
    with pytest.raises(NotFoundError):
        client.delete_initial_pin(CARD)
    assert sb.portal.audit_log()[-1]["event"] == "initial_pin.deleted"


def test_a_pin_change_deletes_the_initial_pin(sb: RunningSandbox, client: PortalClient) -> None:
    client.login_edevlet(HOLDER.tckn, HOLDER.password)
    op = client.redeem(client.start_pin_reset(Product.NES), card_serial=CARD)
    client.request_challenge(op)
    client.confirm_challenge(op, sb.last_sms_code(HOLDER.phone))
    client.report_result(op, success=True)
    _sifreli_giris(sb, client)
    with pytest.raises(NotFoundError):
        client.reveal_initial_pin(CARD)


@pytest.mark.anyio
async def test_async_holder_session(sb: RunningSandbox) -> None:
    async with AsyncPortalClient(sb.url) as client:
        await client.login_edevlet(HOLDER.tckn, HOLDER.password)
        certs = await client.list_certificates()
        assert len(certs) == 2
        suspended = await client.suspend_certificate("0A01")
        assert suspended.status is PortalCertificateStatus.SUSPENDED
        code = await client.start_pin_reset(Product.NES)
        op = await client.redeem(code, card_serial=CARD)
        assert op.holder == HOLDER.tckn
        await client.logout()
        with pytest.raises(AuthenticationRequiredError):
            await client.list_certificates()


def test_end_to_end_reset_on_a_softhsm_card() -> None:
    """Portal code → redeem → SMS → authorization → C_Login(SO) + C_InitPIN on a real
    SoftHSM2 token → report. The holder never sees the SO PIN."""
    pytest.importorskip("pkcs11")
    from kamusm.testing.softhsm import find_softhsm_module

    if find_softhsm_module() is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    from kamusm.testing.sandbox import provision_softhsm_card

    holder = TestHolder.default()
    with running_sandbox() as sb:
        card = provision_softhsm_card(sb.portal, holder=holder, pin="111111")
        with PortalClient(sb.url) as client:
            client.login_edevlet(holder.tckn, holder.password)
            assert {c.card_serial for c in client.list_certificates()} == {card.serial}
            op = client.redeem(client.start_pin_reset(Product.NES), card_serial=card.serial)
            client.request_challenge(op)
            auth = client.confirm_challenge(op, sb.last_sms_code(holder.phone))
            token = card.token()
            token.unblock(auth, Pin("246813"), clock=sb.clock)
            token.verify_pin(Pin("246813"))
            client.report_result(op, success=True)
        assert auth.is_spent
        assert sb.portal.audit_log()[-1]["event"] == "operation.completed"
