"""The knobs of a sandbox deployment, with the defaults the seeds give."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from kamusm.values import (
    DEFAULT_SMS_CODE_LENGTH,
    DEFAULT_SMS_CODE_VALIDITY,
    DEFAULT_VERIFICATION_CODE_LENGTH,
    DEFAULT_VERIFICATION_CODE_VALIDITY,
)

__all__ = ["SandboxSettings"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"{attribute.name} must be positive")
    elif not isinstance(value, int) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive integer")


@attrs.frozen(kw_only=True)
class SandboxSettings:
    """How a sandbox portal behaves: code lengths, validities, attempt and size limits.

    The defaults follow the seeds where they say something (15-digit verification code valid
    for 300 s, 3 confirmation attempts) and are this project's choice elsewhere.
    """

    #: Digits of the verification code ("Doğrulama Kodu") and how long it stays valid.
    code_length: int = attrs.field(default=DEFAULT_VERIFICATION_CODE_LENGTH, validator=_positive)
    code_validity: timedelta = attrs.field(
        default=DEFAULT_VERIFICATION_CODE_VALIDITY, validator=_positive
    )
    #: Digits of an SMS confirmation code and how long it stays valid.
    sms_length: int = attrs.field(default=DEFAULT_SMS_CODE_LENGTH, validator=_positive)
    sms_validity: timedelta = attrs.field(default=DEFAULT_SMS_CODE_VALIDITY, validator=_positive)
    #: Time from redeeming a code to asking for the confirmation challenge (the desktop
    #: application's "Kalan Süre" on the PIN screen).
    pin_entry_limit: timedelta = attrs.field(default=timedelta(seconds=195), validator=_positive)
    #: Lifetime of an operation, counted from its redemption.
    operation_validity: timedelta = attrs.field(default=timedelta(seconds=600), validator=_positive)
    #: Lifetime of a released unblock authorization.
    authorization_validity: timedelta = attrs.field(
        default=timedelta(seconds=60), validator=_positive
    )
    #: Wrong confirmation answers that cancel an operation.
    max_confirmation_attempts: int = attrs.field(default=3, validator=_positive)
    #: Confirmation challenges (first one and re-sends) one operation may ask for.
    max_challenges: int = attrs.field(default=3, validator=_positive)
    #: Lifetime of a holder's portal session.
    session_validity: timedelta = attrs.field(default=timedelta(seconds=900), validator=_positive)
    #: Lifetime of a captcha and of a Şifreli Giriş waiting for its SMS confirmation.
    login_step_validity: timedelta = attrs.field(
        default=timedelta(seconds=180), validator=_positive
    )
    #: Failed guesses (wrong verification codes, failed logins) one client address may make
    #: within ``failure_window`` before it is answered 429.
    max_failures: int = attrs.field(default=10, validator=_positive)
    failure_window: timedelta = attrs.field(default=timedelta(seconds=60), validator=_positive)
    #: Failed guesses about one holder (wrong passwords, security words, SMS codes, codes for
    #: their card), from any address, before the holder is held back: ``holder_backoff``
    #: after the first lockout, doubling with each further failure, at most
    #: ``holder_backoff_max``. Failures older than ``holder_failure_memory`` are forgotten.
    max_holder_failures: int = attrs.field(default=5, validator=_positive)
    holder_backoff: timedelta = attrs.field(default=timedelta(seconds=60), validator=_positive)
    holder_backoff_max: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    holder_failure_memory: timedelta = attrs.field(default=timedelta(hours=24), validator=_positive)
    #: Şifreli Giriş logins one holder may have waiting for their SMS code at once, and SMS
    #: messages one holder may be sent within ``sms_window``.
    max_pending_logins: int = attrs.field(default=3, validator=_positive)
    max_sms_per_holder: int = attrs.field(default=10, validator=_positive)
    sms_window: timedelta = attrs.field(default=timedelta(minutes=10), validator=_positive)
    #: Captchas one client address may be issued within ``failure_window``.
    max_captchas: int = attrs.field(default=30, validator=_positive)
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = attrs.field(default=16 * 1024, validator=_positive)
    #: Time a client has to send a whole request (headers and body) once it has started one:
    #: a connection holding half a request longer is closed.
    read_timeout: timedelta = attrs.field(default=timedelta(seconds=10), validator=_positive)
