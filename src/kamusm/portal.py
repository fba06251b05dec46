"""The portal client: :class:`PortalClient` and :class:`AsyncPortalClient` (httpx).

Both speak the contract of ``docs/portal-api.md`` (versioned JSON under ``/api/v1``) for the
two roles of the seeds:

- the holder's portal session: e-Devlet or Şifreli Giriş login, certificates, a verification
  code for a PIN reset ("Tekrar Kod Al" issues a new one), the legacy initial PIN;
- the desktop application, authenticated only by the verification code: :meth:`redeem` it for
  one card, :meth:`request_challenge`, :meth:`confirm_challenge` (which returns the single-use
  :class:`~kamusm.values.UnblockAuthorization`) and :meth:`report_result`.

One pure core, :class:`_PortalCore`, builds every request and parses every response; the two
clients only send. httpx errors are translated at one point (``kamusm._portal_errors``) and
every refusal of the portal becomes a typed :class:`~kamusm.errors.PortalError` chosen by the
machine-readable ``error`` code of the JSON body, never by its English text.

TLS verification is always on for ``https`` (a CA bundle may be given); plain ``http`` is
accepted only for loopback hosts, where the local sandbox runs. Only idempotent reads are
retried, with exponential backoff.
"""

from __future__ import annotations

import enum
import itertools
import logging
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

import anyio
import attrs
import httpx

