"""The wizard's HTTP face: a Starlette application, its guard and its pages.

The guard, in the order it checks (as Web eID and AusweisApp protect their local helpers):

1. ``Host`` must be this server's own ``127.0.0.1:PORT`` (DNS rebinding gets nothing).
2. ``Origin``, when sent, must be this server's origin, and every ``POST`` must send it; a
   ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site`` is refused too (other sites).
3. The launch token: ``GET /start?token=…`` (the URL the command opens) trades the random token
   made at this start for an HttpOnly, SameSite=Strict cookie, once; every other request must
   carry that cookie. A second browser window gets a refusal: one session at a time.
4. Every form carries the session's CSRF token; a ``POST`` without the right one is refused.
5. No query string anywhere else (secrets never travel in a URL), only ``GET`` and ``POST``,
   small bodies, no CORS header ever, and a Content-Security-Policy without inline script.

PINs, codes and passwords arrive only in ``POST`` bodies and go straight to the flow driver;
nothing here logs them or writes them into a page.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

import anyio.to_thread
import attrs
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kamusm.app._conversation import (
    ChangeConversation,
    Conversation,
    ResetConversation,
    StaleAnswerError,
)
from kamusm.app._texts import t
from kamusm.errors import KamusmError
from kamusm.messages import DEFAULT_LANGUAGE, Language
from kamusm.values import Clock, Product, SystemClock

__all__ = ["AppConfig", "create_app"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_STATIC: Final = {
    "app.css": ("text/css; charset=utf-8", _HERE / "static" / "app.css"),
    "app.js": ("text/javascript; charset=utf-8", _HERE / "static" / "app.js"),
    "logo.svg": ("image/svg+xml", _HERE / "static" / "logo.svg"),
}
COOKIE: Final = "kamusm_app"
MAX_BODY: Final = 8 * 1024
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_NEXT_PAGES: Final = frozenset({"/", "/flow", "/cards"})


@attrs.frozen(kw_only=True)
class AppConfig:
    """What the wizard works with: the portal's base URL, the PKCS#11 module (``None``: the
    usual places), the clock the flows judge time by, and the language it starts in."""

    portal_url: str
    module_path: str | None = None
    ca_bundle: str | None = None
    clock: Clock = attrs.field(factory=SystemClock)
    lang: Language = DEFAULT_LANGUAGE


class _Refused(Exception):  # noqa: N818 (a control-flow signal inside this module)
    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


@attrs.define
class _Session:
    """The one browser session: its cookie secret, CSRF token, language and flow."""

    secret: str | None = None
    csrf: str = attrs.field(factory=lambda: secrets.token_urlsafe(32))
    lang: Language = DEFAULT_LANGUAGE
    conversation: Conversation | None = None
    notice: str | None = None


class _Resources:
    """The PKCS#11 module and the portal client, opened on first use."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._module: Any = None
        self._portal: Any = None

    async def module(self) -> Any:
        if self._module is None:
            from kamusm.token import Pkcs11Module  # noqa: PLC0415 (pkcs11 only when needed)

            path = self.config.module_path
            self._module = await anyio.to_thread.run_sync(lambda: Pkcs11Module.open(path))
        return self._module

    def portal(self) -> Any:
        if self._portal is None:
            from kamusm.portal import AsyncPortalClient  # noqa: PLC0415

            verify: bool | str = self.config.ca_bundle or True
            self._portal = AsyncPortalClient(
                self.config.portal_url, verify=verify, clock=self.config.clock
            )
        return self._portal

    async def aclose(self) -> None:
        if self._portal is not None:
            await self._portal.aclose()


# ---- the guard ---------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


