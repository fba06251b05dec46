"""The pure state machines: every allowed transition, every refused one, and each rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from kamusm import errors
from kamusm.flows import (
    CHANGE_TRANSITIONS,
    RESET_TRANSITIONS,
    AuthorizationReceived,
    CardCertificate,
    CardChosen,
    CardFacts,
    ChallengeSent,
    ChangeState,
    ChangeStep,
    CodeEntered,
    CodeRedeemed,
    ConfirmationRejected,
    Confirmed,
    ErrorOccurred,
    Event,
    FinalTryAcknowledged,
    FlowCancelled,
    NewPinVerified,
    NewSmsDeclined,
    NewSmsRequested,
    PinChanged,
    PinChangeFlow,
    PinChosen,
    PinResetFlow,
    PinsEntered,
    PinWritten,
    ResetState,
    ResetStep,
    ResultReported,
    StatusRead,
)
from kamusm.values import (
    ManualClock,
    Pin,
    PinStatus,
    Product,
    Tckn,
    UnblockAuthorization,
    VerificationCode,
    _issue_authorization,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
HOLDER = Tckn("17291716060")
OTHER = Tckn("10000000146")
SERIAL = "a1b2c3d4e5f60718"


@attrs.frozen
class Operation:
    """Stands in for kamusm.portal.Operation: the machine only reads these fields."""

    holder: Tckn = HOLDER
    product: Product = Product.NES
    card_serial: str = SERIAL
    expires_at: datetime = T0 + timedelta(seconds=300)
    pin_entry_deadline: datetime | None = None


def state_of(flow: PinResetFlow | PinChangeFlow) -> object:
    """The flow's state, read through a call so that the type checker does not narrow it."""
    return flow.state


def step_of(flow: PinResetFlow) -> object:
    """The flow's step, read through a call so that the type checker does not narrow it."""
    return flow.step


