"""The portal client's own rules, with httpx.MockTransport for faults a real server cannot be
made to produce on demand (timeouts, dropped connections, malformed answers, 503 then 200).

Everything else is tested against the real sandbox in test_portal_desktop/holder.
"""

from __future__ import annotations

import inspect
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kamusm import _portal_errors, errors, portal
from kamusm.errors import (
    AuthenticationRequiredError,
    BadRequestError,
    ConflictError,
    InputError,
    PortalConnectionError,
    PortalError,
    PortalProtocolError,
    PortalServerError,
    PortalTimeoutError,
    PortalTlsError,
    RateLimitedError,
    SmsCodeRejectedError,
)
from kamusm.portal import AsyncPortalClient, PortalClient
from kamusm.values import ManualClock, Product, Tckn, VerificationCode

BASE = "https://portal.example.test"
CERTS_BODY: dict[str, list[object]] = {"certificates": []}


def _all_httpx_exceptions() -> list[type[Exception]]:
    return sorted(
        (
            obj
            for obj in vars(httpx).values()
            if isinstance(obj, type) and issubclass(obj, Exception)
        ),
        key=lambda c: c.__name__,
    )


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", BASE)
    if cls is httpx.HTTPStatusError:
        return cls("boom", request=request, response=httpx.Response(503, request=request))
    params = inspect.signature(cls).parameters
    if not params:
        return cls()
    if "request" in params:
        return cls("boom", request=request)  # type: ignore[call-arg]
    return cls("boom")


def test_every_httpx_exception_class_finds_its_translation() -> None:
    """Fails when httpx grows an exception class that no row of the one translation point
    covers (itself or one of its bases)."""
    missing = [
        c.__name__
        for c in _all_httpx_exceptions()
        if not any(base in _portal_errors.HTTPX_ERRORS for base in c.__mro__)
    ]
    assert missing == []


def test_the_httpx_table_holds_only_rows_that_differ_from_their_base() -> None:
    """A row that translates its class exactly as its nearest base does is dead weight."""
    for cls, make in _portal_errors.HTTPX_ERRORS.items():
        base = next((b for b in cls.__mro__[1:] if b in _portal_errors.HTTPX_ERRORS), None)
        assert base is None or _portal_errors.HTTPX_ERRORS[base] is not make, cls.__name__


@pytest.mark.parametrize("cls", _all_httpx_exceptions(), ids=lambda c: c.__name__)
def test_every_httpx_exception_becomes_a_portal_error(cls: type[Exception]) -> None:
    assert isinstance(_portal_errors.translate_httpx_error(_instance(cls)), PortalError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectTimeout("t"), PortalTimeoutError),
        (httpx.ReadTimeout("t"), PortalTimeoutError),
        (httpx.PoolTimeout("t"), PortalTimeoutError),
        (httpx.ConnectError("refused"), PortalConnectionError),
        (httpx.ReadError("reset"), PortalConnectionError),
        (httpx.RemoteProtocolError("garbage"), PortalProtocolError),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__,
)
def test_translation_kinds(exc: Exception, expected: type[PortalError]) -> None:
    assert type(_portal_errors.translate_httpx_error(exc)) is expected


def test_a_server_that_closed_before_answering_is_a_connection_failure() -> None:
    """Decided by where the error comes from (httpcore itself, no parser error beneath),
    never by its English text."""
    import httpcore

    closed = httpx.RemoteProtocolError("any words")
    closed.__cause__ = httpcore.RemoteProtocolError("other words")
    assert type(_portal_errors.translate_httpx_error(closed)) is PortalConnectionError
    garbled = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    beneath = httpcore.RemoteProtocolError("x")
    beneath.__cause__ = ValueError("the parser's refusal")
    garbled.__cause__ = beneath
    assert type(_portal_errors.translate_httpx_error(garbled)) is PortalProtocolError


def test_certificate_failure_under_a_connect_error_is_a_tls_error() -> None:
    exc = httpx.ConnectError("handshake failed")
    exc.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    assert type(_portal_errors.translate_httpx_error(exc)) is PortalTlsError


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> PortalClient:
    return PortalClient(BASE, transport=httpx.MockTransport(handler), backoff=0, **kw)


