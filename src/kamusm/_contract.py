"""The portal contract, in one place: every endpoint, its fields and their limits, its answers,
who may call it, the error codes, and the patterns the client and the sandbox share.

Pure data and checks, no I/O: the sandbox validates and routes from it
(``kamusm.sandbox._app``), the OpenAPI document is generated from it
(``kamusm.sandbox._openapi``), the client takes its paths, field names and error codes from it
(``kamusm.portal``), and a test checks the tables of ``docs/portal-api.md`` against it.

Shape of the data::

    ENDPOINTS: {name: Endpoint(method, path, auth, body, query, path_params, ok, answer, errors)}
    Endpoint.body / .query / ANSWERS[name]: Schema(fields)
    Field(name, kind, limits, required, default)
    ERRORS: {code: ErrorCode(code, status, message)}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final, Literal
from urllib.parse import quote

import attrs

from kamusm.values import Product, Tckn

__all__ = [
    "ANSWERS",
    "API_PREFIX",
    "CERTIFICATE_STATUSES",
    "CHALLENGE_METHODS",
    "EDEVLET_METHODS",
    "ENDPOINTS",
    "ERRORS",
    "FORBIDDEN_REASONS",
    "LOOPBACK_HOSTS",
    "REASON",
    "SERIAL",
    "TOKEN",
    "ContractViolation",
    "Endpoint",
    "ErrorCode",
    "Field",
    "Schema",
    "endpoint",
    "parse_body",
]

#: Every path of the contract starts with it.
API_PREFIX: Final = "/api/v1"
#: Hosts where plain ``http`` is allowed and where the sandbox may listen.
LOOPBACK_HOSTS: Final = ("127.0.0.1", "::1", "localhost")

#: A card or certificate serial: what may stand in a URL path segment unquoted.
SERIAL_PATTERN: Final = r"[A-Za-z0-9_.:-]{1,64}"
#: A failure reason: letters, ``_``, ``.`` and ``-`` only, so it never carries a PIN or code.
REASON_PATTERN: Final = r"[A-Za-z_.-]{1,64}"
#: A bearer token (session or admin).
TOKEN_PATTERN: Final = r"[A-Za-z0-9_-]{1,128}"
TCKN_PATTERN: Final = r"[1-9][0-9]{10}"
SERIAL: Final = re.compile(SERIAL_PATTERN)
REASON: Final = re.compile(REASON_PATTERN)
TOKEN: Final = re.compile(TOKEN_PATTERN)

#: The e-Devlet login methods of seed 002 (a deployment may offer only some).
EDEVLET_METHODS: Final = (
    "password",
    "mobile_signature",
    "e_signature",
    "id_card",
    "internet_banking",
)
#: How the desktop application's operation is confirmed ("SMS Onay veya WEB Parola").
CHALLENGE_METHODS: Final = ("sms", "web_password")
SESSION_METHODS: Final = ("edevlet", "sifreli_giris")
CERTIFICATE_STATUSES: Final = ("active", "suspended", "revoked")
#: What an operation says of the card's certificates of its product: the best of them that
#: has not expired ("active", then "suspended", then "revoked"), or "expired" when all have.
OPERATION_CERTIFICATE_STATUSES: Final = (*CERTIFICATE_STATUSES, "expired")
PRODUCTS: Final = tuple(p.value for p in Product)
#: Which released candidate SO credential the card accepted, in a report: the authorization's
#: ``credential`` or its ``other_credential``.
SO_LOGINS: Final = ("credential", "other_credential")
#: The most refused SO logins one unblock can report (one per candidate it was released).
MAX_WRONG_SO_ATTEMPTS: Final = len(SO_LOGINS)


# ==== error codes =============================================================================


@attrs.frozen
class ErrorCode:
    """A refusal of the contract: its machine-readable ``code``, HTTP ``status`` and the
    English ``message`` sent with it (clients decide on the code, never on the message)."""

    code: str
    status: int
    message: str


def _errors(*rows: tuple[str, int, str]) -> dict[str, ErrorCode]:
    return {code: ErrorCode(code, status, message) for code, status, message in rows}


ERRORS: Final[Mapping[str, ErrorCode]] = _errors(
    ("bad_request", 400, "The request does not follow the contract."),
    ("payload_too_large", 413, "The request body is too large."),
    ("authentication_required", 401, "A valid session (or admin token) is required."),
    ("login_failed", 401, "The login details could not be verified."),
    ("login_method_unavailable", 422, "This login method is not available in this deployment."),
    ("forbidden", 403, "Not allowed."),
    ("not_found", 404, "Not found."),
    ("method_not_allowed", 405, "Method not allowed."),
    ("conflict", 409, "The request does not fit the current state."),
    ("verification_code_invalid", 401, "The verification code is not valid."),
    ("verification_code_expired", 410, "The verification code has expired."),
    ("verification_code_used", 409, "The verification code has been used already."),
    ("card_not_owned", 403, "The card does not belong to the code's holder."),
    ("sms_code_rejected", 422, "The confirmation answer is wrong."),
    ("web_password_rejected", 422, "The web password is wrong."),
    ("sms_code_expired", 410, "The confirmation code has expired."),
    ("operation_cancelled", 409, "The operation was cancelled."),
    ("unsupported_media_type", 415, "A request body must be sent as application/json."),
    ("misdirected_request", 421, "This server does not serve that host name."),
    ("rate_limited", 429, "Too many failed attempts; wait before trying again."),
    ("server_error", 500, "Internal error."),
)


#: The reasons a ``forbidden`` refusal carries: a request from another site's page (its
#: ``Origin`` is not the portal's), and the legacy initial PIN asked for in a session that did
#: not log in through Şifreli Giriş.
FORBIDDEN_REASONS: Final = ("origin", "sifreli_giris_required")


# ==== fields and schemas ======================================================================

Kind = Literal[
    "text",  # a string (requests: not empty), up to max_len, matching pattern
    "code",  # the verification code: exactly the deployment's code length of digits
    "choice",  # one of options
    "boolean",
    "integer",
    "number",
    "tckn",  # a valid T.C. Kimlik No
    "product",  # a Product value
    "date",  # YYYY-MM-DD
    "moment",  # ISO 8601 with a time zone
    "list",  # of items (a schema), up to max_items
    "object",  # of schema
    "any_object",  # a JSON object the contract does not describe further
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: A field that was not sent.
MISSING: Final = _Missing()


@attrs.frozen(kw_only=True)
class Field:
    """One field of a request or an answer, with its limits."""

    name: str
    kind: Kind
    required: bool = True
    default: Any = None
    max_len: int | None = None
    pattern: str | None = None
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    max_items: int | None = None
    schema: Schema | None = None
    #: Answers only: another schema of ANSWERS by name (a reference in the document).
    ref: str | None = None


@attrs.frozen
class Schema:
    """The fields of a JSON object; no other field is allowed."""

    fields: tuple[Field, ...]

    def __getitem__(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _text(name: str, max_len: int, *, pattern: str | None = None, **kw: Any) -> Field:
    return Field(name=name, kind="text", max_len=max_len, pattern=pattern, **kw)


def _optional(field: Field, default: Any = None) -> Field:
    return attrs.evolve(field, required=False, default=default)


def _schema(*fields: Field) -> Schema:
    return Schema(fields)


def _out(name: str, kind: Kind = "text", **kw: Any) -> Field:
    """A field of an answer."""
    return Field(name=name, kind=kind, **kw)


# ==== answers =================================================================================

_MOMENT: Final[Kind] = "moment"

ANSWERS: Final[Mapping[str, Schema]] = {
    "Health": _schema(_out("status")),
    "Session": _schema(
        _out("session_token"),
        _out("holder", "tckn"),
        _out("method", "choice", options=SESSION_METHODS),
        _out("expires_at", _MOMENT),
    ),
    "SessionInfo": _schema(
        _out("holder", "tckn"),
        _out("method", "choice", options=SESSION_METHODS),
        _out("expires_at", _MOMENT),
    ),
    "LoginMethod": _schema(
        _out("method"),
        _out("kind", "choice", options=("edevlet", "kamusm")),
        _out("available", "boolean"),
    ),
    "LoginMethods": _schema(_out("methods", "list", ref="LoginMethod")),
    "Captcha": _schema(_out("captcha_id"), _out("text"), _out("expires_at", _MOMENT)),
    "PendingLogin": _schema(
        _out("pending_login_id"), _out("masked_phone"), _out("expires_at", _MOMENT)
    ),
    "Certificate": _schema(
        _out("serial_number"),
        _out("card_serial"),
        _out("product", "product"),
        _out("subject"),
        _out("status", "choice", options=CERTIFICATE_STATUSES),
        _out("not_before", _MOMENT),
        _out("not_after", _MOMENT),
        _out("expired", "boolean"),
    ),
    "Certificates": _schema(_out("certificates", "list", ref="Certificate")),
    "VerificationCodeIssued": _schema(
        _out("verification_code", "code"),
        _out("product", "product"),
        _out("length", "integer"),
        _out("issued_at", _MOMENT),
        _out("expires_at", _MOMENT),
        _out("validity_seconds", "integer"),
    ),
    "InitialPin": _schema(_out("card_serial"), _out("initial_pin")),
    "Operation": _schema(
        _out("operation_id"),
        _out("holder", "tckn"),
        _out("product", "product"),
        _out("card_serial"),
        _out("expires_at", _MOMENT),
        _out("pin_entry_deadline", _MOMENT),
        _out(
            "certificate_status",
            "choice",
            options=OPERATION_CERTIFICATE_STATUSES,
            nullable=True,
            required=False,
        ),
        # each certificate the portal has for the card and product, for the desktop side to
        # match to the certificates on the card by serial number
        _out("certificates", "list", ref="OperationCertificate", required=False),
    ),
    "OperationCertificate": _schema(
        _out("serial_number"),
        _out("status", "choice", options=CERTIFICATE_STATUSES),
        _out("not_before", _MOMENT),
        _out("not_after", _MOMENT),
    ),
    "Challenge": _schema(
        _out("method", "choice", options=CHALLENGE_METHODS),
        _out("expires_at", _MOMENT),
        _out("attempts_remaining", "integer", minimum=0),
        _out("masked_phone", nullable=True),
        # how many new challenges (new SMS codes) the operation may still ask for
        _out("challenges_remaining", "integer", minimum=0),
    ),
    "Authorization": _schema(
        _out(
            "authorization",
            "object",
            schema=_schema(
                _out("credential"),
                _out("card_serial"),
                _out("expires_at", _MOMENT),
                _out("operation_id"),
                _out("other_credential", nullable=True, required=False),
                _out("next_credential", nullable=True, required=False),
            ),
        )
    ),
    "SmsMessage": _schema(
        _out("phone"), _out("sent_at", _MOMENT), _out("purpose"), _out("text"), _out("code")
    ),
    "Outbox": _schema(_out("messages", "list", ref="SmsMessage")),
    "AuditEntry": _schema(
        _out("at", _MOMENT),
        _out("actor"),
        _out("event"),
        _out("holder_id", "integer", nullable=True),
        _out("card_serial", nullable=True),
        _out("detail", "any_object"),
    ),
    "Audit": _schema(_out("entries", "list", ref="AuditEntry")),
    "ClockMoved": _schema(_out("now", _MOMENT)),
}


# ==== endpoints ===============================================================================

Auth = Literal["none", "session", "admin"]
Role = Literal["meta", "holder", "application", "admin"]
Method = Literal["GET", "POST", "DELETE"]


@attrs.frozen(kw_only=True)
class Endpoint:
    """One request of the contract.

    ``auth`` says who may call it: anybody (``none``: the desktop application's requests carry
    their capability in the body), a holder's session or the admin token, as a bearer.
    ``errors`` are the statuses of its refusals besides those every endpoint may answer
    (:data:`COMMON_STATUSES`; and 401 where ``auth`` asks for a bearer).
    """

    name: str
    method: Method
    path: str
    summary: str
    role: Role
    auth: Auth = "none"
    body: Schema | None = None
    query: Schema | None = None
    path_params: tuple[Field, ...] = ()
    ok: int = 200
    answer: str | None = None
    errors: tuple[int, ...] = ()
    #: Whether the OpenAPI document lists it (not the document itself).
    in_document: bool = True

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    def url_path(self, **params: str) -> str:
        """The path with its parameters filled in (each quoted as one path segment)."""
        if set(params) != {p.name for p in self.path_params}:
            raise KeyError(f"{self.name} takes {[p.name for p in self.path_params]}")
        quoted = {name: quote(value, safe="") for name, value in params.items()}
        return self.full_path.format(**quoted)

    def request_body(self, **values: Any) -> dict[str, Any]:
        """A body of this endpoint: only its own field names (a typo fails at once)."""
        schema = self.body
        unknown = set(values) - set(schema.names if schema is not None else ())
        if unknown:
            raise KeyError(f"{self.name} has no field {sorted(unknown)}")
        return dict(values)

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every status this endpoint may refuse with."""
        extra = (401,) if self.auth != "none" else ()
        out: list[int] = []
        for status in (*self.errors, *extra, *COMMON_STATUSES):
            if status not in out:
                out.append(status)
        return tuple(out)


