"""The sandbox's HTTP face: a Starlette application over :class:`SandboxPortal`.

Every answer is JSON. Every refusal is ``{"error": <code>, "message": <English text>, ...}``
with the contract's status; an unexpected fault is a bare ``{"error": "server_error"}`` (no
stack trace ever leaves the process). Credentials travel only in JSON bodies and the
``Authorization`` header, never in a URL, so access logs cannot leak them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, timedelta
from email.utils import format_datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kamusm import _contract as contract
from kamusm._contract import ContractViolation, Endpoint
from kamusm._portal_admin import AdminRefused, SandboxAdmin
from kamusm.sandbox._openapi import openapi_document
from kamusm.sandbox._portal import LATEST_MOMENT, ApiError, CertificateRecord, SandboxPortal
from kamusm.values import ManualClock

__all__ = ["create_app", "local_admin"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def _error_response(err: ApiError) -> JSONResponse:
    body: dict[str, object] = err.body()
    known = contract.ERRORS.get(err.code)
    body["message"] = known.message if known is not None else err.code
    headers: dict[str, str] = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kamusm-sandbox"'
    return JSONResponse(body, status_code=err.status, headers=headers)


def _query_allowed(scope: Scope) -> bool:
    raw = scope.get("query_string", b"")
    if not raw:
        return True
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return contract.query_allowed(scope.get("path", ""), (name for name, _ in pairs))


_LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _host_name(host: str) -> str:
    """``host`` of a Host header without its port (``[::1]`` keeps its brackets)."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return _header(scope, b"transfer-encoding") is not None


async def _declared_json(request: Request) -> None:
    """415 for a body not declared ``application/json``: a page on any site may post
    ``text/plain`` or a form without asking first. The body is read first, so one too large is
    413 as always; nothing else has run."""
    if not _has_body(request.scope):
        return
    kind = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        await request.body()
        raise ApiError(415, "unsupported_media_type")


class _Guard:
    """ASGI middleware for requests from other sites and other host names, before anything
    else runs (so no rate-limit budget is touched):

    - a ``Host`` that is not a loopback name nor one of ``allowed_hosts`` is 421 (a page whose
      own name was rebound to 127.0.0.1 sends its own name: DNS rebinding);
    - an ``Origin`` that is not the origin the request was sent to, nor one of
      ``allowed_origins``, is 403 (a page of another site).

    A body not declared ``application/json`` is refused by each route before it does anything
    else (:func:`_declared_json`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str] = frozenset(),
        allowed_origins: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.hosts = _LOOPBACK_NAMES | {h.lower() for h in allowed_hosts}
        self.origins = frozenset(o.lower().rstrip("/") for o in allowed_origins)

    def _refusal(self, scope: Scope) -> ApiError | None:
        host = (_header(scope, b"host") or "").strip().lower()
        if not host or _host_name(host) not in self.hosts:
            return ApiError(421, "misdirected_request")
        origin = _header(scope, b"origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host}"
            if origin.strip().lower().rstrip("/") not in {own, *self.origins}:
                return ApiError(403, "forbidden", reason="origin")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                log.info("Sandbox refused a request before reading it: %s", refusal.code)
                await _error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _PortalDate:
    """ASGI middleware: every answer's ``Date`` header is the portal's own time (its clock,
    manual in training), so a desktop whose clock is off can measure by how much and count
    the portal's deadlines by the portal's time (the server's own ``Date`` is turned off)."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], Any]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                stamp = format_datetime(self.clock().astimezone(UTC), usegmt=True).encode("latin-1")
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)


