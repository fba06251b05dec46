"""A web backend that walks a browser through a PIN reset, one request per screen.

A DYS with a browser front end cannot hand a prompts object to :func:`kamusm.areset_pin`: each
screen is its own HTTP request. So this backend drives :class:`kamusm.PinResetFlow` itself. It
keeps one flow per browser session on the server (the browser holds only an HttpOnly cookie),
performs what the flow asks through :class:`kamusm.AsyncPortalClient` and the token's async
methods, and feeds each result back into the flow, which alone decides what is allowed next.

The screens, as JSON endpoints (``POST`` bodies are JSON)::

    GET    /api/cards             the card picker ("Kart Seçiniz")
    POST   /api/reset             {"verification_code", "card_serial", "product"?}: start
    GET    /api/reset             where the reset stands, time left ("Kalan süre")
    POST   /api/reset/pin         {"new_pin", "confirmation"}: the new PIN, twice
    POST   /api/reset/challenge   {"method"?: "sms" | "web_password"}: send the SMS code
    POST   /api/reset/confirm     {"answer"}: the SMS code ("Doğrula")
    POST   /api/reset/finish      write the PIN on the card, report to the portal
    DELETE /api/reset             cancel

Every refusal is JSON: ``{"error": "<kamusm error class>", "message": {"tr": ..., "en": ...},
"state": ..., "step": ..., "ended": bool}``, with the HTTP status chosen by the error's kind.
No answer, log line or error ever repeats a PIN, a code or the SMS code.

Run next to a portal (for example ``python -m kamusm.sandbox serve``)::

    python examples/async_web_backend.py --portal http://127.0.0.1:8080 --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final

import attrs
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kamusm import (
    AsyncPortalClient,
    AuthorizationReceived,
    CardChosen,
    CardFacts,
    CardNotOwnedError,
    CardSummary,
    ChallengeSent,
    Clock,
    CodeEntered,
    CodeRedeemed,
    ConfirmationRejected,
    Confirmed,
    ErrorOccurred,
    FlowBusyError,
    FlowCancelled,
    FlowCancelledError,
    FlowCodeExpiredError,
    FlowError,
    ForbiddenError,
    IllegalTransitionError,
    InputError,
    KamusmError,
    Language,
    Operation,
    PinChosen,
    PinEntryTimeoutError,
    PinPolicyError,
    PinResetFlow,
    PinWritten,
    Pkcs11Module,
    PortalConnectionError,
    PortalServerError,
    PortalTimeoutError,
    Product,
    RateLimitedError,
    ResetState,
    ResetStep,
    ResultReported,
    SmsCode,
    SmsCodeRejectedError,
    SystemClock,
    TokenBusyError,
    TokenNotFoundError,
    VerificationCode,
    VerificationCodeExpiredError,
)
from kamusm.errors import TokenError

logger = logging.getLogger("kamusm.examples.web")

SESSION_COOKIE: Final = "kamusm_reset"
MAX_BODY_BYTES: Final = 4096

# The backend's own refusals (the library's errors bring their own texts).
NO_SESSION: Final = {
    "tr": "Süren bir PIN sıfırlama işlemi yok. Doğrulama kodu ile baştan başlayın.",
    "en": "There is no PIN reset in progress. Start again with a verification code.",
}
NOT_JSON: Final = {
    "tr": "İstek geçerli bir JSON nesnesi değil.",
    "en": "The request is not a valid JSON object.",
}


class NoSessionError(Exception):
    """The browser has no reset in progress (no cookie, an unknown one, or a finished reset)."""


class BadBodyError(Exception):
    """The request body is not a small JSON object."""


@attrs.define
class ResetSession:
    """One browser's reset: the flow and what the portal said, kept on the server only."""

    flow: PinResetFlow
    card_serial: str
    operation: Operation | None = None
    method: str = "sms"
    masked_phone: str | None = None
    reported: bool = False
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)


# ---- reading a card (no PIN, no try spent) -------------------------------------------------


async def read_card_facts(module: Pkcs11Module, serial: str) -> CardFacts:
    """What the flow needs to judge the chosen card: present, free, its holders and products,
    its PIN length limits and state."""
    try:
        token = await module.atoken(serial=serial)
    except TokenNotFoundError:
        return CardFacts(serial=serial, present=False)
    try:
        status = await token.apin_status()
        certs = await token.acertificates()
    except TokenBusyError:
        return CardFacts(serial=serial, busy=True)
    return CardFacts(
        serial=token.serial,
        products=frozenset(c.product for c in certs if c.product is not None),
        holders=frozenset(c.tckn for c in certs if c.tckn is not None),
        min_pin_length=token.info.min_pin_length,
        max_pin_length=token.info.max_pin_length,
        pin_status=status,
    )


