"""The PIN reset and PIN change procedures as pure state machines: no I/O whatsoever.

Everything that affects a transition lives here. :class:`PinResetFlow` and
:class:`PinChangeFlow` take events (small frozen classes validated when they are made) and say
what has to happen next (:attr:`~PinResetFlow.step`). Their moves are data:
:data:`RESET_MOVES` and :data:`CHANGE_MOVES` give, for each state and each event it accepts,
the state the event leads to when every rule holds (:data:`RESET_TRANSITIONS`,
:data:`CHANGE_TRANSITIONS`) and the exits a rule can send it to instead (a card of another
holder, an expired code, a wrong old PIN), each named by a :class:`FlowExit`;
:data:`RESET_TIMEOUTS` gives the exits time takes, whatever the event. An event the current
state does not accept raises :class:`~kamusm.errors.IllegalTransitionError` naming both; a
handler can only take an exit its table lists; after a failure a flow refuses to go on. The
state diagrams in the documentation are drawn from these tables by
``scripts/flow_diagrams.py``.

The rules come from the Kamu SM guides: the verification code is valid for a short time and only
a new one ("Tekrar Kod Al") leads on once it has expired; the PIN-entry screen has its own time
limit; the card must be present, free, carry a certificate of the product, belong to the code's
holder and be the card the code was redeemed for; the new PIN must pass the policy narrowed by
the card's limits; the SMS confirmation allows a few attempts, and an expired SMS code is
replaced only when the holder asks for a new one, while the portal allows one; and the unblock
authorization is spent exactly once on that card. Nobody ever types a PUK: there is no event
that carries one.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from kamusm.errors import (
    AuthorizationCardMismatchError,
    AuthorizationSpentError,
    CertificateExpiredError,
    CertificateNotListedError,
    CertificateNotOnCardError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    CertificateSuspendedError,
    FinalTryNotAcknowledgedError,
    FlowCancelledError,
    FlowCodeExpiredError,
    FlowFailedError,
    IllegalTransitionError,
    InputError,
    KamusmError,
    NewSmsDeclinedError,
    OperationCancelledError,
    PinEntryTimeoutError,
    PinIncorrectError,
    PinLockedError,
    PinLockedUseResetError,
    PinVerificationFailedError,
    SmsCodeExpiredError,
    SmsLimitReachedError,
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
    DEFAULT_SMS_CODE_LENGTH,
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
    "CHANGE_MOVES",
    "CHANGE_TRANSITIONS",
    "RESET_MOVES",
    "RESET_TIMEOUTS",
    "RESET_TRANSITIONS",
    "AuthorizationReceived",
    "CardCertificate",
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
    "FlowExit",
    "FlowMove",
    "NewPinVerified",
    "NewSmsDeclined",
    "NewSmsRequested",
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

logger = logging.getLogger("kamusm.flows")

#: How long the PIN-entry screen waits when the portal does not say (an assumption: the guides
#: show a countdown but not its start).
DEFAULT_PIN_ENTRY_TIMEOUT = timedelta(seconds=300)
#: Wrong SMS answers before the operation is cancelled.
DEFAULT_MAX_CONFIRMATION_ATTEMPTS = 3


# ==== facts the machines reason about ==========================================================


class OperationFacts(Protocol):
    """What the portal says about a redeemed verification code (``kamusm.portal.Operation``
    satisfies this).

    An operation may also have ``certificate_status``: the state of the card's certificates of
    the product as the portal knows it, ``"active"``, ``"suspended"``, ``"revoked"`` (every
    one) or ``"expired"`` (every one); and ``certificates``: each certificate the portal has
    for the card, with ``serial_number`` (hexadecimal) and ``status``, which the flow matches
    to the certificates on the card. The flow reads them when they are there.
    """

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


def _serial_key(serial: str) -> str:
    """A certificate serial number as compared: hexadecimal, upper case, no leading zeros."""
    return serial.strip().upper().lstrip("0") or "0"


@attrs.frozen
class CardCertificate:
    """One certificate of the holder on the card, as the machine judges it: its serial
    number (hexadecimal), product and validity."""

    serial_number: str = attrs.field(validator=attrs.validators.instance_of(str))
    product: Product = attrs.field(validator=attrs.validators.instance_of(Product))
    not_before: datetime = attrs.field(validator=attrs.validators.instance_of(datetime))
    not_after: datetime = attrs.field(validator=attrs.validators.instance_of(datetime))


@attrs.frozen
class CardFacts:
    """What the driver read from the chosen card, for the machine to judge.

    ``holders`` are the T.C. Kimlik numbers found in the card's certificates, ``products``
    the products those certificates belong to, and ``valid_until`` for each product the end of
    its latest certificate's validity. ``certificates``, when given, are the holder's
    certificates themselves: the machine then checks their dates (expired, not yet valid)
    and matches them by serial number to the statuses the portal gave.
    """

    serial: str
    present: bool = True
    busy: bool = False
    products: frozenset[Product] = frozenset()
    holders: frozenset[Tckn] = frozenset()
    valid_until: Mapping[Product, datetime] = attrs.field(factory=dict, hash=False)
    min_pin_length: int | None = None
    max_pin_length: int | None = None
    pin_status: PinStatus = attrs.field(factory=PinStatus)
    certificates: tuple[CardCertificate, ...] = ()


# ==== events ===================================================================================


def _is(*kinds: type, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: the value must be one of ``kinds`` (or None when ``optional``);
    anything else is bad input, reported as :class:`~kamusm.errors.InputError`."""

    def check(_: object, __: object, value: object) -> None:
        if (value is None and optional) or isinstance(value, kinds):
            return
        raise InputError()

    return check


_PIN_TEXT = _is(str, Pin)


