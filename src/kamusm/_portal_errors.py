"""The portal client's one translation point: httpx exceptions and the portal's refusals become
the typed :class:`~kamusm.errors.PortalError` tree.

- :func:`translate_httpx_error`: an httpx exception, by the nearest class of its hierarchy
  that has a row in :data:`HTTPX_ERRORS` (only rows that differ from their base class).
- :func:`error_from_response`: a refusal, by the machine-readable ``error`` code of its JSON
  body (:data:`BY_CODE`, one row per code of :data:`kamusm._contract.ERRORS`), else by its
  status; never by the English ``message``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final

import attrs
import httpcore
import httpx

from kamusm import _contract as contract
from kamusm import errors
from kamusm.errors import PortalError
from kamusm.values import Clock, SystemClock

__all__ = [
    "BY_CODE",
    "HTTPX_ERRORS",
    "detached",
    "error_from_response",
    "parse_json",
    "translate_httpx_error",
]


# ==== httpx exceptions ========================================================================


def _is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _network_error(exc: Exception) -> PortalError:
    return errors.PortalTlsError() if _is_tls_failure(exc) else errors.PortalConnectionError()


def _protocol_error(exc: Exception) -> PortalError:
    return errors.PortalProtocolError()


def _remote_protocol_error(exc: Exception) -> PortalError:
    # httpcore raises RemoteProtocolError itself, with nothing beneath it, in one case only on
    # HTTP/1.1: the server closed the connection before answering (a reused keep-alive
    # connection of a portal that went away). That is a connection failure. A malformed answer
    # carries the HTTP parser's own refusal beneath it.
    origin = exc.__cause__
    if isinstance(origin, httpcore.RemoteProtocolError) and origin.__cause__ is None:
        return errors.PortalConnectionError()
    return errors.PortalProtocolError()


def _status_error(exc: Exception) -> PortalError:
    assert isinstance(exc, httpx.HTTPStatusError)  # noqa: S101 (its row in the table)
    return error_from_response(exc.response, SystemClock())


#: The httpx classes whose translation differs from their base class's (a subclass without a
#: row takes its nearest base's). A test fails when an httpx class finds no row.
HTTPX_ERRORS: Final[Mapping[type[Exception], Callable[[Exception], PortalError]]] = {
    httpx.HTTPError: lambda exc: errors.PortalConnectionError(),
    httpx.TimeoutException: lambda exc: errors.PortalTimeoutError(),
    httpx.NetworkError: _network_error,
    httpx.ProtocolError: _protocol_error,
    httpx.RemoteProtocolError: _remote_protocol_error,
    httpx.DecodingError: _protocol_error,
    httpx.TooManyRedirects: _protocol_error,
    httpx.HTTPStatusError: _status_error,
    # These four do not derive from httpx.HTTPError.
    httpx.InvalidURL: lambda exc: errors.BadRequestError(reason="invalid_url"),
    httpx.CookieConflict: _protocol_error,
    httpx.StreamError: _protocol_error,
}


def detached(exc: Exception) -> Exception:
    """What a PortalError is chained to instead of ``exc``: an exception of the same class
    with the same message and the same cause beneath it, but without the request, whose body
    holds the verification code, the operation id and the SMS answer."""
    try:
        copy = type(exc)(str(exc))
    except TypeError:  # a class that wants more than a message (HTTPStatusError)
        copy = httpx.HTTPError(str(exc))
    copy.__cause__ = exc.__cause__
    copy.__suppress_context__ = True
    return copy


def translate_httpx_error(exc: Exception) -> PortalError:
    """The :class:`~kamusm.errors.PortalError` for an httpx exception (the most specific
    row of its class hierarchy). Callers raise it ``from`` the exception."""
    for cls in type(exc).__mro__:
        make = HTTPX_ERRORS.get(cls)
        if make is not None:
            return make(exc)
    return errors.PortalConnectionError()


# ==== refusals ================================================================================


def _retry_after(response: httpx.Response, body: Mapping[str, Any], clock: Clock) -> int:
    value = body.get("retry_after")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    header = response.headers.get("retry-after", "").strip()
    if header.isdigit():
        return max(1, int(header))
    if header:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return 1
        if when.tzinfo is not None:
            return max(1, int((when - clock.now()).total_seconds()))
    return 1


def _reason(body: Mapping[str, Any], default: str) -> str:
    reason = body.get("reason")
    return reason if isinstance(reason, str) and contract.REASON.fullmatch(reason) else default


def _attempts(body: Mapping[str, Any]) -> int:
    value = body.get("attempts_remaining")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


@attrs.frozen
class Refusal:
    """What a refusal says: its JSON body (``{}`` when it has none), its status and, for a
    rate limit, the seconds to wait."""

    body: Mapping[str, Any]
    status: int
    retry_after: int = 1


def _plain(cls: type[PortalError]) -> Callable[[Refusal], PortalError]:
    return lambda r: cls(status=r.status)


def _bad_request(reason: str | None) -> Callable[[Refusal], PortalError]:
    """``reason`` fixed, or ``None`` for the body's own (``bad_request`` without one)."""
    return lambda r: errors.BadRequestError(
        reason=reason or _reason(r.body, "bad_request"), status=r.status
    )


