"""Value objects: the secrets, codes and identifiers that pass between the layers.

Nothing here does I/O. Secrets (:class:`Pin`, :class:`VerificationCode`, :class:`SmsCode`,
:class:`UnblockAuthorization`) never show their digits in ``repr``/``str``/``format``, compare
in constant time, refuse to be pickled, and hand out their digits through one explicitly named
method, ``reveal()``, for the single call that needs them (the PKCS#11 call, the HTTP body).
"""

from __future__ import annotations

import enum
import hmac
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol, Self, TypeGuard, runtime_checkable

import attrs

from kamusm.errors import (
    AuthorizationCardMismatchError,
    AuthorizationExpiredError,
    AuthorizationSpentError,
    InvalidCodeError,
    InvalidPinFormatError,
    InvalidTcknError,
)
from kamusm.messages import DEFAULT_LANGUAGE, Language, text

__all__ = [
    "DEFAULT_SMS_CODE_LENGTH",
    "DEFAULT_SMS_CODE_VALIDITY",
    "DEFAULT_VERIFICATION_CODE_LENGTH",
    "DEFAULT_VERIFICATION_CODE_VALIDITY",
    "Clock",
    "ManualClock",
    "Pin",
    "PinStatus",
    "Product",
    "SmsCode",
    "SystemClock",
    "Tckn",
    "UnblockAuthorization",
    "VerificationCode",
]

#: The portal's verification code ("Doğrulama Kodu"): 15 digits, about 300 s (seeds 000-003).
DEFAULT_VERIFICATION_CODE_LENGTH = 15
DEFAULT_VERIFICATION_CODE_VALIDITY = timedelta(seconds=300)
#: The SMS confirmation code: the seeds do not say; 6 digits and 180 s are this project's
#: defaults.
DEFAULT_SMS_CODE_LENGTH = 6
DEFAULT_SMS_CODE_VALIDITY = timedelta(seconds=180)

_HIDDEN = "<hidden>"


def _is_digits(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be a timezone-aware datetime")


# ---- clocks -------------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Where kamusm reads the time. Every expiry is decided against a clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: for tests of every expiry, without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start if start is not None else datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        _require_aware(start, "start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (seconds or a timedelta) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


# ---- secrets ------------------------------------------------------------------------------


class _Secret:
    """Shared behaviour of secret values: hidden text, constant-time equality, no pickling."""

    __slots__ = ()

    def reveal(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_HIDDEN})"

    def __str__(self) -> str:
        return repr(self)

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Secret)  # noqa: S101 (narrowing for the type checker)
        return hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # secrets are not dictionary keys

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} cannot be pickled or copied to storage")


def _pin_digits(_: object, __: object, value: Any) -> None:
    if not _is_digits(value):
        raise InvalidPinFormatError()


@attrs.frozen(eq=False, repr=False, slots=True)
class Pin(_Secret):
    """A PIN: a secret string of ASCII digits. Length rules live in :class:`PinPolicy`."""

    _digits: str = attrs.field(alias="digits", validator=_pin_digits)

    def reveal(self) -> str:
        """The digits, for the one call that needs them."""
        return self._digits

    def __len__(self) -> int:
        return len(self._digits)