#: What any request may be refused with before it reaches its endpoint: a body off the
#: contract (400), a foreign ``Origin`` (403), too large (413), not JSON (415), a ``Host`` not
#: served (421).
COMMON_STATUSES: Final = (400, 403, 413, 415, 421)


_SERIAL_FIELD = Field(name="serial", kind="text", max_len=64, pattern=SERIAL_PATTERN)
_CAPABILITY = (_text("operation_id", 64), _text("verification_code", 64))


def _serial(name: str) -> Field:
    return attrs.evolve(_SERIAL_FIELD, name=name)


def _certificate_registration() -> Schema:
    return _schema(
        _serial("serial_number"),
        _text("subject", 256),
        Field(name="not_before", kind="moment"),
        Field(name="not_after", kind="moment"),
        _optional(Field(name="product", kind="product")),
        _optional(Field(name="status", kind="choice", options=CERTIFICATE_STATUSES), "active"),
    )


def _ep(name: str, method: Method, path: str, role: Role, summary: str, **kw: Any) -> Endpoint:
    return Endpoint(name=name, method=method, path=path, role=role, summary=summary, **kw)


def _endpoints(*items: Endpoint) -> dict[str, Endpoint]:
    return {e.name: e for e in items}


ENDPOINTS: Final[Mapping[str, Endpoint]] = _endpoints(
    _ep(
        "openapi",
        "GET",
        "/openapi.json",
        "meta",
        "This document",
        in_document=False,
    ),
    _ep(
        "health",
        "GET",
        "/health",
        "meta",
        "Liveness",
        answer="Health",
    ),
    _ep(
        "login_methods",
        "GET",
        "/login-methods",
        "holder",
        "The login methods and whether this deployment offers them",
        answer="LoginMethods",
    ),
    _ep(
        "login_edevlet",
        "POST",
        "/session/edevlet",
        "holder",
        "Log in through e-Devlet (only the password method is available here)",
        body=_schema(
            _text("tckn", 11),
            _text("password", 128),
            _optional(Field(name="method", kind="choice", options=EDEVLET_METHODS), "password"),
        ),
        answer="Session",
        errors=(401, 422, 429),
    ),
    _ep(
        "captcha",
        "POST",
        "/session/captcha",
        "holder",
        "A captcha for Şifreli Giriş",
        answer="Captcha",
    ),
    _ep(
        "sifreli_giris",
        "POST",
        "/session/sifreli-giris",
        "holder",
        "Şifreli Giriş: ID number, captcha and security word; sends an SMS code",
        body=_schema(
            _text("id_number", 32),
            _text("captcha_id", 64),
            _text("captcha_answer", 32),
            _text("security_word", 128),
        ),
        answer="PendingLogin",
        errors=(401, 429),
    ),
    _ep(
        "sifreli_giris_confirm",
        "POST",
        "/session/sifreli-giris/confirm",
        "holder",
        "Şifreli Giriş: the SMS code opens the session",
        body=_schema(_text("pending_login_id", 64), _text("sms_code", 16)),
        answer="Session",
        errors=(401, 409, 410, 422, 429),
    ),
    _ep(
        "session",
        "GET",
        "/session",
        "holder",
        "The current session",
        auth="session",
        answer="SessionInfo",
    ),
    _ep(
        "logout",
        "DELETE",
        "/session",
        "holder",
        "Log out",
        auth="session",
        ok=204,
    ),
    _ep(
        "certificates",
        "GET",
        "/certificates",
        "holder",
        "The holder's certificates with status and validity",
        auth="session",
        answer="Certificates",
    ),
    *(
        _ep(
            f"certificate_{action}",
            "POST",
            f"/certificates/{{serial_number}}/{action}",
            "holder",
            summary,
            auth="session",
            body=body,
            path_params=(_serial("serial_number"),),
            answer="Certificate",
            errors=(404, 409),
        )
        for action, summary, body in (
            ("suspend", "Suspend a certificate", None),
            ("reactivate", "Re-activate a suspended certificate (Askıdan İndirme)", None),
            (
                "revoke",
                "Revoke a certificate: irreversible, needs confirm=true",
                _schema(_optional(Field(name="confirm", kind="boolean"), False)),
            ),
        )
    ),
    _ep(
        "pin_reset",
        "POST",
        "/pin-reset",
        "holder",
        "Issue a verification code for a PIN reset (again: Tekrar Kod Al)",
        auth="session",
        body=_schema(Field(name="product", kind="product")),
        ok=201,
        answer="VerificationCodeIssued",
        errors=(409,),
    ),
    _ep(
        "initial_pin_reveal",
        "POST",
        "/cards/{card_serial}/initial-pin/reveal",
        "holder",
        "Show the legacy initial PIN once (Şifreli Giriş session only)",
        auth="session",
        path_params=(_serial("card_serial"),),
        answer="InitialPin",
        errors=(403, 404, 409),
    ),
    _ep(
        "initial_pin_delete",
        "DELETE",
        "/cards/{card_serial}/initial-pin",
        "holder",
        "Delete the legacy initial PIN for good (Sil)",
        auth="session",
        path_params=(_serial("card_serial"),),
        ok=204,
        errors=(404,),
    ),
    _ep(
        "redeem",
        "POST",
        "/operations",
        "application",
        "Redeem a verification code for one card of its holder",
        body=_schema(Field(name="verification_code", kind="code"), _serial("card_serial")),
        ok=201,
        answer="Operation",
        errors=(401, 403, 409, 410, 429),
    ),
    _ep(
        "challenge",
        "POST",
        "/operations/challenge",
        "application",
        "Ask for the confirmation challenge (SMS code or web password)",
        body=_schema(
            *_CAPABILITY,
            _optional(Field(name="method", kind="choice", options=CHALLENGE_METHODS), "sms"),
        ),
        answer="Challenge",
        errors=(401, 409, 410, 429),
    ),
    _ep(
        "confirm",
        "POST",
        "/operations/confirm",
        "application",
        "Answer the challenge; the right answer releases the unblock authorization",
        body=_schema(*_CAPABILITY, _text("answer", 128)),
        answer="Authorization",
        errors=(401, 409, 410, 422, 429),
    ),
    _ep(
        "result",
        "POST",
        "/operations/result",
        "application",
        "Report how the card operation ended",
        body=_schema(
            *_CAPABILITY,
            Field(name="success", kind="boolean"),
            _optional(_text("reason", 64, pattern=REASON_PATTERN)),
            _optional(Field(name="so_credential_changed", kind="boolean")),
            _optional(Field(name="so_credential_login", kind="choice", options=SO_LOGINS)),
            _optional(
                Field(
                    name="wrong_so_attempts",
                    kind="integer",
                    minimum=0,
                    maximum=MAX_WRONG_SO_ATTEMPTS,
                )
            ),
        ),
        ok=204,
        errors=(401, 409, 410, 429),
    ),
    _ep(
        "admin_holders",
        "POST",
        "/admin/holders",
        "admin",
        "Register a holder",
        auth="admin",
        body=_schema(
            Field(name="tckn", kind="tckn"),
            _text("name", 128),
            Field(name="birth_date", kind="date"),
            _text("password", 128),
            _text("phone", 32),
            _text("security_word", 128),
            _optional(_text("passport", 32)),
        ),
        ok=204,
        errors=(404, 409),
    ),
    _ep(
        "admin_cards",
        "POST",
        "/admin/cards",
        "admin",
        "Register a card with its SO credential and certificates",
        auth="admin",
        body=_schema(
            _serial("serial"),
            Field(name="holder", kind="tckn"),
            Field(name="product", kind="product"),
            _text("so_credential", 64),
            _optional(_text("initial_pin", 32)),
            _optional(Field(name="rotate_so_credential", kind="boolean"), True),
            _optional(
                Field(
                    name="certificates",
                    kind="list",
                    max_items=16,
                    schema=_certificate_registration(),
                ),
                (),
            ),
        ),
        ok=204,
        errors=(404, 409),
    ),
    _ep(
        "admin_outbox",
        "GET",
        "/admin/outbox",
        "admin",
        "The SMS outbox",
        auth="admin",
        query=_schema(_optional(_text("phone", 32))),
        answer="Outbox",
    ),
    _ep(
        "admin_audit",
        "GET",
        "/admin/audit",
        "admin",
        "The audit log",
        auth="admin",
        answer="Audit",
    ),
    _ep(
        "admin_clock",
        "POST",
        "/admin/clock",
        "admin",
        "Move a manual clock forward (test deployments)",
        auth="admin",
        body=_schema(
            Field(name="advance_seconds", kind="number", minimum=0, maximum=10 * 365 * 24 * 3600)
        ),
        answer="ClockMoved",
        errors=(409,),
    ),
)


