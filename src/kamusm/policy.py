"""The rules a new PIN must pass: :class:`PinPolicy`.

The seeds say: digits only, at least 6 and at most 12 digits, typed twice. A card may be
narrower (its own minimum and maximum PIN length); :meth:`PinPolicy.narrow` applies that.
Weak PINs (one digit repeated, runs such as 123456 or 987654, the holder's T.C. Kimlik No or
six of its consecutive digits, the birth date) are refused unless ``allow_weak`` is set. The old
PIN may be chosen again (seed 001) unless ``allow_reuse`` is switched off. A value as long as a
verification code is refused with its own error: that code is never a PIN and never a PUK.

Every failing rule is reported at once, in one :class:`~kamusm.errors.PinPolicyError`.
"""

from __future__ import annotations

import enum
import hmac
import itertools
from collections.abc import Iterator, Mapping
from datetime import date

import attrs

from kamusm.errors import InvalidPinFormatError, LooksLikeVerificationCodeError, PinPolicyError
from kamusm.messages import DEFAULT_LANGUAGE, Language, text
from kamusm.values import DEFAULT_VERIFICATION_CODE_LENGTH, Pin, Tckn

__all__ = [
    "DEFAULT_MAX_PIN_LENGTH",
    "DEFAULT_MIN_PIN_LENGTH",
    "PinPolicy",
    "PinRule",
    "PolicyViolation",
]

DEFAULT_MIN_PIN_LENGTH = 6
DEFAULT_MAX_PIN_LENGTH = 12


class PinRule(enum.Enum):
    """The rules of :class:`PinPolicy`; each value names its message."""

    NOT_DIGITS = "not_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NO_POSSIBLE_LENGTH = "no_possible_length"
    CONFIRMATION_MISMATCH = "confirmation_mismatch"
    REPEATED_DIGIT = "repeated_digit"
    SEQUENTIAL = "sequential"
    CONTAINS_TCKN = "contains_tckn"
    BIRTH_DATE = "birth_date"
    SAME_AS_OLD = "same_as_old"
    LOOKS_LIKE_CODE = "looks_like_code"


@attrs.frozen
class PolicyViolation:
    """One failed rule, with the numbers its message needs (never the PIN)."""

    rule: PinRule
    fields: Mapping[str, int] = attrs.field(factory=dict)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return text(f"rule.{self.rule.value}", lang, **self.fields)


def _as_text(value: str | Pin) -> str:
    if isinstance(value, Pin):
        return value.reveal()
    if not isinstance(value, str):
        raise InvalidPinFormatError()  # a PIN arrives as text or a Pin, nothing else
    return value


