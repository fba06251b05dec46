"""The desktop application's side of the portal contract, over real HTTP on 127.0.0.1.

PortalClient and AsyncPortalClient against the sandbox (uvicorn on a background thread): redeem
→ challenge → confirm → authorization → report, and every refusal as its typed error. Expiry is
driven by the sandbox's ManualClock, never by sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from kamusm.errors import (
    CardNotOwnedError,
    ConflictError,
    InputError,
    OperationCancelledError,
    SmsCodeExpiredError,
    SmsCodeRejectedError,
    VerificationCodeExpiredError,
    VerificationCodeInvalidError,
    VerificationCodeUsedError,
)
from kamusm.portal import AsyncPortalClient, Challenge, Operation, PortalClient
from kamusm.sandbox import SandboxSettings
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox
from kamusm.values import Product, SmsCode, Tckn, UnblockAuthorization, VerificationCode

CARD = "AKIS0000DEADBEEF"
OTHER_CARD = "AKIS0000CAFEF00D"
SO_CREDENTIAL = "73914628"


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    """A sandbox with two holders, each with one NES card (card metadata only)."""
    with running_sandbox() as running:
        holder, other = TestHolder.default(), TestHolder.make(Tckn("17291716060"))
        for person, serial, so in ((holder, CARD, SO_CREDENTIAL), (other, OTHER_CARD, "5550001")):
            person.register(running.portal)
            running.portal.register_card(
                serial=serial, holder=person.tckn, product=Product.NES, so_credential=so
            )
        yield running


def _code(sb: RunningSandbox, tckn: Tckn | None = None) -> VerificationCode:
    """A fresh verification code for the holder, issued through the sandbox itself."""
    holder_id = sb.portal.holder_id(tckn or TestHolder.default().tckn)
    issued = sb.portal.start_pin_reset(holder_id, Product.NES)
    return VerificationCode(issued["verification_code"])


def _phone(sb: RunningSandbox) -> str:
    return TestHolder.default().phone


def test_full_sequence_releases_the_so_credential_once(sb: RunningSandbox) -> None:
    """redeem → SMS challenge → right code → a single-use authorization for that card."""
    code = _code(sb)
    with PortalClient(sb.url) as client:
        op = client.redeem(code, card_serial=CARD)
        assert isinstance(op, Operation)
        assert op.holder == Tckn("10000000146")
        assert op.product is Product.NES and op.card_serial == CARD
        assert op.expires_at == sb.clock.now() + timedelta(seconds=600)
        assert op.pin_entry_deadline == sb.clock.now() + timedelta(seconds=195)
        challenge = client.request_challenge(op)
        assert challenge == Challenge(
            method="sms",
            expires_at=sb.clock.now() + timedelta(seconds=180),
            attempts_remaining=3,
            masked_phone=challenge.masked_phone,
            challenges_remaining=2,
        )
        phone = _phone(sb)
        assert challenge.masked_phone == phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
        auth = client.confirm_challenge(op, sb.last_sms_code(phone))
        assert isinstance(auth, UnblockAuthorization)
        assert auth.card_serial == CARD
        assert auth.expires_at == sb.clock.now() + timedelta(seconds=60)
        assert auth.spend(card_serial=CARD, now=sb.clock.now()) == SO_CREDENTIAL
        client.report_result(op, success=True)
    events = [e["event"] for e in sb.portal.audit_log()]
    assert events[-4:] == [
        "operation.redeemed",
        "operation.challenged",
        "operation.authorized",
        "operation.completed",
    ]


@pytest.mark.anyio
async def test_async_client_runs_the_same_sequence(sb: RunningSandbox) -> None:
    code = _code(sb)
    async with AsyncPortalClient(sb.url) as client:
        op = await client.redeem(code, card_serial=CARD)
        challenge = await client.request_challenge(op)
        assert challenge.method == "sms" and challenge.attempts_remaining == 3
        with pytest.raises(SmsCodeRejectedError) as wrong:
            await client.confirm_challenge(op, _wrong(sb))
        assert wrong.value.attempts_remaining == 2
        auth = await client.confirm_challenge(op, sb.last_sms_code(_phone(sb)))
        assert auth.card_serial == CARD
        await client.report_result(op, success=True)
        with pytest.raises(VerificationCodeUsedError):
            await client.redeem(code, card_serial=CARD)


def _wrong(sb: RunningSandbox) -> SmsCode:
    right = sb.last_sms_code(_phone(sb)).reveal()
    return SmsCode(f"{(int(right) + 1) % 10**6:06d}")


def test_a_code_works_once(sb: RunningSandbox) -> None:
    code = _code(sb)
    with PortalClient(sb.url) as client:
        client.redeem(code, card_serial=CARD)
        with pytest.raises(VerificationCodeUsedError):
            client.redeem(code, card_serial=CARD)


def test_unknown_code_is_invalid(sb: RunningSandbox) -> None:
    _code(sb)
    with PortalClient(sb.url) as client, pytest.raises(VerificationCodeInvalidError) as err:
        client.redeem(VerificationCode("0" * 15), card_serial=CARD)
    assert err.value.status == 401


def test_expired_code_is_refused_at_300_seconds(sb: RunningSandbox) -> None:
    """Valid for 300 s from issue: one second before works, at 300 s it is expired."""
    early, late = _code(sb), None
    with PortalClient(sb.url) as client:
        sb.advance(299)
        client.redeem(early, card_serial=CARD)
        late = _code(sb)
        sb.advance(300)
        with pytest.raises(VerificationCodeExpiredError):
            client.redeem(late, card_serial=CARD)


def test_tekrar_kod_al_invalidates_the_previous_code(sb: RunningSandbox) -> None:
    first = _code(sb)
    second = _code(sb)
    with PortalClient(sb.url) as client:
        with pytest.raises(VerificationCodeInvalidError):
            client.redeem(first, card_serial=CARD)
        assert client.redeem(second, card_serial=CARD).card_serial == CARD


def test_card_of_another_holder_is_refused_and_the_code_survives(sb: RunningSandbox) -> None:
    code = _code(sb)
    with PortalClient(sb.url) as client:
        with pytest.raises(CardNotOwnedError):
            client.redeem(code, card_serial=OTHER_CARD)
        with pytest.raises(CardNotOwnedError):
            client.redeem(code, card_serial="NOSUCHCARD")
        assert client.redeem(code, card_serial=CARD).holder == Tckn("10000000146")


def test_three_wrong_answers_cancel_the_operation(sb: RunningSandbox) -> None:
    code = _code(sb)
    with PortalClient(sb.url) as client:
        op = client.redeem(code, card_serial=CARD)
        client.request_challenge(op)
        wrong = _wrong(sb)
        left = []
        for _ in range(2):
            with pytest.raises(SmsCodeRejectedError) as err:
                client.confirm_challenge(op, wrong)
            left.append(err.value.attempts_remaining)
        assert left == [2, 1]
        with pytest.raises(OperationCancelledError):
            client.confirm_challenge(op, wrong)
        # Cancelled for good: even the right code is refused now, and so is a new challenge.
        with pytest.raises(OperationCancelledError):
            client.confirm_challenge(op, sb.last_sms_code(_phone(sb)))
        with pytest.raises(OperationCancelledError):
            client.request_challenge(op)


def test_resending_the_sms_keeps_the_attempt_count(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        client.request_challenge(op)
        with pytest.raises(SmsCodeRejectedError):
            client.confirm_challenge(op, _wrong(sb))
        again = client.request_challenge(op)
        assert again.attempts_remaining == 2


def test_each_challenge_says_how_many_new_ones_are_left_until_the_limit(
    sb: RunningSandbox,
) -> None:
    """``challenges_remaining`` counts down with each re-send (``max_challenges`` 3), and at
    0 the portal refuses another (``conflict`` / ``too_many_challenges``)."""
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        left = [client.request_challenge(op).challenges_remaining for _ in range(3)]
        assert left == [2, 1, 0]
        with pytest.raises(ConflictError) as refused:
            client.request_challenge(op)
        assert refused.value.reason == "too_many_challenges"


def test_expired_sms_code_is_refused_and_a_new_one_works(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        client.request_challenge(op)
        stale = sb.last_sms_code(_phone(sb))
        sb.advance(180)
        with pytest.raises(SmsCodeExpiredError):
            client.confirm_challenge(op, stale)
        client.request_challenge(op)
        fresh = sb.last_sms_code(_phone(sb))
        assert client.confirm_challenge(op, fresh).card_serial == CARD


def test_pin_entry_time_limit_cancels_the_operation(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        assert op.pin_entry_deadline is not None
        sb.advance(195)
        with pytest.raises(OperationCancelledError):
            client.request_challenge(op)


def test_operation_expiry_is_code_expiry(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        client.request_challenge(op)
        sb.advance(600)
        with pytest.raises(VerificationCodeExpiredError):
            client.confirm_challenge(op, sb.last_sms_code(_phone(sb)))


def test_web_password_challenge(sb: RunningSandbox) -> None:
    """ "SMS Onay veya WEB Parola": the holder's web password confirms too, no SMS is sent."""
    holder = TestHolder.default()
    with running_sandbox() as own:
        holder.register(own.portal)
        own.portal.register_card(
            serial=CARD, holder=holder.tckn, product=Product.NES, so_credential=SO_CREDENTIAL
        )
        code = _code(own)
        with PortalClient(own.url) as client:
            op = client.redeem(code, card_serial=CARD)
            challenge = client.request_challenge(op, method="web_password")
            assert challenge.method == "web_password" and challenge.masked_phone is None
            assert own.portal.outbox() == []
            with pytest.raises(SmsCodeRejectedError):
                client.confirm_challenge(op, "not-the-password")
            auth = client.confirm_challenge(op, holder.password)
            assert auth.spend(card_serial=CARD, now=own.clock.now()) == SO_CREDENTIAL


