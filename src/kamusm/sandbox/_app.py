"""The sandbox's HTTP face: a Starlette application over :class:`SandboxPortal`.

Every answer is JSON. Every refusal is ``{"error": <code>, "message": <English text>, ...}``
with the contract's status; an unexpected fault is a bare ``{"error": "server_error"}`` (no
stack trace ever leaves the process). Credentials travel only in JSON bodies and the
``Authorization`` header, never in a URL, so access logs cannot leak them.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kamusm.sandbox._openapi import openapi_document
from kamusm.sandbox._portal import (
    EDEVLET_METHODS,
    ApiError,
    CertificateRecord,
    SandboxPortal,
)
from kamusm.values import ManualClock, Product, Tckn

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_MESSAGES: Final[Mapping[str, str]] = {
    "bad_request": "The request does not follow the contract.",
    "payload_too_large": "The request body is too large.",
    "authentication_required": "A valid session (or admin token) is required.",
    "login_failed": "The login details could not be verified.",
    "login_method_unavailable": "This login method is not available in this deployment.",
    "forbidden": "Not allowed.",
    "not_found": "Not found.",
    "method_not_allowed": "Method not allowed.",
    "conflict": "The request does not fit the current state.",
    "verification_code_invalid": "The verification code is not valid.",
    "verification_code_expired": "The verification code has expired.",
    "verification_code_used": "The verification code has been used already.",
    "card_not_owned": "The card does not belong to the code's holder.",
    "sms_code_rejected": "The confirmation answer is wrong.",
    "sms_code_expired": "The confirmation code has expired.",
    "operation_cancelled": "The operation was cancelled.",
    "rate_limited": "Too many failed attempts; wait before trying again.",
    "server_error": "Internal error.",
}

_SERIAL = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_REASON = re.compile(r"[A-Za-z_.-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")

Handler = Callable[[Request], Awaitable[Response]]


def _error_response(err: ApiError) -> JSONResponse:
    body: dict[str, object] = err.body()
    body["message"] = _MESSAGES.get(err.code, err.code)
    headers: dict[str, str] = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kamusm-sandbox"'
    return JSONResponse(body, status_code=err.status, headers=headers)


#: The only query parameters of the contract, per path; every other path takes none.
_QUERY: Final[Mapping[str, frozenset[str]]] = {"/api/v1/admin/outbox": frozenset({"phone"})}


def _query_allowed(scope: Scope) -> bool:
    raw = scope.get("query_string", b"")
    if not raw:
        return True
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    names = [name for name, _ in pairs]
    allowed = _QUERY.get(scope.get("path", ""), frozenset())
    return set(names) <= allowed and len(names) == len(set(names))


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
                    code = "payload_too_large" if declared > self.limit else "bad_request"
                    status = 413 if declared > self.limit else 400
                    await _error_response(ApiError(status, code))(scope, receive, send)
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


async def _body(request: Request, fields: Mapping[str, Callable[[object], Any]]) -> dict[str, Any]:
    """The JSON object of the request, each field through its parser; unknown fields,
    missing required ones (parsers that are not optional) and wrong types are 400."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", reason="not_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", reason="not_an_object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ApiError(400, "bad_request", reason="unknown_field")
    out: dict[str, Any] = {}
    for name, parse in fields.items():
        try:
            out[name] = parse(data.get(name, _MISSING))
        except (ValueError, TypeError):
            raise ApiError(400, "bad_request", reason=f"field_{name}") from None
    return out


class _Missing:
    pass


_MISSING: Final = _Missing()


def _text(*, max_len: int = 256, pattern: re.Pattern[str] | None = None) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if not isinstance(value, str) or not value or len(value) > max_len:
            raise ValueError
        if pattern is not None and not pattern.fullmatch(value):
            raise ValueError
        return value

    return parse


def _optional(parse: Callable[[object], Any], default: object = None) -> Callable[[object], Any]:
    def inner(value: object) -> Any:
        if value is _MISSING or value is None:
            return default
        return parse(value)

    return inner


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _digits(length: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if not isinstance(value, str) or len(value) != length or not value.isascii():
            raise ValueError
        if not value.isdigit():
            raise ValueError
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in options:
            raise ValueError
        assert isinstance(value, str)  # noqa: S101 (narrowing)
        return value

    return parse


def _tckn(value: object) -> Tckn:
    if not Tckn.is_valid(value):
        raise ValueError
    assert isinstance(value, str)  # noqa: S101 (narrowing)
    return Tckn(value)


def _product(value: object) -> Product:
    return Product(value)


def _date(value: object) -> date:
    if not isinstance(value, str):
        raise TypeError
    return date.fromisoformat(value)


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError
    return moment


def _certificates(value: object) -> list[CertificateRecord]:
    if not isinstance(value, list) or len(value) > 16:
        raise ValueError
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {
            "serial_number",
            "subject",
            "not_before",
            "not_after",
            "product",
            "status",
        }:
            raise ValueError
        out.append(
            CertificateRecord(
                serial_number=_text(max_len=64, pattern=_SERIAL)(item.get("serial_number")),
                subject=_text(max_len=256)(item.get("subject")),
                not_before=_moment(item.get("not_before")),
                not_after=_moment(item.get("not_after")),
                product=_optional(_product)(item.get("product", _MISSING)),
                status=_optional(_choice(("active", "suspended", "revoked")), "active")(
                    item.get("status", _MISSING)
                ),
            )
        )
    return out


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token.strip()):
        raise ApiError(401, "authentication_required")
    return token.strip()


