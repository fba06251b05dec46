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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol, Self, TypeGuard, runtime_checkable

import attrs

from kamusm.errors import (
    AuthorizationCardMismatchError,
    AuthorizationExpiredError,
    AuthorizationSpentError,
    InputError,
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
    "UnblockOutcome",
    "VerificationCode",
    "holder_matches",
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
    """Shared behaviour of secret values: hidden text, constant-time equality, immutable, no
    pickling or copying to storage. Plain classes, not attrs ones, so that no generic helper
    (``attrs.asdict``, ``attrs.evolve``) can read or clone what they hold."""

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

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a {type(self).__name__} cannot be changed")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a {type(self).__name__} cannot be changed")

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} cannot be pickled or copied to storage")


class Pin(_Secret):
    """A PIN: a secret string of ASCII digits. Length rules live in :class:`PinPolicy`."""

    __slots__ = ("_digits",)
    _digits: str

    def __init__(self, digits: str) -> None:
        if not _is_digits(digits):
            raise InvalidPinFormatError()
        object.__setattr__(self, "_digits", digits)

    def reveal(self) -> str:
        """The digits, for the one call that needs them."""
        return self._digits

    def __len__(self) -> int:
        return len(self._digits)


class _Code(_Secret):
    """A one-time numeric code of a fixed length with a validity window."""

    __slots__ = ("_digits", "issued_at", "length", "validity")
    _kind: ClassVar[str] = "verification"
    _default_length: ClassVar[int] = DEFAULT_VERIFICATION_CODE_LENGTH
    _default_validity: ClassVar[timedelta] = DEFAULT_VERIFICATION_CODE_VALIDITY

    _digits: str
    length: int
    issued_at: datetime | None
    validity: timedelta

    def __init__(
        self,
        digits: str,
        *,
        length: int | None = None,
        issued_at: datetime | None = None,
        validity: timedelta | None = None,
    ) -> None:
        length = self._default_length if length is None else length
        if not _is_digits(digits) or len(digits) != length:
            raise InvalidCodeError(kind=self._kind, length=length)
        if issued_at is not None:
            _require_aware(issued_at, "issued_at")
        for name, value in (
            ("_digits", digits),
            ("length", length),
            ("issued_at", issued_at),
            ("validity", self._default_validity if validity is None else validity),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def parse(cls, typed: object, **kwargs: Any) -> Self:
        """Build from what a person typed: spaces and dashes between digit groups are fine."""
        if not isinstance(typed, str):
            raise InvalidCodeError(kind=cls._kind, length=kwargs.get("length") or 0)
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


class VerificationCode(_Code):
    """The portal's "Doğrulama Kodu": 15 digits valid for 300 s unless the deployment says
    otherwise. It is typed only into the desktop application: never a PIN, never a PUK."""

    __slots__ = ()
    _kind: ClassVar[str] = "verification"
    _default_length: ClassVar[int] = DEFAULT_VERIFICATION_CODE_LENGTH
    _default_validity: ClassVar[timedelta] = DEFAULT_VERIFICATION_CODE_VALIDITY


class SmsCode(_Code):
    """The SMS confirmation code ("SMS Onay")."""

    __slots__ = ()
    _kind: ClassVar[str] = "sms"
    _default_length: ClassVar[int] = DEFAULT_SMS_CODE_LENGTH
    _default_validity: ClassVar[timedelta] = DEFAULT_SMS_CODE_VALIDITY


_ISSUER = object()


#: A test hook, ``None`` in use: called inside :meth:`UnblockAuthorization.spend` between its
#: checks and marking the authorization spent, so that a test can hold one thread there and
#: prove a second one cannot get in (the race is deterministic instead of left to chance).
_spend_window: Callable[[], None] | None = None


@attrs.frozen(kw_only=True)
class UnblockOutcome:
    """What an unblock reached on the card, step by step: what the desktop reports to the
    portal, so that the portal knows which SO credential the card holds.

    ``so_login`` is the candidate credential the card accepted (0: the first the portal
    released, 1: the other one), ``None`` when none was; ``wrong_so_attempts`` how many
    refused SO logins this unblock spent (at most one unless the portal's record is wrong);
    ``pin_set`` whether ``C_InitPIN`` set the new user PIN; ``so_changed`` whether
    ``C_SetPIN`` changed the SO credential to the fresh one: ``True`` once the card said so,
    ``False`` when it was not changed (no fresh credential, not reached, or refused by the
    card), ``None`` when the call was interrupted and the card may hold either.
    Nothing secret in it.
    """

    so_login: int | None = None
    wrong_so_attempts: int = 0
    pin_set: bool = False
    so_changed: bool | None = False

    @property
    def so_known(self) -> bool:
        """Whether it is known which SO credential the card holds now."""
        return self.so_changed is True or (self.so_changed is False and self.so_login is not None)


class UnblockAuthorization:
    """What the portal hands the desktop side after the SMS confirmation: a secret credential
    for one card, valid briefly, that can be spent exactly once.

    Nobody builds one by hand: the portal client issues them (and :mod:`kamusm.testing` for
    test tokens), so no credential a person typed can reach a card; calling the class raises
    ``TypeError``. The token layer spends it on ``C_Login(SO)`` + ``C_InitPIN`` and, when the
    portal rotates the card's SO credential, ``C_SetPIN(SO)`` to the fresh credential it
    carries. It may carry two candidate credentials (the portal does not know yet which of
    them the card holds, after an unblock whose result it never heard), the likelier first.
    It cannot be copied, pickled, changed or cloned for another card. After it is spent,
    :attr:`outcome` says what the unblock reached (set by the token layer).
    """

    __slots__ = (
        "_credentials",
        "_fresh",
        "_lock",
        "_outcome",
        "_spent",
        "card_serial",
        "expires_at",
        "operation_id",
    )

    _credentials: tuple[str, ...]
    _fresh: str | None
    _lock: threading.Lock
    _outcome: UnblockOutcome | None
    _spent: bool
    card_serial: str
    expires_at: datetime
    operation_id: str | None

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("an UnblockAuthorization is issued by the portal, never built by hand")

    @property
    def is_spent(self) -> bool:
        return self._spent

    @property
    def candidates(self) -> int:
        """How many candidate credentials it carries (1, or 2 while the portal does not know
        which of them the card holds)."""
        return len(self._credentials)

    @property
    def rotates(self) -> bool:
        """Whether it carries a fresh SO credential for the card (the portal rotates it)."""
        return self._fresh is not None

    @property
    def outcome(self) -> UnblockOutcome | None:
        """What the unblock that spent it reached on the card (``None`` before; spent by
        anything but :meth:`kamusm.token.Token.unblock`, an outcome saying it is unknown)."""
        return self._outcome

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def _check_and_mark(self, card_serial: str, now: datetime) -> None:
        with self._lock:
            if self._spent:
                raise AuthorizationSpentError()
            if not hmac.compare_digest(card_serial.encode(), self.card_serial.encode()):
                raise AuthorizationCardMismatchError()
            if self.is_expired(now):
                raise AuthorizationExpiredError()
            if _spend_window is not None:
                _spend_window()
            object.__setattr__(self, "_spent", True)
            # Spent, and what it reached on the card unknown until the token layer says: a
            # report made from it keeps every candidate unless the token layer recorded more.
            object.__setattr__(self, "_outcome", UnblockOutcome(so_changed=None))

    def spend(self, *, card_serial: str, now: datetime) -> str:
        """Mark the authorization used and return the (first) credential, for one PKCS#11
        login.

        Raises (and spends nothing) when it is for another card or has expired; raises
        :class:`AuthorizationSpentError` on every call after the first successful one.
        """
        self._check_and_mark(card_serial, now)
        return self._credentials[0]

    def spend_all(self, *, card_serial: str, now: datetime) -> tuple[tuple[str, ...], str | None]:
        """Like :meth:`spend`, for the token layer's unblock: the candidate credentials (the
        likelier first) and the fresh SO credential to set (``None`` without rotation)."""
        self._check_and_mark(card_serial, now)
        return self._credentials, self._fresh

    def _record(self, outcome: UnblockOutcome) -> None:
        """Note what the unblock has reached so far: the token layer only, through
        :func:`_record_outcome`, after each step."""
        if not self._spent or not isinstance(outcome, UnblockOutcome):
            raise InputError()
        object.__setattr__(self, "_outcome", outcome)

    def __repr__(self) -> str:
        return (
            f"UnblockAuthorization({_HIDDEN}, card_serial={self.card_serial!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, spent={self.is_spent})"
        )

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("an UnblockAuthorization cannot be changed")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("an UnblockAuthorization cannot be changed")

    def __copy__(self) -> UnblockAuthorization:
        raise TypeError("an UnblockAuthorization cannot be copied")

    def __deepcopy__(self, memo: object) -> UnblockAuthorization:
        raise TypeError("an UnblockAuthorization cannot be copied")

    def __reduce__(self) -> Any:
        raise TypeError("an UnblockAuthorization cannot be pickled or copied to storage")


def _record_outcome(authorization: UnblockAuthorization, outcome: UnblockOutcome) -> None:
    """What a spent authorization's unblock reached so far: for :meth:`kamusm.token.Token.unblock`
    only (nothing else may say what the card holds); refused before it is spent."""
    if not isinstance(authorization, UnblockAuthorization):
        raise InputError()
    authorization._record(outcome)


def _issue_authorization(
    credential: str,
    *,
    card_serial: str,
    expires_at: datetime,
    operation_id: str | None = None,
    other_credential: str | None = None,
    fresh_credential: str | None = None,
) -> UnblockAuthorization:
    """Make an :class:`UnblockAuthorization`: for the portal client and the test helpers only
    (the portal holds the credentials; a person never types them). ``other_credential`` is
    the second candidate, ``fresh_credential`` the SO credential to set."""
    extras = (other_credential, fresh_credential)
    if not isinstance(credential, str) or not credential or not isinstance(card_serial, str):
        raise InputError()
    if any(x is not None and (not isinstance(x, str) or not x) for x in extras):
        raise InputError()
    if other_credential is not None and hmac.compare_digest(
        other_credential.encode(), credential.encode()
    ):
        raise InputError()
    if not isinstance(expires_at, datetime):
        raise InputError()
    _require_aware(expires_at, "expires_at")
    auth = object.__new__(UnblockAuthorization)
    credentials = (credential,) if other_credential is None else (credential, other_credential)
    for name, value in (
        ("_credentials", credentials),
        ("_fresh", fresh_credential),
        ("card_serial", card_serial),
        ("expires_at", expires_at),
        ("operation_id", operation_id),
        ("_lock", threading.Lock()),
        ("_spent", False),
        ("_outcome", None),
    ):
        object.__setattr__(auth, name, value)
    return auth


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


# ---- names ------------------------------------------------------------------------------------
# A minimal matcher for the command line's --holder (the flows' own holder API may replace it).


def _fold_turkish(text: str) -> str:
    """``text`` for comparing names regardless of case by Turkish rules: I and ı are one
    letter, İ and i another (Python's own ``"I".lower()`` is ``"i"``)."""
    import unicodedata  # noqa: PLC0415 (only when names are compared)

    text = unicodedata.normalize("NFC", text)
    return " ".join(text.replace("I", "ı").replace("İ", "i").lower().split())


def holder_matches(name: str | None, query: str) -> bool:
    """Whether ``query`` is part of the holder's ``name`` ("yılmaz" in "AYŞE YILMAZ"),
    regardless of case by Turkish rules (I/ı and İ/i: "ışıl" matches "IŞIL", "isil" does
    not). An empty query matches nothing."""
    wanted = _fold_turkish(query)
    return bool(name) and bool(wanted) and wanted in _fold_turkish(name or "")
