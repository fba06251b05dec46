"""Exit codes of the ``kamusm`` command, and which error ends with which.

The table is part of the command's contract (scripts branch on it); ``kamusm --help`` prints it
and ``kamusm._cli``'s docstring lists it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from kamusm._cli._texts import text
from kamusm.errors import (
    AuthorizationError,
    AuthorizationExpiredError,
    FinalTryNotAcknowledgedError,
    FlowCancelledError,
    FlowCodeExpiredError,
    FlowError,
    InputError,
    KamusmError,
    OperationCancelledError,
    PdfSigningError,
    PinEntryTimeoutError,
    PinIncorrectError,
    PinLockedError,
    PinLockedUseResetError,
    Pkcs11ModuleNotFoundError,
    PortalConnectionError,
    PortalError,
    PortalTimeoutError,
    SmsCodeExpiredError,
    SmsLimitReachedError,
    TimestampServerError,
    TokenError,
    TooManyAttemptsError,
    VerificationCodeExpiredError,
)
from kamusm.messages import Language


class ExitCode(enum.IntEnum):
    """What the process's exit status means."""

    OK = 0
    ERROR = 1
    USAGE = 2
    INPUT = 3
    SETUP = 4
    CARD = 5
    PIN_LOCKED = 6
    PIN_WRONG = 7
    PORTAL_UNREACHABLE = 8
    PORTAL_REFUSED = 9
    CANCELLED = 10
    EXPIRED = 11
    FLOW_FAILED = 12
    CHECKS_FAILED = 13
    NOT_SIGNED = 14
    INTERRUPTED = 130

    def describe(self, lang: Language) -> str:
        """The code's meaning for a person."""
        return text(f"cli.exit.{self.name.lower()}", lang)


# First match wins: the more specific classes come before their bases.
_BY_ERROR: tuple[tuple[type[KamusmError], ExitCode], ...] = (
    (Pkcs11ModuleNotFoundError, ExitCode.SETUP),
    (PinLockedError, ExitCode.PIN_LOCKED),
    (PinLockedUseResetError, ExitCode.PIN_LOCKED),
    (FinalTryNotAcknowledgedError, ExitCode.CANCELLED),
    (PinIncorrectError, ExitCode.PIN_WRONG),
    (TokenError, ExitCode.CARD),
    (PdfSigningError, ExitCode.NOT_SIGNED),
    (TimestampServerError, ExitCode.NOT_SIGNED),
    (PortalConnectionError, ExitCode.PORTAL_UNREACHABLE),
    (PortalTimeoutError, ExitCode.PORTAL_UNREACHABLE),
    (VerificationCodeExpiredError, ExitCode.EXPIRED),
    (SmsCodeExpiredError, ExitCode.EXPIRED),
    (OperationCancelledError, ExitCode.CANCELLED),
    (PortalError, ExitCode.PORTAL_REFUSED),
    (FlowCancelledError, ExitCode.CANCELLED),
    (TooManyAttemptsError, ExitCode.CANCELLED),
    (FlowCodeExpiredError, ExitCode.EXPIRED),
    (SmsLimitReachedError, ExitCode.EXPIRED),
    (PinEntryTimeoutError, ExitCode.EXPIRED),
    (AuthorizationExpiredError, ExitCode.EXPIRED),
    (FlowError, ExitCode.FLOW_FAILED),
    (AuthorizationError, ExitCode.FLOW_FAILED),
    (InputError, ExitCode.INPUT),
)


def exit_code_for(error: KamusmError) -> ExitCode:
    """The exit status a library error ends the command with."""
    if isinstance(error, PinIncorrectError) and error.status is not None and error.status.locked:
        return ExitCode.PIN_LOCKED  # that wrong PIN locked the card: the way on is reset-pin
    for cls, code in _BY_ERROR:
        if isinstance(error, cls):
            return code
    return ExitCode.ERROR


class CommandError(Exception):
    """A failure the command itself detects (no terminal, no portal address, ...): a message
    key from :mod:`kamusm._cli._texts` with its fields (never secrets), and an exit code."""

    def __init__(self, key: str, code: ExitCode, **fields: object) -> None:
        self.key = key
        self.code = code
        self.fields: Mapping[str, object] = fields
        super().__init__(self.message("en"))

    def message(self, lang: Language) -> str:
        return text(self.key, lang, **self.fields)


class StopWith(Exception):  # noqa: N818 (not an error of its own: it carries one)
    """Ends the command with a library error that a flow would otherwise answer by asking
    again (a script's prompts have nobody to ask), with that error's exit code or ``code``."""

    def __init__(self, error: KamusmError, code: ExitCode | None = None) -> None:
        self.error = error
        self.code = code
        super().__init__(str(error))
