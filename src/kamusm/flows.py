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
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from kamusm.errors import (
    AuthorizationCardMismatchError,
    AuthorizationSpentError,
    FinalTryNotAcknowledgedError,
    FlowBusyError,
    FlowCancelledError,
    FlowCodeExpiredError,
    FlowFailedError,
    IllegalTransitionError,
    InputError,
    KamusmError,
    OperationCancelledError,
    PinEntryTimeoutError,
    PinIncorrectError,
    PinLockedError,
    PinLockedUseResetError,
    PinVerificationFailedError,
    SmsCodeExpiredError,
    SmsCodeRejectedError,
    TokenBusyError,
    TokenNotFoundError,
    TokenRemovedError,
    TooManyAttemptsError,
    VerificationCodeExpiredError,
    VerificationCodeInvalidError,
    WrongCardError,
    WrongHolderError,
    WrongProductError,
)
from kamusm.messages import DEFAULT_LANGUAGE, Language
from kamusm.policy import PinPolicy
from kamusm.values import (
    DEFAULT_SMS_CODE_LENGTH,
    Clock,
    Pin,
    PinStatus,
    Product,
    SmsCode,
    SystemClock,
    Tckn,
    UnblockAuthorization,
    VerificationCode,
)

if TYPE_CHECKING:
    from kamusm.certs import CardSummary, CertificateInfo
    from kamusm.portal import AsyncPortalClient, PortalClient
    from kamusm.token import Pkcs11Module, Token