def endpoint(name: str) -> Endpoint:
    """The endpoint called ``name`` (a ``KeyError`` names a typo at once)."""
    return ENDPOINTS[name]


# ==== checking a request body =================================================================


class ContractViolation(ValueError):  # noqa: N818 (a refusal, named for what it is)
    """A request off the contract; ``reason`` says where (``not_json``, ``not_an_object``,
    ``unknown_field``, ``field_<name>``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_text(value: str) -> bool:
    """Whether ``value`` is text that can be written as UTF-8: JSON may carry a lone UTF-16
    surrogate (``"\\ud800"``), which no UTF-8 encoder takes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: How deep a JSON document of the contract may nest (its deepest answer nests 4 levels).
MAX_JSON_DEPTH: Final = 32


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects at most ``limit`` deep, read
    without parsing it (brackets inside strings do not count)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return True


def _check_text(field: Field, value: object) -> str:
    if not isinstance(value, str) or not value or not is_text(value):
        raise ValueError
    if field.max_len is not None and len(value) > field.max_len:
        raise ValueError
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        raise ValueError
    return value


def _check_moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError
    return moment


def _check(field: Field, value: object, code_length: int) -> Any:  # noqa: PLR0911, PLR0912 (one branch a kind reads best as one table)
    kind = field.kind
    if kind == "text":
        return _check_text(field, value)
    if kind == "code":
        if not isinstance(value, str) or len(value) != code_length or not value.isascii():
            raise ValueError
        if not value.isdigit():
            raise ValueError
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in field.options:
            raise ValueError
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        low = field.minimum if field.minimum is not None else float("-inf")
        high = field.maximum if field.maximum is not None else float("inf")
        if not low <= value <= high:
            raise ValueError
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError
        low = field.minimum if field.minimum is not None else float("-inf")
        high = field.maximum if field.maximum is not None else float("inf")
        if not low <= value <= high:
            raise ValueError
        return float(value)
    if kind == "tckn":
        if not Tckn.is_valid(value):
            raise ValueError
        assert isinstance(value, str)  # noqa: S101 (narrowing)
        return Tckn(value)
    if kind == "product":
        return Product(value)
    if kind == "date":
        if not isinstance(value, str):
            raise TypeError
        return date.fromisoformat(value)
    if kind == "moment":
        return _check_moment(value)
    if kind == "list":
        if not isinstance(value, list):
            raise TypeError
        if field.max_items is not None and len(value) > field.max_items:
            raise ValueError
        assert field.schema is not None  # noqa: S101 (every list field of a request has one)
        return [_check_object(field.schema, item, code_length) for item in value]
    raise ValueError  # pragma: no cover (no request field of another kind)