from kamusm import _contract as contract
from kamusm._contract import Endpoint, Schema
from kamusm._portal_errors import (
    detached,
    error_from_response,
    parse_json,
    translate_httpx_error,
)
from kamusm.errors import (
    AuthenticationRequiredError,
    InputError,
    PortalConnectionError,
    PortalError,
    PortalProtocolError,
    PortalServerError,
    PortalTimeoutError,
    PortalTlsError,
)
from kamusm.values import (
    Clock,
    Pin,
    Product,
    SmsCode,
    SystemClock,
    Tckn,
    UnblockAuthorization,
    UnblockOutcome,
    VerificationCode,
    _issue_authorization,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "AsyncPortalClient",
    "Captcha",
    "Challenge",
    "EdevletMethod",
    "Operation",
    "OperationCertificate",
    "PendingLogin",
    "PortalCertificate",
    "PortalCertificateStatus",
    "PortalClient",
    "PortalSession",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: 10 s to read an answer, 5 s to connect.
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
#: Requests one AsyncPortalClient has on the wire at once by default; callers beyond it wait
#: in a first-come-first-served queue of the client's own. httpx's pool handles many waiting
#: requests badly (every release rescans the queue, and waiters are not served in order), so
#: 50 concurrent operations through an unbounded client ran at about half the rate of 8 with a
#: p99 in the hundreds of milliseconds; see ``benchmarks/bench_portal.py``.
DEFAULT_MAX_IN_FLIGHT: Final = 8
#: Keep-alive connections per client: at least the requests in flight, so a burst never closes
#: and reopens connections.
_POOL_SIZE: Final = 100
_RETRY_STATUSES: Final = frozenset({502, 503, 504})
#: A ``Date`` header names whole seconds: a difference below this is no skew.
_CLOCK_AGREEMENT: Final = timedelta(seconds=2)

ChallengeMethod = Literal["sms", "web_password"]


# ==== results =================================================================================


def _aware(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise TypeError(f"{attribute.name} must be a timezone-aware datetime")


class PortalCertificateStatus(enum.Enum):
    """A certificate's state on the portal."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    """Can be re-activated by its holder ("Askıdan İndirme")."""
    REVOKED = "revoked"
    """For good: a revoked certificate is never active again."""


class EdevletMethod(enum.Enum):
    """The e-Devlet login methods (seed 002). A deployment may offer only some."""

    PASSWORD = "password"
    MOBILE_SIGNATURE = "mobile_signature"
    E_SIGNATURE = "e_signature"
    ID_CARD = "id_card"
    INTERNET_BANKING = "internet_banking"


@attrs.frozen(kw_only=True)
class PortalSession:
    """The holder's logged-in portal session (its token stays inside the client)."""

    holder: Tckn
    method: str
    expires_at: datetime = attrs.field(validator=_aware)


@attrs.frozen(kw_only=True)
class Captcha:
    """A Şifreli Giriş captcha ("Resimdeki Yazı"). ``text`` is what the image shows; the
    sandbox hands it as text."""

    captcha_id: str = attrs.field(repr=False)
    text: str
    expires_at: datetime = attrs.field(validator=_aware)


@attrs.frozen(kw_only=True)
class PendingLogin:
    """A Şifreli Giriş waiting for the SMS code sent to ``masked_phone``."""

    pending_login_id: str = attrs.field(repr=False)
    masked_phone: str
    expires_at: datetime = attrs.field(validator=_aware)


@attrs.frozen(kw_only=True)
class PortalCertificate:
    """A certificate as the portal lists it: its state and validity."""

    serial_number: str
    card_serial: str
    product: Product
    subject: str
    status: PortalCertificateStatus
    not_before: datetime = attrs.field(validator=_aware)
    not_after: datetime = attrs.field(validator=_aware)
    expired: bool


@attrs.frozen(kw_only=True)
class OperationCertificate:
    """A certificate the portal has for an operation's card: its serial number
    (hexadecimal), its state and its validity. No subject: the desktop side learns no name."""

    serial_number: str
    status: PortalCertificateStatus
    not_before: datetime = attrs.field(validator=_aware)
    not_after: datetime = attrs.field(validator=_aware)


@attrs.frozen(kw_only=True, repr=False)
class Operation:
    """A verification code redeemed for one card: the desktop application's side of a PIN
    reset.

    ``operation_id`` with the code is a bearer capability: neither appears in ``repr``, logs
    or errors. ``expires_at`` is when the operation stops being valid and
    ``pin_entry_deadline`` when the portal stops waiting for the confirmation request.
    """

    operation_id: str
    holder: Tckn
    product: Product
    card_serial: str
    expires_at: datetime = attrs.field(validator=_aware)
    pin_entry_deadline: datetime | None = attrs.field(default=None, validator=_aware)
    #: The card's certificates of the product as the portal knows them: "active",
    #: "suspended", "revoked" (every one not expired) or "expired" (every one); ``None``
    #: when the portal does not say.
    certificate_status: str | None = None
    #: Each certificate the portal has for the card and product (empty when it does not
    #: say); the flows match them to the certificates on the card by serial number.
    certificates: tuple[OperationCertificate, ...] = ()
    verification_code: VerificationCode = attrs.field(eq=False)

    def __repr__(self) -> str:
        return (
            f"Operation(holder={self.holder.masked!r}, product={self.product.value!r}, "
            f"card_serial={self.card_serial!r}, expires_at={self.expires_at.isoformat()!r})"
        )

    __str__ = __repr__

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@attrs.frozen(kw_only=True)
class Challenge:
    """The confirmation the portal asks for: an SMS code (sent to ``masked_phone``) or the
    holder's web password, until ``expires_at``, with ``attempts_remaining`` wrong answers
    left before the operation is cancelled, and ``challenges_remaining`` new challenges (new
    SMS codes) the operation may still ask for (``None`` when the portal did not say)."""

    method: ChallengeMethod
    expires_at: datetime = attrs.field(validator=_aware)
    attempts_remaining: int
    masked_phone: str | None = None
    challenges_remaining: int | None = None


# ==== the pure core ===========================================================================


@attrs.frozen(kw_only=True)
class _Call(Generic[T]):
    """One request of the contract (its endpoint, path parameters and body) and how to read
    its answer."""

    endpoint: Endpoint
    path_args: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    parse: Callable[[Any], T] = attrs.field(repr=False)
    #: Short description for the debug log: never a secret, never an operation id.
    what: str

    @property
    def session(self) -> bool:
        return self.endpoint.auth == "session"

    @property
    def idempotent(self) -> bool:
        return self.endpoint.method == "GET"

    @property
    def ok(self) -> int:
        return self.endpoint.ok


def _call(
    name: str,
    *,
    parse: Callable[[Any], T],
    what: str,
    path_args: Mapping[str, str] | None = None,
    **body: Any,
) -> _Call[T]:
    """The call of the endpoint ``name`` with ``body`` (``None`` values left out); the names
    of the body are checked against the endpoint's fields in the contract."""
    ep = contract.endpoint(name)
    sent = ep.request_body(**{k: v for k, v in body.items() if v is not None})
    return _Call(
        endpoint=ep,
        path_args=path_args or {},
        body=sent if ep.body is not None else None,
        parse=parse,
        what=what,
    )


class _Fields:
    """Typed reads from a JSON object; anything off-contract is a PortalProtocolError."""

    def __init__(self, data: Any, status: int, schema: Schema) -> None:
        if not isinstance(data, dict):
            raise PortalProtocolError(status=status)
        self.data = data
        self.status = status
        self.schema = schema

    def _field(self, key: str) -> contract.Field:
        """The contract's field ``key`` of this answer (a KeyError names a field the contract
        does not have)."""
        return self.schema[key]

    def _get(self, key: str, kind: type[Any] | tuple[type[Any], ...]) -> Any:
        self._field(key)
        value = self.data.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise PortalProtocolError(status=self.status)
        return value

    def text(self, key: str) -> str:
        value: str = self._get(key, str)
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.data.get(self._field(key).name) is None else self.text(key)

    def integer(self, key: str) -> int:
        value: int = self._get(key, int)
        return value

    def flag(self, key: str) -> bool:
        value: bool = self._get(key, bool)
        return value

    def moment(self, key: str) -> datetime:
        try:
            value = datetime.fromisoformat(self.text(key))
        except ValueError:
            raise PortalProtocolError(status=self.status) from None
        if value.tzinfo is None:
            raise PortalProtocolError(status=self.status)
        return value

    def optional_moment(self, key: str) -> datetime | None:
        return None if self.data.get(self._field(key).name) is None else self.moment(key)

    def tckn(self, key: str) -> Tckn:
        value = self.text(key)
        if not Tckn.is_valid(value):
            raise PortalProtocolError(status=self.status)
        return Tckn(value)

    def enum(self, key: str, kind: type[Any]) -> Any:
        try:
            return kind(self.text(key))
        except ValueError:
            raise PortalProtocolError(status=self.status) from None

    def nested(self, key: str) -> _Fields:
        inner = self._field(key).schema
        assert inner is not None  # noqa: S101 (an object field of the contract has a schema)
        return _Fields(self.data.get(key), self.status, inner)

    def items(self, key: str) -> list[_Fields]:
        ref = self._field(key).ref
        assert ref is not None  # noqa: S101 (a list of an answer names its items' schema)
        value = self._get(key, list)
        return [_Fields(item, self.status, contract.ANSWERS[ref]) for item in value]


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise InputError()
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise InputError()
    if parts.scheme == "http" and host not in contract.LOOPBACK_HOSTS:
        raise InputError()
    path = parts.path.rstrip("/")
    path = path.removesuffix(contract.API_PREFIX)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _tls(verify: object) -> ssl.SSLContext | bool:
    if verify is True:
        return True
    if isinstance(verify, ssl.SSLContext):
        if verify.verify_mode is not ssl.CERT_REQUIRED or not verify.check_hostname:
            raise InputError()
        return verify
    if isinstance(verify, str) and verify:
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError):
            raise InputError() from None
    # verify=False (or anything else) is not offered: TLS verification is always on.
    raise InputError()


def _serial(value: object) -> str:
    if not isinstance(value, str) or not contract.SERIAL.fullmatch(value):
        raise InputError()
    return value


class _PortalCore:
    """Everything of a portal client that does no I/O: the base URL, the holder's session
    token, building each request and reading each answer, retry decisions."""

    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock | None,
        retries: int,
        backoff: float,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        # The environment's proxies (HTTP_PROXY, ALL_PROXY) never see loopback traffic: plain
        # http to the local sandbox would hand them passwords and codes in clear.
        host = (urlsplit(self.base_url).hostname or "").lower()
        self.trust_env = host not in contract.LOOPBACK_HOSTS
        self.clock: Clock = clock if clock is not None else SystemClock()
        if retries < 0 or backoff < 0:
            raise InputError()
        self.retries = retries
        self.backoff = backoff
        self._session_token: str | None = None
        #: How far this machine's clock is ahead of the portal's, measured from the ``Date``
        #: header of the portal's last answer (zero until one came, or within its one-second
        #: resolution): the flows count the portal's deadlines by the portal's time.
        self.clock_offset = timedelta(0)

    # -- sending support --

    def request(self, http: httpx.Client | httpx.AsyncClient, call: _Call[Any]) -> httpx.Request:
        headers = {"Accept": "application/json"}
        if call.session:
            if self._session_token is None:
                raise AuthenticationRequiredError()
            headers["Authorization"] = f"Bearer {self._session_token}"
        log.debug("Portal: %s", call.what)
        return http.build_request(
            call.endpoint.method,
            self.base_url + call.endpoint.url_path(**call.path_args),
            json=call.body,
            headers=headers,
        )

    def finish(self, call: _Call[T], response: httpx.Response) -> T:
        """The parsed answer, or the typed refusal."""
        self._note_portal_time(response)
        if response.status_code != call.ok:
            err = error_from_response(response, self.clock)
            if isinstance(err, AuthenticationRequiredError) and call.session:
                self._session_token = None
            log.debug("Portal refused (%s): %s", call.what, type(err).__name__)
            raise err
        if call.ok == 204:
            return call.parse(None)
        try:
            data = parse_json(response)
        except ValueError:
            raise PortalProtocolError(status=response.status_code) from None
        answer = call.endpoint.answer
        assert answer is not None  # noqa: S101 (an endpoint answering 200/201 names its answer)
        return call.parse(_Fields(data, response.status_code, contract.ANSWERS[answer]))

    def _note_portal_time(self, response: httpx.Response) -> None:
        stamp = response.headers.get("date")
        if not stamp:
            return
        try:
            portal_now = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError):
            return  # an unreadable Date says nothing about the portal's time
        if portal_now.tzinfo is None:
            return
        offset = self.clock.now() - portal_now
        # The header counts whole seconds: clocks closer than that are taken as agreeing.
        self.clock_offset = offset if abs(offset) >= _CLOCK_AGREEMENT else timedelta(0)

    def retry_delay(self, call: _Call[Any], attempt: int, err: PortalError) -> float | None:
        """Seconds to wait before trying ``call`` again, or ``None`` to give up. Only
        idempotent reads are retried, and only after a fault that may pass."""
        if not call.idempotent or attempt >= self.retries:
            return None
        transient = isinstance(err, PortalTimeoutError) or (
            isinstance(err, PortalConnectionError) and not isinstance(err, PortalTlsError)
        )
        if isinstance(err, PortalServerError) and err.status in _RETRY_STATUSES:
            transient = True
        return self.backoff * (2**attempt) if transient else None

    @property
    def logged_in(self) -> bool:
        return self._session_token is not None

    # -- the holder's session --

    def login_methods(self) -> _Call[dict[str, bool]]:
        def parse(f: _Fields) -> dict[str, bool]:
            return {m.text("method"): m.flag("available") for m in f.items("methods")}

        return _call("login_methods", parse=parse, what="listing login methods")

    def _session(self, f: _Fields) -> PortalSession:
        self._session_token = f.text("session_token")
        session = PortalSession(
            holder=f.tckn("holder"), method=f.text("method"), expires_at=f.moment("expires_at")
        )
        log.info("Portal session opened for %s", session.holder.masked)
        return session

    def login_edevlet(
        self, tckn: Tckn, password: str, method: EdevletMethod
    ) -> _Call[PortalSession]:
        if not isinstance(tckn, Tckn) or not isinstance(password, str) or not password:
            raise InputError()
        return _call(
            "login_edevlet",
            tckn=tckn.value,
            password=password,
            method=EdevletMethod(method).value,
            parse=self._session,
            what="logging in through e-Devlet",
        )

    def captcha(self) -> _Call[Captcha]:
        def parse(f: _Fields) -> Captcha:
            return Captcha(
                captcha_id=f.text("captcha_id"),
                text=f.text("text"),
                expires_at=f.moment("expires_at"),
            )

        return _call("captcha", parse=parse, what="captcha")

    def login_sifreli_giris(
        self, id_number: Tckn | str, captcha: Captcha, captcha_answer: str, security_word: str
    ) -> _Call[PendingLogin]:
        number = id_number.value if isinstance(id_number, Tckn) else id_number
        if not all(isinstance(v, str) and v for v in (number, captcha_answer, security_word)):
            raise InputError()

        def parse(f: _Fields) -> PendingLogin:
            return PendingLogin(
                pending_login_id=f.text("pending_login_id"),
                masked_phone=f.text("masked_phone"),
                expires_at=f.moment("expires_at"),
            )

        return _call(
            "sifreli_giris",
            id_number=number,
            captcha_id=captcha.captcha_id,
            captcha_answer=captcha_answer,
            security_word=security_word,
            parse=parse,
            what="Şifreli Giriş",
        )

    def confirm_login_sms(self, pending: PendingLogin, code: SmsCode | str) -> _Call[PortalSession]:
        typed = code.reveal() if isinstance(code, SmsCode) else code
        if not isinstance(typed, str) or not typed:
            raise InputError()
        return _call(
            "sifreli_giris_confirm",
            pending_login_id=pending.pending_login_id,
            sms_code=typed,
            parse=self._session,
            what="confirming Şifreli Giriş by SMS",
        )

    def logout(self) -> _Call[None]:
        def parse(_: object) -> None:
            self._session_token = None
            log.info("Portal session closed")

        return _call("logout", parse=parse, what="logout")

    def current_session(self) -> _Call[PortalSession]:
        def parse(f: _Fields) -> PortalSession:
            return PortalSession(
                holder=f.tckn("holder"),
                method=f.text("method"),
                expires_at=f.moment("expires_at"),
            )

        return _call("session", parse=parse, what="reading the session")

    # -- certificates --

    @staticmethod
    def _certificate(f: _Fields) -> PortalCertificate:
        return PortalCertificate(
            serial_number=f.text("serial_number"),
            card_serial=f.text("card_serial"),
            product=f.enum("product", Product),
            subject=f.text("subject"),
            status=f.enum("status", PortalCertificateStatus),
            not_before=f.moment("not_before"),
            not_after=f.moment("not_after"),
            expired=f.flag("expired"),
        )

    def list_certificates(self) -> _Call[tuple[PortalCertificate, ...]]:
        def parse(f: _Fields) -> tuple[PortalCertificate, ...]:
            return tuple(self._certificate(c) for c in f.items("certificates"))

        return _call("certificates", parse=parse, what="listing certificates")

    def change_certificate(
        self, serial_number: str, action: str, *, confirm: bool | None = None
    ) -> _Call[PortalCertificate]:
        serial = _serial(serial_number)

        def parse(f: _Fields) -> PortalCertificate:
            cert = self._certificate(f)
            log.info("Certificate %s is now %s", cert.serial_number, cert.status.value)
            return cert

        return _call(
            f"certificate_{action}",
            path_args={"serial_number": serial},
            confirm=confirm,
            parse=parse,
            what=f"{action} certificate {serial}",
        )

    # -- PIN reset, the holder's side --

    def start_pin_reset(self, product: Product) -> _Call[VerificationCode]:
        if not isinstance(product, Product):
            raise InputError()

        def parse(f: _Fields) -> VerificationCode:
            issued = f.moment("issued_at")
            expires = f.moment("expires_at")
            try:
                code = VerificationCode(
                    f.text("verification_code"),
                    length=f.integer("length"),
                    issued_at=issued,
                    validity=expires - issued,
                )
            except InputError:
                raise PortalProtocolError(status=f.status) from None
            log.info("Verification code issued for a %s PIN reset", product.value)
            return code

        return _call(
            "pin_reset",
            product=product.value,
            parse=parse,
            what=f"starting a {product.value} PIN reset",
        )

    def reveal_initial_pin(self, card_serial: str) -> _Call[Pin]:
        serial = _serial(card_serial)

        def parse(f: _Fields) -> Pin:
            try:
                return Pin(f.text("initial_pin"))
            except InputError:
                raise PortalProtocolError(status=f.status) from None

        return _call(
            "initial_pin_reveal",
            path_args={"card_serial": serial},
            parse=parse,
            what=f"showing the initial PIN of card {serial}",
        )

    def delete_initial_pin(self, card_serial: str) -> _Call[None]:
        serial = _serial(card_serial)

        def parse(_: object) -> None:
            log.info("Initial PIN of card %s deleted", serial)

        return _call(
            "initial_pin_delete",
            path_args={"card_serial": serial},
            parse=parse,
            what=f"deleting the initial PIN of card {serial}",
        )

    # -- PIN reset, the desktop application's side --

    def redeem(self, code: VerificationCode, card_serial: str) -> _Call[Operation]:
        if not isinstance(code, VerificationCode):
            raise InputError()
        serial = _serial(card_serial)

        def parse(f: _Fields) -> Operation:
            op = Operation(
                operation_id=f.text("operation_id"),
                holder=f.tckn("holder"),
                product=f.enum("product", Product),
                card_serial=f.text("card_serial"),
                expires_at=f.moment("expires_at"),
                pin_entry_deadline=f.optional_moment("pin_entry_deadline"),
                certificate_status=f.optional_text("certificate_status"),
                certificates=tuple(
                    OperationCertificate(
                        serial_number=c.text("serial_number"),
                        status=c.enum("status", PortalCertificateStatus),
                        not_before=c.moment("not_before"),
                        not_after=c.moment("not_after"),
                    )
                    for c in (f.items("certificates") if "certificates" in f.data else ())
                ),
                verification_code=code,
            )
            if op.card_serial != serial:
                raise PortalProtocolError(status=f.status)
            log.info("Verification code redeemed for card %s", serial)
            return op

        return _call(
            "redeem",
            verification_code=code.reveal(),
            card_serial=serial,
            parse=parse,
            what=f"redeeming a verification code for card {serial}",
        )

    @staticmethod
    def _operation_body(operation: Operation) -> dict[str, Any]:
        """The capability that every request about an operation carries."""
        if not isinstance(operation, Operation):
            raise InputError()
        return {
            "operation_id": operation.operation_id,
            "verification_code": operation.verification_code.reveal(),
        }

    def request_challenge(self, operation: Operation, method: str) -> _Call[Challenge]:
        if method not in contract.CHALLENGE_METHODS:
            raise InputError()

        def parse(f: _Fields) -> Challenge:
            kind = f.text("method")
            if kind not in contract.CHALLENGE_METHODS:
                raise PortalProtocolError(status=f.status)
            return Challenge(
                method="sms" if kind == "sms" else "web_password",
                expires_at=f.moment("expires_at"),
                attempts_remaining=f.integer("attempts_remaining"),
                masked_phone=f.optional_text("masked_phone"),
                challenges_remaining=f.integer("challenges_remaining"),
            )

        return _call(
            "challenge",
            **self._operation_body(operation),
            method=method,
            parse=parse,
            what=f"asking for the {method} confirmation for card {operation.card_serial}",
        )

    def confirm_challenge(
        self, operation: Operation, answer: SmsCode | str
    ) -> _Call[UnblockAuthorization]:
        typed = answer.reveal() if isinstance(answer, SmsCode) else answer
        if not isinstance(typed, str) or not typed:
            raise InputError()

        def parse(f: _Fields) -> UnblockAuthorization:
            auth = f.nested("authorization")
            if auth.text("card_serial") != operation.card_serial:
                raise PortalProtocolError(status=f.status)
            credential = auth.text("credential")
            other = auth.optional_text("other_credential")
            fresh = auth.optional_text("next_credential")
            if not credential or other == "" or fresh == "" or other == credential:
                raise PortalProtocolError(status=f.status)
            log.info("Unblock authorization received for card %s", operation.card_serial)
            return _issue_authorization(
                credential,
                card_serial=operation.card_serial,
                expires_at=auth.moment("expires_at"),
                operation_id=operation.operation_id,
                other_credential=other,
                fresh_credential=fresh,
            )

        return _call(
            "confirm",
            **self._operation_body(operation),
            answer=typed,
            parse=parse,
            what=f"confirming the operation for card {operation.card_serial}",
        )

    def report_result(
        self,
        operation: Operation,
        success: bool,
        reason: str | None,
        outcome: UnblockOutcome | None = None,
    ) -> _Call[None]:
        if not isinstance(success, bool):
            raise InputError()
        if outcome is not None and not isinstance(outcome, UnblockOutcome):
            raise InputError()
        if reason is not None and not (
            isinstance(reason, str) and contract.REASON.fullmatch(reason)
        ):
            # Letters, "_", "." and "-" only: a reason can never carry a PIN or a code.
            raise InputError()

        def parse(_: object) -> None:
            log.info(
                "Result reported for card %s: %s",
                operation.card_serial,
                "success" if success else "failure",
            )

        return _call(
            "result",
            **self._operation_body(operation),
            success=success,
            reason=reason,
            **_so_report(outcome),
            parse=parse,
            what=f"reporting the result for card {operation.card_serial}",
        )