def _one_of(*allowed: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: the value must be one of ``allowed``, else :class:`InputError`."""

    def check(_: object, __: object, value: object) -> None:
        if value not in allowed:
            raise InputError()

    return check


class Event:
    """Base of the events; each is a small frozen class validated when it is made."""

    __slots__ = ()

    @classmethod
    def name(cls) -> str:
        return cls.__name__


@attrs.frozen
class CodeEntered(Event):
    """The holder typed the verification code, for the card it should unblock."""

    code: VerificationCode = attrs.field(validator=_is(VerificationCode))
    card_serial: str = attrs.field(validator=[_is(str), attrs.validators.min_len(1)])


@attrs.frozen
class CodeRedeemed(Event):
    """The portal accepted the code and bound it to the card: an operation."""

    operation: OperationFacts


@attrs.frozen
class CardChosen(Event):
    """The card the holder chose ("Kart Seçiniz"), as read from the token."""

    card: CardFacts = attrs.field(validator=_is(CardFacts))


@attrs.frozen(repr=False)
class PinChosen(Event):
    """The new PIN, typed twice ("Yeni PIN Kodu", "Yeni PIN Kodu (Tekrar)")."""

    new: str | Pin = attrs.field(validator=_PIN_TEXT)
    confirmation: str | Pin = attrs.field(validator=_PIN_TEXT)
    birth_date: date | None = attrs.field(default=None, validator=_is(date, optional=True))

    def __repr__(self) -> str:
        return "PinChosen(<hidden>)"


@attrs.frozen
class ChallengeSent(Event):
    """The portal sent the confirmation challenge (SMS code or web password).

    ``challenges_remaining``: how many new challenges the portal still allows this operation
    after this one (``None``: it did not say; a new SMS is then offered and the portal may
    refuse it)."""

    expires_at: datetime | None = attrs.field(default=None, validator=_is(datetime, optional=True))
    attempts_remaining: int | None = attrs.field(default=None, validator=_is(int, optional=True))
    challenges_remaining: int | None = attrs.field(default=None, validator=_is(int, optional=True))
    #: "sms" (an SMS code) or "web_password" ("WEB Parola"): what an expiry is told as.
    method: str = attrs.field(default="sms", validator=_one_of("sms", "web_password"))


@attrs.frozen
class NewSmsRequested(Event):
    """The SMS code expired and the holder asked for a new one (a new challenge)."""


@attrs.frozen
class NewSmsDeclined(Event):
    """The SMS code expired and the holder does not want a new one: the reset ends."""


@attrs.frozen
class ConfirmationRejected(Event):
    """The portal refused the SMS code / web password."""

    attempts_remaining: int = attrs.field(validator=[_is(int), attrs.validators.ge(0)])


@attrs.frozen
class Confirmed(Event):
    """The portal accepted the confirmation."""


@attrs.frozen
class AuthorizationReceived(Event):
    """The single-use unblock authorization arrived."""

    authorization: UnblockAuthorization = attrs.field(validator=_is(UnblockAuthorization))


@attrs.frozen
class PinWritten(Event):
    """The token layer spent the authorization: SO login + C_InitPIN succeeded."""


@attrs.frozen
class ResultReported(Event):
    """The portal acknowledged the result."""


@attrs.frozen
class ErrorOccurred(Event):
    """A step failed with ``error``; the machine decides what that means."""

    error: KamusmError = attrs.field(validator=_is(KamusmError))


@attrs.frozen
class FlowCancelled(Event):
    """The person cancelled."""


# -- change-flow events --


@attrs.frozen
class StatusRead(Event):
    """The token's PIN status, read before anything else (costs no try)."""

    status: PinStatus = attrs.field(validator=_is(PinStatus))
    min_pin_length: int | None = attrs.field(default=None, validator=_is(int, optional=True))
    max_pin_length: int | None = attrs.field(default=None, validator=_is(int, optional=True))
    #: The products of the card's certificates (their route is named when the PIN is locked).
    products: frozenset[Product] = attrs.field(default=frozenset(), validator=_is(frozenset))


@attrs.frozen
class FinalTryAcknowledged(Event):
    """The holder explicitly accepted that a wrong old PIN now locks the card."""


@attrs.frozen(repr=False)
class PinsEntered(Event):
    """The old PIN and the new one typed twice."""

    old: str | Pin = attrs.field(validator=_PIN_TEXT)
    new: str | Pin = attrs.field(validator=_PIN_TEXT)
    confirmation: str | Pin = attrs.field(validator=_PIN_TEXT)
    tckn: Tckn | None = attrs.field(default=None, validator=_is(Tckn, optional=True))
    birth_date: date | None = attrs.field(default=None, validator=_is(date, optional=True))

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
    """States know whether they end the flow, and whether reaching them ends an attempt (the
    error that led there is kept and every secret dropped)."""

    @property
    def terminal(self) -> bool:
        return self.name in {"DONE", "FAILED", "CANCELLED"}

    @property
    def ends_attempt(self) -> bool:
        return self.name in {"EXPIRED", "FAILED", "CANCELLED"}


class FlowExit(enum.Enum):
    """Why a handler leaves the table's own path. Each value is the label of its edge in the
    state diagrams; which state an exit leads to is in the tables, not in the handlers."""

    # the reset
    CODE_ALREADY_EXPIRED = "code already expired"
    TIME_RAN_OUT = "the code's time ran out"
    PIN_ENTRY_TIME_RAN_OUT = "the PIN-entry time ran out"
    CODE_MISTYPED = "code mistyped"
    OPERATION_REFUSED = "operation for another card or product"
    CARD_REFUSED = "card refused by a rule"
    CERTIFICATE_UNUSABLE = "the certificates are revoked or expired"
    PIN_REFUSED = "PIN refused by the policy, typed again"
    TOO_MANY_ATTEMPTS = "too many wrong answers"
    SMS_EXPIRED = "the SMS code expired, a new one is offered"
    SMS_LIMIT_REACHED = "the SMS code expired, no new one allowed"
    AUTHORIZATION_REFUSED = "authorization for another card, or spent"
    PORTAL_EXPIRED = "the portal says the code expired"
    PORTAL_CANCELLED = "the portal cancelled the operation"
    # the change
    LOCKED = "PIN locked"
    FINAL_TRY = "final try, not yet acknowledged"
    WRONG_OLD_PIN = "wrong old PIN, typed again"


_S = TypeVar("_S", bound=_State)
_P = TypeVar("_P", bound=enum.Enum)


@attrs.frozen
class FlowMove(Generic[_S]):
    """Where an event leads: ``to`` when every rule holds, ``exits`` when a rule sends the flow
    elsewhere."""

    to: _S
    exits: Mapping[FlowExit, _S] = attrs.field(factory=dict)


Moves = Mapping[_S, Mapping[type[Event], FlowMove[_S]]]


def _targets(moves: Moves[_S]) -> Mapping[_S, Mapping[type[Event], _S]]:
    """``{state: {event: to}}``: the table's own path, without its exits."""
    return {state: {event: move.to for event, move in row.items()} for state, row in moves.items()}


class _Machine(Generic[_S, _P]):
    """A table-driven machine. ``send`` looks the event up in the table, runs the event's
    handler (which enforces the rules), and moves to the table's target, or to the exit the
    handler names. ``_steps`` says what a driver does in each state; ``_nothing`` when nothing
    is left."""

    _moves: ClassVar[Mapping[Any, Mapping[type[Event], FlowMove[Any]]]]
    _timeouts: ClassVar[Mapping[Any, Mapping[FlowExit, Any]]] = {}
    _steps: ClassVar[Mapping[Any, Any]]
    _nothing: ClassVar[Any]
    _failed: ClassVar[Any]

    def __init__(self, initial: _S, clock: Clock | None) -> None:
        self._state: _S = initial
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._error: KamusmError | None = None
        self._move: FlowMove[_S] | None = None

    @property
    def state(self) -> _S:
        return self._state

    @property
    def step(self) -> _P:
        """What the driver has to do next."""
        step: _P = self._steps.get(self._state, self._nothing)
        return step

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def error(self) -> KamusmError | None:
        """The error that ended the flow (or this attempt of it), if one did."""
        return self._error

    def allowed_events(self) -> frozenset[type[Event]]:
        """The events the current state accepts."""
        return frozenset(self._moves.get(self._state, {}))

    def _now(self) -> datetime:
        return self._clock.now()

    def send(self, event: Event) -> None:
        """Feed one event. Raises when the event is not allowed now or breaks a rule."""
        if not isinstance(event, Event):
            raise InputError()
        if self._state is self._failed:
            raise FlowFailedError()
        move = self._moves.get(self._state, {}).get(type(event))
        if move is None:
            raise IllegalTransitionError(state=self._state.name, event=type(event).name())
        self._move = move
        try:
            if isinstance(event, FlowCancelled):  # the person cancelled: the same in every flow
                raise self._leave(None, FlowCancelledError())
            self._before(event)
            new_state = self._target(self._handle(event))
            logger.debug(
                "%s: %s --%s--> %s",
                type(self).__name__,
                self._state.name,
                type(event).name(),
                new_state.name,
            )
            self._state = new_state
        finally:
            self._move = None

    def _handle(self, event: Event) -> FlowExit | None:
        """Apply the event's rules: ``None`` follows the table, an exit leaves it; a rule that
        ends or repeats the step raises the error :meth:`_leave` returns."""
        raise NotImplementedError  # pragma: no cover - each machine matches its own events

    def _before(self, event: Event) -> None:
        """Checks run before every event (time limits)."""

    def _target(self, exit_: FlowExit | None) -> _S:
        """The state ``exit_`` leads to from here (``None``: the table's own target). An exit
        the tables do not list for this state is a bug, refused like an illegal event."""
        move = self._move
        if exit_ is None and move is not None:
            return move.to
        target = None
        if exit_ is not None:
            target = (move.exits if move else {}).get(exit_)
            if target is None:
                target = self._timeouts.get(self._state, {}).get(exit_)
        if target is None:
            label = exit_.name if exit_ is not None else "(no event)"
            raise IllegalTransitionError(state=self._state.name, event=label)
        result: _S = target
        return result

    def _leave(self, exit_: FlowExit | None, error: KamusmError) -> KamusmError:
        """Take ``exit_`` (``None``: the table's own target) because of ``error``, and return
        the error for the handler to raise. A state that ends the attempt keeps the error and
        drops every secret."""
        target = self._target(exit_)
        if target.ends_attempt:
            logger.info("%s ends in %s: %s", type(self).__name__, target.name, type(error).__name__)
            self._error = error
            self._forget_secrets()
        self._state = target
        return error

    def _forget_secrets(self) -> None:
        """Drop every secret the machine holds."""


# ==== PIN reset =================================================================================


class ResetState(_State):
    """Where a PIN reset stands."""

    AWAITING_CODE = "awaiting_code"
    CODE_ENTERED = "code_entered"
    CODE_REDEEMED = "code_redeemed"
    CARD_CHOSEN = "card_chosen"
    PIN_CHOSEN = "pin_chosen"
    CHALLENGE_SENT = "challenge_sent"
    SMS_EXPIRED = "sms_expired"
    CONFIRMED = "confirmed"
    UNBLOCK_AUTHORIZED = "unblock_authorized"
    PIN_WRITTEN = "pin_written"
    DONE = "done"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ResetStep(enum.Enum):
    """What the driver has to do next in a reset."""

    #: Ask the verification code, then the card it is for ("Kart Seçiniz").
    ENTER_CODE_AND_CHOOSE_CARD = "enter_code_and_choose_card"
    #: Redeem the code at the portal for an operation bound to that card.
    REDEEM_CODE = "redeem_code"
    #: Read the chosen card (its certificates, limits and status) for the machine to check.
    CHECK_CARD = "check_card"
    #: Ask the new PIN twice.
    ENTER_NEW_PIN = "enter_new_pin"
    #: Have the portal send the SMS code (or ask for the web password).
    REQUEST_CHALLENGE = "request_challenge"
    #: Ask the SMS code and have the portal confirm it.
    ENTER_CONFIRMATION = "enter_confirmation"
    #: The SMS code expired while the verification code is valid: ask the holder whether a
    #: new SMS is to be sent (a new challenge, within the portal's limit).
    OFFER_NEW_SMS = "offer_new_sms"
    #: Hand the unblock authorization the confirmation brought to the machine.
    RECEIVE_AUTHORIZATION = "receive_authorization"
    #: Spend the authorization on the card: SO login + C_InitPIN with the new PIN.
    WRITE_PIN = "write_pin"
    #: Tell the portal the PIN was written.
    REPORT_RESULT = "report_result"
    #: The last code ran out: ask a new one ("Tekrar Kod Al"), then the card again.
    ENTER_NEW_CODE_AND_CHOOSE_CARD = "enter_new_code_and_choose_card"
    NOTHING = "nothing"


_R = ResetState
_X = FlowExit
_M = FlowMove[ResetState]


def _step_failed(more: Mapping[FlowExit, ResetState] | None = None) -> _M:
    """The move of ``ErrorOccurred`` while the code is in use: a failed step ends the flow;
    the portal saying the code expired, or that it cancelled the operation, end it there."""
    ends = {_X.PORTAL_EXPIRED: _R.EXPIRED, _X.PORTAL_CANCELLED: _R.CANCELLED}
    return FlowMove(_R.FAILED, {**ends, **(more or {})})


_CANCEL = FlowMove(_R.CANCELLED)

#: ``{state: {event: move}}``: every move a reset can make, with the exits its rules can take.
RESET_MOVES: Mapping[ResetState, Mapping[type[Event], FlowMove[ResetState]]] = {
    _R.AWAITING_CODE: {
        CodeEntered: FlowMove(_R.CODE_ENTERED, {_X.CODE_ALREADY_EXPIRED: _R.EXPIRED}),
        FlowCancelled: _CANCEL,
    },
    _R.CODE_ENTERED: {
        CodeRedeemed: FlowMove(
            _R.CODE_REDEEMED,
            {_X.OPERATION_REFUSED: _R.FAILED, _X.CERTIFICATE_UNUSABLE: _R.FAILED},
        ),
        ErrorOccurred: _step_failed({_X.CODE_MISTYPED: _R.AWAITING_CODE}),
        FlowCancelled: _CANCEL,
    },
    _R.CODE_REDEEMED: {
        CardChosen: FlowMove(
            _R.CARD_CHOSEN, {_X.CARD_REFUSED: _R.FAILED, _X.CERTIFICATE_UNUSABLE: _R.FAILED}
        ),
        ErrorOccurred: _step_failed(),
        FlowCancelled: _CANCEL,
    },
    _R.CARD_CHOSEN: {
        PinChosen: FlowMove(_R.PIN_CHOSEN, {_X.PIN_REFUSED: _R.CARD_CHOSEN}),
        ErrorOccurred: _step_failed(),
        FlowCancelled: _CANCEL,
    },
    _R.PIN_CHOSEN: {
        ChallengeSent: FlowMove(_R.CHALLENGE_SENT),
        ErrorOccurred: _step_failed(),
        FlowCancelled: _CANCEL,
    },
    _R.CHALLENGE_SENT: {
        Confirmed: FlowMove(_R.CONFIRMED),
        ConfirmationRejected: FlowMove(_R.CHALLENGE_SENT, {_X.TOO_MANY_ATTEMPTS: _R.CANCELLED}),
        ErrorOccurred: _step_failed(
            {
                _X.TOO_MANY_ATTEMPTS: _R.CANCELLED,
                _X.SMS_EXPIRED: _R.SMS_EXPIRED,
                _X.SMS_LIMIT_REACHED: _R.EXPIRED,
                _X.TIME_RAN_OUT: _R.EXPIRED,
            }
        ),
        FlowCancelled: _CANCEL,
    },
    # The holder is asked whether a new SMS is to be sent: yes asks the portal for a new
    # challenge, no ends the reset (the card unchanged, the portal told).
    _R.SMS_EXPIRED: {
        NewSmsRequested: FlowMove(_R.PIN_CHOSEN),
        NewSmsDeclined: FlowMove(_R.CANCELLED),
        FlowCancelled: _CANCEL,
    },
    _R.CONFIRMED: {
        AuthorizationReceived: FlowMove(
            _R.UNBLOCK_AUTHORIZED, {_X.AUTHORIZATION_REFUSED: _R.FAILED}
        ),
        ErrorOccurred: _step_failed(),
        FlowCancelled: _CANCEL,
    },
    _R.UNBLOCK_AUTHORIZED: {
        PinWritten: FlowMove(_R.PIN_WRITTEN),
        ErrorOccurred: _step_failed(),
        FlowCancelled: _CANCEL,
    },
    # The card is reset: a failed report leaves it so; the flow is done, unreported.
    _R.PIN_WRITTEN: {ResultReported: FlowMove(_R.DONE), ErrorOccurred: FlowMove(_R.DONE)},
    _R.EXPIRED: {
        CodeEntered: FlowMove(_R.CODE_ENTERED, {_X.CODE_ALREADY_EXPIRED: _R.EXPIRED}),
        FlowCancelled: _CANCEL,
    },
}

#: ``{state: {event: next state}}``: where each event leads when every rule holds.
RESET_TRANSITIONS: Mapping[ResetState, Mapping[type[Event], ResetState]] = _targets(RESET_MOVES)

_EXPIRE = {_X.TIME_RAN_OUT: _R.EXPIRED}

#: ``{state: {exit: state}}``: the exits time takes, checked before every event and by
#: :meth:`PinResetFlow.poll`. Up to the authorization the verification code (and the
#: operation) must still be valid; the PIN-entry screen has its own limit too.
RESET_TIMEOUTS: Mapping[ResetState, Mapping[FlowExit, ResetState]] = {
    _R.CODE_ENTERED: _EXPIRE,
    _R.CODE_REDEEMED: _EXPIRE,
    _R.CARD_CHOSEN: {**_EXPIRE, _X.PIN_ENTRY_TIME_RAN_OUT: _R.EXPIRED},
    _R.PIN_CHOSEN: _EXPIRE,
    _R.CHALLENGE_SENT: _EXPIRE,
    _R.SMS_EXPIRED: _EXPIRE,
    _R.CONFIRMED: _EXPIRE,
}

_RESET_STEPS: Mapping[ResetState, ResetStep] = {
    _R.AWAITING_CODE: ResetStep.ENTER_CODE_AND_CHOOSE_CARD,
    _R.CODE_ENTERED: ResetStep.REDEEM_CODE,
    _R.CODE_REDEEMED: ResetStep.CHECK_CARD,
    _R.CARD_CHOSEN: ResetStep.ENTER_NEW_PIN,
    _R.PIN_CHOSEN: ResetStep.REQUEST_CHALLENGE,
    _R.CHALLENGE_SENT: ResetStep.ENTER_CONFIRMATION,
    _R.SMS_EXPIRED: ResetStep.OFFER_NEW_SMS,
    _R.CONFIRMED: ResetStep.RECEIVE_AUTHORIZATION,
    _R.UNBLOCK_AUTHORIZED: ResetStep.WRITE_PIN,
    _R.PIN_WRITTEN: ResetStep.REPORT_RESULT,
    _R.EXPIRED: ResetStep.ENTER_NEW_CODE_AND_CHOOSE_CARD,
}


class PinResetFlow(_Machine[ResetState, ResetStep]):
    """The application side of a PIN reset ("PIN Oluşturma/Kilit Çözme") for one product.

    Drive it with :meth:`send`; :attr:`step` says what to do next. It does no I/O.
    """

    initial: ClassVar[ResetState] = ResetState.AWAITING_CODE
    _moves: ClassVar[Mapping[Any, Mapping[type[Event], FlowMove[Any]]]] = RESET_MOVES
    _timeouts: ClassVar[Mapping[Any, Mapping[FlowExit, Any]]] = RESET_TIMEOUTS
    _steps: ClassVar[Mapping[Any, Any]] = _RESET_STEPS
    _nothing = ResetStep.NOTHING
    _failed = ResetState.FAILED

    def __init__(
        self,
        product: Product = Product.NES,
        *,
        policy: PinPolicy | None = None,
        clock: Clock | None = None,
        pin_entry_timeout: timedelta = DEFAULT_PIN_ENTRY_TIMEOUT,
        max_confirmation_attempts: int = DEFAULT_MAX_CONFIRMATION_ATTEMPTS,
        sms_code_length: int = DEFAULT_SMS_CODE_LENGTH,
    ) -> None:
        super().__init__(self.initial, clock)
        self.product = product
        self.policy = policy if policy is not None else PinPolicy()
        self.pin_entry_timeout = pin_entry_timeout
        self.max_confirmation_attempts = max_confirmation_attempts
        self.sms_code_length = sms_code_length
        self._code: VerificationCode | None = None
        self._card_serial: str | None = None
        self._operation: OperationFacts | None = None
        self._card: CardFacts | None = None
        self._pin_deadline: datetime | None = None
        self._new_pin: Pin | None = None
        self._confirmation_failures = 0
        self._portal_attempts: int | None = None
        self._challenge_deadline: datetime | None = None
        self._challenges_left: int | None = None
        self._challenge_method = "sms"
        self._authorization: UnblockAuthorization | None = None
        self._reported = False
        self._notices: list[KamusmError] = []

    def __repr__(self) -> str:
        return f"PinResetFlow(product={self.product.name}, state={self._state.name})"

    # -- what a driver reads --

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
    def card(self) -> CardFacts | None:
        """The chosen card, once accepted."""
        return self._card

    def pin_policy(self) -> PinPolicy:
        """The policy a new PIN must pass: this flow's, narrowed by the chosen card's limits."""
        card = self._card
        return (
            self.policy
            if card is None
            else self.policy.narrow(card.min_pin_length, card.max_pin_length)
        )

    @property
    def confirmation_attempts_left(self) -> int:
        """Wrong answers still allowed: this flow's limit, or the portal's when it is lower."""
        own = self.max_confirmation_attempts - self._confirmation_failures
        return own if self._portal_attempts is None else min(own, self._portal_attempts)

    @property
    def challenges_left(self) -> int | None:
        """New challenges (new SMS codes) the portal still allows this operation, when it
        said; ``None`` when it did not."""
        return self._challenges_left

    @property
    def reported(self) -> bool:
        """Whether the portal acknowledged the result of a written PIN."""
        return self._reported

    def take_notices(self) -> list[KamusmError]:
        """What the holder should be told although the flow goes on (a suspended certificate),
        each once."""
        notices, self._notices = self._notices, []
        return notices

    def deadline(self) -> datetime | None:
        """When the current step stops being possible (for a countdown)."""
        if self.state is ResetState.CARD_CHOSEN and self._pin_deadline is not None:
            return self._pin_deadline
        if self.state is ResetState.CHALLENGE_SENT and self._challenge_deadline is not None:
            # the SMS code's own time, within the verification code's
            ends = [self._challenge_deadline, self._code_deadline()]
            return min(d for d in ends if d is not None)
        if _X.TIME_RAN_OUT in RESET_TIMEOUTS.get(self.state, {}):
            return self._code_deadline()
        return None

    def remaining(self) -> timedelta | None:
        """Time left for the current step ("Kalan süre"), or ``None`` when none applies."""
        end = self.deadline()
        return None if end is None else max(end - self._now(), timedelta(0))

    def failure_report(self) -> str | None:
        """The reason to report to the portal when the flow ended without writing the PIN
        after the code was redeemed (so the portal closes the operation); else ``None``."""
        if self._operation is None or not self.state.ends_attempt:
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
        timeouts = RESET_TIMEOUTS.get(self.state, {})
        if _X.TIME_RAN_OUT in timeouts:
            end = self._code_deadline()
            if end is not None and now >= end:
                raise self._leave(_X.TIME_RAN_OUT, FlowCodeExpiredError())
        if (
            _X.PIN_ENTRY_TIME_RAN_OUT in timeouts
            and self._pin_deadline is not None
            and now >= self._pin_deadline
        ):
            raise self._leave(_X.PIN_ENTRY_TIME_RAN_OUT, PinEntryTimeoutError())

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

    # -- handlers: each applies one event's rules and says which way the table goes --

    def _handle(self, event: Event) -> FlowExit | None:  # noqa: PLR0912 (one case an event reads best as one match)
        exit_: FlowExit | None = None
        match event:
            case CodeEntered():
                exit_ = self._code_entered(event)
            case CodeRedeemed():
                exit_ = self._code_redeemed(event)
            case CardChosen():
                exit_ = self._card_chosen(event)
            case PinChosen():
                exit_ = self._pin_chosen(event)
            case ChallengeSent():
                self._portal_attempts = event.attempts_remaining
                self._challenge_deadline = event.expires_at
                self._challenges_left = event.challenges_remaining
                self._challenge_method = event.method
            case NewSmsDeclined():
                raise self._leave(None, NewSmsDeclinedError(method=self._challenge_method))
            case ConfirmationRejected():
                exit_ = self._confirmation_rejected(event)
            case Confirmed() | NewSmsRequested():
                pass
            case AuthorizationReceived():
                exit_ = self._authorization_received(event)
            case PinWritten():
                self._forget_secrets()
            case ResultReported():
                self._reported = True
            case ErrorOccurred():
                exit_ = self._error_occurred(event)
            case _:  # pragma: no cover - the table admits only the events above
                raise IllegalTransitionError(state=self.state.name, event=type(event).name())
        return exit_

    def _code_entered(self, event: CodeEntered) -> FlowExit | None:
        if event.code.is_expired(self._now()):
            raise self._leave(_X.CODE_ALREADY_EXPIRED, FlowCodeExpiredError())
        self._code = event.code
        self._card_serial = event.card_serial
        self._operation = None
        self._card = None
        self._pin_deadline = None
        self._confirmation_failures = 0
        self._portal_attempts = None
        self._challenge_deadline = None
        self._challenges_left = None
        self._notices = []
        self._error = None
        return None

    def _code_redeemed(self, event: CodeRedeemed) -> FlowExit | None:
        op = event.operation
        if op.card_serial != self._card_serial:
            raise self._leave(_X.OPERATION_REFUSED, WrongCardError())
        if op.product is not self.product:
            other = WrongProductError(product=self.product, found={op.product})
            raise self._leave(_X.OPERATION_REFUSED, other)
        # From here on, a refusal is reported to the portal. The portal's word on the
        # certificates is judged once the card is chosen: by serial number against the
        # certificates actually on the card, before any PIN is asked.
        self._operation = op
        return None

    def _card_chosen(self, event: CardChosen) -> FlowExit | None:
        card, op = event.card, self._redeemed()
        refusal: KamusmError | None = None
        # A person's card (NES) names its holder's T.C. Kimlik No in its certificates: it must
        # be the code's holder. A Mali Mühür card names the company (VKN), not a person: its
        # ownership is what the portal confirmed when it redeemed the code for this card.
        names_person = bool(card.holders) or self.product is Product.NES
        if not card.present:
            refusal = TokenNotFoundError()
        elif card.busy:
            refusal = TokenBusyError()
        elif card.serial != op.card_serial:
            refusal = WrongCardError()
        elif self.product not in card.products:
            refusal = WrongProductError(product=self.product, found=card.products)
        elif names_person and op.holder not in card.holders:
            refusal = WrongHolderError()
        if refusal is not None:
            raise self._leave(_X.CARD_REFUSED, refusal)
        self._check_card_certificates(card)
        self._card = card
        limits = [self._now() + self.pin_entry_timeout]
        if op.pin_entry_deadline is not None:
            limits.append(op.pin_entry_deadline)
        self._pin_deadline = min(limits)
        return None

    def _check_card_certificates(self, card: CardFacts) -> None:
        """The card's own certificates, whatever the portal said: when every one of the
        product has expired the card can no longer sign; when none is valid yet the holder is
        told from when it signs. Then the portal's statuses are matched to them by serial
        number: a card whose usable certificates the portal lists as revoked gets no PIN,
        and what does not match (a status for a certificate not on the card, a certificate
        the portal does not list) is told as it is."""
        now = self._now()
        mine = [c for c in card.certificates if c.product is self.product]
        valid_until = card.valid_until.get(self.product)
        if mine:
            valid_until = max(c.not_after for c in mine)
        if valid_until is not None and valid_until <= now:
            error = CertificateExpiredError(product=self.product, expired_on=valid_until.date())
            raise self._leave(_X.CERTIFICATE_UNUSABLE, error)
        usable = [c for c in mine if c.not_before <= now < c.not_after]
        if mine and not usable:  # none expired them all, none valid now: valid from later
            usable = [c for c in mine if now < c.not_before]
            start = min(c.not_before for c in usable).date()
            self._notices.append(
                CertificateNotYetValidError(product=self.product, valid_from=start)
            )
        self._match_portal_statuses(mine, usable, valid_until)

    def _match_portal_statuses(
        self,
        mine: list[CardCertificate],
        usable: list[CardCertificate],
        valid_until: datetime | None,
    ) -> None:
        op = self._redeemed()
        listed: dict[str, str] = {}
        ends: dict[str, date] = {}
        for cert in getattr(op, "certificates", ()) or ():
            status = getattr(cert, "status", None)  # a status enum, or its text
            key = _serial_key(str(getattr(cert, "serial_number", "")))
            listed[key] = str(getattr(status, "value", status))
            end = getattr(cert, "not_after", None)
            if isinstance(end, datetime):
                ends[key] = end.date()
        if not listed or not mine:
            # Nothing to match by serial number: the portal's summary is all there is.
            self._judge_summary(valid_until, ends)
            return
        on_card = {_serial_key(c.serial_number) for c in mine}
        elsewhere = sorted(set(listed) - on_card)
        if elsewhere:
            self._notices.append(CertificateNotOnCardError(serials=elsewhere))
        unlisted = sorted(on_card - set(listed))
        if unlisted:
            self._notices.append(CertificateNotListedError(serials=unlisted))
        statuses = {listed.get(_serial_key(c.serial_number)) for c in usable}
        if statuses == {"revoked"}:  # every usable certificate, each listed as revoked
            raise self._leave(
                _X.CERTIFICATE_UNUSABLE, CertificateRevokedError(product=self.product)
            )
        if "expired" in statuses and statuses <= {"expired", "revoked"}:
            # The portal's records end them, whatever the card's dates say: the day is the
            # latest end the portal gives for the card's own certificates.
            days = [ends[k] for c in usable if (k := _serial_key(c.serial_number)) in ends]
            error = CertificateExpiredError(
                product=self.product, expired_on=max(days) if days else None
            )
            raise self._leave(_X.CERTIFICATE_UNUSABLE, error)
        if "suspended" in statuses and "active" not in statuses:
            self._notices.append(CertificateSuspendedError(product=self.product))

    def _judge_summary(self, valid_until: datetime | None, ends: dict[str, date]) -> None:
        """No certificate of the card could be matched to the portal's listing (the portal
        gave none, or the driver read none from the card): the operation's summary status
        decides. The expiry day is the card's own, else the latest the portal lists."""
        status = getattr(self._redeemed(), "certificate_status", None)
        if status == "revoked":
            raise self._leave(
                _X.CERTIFICATE_UNUSABLE, CertificateRevokedError(product=self.product)
            )
        if status == "expired":
            days = [valid_until.date()] if valid_until is not None else list(ends.values())
            error = CertificateExpiredError(
                product=self.product, expired_on=max(days) if days else None
            )
            raise self._leave(_X.CERTIFICATE_UNUSABLE, error)
        if status == "suspended":
            self._notices.append(CertificateSuspendedError(product=self.product))

    def _pin_chosen(self, event: PinChosen) -> FlowExit | None:
        op = self._redeemed()
        self._chosen_card()
        try:
            self._new_pin = self.pin_policy().check(
                event.new,
                confirmation=event.confirmation,
                tckn=op.holder,
                birth_date=event.birth_date,
            )
        except InputError as refused:  # the holder types the PIN again
            raise self._leave(_X.PIN_REFUSED, refused) from None
        return None

    def _confirmation_rejected(self, event: ConfirmationRejected) -> FlowExit | None:
        self._confirmation_failures += 1
        self._portal_attempts = event.attempts_remaining
        if event.attempts_remaining <= 0 or self.confirmation_attempts_left <= 0:
            error = TooManyAttemptsError(attempts=self._confirmation_failures)
            raise self._leave(_X.TOO_MANY_ATTEMPTS, error)
        return None

    def _authorization_received(self, event: AuthorizationReceived) -> FlowExit | None:
        auth = event.authorization
        if auth.card_serial != self._card_serial:
            raise self._leave(_X.AUTHORIZATION_REFUSED, AuthorizationCardMismatchError())
        if auth.is_spent:
            raise self._leave(_X.AUTHORIZATION_REFUSED, AuthorizationSpentError())
        self._authorization = auth
        return None

    def _error_occurred(self, event: ErrorOccurred) -> FlowExit | None:
        err = event.error
        if self.state is ResetState.PIN_WRITTEN:
            # The card is fully reset; only the report failed. The flow is done, unreported.
            logger.info("PIN written; the result could not be reported: %s", type(err).__name__)
            self._forget_secrets()
            return None
        if isinstance(err, SmsCodeExpiredError) and self.state is ResetState.CHALLENGE_SENT:
            # Only the SMS code ran out: while the verification code and the operation are
            # still valid the holder is offered a new one, unless the portal said it sends
            # no more for this operation; then the holder is told why and needs a new code.
            end = self._code_deadline()
            if end is not None and self._now() >= end:
                raise self._leave(_X.TIME_RAN_OUT, FlowCodeExpiredError())
            self._challenge_deadline = None
            if self._challenges_left is not None and self._challenges_left <= 0:
                limit = SmsLimitReachedError(method=self._challenge_method)
                raise self._leave(_X.SMS_LIMIT_REACHED, limit)
            if self._challenge_method != err.method:  # the portal's code says "sms_expired"
                err = SmsCodeExpiredError(status=err.status, method=self._challenge_method)
            raise self._leave(_X.SMS_EXPIRED, err)
        if isinstance(err, VerificationCodeExpiredError | SmsCodeExpiredError):
            raise self._leave(_X.PORTAL_EXPIRED, FlowCodeExpiredError())
        if isinstance(err, VerificationCodeInvalidError) and self.state is ResetState.CODE_ENTERED:
            # A mistyped code: nothing happened yet, the holder types it again.
            self._code = None
            raise self._leave(_X.CODE_MISTYPED, err)
        if isinstance(err, OperationCancelledError):
            if self.state is ResetState.CHALLENGE_SENT:
                attempts = self._confirmation_failures + 1
                raise self._leave(_X.TOO_MANY_ATTEMPTS, TooManyAttemptsError(attempts=attempts))
            raise self._leave(_X.PORTAL_CANCELLED, err)
        raise self._leave(None, err)


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

    #: Read the token's PIN status and limits (costs no try) and the holder of its certificates.
    READ_STATUS = "read_status"
    #: Ask the holder to accept that one more wrong PIN locks the card.
    ACKNOWLEDGE_FINAL_TRY = "acknowledge_final_try"
    #: Ask the old PIN and the new one twice.
    ENTER_PINS = "enter_pins"
    #: C_SetPIN on the token.
    CHANGE_PIN = "change_pin"
    #: Log in with the new PIN.
    VERIFY_NEW_PIN = "verify_new_pin"
    NOTHING = "nothing"


_C = ChangeState
_CHANGE_CANCEL = FlowMove(_C.CANCELLED)

#: ``{state: {event: move}}`` for a PIN change. A locked PIN ends the flow with a route to the
#: portal reset; a final try needs an explicit acknowledgement; a wrong old PIN goes back to
#: PIN entry, or to the acknowledgement, by the status the token reported.
CHANGE_MOVES: Mapping[ChangeState, Mapping[type[Event], FlowMove[ChangeState]]] = {
    _C.START: {
        StatusRead: FlowMove(
            _C.READY, {_X.LOCKED: _C.FAILED, _X.FINAL_TRY: _C.NEEDS_ACKNOWLEDGEMENT}
        ),
        FlowCancelled: _CHANGE_CANCEL,
        ErrorOccurred: FlowMove(_C.FAILED),
    },
    _C.NEEDS_ACKNOWLEDGEMENT: {
        FinalTryAcknowledged: FlowMove(_C.READY),
        FlowCancelled: _CHANGE_CANCEL,
    },
    _C.READY: {
        PinsEntered: FlowMove(_C.PINS_CHOSEN, {_X.PIN_REFUSED: _C.READY}),
        FlowCancelled: _CHANGE_CANCEL,
    },
    _C.PINS_CHOSEN: {
        PinChanged: FlowMove(_C.CHANGED),
        ErrorOccurred: FlowMove(
            _C.FAILED,
            {
                _X.WRONG_OLD_PIN: _C.READY,
                _X.FINAL_TRY: _C.NEEDS_ACKNOWLEDGEMENT,
                _X.LOCKED: _C.FAILED,
            },
        ),
        FlowCancelled: _CHANGE_CANCEL,
    },
    _C.CHANGED: {NewPinVerified: FlowMove(_C.DONE), ErrorOccurred: FlowMove(_C.FAILED)},
}

#: ``{state: {event: next state}}``: where each event of a change leads when every rule holds.
CHANGE_TRANSITIONS: Mapping[ChangeState, Mapping[type[Event], ChangeState]] = _targets(CHANGE_MOVES)

_CHANGE_STEPS: Mapping[ChangeState, ChangeStep] = {
    _C.START: ChangeStep.READ_STATUS,
    _C.NEEDS_ACKNOWLEDGEMENT: ChangeStep.ACKNOWLEDGE_FINAL_TRY,
    _C.READY: ChangeStep.ENTER_PINS,
    _C.PINS_CHOSEN: ChangeStep.CHANGE_PIN,
    _C.CHANGED: ChangeStep.VERIFY_NEW_PIN,
}


class PinChangeFlow(_Machine[ChangeState, ChangeStep]):
    """Changing a PIN the holder knows: status first, policy, C_SetPIN, then a login with the
    new PIN. It does no I/O."""

    initial: ClassVar[ChangeState] = ChangeState.START
    _moves: ClassVar[Mapping[Any, Mapping[type[Event], FlowMove[Any]]]] = CHANGE_MOVES
    _steps: ClassVar[Mapping[Any, Any]] = _CHANGE_STEPS
    _nothing = ChangeStep.NOTHING
    _failed = ChangeState.FAILED

    def __init__(self, *, policy: PinPolicy | None = None) -> None:
        super().__init__(self.initial, None)  # no rule of a change depends on time
        self.policy = policy if policy is not None else PinPolicy()
        self._status: PinStatus | None = None
        self._limits: tuple[int | None, int | None] = (None, None)
        self._product: Product | None = None
        self._acknowledged = False
        self._old: Pin | None = None
        self._new: Pin | None = None

    def __repr__(self) -> str:
        return f"PinChangeFlow(state={self._state.name})"

    @property
    def status(self) -> PinStatus | None:
        """The last PIN status the token reported."""
        return self._status

    def pin_policy(self) -> PinPolicy:
        """The policy a new PIN must pass, narrowed by the token's limits once read."""
        return self.policy.narrow(*self._limits)

    @property
    def final_try_acknowledged(self) -> bool:
        """Whether the token layer may spend the final try (pass it on as
        ``acknowledge_final_try``)."""
        return self._acknowledged

    @property
    def pins(self) -> tuple[Pin, Pin] | None:
        """``(old, new)`` once accepted, until the PIN is changed."""
        return None if self._old is None or self._new is None else (self._old, self._new)

    @property
    def new_pin(self) -> Pin | None:
        """The accepted new PIN, until it has been verified."""
        return self._new

    def _forget_secrets(self) -> None:
        self._old = self._new = None

    def _judge_status(self, status: PinStatus) -> FlowExit | None:
        """A locked PIN ends the change (a route to the portal reset); a final try not yet
        acknowledged goes to the acknowledgement."""
        self._status = status
        if status.locked:
            raise self._leave(_X.LOCKED, PinLockedUseResetError(product=self._product))
        if status.final_try and not self._acknowledged:
            return _X.FINAL_TRY
        return None

    def _handle(self, event: Event) -> FlowExit | None:
        exit_: FlowExit | None = None
        match event:
            case StatusRead():
                self._limits = (event.min_pin_length, event.max_pin_length)
                only = next(iter(event.products)) if len(event.products) == 1 else None
                self._product = only
                exit_ = self._judge_status(event.status)
            case FinalTryAcknowledged():
                self._acknowledged = True
            case PinsEntered():
                exit_ = self._pins_entered(event)
            case PinChanged():
                self._old = None
            case NewPinVerified():
                self._forget_secrets()
            case ErrorOccurred():
                exit_ = self._error_occurred(event)
            case _:  # pragma: no cover - the table admits only the events above
                raise IllegalTransitionError(state=self.state.name, event=type(event).name())
        return exit_

    def _pins_entered(self, event: PinsEntered) -> FlowExit | None:
        try:
            old = self.policy.check_current(event.old)  # digits, not code-shaped; or raises
            new = self.pin_policy().check(
                event.new,
                confirmation=event.confirmation,
                tckn=event.tckn,
                birth_date=event.birth_date,
                old=event.old,
            )
        except InputError as refused:  # the holder types the PINs again
            raise self._leave(_X.PIN_REFUSED, refused) from None
        self._old, self._new = old, new
        return None

    def _error_occurred(self, event: ErrorOccurred) -> FlowExit | None:
        err = event.error
        if self.state is ChangeState.CHANGED:
            raise self._leave(None, PinVerificationFailedError())
        if self.state is not ChangeState.PINS_CHOSEN:
            raise self._leave(None, err)
        self._forget_secrets()
        if isinstance(err, PinIncorrectError) and err.status is not None:
            # Wrong old PIN: back to PIN entry, judged by the status re-read after it. A
            # locked card ends the flow with the token's own "locked" message.
            self._acknowledged = False
            self._status = err.status
            if err.status.locked:
                if err.product is None:
                    err.product = self._product  # its advice names the card's own route
                raise self._leave(_X.LOCKED, err)
            raise self._leave(self._judge_status(err.status) or _X.WRONG_OLD_PIN, err)
        if isinstance(err, PinLockedError):
            raise self._leave(_X.LOCKED, PinLockedUseResetError(product=self._product))
        if isinstance(err, FinalTryNotAcknowledgedError):
            raise self._leave(_X.FINAL_TRY, err)
        raise self._leave(None, err)