def card(**changes: object) -> CardFacts:
    base = CardFacts(
        serial=SERIAL,
        products=frozenset({Product.NES}),
        holders=frozenset({HOLDER}),
        min_pin_length=4,
        max_pin_length=8,
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def code(clock: ManualClock) -> VerificationCode:
    return VerificationCode("123456789012345", issued_at=clock.now())


def auth(serial: str = SERIAL) -> UnblockAuthorization:
    return _issue_authorization("so", card_serial=serial, expires_at=T0 + timedelta(hours=1))


# A good event for each event type, given the flow's clock.
RESET_SAMPLES: dict[type[Event], Callable[[ManualClock], Event]] = {
    CodeEntered: lambda c: CodeEntered(code(c), SERIAL),
    CodeRedeemed: lambda c: CodeRedeemed(Operation()),
    CardChosen: lambda c: CardChosen(card()),
    PinChosen: lambda c: PinChosen("482915", "482915"),
    ChallengeSent: lambda c: ChallengeSent(),
    ConfirmationRejected: lambda c: ConfirmationRejected(2),
    Confirmed: lambda c: Confirmed(),
    AuthorizationReceived: lambda c: AuthorizationReceived(auth()),
    PinWritten: lambda c: PinWritten(),
    ResultReported: lambda c: ResultReported(),
    ErrorOccurred: lambda c: ErrorOccurred(errors.PortalServerError(status=503)),
    FlowCancelled: lambda c: FlowCancelled(),
    NewSmsRequested: lambda c: NewSmsRequested(),
    NewSmsDeclined: lambda c: NewSmsDeclined(),
}
HAPPY_PATH = [
    CodeEntered,
    CodeRedeemed,
    CardChosen,
    PinChosen,
    ChallengeSent,
    Confirmed,
    AuthorizationReceived,
    PinWritten,
    ResultReported,
]
HAPPY_STATES = [
    ResetState.AWAITING_CODE,
    ResetState.CODE_ENTERED,
    ResetState.CODE_REDEEMED,
    ResetState.CARD_CHOSEN,
    ResetState.PIN_CHOSEN,
    ResetState.CHALLENGE_SENT,
    ResetState.CONFIRMED,
    ResetState.UNBLOCK_AUTHORIZED,
    ResetState.PIN_WRITTEN,
    ResetState.DONE,
]


def reset_flow_in(state: ResetState) -> tuple[PinResetFlow, ManualClock]:
    clock = ManualClock(T0)
    flow = PinResetFlow(Product.NES, clock=clock)
    if state in HAPPY_STATES:
        for event_type in HAPPY_PATH[: HAPPY_STATES.index(state)]:
            flow.send(RESET_SAMPLES[event_type](clock))
    elif state is ResetState.EXPIRED:
        flow.send(RESET_SAMPLES[CodeEntered](clock))
        clock.advance(301)
        with pytest.raises(errors.FlowCodeExpiredError):
            flow.send(CodeRedeemed(Operation()))
    elif state is ResetState.SMS_EXPIRED:
        for event_type in HAPPY_PATH[: HAPPY_STATES.index(ResetState.CHALLENGE_SENT)]:
            flow.send(RESET_SAMPLES[event_type](clock))
        with pytest.raises(errors.SmsCodeExpiredError):
            flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    elif state is ResetState.CANCELLED:
        with pytest.raises(errors.FlowCancelledError):
            flow.send(FlowCancelled())
    elif state is ResetState.FAILED:
        flow.send(RESET_SAMPLES[CodeEntered](clock))
        with pytest.raises(errors.PortalServerError):
            flow.send(ErrorOccurred(errors.PortalServerError(status=500)))
    assert state_of(flow) is state
    return flow, clock


_S = ResetState
#: The reset's moves as the seeds order its steps (code, redemption, card, new PIN, SMS
#: challenge, its confirmation, which may be refused and typed again, the authorization, the
#: PIN written, the report), written here, not read from ``RESET_TRANSITIONS``: the holder may
#: cancel until the PIN is written, and after that an error cannot undo the new PIN (the flow
#: is done, only its report missing); an expired code leads to a new one.
EXPECTED_RESET: dict[ResetState, dict[type[Event], ResetState]] = {
    _S.AWAITING_CODE: {CodeEntered: _S.CODE_ENTERED, FlowCancelled: _S.CANCELLED},
    _S.CODE_ENTERED: {
        CodeRedeemed: _S.CODE_REDEEMED,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.CODE_REDEEMED: {
        CardChosen: _S.CARD_CHOSEN,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.CARD_CHOSEN: {
        PinChosen: _S.PIN_CHOSEN,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.PIN_CHOSEN: {
        ChallengeSent: _S.CHALLENGE_SENT,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.CHALLENGE_SENT: {
        Confirmed: _S.CONFIRMED,
        ConfirmationRejected: _S.CHALLENGE_SENT,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    # The SMS code expired: the holder is asked; a new SMS goes back to the challenge.
    _S.SMS_EXPIRED: {
        NewSmsRequested: _S.PIN_CHOSEN,
        NewSmsDeclined: _S.CANCELLED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.CONFIRMED: {
        AuthorizationReceived: _S.UNBLOCK_AUTHORIZED,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.UNBLOCK_AUTHORIZED: {
        PinWritten: _S.PIN_WRITTEN,
        ErrorOccurred: _S.FAILED,
        FlowCancelled: _S.CANCELLED,
    },
    _S.PIN_WRITTEN: {ResultReported: _S.DONE, ErrorOccurred: _S.DONE},
    _S.EXPIRED: {CodeEntered: _S.CODE_ENTERED, FlowCancelled: _S.CANCELLED},
}


def test_the_reset_table_is_the_expected_one() -> None:
    """No move more, none less: an edge that skipped the SMS step would show here."""
    actual = {state: dict(moves) for state, moves in RESET_TRANSITIONS.items() if moves}
    assert actual == EXPECTED_RESET


ALL_RESET_PAIRS = [(s, e) for s in ResetState for e in RESET_SAMPLES]


@pytest.mark.parametrize(
    ("state", "event_type"), ALL_RESET_PAIRS, ids=lambda v: getattr(v, "name", str(v))
)
def test_reset_transition_table_is_enforced(state: ResetState, event_type: type[Event]) -> None:
    """Allowed pairs move to the expected target; every other pair is refused, naming both."""
    flow, clock = reset_flow_in(state)
    event = RESET_SAMPLES[event_type](clock)
    target = EXPECTED_RESET.get(state, {}).get(event_type)
    if state is ResetState.FAILED:
        with pytest.raises(errors.FlowFailedError):
            flow.send(event)
        return
    if target is None:
        with pytest.raises(errors.IllegalTransitionError) as info:
            flow.send(event)
        assert info.value.state == state.name
        assert info.value.event == event_type.__name__
        assert state_of(flow) is state  # a refused event changes nothing
        return
    if event_type is ErrorOccurred and state is not ResetState.PIN_WRITTEN:
        with pytest.raises(errors.PortalServerError):
            flow.send(event)
    elif event_type is FlowCancelled:
        with pytest.raises(errors.FlowCancelledError):
            flow.send(event)
    elif event_type is NewSmsDeclined:
        with pytest.raises(errors.NewSmsDeclinedError):
            flow.send(event)
    else:
        flow.send(event)
    assert state_of(flow) is target


def test_happy_path_steps_and_secrets_dropped() -> None:
    clock = ManualClock(T0)
    flow = PinResetFlow(Product.NES, clock=clock)
    steps = [flow.step]
    for event_type in HAPPY_PATH:
        flow.send(RESET_SAMPLES[event_type](clock))
        steps.append(flow.step)
        if event_type is AuthorizationReceived:
            assert flow.authorization is not None
            assert flow.new_pin == Pin("482915")
    assert steps == [
        ResetStep.ENTER_CODE_AND_CHOOSE_CARD,
        ResetStep.REDEEM_CODE,
        ResetStep.CHECK_CARD,
        ResetStep.ENTER_NEW_PIN,
        ResetStep.REQUEST_CHALLENGE,
        ResetStep.ENTER_CONFIRMATION,
        ResetStep.RECEIVE_AUTHORIZATION,
        ResetStep.WRITE_PIN,
        ResetStep.REPORT_RESULT,
        ResetStep.NOTHING,
    ]
    assert flow.new_pin is None
    assert flow.authorization is None
    assert flow.reported


# ---- the rules ----------------------------------------------------------------------------


def test_code_expired_before_redemption_then_new_code_leads_on() -> None:
    flow, clock = reset_flow_in(ResetState.CODE_ENTERED)
    clock.advance(300)
    with pytest.raises(errors.FlowCodeExpiredError):
        flow.send(CodeRedeemed(Operation()))
    assert state_of(flow) is ResetState.EXPIRED
    assert flow.step is ResetStep.ENTER_NEW_CODE_AND_CHOOSE_CARD
    with pytest.raises(errors.IllegalTransitionError):
        flow.send(CardChosen(card()))
    flow.send(CodeEntered(code(clock), SERIAL))  # "Tekrar Kod Al"
    assert state_of(flow) is ResetState.CODE_ENTERED


def test_an_already_expired_code_is_refused_at_entry() -> None:
    clock = ManualClock(T0)
    old = code(clock)
    clock.advance(400)
    flow = PinResetFlow(clock=clock)
    with pytest.raises(errors.FlowCodeExpiredError):
        flow.send(CodeEntered(old, SERIAL))
    assert state_of(flow) is ResetState.EXPIRED


def test_code_expiring_during_pin_entry() -> None:
    flow, clock = reset_flow_in(ResetState.CARD_CHOSEN)
    assert flow.remaining() == timedelta(seconds=300)
    clock.advance(299)
    assert flow.remaining() == timedelta(seconds=1)
    clock.advance(1)
    with pytest.raises(errors.FlowCodeExpiredError):
        flow.send(PinChosen("482915", "482915"))
    assert state_of(flow) is ResetState.EXPIRED
    assert flow.new_pin is None


def test_pin_entry_has_its_own_time_limit() -> None:
    clock = ManualClock(T0)
    flow = PinResetFlow(clock=clock, pin_entry_timeout=timedelta(seconds=60))
    for event_type in HAPPY_PATH[:3]:
        flow.send(RESET_SAMPLES[event_type](clock))
    assert flow.remaining() == timedelta(seconds=60)
    assert flow.poll() is None
    clock.advance(61)
    assert isinstance(flow.poll(), errors.PinEntryTimeoutError)
    assert state_of(flow) is ResetState.EXPIRED
    assert isinstance(flow.error, errors.PinEntryTimeoutError)


def test_portal_pin_entry_deadline_is_respected() -> None:
    clock = ManualClock(T0)
    flow = PinResetFlow(clock=clock)
    flow.send(CodeEntered(code(clock), SERIAL))
    flow.send(CodeRedeemed(Operation(pin_entry_deadline=T0 + timedelta(seconds=30))))
    flow.send(CardChosen(card()))
    assert flow.deadline() == T0 + timedelta(seconds=30)


@pytest.mark.parametrize(
    ("facts", "error"),
    [
        (card(present=False), errors.TokenNotFoundError),
        (card(busy=True), errors.TokenBusyError),
        (card(serial="ffff"), errors.WrongCardError),
        (card(products=frozenset({Product.MALI_MUHUR})), errors.WrongProductError),
        (card(holders=frozenset({OTHER})), errors.WrongHolderError),
        (card(holders=frozenset()), errors.WrongHolderError),
    ],
)
def test_card_rules(facts: CardFacts, error: type[errors.KamusmError]) -> None:
    flow, _ = reset_flow_in(ResetState.CODE_REDEEMED)
    with pytest.raises(error):
        flow.send(CardChosen(facts))
    assert state_of(flow) is ResetState.FAILED
    assert flow.failure_report() == error.__name__
    with pytest.raises(errors.FlowFailedError):
        flow.send(PinChosen("482915", "482915"))


def test_mali_muhur_operation_in_an_nes_flow_fails() -> None:
    flow, _ = reset_flow_in(ResetState.CODE_ENTERED)
    with pytest.raises(errors.WrongProductError):
        flow.send(CodeRedeemed(Operation(product=Product.MALI_MUHUR)))


def test_operation_for_another_card_fails() -> None:
    flow, _ = reset_flow_in(ResetState.CODE_ENTERED)
    with pytest.raises(errors.WrongCardError):
        flow.send(CodeRedeemed(Operation(card_serial="other")))


def test_policy_narrowed_by_card_and_holder_and_retry_allowed() -> None:
    flow, _ = reset_flow_in(ResetState.CARD_CHOSEN)
    with pytest.raises(errors.PinPolicyError) as info:
        flow.send(PinChosen("4829154829", "4829154829"))  # 10 > the card's 8
    assert {v.rule.value for v in info.value.violations} == {"too_long"}
    with pytest.raises(errors.PinPolicyError) as info:
        flow.send(PinChosen("716060", "716060"))  # part of the holder's T.C. Kimlik No
    assert info.value.rules == {"contains_tckn"}
    with pytest.raises(errors.LooksLikeVerificationCodeError):
        flow.send(PinChosen("123456789012345", "123456789012345"))
    assert state_of(flow) is ResetState.CARD_CHOSEN
    flow.send(PinChosen("482915", "482915"))
    assert state_of(flow) is ResetState.PIN_CHOSEN


def test_three_wrong_confirmations_cancel() -> None:
    flow, _ = reset_flow_in(ResetState.CHALLENGE_SENT)
    flow.send(ConfirmationRejected(2))
    flow.send(ConfirmationRejected(1))
    assert flow.confirmation_attempts_left == 1
    with pytest.raises(errors.TooManyAttemptsError) as info:
        flow.send(ConfirmationRejected(0))
    assert info.value.attempts == 3
    assert state_of(flow) is ResetState.CANCELLED
    assert flow.new_pin is None


def test_machine_limit_applies_even_if_portal_allows_more() -> None:
    clock = ManualClock(T0)
    flow = PinResetFlow(clock=clock, max_confirmation_attempts=2)
    for event_type in HAPPY_PATH[:5]:
        flow.send(RESET_SAMPLES[event_type](clock))
    flow.send(ConfirmationRejected(5))
    with pytest.raises(errors.TooManyAttemptsError):
        flow.send(ConfirmationRejected(4))


def test_portal_cancelling_the_operation_cancels_the_flow() -> None:
    flow, _ = reset_flow_in(ResetState.CHALLENGE_SENT)
    with pytest.raises(errors.TooManyAttemptsError):
        flow.send(ErrorOccurred(errors.OperationCancelledError()))
    assert state_of(flow) is ResetState.CANCELLED


def test_mistyped_code_goes_back_to_code_entry() -> None:
    flow, _ = reset_flow_in(ResetState.CODE_ENTERED)
    with pytest.raises(errors.VerificationCodeInvalidError):
        flow.send(ErrorOccurred(errors.VerificationCodeInvalidError()))
    assert state_of(flow) is ResetState.AWAITING_CODE


def test_portal_saying_expired_expires_the_flow() -> None:
    flow, _ = reset_flow_in(ResetState.PIN_CHOSEN)
    with pytest.raises(errors.FlowCodeExpiredError):
        flow.send(ErrorOccurred(errors.VerificationCodeExpiredError()))
    assert state_of(flow) is ResetState.EXPIRED


def test_authorization_for_another_card_or_spent_is_refused() -> None:
    flow, _ = reset_flow_in(ResetState.CONFIRMED)
    with pytest.raises(errors.AuthorizationCardMismatchError):
        flow.send(AuthorizationReceived(auth("another")))
    flow, _ = reset_flow_in(ResetState.CONFIRMED)
    spent = auth()
    spent.spend(card_serial=SERIAL, now=T0)
    with pytest.raises(errors.AuthorizationSpentError):
        flow.send(AuthorizationReceived(spent))


def test_report_failure_after_write_still_ends_done_unreported() -> None:
    flow, _ = reset_flow_in(ResetState.PIN_WRITTEN)
    flow.send(ErrorOccurred(errors.PortalTimeoutError()))
    assert state_of(flow) is ResetState.DONE
    assert not flow.reported


def test_cancel_is_refused_once_the_pin_is_written() -> None:
    flow, _ = reset_flow_in(ResetState.PIN_WRITTEN)
    with pytest.raises(errors.IllegalTransitionError):
        flow.send(FlowCancelled())


def test_failure_report_only_after_redemption() -> None:
    flow, _ = reset_flow_in(ResetState.CODE_ENTERED)
    with pytest.raises(errors.FlowCancelledError):
        flow.send(FlowCancelled())
    assert flow.failure_report() is None
    flow, _ = reset_flow_in(ResetState.PIN_CHOSEN)
    with pytest.raises(errors.FlowCancelledError):
        flow.send(FlowCancelled())
    assert flow.failure_report() == "FlowCancelledError"


def test_no_event_carries_a_puk() -> None:
    """There is no path on which anyone types a PUK: no event has such a field."""
    for event_type in [*RESET_SAMPLES, StatusRead, PinsEntered, FinalTryAcknowledged]:
        names = {a.name.lower() for a in attrs.fields(event_type)}
        assert not names & {"puk", "so_pin", "so", "credential"}


def test_event_reprs_hide_pins() -> None:
    assert "482915" not in repr(PinChosen("482915", "482915"))
    assert "482915" not in repr(PinsEntered("111222", "482915", "482915"))
    flow, _ = reset_flow_in(ResetState.PIN_CHOSEN)
    assert "482915" not in repr(flow) + repr(vars(flow))


# ---- PIN change ---------------------------------------------------------------------------

CHANGE_SAMPLES: dict[type[Event], Callable[[], Event]] = {
    StatusRead: lambda: StatusRead(PinStatus(), 4, 8),
    FinalTryAcknowledged: FinalTryAcknowledged,
    PinsEntered: lambda: PinsEntered("111222", "482915", "482915"),
    PinChanged: PinChanged,
    NewPinVerified: NewPinVerified,
    ErrorOccurred: lambda: ErrorOccurred(errors.TokenRemovedError()),
    FlowCancelled: FlowCancelled,
}
CHANGE_PATH = [StatusRead, PinsEntered, PinChanged, NewPinVerified]
CHANGE_HAPPY = [
    ChangeState.START,
    ChangeState.READY,
    ChangeState.PINS_CHOSEN,
    ChangeState.CHANGED,
    ChangeState.DONE,
]


def change_flow_in(state: ChangeState) -> PinChangeFlow:
    flow = PinChangeFlow()
    if state in CHANGE_HAPPY:
        for event_type in CHANGE_PATH[: CHANGE_HAPPY.index(state)]:
            flow.send(CHANGE_SAMPLES[event_type]())
    elif state is ChangeState.NEEDS_ACKNOWLEDGEMENT:
        flow.send(StatusRead(PinStatus(count_low=True, final_try=True)))
    elif state is ChangeState.CANCELLED:
        with pytest.raises(errors.FlowCancelledError):
            flow.send(FlowCancelled())
    elif state is ChangeState.FAILED:
        with pytest.raises(errors.PinLockedUseResetError):
            flow.send(StatusRead(PinStatus(locked=True)))
    assert state_of(flow) is state
    return flow


_C = ChangeState
#: The change's moves, written here, not read from ``CHANGE_TRANSITIONS``: the state is read
#: first (a final try needs an acknowledgement), the PINs typed, C_SetPIN, a login with the new
#: PIN; cancelling is possible until the PIN is changed. An error at C_SetPIN fails the change
#: (a removed card), except where the exits below send it back.
EXPECTED_CHANGE: dict[ChangeState, dict[type[Event], ChangeState]] = {
    _C.START: {StatusRead: _C.READY, FlowCancelled: _C.CANCELLED, ErrorOccurred: _C.FAILED},
    _C.NEEDS_ACKNOWLEDGEMENT: {FinalTryAcknowledged: _C.READY, FlowCancelled: _C.CANCELLED},
    _C.READY: {PinsEntered: _C.PINS_CHOSEN, FlowCancelled: _C.CANCELLED},
    _C.PINS_CHOSEN: {
        PinChanged: _C.CHANGED,
        ErrorOccurred: _C.FAILED,
        FlowCancelled: _C.CANCELLED,
    },
    _C.CHANGED: {NewPinVerified: _C.DONE, ErrorOccurred: _C.FAILED},
}


def test_the_change_table_is_the_expected_one() -> None:
    actual = {state: dict(moves) for state, moves in CHANGE_TRANSITIONS.items() if moves}
    assert actual == EXPECTED_CHANGE


def test_a_wrong_old_pin_asks_again_and_a_locked_one_ends_the_change() -> None:
    """The exits of an error at C_SetPIN: a wrong old PIN back to PIN entry, or to the
    acknowledgement when it left the final try; a PIN that locked ends the change."""
    from kamusm.flows import CHANGE_MOVES, FlowExit

    exits = dict(CHANGE_MOVES[_C.PINS_CHOSEN][ErrorOccurred].exits)
    assert exits == {
        FlowExit.WRONG_OLD_PIN: _C.READY,
        FlowExit.FINAL_TRY: _C.NEEDS_ACKNOWLEDGEMENT,
        FlowExit.LOCKED: _C.FAILED,
    }


@pytest.mark.parametrize(
    ("state", "event_type"),
    [(s, e) for s in ChangeState for e in CHANGE_SAMPLES],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_change_transition_table_is_enforced(state: ChangeState, event_type: type[Event]) -> None:
    flow = change_flow_in(state)
    target = EXPECTED_CHANGE.get(state, {}).get(event_type)
    event = CHANGE_SAMPLES[event_type]()
    if state is ChangeState.FAILED:
        with pytest.raises(errors.FlowFailedError):
            flow.send(event)
    elif target is None:
        with pytest.raises(errors.IllegalTransitionError):
            flow.send(event)
        assert state_of(flow) is state
    elif event_type is ErrorOccurred:
        with pytest.raises(errors.KamusmError):
            flow.send(event)
        assert state_of(flow) is ChangeState.FAILED  # a removed card ends the change
    elif event_type is FlowCancelled:
        with pytest.raises(errors.FlowCancelledError):
            flow.send(event)
        assert state_of(flow) is target
    else:
        flow.send(event)
        assert state_of(flow) is target


def test_change_locked_routes_to_reset() -> None:
    flow = PinChangeFlow()
    with pytest.raises(errors.PinLockedUseResetError) as info:
        flow.send(StatusRead(PinStatus(locked=True)))
    assert "PIN Oluşturma/Kilit Çözme" in info.value.message("tr")


def test_change_final_try_needs_acknowledgement() -> None:
    flow = change_flow_in(ChangeState.NEEDS_ACKNOWLEDGEMENT)
    before = (flow.step, flow.final_try_acknowledged)
    with pytest.raises(errors.IllegalTransitionError):
        flow.send(PinsEntered("111222", "482915", "482915"))
    flow.send(FinalTryAcknowledged())
    after = (flow.step, flow.final_try_acknowledged)
    assert before == (ChangeStep.ACKNOWLEDGE_FINAL_TRY, False)
    assert after == (ChangeStep.ENTER_PINS, True)


def test_change_wrong_old_pin_goes_back_with_the_new_status() -> None:
    flow = change_flow_in(ChangeState.PINS_CHOSEN)
    with pytest.raises(errors.PinIncorrectError):
        flow.send(ErrorOccurred(errors.PinIncorrectError(status=PinStatus(count_low=True))))
    assert state_of(flow) is ChangeState.READY
    assert flow.pins is None
    flow.send(PinsEntered("111223", "482915", "482915"))
    with pytest.raises(errors.PinIncorrectError):
        flow.send(
            ErrorOccurred(
                errors.PinIncorrectError(status=PinStatus(count_low=True, final_try=True))
            )
        )
    assert state_of(flow) is ChangeState.NEEDS_ACKNOWLEDGEMENT
    flow.send(FinalTryAcknowledged())
    flow.send(PinsEntered("111224", "482915", "482915"))
    with pytest.raises(errors.PinIncorrectError) as info:
        flow.send(ErrorOccurred(errors.PinIncorrectError(status=PinStatus(locked=True))))
    assert state_of(flow) is ChangeState.FAILED
    assert info.value.message("tr").startswith("Hatalı PIN. PIN kilitlendi.")


def test_change_policy_uses_card_limits_and_reuse_switch() -> None:
    flow = change_flow_in(ChangeState.READY)
    with pytest.raises(errors.PinPolicyError):
        flow.send(PinsEntered("111222", "4829154829", "4829154829"))
    with pytest.raises(errors.InvalidPinFormatError):
        flow.send(PinsEntered("old-pin", "482915", "482915"))
    assert state_of(flow) is ChangeState.READY
    strict = PinChangeFlow(policy=attrs.evolve(flow.policy, allow_reuse=False))
    strict.send(StatusRead(PinStatus()))
    with pytest.raises(errors.PinPolicyError) as info:
        strict.send(PinsEntered("482915", "482915", "482915"))
    assert info.value.rules == {"same_as_old"}


def test_change_verification_failure_fails() -> None:
    flow = change_flow_in(ChangeState.CHANGED)
    with pytest.raises(errors.PinVerificationFailedError):
        flow.send(ErrorOccurred(errors.PinIncorrectError()))
    assert state_of(flow) is ChangeState.FAILED


def test_mali_muhur_card_without_a_person_number_relies_on_the_portal() -> None:
    """A Mali Mühür card names a company (VKN): the portal's redemption binds it to the holder;
    a card that does name another person is still refused."""
    clock = ManualClock(T0)
    flow = PinResetFlow(Product.MALI_MUHUR, clock=clock)
    flow.send(CodeEntered(code(clock), SERIAL))
    flow.send(CodeRedeemed(Operation(product=Product.MALI_MUHUR)))
    flow.send(CardChosen(card(products=frozenset({Product.MALI_MUHUR}), holders=frozenset())))
    assert state_of(flow) is ResetState.CARD_CHOSEN
    other = PinResetFlow(Product.MALI_MUHUR, clock=clock)
    other.send(CodeEntered(code(clock), SERIAL))
    other.send(CodeRedeemed(Operation(product=Product.MALI_MUHUR)))
    with pytest.raises(errors.WrongHolderError):
        other.send(
            CardChosen(card(products=frozenset({Product.MALI_MUHUR}), holders=frozenset({OTHER})))
        )


# ---- guards that mutation testing found unguarded --------------------------------------------


@pytest.mark.parametrize("other", ["a1b2c3d4e5f60700", "a1b2c3d4e5f60799", "A1B2C3D4E5F60718"])
def test_an_authorization_for_another_card_is_refused_whichever_way_its_serial_sorts(
    other: str,
) -> None:
    flow, _ = reset_flow_in(ResetState.CONFIRMED)
    with pytest.raises(errors.AuthorizationCardMismatchError):
        flow.send(AuthorizationReceived(auth(other)))
    assert state_of(flow) is ResetState.FAILED


def test_an_authorization_for_this_card_is_taken_by_value_not_identity() -> None:
    """The serial comes from the portal's JSON, the flow's from the card: equal text in two
    distinct string objects is the same card."""
    flow, _ = reset_flow_in(ResetState.CONFIRMED)
    same = "".join(list(SERIAL))
    assert same == SERIAL and same is not SERIAL
    flow.send(AuthorizationReceived(auth(same)))
    assert state_of(flow) is ResetState.UNBLOCK_AUTHORIZED


def test_the_portal_saying_no_attempt_is_left_ends_the_confirmation_at_once() -> None:
    """On the first wrong answer, the portal's count (none left) ends it, although the flow's
    own count still allows more. (A negative count is refused when the event is made.)"""
    flow, _ = reset_flow_in(ResetState.CHALLENGE_SENT)
    with pytest.raises(ValueError, match="attempts_remaining"):
        ConfirmationRejected(-1)
    with pytest.raises(errors.TooManyAttemptsError):
        flow.send(ConfirmationRejected(0))
    assert state_of(flow) is ResetState.CANCELLED


@pytest.mark.parametrize(("after", "over"), [(-1, False), (0, True), (1, True)])
def test_the_pin_entry_time_runs_out_at_its_deadline(after: int, over: bool) -> None:
    """A microsecond before the PIN-entry deadline the PIN is taken; at it, and after, the
    time has run out."""
    clock = ManualClock(T0)
    flow = PinResetFlow(clock=clock)
    flow.send(CodeEntered(code(clock), SERIAL))
    flow.send(CodeRedeemed(Operation(pin_entry_deadline=T0 + timedelta(seconds=30))))
    flow.send(CardChosen(card()))
    clock.advance(timedelta(seconds=30) + timedelta(microseconds=after))
    if over:
        with pytest.raises(errors.PinEntryTimeoutError):
            flow.send(PinChosen("482915", "482915"))
    else:
        flow.send(PinChosen("482915", "482915"))
        assert state_of(flow) is ResetState.PIN_CHOSEN


def test_a_locked_card_at_c_setpin_routes_to_the_reset_and_other_errors_stay_themselves() -> None:
    flow = change_flow_in(ChangeState.PINS_CHOSEN)
    with pytest.raises(errors.PinLockedUseResetError):
        flow.send(ErrorOccurred(errors.PinLockedError()))
    assert state_of(flow) is ChangeState.FAILED
    other = change_flow_in(ChangeState.PINS_CHOSEN)
    with pytest.raises(errors.TokenRemovedError):
        other.send(ErrorOccurred(errors.TokenRemovedError()))
    assert state_of(other) is ChangeState.FAILED


# ---- an expired SMS code: a new one is offered, within the portal's limit -------------------


def flow_with_challenge(
    clock: ManualClock, challenges_remaining: int | None, method: str = "sms"
) -> PinResetFlow:
    """A reset whose SMS code (or web password question) has just been sent, 180 s to live."""
    flow = PinResetFlow(Product.NES, clock=clock)
    for event_type in HAPPY_PATH[: HAPPY_STATES.index(ResetState.PIN_CHOSEN)]:
        flow.send(RESET_SAMPLES[event_type](clock))
    sms_ends = clock.now() + timedelta(seconds=180)
    flow.send(ChallengeSent(sms_ends, 3, challenges_remaining, method=method))
    return flow


@pytest.mark.parametrize("left", [2, 0])
def test_a_timed_out_web_password_is_told_as_one(left: int) -> None:
    """The portal answers "sms_expired" for either challenge: with the web password, the
    holder reads of the web password ("WEB Parola"), never of an SMS, in both languages:
    the expiry, the limit and the declined new asking."""
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, left, method="web_password")
    clock.advance(181)
    with pytest.raises((errors.SmsCodeExpiredError, errors.SmsLimitReachedError)) as told:
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    shown = [told.value.message(lang) for lang in ("tr", "en")]
    if left:
        with pytest.raises(errors.NewSmsDeclinedError) as declined:
            flow.send(NewSmsDeclined())
        shown += [declined.value.message(lang) for lang in ("tr", "en")]
    assert all("SMS" not in s for s in shown), shown
    assert "WEB Parola" in shown[0] and "web password" in shown[1]


def test_challenge_sent_takes_only_the_two_methods() -> None:
    with pytest.raises(errors.InputError):
        ChallengeSent(None, 3, 2, method="carrier pigeon")


def test_an_expired_sms_code_is_offered_again_not_sent() -> None:
    """The SMS code ran out, the verification code did not: the machine asks the holder
    (``OFFER_NEW_SMS``, with the new SMS codes the portal still allows) and asks the portal
    for a new challenge only after a yes."""
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, 2)
    clock.advance(181)
    with pytest.raises(errors.SmsCodeExpiredError):
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    assert state_of(flow) is ResetState.SMS_EXPIRED
    assert step_of(flow) is ResetStep.OFFER_NEW_SMS
    assert flow.challenges_left == 2
    assert flow.remaining() == timedelta(seconds=300 - 181)  # the verification code's time
    assert flow.new_pin == Pin("482915")  # kept for the new challenge
    flow.send(NewSmsRequested())
    assert step_of(flow) is ResetStep.REQUEST_CHALLENGE
    flow.send(ChallengeSent(clock.now() + timedelta(seconds=180), 3, 1))
    assert step_of(flow) is ResetStep.ENTER_CONFIRMATION


def test_declining_a_new_sms_ends_the_reset_cleanly() -> None:
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, 2)
    with pytest.raises(errors.SmsCodeExpiredError):
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    with pytest.raises(errors.NewSmsDeclinedError) as declined:
        flow.send(NewSmsDeclined())
    assert isinstance(declined.value, errors.FlowCancelledError)
    assert state_of(flow) is ResetState.CANCELLED
    assert flow.new_pin is None  # secrets dropped
    assert flow.failure_report() == "NewSmsDeclinedError"  # the portal is told
    assert "Yeni SMS onay kodu istenmedi" in declined.value.message("tr")


def test_no_new_sms_is_offered_when_the_portal_allows_none() -> None:
    """The portal said no new challenge is left: no offer, the holder is told why, and the
    next step asks for a new verification code ("Tekrar Kod Al")."""
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, 0)
    with pytest.raises(errors.SmsLimitReachedError) as told:
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    assert state_of(flow) is ResetState.EXPIRED
    assert flow.step is ResetStep.ENTER_NEW_CODE_AND_CHOOSE_CARD
    assert "Tekrar Kod Al" in told.value.message("tr")
    with pytest.raises(errors.IllegalTransitionError):
        flow.send(NewSmsRequested())


def test_a_portal_that_does_not_say_its_limit_still_gets_the_offer() -> None:
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, None)
    with pytest.raises(errors.SmsCodeExpiredError):
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    assert flow.step is ResetStep.OFFER_NEW_SMS
    assert flow.challenges_left is None


def test_the_verification_code_running_out_during_the_offer_ends_it() -> None:
    """A yes after the verification code's 300 s is too late: the code has expired."""
    clock = ManualClock(T0)
    flow = flow_with_challenge(clock, 2)
    clock.advance(200)
    with pytest.raises(errors.SmsCodeExpiredError):
        flow.send(ErrorOccurred(errors.SmsCodeExpiredError(status=410)))
    clock.advance(101)
    with pytest.raises(errors.FlowCodeExpiredError):
        flow.send(NewSmsRequested())
    assert state_of(flow) is ResetState.EXPIRED


# ---- the card's own certificates, matched to what the portal says ----------------------------


def cert_on_card(serial: str, *, start_days: int = -30, days: int = 365) -> CardCertificate:
    start = T0 + timedelta(days=start_days)
    return CardCertificate(serial, Product.NES, start, start + timedelta(days=days))


@attrs.frozen
class Listed:
    """A certificate as the portal lists it for an operation."""

    serial_number: str
    status: str


def flow_with_card(
    certificates: tuple[CardCertificate, ...], listed: tuple[Listed, ...] = (), **op: object
) -> tuple[PinResetFlow, ManualClock]:
    clock = ManualClock(T0)
    flow = PinResetFlow(Product.NES, clock=clock)
    flow.send(CodeEntered(code(clock), SERIAL))

    @attrs.frozen
    class WithCertificates(Operation):
        certificates: tuple[Listed, ...] = ()
        certificate_status: str | None = None

    flow.send(CodeRedeemed(WithCertificates(certificates=listed, **op)))  # type: ignore[arg-type]
    flow.send(CardChosen(card(certificates=certificates)))
    return flow, clock


def test_a_card_whose_certificates_begin_later_is_told_so_and_goes_on() -> None:
    flow, _ = flow_with_card((cert_on_card("0A", start_days=2),))
    assert state_of(flow) is ResetState.CARD_CHOSEN
    (notice,) = flow.take_notices()
    assert isinstance(notice, errors.CertificateNotYetValidError)
    assert notice.valid_from == (T0 + timedelta(days=2)).date()
    assert "06.05.2026 tarihinden itibaren" in notice.message("tr")


def test_an_expired_certificate_beside_a_valid_one_is_no_refusal() -> None:
    flow, _ = flow_with_card((cert_on_card("0A", start_days=-400), cert_on_card("0B")))
    assert state_of(flow) is ResetState.CARD_CHOSEN
    assert flow.take_notices() == []


def test_the_portal_status_of_the_cards_own_certificate_decides_not_the_aggregate() -> None:
    """The portal calls the card's certificates "active" because it also lists one that is
    not on the card; the one on it is revoked: no PIN, and the other one is named."""
    listed = (Listed("0A", "revoked"), Listed("0FF", "active"))
    with pytest.raises(errors.CertificateRevokedError):
        flow_with_card((cert_on_card("0A"),), listed, certificate_status="active")


def test_what_does_not_match_is_told_as_it_is() -> None:
    """A status for a certificate not on the card, and a certificate the portal does not
    list, are each told (serials compared as hexadecimal, leading zeros and case aside)."""
    listed = (Listed("000a", "active"), Listed("0C", "revoked"))
    flow, _ = flow_with_card((cert_on_card("0A"), cert_on_card("0B")), listed)
    assert state_of(flow) is ResetState.CARD_CHOSEN
    elsewhere, unlisted = flow.take_notices()
    assert isinstance(elsewhere, errors.CertificateNotOnCardError)
    assert elsewhere.serials == ("C",)
    assert isinstance(unlisted, errors.CertificateNotListedError)
    assert unlisted.serials == ("B",)
    assert "seri no: B" in unlisted.message("tr")


def test_a_suspended_certificate_on_the_card_is_told_when_the_portal_did_not_say() -> None:
    flow, _ = flow_with_card(
        (cert_on_card("0A"),), (Listed("0A", "suspended"),), certificate_status="active"
    )
    (notice,) = flow.take_notices()
    assert isinstance(notice, errors.CertificateSuspendedError)


def test_a_revoked_certificate_the_card_does_not_hold_stops_nothing() -> None:
    """The reviewer's case: the card holds A, the portal lists only B, revoked, so its
    summary says "revoked". Matched by serial number nothing on the card is revoked: both
    differences are told, and the reset goes on."""
    flow, _ = flow_with_card(
        (cert_on_card("0A"),), (Listed("0B", "revoked"),), certificate_status="revoked"
    )
    assert state_of(flow) is ResetState.CARD_CHOSEN
    elsewhere, unlisted = flow.take_notices()
    assert isinstance(elsewhere, errors.CertificateNotOnCardError)
    assert elsewhere.serials == ("B",)
    assert isinstance(unlisted, errors.CertificateNotListedError)
    assert unlisted.serials == ("A",)


def test_an_expired_summary_does_not_stop_a_card_whose_own_certificate_is_active() -> None:
    flow, _ = flow_with_card(
        (cert_on_card("0A"),),
        (Listed("0A", "active"), Listed("0B", "expired")),
        certificate_status="expired",
    )
    assert state_of(flow) is ResetState.CARD_CHOSEN
    (elsewhere,) = flow.take_notices()
    assert isinstance(elsewhere, errors.CertificateNotOnCardError)


def test_with_nothing_to_match_the_summary_decides_and_names_the_cards_day() -> None:
    """The portal lists no certificate, only its summary: "expired" refuses, told with the
    day the card's certificates end (DD.MM.YYYY), not "-"."""
    ends = T0 + timedelta(days=3)
    with pytest.raises(errors.CertificateExpiredError) as told:
        flow_with_card((), certificate_status="expired")
    assert told.value.expired_on is None
    clock = ManualClock(T0)
    flow = PinResetFlow(Product.NES, clock=clock)
    flow.send(CodeEntered(code(clock), SERIAL))

    @attrs.frozen
    class Summary(Operation):
        certificate_status: str | None = "expired"

    flow.send(CodeRedeemed(Summary()))
    assert state_of(flow) is ResetState.CODE_REDEEMED  # nothing refused before the card
    with pytest.raises(errors.CertificateExpiredError) as dated:
        flow.send(CardChosen(card(valid_until={Product.NES: ends})))
    assert dated.value.expired_on == ends.date()
    assert "07.05.2026 tarihinde doldu" in dated.value.message("tr")
    assert "on 2026-05-07" in dated.value.message("en")
    assert " - " not in told.value.message("tr") + told.value.message("en")


def test_the_portals_expired_listing_for_the_cards_certificate_names_its_day() -> None:
    listed = (ListedUntil("0A", "expired", T0 - timedelta(days=1)),)
    with pytest.raises(errors.CertificateExpiredError) as told:
        flow_with_card((cert_on_card("0A"),), listed, certificate_status="expired")  # type: ignore[arg-type]
    assert told.value.expired_on == (T0 - timedelta(days=1)).date()
    assert "03.05.2026 tarihinde doldu" in told.value.message("tr")


@attrs.frozen
class ListedUntil:
    serial_number: str
    status: str
    not_after: datetime


def test_undated_certificate_texts_name_no_day() -> None:
    for err in (
        errors.CertificateExpiredError(product=Product.NES),
        errors.CertificateNotYetValidError(product=Product.NES),
    ):
        for lang in ("tr", "en"):
            shown = err.message(lang)
            assert "-" not in shown.replace("e-imza", "").replace("e-signature", ""), shown


def test_a_mali_muhur_card_that_can_no_longer_sign_is_not_sent_to_the_nes_menus() -> None:
    """The guides name the NES routes only: a Mali Mühür card's advice names no NES page
    and tells a route that is true (Kamu SM's call centre)."""
    for err in (
        errors.CertificateExpiredError(product=Product.MALI_MUHUR, expired_on=T0.date()),
        errors.CertificateRevokedError(product=Product.MALI_MUHUR),
    ):
        for lang in ("tr", "en"):
            shown = err.message(lang)
            assert "Nitelikli Elektronik Sertifika" not in shown, shown
            assert "Başvuru İşlemleri" not in shown and "NES" not in shown, shown
            assert "444 5 576" in shown
    nes = errors.CertificateExpiredError(product=Product.NES, expired_on=T0.date())
    assert "Şifreli Giriş" in nes.message("tr")
    assert "Başvuru İşlemleri" in errors.CertificateRevokedError(product=Product.NES).message("tr")
