"""The PIN reset and PIN change procedures as state machines, and the drivers that run them.

Everything that affects a transition lives in this module's first half, which does no I/O:
:class:`PinResetFlow` and :class:`PinChangeFlow` take events (small frozen classes) and say
what has to happen next. Their transitions are data (:data:`RESET_TRANSITIONS`,
:data:`CHANGE_TRANSITIONS`); an event the current state does not allow raises
:class:`~kamusm.errors.IllegalTransitionError` naming both; after a failure a flow refuses to go
on. The state diagrams in the documentation are drawn from those tables by
``scripts/flow_diagrams.py``.

The second half holds the drivers, :func:`reset_pin`, :func:`change_pin` and their async
forms: thin loops that perform what a machine asks through :mod:`kamusm.token` and
:mod:`kamusm.portal`, ask a person through a :class:`ResetPrompts` / :class:`ChangePrompts`
object, and feed the results back. They hold no rule of their own.

The rules come from the Kamu SM guides: the verification code is valid for a short time and only
a new one ("Tekrar Kod Al") leads on once it has expired; the PIN-entry screen has its own time
limit; the card must be present, free, carry a certificate of the product, belong to the code's
holder and be the card the code was redeemed for; the new PIN must pass the policy narrowed by
the card's limits; the SMS confirmation allows a few attempts; and the unblock authorization is
spent exactly once on that card. Nobody ever types a PUK: there is no event that carries one.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import ClassVar, Protocol

import attrs

from kamusm.errors import (
    AuthorizationCardMismatchError,
    AuthorizationSpentError,
    FinalTryNotAcknowledgedError,
    FlowCancelledError,
    FlowCodeExpiredError,
    FlowFailedError,
    IllegalTransitionError,
    KamusmError,
    OperationCancelledError,
    PinEntryTimeoutError,
    PinIncorrectError,
    PinLockedError,
    PinLockedUseResetError,
    PinVerificationFailedError,
    SmsCodeExpiredError,
    TokenBusyError,
    TokenNotFoundError,
    TooManyAttemptsError,
    VerificationCodeExpiredError,
    VerificationCodeInvalidError,
    WrongCardError,
    WrongHolderError,
    WrongProductError,
)
from kamusm.policy import PinPolicy
from kamusm.values import (
    Clock,
    Pin,
    PinStatus,
    Product,
    SystemClock,
    Tckn,
    UnblockAuthorization,
    VerificationCode,
)

__all__ = [
    "CHANGE_TRANSITIONS",
    "RESET_TRANSITIONS",
    "AuthorizationReceived",
    "CardChosen",
    "CardFacts",
    "ChallengeSent",
    "ChangeState",
    "ChangeStep",
    "CodeEntered",
    "CodeRedeemed",
    "ConfirmationRejected",
    "Confirmed",
    "ErrorOccurred",
    "FinalTryAcknowledged",
    "FlowCancelled",
    "NewPinVerified",
    "OperationFacts",
    "PinChangeFlow",
    "PinChanged",
    "PinChosen",
    "PinResetFlow",
    "PinWritten",
    "PinsEntered",
    "ResetState",
    "ResetStep",
    "ResultReported",
    "StatusRead",
]

logger = logging.getLogger(__name__)

#: How long the PIN-entry screen waits when the portal does not say (an assumption: the guides
#: show a countdown but not its start).
DEFAULT_PIN_ENTRY_TIMEOUT = timedelta(seconds=300)
#: Wrong SMS answers before the operation is cancelled.
DEFAULT_MAX_CONFIRMATION_ATTEMPTS = 3


# ==== facts the machines reason about ==========================================================


class OperationFacts(Protocol):
    """What the portal says about a redeemed verification code (``kamusm.portal.Operation``
    satisfies this)."""

    @property
    def holder(self) -> Tckn: ...

    @property
    def product(self) -> Product: ...

    @property
    def card_serial(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...

    @property
    def pin_entry_deadline(self) -> datetime | None: ...


@attrs.frozen
class CardFacts:
    """What the driver read from the chosen card, for the machine to judge.

    ``holders`` are the T.C. Kimlik numbers found in the card's certificates and ``products``
    the products those certificates belong to.
    """

    serial: str
    present: bool = True
    busy: bool = False
    products: frozenset[Product] = frozenset()
    holders: frozenset[Tckn] = frozenset()
    min_pin_length: int | None = None
    max_pin_length: int | None = None
    pin_status: PinStatus = attrs.field(factory=PinStatus)


# ==== events ===================================================================================


class Event:
    """Base of the events; each is a small frozen class validated when it is made."""

    __slots__ = ()

    @classmethod
    def name(cls) -> str:
        return cls.__name__


@attrs.frozen
class CodeEntered(Event):
    """The holder typed the verification code, for the card it should unblock."""

    code: VerificationCode
    card_serial: str = attrs.field(validator=attrs.validators.min_len(1))


@attrs.frozen
class CodeRedeemed(Event):
    """The portal accepted the code and bound it to the card: an operation."""

    operation: OperationFacts


@attrs.frozen
class CardChosen(Event):
    """The card the holder chose ("Kart Seçiniz"), as read from the token."""

    card: CardFacts


@attrs.frozen(repr=False)
class PinChosen(Event):
    """The new PIN, typed twice ("Yeni PIN Kodu", "Yeni PIN Kodu (Tekrar)")."""

    new: str | Pin
    confirmation: str | Pin
    birth_date: date | None = None

    def __repr__(self) -> str:
        return "PinChosen(<hidden>)"


@attrs.frozen
class ChallengeSent(Event):
    """The portal sent the confirmation challenge (SMS code or web password)."""

    expires_at: datetime | None = None
    attempts_remaining: int | None = None


@attrs.frozen
class ConfirmationRejected(Event):
    """The portal refused the SMS code / web password."""

    attempts_remaining: int = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class Confirmed(Event):
    """The portal accepted the confirmation."""


@attrs.frozen
class AuthorizationReceived(Event):
    """The single-use unblock authorization arrived."""

    authorization: UnblockAuthorization


@attrs.frozen
class PinWritten(Event):
    """The token layer spent the authorization: SO login + C_InitPIN succeeded."""


@attrs.frozen
class ResultReported(Event):
    """The portal acknowledged the result."""


@attrs.frozen
class ErrorOccurred(Event):
    """A step failed with ``error``; the machine decides what that means."""

    error: KamusmError


@attrs.frozen
class FlowCancelled(Event):
    """The person cancelled."""


# -- change-flow events --


@attrs.frozen
class StatusRead(Event):
    """The token's PIN status, read before anything else (costs no try)."""

    status: PinStatus
    min_pin_length: int | None = None
    max_pin_length: int | None = None