__all__ = [
    "CHANGE_TRANSITIONS",
    "RESET_TRANSITIONS",
    "AsyncChangePrompts",
    "AsyncResetPrompts",
    "AuthorizationReceived",
    "CardChoice",
    "CardChosen",
    "CardFacts",
    "ChallengeSent",
    "ChangePrompts",
    "ChangeResult",
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
    "ResetPrompts",
    "ResetResult",
    "ResetState",
    "ResetStep",
    "ResultReported",
    "StatusRead",
    "achange_pin",
    "areset_pin",
    "change_pin",
    "reset_pin",
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


def _is(*kinds: type, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: the value must be one of ``kinds`` (or None when ``optional``);
    anything else is bad input, reported as :class:`~kamusm.errors.InputError`."""

    def check(_: object, __: object, value: object) -> None:
        if (value is None and optional) or isinstance(value, kinds):
            return
        raise InputError()

    return check


_PIN_TEXT = _is(str, Pin)


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
    """The portal sent the confirmation challenge (SMS code or web password)."""

    expires_at: datetime | None = attrs.field(default=None, validator=_is(datetime, optional=True))
    attempts_remaining: int | None = attrs.field(default=None, validator=_is(int, optional=True))


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
    """States know whether they end the flow."""

    @property
    def terminal(self) -> bool:
        return self.name in {"DONE", "FAILED", "CANCELLED"}


Transitions = Mapping[Any, Mapping[type[Event], Any]]
_S = TypeVar("_S", bound=_State)
_P = TypeVar("_P", bound=enum.Enum)


class _Machine(Generic[_S, _P]):
    """A table-driven machine: ``send`` looks the event up in the table, runs the event's
    handler (which enforces the rules and may divert to a failure state), and moves on.
    ``_steps`` says what a driver does in each state; ``_nothing`` when nothing is left."""

    _table: ClassVar[Transitions]
    _steps: ClassVar[Mapping[Any, Any]]
    _nothing: ClassVar[Any]
    _failed: ClassVar[Any]
    _cancelled: ClassVar[Any]

    def __init__(self, initial: _S, clock: Clock | None) -> None:
        self._state: _S = initial
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._error: KamusmError | None = None

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
        """The error that ended the flow, if one did."""
        return self._error

    def allowed_events(self) -> frozenset[type[Event]]:
        """The events the current state accepts."""
        return frozenset(self._table.get(self._state, {}))

    def _now(self) -> datetime:
        return self._clock.now()

    def send(self, event: Event) -> None:
        """Feed one event. Raises when the event is not allowed now or breaks a rule."""
        if not isinstance(event, Event):
            raise InputError()
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

    def _end(self, state: _S, error: KamusmError) -> KamusmError:
        """Move to a final ``state`` because of ``error`` and return the error to raise."""
        logger.info("%s ends in %s: %s", type(self).__name__, state.name, type(error).__name__)
        self._state = state
        self._error = error
        self._forget_secrets()
        return error

    def _forget_secrets(self) -> None:
        """Drop every secret the machine holds."""

    def _on_FlowCancelled(self, event: FlowCancelled, target: _S) -> _S:
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


class PinResetFlow(_Machine[ResetState, ResetStep]):
    """The application side of a PIN reset ("PIN Oluşturma/Kilit Çözme") for one product.

    Drive it with :meth:`send`; :attr:`step` says what to do next. It does no I/O.
    """

    _table: ClassVar[Transitions] = RESET_TRANSITIONS
    _steps: ClassVar[Mapping[Any, Any]] = _RESET_STEPS
    _nothing = ResetStep.NOTHING
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
        sms_code_length: int = DEFAULT_SMS_CODE_LENGTH,
    ) -> None:
        super().__init__(ResetState.AWAITING_CODE, clock)
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
        self._authorization: UnblockAuthorization | None = None
        self._reported = False

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

    def _on_CodeEntered(self, event: CodeEntered, target: ResetState) -> ResetState:
        if event.code.is_expired(self._now()):
            raise self._expire(FlowCodeExpiredError())
        self._code = event.code
        self._card_serial = event.card_serial
        self._operation = None
        self._card = None
        self._pin_deadline = None
        self._confirmation_failures = 0
        self._portal_attempts = None
        self._error = None
        return target

    def _on_CodeRedeemed(self, event: CodeRedeemed, target: ResetState) -> ResetState:
        op = event.operation
        if op.card_serial != self._card_serial:
            raise self._end(ResetState.FAILED, WrongCardError())
        if op.product is not self.product:
            raise self._end(
                ResetState.FAILED, WrongProductError(product=self.product.display("en"))
            )
        self._operation = op
        return target

    def _on_CardChosen(self, event: CardChosen, target: ResetState) -> ResetState:
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
        # A person's card (NES) names its holder's T.C. Kimlik No in its certificates: it must
        # be the code's holder. A Mali Mühür card names the company (VKN), not a person: its
        # ownership is what the portal confirmed when it redeemed the code for this card.
        names_person = bool(card.holders) or self.product is Product.NES
        if names_person and op.holder not in card.holders:
            raise self._end(ResetState.FAILED, WrongHolderError())
        self._card = card
        limits = [self._now() + self.pin_entry_timeout]
        if op.pin_entry_deadline is not None:
            limits.append(op.pin_entry_deadline)
        self._pin_deadline = min(limits)
        return target

    def _on_PinChosen(self, event: PinChosen, target: ResetState) -> ResetState:
        op = self._redeemed()
        self._chosen_card()
        policy = self.pin_policy()
        # A policy error leaves the state as it is: the holder types the PIN again.
        self._new_pin = policy.check(
            event.new, confirmation=event.confirmation, tckn=op.holder, birth_date=event.birth_date
        )
        return target

    def _on_ChallengeSent(self, event: ChallengeSent, target: ResetState) -> ResetState:
        self._portal_attempts = event.attempts_remaining
        return target

    def _on_ConfirmationRejected(
        self, event: ConfirmationRejected, target: ResetState
    ) -> ResetState:
        self._confirmation_failures += 1
        self._portal_attempts = event.attempts_remaining
        if event.attempts_remaining <= 0 or self.confirmation_attempts_left <= 0:
            raise self._end(
                ResetState.CANCELLED, TooManyAttemptsError(attempts=self._confirmation_failures)
            )
        return target

    def _on_Confirmed(self, event: Confirmed, target: ResetState) -> ResetState:
        return target

    def _on_AuthorizationReceived(
        self, event: AuthorizationReceived, target: ResetState
    ) -> ResetState:
        auth = event.authorization
        if auth.card_serial != self._card_serial:
            raise self._end(ResetState.FAILED, AuthorizationCardMismatchError())
        if auth.is_spent:
            raise self._end(ResetState.FAILED, AuthorizationSpentError())
        self._authorization = auth
        return target

    def _on_PinWritten(self, event: PinWritten, target: ResetState) -> ResetState:
        self._forget_secrets()
        return target

    def _on_ResultReported(self, event: ResultReported, target: ResetState) -> ResetState:
        self._reported = True
        return target

    def _on_ErrorOccurred(self, event: ErrorOccurred, target: ResetState) -> ResetState:
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


class PinChangeFlow(_Machine[ChangeState, ChangeStep]):
    """Changing a PIN the holder knows: status first, policy, C_SetPIN, then a login with the
    new PIN. It does no I/O."""

    _table: ClassVar[Transitions] = CHANGE_TRANSITIONS
    _steps: ClassVar[Mapping[Any, Any]] = _CHANGE_STEPS
    _nothing = ChangeStep.NOTHING
    _failed = ChangeState.FAILED
    _cancelled = ChangeState.CANCELLED

    def __init__(self, *, policy: PinPolicy | None = None) -> None:
        super().__init__(ChangeState.START, None)  # no rule of a change depends on time
        self.policy = policy if policy is not None else PinPolicy()
        self._status: PinStatus | None = None
        self._limits: tuple[int | None, int | None] = (None, None)
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

    def _judge_status(self, status: PinStatus, ready: ChangeState) -> ChangeState:
        self._status = status
        if status.locked:
            raise self._end(ChangeState.FAILED, PinLockedUseResetError())
        if status.final_try and not self._acknowledged:
            return ChangeState.NEEDS_ACKNOWLEDGEMENT
        return ready

    def _on_StatusRead(self, event: StatusRead, target: ChangeState) -> ChangeState:
        self._limits = (event.min_pin_length, event.max_pin_length)
        return self._judge_status(event.status, target)

    def _on_FinalTryAcknowledged(
        self, event: FinalTryAcknowledged, target: ChangeState
    ) -> ChangeState:
        self._acknowledged = True
        return target

    def _on_PinsEntered(self, event: PinsEntered, target: ChangeState) -> ChangeState:
        old = self.policy.check_current(event.old)  # digits, not code-shaped; or raises
        new = self.pin_policy().check(
            event.new,
            confirmation=event.confirmation,
            tckn=event.tckn,
            birth_date=event.birth_date,
            old=event.old,
        )
        self._old, self._new = old, new
        return target

    def _on_PinChanged(self, event: PinChanged, target: ChangeState) -> ChangeState:
        self._old = None
        return target

    def _on_NewPinVerified(self, event: NewPinVerified, target: ChangeState) -> ChangeState:
        self._forget_secrets()
        return target

    def _on_ErrorOccurred(self, event: ErrorOccurred, target: ChangeState) -> ChangeState:
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


# ==== drivers ===================================================================================
#
# Each driver is written once, as a generator that yields effects (ask the person, call the
# portal, call the token) and receives their results. Two small runners perform the effects:
# one blocking, one async (token calls go to a worker thread there). The generators hold no
# rule: they read what the machine wants (``flow.step``), do it, and send back what happened.


@attrs.frozen
class CardChoice:
    """One card offered in the card picker ("Kart Seçiniz")."""

    serial: str
    label: str
    pin_status: PinStatus
    summary: CardSummary | None = None

    def display(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The holder's name and masked T.C. Kimlik No when the card's certificates tell."""
        if self.summary is None:
            return self.label
        return self.summary.display(lang)


@attrs.frozen
class ResetResult:
    """A finished reset: the card now has the new PIN."""

    card_serial: str
    product: Product
    reported: bool


@attrs.frozen
class ChangeResult:
    """A finished change: the card has the new PIN and a login with it succeeded."""

    card_serial: str


class ResetPrompts(Protocol):
    """How a reset asks a person. Return ``None`` from any question to cancel; the card is then
    left as it was. A DYS user interface, a script and the command line implement this."""

    def verification_code(self, *, length: int, expired: bool) -> str | VerificationCode | None:
        """The verification code from the portal (``expired``: the last one ran out)."""
        ...

    def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        """The serial of the card to unblock; ``""`` to have the cards read again (say, after
        asking the person to insert one)."""
        ...

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[str | Pin, str | Pin] | None:
        """The new PIN and its confirmation."""
        ...

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        """The SMS code (or the web password, by ``method``)."""
        ...

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        """The flow moved to ``step``; ``remaining`` is its time left, when one applies."""
        ...

    def problem(self, error: KamusmError) -> None:
        """Show an error after which the same question is asked again."""
        ...


class ChangePrompts(Protocol):
    """How a PIN change asks a person. Return ``None`` (or ``False``) to cancel."""

    def acknowledge_final_try(self) -> bool | None:
        """Whether the holder accepts that one more wrong PIN locks the card."""
        ...

    def pins(
        self, *, min_length: int, max_length: int
    ) -> tuple[str | Pin, str | Pin, str | Pin] | None:
        """The old PIN, the new PIN and its confirmation."""
        ...

    def progress(self, step: ChangeStep, *, remaining: timedelta | None) -> None: ...

    def problem(self, error: KamusmError) -> None: ...


@attrs.frozen
class _Ask:
    question: str
    kwargs: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class _Call:
    target: object
    method: str
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = attrs.field(factory=dict)
    blocking: bool = True  # a token call; portal calls are awaited in the async runner


_T = TypeVar("_T")


def _run(program: Generator[_Ask | _Call, Any, _T], prompts: object) -> _T:
    """Perform a driver program's effects, blocking."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = program.send(value) if error is None else program.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(effect, _Ask):
                    value = getattr(prompts, effect.question)(**effect.kwargs)
                else:
                    value = getattr(effect.target, effect.method)(*effect.args, **effect.kwargs)
            except Exception as exc:  # noqa: BLE001 (handed to the program, which decides)
                error = exc
    finally:
        program.close()


async def _worker(call: Callable[[], _T]) -> _T:
    """Run a blocking call in a worker thread. If the task is cancelled meanwhile, it still
    waits for the call to end, so a PIN being written is never abandoned half-way."""
    import anyio.to_thread  # noqa: PLC0415 (only async callers need it)

    return await anyio.to_thread.run_sync(call)


async def _arun(program: Generator[_Ask | _Call, Any, _T], prompts: object) -> _T:
    """Perform a driver program's effects without blocking the event loop: token calls run in
    a worker thread, portal calls and prompts are awaited."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = program.send(value) if error is None else program.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(effect, _Ask):
                    ask = getattr(prompts, effect.question)
                    if inspect.iscoroutinefunction(ask):
                        value = await ask(**effect.kwargs)
                    else:  # a blocking question (input()) must not hold up the event loop
                        value = await _worker(functools.partial(ask, **effect.kwargs))
                else:
                    call = functools.partial(
                        getattr(effect.target, effect.method), *effect.args, **effect.kwargs
                    )
                    value = await (_worker(call) if effect.blocking else call())
            except Exception as exc:  # noqa: BLE001 (handed to the program, which decides)
                error = exc
    finally:
        program.close()


class _ActiveCards:
    """Cards with a flow running in this process: a second flow for one card is refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serials: set[str] = set()

    def reserve(self, serial: str) -> None:
        with self._lock:
            if serial in self._serials:
                raise FlowBusyError()
            self._serials.add(serial)

    def release(self, serial: str | None) -> None:
        with self._lock:
            self._serials.discard(serial or "")


_ACTIVE = _ActiveCards()


def _readable_certificates(token: Any) -> Generator[_Ask | _Call, Any, list[CertificateInfo]]:
    """The token's certificates that parse; a damaged object is left out (and logged), so one
    bad object cannot hide the card's holder or stop a flow."""
    from kamusm.certs import read_certificates  # noqa: PLC0415 (asn1crypto only when needed)

    readable, unreadable = read_certificates((yield _Call(token, "certificate_objects")))
    if unreadable:
        logger.debug(
            "%d unreadable certificate objects on token %s left out", len(unreadable), token.serial
        )
    return readable


def _read_card(module: Any, serial: str) -> Generator[_Ask | _Call, Any, CardFacts]:
    """Read what the machine needs to judge a card, spending no PIN try. A missing or busy
    card is a fact for the machine; any other failure is raised for the machine to judge."""
    try:
        token = yield _Call(module, "token", kwargs={"serial": serial})  # reads its info
        certs = yield from _readable_certificates(token)
    except (TokenNotFoundError, TokenRemovedError):
        return CardFacts(serial=serial, present=False)
    except TokenBusyError:
        return CardFacts(serial=serial, busy=True)
    info = token.info
    return CardFacts(
        serial=info.serial,
        products=frozenset(c.product for c in certs if c.product is not None),
        holders=frozenset(c.tckn for c in certs if c.tckn is not None),
        min_pin_length=info.min_pin_length,
        max_pin_length=info.max_pin_length,
        pin_status=info.pin_status,
    )


def _card_choices(module: Any) -> Generator[_Ask | _Call, Any, list[CardChoice]]:
    from kamusm.certs import CardSummary  # noqa: PLC0415 (asn1crypto only when needed)
    from kamusm.token import Token  # noqa: PLC0415 (pkcs11 only in the drivers)

    choices = []
    for info in (yield _Call(module, "tokens")):  # one listing serves every card
        summary = None
        try:
            certs = yield from _readable_certificates(Token(module, info))
            summary = CardSummary.from_certificates(certs) if certs else None
        except KamusmError as exc:
            logger.debug("card %s: certificates not readable (%s)", info.serial, type(exc).__name__)
        choices.append(CardChoice(info.serial, info.label, info.pin_status, summary))
    return choices


def _perform(
    flow: PinResetFlow | PinChangeFlow,
    call: _Call,
    *,
    passthrough: tuple[type[KamusmError], ...] = (),
) -> Generator[_Ask | _Call, Any, Any]:
    """Perform ``call``; a failure goes to the machine, which decides what it means (and
    raises the error it decided on, unless the failure ends nothing)."""
    try:
        return (yield call)
    except passthrough:
        raise
    except KamusmError as exc:
        flow.send(ErrorOccurred(exc))
        return None


# Errors after which the same question is asked again: bad input, and answers the portal
# refused while the flow goes on.
_ASK_AGAIN = (InputError, SmsCodeRejectedError, VerificationCodeInvalidError)


_Effects = Generator[_Ask | _Call, Any, None]


class _Abandoned(Exception):  # noqa: N818 (a signal inside the driver, never seen outside)
    """The person gave no new code after the last one expired: the expiry is the outcome."""

    def __init__(self, error: KamusmError) -> None:
        super().__init__()
        self.error = error


class _ResetProgram:
    """The reset driver: one generator per step of the machine, nothing decided here."""

    def __init__(
        self,
        flow: PinResetFlow,
        module: Any,
        portal: Any,
        *,
        birth_date: date | None,
        challenge_method: str,
    ) -> None:
        self.flow, self.module, self.portal = flow, module, portal
        self.birth_date = birth_date
        self.method = challenge_method
        self.serial: str | None = None
        self.code: VerificationCode | None = None  # typed, not yet entered into the flow
        self.challenge: Any = None
        self.authorization: UnblockAuthorization | None = None  # between two steps only

    def run(self) -> Generator[_Ask | _Call, Any, ResetResult]:
        flow = self.flow
        closing = False
        try:
            while flow.step is not ResetStep.NOTHING:
                step = flow.step
                yield _Ask("progress", {"step": step, "remaining": flow.remaining()})
                try:
                    yield from getattr(self, f"_{step.value}")()
                except _ASK_AGAIN as exc:
                    if flow.state.terminal:
                        raise
                    yield _Ask("problem", {"error": exc})
                except KamusmError as exc:
                    if flow.state is not ResetState.EXPIRED:
                        raise
                    yield _Ask("problem", {"error": exc})  # the next step asks for a new code
            return ResetResult(flow.card_serial or "", flow.product, flow.reported)
        except _Abandoned as stop:
            raise stop.error from None
        except GeneratorExit:
            closing = True
            raise
        finally:
            _ACTIVE.release(self.serial)
            if not closing:
                yield from self._report_failure()

    def _portal(self, name: str, *args: object, **kwargs: object) -> _Call:
        return _Call(self.portal, name, args, kwargs, blocking=False)

    def _enter_code(self) -> _Effects:
        flow = self.flow
        if self.code is None:
            length = flow.policy.verification_code_length
            expired = flow.state is ResetState.EXPIRED
            typed = yield _Ask("verification_code", {"length": length, "expired": expired})
            if typed is None and flow.error is not None:
                raise _Abandoned(flow.error)  # an expired code and no new one: it stands
            if typed is None:
                flow.send(FlowCancelled())
            self.code = (
                typed
                if isinstance(typed, VerificationCode)
                else VerificationCode.parse(typed, length=length)
            )
        chosen: str | None = ""
        while chosen == "":  # "" asks for the card list again (a card was just inserted)
            cards = yield from _card_choices(self.module)
            chosen = yield _Ask("choose_card", {"cards": cards})
        if chosen is None:
            flow.send(FlowCancelled())
        if chosen not in {c.serial for c in cards}:
            raise InputError()  # not one of the cards offered: choose again
        if chosen != self.serial:
            _ACTIVE.reserve(chosen)
            _ACTIVE.release(self.serial)
            self.serial = chosen
        code, self.code = self.code, None
        flow.send(CodeEntered(code, chosen))

    _enter_new_code = _enter_code

    def _redeem_code(self) -> _Effects:
        op = yield from _perform(
            self.flow, self._portal("redeem", self.flow.code, card_serial=self.serial)
        )
        self.flow.send(CodeRedeemed(op))

    def _choose_card(self) -> _Effects:
        try:
            facts = yield from _read_card(self.module, self.flow.card_serial or "")
        except KamusmError as exc:
            self.flow.send(ErrorOccurred(exc))  # the machine ends the flow on it
            return
        self.flow.send(CardChosen(facts))

    def _enter_new_pin(self) -> _Effects:
        policy = self.flow.pin_policy()
        limits = {"min_length": policy.min_length, "max_length": policy.max_length}
        typed = yield _Ask("new_pin", limits)
        if typed is None:
            self.flow.send(FlowCancelled())
        new, confirmation = typed
        self.flow.send(PinChosen(new, confirmation, birth_date=self.birth_date))

    def _request_challenge(self) -> _Effects:
        call = self._portal("request_challenge", self.flow.operation, method=self.method)
        self.challenge = yield from _perform(self.flow, call)
        self.flow.send(ChallengeSent(self.challenge.expires_at, self.challenge.attempts_remaining))

    def _enter_confirmation(self) -> _Effects:
        flow = self.flow
        answer = yield _Ask(
            "confirmation",
            {
                "method": self.method,
                "attempts_remaining": flow.confirmation_attempts_left,
                "masked_phone": getattr(self.challenge, "masked_phone", None),
            },
        )
        if answer is None:
            flow.send(FlowCancelled())
        if self.method == "sms":
            answer = SmsCode.parse(answer, length=flow.sms_code_length)
        call = self._portal("confirm_challenge", flow.operation, answer)
        try:
            auth = yield from _perform(flow, call, passthrough=(SmsCodeRejectedError,))
        except SmsCodeRejectedError as rejected:
            flow.send(ConfirmationRejected(rejected.attempts_remaining))
            raise
        flow.send(Confirmed())
        self.authorization = auth

    def _receive_authorization(self) -> _Effects:
        """The confirmation's answer carried the authorization: hand it to the machine, which
        checks it is for this card and unspent."""
        auth, self.authorization = self.authorization, None
        flow = self.flow
        if auth is None:  # pragma: no cover - the table allows this step only after Confirmed
            raise IllegalTransitionError(state=flow.state.name, event="AuthorizationReceived")
        flow.send(AuthorizationReceived(auth))
        yield from ()

    def _write_pin(self) -> _Effects:
        flow = self.flow
        token = yield from _perform(
            flow, _Call(self.module, "token", kwargs={"serial": flow.card_serial})
        )
        call = _Call(token, "unblock", (flow.authorization, flow.new_pin), {"clock": flow.clock})
        yield from _perform(flow, call)
        flow.send(PinWritten())

    def _report_result(self) -> _Effects:
        yield from _perform(
            self.flow, self._portal("report_result", self.flow.operation, success=True)
        )
        if self.flow.state is ResetState.PIN_WRITTEN:
            self.flow.send(ResultReported())

    def _report_failure(self) -> _Effects:
        """Tell the portal that a redeemed operation ended without a new PIN (best effort)."""
        reason = self.flow.failure_report()
        if reason is None:
            return
        try:
            yield self._portal("report_result", self.flow.operation, success=False, reason=reason)
        except KamusmError as exc:
            logger.info("the failure could not be reported: %s", type(exc).__name__)


class _ChangeProgram:
    """The change driver: one generator per step of the machine."""

    def __init__(self, flow: PinChangeFlow, token: Any, *, birth_date: date | None) -> None:
        self.flow, self.token, self.birth_date = flow, token, birth_date
        self.holder: Tckn | None = None

    def run(self) -> Generator[_Ask | _Call, Any, ChangeResult]:
        flow = self.flow
        _ACTIVE.reserve(self.token.serial)  # no reset or other change of this card meanwhile
        try:
            while flow.step is not ChangeStep.NOTHING:
                yield _Ask("progress", {"step": flow.step, "remaining": None})
                try:
                    yield from getattr(self, f"_{flow.step.value}")()
                except (*_ASK_AGAIN, PinIncorrectError, FinalTryNotAcknowledgedError) as exc:
                    if flow.state.terminal:
                        raise
                    yield _Ask("problem", {"error": exc})
            return ChangeResult(self.token.serial)
        finally:
            _ACTIVE.release(self.token.serial)

    def _read_status(self) -> _Effects:
        info = yield from _perform(self.flow, _Call(self.token, "read_info"))
        try:
            certs = yield from _readable_certificates(self.token)
        except KamusmError as exc:
            self.flow.send(ErrorOccurred(exc))
            return
        holders = {c.tckn for c in certs if c.tckn is not None}
        self.holder = next(iter(holders)) if len(holders) == 1 else None
        self.flow.send(StatusRead(info.pin_status, info.min_pin_length, info.max_pin_length))

    def _acknowledge_final_try(self) -> _Effects:
        accepted = yield _Ask("acknowledge_final_try")
        self.flow.send(FinalTryAcknowledged() if accepted else FlowCancelled())

    def _enter_pins(self) -> _Effects:
        policy = self.flow.pin_policy()
        typed = yield _Ask(
            "pins", {"min_length": policy.min_length, "max_length": policy.max_length}
        )
        if typed is None:
            self.flow.send(FlowCancelled())
        old, new, confirmation = typed
        self.flow.send(
            PinsEntered(old, new, confirmation, tckn=self.holder, birth_date=self.birth_date)
        )

    def _change_pin(self) -> _Effects:
        old, new = self.flow.pins or (None, None)
        ack = {"acknowledge_final_try": self.flow.final_try_acknowledged}
        yield from _perform(self.flow, _Call(self.token, "change_pin", (old, new), ack))
        self.flow.send(PinChanged())

    def _verify_new_pin(self) -> _Effects:
        yield from _perform(self.flow, _Call(self.token, "verify_pin", (self.flow.new_pin,)))
        self.flow.send(NewPinVerified())


def reset_pin(
    module: Pkcs11Module,
    portal: PortalClient,
    prompts: ResetPrompts,
    *,
    product: Product = Product.NES,
    policy: PinPolicy | None = None,
    clock: Clock | None = None,
    birth_date: date | None = None,
    challenge_method: str = "sms",
    pin_entry_timeout: timedelta = DEFAULT_PIN_ENTRY_TIMEOUT,
    sms_code_length: int = DEFAULT_SMS_CODE_LENGTH,
) -> ResetResult:
    """Run a whole PIN reset ("PIN Oluşturma/Kilit Çözme") for ``product``.

    Asks ``prompts`` for the verification code, the card, the new PIN and the SMS code; talks to
    the portal through ``portal`` and to the card through ``module``. Returns when the card has
    the new PIN; raises a :class:`~kamusm.errors.KamusmError` otherwise, with the card as it
    was.
    """
    program = _ResetProgram(
        PinResetFlow(
            product,
            policy=policy,
            clock=clock,
            pin_entry_timeout=pin_entry_timeout,
            sms_code_length=sms_code_length,
        ),
        module,
        portal,
        birth_date=birth_date,
        challenge_method=challenge_method,
    )
    return _run(program.run(), prompts)


async def areset_pin(
    module: Pkcs11Module,
    portal: AsyncPortalClient,
    prompts: ResetPrompts | AsyncResetPrompts,
    *,
    product: Product = Product.NES,
    policy: PinPolicy | None = None,
    clock: Clock | None = None,
    birth_date: date | None = None,
    challenge_method: str = "sms",
    pin_entry_timeout: timedelta = DEFAULT_PIN_ENTRY_TIMEOUT,
    sms_code_length: int = DEFAULT_SMS_CODE_LENGTH,
) -> ResetResult:
    """:func:`reset_pin` for async code: token calls run in a worker thread, the portal client
    and the prompts are awaited."""
    program = _ResetProgram(
        PinResetFlow(
            product,
            policy=policy,
            clock=clock,
            pin_entry_timeout=pin_entry_timeout,
            sms_code_length=sms_code_length,
        ),
        module,
        portal,
        birth_date=birth_date,
        challenge_method=challenge_method,
    )
    return await _arun(program.run(), prompts)


def change_pin(
    token: Token,
    prompts: ChangePrompts,
    *,
    policy: PinPolicy | None = None,
    birth_date: date | None = None,
) -> ChangeResult:
    """Change the PIN of ``token`` when the holder knows it: status first (a locked card is
    routed to the portal reset, a final try needs an acknowledgement), the policy, C_SetPIN,
    then a login with the new PIN."""
    program = _ChangeProgram(PinChangeFlow(policy=policy), token, birth_date=birth_date)
    return _run(program.run(), prompts)


async def achange_pin(
    token: Token,
    prompts: ChangePrompts | AsyncChangePrompts,
    *,
    policy: PinPolicy | None = None,
    birth_date: date | None = None,
) -> ChangeResult:
    """:func:`change_pin` for async code."""
    program = _ChangeProgram(PinChangeFlow(policy=policy), token, birth_date=birth_date)
    return await _arun(program.run(), prompts)


class AsyncResetPrompts(Protocol):
    """:class:`ResetPrompts` with coroutine methods, for :func:`areset_pin`."""

    async def verification_code(
        self, *, length: int, expired: bool
    ) -> str | VerificationCode | None: ...

    async def choose_card(self, cards: Sequence[CardChoice]) -> str | None: ...

    async def new_pin(
        self, *, min_length: int, max_length: int
    ) -> tuple[str | Pin, str | Pin] | None: ...

    async def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None: ...

    async def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None: ...

    async def problem(self, error: KamusmError) -> None: ...


class AsyncChangePrompts(Protocol):
    """:class:`ChangePrompts` with coroutine methods, for :func:`achange_pin`."""

    async def acknowledge_final_try(self) -> bool | None: ...

    async def pins(
        self, *, min_length: int, max_length: int
    ) -> tuple[str | Pin, str | Pin, str | Pin] | None: ...

    async def progress(self, step: ChangeStep, *, remaining: timedelta | None) -> None: ...

    async def problem(self, error: KamusmError) -> None: ...