def _so_report(outcome: UnblockOutcome | None) -> dict[str, Any]:
    """What a report says of the card's SO credential (nothing when it is not known): whether
    it was changed to the fresh one, and which released candidate the card accepted."""
    if outcome is None:
        return {}
    login = None if outcome.so_login is None else contract.SO_LOGINS[outcome.so_login]
    return {
        "so_credential_changed": outcome.so_changed,
        "so_credential_login": login,
        "wrong_so_attempts": min(outcome.wrong_so_attempts, contract.MAX_WRONG_SO_ATTEMPTS),
    }


# ==== the two clients =========================================================================

#: The most of an answer a client reads, in bytes (the contract's largest answers, a holder's
#: certificate list or the audit log of a test, stay far below); more is a
#: PortalProtocolError, raised before the rest is read.
MAX_ANSWER_BYTES: Final = 1024 * 1024


def _check_size(response: httpx.Response, body: bytearray) -> None:
    if len(body) > MAX_ANSWER_BYTES:
        raise PortalProtocolError(status=response.status_code)


def _read(response: httpx.Response, body: bytearray) -> httpx.Response:
    """The answer with its body read (and decoded: the encoding headers go)."""
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


def _limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=_POOL_SIZE, max_keepalive_connections=_POOL_SIZE, keepalive_expiry=30
    )


