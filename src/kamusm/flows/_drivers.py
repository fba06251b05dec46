"""The drivers of the PIN flows: they perform what a machine asks, and feed back what happened.

Each driver is written once, as a generator (a *program*) that yields effects and receives
their results. An effect is one call of a named method with its arguments bound
(``functools.partial(token.unblock, authorization, pin, clock=clock)``), so a type checker
follows every call from a driver to the token, the portal and the prompts. Two small runners
perform the effects: :func:`_run` calls them; :func:`_arun` awaits the coroutine ones (an
:class:`~kamusm.portal.AsyncPortalClient`, async prompts) and runs the blocking ones (token
calls, blocking prompts) in a worker thread. The programs hold no rule: they read what the
machine wants (``flow.step``), do it, and send back what happened.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, assert_never

import attrs

from kamusm.errors import (
    ConflictError,
    FinalTryNotAcknowledgedError,
    FlowBusyError,
    IllegalTransitionError,
    InputError,
    KamusmError,
    PinIncorrectError,
    SmsCodeExpiredError,
    SmsCodeRejectedError,
    TokenBusyError,
    TokenNotFoundError,
    TokenRemovedError,
    VerificationCodeInvalidError,
    WrongProductError,
    _chain,
)
from kamusm.flows._machines import (
    DEFAULT_PIN_ENTRY_TIMEOUT,
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
from kamusm.messages import DEFAULT_LANGUAGE, Language
from kamusm.policy import PinPolicy
from kamusm.values import (
    DEFAULT_SMS_CODE_LENGTH,
    Clock,
    Pin,
    PinStatus,
    Product,
    SmsCode,
    Tckn,
    UnblockAuthorization,
    UnblockOutcome,
    VerificationCode,
    holder_matches,
)

if TYPE_CHECKING:
    from kamusm.certs import CardSummary, CertificateInfo
    from kamusm.portal import (
        AsyncPortalClient,
        Challenge,
        ChallengeMethod,
        Operation,
        PortalClient,
    )
    from kamusm.token import Pkcs11Module, Token

__all__ = [
    "AsyncChangePrompts",
    "AsyncResetPrompts",
    "CardChoice",
    "ChangePrompts",
    "ChangeResult",
    "ResetPrompts",
    "ResetResult",
    "achange_pin",
    "areset_pin",
    "cards_of_holder",
    "change_pin",
    "list_cards",
    "reset_pin",
    "with_holder",
]

logger = logging.getLogger("kamusm.flows")


# ==== what a driver hands back, and how it asks a person =========================================


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

    @property
    def holder_name(self) -> str | None:
        """The holder's name in the card's certificates, when they name one."""
        return None if self.summary is None else self.summary.holder_name

    def matches_holder(self, query: str) -> bool:
        """Whether this card's holder name contains ``query`` (Turkish case rules, see
        :func:`kamusm.values.holder_matches`)."""
        return holder_matches(self.holder_name, query)


def cards_of_holder(cards: Sequence[CardChoice], holder: str) -> list[CardChoice]:
    """The cards whose holder's name contains ``holder``, without case by Turkish rules
    (``"ışık"`` finds ``"IŞIK"``, ``"ince"`` finds ``"İNCE"``), in the order given."""
    return [card for card in cards if card.matches_holder(holder)]


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

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None:
        """The SMS code (or the time for the web password, by ``method``) has expired while
        the verification code is still valid: whether to send a new one. ``challenges_left``
        is how many new ones the portal still allows after it, when it said. ``True`` sends
        it; ``False`` ends the reset (:class:`~kamusm.errors.NewSmsDeclinedError`), ``None``
        cancels it. Not asked when the portal allows no new one
        (:class:`~kamusm.errors.SmsLimitReachedError` is shown instead)."""
        ...

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        """The flow moved to ``step``; ``remaining`` is its time left, when one applies."""
        ...

    def problem(self, error: KamusmError) -> None:
        """Show an error after which the flow goes on: the same question is asked again, or
        (a notice such as :class:`~kamusm.errors.CertificateSuspendedError`) the next step
        follows."""
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

    async def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None: ...

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


# ==== effects and their runners ==================================================================

_T = TypeVar("_T")


@attrs.frozen
class _Effect:
    """One call a program needs performed: a named method with its arguments bound. It may
    block (a token call, ``input()``) or return a coroutine (an async client or prompt)."""

    call: Callable[[], object]


_Program = Generator[_Effect, Any, _T]
_Effects = _Program[None]


def _do(call: Callable[[], _T | Awaitable[_T]]) -> _Program[_T]:
    """Have ``call`` performed and return its result (awaited, if it is a coroutine)."""
    result: _T = yield _Effect(call)
    return result


def _forget_locals(error: BaseException) -> None:
    """Clear the local variables of the finished frames in the tracebacks of ``error``'s
    whole chain. An error that leaves a flow keeps the frames it passed through, and with them
    what the holder typed there (an SMS code, a new PIN as the prompt returned it): a tool that
    records frame locals (an error reporter, ``pytest -l``) would show them. File names and
    line numbers stay, for debugging; frames still running are left alone."""
    for link in _chain(error):
        if link.__traceback__ is not None:
            traceback.clear_frames(link.__traceback__)


def _run(program: _Program[_T]) -> _T:
    """Perform a program's effects, blocking; an error leaves without the frames' locals."""
    try:
        return _run_effects(program)
    except BaseException as exc:
        _forget_locals(exc)
        raise


async def _arun(program: _Program[_T]) -> _T:
    """:func:`_run` for async code (see :func:`_arun_effects`)."""
    try:
        return await _arun_effects(program)
    except BaseException as exc:
        _forget_locals(exc)
        raise


def _run_effects(program: _Program[_T]) -> _T:
    """Perform a program's effects, blocking."""
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
                value = effect.call()
            except Exception as exc:  # noqa: BLE001 (handed to the program, which decides)
                error = exc
    finally:
        program.close()