@attrs.frozen
class FinalTryAcknowledged(Event):
    """The holder explicitly accepted that a wrong old PIN now locks the card."""


@attrs.frozen(repr=False)
class PinsEntered(Event):
    """The old PIN and the new one typed twice."""

    old: str | Pin
    new: str | Pin
    confirmation: str | Pin
    tckn: Tckn | None = None
    birth_date: date | None = None

    def __repr__(self) -> str:
        return "PinsEntered(<hidden>)"


@attrs.frozen
class PinChanged(Event):
    """C_SetPIN succeeded."""


@attrs.frozen
class NewPinVerified(Event):
    """A login with the new PIN succeeded."""


# ==== the machinery shared by both flows =========================================================


class _State(enum.Enum):
    """States know whether they end the flow."""

    @property
    def terminal(self) -> bool:
        return self.name in {"DONE", "FAILED", "CANCELLED"}


Transitions = Mapping[_State, Mapping[type[Event], _State]]


class _Machine:
    """A table-driven machine: ``send`` looks the event up in the table, runs the event's
    handler (which enforces the rules and may divert to a failure state), and moves on."""

    _table: ClassVar[Transitions]
    _failed: ClassVar[_State]
    _cancelled: ClassVar[_State]

    def __init__(self, initial: _State, clock: Clock | None) -> None:
        self._state = initial
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._error: KamusmError | None = None

    @property
    def state(self) -> _State:
        return self._state

    @property
    def error(self) -> KamusmError | None:
        """The error that ended the flow, if one did."""
        return self._error

    def allowed_events(self) -> frozenset[type[Event]]:
        """The events the current state accepts."""
        return frozenset(self._table.get(self._state, {}))

    def _now(self) -> datetime:
        return self._clock.now()

    def send(self, event: Event) -> None:
        """Feed one event. Raises when the event is not allowed now or breaks a rule."""
        if self._state is self._failed:
            raise FlowFailedError()
        target = self._table.get(self._state, {}).get(type(event))
        if target is None:
            raise IllegalTransitionError(state=self._state.name, event=type(event).name())
        self._before(event)
        handler = getattr(self, f"_on_{type(event).__name__}")
        new_state = handler(event, target)
        logger.debug(
            "%s: %s --%s--> %s",
            type(self).__name__,
            self._state.name,
            type(event).name(),
            new_state.name,
        )
        self._state = new_state

    def _before(self, event: Event) -> None:
        """Checks run before every event (time limits)."""

    def _end(self, state: _State, error: KamusmError) -> KamusmError:
        """Move to a final ``state`` because of ``error`` and return the error to raise."""
        logger.info("%s ends in %s: %s", type(self).__name__, state.name, type(error).__name__)
        self._state = state
        self._error = error
        self._forget_secrets()
        return error

    def _forget_secrets(self) -> None:
        """Drop every secret the machine holds."""

    def _on_FlowCancelled(self, event: FlowCancelled, target: _State) -> _State:
        raise self._end(self._cancelled, FlowCancelledError())


