"""Dangerous mistakes found in review, each now impossible, each proven on real parts."""

from __future__ import annotations

import pkcs11
import pytest

from kamusm import (
    CodeEntered,
    FlowCancelledError,
    InputError,
    LooksLikeVerificationCodeError,
    ManualClock,
    Pin,
    PinChangeFlow,
    PinChosen,
    PinResetFlow,
    PinsEntered,
    PinStatus,
    PortalClient,
    Product,
    SoPinFinalTryError,
    StatusRead,
    _token_seam,
    change_pin,
    reset_pin,
)
from kamusm.testing.opencryptoki import fresh_opencryptoki_token, opencryptoki_unavailable_reason
from kamusm.testing.prompts import ScriptedChangePrompts, ScriptedResetPrompts
from kamusm.testing.sandbox import RunningSandbox, TestHolder, provision_softhsm_card
from kamusm.testing.softhsm import SoftHsmToken
from tests.flow_parts import new_code

CODE_SHAPED = "384756192837465"  # 15 digits: a verification code, never a PIN


def test_a_code_shaped_pin_never_reaches_the_card(softhsm_token: SoftHsmToken) -> None:
    """SoftHSM2 takes PINs up to 255 digits, so only the library stands between a pasted
    verification code and a spent try."""
    token = softhsm_token.token()
    clock = ManualClock()
    with pytest.raises(LooksLikeVerificationCodeError):
        token.verify_pin(Pin(CODE_SHAPED))
    with pytest.raises(LooksLikeVerificationCodeError):
        token.change_pin(Pin(CODE_SHAPED), Pin("482915"))
    with pytest.raises(LooksLikeVerificationCodeError):
        token.change_pin(softhsm_token.pin, Pin(CODE_SHAPED))
    auth = softhsm_token.unblock_authorization(now=clock.now())
    with pytest.raises(LooksLikeVerificationCodeError):
        token.unblock(auth, Pin(CODE_SHAPED), clock=clock)
    assert not auth.is_spent
    assert token.pin_status() == PinStatus()  # not even a wrong-PIN count
    token.verify_pin(softhsm_token.pin)


def test_change_flow_refuses_a_code_shaped_old_pin(softhsm_token: SoftHsmToken) -> None:
    flow = PinChangeFlow()
    flow.send(StatusRead(PinStatus(), 4, 255))
    with pytest.raises(LooksLikeVerificationCodeError):
        flow.send(PinsEntered(CODE_SHAPED, "482915", "482915"))
    prompts = ScriptedChangePrompts(pins=[(CODE_SHAPED, "482915", "482915")])
    with pytest.raises(FlowCancelledError):
        change_pin(softhsm_token.token(), prompts)
    assert [type(p) for p in prompts.problems] == [LooksLikeVerificationCodeError]
    assert softhsm_token.token().pin_status() == PinStatus()


@pytest.mark.parametrize(
    "build",
    [
        lambda: CodeEntered("123456789012345", "S"),  # type: ignore[arg-type]
        lambda: PinChosen(482915, 482915),  # type: ignore[arg-type]
        lambda: PinsEntered(None, "482915", "482915"),  # type: ignore[arg-type]
        lambda: StatusRead("locked"),  # type: ignore[arg-type]
    ],
)
def test_events_of_the_wrong_type_are_bad_input(build: object) -> None:
    with pytest.raises(InputError):
        build()  # type: ignore[operator]


def test_sending_a_non_event_is_bad_input() -> None:
    flow = PinResetFlow()
    with pytest.raises(InputError):
        flow.send(None)  # type: ignore[arg-type]
    assert flow.state.name == "AWAITING_CODE"


def test_policy_refuses_non_text_with_a_typed_error() -> None:
    from kamusm import InvalidPinFormatError, PinPolicy

    with pytest.raises(InvalidPinFormatError):
        PinPolicy().check(482915, confirmation=482915)  # type: ignore[arg-type]


def test_a_damaged_certificate_object_does_not_stop_a_reset(
    kamusm_sandbox: RunningSandbox,
) -> None:
    """One unreadable object next to the holder's NES: the card is still recognised and reset
    (it used to make the driver ask nothing and loop)."""
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    card = provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin="123456")
    card.write_certificate(b"\x30\x03\x02\x01\x00", "damaged", b"\x09")
    code = new_code(kamusm_sandbox, holder, Product.NES)
    prompts = ScriptedResetPrompts(
        codes=[code],
        card=card.serial,
        pins=[("482915", "482915")],
        confirmations=[lambda: kamusm_sandbox.last_sms_code(holder.phone).reveal()],
    )
    with PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        reset_pin(card.module(), client, prompts, clock=kamusm_sandbox.clock)
    card.token().verify_pin(Pin("482915"))
    mine = next(c for c in prompts.offered[0] if c.serial == card.serial)
    assert mine.summary is not None
    assert mine.summary.tckn == holder.tckn


@pytest.mark.opencryptoki
def test_unblock_refuses_when_the_so_pin_is_on_its_final_try() -> None:
    """Two refused SO logins put opencryptoki's SO PIN on its final try; the library then
    refuses to try even a good credential, so the card can never be made unusable by it. The
    token is wiped afterwards; the SO PIN is never locked."""
    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    from kamusm.token import _LOCK

    card = fresh_opencryptoki_token(pin="123456", so_pin="11223344")
    lib = card.module()._lib
    try:
        with _LOCK:
            raw = lib.get_token(token_label=card.label)
            for _ in range(2):
                with pytest.raises(pkcs11.exceptions.PinIncorrect):
                    raw.open(rw=True, so_pin="99999999")
                _token_seam.reinitialize_loaded(card.module_path)  # as the token layer does
        token = card.token()
        assert token.pin_status().so_final_try
        auth = card.unblock_authorization(now=ManualClock().now())
        with pytest.raises(SoPinFinalTryError) as info:
            token.unblock(auth, Pin("482915"), clock=ManualClock())
        assert not auth.is_spent
        assert "444 5 576" in info.value.message("tr")
        assert not token.pin_status().so_locked
    finally:
        fresh_opencryptoki_token()