async def _worker(call: Callable[[], _T]) -> _T:
    """Run a blocking call in a worker thread. If the task is cancelled meanwhile, it still
    waits for the call to end, so a PIN being written is never abandoned half-way."""
    import anyio.to_thread  # noqa: PLC0415 (only async callers need it)

    return await anyio.to_thread.run_sync(call)


async def _arun_effects(program: _Program[_T]) -> _T:
    """Perform a program's effects without blocking the event loop: coroutine calls (the async
    portal client, async prompts) are awaited, every other call runs in a worker thread."""
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
                if inspect.iscoroutinefunction(effect.call):
                    value = await effect.call()
                else:
                    value = await _worker(effect.call)
                if inspect.isawaitable(value):  # a plain function that returned a coroutine
                    value = await value
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


# ==== reading cards ==============================================================================


def _readable_certificates(token: Token) -> _Program[list[CertificateInfo]]:
    """The token's certificates that parse; a damaged object is left out (and logged), so one
    bad object cannot hide the card's holder or stop a flow."""
    from kamusm.certs import read_certificates  # noqa: PLC0415 (asn1crypto only when needed)

    objects = yield from _do(token.certificate_objects)
    readable, unreadable = read_certificates(objects)
    if unreadable:
        logger.debug(
            "%d unreadable certificate objects on token %s left out", len(unreadable), token.serial
        )
    return readable


def _read_card(module: Pkcs11Module, serial: str) -> _Program[CardFacts]:
    """Read what the machine needs to judge a card, spending no PIN try. A missing or busy
    card is a fact for the machine; any other failure is raised for the machine to judge."""
    try:
        token = yield from _do(functools.partial(module.token, serial=serial))  # reads its info
        certs = yield from _readable_certificates(token)
    except (TokenNotFoundError, TokenRemovedError):
        return CardFacts(serial=serial, present=False)
    except TokenBusyError:
        return CardFacts(serial=serial, busy=True)
    info = token.info
    valid_until: dict[Product, datetime] = {}
    own: list[CardCertificate] = []
    for cert in certs:
        if cert.product is not None:
            latest = valid_until.get(cert.product)
            valid_until[cert.product] = max(cert.not_after, latest or cert.not_after)
            if not cert.is_ca:
                serial = f"{cert.serial_number:X}"
                own.append(CardCertificate(serial, cert.product, cert.not_before, cert.not_after))
    return CardFacts(
        serial=info.serial,
        products=frozenset(valid_until),
        holders=frozenset(c.tckn for c in certs if c.tckn is not None),
        valid_until=valid_until,
        min_pin_length=info.min_pin_length,
        max_pin_length=info.max_pin_length,
        pin_status=info.pin_status,
        certificates=tuple(own),
    )