def _logged_in(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> PortalClient:
    """A client holding a session token, as after a login."""
    client = _client(handler, **kw)
    client._core._session_token = "session-token-abc"
    return client


def _redeem_with(response: httpx.Response) -> PortalError:
    with _client(lambda r: response) as client:
        with pytest.raises(PortalError) as err:
            client.redeem(VerificationCode("1" * 15), card_serial="CARD1")
        return err.value


#: The contract's error codes and the kamusm error each one is (docs/portal-api.md, "Errors"),
#: written here, not read from the client's own table.
CONTRACT_ERRORS: dict[str, type[PortalError]] = {
    "bad_request": BadRequestError,
    "payload_too_large": BadRequestError,
    "method_not_allowed": BadRequestError,
    "unsupported_media_type": BadRequestError,
    "misdirected_request": BadRequestError,
    "authentication_required": AuthenticationRequiredError,
    "login_failed": errors.LoginFailedError,
    "login_method_unavailable": errors.LoginMethodUnavailableError,
    "forbidden": errors.ForbiddenError,
    "not_found": errors.NotFoundError,
    "conflict": ConflictError,
    "verification_code_invalid": errors.VerificationCodeInvalidError,
    "verification_code_expired": errors.VerificationCodeExpiredError,
    "verification_code_used": errors.VerificationCodeUsedError,
    "card_not_owned": errors.CardNotOwnedError,
    "sms_code_rejected": SmsCodeRejectedError,
    "web_password_rejected": errors.WebPasswordRejectedError,
    "sms_code_expired": errors.SmsCodeExpiredError,
    "operation_cancelled": errors.OperationCancelledError,
    "rate_limited": RateLimitedError,
    "server_error": PortalServerError,
}


@pytest.mark.parametrize(("code", "expected"), sorted(CONTRACT_ERRORS.items()))
def test_the_error_code_decides_not_the_text_nor_the_status(
    code: str, expected: type[PortalError]
) -> None:
    """The same status and English text with another ``error`` code gives another error."""
    body = {"error": code, "message": "Something went wrong", "reason": "some_reason"}
    err = _redeem_with(httpx.Response(400, json=body))
    assert type(err) is expected
    assert err.status == 400


def test_the_documented_error_codes_are_the_tested_ones() -> None:
    """The contract's page lists exactly the codes above, each with the same error class."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "portal-api.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)`[^|]*\| \d{3} \| `(\w+)` \|$", page, flags=re.M)
    assert dict(rows) == {code: cls.__name__ for code, cls in CONTRACT_ERRORS.items()}


def test_sms_rejection_carries_attempts_left() -> None:
    body = {"error": "sms_code_rejected", "message": "x", "attempts_remaining": 1}
    err = _redeem_with(httpx.Response(422, json=body))
    assert isinstance(err, SmsCodeRejectedError) and err.attempts_remaining == 1


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, {"error": "rate_limited", "retry_after": 17}, 17),
        ({"Retry-After": "42"}, {"error": "rate_limited"}, 42),
        ({"Retry-After": "Thu, 01 Jan 2026 09:01:30 GMT"}, {}, 90),
        ({}, {}, 1),
    ],
)
def test_rate_limited_tells_when_to_retry(
    headers: dict[str, str], body: dict[str, Any], expected: int
) -> None:
    clock = ManualClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    answer = httpx.Response(429, json=body, headers=headers)
    with _client(lambda r: answer, clock=clock) as c, pytest.raises(RateLimitedError) as err:
        c.redeem(VerificationCode("1" * 15), card_serial="CARD1")
    assert err.value.retry_after == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(502, text="<html>Bad Gateway</html>"), PortalServerError),
        (httpx.Response(500, json={"error": "server_error", "message": "x"}), PortalServerError),
        (httpx.Response(404, text="nope"), errors.NotFoundError),
        (httpx.Response(401, json={"error": "brand_new_code"}), AuthenticationRequiredError),
        (httpx.Response(409, json={}), ConflictError),
        (httpx.Response(418, json={}), PortalProtocolError),
        (httpx.Response(413, text=""), BadRequestError),
        (httpx.Response(201, text="<html>not json</html>"), PortalProtocolError),
        (httpx.Response(201, json={"operation_id": 5}), PortalProtocolError),
        (httpx.Response(200, json={}), PortalError),  # wrong success status
    ],
    ids=lambda v: str(v.status_code) if isinstance(v, httpx.Response) else v.__name__,
)
def test_unknown_or_malformed_answers(
    response: httpx.Response, expected: type[PortalError]
) -> None:
    assert isinstance(_redeem_with(response), expected)


def _operation_json(**overrides: Any) -> dict[str, Any]:
    body = {
        "operation_id": "op-1",
        "holder": "10000000146",
        "product": "nes",
        "card_serial": "CARD1",
        "expires_at": "2026-01-01T09:10:00+00:00",
        "pin_entry_deadline": "2026-01-01T09:03:15+00:00",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    "overrides",
    [
        {"expires_at": "2026-01-01T09:10:00"},  # no time zone
        {"holder": "17291716050"},  # bad check digits
        {"product": "kurumsal"},
        {"card_serial": "ANOTHER"},  # not the card asked for
        {"expires_at": "yesterday"},
    ],
)
def test_off_contract_success_bodies_are_protocol_errors(overrides: dict[str, Any]) -> None:
    err = _redeem_with(httpx.Response(201, json=_operation_json(**overrides)))
    assert type(err) is PortalProtocolError


def test_the_request_carries_the_code_in_the_body_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=_operation_json())

    with _client(handler) as client:
        op = client.redeem(VerificationCode("123451234512345"), card_serial="CARD1")
    (request,) = seen
    assert request.url.path == "/api/v1/operations"
    assert "123451234512345" not in str(request.url)
    assert b'"verification_code":"123451234512345"' in request.content.replace(b" ", b"")
    assert op.holder == Tckn("10000000146")


def test_idempotent_reads_are_retried_after_transient_faults() -> None:
    answers: list[Callable[[], httpx.Response]] = [
        lambda: httpx.Response(503, text="busy"),
        lambda: (_ for _ in ()).throw(httpx.ConnectError("refused")),
        lambda: httpx.Response(200, json=CERTS_BODY),
    ]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return answers[len(calls) - 1]()

    with _logged_in(handler, retries=2) as client:
        assert client.list_certificates() == ()
    assert calls == ["GET", "GET", "GET"]


def test_retries_stop_after_the_limit() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="busy")

    with _logged_in(handler, retries=2) as client, pytest.raises(PortalServerError):
        client.list_certificates()
    assert len(calls) == 3


def test_writes_are_never_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    with _client(handler, retries=5) as client, pytest.raises(PortalTimeoutError):
        client.redeem(VerificationCode("1" * 15), card_serial="CARD1")
    assert len(calls) == 1


def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(404, json={"error": "not_found", "message": "x"})

    with _logged_in(handler, retries=5) as client, pytest.raises(errors.NotFoundError):
        client.list_certificates()
    assert len(calls) == 1


@pytest.mark.anyio
async def test_async_client_retries_reads_the_same_way() -> None:
    calls = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectTimeout("slow", request=request)
        return httpx.Response(200, json=CERTS_BODY)

    client = AsyncPortalClient(BASE, transport=httpx.MockTransport(handler), backoff=0)
    client._core._session_token = "tok"
    async with client:
        assert await client.list_certificates() == ()
    assert len(calls) == 2


def test_a_refused_session_is_forgotten() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "authentication_required", "message": "x"})

    with _logged_in(handler) as client:
        with pytest.raises(AuthenticationRequiredError):
            client.start_pin_reset(Product.NES)
        assert not client.logged_in
        with pytest.raises(AuthenticationRequiredError):  # refused locally, nothing sent
            client.start_pin_reset(Product.NES)


def test_session_token_is_never_in_repr() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "session_token": "s3cr3t-token-value",
                "holder": "10000000146",
                "method": "edevlet",
                "expires_at": "2026-01-01T09:15:00+00:00",
            },
        )

    with _client(handler) as client:
        session = client.login_edevlet(Tckn("10000000146"), "password-value")
        shown = repr(client) + repr(session) + str(session) + repr(vars(client))
    assert "s3cr3t-token-value" not in shown and "password-value" not in shown
    assert "logged in" in repr(client)


@pytest.mark.parametrize(
    "url",
    [
        "http://portal.example.test",  # plain http off loopback
        "http://10.0.0.1:8080",
        "ftp://127.0.0.1",
        "portal.example.test",
        "https://",
        "https://portal.example.test/?x=1",
    ],
)
def test_base_url_rules_refuse(url: str) -> None:
    with pytest.raises(InputError):
        PortalClient(url)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://portal.example.test", "https://portal.example.test"),
        ("https://portal.example.test/api/v1/", "https://portal.example.test"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://localhost:1", "http://localhost:1"),
    ],
)
def test_base_url_rules_accept(url: str, kept: str) -> None:
    with PortalClient(url) as client:
        assert client.base_url == kept


def test_tls_verification_cannot_be_switched_off() -> None:
    with pytest.raises(InputError):
        PortalClient(BASE, verify=False)
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(InputError):
        PortalClient(BASE, verify=lax)
    with pytest.raises(InputError):
        AsyncPortalClient(BASE, verify="/nonexistent/ca.pem")


def test_default_timeouts_are_set() -> None:
    with PortalClient(BASE) as client:
        assert client._http.timeout == portal.DEFAULT_TIMEOUT
        assert client._http.timeout.connect == 5.0


def test_both_clients_offer_the_same_operations() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(PortalClient) - {"close"} == public(AsyncPortalClient) - {"aclose"}
    for name in public(PortalClient) - {"close", "base_url", "clock", "clock_offset", "logged_in"}:
        assert inspect.iscoroutinefunction(getattr(AsyncPortalClient, name)), name
        sync_params = inspect.signature(getattr(PortalClient, name)).parameters
        async_params = inspect.signature(getattr(AsyncPortalClient, name)).parameters
        assert list(sync_params) == list(async_params), name


@pytest.mark.anyio
@pytest.mark.parametrize(("bound", "expected"), [(3, 3), (None, 20)])
async def test_async_client_bounds_requests_in_flight(bound: int | None, expected: int) -> None:
    """With max_in_flight, concurrent operations queue in the client (first come, first
    served) instead of piling up in httpx's pool; None lifts the bound."""
    import anyio

    inside = 0
    most = 0
    release = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        if most >= (bound or 20):
            release.set()
        await release.wait()
        inside -= 1
        return httpx.Response(201, json=_operation_json())

    client = AsyncPortalClient(BASE, transport=httpx.MockTransport(handler), max_in_flight=bound)
    ops: list[object] = []

    async def one() -> None:
        ops.append(await client.redeem(VerificationCode("1" * 15), card_serial="CARD1"))

    async with client, anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(one)
    assert len(ops) == 20
    assert most == expected


def test_in_flight_bound_must_be_positive() -> None:
    with pytest.raises(InputError):
        AsyncPortalClient(BASE, max_in_flight=0)