class _Guard:
    """ASGI middleware: the checks of the module docstring, and the security headers on every
    answer (refusals included)."""

    def __init__(self, app: ASGIApp, *, port: int, session: _Session, launch: str) -> None:
        self.app = app
        self.host = f"127.0.0.1:{port}"
        self.origin = f"http://{self.host}"
        self.session = session
        self.launch = launch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            cookie = self._check(scope)
        except _Refused as refusal:
            log.info("refused a request: %s", refusal.key)
            await _refusal_page(refusal, self.session.lang)(scope, receive, send_secured)
            return
        if cookie is not None:
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def _check(self, scope: Scope) -> str | None:
        """Raise :class:`_Refused` for a request to refuse; return a new session cookie for
        the launch request; ``None`` for a request to serve."""
        if _header(scope, b"host") != self.host:
            raise _Refused(403, "refused.host")
        method = scope.get("method", "GET")
        origin = _header(scope, b"origin")
        if origin is not None and origin != self.origin:
            raise _Refused(403, "refused.origin")
        if method == "POST" and origin is None:
            raise _Refused(403, "refused.origin")
        if _header(scope, b"sec-fetch-site") in ("cross-site", "same-site"):
            raise _Refused(403, "refused.origin")
        if method not in ("GET", "POST"):
            raise _Refused(405, "refused.bad_request")
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        if path == "/start" and method == "GET":
            return self._launch(query)
        if query:
            raise _Refused(400, "refused.bad_request")
        secret = self.session.secret
        given = _cookie(scope)
        if secret is None or given is None or not secrets.compare_digest(given, secret):
            raise _Refused(403, "refused.token")
        return None

    def _launch(self, query: bytes) -> str:
        try:
            pairs = parse_qsl(query.decode("ascii"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise _Refused(403, "refused.token") from None
        given = dict(pairs).get("token", "") if len(pairs) == 1 else ""
        if not given or not secrets.compare_digest(given, self.launch):
            raise _Refused(403, "refused.token")
        if self.session.secret is not None:
            raise _Refused(409, "refused.session")
        self.session.secret = secrets.token_urlsafe(32)
        return self.session.secret


# ---- pages -------------------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render(name: str, lang: Language, status: int = 200, **context: Any) -> HTMLResponse:
    def tr(key: str, **fields: object) -> str:
        return t(key, lang, **fields)

    body = _env.get_template(name).render(t=tr, lang=lang, **context)
    return HTMLResponse(body, status_code=status)


def _refusal_page(refusal: _Refused, lang: Language) -> HTMLResponse:
    return _render("refused.html", lang, refusal.status, message=t(refusal.key, lang))


def _date(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%d.%m.%Y")


async def _form(request: Request, session: _Session) -> dict[str, str]:
    """The ``POST`` body as a dict, after the CSRF check; refusals for anything odd."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _Refused(413, "refused.bad_request")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise _Refused(400, "refused.bad_request")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise _Refused(400, "refused.bad_request") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _Refused(400, "refused.bad_request")
    given = fields.pop("csrf", "")
    if not given or not secrets.compare_digest(given.encode(), session.csrf.encode()):
        raise _Refused(403, "refused.csrf")
    return fields


Handler = Callable[[Request], Awaitable[Response]]


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


class _Wizard:
    """The handlers of every page, around the one session."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.session = _Session(lang=config.lang)
        self.resources = _Resources(config)

    # -- helpers --

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return _render(name, self.session.lang, status, csrf=self.session.csrf, **context)

    def route(self, path: str, fn: Handler, method: str) -> Route:
        async def guarded(request: Request) -> Response:
            try:
                return await fn(request)
            except _Refused as refusal:
                log.info("refused a request: %s", refusal.key)
                return _refusal_page(refusal, self.session.lang)
            except KamusmError as err:  # no card module, say: the library's own words
                return self.page("ended.html", error=err.message(self.session.lang))

        return Route(path, guarded, methods=[method])

    async def form(self, request: Request) -> dict[str, str]:
        return await _form(request, self.session)

    # -- home, language, assets --

    async def home(self, request: Request) -> Response:
        return self.page("home.html", busy=_running(self.session))

    async def switch_lang(self, request: Request) -> Response:
        fields = await self.form(request)
        self.session.lang = "en" if self.session.lang == "tr" else "tr"
        target = fields.get("next", "/")
        return _see(target if target in _NEXT_PAGES else "/")

    async def static(self, request: Request) -> Response:
        entry = _STATIC.get(request.path_params["name"])
        if entry is None:
            raise _Refused(404, "refused.not_found")
        kind, path = entry
        return Response(path.read_bytes(), media_type=kind)

    # -- starting, answering and ending flows --

    async def start_reset(self, request: Request) -> Response:
        fields = await self.form(request)
        try:
            product = Product(fields.get("product", "nes"))
        except ValueError:
            raise _Refused(400, "refused.bad_request") from None
        method = fields.get("method", "sms")
        if method not in ("sms", "web_password"):
            raise _Refused(400, "refused.bad_request")
        if not await _make_room(self.session):
            self.session.notice = "app.busy"
            return _see("/flow")
        conversation = ResetConversation(self.config.clock, product)
        conversation.method = method
        self.session.conversation = conversation
        resources, clock = self.resources, self.config.clock

        async def run() -> object:
            from kamusm.flows import areset_pin  # noqa: PLC0415

            module = await resources.module()
            return await areset_pin(
                module,
                resources.portal(),
                conversation,
                product=product,
                clock=clock,
                challenge_method=method,
            )

        conversation.start(run)
        await conversation.wait_moved()
        return _see("/flow")

    async def start_change(self, request: Request) -> Response:
        fields = await self.form(request)
        serial = fields.get("serial", "")
        if not serial or len(serial) > 64:
            raise _Refused(400, "refused.bad_request")
        if not await _make_room(self.session):
            self.session.notice = "app.busy"
            return _see("/flow")
        module = await self.resources.module()
        label = serial
        with contextlib.suppress(KamusmError):
            label = (await module.atoken(serial=serial)).info.label
        card = t("change.card_name", self.session.lang, label=label, serial=serial)
        conversation = ChangeConversation(self.config.clock, serial, card)
        self.session.conversation = conversation

        async def run() -> object:
            from kamusm.flows import achange_pin  # noqa: PLC0415

            token = await module.atoken(serial=serial)
            return await achange_pin(token, conversation)

        conversation.start(run)
        await conversation.wait_moved()
        return _see("/flow")

    async def answer(self, request: Request) -> Response:
        fields = await self.form(request)
        conversation = self.session.conversation
        question = fields.pop("question", "")
        try:
            value = _answer_value(question, fields)
        except _Unanswered:
            return _see("/flow")
        if conversation is None:
            return _see("/")
        if question == "card" and isinstance(conversation, ResetConversation):
            conversation.chosen = value or None
        try:
            await conversation.answer(question, value)
        except StaleAnswerError:
            self.session.notice = "app.stale"
        return _see("/flow")

    async def cancel(self, request: Request) -> Response:
        await self.form(request)
        conversation = self.session.conversation
        if conversation is not None:
            await conversation.cancel()
        return _see("/flow" if conversation is not None else "/")

    async def flow(self, request: Request) -> Response:
        session = self.session
        conversation = session.conversation
        if conversation is None:
            return _see("/")
        notice, session.notice = session.notice, None
        common: dict[str, Any] = {
            "notice": None if notice is None else t(notice, session.lang),
            "kind": conversation.kind,
            "problems": [p.message(session.lang) for p in conversation.take_problems()],
            "remaining": conversation.remaining_seconds(),
        }
        if conversation.finished:
            if conversation.error is not None:
                error = conversation.error.message(session.lang)
                return self.page("ended.html", error=error, **common)
            reported = getattr(conversation.result, "reported", True)
            return self.page("done.html", reported=reported, **common)
        question = conversation.question
        if question is None:
            return self.page("working.html", **common)
        name, details = question.name, question.details
        template, extra = self._screen(conversation, name, details)
        return self.page(template, **extra, **common)

    def _screen(
        self, conversation: Conversation, name: str, details: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The template of question ``name`` and what fills it."""
        lang = self.session.lang
        if isinstance(conversation, ResetConversation):
            screens: dict[str, tuple[str, dict[str, Any]]] = {
                "code": ("code.html", {"product": conversation.product.display(lang)}),
                "card": (
                    "card.html",
                    {"options": [_card_option(c, lang) for c in details.get("cards", [])]},
                ),
                "pin": (
                    "pin.html",
                    {"question": "pin", "card": _chosen_card(conversation, lang), "old": False},
                ),
                "confirm": ("confirm.html", {}),
                "new_sms": ("new_sms.html", {}),
            }
        else:
            card = getattr(conversation, "card", "")
            screens = {
                "pins": ("pin.html", {"question": "pins", "card": card, "old": True}),
                "final_try": ("final_try.html", {"card": card}),
            }
        template, extra = screens.get(name, ("working.html", {}))
        return template, {**{k: v for k, v in details.items() if k != "cards"}, **extra}

    # -- cards --

    async def cards(self, request: Request) -> Response:
        problem = None
        rows: list[dict[str, Any]] = []
        lang = self.session.lang
        try:
            module = await self.resources.module()
            rows = await anyio.to_thread.run_sync(lambda: _read_cards(module, lang))
        except KamusmError as err:
            problem = err.message(lang)
        return self.page("cards.html", rows=rows, problem=problem, busy=_running(self.session))

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        if self.session.conversation is not None:
            await self.session.conversation.cancel()
        await self.resources.aclose()


def _card_option(choice: Any, lang: Language) -> dict[str, str]:
    summary = choice.summary
    if summary is None:
        text = t("card.unknown", lang, label=choice.label)
    else:
        text = t(
            "card.option",
            lang,
            name=summary.holder_name or choice.label,
            products=", ".join(p.display(lang) for p in summary.products) or "-",
            expiry=_date(summary.expires_at),
        )
    return {"serial": choice.serial, "text": text}


def _chosen_card(conversation: ResetConversation, lang: Language) -> str:
    for choice in conversation.cards:
        if choice.serial == conversation.chosen:
            return _card_option(choice, lang)["text"]
    return conversation.chosen or ""


def create_app(config: AppConfig, *, port: int, launch_token: str) -> Starlette:
    """The wizard for a server listening on ``127.0.0.1:port``, opened once through
    ``/start?token=<launch_token>``."""
    wizard = _Wizard(config)
    routes = [
        wizard.route("/", wizard.home, "GET"),
        wizard.route("/lang", wizard.switch_lang, "POST"),
        wizard.route("/static/{name}", wizard.static, "GET"),
        wizard.route("/reset/start", wizard.start_reset, "POST"),
        wizard.route("/change/start", wizard.start_change, "POST"),
        wizard.route("/flow", wizard.flow, "GET"),
        wizard.route("/flow", wizard.answer, "POST"),
        wizard.route("/flow/cancel", wizard.cancel, "POST"),
        wizard.route("/cards", wizard.cards, "GET"),
    ]
    lang = wizard.session

    async def not_found(request: Request, exc: Exception) -> Response:
        return _refusal_page(_Refused(404, "refused.not_found"), lang.lang)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("a request failed: %s", type(exc).__name__)
        return _refusal_page(_Refused(500, "refused.error"), lang.lang)

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found, Exception: crashed},
        lifespan=wizard.lifespan,
    )
    app.add_middleware(_Guard, port=port, session=wizard.session, launch=launch_token)
    app.state.session = wizard.session
    return app


class _Unanswered(Exception):  # noqa: N818 (a control-flow signal inside this module)
    """The form does not answer its question (a required box left empty)."""


def _field(fields: Mapping[str, str], name: str, limit: int = 64) -> str:
    value = fields.get(name, "")
    if len(value) > limit:
        raise _Refused(400, "refused.bad_request")
    return value


def _answer_value(question: str, fields: Mapping[str, str]) -> Any:  # noqa: PLR0911 (one branch a question reads best as one table)
    """What the driver's question gets from the form (the flow judges it)."""
    if question == "code":
        return _field(fields, "code")
    if question == "card":
        return "" if "reread" in fields else _field(fields, "serial")
    if question == "pin":
        return (_field(fields, "new"), _field(fields, "again"))
    if question == "pins":
        return (_field(fields, "old"), _field(fields, "new"), _field(fields, "again"))
    if question == "confirm":
        return _field(fields, "answer", 128)
    if question == "new_sms":
        send = fields.get("send")
        if send not in ("yes", "no"):
            raise _Refused(400, "refused.bad_request")
        return send == "yes"
    if question == "final_try":
        if fields.get("ack") != "yes":
            raise _Unanswered()
        return True
    raise _Refused(400, "refused.bad_request")


def _running(session: _Session) -> bool:
    conversation = session.conversation
    return conversation is not None and not conversation.finished


async def _make_room(session: _Session) -> bool:
    """Cancel a flow that waits for an answer, so a new one can start; ``False`` when one is
    in the middle of a card or portal call."""
    conversation = session.conversation
    if conversation is None or conversation.finished:
        return True
    if conversation.question is None:
        return False
    await conversation.cancel()
    return conversation.finished


def _read_cards(module: Any, lang: Language) -> list[dict[str, Any]]:
    """Every card with its PIN state and certificates (no PIN, no try spent)."""
    from kamusm.certs import CardSummary, read_certificates  # noqa: PLC0415
    from kamusm.token import Token  # noqa: PLC0415

    rows = []
    for info in module.tokens():
        certs: list[dict[str, str]] = []
        holder = "-"
        unreadable = False
        try:
            parsed, _ = read_certificates(Token(module, info).certificate_objects())
        except KamusmError:
            parsed, unreadable = [], True
        own = [c for c in parsed if not c.is_ca]
        if own:
            summary = CardSummary.from_certificates(parsed)
            holder = summary.holder_name or "-"
        for c in own:
            certs.append(
                {
                    "line": t(
                        "cards.cert_line",
                        lang,
                        kind=c.kind.display(lang),
                        serial=f"{c.serial_number:X}",
                        start=_date(c.not_before),
                        end=_date(c.not_after),
                    )
                }
            )
        status = info.pin_status.summary
        rows.append(
            {
                "serial": info.serial,
                "label": info.label,
                "holder": holder,
                "pin_state": t(f"pin_state.{status}", lang),
                "pin_key": status,
                "certs": certs,
                "unreadable": unreadable,
                "can_change": status not in ("locked", "not_initialized"),
            }
        )
    return rows