def _card_choices(module: Pkcs11Module) -> _Program[list[CardChoice]]:
    from kamusm.certs import CardSummary  # noqa: PLC0415 (asn1crypto only when needed)
    from kamusm.token import Token  # noqa: PLC0415 (pkcs11 only in the drivers)

    choices = []
    for info in (yield from _do(module.tokens)):  # one listing serves every card
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
    call: Callable[[], _T | Awaitable[_T]],
    *,
    passthrough: tuple[type[KamusmError], ...] = (),
) -> _Program[_T | None]:
    """Perform ``call``; a failure goes to the machine, which decides what it means (and
    raises the error it decided on; ``None`` comes back when the failure ends nothing)."""
    try:
        return (yield from _do(call))
    except passthrough:
        raise
    except KamusmError as exc:
        flow.send(ErrorOccurred(exc))
        return None


def _required(value: _T | None, flow: PinResetFlow | PinChangeFlow, what: str) -> _T:
    """``value``, which the machine's table guarantees at this step; refused if it is not."""
    if value is None:
        raise IllegalTransitionError(state=flow.state.name, event=what)
    return value


# Errors after which the same question is asked again: bad input, and answers the portal
# refused while the flow goes on (an expired SMS code: the holder is offered a new one).
_ASK_AGAIN = (InputError, SmsCodeRejectedError, SmsCodeExpiredError, VerificationCodeInvalidError)


def _challenge_method(method: str) -> ChallengeMethod:
    if method == "sms":
        return "sms"
    if method == "web_password":
        return "web_password"
    raise InputError()


class _Abandoned(Exception):  # noqa: N818 (a signal inside the driver, never seen outside)
    """The person gave no new code after the last one expired: the expiry is the outcome."""

    def __init__(self, error: KamusmError) -> None:
        super().__init__()
        self.error = error


# ==== the reset ==================================================================================