@pytest.mark.parametrize("option", ["--password", "--security-word", "--so-credential"])
def test_sandbox_provisioning_takes_no_secret_on_the_command_line(option: str) -> None:
    """Secrets on argv stay in ps and the shell history: the options do not exist."""
    from kamusm.sandbox import main

    what = "card" if option == "--so-credential" else "holder"
    with pytest.raises(SystemExit) as info:
        main(["provision", "--url", "http://127.0.0.1:9", "--admin-token", "t", what, option, "x"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["change-pin", "482915"],
        ["reset-pin", "--portal", "http://127.0.0.1:9", "384756192837465"],
        ["482915"],
        ["tokens", "--lang", "482915"],
    ],
)
def test_a_secret_typed_on_the_command_line_is_not_printed_back(argv: list[str]) -> None:
    """A PIN or code put on the command line by mistake is refused without being echoed."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "kamusm", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    for secret in ("482915", "384756192837465"):
        assert secret not in result.stdout + result.stderr


def test_sandbox_outbox_messages_hide_the_code_in_their_repr() -> None:
    from datetime import UTC, datetime

    from kamusm.sandbox._portal import SmsMessage

    message = SmsMessage(
        phone="05000000014",
        sent_at=datetime(2026, 1, 1, tzinfo=UTC),
        purpose="reset",
        text="Kod: 654321",
        code="654321",
    )
    assert "654321" not in repr(message)
    assert message.code == "654321"


def test_the_portals_lower_attempt_count_is_the_one_shown() -> None:
    """When the portal allows fewer wrong answers than the flow's own limit, its count rules."""
    from datetime import timedelta

    from kamusm import ChallengeSent, CodeRedeemed, ConfirmationRejected, TooManyAttemptsError
    from tests.test_flows_machine import SERIAL, T0, Operation, card, code

    clock = ManualClock(T0)
    flow = PinResetFlow(clock=clock, max_confirmation_attempts=5)
    flow.send(CodeEntered(code(clock), SERIAL))
    flow.send(CodeRedeemed(Operation(expires_at=T0 + timedelta(seconds=300))))
    from kamusm import CardChosen

    flow.send(CardChosen(card()))
    flow.send(PinChosen("482915", "482915"))
    flow.send(ChallengeSent(attempts_remaining=2))
    assert flow.confirmation_attempts_left == 2
    flow.send(ConfirmationRejected(1))
    assert flow.confirmation_attempts_left == 1
    with pytest.raises(TooManyAttemptsError):
        flow.send(ConfirmationRejected(0))


def test_a_change_and_a_reset_of_one_card_do_not_overlap(softhsm_token: SoftHsmToken) -> None:
    """While a PIN change holds the card, another change (or a reset) of it is refused."""
    from kamusm import FlowBusyError

    refused: list[Exception] = []

    class Meanwhile(ScriptedChangePrompts):
        def pins(
            self, *, min_length: int, max_length: int
        ) -> tuple[str | Pin, str | Pin, str | Pin] | None:
            try:
                change_pin(softhsm_token.token(), ScriptedChangePrompts(pins=[]))
            except FlowBusyError as exc:
                refused.append(exc)
            return super().pins(min_length=min_length, max_length=max_length)

    change_pin(softhsm_token.token(), Meanwhile(pins=[("123456", "482915", "482915")]))
    assert len(refused) == 1
    softhsm_token.token().verify_pin(Pin("482915"))


def test_read_certificates_keeps_the_good_and_names_the_damaged(
    certificate_factory: object,
) -> None:
    from kamusm import read_certificates
    from kamusm.testing.certificates import CertificateFactory
    from kamusm.token import CertificateObject

    assert isinstance(certificate_factory, CertificateFactory)
    good = certificate_factory.nes_card()[0]
    objects = [
        CertificateObject(der=b"\x30\x03\x02\x01\x00", label="damaged", object_id=b"\x09"),
        CertificateObject(der=good.der, label=good.label, object_id=good.object_id),
    ]
    readable, unreadable = read_certificates(objects)
    assert [c.label for c in readable] == [good.label]
    assert unreadable == ["damaged"]


def test_choosing_no_card_reads_the_cards_again(kamusm_sandbox: RunningSandbox) -> None:
    """A picker may answer "" (no card yet: insert one) to have the list read again; that is
    not an error, and the reset goes on with the card then chosen."""
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    card = provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin="123456")
    answers = iter(["", card.serial])
    prompts = ScriptedResetPrompts(
        codes=[new_code(kamusm_sandbox, holder, Product.NES)],
        card=lambda cards: next(answers),
        pins=[("482915", "482915")],
        confirmations=[lambda: kamusm_sandbox.last_sms_code(holder.phone).reveal()],
    )
    with PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        reset_pin(card.module(), client, prompts, clock=kamusm_sandbox.clock)
    assert prompts.asked.count("choose_card") == 2
    assert prompts.problems == []
    card.token().verify_pin(Pin("482915"))