# ==== PIN reset =================================================================================


class ResetState(_State):
    """Where a PIN reset stands."""

    AWAITING_CODE = "awaiting_code"
    CODE_ENTERED = "code_entered"
    CODE_REDEEMED = "code_redeemed"
    CARD_CHOSEN = "card_chosen"
    PIN_CHOSEN = "pin_chosen"
    CHALLENGE_SENT = "challenge_sent"
    CONFIRMED = "confirmed"
    UNBLOCK_AUTHORIZED = "unblock_authorized"
    PIN_WRITTEN = "pin_written"
    DONE = "done"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ResetStep(enum.Enum):
    """What the driver has to do next in a reset."""

    ENTER_CODE = "enter_code"
    REDEEM_CODE = "redeem_code"
    CHOOSE_CARD = "choose_card"
    ENTER_NEW_PIN = "enter_new_pin"
    REQUEST_CHALLENGE = "request_challenge"
    ENTER_CONFIRMATION = "enter_confirmation"
    RECEIVE_AUTHORIZATION = "receive_authorization"
    WRITE_PIN = "write_pin"
    REPORT_RESULT = "report_result"
    ENTER_NEW_CODE = "enter_new_code"
    NOTHING = "nothing"


_R = ResetState
_CANCELLABLE_RESET = (
    _R.AWAITING_CODE,
    _R.CODE_ENTERED,
    _R.CODE_REDEEMED,
    _R.CARD_CHOSEN,
    _R.PIN_CHOSEN,
    _R.CHALLENGE_SENT,
    _R.CONFIRMED,
    _R.UNBLOCK_AUTHORIZED,
    _R.EXPIRED,
)

#: ``{state: {event: next state}}``: every move a reset can make. A handler may instead end
#: the flow in EXPIRED, CANCELLED or FAILED when a rule fails, or keep the state when the
#: input can be given again (a PIN that breaks the policy, a rejected SMS code).
_RESET_MOVES: Mapping[ResetState, Mapping[type[Event], ResetState]] = {
    _R.AWAITING_CODE: {CodeEntered: _R.CODE_ENTERED},
    _R.CODE_ENTERED: {CodeRedeemed: _R.CODE_REDEEMED, ErrorOccurred: _R.FAILED},
    _R.CODE_REDEEMED: {CardChosen: _R.CARD_CHOSEN, ErrorOccurred: _R.FAILED},
    _R.CARD_CHOSEN: {PinChosen: _R.PIN_CHOSEN, ErrorOccurred: _R.FAILED},
    _R.PIN_CHOSEN: {ChallengeSent: _R.CHALLENGE_SENT, ErrorOccurred: _R.FAILED},
    _R.CHALLENGE_SENT: {
        Confirmed: _R.CONFIRMED,
        ConfirmationRejected: _R.CHALLENGE_SENT,
        ErrorOccurred: _R.FAILED,
    },
    _R.CONFIRMED: {AuthorizationReceived: _R.UNBLOCK_AUTHORIZED, ErrorOccurred: _R.FAILED},
    _R.UNBLOCK_AUTHORIZED: {PinWritten: _R.PIN_WRITTEN, ErrorOccurred: _R.FAILED},
    _R.PIN_WRITTEN: {ResultReported: _R.DONE, ErrorOccurred: _R.DONE},
    _R.EXPIRED: {CodeEntered: _R.CODE_ENTERED},
}
RESET_TRANSITIONS: Mapping[ResetState, Mapping[type[Event], ResetState]] = {
    state: {**moves, **({FlowCancelled: _R.CANCELLED} if state in _CANCELLABLE_RESET else {})}
    for state, moves in _RESET_MOVES.items()
}