class _ResetProgram:
    """The reset driver: one generator per step of the machine, nothing decided here."""

    def __init__(
        self,
        flow: PinResetFlow,
        module: Pkcs11Module,
        portal: PortalClient | AsyncPortalClient,
        prompts: ResetPrompts | AsyncResetPrompts,
        *,
        birth_date: date | None,
        challenge_method: str,
    ) -> None:
        self.flow, self.module, self.portal, self.prompts = flow, module, portal, prompts
        self.birth_date = birth_date
        self.method = _challenge_method(challenge_method)
        self.serial: str | None = None
        self.code: VerificationCode | None = None  # typed, not yet entered into the flow
        self.operation: Operation | None = None  # the redeemed operation the flow accepted
        self.challenge: Challenge | None = None
        self.authorization: UnblockAuthorization | None = None  # between two steps only
        # The authorization the confirmation brought: what it reached on the card (nothing,
        # when it was never spent) goes into the report.
        self.received: UnblockAuthorization | None = None
        self.outcome: UnblockOutcome | None = None

    def run(self) -> _Program[ResetResult]:
        flow = self.flow
        closing = False
        try:
            while flow.step is not ResetStep.NOTHING:
                step = flow.step
                yield from _do(
                    functools.partial(self.prompts.progress, step=step, remaining=flow.remaining())
                )
                try:
                    yield from self._step(step)
                except _ASK_AGAIN as exc:
                    if flow.state.terminal:
                        raise
                    _forget_locals(exc)
                    yield from _do(functools.partial(self.prompts.problem, error=exc))
                except KamusmError as exc:
                    if flow.state is not ResetState.EXPIRED:
                        raise
                    # the next step asks for a new code
                    _forget_locals(exc)
                    yield from _do(functools.partial(self.prompts.problem, error=exc))
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

    def _step(self, step: ResetStep) -> _Effects:
        match step:
            case ResetStep.ENTER_CODE_AND_CHOOSE_CARD | ResetStep.ENTER_NEW_CODE_AND_CHOOSE_CARD:
                yield from self._enter_code_and_choose_card()
            case ResetStep.REDEEM_CODE:
                yield from self._redeem_code()
            case ResetStep.CHECK_CARD:
                yield from self._check_card()
            case ResetStep.ENTER_NEW_PIN:
                yield from self._enter_new_pin()
            case ResetStep.REQUEST_CHALLENGE:
                yield from self._request_challenge()
            case ResetStep.ENTER_CONFIRMATION:
                yield from self._enter_confirmation()
            case ResetStep.OFFER_NEW_SMS:
                yield from self._offer_new_sms()
            case ResetStep.RECEIVE_AUTHORIZATION:
                yield from self._receive_authorization()
            case ResetStep.WRITE_PIN:
                yield from self._write_pin()
            case ResetStep.REPORT_RESULT:
                yield from self._report_result()
            case ResetStep.NOTHING:  # pragma: no cover - the loop ends before
                return
            case _:  # pragma: no cover - mypy proves every step is handled
                assert_never(step)

    def _operation(self) -> Operation:
        return _required(self.operation, self.flow, "(no operation)")

    def _enter_code_and_choose_card(self) -> _Effects:
        flow, prompts = self.flow, self.prompts
        if self.code is None:
            length = flow.policy.verification_code_length
            expired = flow.state is ResetState.EXPIRED
            typed = yield from _do(
                functools.partial(prompts.verification_code, length=length, expired=expired)
            )
            if typed is None and flow.error is not None:
                raise _Abandoned(flow.error)  # an expired code and no new one: it stands
            if typed is None:
                flow.send(FlowCancelled())
                return
            self.code = (
                typed
                if isinstance(typed, VerificationCode)
                else VerificationCode.parse(typed, length=length)
            )
        chosen: str | None = ""
        cards: list[CardChoice] = []
        while chosen == "":  # "" asks for the card list again (a card was just inserted)
            cards = yield from _card_choices(self.module)
            chosen = yield from _do(functools.partial(prompts.choose_card, cards=cards))
        if chosen is None:
            flow.send(FlowCancelled())
            return
        if chosen not in {c.serial for c in cards}:
            raise InputError()  # not one of the cards offered: choose again
        if chosen != self.serial:
            _ACTIVE.reserve(chosen)
            _ACTIVE.release(self.serial)
            self.serial = chosen
        code, self.code = self.code, None
        flow.send(CodeEntered(code, chosen))
        self.operation = None  # the flow forgot the last operation too

    def _redeem_code(self) -> _Effects:
        flow = self.flow
        code = _required(flow.code, flow, "(no code)")
        serial = _required(flow.card_serial, flow, "(no card)")
        call = functools.partial(self.portal.redeem, code, card_serial=serial)
        try:
            op = yield from _perform(flow, call, passthrough=(ConflictError,))
        except ConflictError as exc:
            yield from self._refused_at_redeem(exc, serial)
            return
        if op is not None:
            self.operation = op  # reported as failed if the flow refuses it once accepted
            flow.send(CodeRedeemed(op))
            for notice in flow.take_notices():  # a suspended certificate: told, and on we go
                yield from _do(functools.partial(self.prompts.problem, error=notice))

    def _refused_at_redeem(self, exc: ConflictError, serial: str) -> _Effects:
        """The portal refused the code for this card. When the card is of another product
        than the code (a Mali Mühür card in an NES reset), the card is read so the holder is
        told which product it carries and which route to take; the card is unchanged."""
        wrong: KamusmError = exc
        if exc.reason == "product_mismatch":
            try:
                facts = yield from _read_card(self.module, serial)
            except KamusmError:
                facts = None
            found = facts.products - {self.flow.product} if facts is not None else frozenset()
            if found:
                wrong = WrongProductError(product=self.flow.product, found=found)
        self.flow.send(ErrorOccurred(wrong))

    def _check_card(self) -> _Effects:
        try:
            facts = yield from _read_card(self.module, self.flow.card_serial or "")
        except KamusmError as exc:
            self.flow.send(ErrorOccurred(exc))  # the machine ends the flow on it
            return
        self.flow.send(CardChosen(facts))
        for notice in self.flow.take_notices():  # what the card's certificates told
            yield from _do(functools.partial(self.prompts.problem, error=notice))

    def _enter_new_pin(self) -> _Effects:
        policy = self.flow.pin_policy()
        typed = yield from _do(
            functools.partial(
                self.prompts.new_pin, min_length=policy.min_length, max_length=policy.max_length
            )
        )
        if typed is None:
            self.flow.send(FlowCancelled())
            return
        new, confirmation = typed
        self.flow.send(PinChosen(new, confirmation, birth_date=self.birth_date))

    def _request_challenge(self) -> _Effects:
        call = functools.partial(
            self.portal.request_challenge, self._operation(), method=self.method
        )
        challenge = yield from _perform(self.flow, call)
        if challenge is not None:
            self.challenge = challenge
            self.flow.send(
                ChallengeSent(
                    challenge.expires_at,
                    challenge.attempts_remaining,
                    challenge.challenges_remaining,
                    method=self.method,
                )
            )

    def _enter_confirmation(self) -> _Effects:
        flow = self.flow
        answer = yield from _do(
            functools.partial(
                self.prompts.confirmation,
                method=self.method,
                attempts_remaining=flow.confirmation_attempts_left,
                masked_phone=self.challenge.masked_phone if self.challenge else None,
            )
        )
        if answer is None:
            flow.send(FlowCancelled())
            return
        typed: SmsCode | str = answer
        if self.method == "sms":
            typed = SmsCode.parse(answer, length=flow.sms_code_length)
        call = functools.partial(self.portal.confirm_challenge, self._operation(), typed)
        try:
            auth = yield from _perform(flow, call, passthrough=(SmsCodeRejectedError,))
        except SmsCodeRejectedError as rejected:
            flow.send(ConfirmationRejected(rejected.attempts_remaining))
            raise
        if auth is not None:
            self.received = auth
            flow.send(Confirmed())
            self.authorization = auth

    def _offer_new_sms(self) -> _Effects:
        """The SMS code expired: the holder decides whether a new one is sent."""
        answer = yield from _do(
            functools.partial(
                self.prompts.offer_new_sms,
                method=self.method,
                challenges_left=self.flow.challenges_left,
            )
        )
        if answer is None:
            self.flow.send(FlowCancelled())
        elif answer:
            self.flow.send(NewSmsRequested())
        else:
            self.flow.send(NewSmsDeclined())

    def _receive_authorization(self) -> _Effects:
        """The confirmation's answer carried the authorization: hand it to the machine, which
        checks it is for this card and unspent."""
        auth, self.authorization = self.authorization, None
        self.flow.send(AuthorizationReceived(_required(auth, self.flow, "AuthorizationReceived")))
        yield from ()

    def _write_pin(self) -> _Effects:
        flow = self.flow
        token = yield from _perform(
            flow, functools.partial(self.module.token, serial=flow.card_serial)
        )
        if token is None:
            return
        authorization = _required(flow.authorization, flow, "(no authorization)")
        new_pin = _required(flow.new_pin, flow, "(no new PIN)")
        call = functools.partial(token.unblock, authorization, new_pin, clock=flow.clock)
        self.outcome = yield from _perform(flow, call)
        if flow.state is ResetState.UNBLOCK_AUTHORIZED:
            flow.send(PinWritten())

    def _report_result(self) -> _Effects:
        call = functools.partial(
            self.portal.report_result, self._operation(), success=True, outcome=self.outcome
        )
        yield from _perform(self.flow, call)
        if self.flow.state is ResetState.PIN_WRITTEN:
            self.flow.send(ResultReported())

    def _report_failure(self) -> _Effects:
        """Tell the portal that a redeemed operation ended without a new PIN (best effort)."""
        reason = self.flow.failure_report()
        if reason is None or self.operation is None:
            return
        # What the card reached before the failure: which SO credential it holds now. An
        # authorization that was received but never spent left the card untouched (not
        # changed, no SO login), so the portal drops the fresh credential it issued with it.
        outcome = None
        if self.received is not None:
            outcome = self.received.outcome or UnblockOutcome()
        call = functools.partial(
            self.portal.report_result,
            self.operation,
            success=False,
            reason=reason,
            outcome=outcome,
        )
        try:
            yield from _do(call)
        except KamusmError as exc:
            logger.info("the failure could not be reported: %s", type(exc).__name__)