class _LimitBody:
    """ASGI middleware: refuses unknown query parameters (400) and a body larger than
    ``limit`` bytes (413), whether it was announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _query_allowed(scope):
            await _error_response(ApiError(400, "bad_request", reason="query"))(
                scope, receive, send
            )
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.limit:
                    err = (
                        ApiError(413, "payload_too_large")
                        if declared > self.limit
                        else ApiError(400, "bad_request")
                    )
                    await _error_response(err)(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise ApiError(413, "payload_too_large")
            return message

        await self.app(scope, limited, send)


# ---- request parsing ------------------------------------------------------------------


async def _json_body(request: Request) -> object:
    raw = await request.body()
    if not contract.json_depth_ok(raw):
        raise ApiError(400, "bad_request", reason="too_deep")
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "bad_request", reason="not_json") from None


async def _body(request: Request, ep: Endpoint, code_length: int) -> dict[str, Any]:
    """The JSON object of the request checked against the endpoint's fields in the contract;
    unknown fields, missing required ones and wrong types are 400."""
    assert ep.body is not None  # noqa: S101 (called only for endpoints with a body)
    data = await _json_body(request)
    try:
        return contract.parse_body(ep.body, data, code_length=code_length)
    except ContractViolation as exc:
        raise ApiError(400, "bad_request", reason=exc.reason) from None


async def _no_body(request: Request) -> None:
    """Endpoints without parameters accept no body or an empty JSON object."""
    raw = await request.body()
    if raw.strip() in (b"", b"{}"):
        return
    data = await _json_body(request)
    if data != {}:
        raise ApiError(400, "bad_request", reason="unknown_field")


def _register_holder(portal: SandboxPortal, body: Mapping[str, Any]) -> None:
    portal.register_holder(**body)


def _register_card(portal: SandboxPortal, body: Mapping[str, Any]) -> None:
    fields = dict(body)
    records: Iterable[Mapping[str, Any]] = fields.pop("certificates")
    certificates = [CertificateRecord(**item) for item in records]
    portal.register_card(**fields, certificates=certificates)


#: The admin endpoints that write, as the in-process admin client performs them.
_ADMIN_WRITES: dict[str, Callable[[SandboxPortal, Mapping[str, Any]], None]] = {
    "admin_holders": _register_holder,
    "admin_cards": _register_card,
}


def local_admin(portal: SandboxPortal) -> SandboxAdmin:
    """The admin client of ``portal`` in this process: the body goes through JSON, the
    contract check and the portal call exactly as over HTTP, without a socket."""

    def send(ep: Endpoint, body: Mapping[str, Any]) -> None:
        assert ep.body is not None  # noqa: S101 (the admin writes all take a body)
        data = json.loads(json.dumps(dict(body)))
        try:
            parsed = contract.parse_body(ep.body, data, code_length=portal.settings.code_length)
            _ADMIN_WRITES[ep.name](portal, parsed)
        except ContractViolation as exc:
            raise AdminRefused(400, "bad_request", exc.reason) from None
        except ApiError as err:
            raise AdminRefused(err.status, err.code, err.reason) from None

    return SandboxAdmin(send)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not contract.TOKEN.fullmatch(token.strip()):
        raise ApiError(401, "authentication_required")
    return token.strip()


def _by_method(handlers: Mapping[str, Handler]) -> Handler:
    """One route's handler for the endpoints that share its path (Starlette answers 405 with
    ``Allow`` for the other methods)."""
    if len(handlers) == 1:
        (only,) = handlers.values()
        return only

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


def _no_content() -> Response:
    return Response(status_code=204)


# ---- the application ------------------------------------------------------------------


def create_app(
    portal: SandboxPortal,
    *,
    admin_token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    training: bool = False,
) -> Starlette:
    """The Starlette application serving ``portal`` under ``/api/v1``, one route for each
    endpoint of the contract (:data:`kamusm._contract.ENDPOINTS`).

    ``training`` adds the holder's pages under ``/portal`` (``kamusm.sandbox._pages``),
    including the "telefon" page that shows the SMS messages sent to a phone number.

    ``admin_token`` guards the admin endpoints (provisioning, SMS outbox, audit, clock); a
    random one is made when not given and is readable as ``app.state.admin_token``.
    Requests must name a loopback host or one of ``allowed_hosts`` (a deployment behind a
    proxy under its own name), and come from no other site than the one they are sent to or
    ``allowed_origins``.
    """
    token = admin_token if admin_token is not None else secrets.token_urlsafe(24)
    handlers = _Handlers(portal, token)
    table = handlers.table()
    by_path: dict[str, dict[str, Handler]] = {}
    for ep in contract.ENDPOINTS.values():
        by_path.setdefault(ep.full_path, {})[ep.method] = handlers.route(ep, table[ep.name])
    routes = [
        Route(path, _by_method(methods), methods=list(methods)) for path, methods in by_path.items()
    ]

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)  # noqa: S101 (registered for ApiError only)
        log.debug("Sandbox refused a request: %s %s", exc.status, exc.code)
        return _error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # noqa: S101 (registered for HTTPException only)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        response = _error_response(ApiError(exc.status_code, code))
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ClientDisconnect):  # the client left (or was timed out) mid-request
            log.info("Sandbox request abandoned by its client")
            return _error_response(ApiError(400, "bad_request", reason="incomplete"))
        log.error("Sandbox request failed with %s", type(exc).__name__)
        return JSONResponse(
            {"error": "server_error", "message": contract.ERRORS["server_error"].message},
            status_code=500,
        )

    if training:
        from kamusm.sandbox._pages import training_routes  # noqa: PLC0415 (opt-in pages)

        routes.extend(training_routes(portal))
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            Exception: on_crash,
        },
    )
    app.add_middleware(_LimitBody, limit=portal.settings.max_body_bytes)
    app.add_middleware(
        _Guard, allowed_hosts=frozenset(allowed_hosts), allowed_origins=frozenset(allowed_origins)
    )
    app.add_middleware(_PortalDate, clock=portal.clock.now)
    app.state.admin_token = token
    app.state.portal = portal
    return app


@attrs.frozen
class _Asked:
    """What a handler gets: the checked body and, for a session endpoint, who is asking."""

    body: dict[str, Any]
    holder_id: int = 0
    method: str = ""
    token: str = ""


Handle = Callable[[Request, _Asked], Awaitable[Response]]


class _Handlers:
    """One method per endpoint of the contract, named as the endpoint; :meth:`route` wraps
    each with the endpoint's authentication and body check."""

    def __init__(self, portal: SandboxPortal, admin_token: str) -> None:
        self.portal = portal
        self.settings = portal.settings
        self._admin_token = admin_token

    def table(self) -> dict[str, Handle]:
        """Each endpoint's handler (a test checks that every endpoint has one)."""
        return {
            "openapi": self.openapi,
            "health": self.health,
            "login_methods": self.login_methods,
            "login_edevlet": self.login_edevlet,
            "captcha": self.captcha,
            "sifreli_giris": self.sifreli_giris,
            "sifreli_giris_confirm": self.sifreli_giris_confirm,
            "session": self.session,
            "logout": self.logout,
            "certificates": self.certificates,
            "certificate_suspend": self.certificate_suspend,
            "certificate_reactivate": self.certificate_reactivate,
            "certificate_revoke": self.certificate_revoke,
            "pin_reset": self.pin_reset,
            "initial_pin_reveal": self.initial_pin_reveal,
            "initial_pin_delete": self.initial_pin_delete,
            "redeem": self.redeem,
            "challenge": self.challenge,
            "confirm": self.confirm,
            "result": self.result,
            "admin_holders": self.admin_holders,
            "admin_cards": self.admin_cards,
            "admin_outbox": self.admin_outbox,
            "admin_audit": self.admin_audit,
            "admin_clock": self.admin_clock,
        }

    def route(self, ep: Endpoint, handle: Handle) -> Handler:
        code_length = self.settings.code_length

        async def endpoint(request: Request) -> Response:
            await _declared_json(request)
            holder_id, method, token = 0, "", ""
            if ep.auth == "admin":
                given = _bearer(request)
                if not secrets.compare_digest(given.encode(), self._admin_token.encode()):
                    raise ApiError(401, "authentication_required")
            elif ep.auth == "session":
                token = _bearer(request)
                holder_id, method = self.portal.session(token)
            body = await _body(request, ep, code_length) if ep.body is not None else {}
            return await handle(request, _Asked(body, holder_id, method, token))

        endpoint.__name__ = ep.name
        return endpoint

    # -- meta and the holder's session --

    async def openapi(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse(openapi_document(self.settings))

    async def health(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse({"status": "ok"})

    async def login_methods(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse({"methods": self.portal.login_methods()})

    async def login_edevlet(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse(self.portal.login_edevlet(**asked.body, client=_client(request)))

    async def captcha(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse(self.portal.new_captcha(client=_client(request)))

    async def sifreli_giris(self, request: Request, asked: _Asked) -> Response:
        answer = self.portal.start_sifreli_giris(**asked.body, client=_client(request))
        return JSONResponse(answer)

    async def sifreli_giris_confirm(self, request: Request, asked: _Asked) -> Response:
        answer = self.portal.confirm_sifreli_giris(**asked.body, client=_client(request))
        return JSONResponse(answer)

    async def session(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse(self.portal.session_info(asked.token))

    async def logout(self, request: Request, asked: _Asked) -> Response:
        self.portal.logout(asked.token)
        return _no_content()

    async def certificates(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse({"certificates": self.portal.list_certificates(asked.holder_id)})

    async def _change(self, request: Request, asked: _Asked, action: str) -> Response:
        serial = request.path_params["serial_number"]
        confirm = bool(asked.body.get("confirm", False))
        if action != "revoke":
            await _no_body(request)
        changed = self.portal.change_certificate(asked.holder_id, serial, action, confirm=confirm)
        return JSONResponse(changed)

    async def certificate_suspend(self, request: Request, asked: _Asked) -> Response:
        return await self._change(request, asked, "suspend")

    async def certificate_reactivate(self, request: Request, asked: _Asked) -> Response:
        return await self._change(request, asked, "reactivate")

    async def certificate_revoke(self, request: Request, asked: _Asked) -> Response:
        return await self._change(request, asked, "revoke")

    async def pin_reset(self, request: Request, asked: _Asked) -> Response:
        issued = self.portal.start_pin_reset(asked.holder_id, asked.body["product"])
        return JSONResponse(issued, status_code=201)

    async def initial_pin_reveal(self, request: Request, asked: _Asked) -> Response:
        serial = request.path_params["card_serial"]
        return JSONResponse(self.portal.view_initial_pin(asked.holder_id, asked.method, serial))

    async def initial_pin_delete(self, request: Request, asked: _Asked) -> Response:
        self.portal.delete_initial_pin(asked.holder_id, request.path_params["card_serial"])
        return _no_content()

    # -- the desktop application --

    async def redeem(self, request: Request, asked: _Asked) -> Response:
        answer = self.portal.redeem(**asked.body, client=_client(request))
        return JSONResponse(answer, status_code=201)

    async def challenge(self, request: Request, asked: _Asked) -> Response:
        answer = self.portal.request_challenge(**asked.body, client=_client(request))
        return JSONResponse(answer)

    async def confirm(self, request: Request, asked: _Asked) -> Response:
        answer = self.portal.confirm_challenge(**asked.body, client=_client(request))
        return JSONResponse(answer)

    async def result(self, request: Request, asked: _Asked) -> Response:
        self.portal.report_result(**asked.body, client=_client(request))
        return _no_content()

    # -- admin --

    async def admin_holders(self, request: Request, asked: _Asked) -> Response:
        _register_holder(self.portal, asked.body)
        return _no_content()

    async def admin_cards(self, request: Request, asked: _Asked) -> Response:
        _register_card(self.portal, asked.body)
        return _no_content()

    async def admin_outbox(self, request: Request, asked: _Asked) -> Response:
        phone = request.query_params.get("phone")
        if phone is not None and not 0 < len(phone) <= 32:
            raise ApiError(400, "bad_request", reason="field_phone")
        messages = [
            {
                "phone": m.phone,
                "sent_at": m.sent_at.isoformat(),
                "purpose": m.purpose,
                "text": m.text,
                "code": m.code,
            }
            for m in self.portal.outbox(phone=phone)
        ]
        return JSONResponse({"messages": messages})

    async def admin_audit(self, request: Request, asked: _Asked) -> Response:
        return JSONResponse({"entries": self.portal.audit_log()})

    async def admin_clock(self, request: Request, asked: _Asked) -> Response:
        clock = self.portal.clock
        if not isinstance(clock, ManualClock):
            raise ApiError(409, "conflict", reason="clock_not_manual")
        step = timedelta(seconds=asked.body["advance_seconds"])
        if clock.now() + step > LATEST_MOMENT:  # date arithmetic near datetime.max overflows
            raise ApiError(400, "bad_request", reason="clock_out_of_range")
        now = clock.advance(step)
        return JSONResponse({"now": now.isoformat()})