def _value(field: Field, data: Mapping[str, Any], code_length: int) -> Any:
    value = data.get(field.name, MISSING)
    if value is MISSING or value is None:
        if field.required:
            raise ValueError
        return field.default
    return _check(field, value, code_length)


def _check_object(schema: Schema, data: object, code_length: int) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) - set(schema.names):
        raise ValueError
    return {field.name: _value(field, data, code_length) for field in schema.fields}


def parse_body(schema: Schema, data: object, *, code_length: int) -> dict[str, Any]:
    """Every field of ``schema`` from the decoded JSON ``data``, checked and converted (a
    T.C. Kimlik No to :class:`~kamusm.values.Tckn`, a product to
    :class:`~kamusm.values.Product`, times to aware datetimes); an optional field that was not
    sent (or ``null``) takes its default. Raises :class:`ContractViolation`."""
    if not isinstance(data, dict):
        raise ContractViolation("not_an_object")
    if not all(is_text(name) for name in data) or set(data) - set(schema.names):
        raise ContractViolation("unknown_field")
    out: dict[str, Any] = {}
    for field in schema.fields:
        try:
            out[field.name] = _value(field, data, code_length)
        except (ValueError, TypeError):
            raise ContractViolation(f"field_{field.name}") from None
    return out


def query_allowed(endpoint_path: str, names: Iterable[str]) -> bool:
    """Whether a request to ``endpoint_path`` (the full path) may carry these query
    parameters: only the contract's own, each once."""
    listed = list(names)
    allowed: set[str] = set()
    for ep in ENDPOINTS.values():
        if ep.query is not None and ep.full_path == endpoint_path:
            allowed |= set(ep.query.names)
    return set(listed) <= allowed and len(listed) == len(set(listed))