# ==== the change =================================================================================


class _ChangeProgram:
    """The change driver: one generator per step of the machine."""

    def __init__(
        self,
        flow: PinChangeFlow,
        token: Token,
        prompts: ChangePrompts | AsyncChangePrompts,
        *,
        birth_date: date | None,
    ) -> None:
        self.flow, self.token, self.prompts, self.birth_date = flow, token, prompts, birth_date
        self.holder: Tckn | None = None

    def run(self) -> _Program[ChangeResult]:
        flow = self.flow
        _ACTIVE.reserve(self.token.serial)  # no reset or other change of this card meanwhile
        try:
            while flow.step is not ChangeStep.NOTHING:
                step = flow.step
                yield from _do(functools.partial(self.prompts.progress, step=step, remaining=None))
                try:
                    yield from self._step(step)
                except (*_ASK_AGAIN, PinIncorrectError, FinalTryNotAcknowledgedError) as exc:
                    if flow.state.terminal:
                        raise
                    _forget_locals(exc)
                    yield from _do(functools.partial(self.prompts.problem, error=exc))
            return ChangeResult(self.token.serial)
        finally:
            _ACTIVE.release(self.token.serial)

    def _step(self, step: ChangeStep) -> _Effects:
        match step:
            case ChangeStep.READ_STATUS:
                yield from self._read_status()
            case ChangeStep.ACKNOWLEDGE_FINAL_TRY:
                yield from self._acknowledge_final_try()
            case ChangeStep.ENTER_PINS:
                yield from self._enter_pins()
            case ChangeStep.CHANGE_PIN:
                yield from self._change_pin()
            case ChangeStep.VERIFY_NEW_PIN:
                yield from self._verify_new_pin()
            case ChangeStep.NOTHING:  # pragma: no cover - the loop ends before
                return
            case _:  # pragma: no cover - mypy proves every step is handled
                assert_never(step)

    def _read_status(self) -> _Effects:
        info = yield from _perform(self.flow, self.token.read_info)
        if info is None:
            return
        try:
            certs = yield from _readable_certificates(self.token)
        except KamusmError as exc:
            self.flow.send(ErrorOccurred(exc))
            return
        holders = {c.tckn for c in certs if c.tckn is not None}
        self.holder = next(iter(holders)) if len(holders) == 1 else None
        products = frozenset(c.product for c in certs if c.product is not None)
        self.flow.send(
            StatusRead(info.pin_status, info.min_pin_length, info.max_pin_length, products)
        )

    def _acknowledge_final_try(self) -> _Effects:
        accepted = yield from _do(self.prompts.acknowledge_final_try)
        self.flow.send(FinalTryAcknowledged() if accepted else FlowCancelled())

    def _enter_pins(self) -> _Effects:
        policy = self.flow.pin_policy()
        typed = yield from _do(
            functools.partial(
                self.prompts.pins, min_length=policy.min_length, max_length=policy.max_length
            )
        )
        if typed is None:
            self.flow.send(FlowCancelled())
            return
        old, new, confirmation = typed
        self.flow.send(
            PinsEntered(old, new, confirmation, tckn=self.holder, birth_date=self.birth_date)
        )

    def _change_pin(self) -> _Effects:
        flow = self.flow
        old, new = _required(flow.pins, flow, "(no PINs)")
        call = functools.partial(
            self.token.change_pin, old, new, acknowledge_final_try=flow.final_try_acknowledged
        )
        yield from _perform(flow, call)
        if flow.state is ChangeState.PINS_CHOSEN:
            flow.send(PinChanged())

    def _verify_new_pin(self) -> _Effects:
        flow = self.flow
        call = functools.partial(self.token.verify_pin, _required(flow.new_pin, flow, "(no PIN)"))
        yield from _perform(flow, call)
        if flow.state is ChangeState.CHANGED:
            flow.send(NewPinVerified())