_RESET_STEPS: Mapping[ResetState, ResetStep] = {
    _R.AWAITING_CODE: ResetStep.ENTER_CODE,
    _R.CODE_ENTERED: ResetStep.REDEEM_CODE,
    _R.CODE_REDEEMED: ResetStep.CHOOSE_CARD,
    _R.CARD_CHOSEN: ResetStep.ENTER_NEW_PIN,
    _R.PIN_CHOSEN: ResetStep.REQUEST_CHALLENGE,
    _R.CHALLENGE_SENT: ResetStep.ENTER_CONFIRMATION,
    _R.CONFIRMED: ResetStep.RECEIVE_AUTHORIZATION,
    _R.UNBLOCK_AUTHORIZED: ResetStep.WRITE_PIN,
    _R.PIN_WRITTEN: ResetStep.REPORT_RESULT,
    _R.EXPIRED: ResetStep.ENTER_NEW_CODE,
}

# States in which the verification code's validity still matters: up to the authorization.
_CODE_BOUND = frozenset(
    {
        _R.CODE_ENTERED,
        _R.CODE_REDEEMED,
        _R.CARD_CHOSEN,
        _R.PIN_CHOSEN,
        _R.CHALLENGE_SENT,
        _R.CONFIRMED,
    }
)


class PinResetFlow(_Machine):
    """The application side of a PIN reset ("PIN Oluşturma/Kilit Çözme") for one product.

    Drive it with :meth:`send`; :attr:`step` says what to do next. It does no I/O.
    """

    _table: ClassVar[Transitions] = RESET_TRANSITIONS  # type: ignore[assignment]
    _failed = ResetState.FAILED
    _cancelled = ResetState.CANCELLED

    def __init__(
        self,
        product: Product = Product.NES,
        *,
        policy: PinPolicy | None = None,
        clock: Clock | None = None,
        pin_entry_timeout: timedelta = DEFAULT_PIN_ENTRY_TIMEOUT,
        max_confirmation_attempts: int = DEFAULT_MAX_CONFIRMATION_ATTEMPTS,
    ) -> None:
        super().__init__(ResetState.AWAITING_CODE, clock)
        self.product = product
        self.policy = policy if policy is not None else PinPolicy()
        self.pin_entry_timeout = pin_entry_timeout
        self.max_confirmation_attempts = max_confirmation_attempts
        self._code: VerificationCode | None = None
        self._card_serial: str | None = None
        self._operation: OperationFacts | None = None
        self._card: CardFacts | None = None
        self._pin_deadline: datetime | None = None
        self._new_pin: Pin | None = None
        self._confirmation_failures = 0
        self._authorization: UnblockAuthorization | None = None
        self._reported = False

    def __repr__(self) -> str:
        return f"PinResetFlow(product={self.product.name}, state={self._state.name})"

    # -- what a driver reads --

    @property
    def state(self) -> ResetState:
        return self._state  # type: ignore[return-value]

    @property
    def step(self) -> ResetStep:
        """What has to happen next."""
        return _RESET_STEPS.get(self.state, ResetStep.NOTHING)

    @property
    def code(self) -> VerificationCode | None:
        return self._code

    @property
    def card_serial(self) -> str | None:
        """The card this flow works on (named with the code, checked against the portal)."""
        return self._card_serial

    @property
    def operation(self) -> OperationFacts | None:
        return self._operation

    @property
    def new_pin(self) -> Pin | None:
        """The accepted new PIN, held only until it is written."""
        return self._new_pin

    @property
    def authorization(self) -> UnblockAuthorization | None:
        """The unblock authorization, held only until it is spent."""
        return self._authorization

    @property
    def confirmation_attempts_left(self) -> int:
        return self.max_confirmation_attempts - self._confirmation_failures

    @property
    def reported(self) -> bool:
        """Whether the portal acknowledged the result of a written PIN."""
        return self._reported

    def deadline(self) -> datetime | None:
        """When the current step stops being possible (for a countdown)."""
        if self.state is ResetState.CARD_CHOSEN and self._pin_deadline is not None:
            return self._pin_deadline
        if self.state in _CODE_BOUND:
            return self._code_deadline()
        return None

    def remaining(self) -> timedelta | None:
        """Time left for the current step ("Kalan süre"), or ``None`` when none applies."""
        end = self.deadline()
        return None if end is None else max(end - self._now(), timedelta(0))

    def failure_report(self) -> str | None:
        """The reason to report to the portal when the flow ended without writing the PIN
        after the code was redeemed (so the portal closes the operation); else ``None``."""
        if self._operation is None or self.state not in {
            ResetState.FAILED,
            ResetState.CANCELLED,
            ResetState.EXPIRED,
        }:
            return None
        return self.state.value if self._error is None else type(self._error).__name__

    # -- rules --

    def _code_deadline(self) -> datetime | None:
        ends = [
            d
            for d in (
                self._code.expires_at if self._code else None,
                self._operation.expires_at if self._operation else None,
            )
            if d
        ]
        return min(ends) if ends else None

    def _before(self, event: Event) -> None:
        if not isinstance(event, FlowCancelled | ErrorOccurred):
            self._check_time()

    def _check_time(self) -> None:
        now = self._now()
        if self.state in _CODE_BOUND:
            end = self._code_deadline()
            if end is not None and now >= end:
                raise self._expire(FlowCodeExpiredError())
        if (
            self.state is ResetState.CARD_CHOSEN
            and self._pin_deadline is not None
            and now >= self._pin_deadline
        ):
            raise self._expire(PinEntryTimeoutError())

    def poll(self) -> KamusmError | None:
        """Apply the time limits now, without an event (a UI's countdown tick). Returns the
        error that ended the flow when time ran out, else ``None``."""
        if self.state.terminal or self.state is ResetState.EXPIRED:
            return None
        try:
            self._check_time()
        except KamusmError as exc:
            return exc
        return None

    def _expire(self, error: KamusmError) -> KamusmError:
        return self._end(ResetState.EXPIRED, error)

    def _forget_secrets(self) -> None:
        self._new_pin = None
        self._authorization = None

    def _redeemed(self) -> OperationFacts:
        if self._operation is None:  # the table makes this impossible; say so if it happens
            raise IllegalTransitionError(state=self.state.name, event="(no operation)")
        return self._operation

    def _chosen_card(self) -> CardFacts:
        if self._card is None:
            raise IllegalTransitionError(state=self.state.name, event="(no card)")
        return self._card

    # -- handlers: (event, table target) -> the state to move to --

    def _on_CodeEntered(self, event: CodeEntered, target: _State) -> _State:
        if event.code.is_expired(self._now()):
            raise self._expire(FlowCodeExpiredError())
        self._code = event.code
        self._card_serial = event.card_serial
        self._operation = None
        self._card = None
        self._pin_deadline = None
        self._confirmation_failures = 0
        self._error = None
        return target

    def _on_CodeRedeemed(self, event: CodeRedeemed, target: _State) -> _State:
        op = event.operation
        if op.card_serial != self._card_serial:
            raise self._end(ResetState.FAILED, WrongCardError())
        if op.product is not self.product:
            raise self._end(
                ResetState.FAILED, WrongProductError(product=self.product.display("en"))
            )
        self._operation = op
        return target

    def _on_CardChosen(self, event: CardChosen, target: _State) -> _State:
        card, op = event.card, self._redeemed()
        if not card.present:
            raise self._end(ResetState.FAILED, TokenNotFoundError())
        if card.busy:
            raise self._end(ResetState.FAILED, TokenBusyError())
        if card.serial != op.card_serial:
            raise self._end(ResetState.FAILED, WrongCardError())
        if self.product not in card.products:
            raise self._end(
                ResetState.FAILED, WrongProductError(product=self.product.display("en"))
            )
        if op.holder not in card.holders:
            raise self._end(ResetState.FAILED, WrongHolderError())
        self._card = card
        limits = [self._now() + self.pin_entry_timeout]
        if op.pin_entry_deadline is not None:
            limits.append(op.pin_entry_deadline)
        self._pin_deadline = min(limits)
        return target

    def _on_PinChosen(self, event: PinChosen, target: _State) -> _State:
        card, op = self._chosen_card(), self._redeemed()
        policy = self.policy.narrow(card.min_pin_length, card.max_pin_length)
        # A policy error leaves the state as it is: the holder types the PIN again.
        self._new_pin = policy.check(
            event.new, confirmation=event.confirmation, tckn=op.holder, birth_date=event.birth_date
        )
        return target

    def _on_ChallengeSent(self, event: ChallengeSent, target: _State) -> _State:
        return target

    def _on_ConfirmationRejected(self, event: ConfirmationRejected, target: _State) -> _State:
        self._confirmation_failures += 1
        if event.attempts_remaining <= 0 or self.confirmation_attempts_left <= 0:
            raise self._end(
                ResetState.CANCELLED, TooManyAttemptsError(attempts=self._confirmation_failures)
            )
        return target

    def _on_Confirmed(self, event: Confirmed, target: _State) -> _State:
        return target

    def _on_AuthorizationReceived(self, event: AuthorizationReceived, target: _State) -> _State:
        auth = event.authorization
        if auth.card_serial != self._card_serial:
            raise self._end(ResetState.FAILED, AuthorizationCardMismatchError())
        if auth.is_spent:
            raise self._end(ResetState.FAILED, AuthorizationSpentError())
        self._authorization = auth
        return target

    def _on_PinWritten(self, event: PinWritten, target: _State) -> _State:
        self._forget_secrets()
        return target

    def _on_ResultReported(self, event: ResultReported, target: _State) -> _State:
        self._reported = True
        return target

    def _on_ErrorOccurred(self, event: ErrorOccurred, target: _State) -> _State:
        err = event.error
        if self.state is ResetState.PIN_WRITTEN:
            # The card is fully reset; only the report failed. The flow is done, unreported.
            logger.info("PIN written; the result could not be reported: %s", type(err).__name__)
            self._forget_secrets()
            return target
        if isinstance(err, VerificationCodeExpiredError | SmsCodeExpiredError):
            raise self._expire(FlowCodeExpiredError())
        if isinstance(err, VerificationCodeInvalidError) and self.state is ResetState.CODE_ENTERED:
            # A mistyped code: nothing happened yet, the holder types it again.
            self._state = ResetState.AWAITING_CODE
            self._code = None
            raise err
        if isinstance(err, OperationCancelledError):
            if self.state is ResetState.CHALLENGE_SENT:
                raise self._end(
                    ResetState.CANCELLED,
                    TooManyAttemptsError(attempts=self._confirmation_failures + 1),
                )
            raise self._end(ResetState.CANCELLED, err)
        raise self._end(ResetState.FAILED, err)