#: How many confirmed operations whose result is not reported yet a client remembers (the
#: oldest is forgotten first; its report then says nothing of the SO credential).
_MAX_REMEMBERED_AUTHORIZATIONS: Final = 4096


class _Issued:
    """The authorizations a client's confirmations issued, by operation id, until the
    operation's result is reported: so that a report without an ``outcome`` still tells the
    portal what the unblock reached (or that the card was never touched)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_operation: OrderedDict[str, UnblockAuthorization] = OrderedDict()

    def remember(self, operation_id: str, authorization: UnblockAuthorization) -> None:
        with self._lock:
            self._by_operation[operation_id] = authorization
            self._by_operation.move_to_end(operation_id)
            while len(self._by_operation) > _MAX_REMEMBERED_AUTHORIZATIONS:
                self._by_operation.popitem(last=False)

    def outcome(self, operation_id: str) -> UnblockOutcome | None:
        """What the operation's authorization reached: its outcome once spent, the untouched
        outcome (not changed, no SO login) when it never was, ``None`` when this client
        issued none for it."""
        with self._lock:
            auth = self._by_operation.get(operation_id)
        if auth is None:
            return None
        return auth.outcome or UnblockOutcome()

    def forget(self, operation_id: str) -> None:
        with self._lock:
            self._by_operation.pop(operation_id, None)


class _ClientBase:
    """What both clients share besides sending: construction, the authorizations issued
    and the repr."""

    _core: _PortalCore
    _issued: _Issued

    def _setup(
        self,
        base_url: str,
        verify: bool | str | ssl.SSLContext,
        clock: Clock | None,
        retries: int,
        backoff: float,
    ) -> ssl.SSLContext | bool:
        self._core = _PortalCore(base_url, clock=clock, retries=retries, backoff=backoff)
        self._issued = _Issued()
        return _tls(verify)

    def _issued_to(self, operation: Operation, auth: UnblockAuthorization) -> UnblockAuthorization:
        self._issued.remember(operation.operation_id, auth)
        return auth

    def _report(
        self,
        operation: Operation,
        success: bool,
        reason: str | None,
        outcome: UnblockOutcome | None,
    ) -> _Call[None]:
        """The report, its outcome by default what this client's authorization for the
        operation reached."""
        if outcome is None and isinstance(operation, Operation):
            outcome = self._issued.outcome(operation.operation_id)
        return self._core.report_result(operation, success, reason, outcome)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def clock(self) -> Clock:
        return self._core.clock

    @property
    def clock_offset(self) -> timedelta:
        """How far this machine's clock (:attr:`clock`) is ahead of the portal's, measured
        from the ``Date`` header of the portal's last answer; zero before the first answer
        and when the two agree within the header's one-second resolution."""
        return self._core.clock_offset

    @property
    def logged_in(self) -> bool:
        """Whether the client holds a holder session token."""
        return self._core.logged_in

    def __repr__(self) -> str:
        state = "logged in" if self._core.logged_in else "no session"
        return f"{type(self).__name__}({self._core.base_url!r}, {state})"