# ==== choosing a card by its holder ==============================================================


class _HolderPicker:
    """:class:`ResetPrompts` whose card picker offers only the cards of one holder."""

    def __init__(self, prompts: ResetPrompts, holder: str) -> None:
        self._prompts = prompts
        self._holder = holder

    def verification_code(self, *, length: int, expired: bool) -> str | VerificationCode | None:
        return self._prompts.verification_code(length=length, expired=expired)

    def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        matching = cards_of_holder(cards, self._holder)
        if len(matching) == 1:
            return matching[0].serial  # the holder named it: the one card of that name
        # none (insert the card) or several (never chosen silently): the person picks
        return self._prompts.choose_card(cards=matching)

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[str | Pin, str | Pin] | None:
        return self._prompts.new_pin(min_length=min_length, max_length=max_length)

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        return self._prompts.confirmation(
            method=method, attempts_remaining=attempts_remaining, masked_phone=masked_phone
        )

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None:
        return self._prompts.offer_new_sms(method=method, challenges_left=challenges_left)

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        self._prompts.progress(step=step, remaining=remaining)

    def problem(self, error: KamusmError) -> None:
        self._prompts.problem(error=error)


def with_holder(prompts: ResetPrompts, holder: str) -> ResetPrompts:
    """``prompts`` whose card picker ("Kart Seçiniz") is narrowed to the cards whose holder's
    name contains ``holder`` (Turkish case rules, part of the name is enough). One such card
    is chosen; when several match the picker is still asked, with only those, so a card is
    never chosen silently among several; when none does it is asked with none (insert the
    card, answer ``""`` to look again)."""
    return _HolderPicker(prompts, holder)


