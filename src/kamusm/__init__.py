"""kamusm: the PIN lifecycle of Turkish Kamu SM e-signature cards, as building blocks.

Create a PIN, change it, and unblock a locked card through the Kamu SM portal flow, without
ever typing a PUK. The public names are listed in ``__all__`` and importable from here; they
load their module on first use, so ``import kamusm`` stays light (no httpx, pkcs11, asn1crypto,
starlette or click until a name that needs them is used).

To add a public name, add it to its module's row in ``_EXPORTS`` below and run
``python scripts/public_api.py``: it writes ``__init__.pyi``, the same names as imports, which
is what type checkers read (so ``from kamusm import NoSuchThing`` is an error for them, as it is
at run time). ``tests/test_public_api.py`` checks that the table, the stub and the modules' own
``__all__`` agree.
"""

from __future__ import annotations

import importlib
from typing import Any

# module -> the public names it defines: the one list of kamusm's public names.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "kamusm.values": (
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
    ),
    "kamusm.policy": (
        "PinPolicy",
        "PinRule",
        "PolicyViolation",
    ),
    "kamusm.flows": (
        "AsyncChangePrompts",
        "AsyncResetPrompts",
        "AuthorizationReceived",
        "CardCertificate",
        "CardChoice",
        "CardChosen",
        "CardFacts",
        "ChallengeSent",
        "ChangePrompts",
        "ChangeResult",
        "ChangeState",
        "ChangeStep",
        "CodeEntered",
        "CodeRedeemed",
        "ConfirmationRejected",
        "Confirmed",
        "ErrorOccurred",
        "FinalTryAcknowledged",
        "FlowCancelled",
        "FlowExit",
        "FlowMove",
        "NewPinVerified",
        "NewSmsDeclined",
        "NewSmsRequested",
        "OperationFacts",
        "PinChangeFlow",
        "PinChanged",
        "PinChosen",
        "PinResetFlow",
        "PinWritten",
        "PinsEntered",
        "ResetPrompts",
        "ResetResult",
        "ResetState",
        "ResetStep",
        "ResultReported",
        "StatusRead",
        "achange_pin",
        "areset_pin",
        "cards_of_holder",
        "change_pin",
        "list_cards",
        "reset_pin",
        "with_holder",
    ),
    "kamusm.messages": ("Language",),
    "kamusm.token": (
        "AsyncSigningSession",
        "CertificateObject",
        "Pkcs11Module",
        "SignatureScheme",
        "SigningSession",
        "Token",
        "TokenInfo",
    ),
    "kamusm.readiness": (
        "NextAction",
        "Readiness",
        "ReadinessState",
        "assess",
    ),
    "kamusm.certs": (
        "CardSummary",
        "CertificateInfo",
        "CertificateKind",
        "KeyAlgorithm",
        "KeyUsage",
        "read_certificates",
        "signing_certificate",
    ),
    "kamusm.portal": (
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
    ),
    "kamusm.errors": (
        "AmbiguousTokenError",
        "AuthenticationRequiredError",
        "AuthorizationCardMismatchError",
        "AuthorizationError",
        "AuthorizationExpiredError",
        "AuthorizationSpentError",
        "BadRequestError",
        "CardBusyError",
        "CardNotOwnedError",
        "CertificateExpiredError",
        "CertificateNotListedError",
        "CertificateNotOnCardError",
        "CertificateNotYetValidError",
        "CertificateParseError",
        "CertificateRevokedError",
        "CertificateSuspendedError",
        "ConflictError",
        "FinalTryNotAcknowledgedError",
        "FlowBusyError",
        "FlowCancelledError",
        "NewSmsDeclinedError",
        "FlowCodeExpiredError",
        "FlowError",
        "FlowFailedError",
        "ForbiddenError",
        "IllegalTransitionError",
        "InputError",
        "InvalidCodeError",
        "InvalidPinFormatError",
        "InvalidTcknError",
        "KamusmError",
        "LoginFailedError",
        "LoginMethodUnavailableError",
        "LooksLikeVerificationCodeError",
        "NotFoundError",
        "NotReadyToSignError",
        "OperationCancelledError",
        "PinEntryTimeoutError",
        "PinIncorrectError",
        "PinLockedError",
        "PinLockedUseResetError",
        "PinNotInitializedError",
        "PinPolicyError",
        "PinRejectedByTokenError",
        "PinVerificationFailedError",
        "Pkcs11ModuleNotFoundError",
        "PortalConnectionError",
        "PortalError",
        "PortalProtocolError",
        "PortalServerError",
        "PortalTimeoutError",
        "PortalTlsError",
        "RateLimitedError",
        "ReaderServiceError",
        "SigningKeyNotFoundError",
        "SigningSessionClosedError",
        "SigningSessionOpenError",
        "SmsCodeExpiredError",
        "SmsLimitReachedError",
        "SmsCodeRejectedError",
        "SoCredentialUnknownError",
        "SoPinCountLowError",
        "SoPinFinalTryError",
        "SoPinLockedError",
        "TokenBusyError",
        "TokenError",
        "TokenNotFoundError",
        "TokenRemovedError",
        "TooManyAttemptsError",
        "UnattendedSigningRefusedError",
        "UnblockFailedError",
        "CertificateFileError",
        "DigestLengthError",
        "NotAPdfError",
        "PdfSigningError",
        "TimestampServerError",
        "UnsupportedSignatureSchemeError",
        "VerificationCodeExpiredError",
        "VerificationCodeInvalidError",
        "VerificationCodeUsedError",
        "WebPasswordRejectedError",
        "WrongCardError",
        "WrongHolderError",
        "WrongProductError",
    ),
}

_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__: list[str] = []
__all__.extend(sorted([*_MODULE_OF, "__version__"], key=str))


def _version() -> str:
    """The installed distribution's version (pyproject.toml is the one place it is written)."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("kamusm")
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    else:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module 'kamusm' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