def _is_run(digits: str) -> bool:
    """Every step is +1, or every step is −1 (mod 10: 890123 and 210987 count)."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {9})


def birth_date_forms(born: date) -> Iterator[str]:
    """The ways people write a birth date as digits: 31011990, 310190, 19900131, 900131,
    01311990 and 013190."""
    d, m, y, yy = (
        f"{born.day:02d}",
        f"{born.month:02d}",
        f"{born.year:04d}",
        f"{born.year % 100:02d}",
    )
    yield from (d + m + y, d + m + yy, y + m + d, yy + m + d, m + d + y, m + d + yy)


@attrs.frozen
class PinPolicy:
    """Rules for a new PIN. Defaults follow the seeds: 6 to 12 digits, weak PINs refused, the
    old PIN allowed again."""

    min_length: int = DEFAULT_MIN_PIN_LENGTH
    max_length: int = DEFAULT_MAX_PIN_LENGTH
    allow_weak: bool = False
    allow_reuse: bool = True
    verification_code_length: int = DEFAULT_VERIFICATION_CODE_LENGTH

    def narrow(self, min_length: int | None = None, max_length: int | None = None) -> PinPolicy:
        """This policy within a token's own PIN length limits (``ulMinPinLen``/``ulMaxPinLen``).

        If the two ranges do not overlap, every PIN fails with ``NO_POSSIBLE_LENGTH``.
        """
        lo = self.min_length if min_length is None else max(self.min_length, min_length)
        hi = self.max_length if max_length is None else min(self.max_length, max_length)
        return attrs.evolve(self, min_length=lo, max_length=hi)

    def violations(
        self,
        new: str | Pin,
        *,
        confirmation: str | Pin,
        tckn: Tckn | None = None,
        birth_date: date | None = None,
        old: str | Pin | None = None,
    ) -> list[PolicyViolation]:
        """Every rule ``new`` breaks, in a stable order; empty when it passes."""
        pin = _as_text(new)
        found: list[PolicyViolation] = []

        def fail(rule: PinRule, **fields: int) -> None:
            found.append(PolicyViolation(rule, fields))

        digits_only = pin.isascii() and pin.isdigit()
        if not digits_only:
            fail(PinRule.NOT_DIGITS)
        if self.min_length > self.max_length:
            fail(PinRule.NO_POSSIBLE_LENGTH, min_length=self.min_length, max_length=self.max_length)
        elif len(pin) < self.min_length:
            fail(PinRule.TOO_SHORT, min_length=self.min_length)
        elif len(pin) > self.max_length:
            fail(PinRule.TOO_LONG, max_length=self.max_length)
        if not hmac.compare_digest(pin.encode(), _as_text(confirmation).encode()):
            fail(PinRule.CONFIRMATION_MISMATCH)
        if digits_only and len(pin) == self.verification_code_length:
            fail(PinRule.LOOKS_LIKE_CODE, length=self.verification_code_length)
        if digits_only and not self.allow_weak and pin:
            if len(set(pin)) == 1:
                fail(PinRule.REPEATED_DIGIT)
            elif len(pin) > 2 and _is_run(pin):
                fail(PinRule.SEQUENTIAL)
            if tckn is not None and _contains_part(pin, tckn.value, 6):
                fail(PinRule.CONTAINS_TCKN)
            if birth_date is not None and any(f in pin for f in birth_date_forms(birth_date)):
                fail(PinRule.BIRTH_DATE)
        if (
            old is not None
            and not self.allow_reuse
            and hmac.compare_digest(pin.encode(), _as_text(old).encode())
        ):
            fail(PinRule.SAME_AS_OLD)
        return found

    def refuse_code_shaped(self, value: str | Pin) -> None:
        """Raise :class:`~kamusm.errors.LooksLikeVerificationCodeError` when ``value`` has this
        policy's verification code shape (see :func:`refuse_code_shaped`)."""
        refuse_code_shaped(value, length=self.verification_code_length)

    def check_current(self, value: object) -> Pin:
        """The PIN the holder says the card has now, as a :class:`Pin`: digits, and not shaped
        like a verification code (which would spend a try for nothing)."""
        pin = value if isinstance(value, Pin) else Pin(value)  # type: ignore[arg-type]
        self.refuse_code_shaped(pin)
        return pin

    def check(
        self,
        new: str | Pin,
        *,
        confirmation: str | Pin,
        tckn: Tckn | None = None,
        birth_date: date | None = None,
        old: str | Pin | None = None,
    ) -> Pin:
        """Return ``new`` as a :class:`Pin` when every rule passes; else raise one
        :class:`~kamusm.errors.PinPolicyError` listing every rule that failed (a
        :class:`~kamusm.errors.LooksLikeVerificationCodeError` when the value looks like a
        verification code)."""
        found = self.violations(
            new, confirmation=confirmation, tckn=tckn, birth_date=birth_date, old=old
        )
        if any(v.rule is PinRule.LOOKS_LIKE_CODE for v in found):
            raise LooksLikeVerificationCodeError(
                violations=found, length=self.verification_code_length
            )
        if found:
            raise PinPolicyError(violations=found)
        return new if isinstance(new, Pin) else Pin(new)


def refuse_code_shaped(value: str | Pin, *, length: int = DEFAULT_VERIFICATION_CODE_LENGTH) -> None:
    """Raise :class:`~kamusm.errors.LooksLikeVerificationCodeError` when ``value`` is all
    digits and as long as a verification code: for a PIN about to be tried, where the other
    rules do not apply (a pasted code would spend a try for nothing)."""
    text = _as_text(value)
    if text.isascii() and text.isdigit() and len(text) == length:
        raise LooksLikeVerificationCodeError(
            violations=[PolicyViolation(PinRule.LOOKS_LIKE_CODE, {"length": length})],
            length=length,
        )


def _contains_part(pin: str, secret: str, size: int) -> bool:
    """Whether ``pin`` contains ``size`` consecutive digits of ``secret`` (or all of it)."""
    if len(pin) < size:
        return False
    return any(secret[i : i + size] in pin for i in range(len(secret) - size + 1))