def list_cards(module: Pkcs11Module) -> list[CardChoice]:
    """The cards present, as the reset's card picker offers them (holder's name, masked T.C.
    Kimlik No, products and expiry, when the certificates tell). Spends no PIN try."""
    return _run(_card_choices(module))


# ==== the drivers ================================================================================


@attrs.frozen
class _PortalTime:
    """The portal's time, read on this machine: its clock less the offset the portal client
    measured from the portal's answers. The portal's deadlines (verification code, SMS code,
    PIN entry, authorization) are moments of the portal's clock, so a desktop whose clock is
    off counts them down, and keeps them, right."""

    local: Clock
    portal: PortalClient | AsyncPortalClient

    def now(self) -> datetime:
        return self.local.now() - self.portal.clock_offset


def _portal_time(clock: Clock | None, portal: PortalClient | AsyncPortalClient) -> Clock:
    return _PortalTime(clock if clock is not None else portal.clock, portal)


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
            clock=_portal_time(clock, portal),
            pin_entry_timeout=pin_entry_timeout,
            sms_code_length=sms_code_length,
        ),
        module,
        portal,
        prompts,
        birth_date=birth_date,
        challenge_method=challenge_method,
    )
    return _run(program.run())


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
            clock=_portal_time(clock, portal),
            pin_entry_timeout=pin_entry_timeout,
            sms_code_length=sms_code_length,
        ),
        module,
        portal,
        prompts,
        birth_date=birth_date,
        challenge_method=challenge_method,
    )
    return await _arun(program.run())


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
    program = _ChangeProgram(PinChangeFlow(policy=policy), token, prompts, birth_date=birth_date)
    return _run(program.run())


async def achange_pin(
    token: Token,
    prompts: ChangePrompts | AsyncChangePrompts,
    *,
    policy: PinPolicy | None = None,
    birth_date: date | None = None,
) -> ChangeResult:
    """:func:`change_pin` for async code."""
    program = _ChangeProgram(PinChangeFlow(policy=policy), token, prompts, birth_date=birth_date)
    return await _arun(program.run())