#: The kamusm error of each error code of the contract (a test checks that every code has
#: one).
BY_CODE: Final[Mapping[str, Callable[[Refusal], PortalError]]] = {
    "bad_request": _bad_request(None),
    "payload_too_large": _bad_request("payload_too_large"),
    "method_not_allowed": _bad_request("method_not_allowed"),
    "authentication_required": _plain(errors.AuthenticationRequiredError),
    "login_failed": _plain(errors.LoginFailedError),
    "login_method_unavailable": _plain(errors.LoginMethodUnavailableError),
    "forbidden": lambda r: errors.ForbiddenError(
        reason=_reason(r.body, "forbidden"), status=r.status
    ),
    "not_found": _plain(errors.NotFoundError),
    "conflict": lambda r: errors.ConflictError(reason=_reason(r.body, "conflict"), status=r.status),
    "verification_code_invalid": _plain(errors.VerificationCodeInvalidError),
    "verification_code_expired": _plain(errors.VerificationCodeExpiredError),
    "verification_code_used": _plain(errors.VerificationCodeUsedError),
    "card_not_owned": _plain(errors.CardNotOwnedError),
    "sms_code_rejected": lambda r: errors.SmsCodeRejectedError(
        attempts_remaining=_attempts(r.body), status=r.status
    ),
    "web_password_rejected": lambda r: errors.WebPasswordRejectedError(
        attempts_remaining=_attempts(r.body), status=r.status
    ),
    "sms_code_expired": _plain(errors.SmsCodeExpiredError),
    "operation_cancelled": _plain(errors.OperationCancelledError),
    "unsupported_media_type": _bad_request("unsupported_media_type"),
    "misdirected_request": _bad_request("misdirected_request"),
    "rate_limited": lambda r: errors.RateLimitedError(retry_after=r.retry_after, status=r.status),
    "server_error": _plain(errors.PortalServerError),
}

#: A refusal without a known code, by its status alone (5xx: PortalServerError).
_BY_STATUS: Final[Mapping[int, Callable[[Refusal], PortalError]]] = {
    400: BY_CODE["bad_request"],
    401: BY_CODE["authentication_required"],
    403: BY_CODE["forbidden"],
    404: BY_CODE["not_found"],
    409: BY_CODE["conflict"],
    413: BY_CODE["payload_too_large"],
    422: _bad_request("unprocessable"),
    415: BY_CODE["unsupported_media_type"],
    421: BY_CODE["misdirected_request"],
    429: BY_CODE["rate_limited"],
}


def parse_json(response: httpx.Response) -> Any:
    """The answer's JSON; ``ValueError`` when it is not JSON or nests deeper than the
    contract ever does (Python's parser would recurse until a RecursionError)."""
    if not contract.json_depth_ok(response.content):
        raise ValueError("nested too deep")
    try:
        return response.json()
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(type(exc).__name__) from None


def error_from_response(response: httpx.Response, clock: Clock) -> PortalError:
    """The typed error for a refusal: by the body's ``error`` code, else by the status."""
    status = response.status_code
    try:
        data = parse_json(response)
    except (ValueError, httpx.ResponseNotRead):
        data = None
    body: Mapping[str, Any] = data if isinstance(data, dict) else {}
    code = body.get("error")
    refusal = Refusal(body, status, _retry_after(response, body, clock))
    if status == 429:
        return BY_CODE["rate_limited"](refusal)
    make = BY_CODE.get(code) if isinstance(code, str) else None
    if make is not None:
        return make(refusal)
    if status >= 500:
        return errors.PortalServerError(status=status)
    by_status = _BY_STATUS.get(status)
    if by_status is None:
        return errors.PortalProtocolError(status=status)
    return by_status(Refusal({}, status, refusal.retry_after))  # the body is not understood