def _no_content() -> Response:
    return Response(status_code=204)


# ---- the application ------------------------------------------------------------------


def create_app(  # noqa: PLR0915 (one small closure per route reads better than a class)
    portal: SandboxPortal, *, admin_token: str | None = None, training: bool = False
) -> Starlette:
    """The Starlette application serving ``portal`` under ``/api/v1``.

    ``training`` adds the holder's pages under ``/portal`` (``kamusm.sandbox._pages``),
    including the "telefon" page that shows the SMS messages sent to a phone number.

    ``admin_token`` guards the admin endpoints (provisioning, SMS outbox, audit, clock); a
    random one is made when not given and is readable as ``app.state.admin_token``.
    """
    token = admin_token if admin_token is not None else secrets.token_urlsafe(24)
    settings = portal.settings

    def admin(request: Request) -> None:
        given = _bearer(request)
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "authentication_required")

    def holder(request: Request) -> tuple[int, str]:
        return portal.session(_bearer(request))

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(settings))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def login_methods(request: Request) -> Response:
        return JSONResponse({"methods": portal.login_methods()})

    async def login_edevlet(request: Request) -> Response:
        body = await _body(
            request,
            {
                "tckn": _text(max_len=11),
                "password": _text(max_len=128),
                "method": _optional(_choice(EDEVLET_METHODS), "password"),
            },
        )
        return JSONResponse(portal.login_edevlet(**body, client=_client(request)))

    async def captcha(request: Request) -> Response:
        return JSONResponse(portal.new_captcha())

    async def sifreli_giris(request: Request) -> Response:
        body = await _body(
            request,
            {
                "id_number": _text(max_len=32),
                "captcha_id": _text(max_len=64),
                "captcha_answer": _text(max_len=32),
                "security_word": _text(max_len=128),
            },
        )
        return JSONResponse(portal.start_sifreli_giris(**body, client=_client(request)))

    async def sifreli_giris_confirm(request: Request) -> Response:
        body = await _body(
            request,
            {
                "pending_login_id": _text(max_len=64),
                "sms_code": _text(max_len=16),
            },
        )
        return JSONResponse(portal.confirm_sifreli_giris(**body, client=_client(request)))

    async def session(request: Request) -> Response:
        if request.method == "DELETE":
            portal.logout(_bearer(request))
            return _no_content()
        return JSONResponse(portal.session_info(_bearer(request)))

    async def certificates(request: Request) -> Response:
        holder_id, _ = holder(request)
        return JSONResponse({"certificates": portal.list_certificates(holder_id)})

    def certificate_action(action: str) -> Handler:
        async def handle(request: Request) -> Response:
            holder_id, _ = holder(request)
            serial = request.path_params["serial_number"]
            confirm = False
            if action == "revoke":
                body = await _body(request, {"confirm": _optional(_bool, False)})
                confirm = body["confirm"]
            else:
                await _body_or_empty(request)
            return JSONResponse(
                portal.change_certificate(holder_id, serial, action, confirm=confirm)
            )

        return handle

    async def pin_reset(request: Request) -> Response:
        holder_id, _ = holder(request)
        body = await _body(request, {"product": _product})
        return JSONResponse(portal.start_pin_reset(holder_id, body["product"]), status_code=201)

    async def initial_pin_reveal(request: Request) -> Response:
        holder_id, method = holder(request)
        return JSONResponse(
            portal.view_initial_pin(holder_id, method, request.path_params["card_serial"])
        )

    async def initial_pin_delete(request: Request) -> Response:
        holder_id, _ = holder(request)
        portal.delete_initial_pin(holder_id, request.path_params["card_serial"])
        return _no_content()

    code_field = _text(max_len=64)
    op_field = _text(max_len=64)

    async def redeem(request: Request) -> Response:
        body = await _body(
            request,
            {
                "verification_code": _digits(settings.code_length),
                "card_serial": _text(max_len=64, pattern=_SERIAL),
            },
        )
        return JSONResponse(portal.redeem(**body, client=_client(request)), status_code=201)

    async def challenge(request: Request) -> Response:
        body = await _body(
            request,
            {
                "operation_id": op_field,
                "verification_code": code_field,
                "method": _optional(_choice(("sms", "web_password")), "sms"),
            },
        )
        return JSONResponse(portal.request_challenge(**body, client=_client(request)))

    async def confirm(request: Request) -> Response:
        body = await _body(
            request,
            {
                "operation_id": op_field,
                "verification_code": code_field,
                "answer": _text(max_len=128),
            },
        )
        return JSONResponse(portal.confirm_challenge(**body, client=_client(request)))

    async def result(request: Request) -> Response:
        body = await _body(
            request,
            {
                "operation_id": op_field,
                "verification_code": code_field,
                "success": _bool,
                "reason": _optional(_text(max_len=64, pattern=_REASON)),
            },
        )
        portal.report_result(**body, client=_client(request))
        return _no_content()

    async def admin_holders(request: Request) -> Response:
        admin(request)
        body = await _body(
            request,
            {
                "tckn": _tckn,
                "name": _text(max_len=128),
                "birth_date": _date,
                "password": _text(max_len=128),
                "phone": _text(max_len=32),
                "security_word": _text(max_len=128),
                "passport": _optional(_text(max_len=32)),
            },
        )
        portal.register_holder(**body)
        return _no_content()

    async def admin_cards(request: Request) -> Response:
        admin(request)
        body = await _body(
            request,
            {
                "serial": _text(max_len=64, pattern=_SERIAL),
                "holder": _tckn,
                "product": _product,
                "so_credential": _text(max_len=64),
                "initial_pin": _optional(_text(max_len=32)),
                "certificates": _optional(_certificates, []),
            },
        )
        portal.register_card(**body)
        return _no_content()

    async def admin_outbox(request: Request) -> Response:
        admin(request)
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
            for m in portal.outbox(phone=phone)
        ]
        return JSONResponse({"messages": messages})

    async def admin_audit(request: Request) -> Response:
        admin(request)
        return JSONResponse({"entries": portal.audit_log()})

    async def admin_clock(request: Request) -> Response:
        admin(request)
        body = await _body(request, {"advance_seconds": _seconds})
        clock = portal.clock
        if not isinstance(clock, ManualClock):
            raise ApiError(409, "conflict", reason="clock_not_manual")
        now = clock.advance(timedelta(seconds=body["advance_seconds"]))
        return JSONResponse({"now": now.isoformat()})

    prefix = "/api/v1"
    routes = [
        Route(f"{prefix}/openapi.json", openapi, methods=["GET"]),
        Route(f"{prefix}/health", health, methods=["GET"]),
        Route(f"{prefix}/login-methods", login_methods, methods=["GET"]),
        Route(f"{prefix}/session/edevlet", login_edevlet, methods=["POST"]),
        Route(f"{prefix}/session/captcha", captcha, methods=["POST"]),
        Route(f"{prefix}/session/sifreli-giris", sifreli_giris, methods=["POST"]),
        Route(f"{prefix}/session/sifreli-giris/confirm", sifreli_giris_confirm, methods=["POST"]),
        Route(f"{prefix}/session", session, methods=["GET", "DELETE"]),
        Route(f"{prefix}/certificates", certificates, methods=["GET"]),
        *(
            Route(
                f"{prefix}/certificates/{{serial_number}}/{action}",
                certificate_action(action),
                methods=["POST"],
            )
            for action in ("suspend", "reactivate", "revoke")
        ),
        Route(f"{prefix}/pin-reset", pin_reset, methods=["POST"]),
        Route(
            f"{prefix}/cards/{{card_serial}}/initial-pin/reveal",
            initial_pin_reveal,
            methods=["POST"],
        ),
        Route(
            f"{prefix}/cards/{{card_serial}}/initial-pin", initial_pin_delete, methods=["DELETE"]
        ),
        Route(f"{prefix}/operations", redeem, methods=["POST"]),
        Route(f"{prefix}/operations/challenge", challenge, methods=["POST"]),
        Route(f"{prefix}/operations/confirm", confirm, methods=["POST"]),
        Route(f"{prefix}/operations/result", result, methods=["POST"]),
        Route(f"{prefix}/admin/holders", admin_holders, methods=["POST"]),
        Route(f"{prefix}/admin/cards", admin_cards, methods=["POST"]),
        Route(f"{prefix}/admin/outbox", admin_outbox, methods=["GET"]),
        Route(f"{prefix}/admin/audit", admin_audit, methods=["GET"]),
        Route(f"{prefix}/admin/clock", admin_clock, methods=["POST"]),
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
        log.error("Sandbox request failed with %s", type(exc).__name__)
        return JSONResponse(
            {"error": "server_error", "message": _MESSAGES["server_error"]}, status_code=500
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
    app.add_middleware(_LimitBody, limit=settings.max_body_bytes)
    app.state.admin_token = token
    app.state.portal = portal
    return app


async def _body_or_empty(request: Request) -> None:
    """Actions without parameters accept no body or an empty JSON object."""
    raw = await request.body()
    if raw.strip() in (b"", b"{}"):
        return
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", reason="not_json") from None
    if data != {}:
        raise ApiError(400, "bad_request", reason="unknown_field")


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    if not 0 <= value <= 10 * 365 * 24 * 3600:
        raise ValueError
    return float(value)