# ---- answers ---------------------------------------------------------------------------------


#: The HTTP status of a refusal, by the kind of error; the first match wins.
STATUSES: Final[tuple[tuple[tuple[type[KamusmError], ...], int], ...]] = (
    ((InputError, SmsCodeRejectedError), 422),  # typed wrong: the same screen asks again
    ((RateLimitedError,), 429),
    # time ran out: a new code from the portal ("Tekrar Kod Al")
    ((FlowCodeExpiredError, PinEntryTimeoutError, VerificationCodeExpiredError), 410),
    ((PortalConnectionError, PortalTimeoutError, PortalServerError), 502),
    ((CardNotOwnedError, ForbiddenError), 403),
    ((FlowError, TokenError), 409),  # the flow or the card refuses this now
)


def _status_for(err: KamusmError) -> int:
    return next((status for kinds, status in STATUSES if isinstance(err, kinds)), 400)


def _state(session: ResetSession | None) -> dict[str, Any]:
    if session is None:
        return {"state": None, "step": None, "ended": True}
    flow = session.flow
    remaining = flow.remaining()
    return {
        "state": flow.state.value,
        "step": flow.step.value,
        "ended": flow.step is ResetStep.NOTHING or flow.state is ResetState.EXPIRED,
        "remaining_seconds": None if remaining is None else int(remaining.total_seconds()),
    }


def _refusal(err: KamusmError, session: ResetSession | None) -> JSONResponse:
    body: dict[str, Any] = {
        "error": type(err).__name__,
        "message": {"tr": err.message("tr"), "en": err.message("en")},
        **_state(session),
    }
    if isinstance(err, PinPolicyError):
        body["rules"] = sorted(err.rules)
    if isinstance(err, SmsCodeRejectedError):
        body["attempts_remaining"] = err.attempts_remaining
    headers = {}
    if isinstance(err, RateLimitedError):
        headers["Retry-After"] = str(err.retry_after)
    return JSONResponse(body, status_code=_status_for(err), headers=headers)


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadBodyError()  # also keeps plain HTML forms of other sites out
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadBodyError()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadBodyError() from exc
    if not isinstance(data, dict):
        raise BadBodyError()
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InputError()
    return value


# ---- the backend ---------------------------------------------------------------------------


Handler = Callable[[Request, ResetSession], Awaitable[Response]]