# ==== PIN change ================================================================================


class ChangeState(_State):
    """Where a PIN change stands."""

    START = "start"
    NEEDS_ACKNOWLEDGEMENT = "needs_acknowledgement"
    READY = "ready"
    PINS_CHOSEN = "pins_chosen"
    CHANGED = "changed"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ChangeStep(enum.Enum):
    """What the driver has to do next in a change."""

    READ_STATUS = "read_status"
    ACKNOWLEDGE_FINAL_TRY = "acknowledge_final_try"
    ENTER_PINS = "enter_pins"
    CHANGE_PIN = "change_pin"
    VERIFY_NEW_PIN = "verify_new_pin"
    NOTHING = "nothing"


_C = ChangeState

#: ``{state: {event: next state}}`` for a PIN change. A locked PIN ends the flow with a route to
#: the portal reset; a final try needs an explicit acknowledgement; a wrong old PIN goes back to
#: PIN entry with the status the token reported.
CHANGE_TRANSITIONS: Mapping[ChangeState, Mapping[type[Event], ChangeState]] = {
    _C.START: {StatusRead: _C.READY, FlowCancelled: _C.CANCELLED, ErrorOccurred: _C.FAILED},
    _C.NEEDS_ACKNOWLEDGEMENT: {
        FinalTryAcknowledged: _C.READY,
        FlowCancelled: _C.CANCELLED,
    },
    _C.READY: {PinsEntered: _C.PINS_CHOSEN, FlowCancelled: _C.CANCELLED},
    _C.PINS_CHOSEN: {PinChanged: _C.CHANGED, ErrorOccurred: _C.READY, FlowCancelled: _C.CANCELLED},
    _C.CHANGED: {NewPinVerified: _C.DONE, ErrorOccurred: _C.FAILED},
}