def test_authorization_is_released_only_once(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        client.request_challenge(op)
        sms = sb.last_sms_code(_phone(sb))
        client.confirm_challenge(op, sms)
        with pytest.raises(ConflictError) as err:
            client.confirm_challenge(op, sms)
        assert err.value.reason == "already_authorized"
        with pytest.raises(ConflictError):
            client.request_challenge(op)


def test_success_cannot_be_reported_without_authorization(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        with pytest.raises(ConflictError) as err:
            client.report_result(op, success=True)
        assert err.value.reason == "not_authorized"
        client.report_result(op, success=False, reason="FlowCancelledError")
        with pytest.raises(VerificationCodeUsedError):
            client.request_challenge(op)
    assert sb.portal.audit_log()[-1]["detail"]["reason"] == "FlowCancelledError"


def test_report_reason_cannot_carry_digits(sb: RunningSandbox) -> None:
    """A reason is letters and "_" only, so a PIN or code can never be smuggled into it;
    refused locally, before anything is sent, and the operation is unchanged."""
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        before = sb.portal.snapshot()
        with pytest.raises(InputError):
            client.report_result(op, success=False, reason="pin 123456")
        assert sb.portal.snapshot() == before
        client.request_challenge(op)


def test_operation_of_another_code_is_not_reachable(sb: RunningSandbox) -> None:
    """Knowing an operation id is not enough: the request must carry its code too."""
    with PortalClient(sb.url) as client:
        op = client.redeem(_code(sb), card_serial=CARD)
        forged = Operation(
            operation_id=op.operation_id,
            holder=op.holder,
            product=op.product,
            card_serial=op.card_serial,
            expires_at=op.expires_at,
            verification_code=VerificationCode("1" * 15),
        )
        with pytest.raises(VerificationCodeInvalidError):
            client.request_challenge(forged)


def test_repr_and_logs_hold_no_secret(sb: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = _code(sb)
    with PortalClient(sb.url) as client:
        op = client.redeem(code, card_serial=CARD)
        client.request_challenge(op)
        sms = sb.last_sms_code(_phone(sb))
        auth = client.confirm_challenge(op, sms)
        client.report_result(op, success=True)
        shown = " ".join([repr(op), str(op), repr(auth), repr(client), caplog.text])
    for secret in (code.reveal(), sms.reveal(), op.operation_id, SO_CREDENTIAL):
        assert secret not in shown
    assert CARD in caplog.text  # the log does say what happened, to which card


def test_bad_input_is_refused_before_sending(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        with pytest.raises(InputError):
            client.redeem(VerificationCode("1" * 15), card_serial="bad serial/../x")
        with pytest.raises(InputError):
            client.redeem("123456789012345", card_serial=CARD)  # type: ignore[arg-type]
        op = client.redeem(_code(sb), card_serial=CARD)
        with pytest.raises(InputError):
            client.request_challenge(op, method="carrier_pigeon")  # type: ignore[arg-type]
        with pytest.raises(InputError):
            client.confirm_challenge(op, "")


def test_code_length_is_a_deployment_setting() -> None:
    holder = TestHolder.default()
    settings = SandboxSettings(code_length=12, code_validity=timedelta(seconds=60))
    with running_sandbox(settings=settings) as sb:
        holder.register(sb.portal)
        sb.portal.register_card(
            serial=CARD, holder=holder.tckn, product=Product.NES, so_credential="1"
        )
        issued = sb.portal.start_pin_reset(sb.portal.holder_id(holder.tckn), Product.NES)
        assert len(issued["verification_code"]) == 12
        assert issued["validity_seconds"] == 60
        assert date.fromisoformat(issued["expires_at"][:10]) == sb.clock.now().date()