@attrs.frozen(eq=False, repr=False, slots=True)
class _Code(_Secret):
    """A one-time numeric code of a fixed length with a validity window."""

    _kind: ClassVar[str] = "verification"

    _digits: str = attrs.field(alias="digits")
    length: int = attrs.field(kw_only=True)
    issued_at: datetime | None = attrs.field(kw_only=True, default=None)
    validity: timedelta = attrs.field(kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not _is_digits(self._digits) or len(self._digits) != self.length:
            raise InvalidCodeError(kind=self._kind, length=self.length)
        if self.issued_at is not None:
            _require_aware(self.issued_at, "issued_at")

    @classmethod
    def parse(cls, typed: object, **kwargs: Any) -> Self:
        """Build from what a person typed: spaces and dashes between digit groups are fine."""
        if not isinstance(typed, str):
            raise InvalidCodeError(kind=cls._kind, length=kwargs.get("length", 0))
        cleaned = typed.strip().replace(" ", "").replace("-", "")
        return cls(cleaned, **kwargs)

    def reveal(self) -> str:
        """The digits, for the one call that needs them."""
        return self._digits

    @property
    def expires_at(self) -> datetime | None:
        return None if self.issued_at is None else self.issued_at + self.validity

    def remaining(self, now: datetime) -> timedelta:
        """Time left at ``now`` (zero once expired; the full validity if the issue time is
        unknown)."""
        if self.expires_at is None:
            return self.validity
        return max(self.expires_at - now, timedelta(0))

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@attrs.frozen(eq=False, repr=False, slots=True)
class VerificationCode(_Code):
    """The portal's "Doğrulama Kodu": 15 digits valid for 300 s unless the deployment says
    otherwise. It is typed only into the desktop application: never a PIN, never a PUK."""

    _kind: ClassVar[str] = "verification"

    length: int = attrs.field(kw_only=True, default=DEFAULT_VERIFICATION_CODE_LENGTH)
    validity: timedelta = attrs.field(kw_only=True, default=DEFAULT_VERIFICATION_CODE_VALIDITY)


@attrs.frozen(eq=False, repr=False, slots=True)
class SmsCode(_Code):
    """The SMS confirmation code ("SMS Onay")."""

    _kind: ClassVar[str] = "sms"

    length: int = attrs.field(kw_only=True, default=DEFAULT_SMS_CODE_LENGTH)
    validity: timedelta = attrs.field(kw_only=True, default=DEFAULT_SMS_CODE_VALIDITY)


class _SpendState:
    __slots__ = ("lock", "spent")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spent = False


@attrs.frozen(eq=False, repr=False, slots=True)
class UnblockAuthorization:
    """What the portal hands the desktop side after the SMS confirmation: a secret credential
    for one card, valid briefly, that can be spent exactly once.

    The portal layer creates it; the token layer spends it on ``C_Login(SO)`` +
    ``C_InitPIN``. Nobody types it: there is no way for a person to enter a PUK.
    """

    _credential: str = attrs.field(alias="credential", validator=attrs.validators.min_len(1))
    card_serial: str = attrs.field(kw_only=True)
    expires_at: datetime = attrs.field(kw_only=True)
    operation_id: str | None = attrs.field(kw_only=True, default=None)
    _state: _SpendState = attrs.field(init=False, factory=_SpendState)

    def __attrs_post_init__(self) -> None:
        _require_aware(self.expires_at, "expires_at")

    @property
    def is_spent(self) -> bool:
        return self._state.spent

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def spend(self, *, card_serial: str, now: datetime) -> str:
        """Mark the authorization used and return the credential, for one PKCS#11 login.

        Raises (and spends nothing) when it is for another card or has expired; raises
        :class:`AuthorizationSpentError` on every call after the first successful one.
        """
        with self._state.lock:
            if self._state.spent:
                raise AuthorizationSpentError()
            if not hmac.compare_digest(card_serial.encode(), self.card_serial.encode()):
                raise AuthorizationCardMismatchError()
            if self.is_expired(now):
                raise AuthorizationExpiredError()
            self._state.spent = True
            return self._credential

    def __repr__(self) -> str:
        return (
            f"UnblockAuthorization({_HIDDEN}, card_serial={self.card_serial!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, spent={self.is_spent})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an UnblockAuthorization cannot be pickled or copied to storage")


# ---- identifiers --------------------------------------------------------------------------


def _tckn_check_digits(first9: str) -> str:
    d = [int(c) for c in first9]
    d10 = (7 * (d[0] + d[2] + d[4] + d[6] + d[8]) - (d[1] + d[3] + d[5] + d[7])) % 10
    d11 = (sum(d) + d10) % 10
    return f"{d10}{d11}"


def _tckn_validator(_: object, __: object, value: Any) -> None:
    if not Tckn.is_valid(value):
        raise InvalidTcknError()


@attrs.frozen(repr=False, slots=True, order=False)
class Tckn:
    """A T.C. Kimlik No (Turkish national identity number).

    11 digits, the first not 0; digit 10 is ``(7·(d1+d3+d5+d7+d9) − (d2+d4+d6+d8)) mod 10``
    and digit 11 is ``(d1+…+d10) mod 10``. It is personal data: ``repr`` and ``str`` mask the
    middle digits, ``value`` gives all of them.
    """

    value: str = attrs.field(validator=_tckn_validator)

    @staticmethod
    def is_valid(value: object) -> bool:
        """Whether ``value`` is a valid T.C. Kimlik No, without raising."""
        if not _is_digits(value) or len(value) != 11 or value[0] == "0":
            return False
        return value[9:] == _tckn_check_digits(value[:9])

    @classmethod
    def complete(cls, first9: str) -> Tckn:
        """The valid number whose first nine digits are ``first9`` (for test data)."""
        if not _is_digits(first9) or len(first9) != 9 or first9[0] == "0":
            raise InvalidTcknError()
        return cls(first9 + _tckn_check_digits(first9))

    @property
    def masked(self) -> str:
        """Like ``100******46``: enough to recognise, not enough to use."""
        return f"{self.value[:3]}{'*' * 6}{self.value[-2:]}"

    def __repr__(self) -> str:
        return f"Tckn({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


class Product(enum.Enum):
    """The two card products whose PIN the portal resets."""

    NES = "nes"
    """Nitelikli elektronik sertifika: a person's qualified e-signature."""
    MALI_MUHUR = "mali_muhur"
    """Mali Mühür: the financial seal for e-fatura, e-defter, e-arşiv, e-irsaliye."""

    def display(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return text(f"product.{self.value}", lang)


@attrs.frozen(slots=True)
class PinStatus:
    """The state of a token's PIN, read from its flags (reading it spends no try).

    PKCS#11 reports flags, not counts: ``count_low`` means at least one wrong PIN since the
    last correct one, ``final_try`` that the next wrong PIN locks the card.
    """

    initialized: bool = True
    locked: bool = False
    final_try: bool = False
    count_low: bool = False
    to_be_changed: bool = False
    so_locked: bool = False
    so_final_try: bool = False
    so_count_low: bool = False

    @property
    def attempts_remaining(self) -> int | None:
        """0 when locked, 1 on the final try, ``None`` when the token does not tell."""
        if self.locked:
            return 0
        if self.final_try:
            return 1
        return None

    @property
    def summary(self) -> str:
        """One word: ``locked``, ``final_try``, ``count_low``, ``not_initialized`` or ``ok``."""
        if not self.initialized:
            return "not_initialized"
        if self.locked:
            return "locked"
        if self.final_try:
            return "final_try"
        if self.count_low:
            return "count_low"
        return "ok"