_CHANGE_STEPS: Mapping[ChangeState, ChangeStep] = {
    _C.START: ChangeStep.READ_STATUS,
    _C.NEEDS_ACKNOWLEDGEMENT: ChangeStep.ACKNOWLEDGE_FINAL_TRY,
    _C.READY: ChangeStep.ENTER_PINS,
    _C.PINS_CHOSEN: ChangeStep.CHANGE_PIN,
    _C.CHANGED: ChangeStep.VERIFY_NEW_PIN,
}


class PinChangeFlow(_Machine):
    """Changing a PIN the holder knows: status first, policy, C_SetPIN, then a login with the
    new PIN. It does no I/O."""

    _table: ClassVar[Transitions] = CHANGE_TRANSITIONS  # type: ignore[assignment]
    _failed = ChangeState.FAILED
    _cancelled = ChangeState.CANCELLED

    def __init__(self, *, policy: PinPolicy | None = None, clock: Clock | None = None) -> None:
        super().__init__(ChangeState.START, clock)
        self.policy = policy if policy is not None else PinPolicy()
        self._status: PinStatus | None = None
        self._limits: tuple[int | None, int | None] = (None, None)
        self._acknowledged = False
        self._old: Pin | None = None
        self._new: Pin | None = None

    def __repr__(self) -> str:
        return f"PinChangeFlow(state={self._state.name})"

    @property
    def state(self) -> ChangeState:
        return self._state  # type: ignore[return-value]

    @property
    def step(self) -> ChangeStep:
        return _CHANGE_STEPS.get(self.state, ChangeStep.NOTHING)

    @property
    def status(self) -> PinStatus | None:
        """The last PIN status the token reported."""
        return self._status

    @property
    def final_try_acknowledged(self) -> bool:
        """Whether the token layer may spend the final try (pass it on as
        ``acknowledge_final_try``)."""
        return self._acknowledged

    @property
    def pins(self) -> tuple[Pin, Pin] | None:
        """``(old, new)`` once accepted, until the change is done."""
        return None if self._old is None or self._new is None else (self._old, self._new)

    def _forget_secrets(self) -> None:
        self._old = self._new = None

    def _judge_status(self, status: PinStatus, ready: _State) -> _State:
        self._status = status
        if status.locked:
            raise self._end(ChangeState.FAILED, PinLockedUseResetError())
        if status.final_try and not self._acknowledged:
            return ChangeState.NEEDS_ACKNOWLEDGEMENT
        return ready

    def _on_StatusRead(self, event: StatusRead, target: _State) -> _State:
        self._limits = (event.min_pin_length, event.max_pin_length)
        return self._judge_status(event.status, target)

    def _on_FinalTryAcknowledged(self, event: FinalTryAcknowledged, target: _State) -> _State:
        self._acknowledged = True
        return target

    def _on_PinsEntered(self, event: PinsEntered, target: _State) -> _State:
        old = event.old if isinstance(event.old, Pin) else Pin(event.old)  # digits, or raises
        policy = self.policy.narrow(*self._limits)
        new = policy.check(
            event.new,
            confirmation=event.confirmation,
            tckn=event.tckn,
            birth_date=event.birth_date,
            old=event.old,
        )
        self._old, self._new = old, new
        return target

    def _on_PinChanged(self, event: PinChanged, target: _State) -> _State:
        self._old = None
        return target

    def _on_NewPinVerified(self, event: NewPinVerified, target: _State) -> _State:
        self._forget_secrets()
        return target

    def _on_ErrorOccurred(self, event: ErrorOccurred, target: _State) -> _State:
        err = event.error
        if self.state is ChangeState.CHANGED:
            raise self._end(ChangeState.FAILED, PinVerificationFailedError())
        if self.state is ChangeState.PINS_CHOSEN:
            self._forget_secrets()
            if isinstance(err, PinIncorrectError) and err.status is not None:
                # Wrong old PIN: back to PIN entry, judged by the status re-read after it. A
                # locked card ends the flow with the token's own "locked" message.
                self._acknowledged = False
                self._status = err.status
                if err.status.locked:
                    raise self._end(ChangeState.FAILED, err)
                self._state = self._judge_status(err.status, target)
                raise err
            if isinstance(err, PinLockedError):
                raise self._end(ChangeState.FAILED, PinLockedUseResetError())
            if isinstance(err, FinalTryNotAcknowledgedError):
                self._state = ChangeState.NEEDS_ACKNOWLEDGEMENT
                raise err
        raise self._end(ChangeState.FAILED, err)