class ResetBackend:
    """The per-session flows and the handlers that drive them."""

    def __init__(
        self, *, portal: AsyncPortalClient, module: Pkcs11Module, clock: Clock | None = None
    ) -> None:
        self.portal = portal
        self.module = module
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sessions: dict[str, ResetSession] = {}
        self._cards: dict[str, str] = {}  # card serial -> session id: one reset per card

    # -- bookkeeping --

    def _session(self, request: Request) -> tuple[str, ResetSession]:
        sid = request.cookies.get(SESSION_COOKIE, "")
        session = self.sessions.get(sid)
        if session is None:
            raise NoSessionError()
        return sid, session

    async def _close(self, sid: str, session: ResetSession) -> None:
        """Forget an ended reset; tell the portal when a redeemed operation ended without a
        new PIN (best effort), so the portal closes it."""
        self.sessions.pop(sid, None)
        if self._cards.get(session.card_serial) == sid:
            del self._cards[session.card_serial]
        reason = session.flow.failure_report()
        if reason is not None and session.operation is not None and not session.reported:
            session.reported = True
            try:
                # No outcome given: the client reports what the authorization its
                # confirmation issued reached on the card (untouched, if never spent).
                await self.portal.report_result(session.operation, success=False, reason=reason)
            except KamusmError as exc:
                logger.info("the failure could not be reported: %s", type(exc).__name__)

    def _ended(self, session: ResetSession) -> bool:
        flow = session.flow
        return flow.step is ResetStep.NOTHING or flow.state is ResetState.EXPIRED

    async def _sweep(self) -> None:
        """Close resets whose time ran out while nobody asked (a browser that went away)."""
        for sid, session in list(self.sessions.items()):
            if not session.lock.locked() and session.flow.poll() is not None:
                await self._close(sid, session)

    async def _guarded(self, request: Request, handler: Handler) -> Response:
        """Run a step handler for the caller's session: one request at a time per session;
        a refusal becomes JSON; an ended reset is closed."""
        try:
            sid, session = self._session(request)
        except NoSessionError:
            return JSONResponse({"error": "NoResetSession", "message": NO_SESSION}, 404)
        async with session.lock:
            try:
                expired = session.flow.poll()  # a countdown that ran out ends the reset now
                if expired is not None:
                    raise expired
                response = await handler(request, session)
            except BadBodyError:
                return JSONResponse({"error": "BadRequest", "message": NOT_JSON}, 400)
            except KamusmError as err:
                response = _refusal(err, session)
            if self._ended(session):
                await self._close(sid, session)
                response.delete_cookie(SESSION_COOKIE, path="/api/reset")
            return response

    async def _perform(self, session: ResetSession, call: Awaitable[Any]) -> Any:
        """Await a portal or token call; a failure goes to the flow, which decides what it
        means (expired, failed, type the code again) and raises the error to show."""
        try:
            return await call
        except KamusmError as exc:
            session.flow.send(ErrorOccurred(exc))
            raise  # reached only when the flow lets the failure pass (nothing to decide)

    @staticmethod
    def _expect(session: ResetSession, step: ResetStep, event: str) -> Operation:
        """Refuse a request that is not the flow's next step (a stale or replayed screen)."""
        if session.flow.step is not step or session.operation is None:
            raise IllegalTransitionError(state=session.flow.state.name, event=event)
        return session.operation

    # -- endpoints --

    async def cards(self, request: Request) -> Response:
        """The card picker: every card with its holder (from its certificates) and PIN state."""
        lang: Language = "en" if request.query_params.get("lang") == "en" else "tr"
        found = []
        try:
            infos = await self.module.atokens()
        except KamusmError as err:
            return _refusal(err, None)
        for info in infos:
            display = info.label
            try:
                token = await self.module.atoken(serial=info.serial, label=info.label)
                certs = await token.acertificates()
                if certs:
                    display = CardSummary.from_certificates(certs).display(lang)
            except KamusmError as exc:
                logger.debug("card %s: certificates not readable (%s)", info.serial, exc)
            found.append(
                {
                    "serial": info.serial,
                    "label": info.label,
                    "display": display,
                    "pin_state": info.pin_status.summary,
                }
            )
        return JSONResponse({"cards": found})

    async def start(self, request: Request) -> Response:
        """Code and card in: redeem the code for the card, read the card, and open the PIN
        screen. Nothing is kept when this fails."""
        try:
            data = await _json_body(request)
            code_text, serial = _text(data, "verification_code"), _text(data, "card_serial")
            product = Product(data.get("product", Product.NES.value))
        except BadBodyError:
            return JSONResponse({"error": "BadRequest", "message": NOT_JSON}, 400)
        except (InputError, ValueError):
            return _refusal(InputError(), None)
        await self._sweep()
        flow = PinResetFlow(product, clock=self.clock)
        session = ResetSession(flow, serial)
        sid = secrets.token_urlsafe(32)
        try:
            code = VerificationCode.parse(code_text, length=flow.policy.verification_code_length)
            if serial in self._cards:
                raise FlowBusyError()
            self._cards[serial] = sid
            flow.send(CodeEntered(code, serial))
            session.operation = await self._perform(
                session, self.portal.redeem(code, card_serial=serial)
            )
            flow.send(CodeRedeemed(session.operation))
            flow.send(CardChosen(await read_card_facts(self.module, serial)))
        except KamusmError as err:
            if self._cards.get(serial) == sid:
                await self._close(sid, session)
            return _refusal(err, None)
        self.sessions[sid] = session
        logger.info("PIN reset started for card %s", serial)
        policy = flow.pin_policy()
        response = JSONResponse(
            {
                **_state(session),
                "card_serial": serial,
                "pin": {"min_length": policy.min_length, "max_length": policy.max_length},
            },
            status_code=201,
        )
        response.set_cookie(
            SESSION_COOKIE,
            sid,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/api/reset",
        )
        return response

    async def status(self, request: Request, session: ResetSession) -> Response:
        body = _state(session)
        body["confirmation_attempts_left"] = session.flow.confirmation_attempts_left
        return JSONResponse(body)

    async def choose_pin(self, request: Request, session: ResetSession) -> Response:
        data = await _json_body(request)
        new, confirmation = _text(data, "new_pin"), _text(data, "confirmation")
        # A PIN that breaks the policy raises PinPolicyError and leaves the state as it was.
        session.flow.send(PinChosen(new, confirmation))
        return JSONResponse(_state(session))

    async def challenge(self, request: Request, session: ResetSession) -> Response:
        data = await _json_body(request)
        method = data.get("method", "sms")
        if method not in ("sms", "web_password"):
            raise InputError()
        operation = self._expect(session, ResetStep.REQUEST_CHALLENGE, "ChallengeSent")
        sent = await self._perform(session, self.portal.request_challenge(operation, method=method))
        session.method, session.masked_phone = method, sent.masked_phone
        session.flow.send(ChallengeSent(sent.expires_at, sent.attempts_remaining))
        return JSONResponse(
            {
                **_state(session),
                "method": method,
                "masked_phone": sent.masked_phone,
                "attempts_remaining": sent.attempts_remaining,
            }
        )

    async def confirm(self, request: Request, session: ResetSession) -> Response:
        data = await _json_body(request)
        operation = self._expect(session, ResetStep.ENTER_CONFIRMATION, "Confirmed")
        answer: SmsCode | str = _text(data, "answer")
        if session.method == "sms":
            answer = SmsCode.parse(answer)  # InvalidCodeError: typed wrong, ask again
        try:
            authorization = await self.portal.confirm_challenge(operation, answer)
        except SmsCodeRejectedError as rejected:
            # Counts the attempt; the flow cancels itself after the last one.
            session.flow.send(ConfirmationRejected(rejected.attempts_remaining))
            raise
        except KamusmError as exc:
            session.flow.send(ErrorOccurred(exc))
            raise
        session.flow.send(Confirmed())
        session.flow.send(AuthorizationReceived(authorization))
        return JSONResponse(_state(session))

    async def finish(self, request: Request, session: ResetSession) -> Response:
        flow = session.flow
        operation = self._expect(session, ResetStep.WRITE_PIN, "PinWritten")
        authorization, new_pin = flow.authorization, flow.new_pin
        if authorization is None or new_pin is None:  # the flow holds both in this step
            raise IllegalTransitionError(state=flow.state.name, event="PinWritten")
        token = await self._perform(session, self.module.atoken(serial=session.card_serial))
        # Spends the single-use authorization: SO login + C_InitPIN (+ C_SetPIN(SO) to the
        # fresh SO credential when the portal rotates it), at most once.
        outcome = await self._perform(
            session, token.aunblock(authorization, new_pin, clock=flow.clock)
        )
        flow.send(PinWritten())
        logger.info("new PIN written on card %s", session.card_serial)
        try:
            # The outcome tells the portal which SO credential the card holds now.
            await self.portal.report_result(operation, success=True, outcome=outcome)
        except KamusmError as exc:
            flow.send(ErrorOccurred(exc))  # the card is done; only the report failed
        else:
            flow.send(ResultReported())
        session.reported = True
        return JSONResponse({**_state(session), "done": True, "reported": flow.reported})

    async def cancel(self, request: Request, session: ResetSession) -> Response:
        try:
            session.flow.send(FlowCancelled())
        except FlowCancelledError as done:  # how a flow says it was cancelled
            message = {"tr": done.message("tr"), "en": done.message("en")}
            return JSONResponse({**_state(session), "message": message})
        return JSONResponse(_state(session))

    def routes(self) -> list[Route]:
        def step(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                return await self._guarded(request, handler)

            return endpoint

        return [
            Route("/api/cards", self.cards, methods=["GET"]),
            Route("/api/reset", self.start, methods=["POST"]),
            Route("/api/reset", step(self.status), methods=["GET"]),
            Route("/api/reset", step(self.cancel), methods=["DELETE"]),
            Route("/api/reset/pin", step(self.choose_pin), methods=["POST"]),
            Route("/api/reset/challenge", step(self.challenge), methods=["POST"]),
            Route("/api/reset/confirm", step(self.confirm), methods=["POST"]),
            Route("/api/reset/finish", step(self.finish), methods=["POST"]),
        ]


def create_app(
    *,
    portal: AsyncPortalClient,
    module: Pkcs11Module,
    clock: Clock | None = None,
    close_portal: bool = True,
) -> Starlette:
    """The Starlette application. ``clock`` decides the flows' time limits (share the portal's
    clock in tests); the portal client is closed on shutdown unless ``close_portal`` is off."""
    backend = ResetBackend(portal=portal, module=module, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_portal:
            await portal.aclose()

    app = Starlette(routes=backend.routes(), lifespan=lifespan)
    app.state.backend = backend
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A browser backend for the Kamu SM PIN reset.")
    parser.add_argument("--portal", required=True, help="the portal's base URL")
    parser.add_argument("--module", help="PKCS#11 module (default: KAMUSM_PKCS11_MODULE, AKİS)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the backend until interrupted. Prints ``listening on URL`` once it accepts."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        module = Pkcs11Module.open(args.module)
        portal = AsyncPortalClient(args.portal)
    except KamusmError as err:
        print(err.message("en"), file=sys.stderr)
        return 1
    app = create_app(portal=portal, module=module)
    sock = socket.create_server((args.host, args.port))
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