class PortalClient(_ClientBase):
    """The portal client for synchronous code. Use it as a context manager or call
    :meth:`close`.

    ``base_url`` is the portal's origin (``https://…``; ``http://`` only for 127.0.0.1, ::1
    and localhost). ``verify`` is ``True`` (the system's trust store) or a CA bundle path or
    an :class:`ssl.SSLContext` that verifies; ``False`` is refused. ``transport`` replaces
    the network (tests). Idempotent reads are retried ``retries`` times with exponential
    ``backoff`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        tls = self._setup(base_url, verify, clock, retries, backoff)
        self._http = httpx.Client(
            verify=tls,
            timeout=timeout,
            transport=transport,
            limits=_limits(),
            follow_redirects=False,
            trust_env=self._core.trust_env,
        )

    def _exchange(self, call: _Call[Any]) -> httpx.Response:
        """Send ``call`` and read its answer (at most :data:`MAX_ANSWER_BYTES`)."""
        try:
            response = self._http.send(self._core.request(self._http, call), stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    _check_size(response, body)
            finally:
                response.close()
            return _read(response, body)
        except httpx.HTTPError as exc:
            failure, cause = translate_httpx_error(exc), detached(exc)
        raise failure from cause  # outside the handler: no __context__ holding the request

    def _run(self, call: _Call[T]) -> T:
        for attempt in itertools.count():
            try:
                return self._core.finish(call, self._exchange(call))
            except PortalError as err:
                delay = self._core.retry_delay(call, attempt, err)
                if delay is None:
                    raise
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the holder's session --

    def login_methods(self) -> dict[str, bool]:
        """Each login method of the deployment and whether it is available."""
        return self._run(self._core.login_methods())

    def login_edevlet(
        self, tckn: Tckn, password: str, *, method: EdevletMethod = EdevletMethod.PASSWORD
    ) -> PortalSession:
        """Log in through e-Devlet; the session token stays in this client."""
        return self._run(self._core.login_edevlet(tckn, password, method))

    def get_captcha(self) -> Captcha:
        """A captcha for :meth:`login_sifreli_giris`."""
        return self._run(self._core.captcha())

    def login_sifreli_giris(
        self,
        id_number: Tckn | str,
        *,
        captcha: Captcha,
        captcha_answer: str,
        security_word: str,
    ) -> PendingLogin:
        """Şifreli Giriş (T.C. Kimlik No or passport number, captcha, security word): an SMS
        code goes to the registered phone; finish with :meth:`confirm_login_sms`."""
        return self._run(
            self._core.login_sifreli_giris(id_number, captcha, captcha_answer, security_word)
        )

    def confirm_login_sms(self, pending: PendingLogin, code: SmsCode | str) -> PortalSession:
        return self._run(self._core.confirm_login_sms(pending, code))

    def session(self) -> PortalSession:
        """The current session (raises AuthenticationRequiredError when there is none)."""
        return self._run(self._core.current_session())

    def logout(self) -> None:
        self._run(self._core.logout())

    def list_certificates(self) -> tuple[PortalCertificate, ...]:
        return self._run(self._core.list_certificates())

    def suspend_certificate(self, serial_number: str) -> PortalCertificate:
        return self._run(self._core.change_certificate(serial_number, "suspend"))

    def reactivate_certificate(self, serial_number: str) -> PortalCertificate:
        """ "Askıdan İndirme": make a suspended certificate active again."""
        return self._run(self._core.change_certificate(serial_number, "reactivate"))

    def revoke_certificate(self, serial_number: str, *, confirm: bool) -> PortalCertificate:
        """Revoke for good; ``confirm=True`` is required (renewal is paid)."""
        if confirm is not True:
            raise InputError()
        return self._run(self._core.change_certificate(serial_number, "revoke", confirm=True))

    def start_pin_reset(self, product: Product) -> VerificationCode:
        """A verification code for a PIN reset of ``product``; calling again ("Tekrar Kod
        Al") invalidates the previous code."""
        return self._run(self._core.start_pin_reset(product))

    def reveal_initial_pin(self, card_serial: str) -> Pin:
        """The legacy initial PIN of a card, once, in a Şifreli Giriş session."""
        return self._run(self._core.reveal_initial_pin(card_serial))

    def delete_initial_pin(self, card_serial: str) -> None:
        """ "Sil": delete the legacy initial PIN for good."""
        self._run(self._core.delete_initial_pin(card_serial))

    # -- the desktop application's side --

    def redeem(self, code: VerificationCode, *, card_serial: str) -> Operation:
        """Redeem a verification code for one card of its holder."""
        return self._run(self._core.redeem(code, card_serial))

    def request_challenge(
        self, operation: Operation, *, method: ChallengeMethod = "sms"
    ) -> Challenge:
        """Ask for the confirmation: an SMS code, or the holder's web password."""
        return self._run(self._core.request_challenge(operation, method))

    def confirm_challenge(
        self, operation: Operation, answer: SmsCode | str
    ) -> UnblockAuthorization:
        """Answer the challenge; the right answer returns the single-use authorization. The
        client remembers it until the operation's result is reported (see
        :meth:`report_result`)."""
        return self._issued_to(
            operation, self._run(self._core.confirm_challenge(operation, answer))
        )

    def report_result(
        self,
        operation: Operation,
        *,
        success: bool,
        reason: str | None = None,
        outcome: UnblockOutcome | None = None,
    ) -> None:
        """Tell the portal how the card operation ended (``reason``: letters and ``_``).

        ``outcome``, the :class:`~kamusm.values.UnblockOutcome` the unblock reached, tells
        the portal which SO credential the card holds now. By default it is what the
        authorization this client's :meth:`confirm_challenge` issued for the operation
        reached (its :attr:`~kamusm.values.UnblockAuthorization.outcome`, or, never spent,
        the untouched ``UnblockOutcome()``), so a plain ``report_result(op, success=True)``
        after ``token.unblock`` tells the truth; with no authorization from this client the
        report says nothing of it and the portal keeps every candidate."""
        self._run(self._report(operation, success, reason, outcome))
        self._issued.forget(operation.operation_id)


class AsyncPortalClient(_ClientBase):
    """The portal client for async code (asyncio or trio): :class:`PortalClient`'s methods,
    awaited. Use it as an async context manager or call :meth:`aclose`.

    One client serves many concurrent operations (a DYS backend serving many holders): at most
    ``max_in_flight`` requests are on the wire at once and the others wait their turn in
    arrival order (``None`` lifts the bound).
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        tls = self._setup(base_url, verify, clock, retries, backoff)
        if max_in_flight is not None and not 0 < max_in_flight <= _POOL_SIZE:
            raise InputError()
        self._max_in_flight = max_in_flight
        self._gate: anyio.Semaphore | None = None
        self._http = httpx.AsyncClient(
            verify=tls,
            timeout=timeout,
            transport=transport,
            limits=_limits(),
            follow_redirects=False,
            trust_env=self._core.trust_env,
        )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._http.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                _check_size(response, body)
        finally:
            await response.aclose()
        return _read(response, body)

    async def _exchange(self, call: _Call[Any]) -> httpx.Response:
        """Send ``call`` and read its answer (at most :data:`MAX_ANSWER_BYTES`), through the
        in-flight gate."""
        try:
            request = self._core.request(self._http, call)
            if self._max_in_flight is None:
                return await self._send(request)
            if self._gate is None:  # made on first use, inside the caller's event loop
                self._gate = anyio.Semaphore(self._max_in_flight)
            async with self._gate:
                return await self._send(request)
        except httpx.HTTPError as exc:
            failure, cause = translate_httpx_error(exc), detached(exc)
        raise failure from cause  # outside the handler: no __context__ holding the request

    async def _run(self, call: _Call[T]) -> T:
        for attempt in itertools.count():
            try:
                return self._core.finish(call, await self._exchange(call))
            except PortalError as err:
                delay = self._core.retry_delay(call, attempt, err)
                if delay is None:
                    raise
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the holder's session --

    async def login_methods(self) -> dict[str, bool]:
        return await self._run(self._core.login_methods())

    async def login_edevlet(
        self, tckn: Tckn, password: str, *, method: EdevletMethod = EdevletMethod.PASSWORD
    ) -> PortalSession:
        return await self._run(self._core.login_edevlet(tckn, password, method))

    async def get_captcha(self) -> Captcha:
        return await self._run(self._core.captcha())

    async def login_sifreli_giris(
        self,
        id_number: Tckn | str,
        *,
        captcha: Captcha,
        captcha_answer: str,
        security_word: str,
    ) -> PendingLogin:
        return await self._run(
            self._core.login_sifreli_giris(id_number, captcha, captcha_answer, security_word)
        )

    async def confirm_login_sms(self, pending: PendingLogin, code: SmsCode | str) -> PortalSession:
        return await self._run(self._core.confirm_login_sms(pending, code))

    async def session(self) -> PortalSession:
        return await self._run(self._core.current_session())

    async def logout(self) -> None:
        await self._run(self._core.logout())

    async def list_certificates(self) -> tuple[PortalCertificate, ...]:
        return await self._run(self._core.list_certificates())

    async def suspend_certificate(self, serial_number: str) -> PortalCertificate:
        return await self._run(self._core.change_certificate(serial_number, "suspend"))

    async def reactivate_certificate(self, serial_number: str) -> PortalCertificate:
        return await self._run(self._core.change_certificate(serial_number, "reactivate"))

    async def revoke_certificate(self, serial_number: str, *, confirm: bool) -> PortalCertificate:
        if confirm is not True:
            raise InputError()
        call = self._core.change_certificate(serial_number, "revoke", confirm=True)
        return await self._run(call)

    async def start_pin_reset(self, product: Product) -> VerificationCode:
        return await self._run(self._core.start_pin_reset(product))

    async def reveal_initial_pin(self, card_serial: str) -> Pin:
        return await self._run(self._core.reveal_initial_pin(card_serial))

    async def delete_initial_pin(self, card_serial: str) -> None:
        await self._run(self._core.delete_initial_pin(card_serial))

    # -- the desktop application's side --

    async def redeem(self, code: VerificationCode, *, card_serial: str) -> Operation:
        return await self._run(self._core.redeem(code, card_serial))

    async def request_challenge(
        self, operation: Operation, *, method: ChallengeMethod = "sms"
    ) -> Challenge:
        return await self._run(self._core.request_challenge(operation, method))

    async def confirm_challenge(
        self, operation: Operation, answer: SmsCode | str
    ) -> UnblockAuthorization:
        auth = await self._run(self._core.confirm_challenge(operation, answer))
        return self._issued_to(operation, auth)

    async def report_result(
        self,
        operation: Operation,
        *,
        success: bool,
        reason: str | None = None,
        outcome: UnblockOutcome | None = None,
    ) -> None:
        """:meth:`PortalClient.report_result`: the outcome by default what this client's
        authorization for the operation reached."""
        await self._run(self._report(operation, success, reason, outcome))
        self._issued.forget(operation.operation_id)
