"""Every error kamusm raises, in one tree.

::

    KamusmError
    ├── InputError                         bad input; nothing was changed
    │   ├── InvalidPinFormatError
    │   ├── InvalidTcknError
    │   ├── InvalidCodeError               verification or SMS code of the wrong shape
    │   ├── PinPolicyError                 .violations lists every rule that failed
    │   │   └── LooksLikeVerificationCodeError
    │   ├── CertificateParseError
    │   ├── UnsupportedSignatureSchemeError .scheme does not fit the key or the digest
    │   ├── DigestLengthError              a digest of another length than the scheme's hash
    │   ├── NotAPdfError                   the bytes to sign are not a readable PDF
    │   └── CertificateFileError           a trust or CA certificate file cannot be read
    ├── PdfSigningError                    pyHanko refused to sign the PDF (.field)
    ├── TimestampServerError               the timestamp server did not answer (.url)
    ├── AuthorizationError                 the single-use unblock authorization
    │   ├── AuthorizationSpentError
    │   ├── AuthorizationExpiredError
    │   └── AuthorizationCardMismatchError
    ├── TokenError                         the card and its PKCS#11 module (.code: CKR name)
    │   ├── Pkcs11ModuleNotFoundError      .tried: (place, reason) pairs
    │   ├── TokenNotFoundError
    │   ├── AmbiguousTokenError            .candidates
    │   ├── TokenRemovedError
    │   ├── TokenBusyError
    │   │   └── CardBusyError              a reader says so (.reader, .programs)
    │   ├── ReaderServiceError             no smart-card service (.service)
    │   ├── PinIncorrectError              .status (re-read after the attempt, or None)
    │   ├── PinLockedError
    │   ├── FinalTryNotAcknowledgedError
    │   ├── PinRejectedByTokenError
    │   ├── PinNotInitializedError
    │   ├── SoPinLockedError
    │   ├── SoPinFinalTryError
    │   ├── SoPinCountLowError             an earlier SO failure shows; rotation: no try
    │   ├── SoCredentialUnknownError       which SO credential the card holds is not certain
    │   ├── UnblockFailedError
    │   ├── NotReadyToSignError            .readiness (kamusm.readiness): nothing was signed
    │   ├── UnattendedSigningRefusedError  .status: a wrong PIN was seen; no try spent
    │   ├── SigningKeyNotFoundError
    │   ├── SigningSessionClosedError
    │   └── SigningSessionOpenError        this process has a signing session open on the card
    ├── PortalError                        the portal (.status: HTTP status when there was one)
    │   ├── PortalConnectionError
    │   │   └── PortalTlsError
    │   ├── PortalTimeoutError
    │   ├── AuthenticationRequiredError
    │   ├── LoginFailedError
    │   ├── LoginMethodUnavailableError
    │   ├── VerificationCodeInvalidError
    │   ├── VerificationCodeExpiredError
    │   ├── VerificationCodeUsedError
    │   ├── SmsCodeRejectedError           .attempts_remaining
    │   │   └── WebPasswordRejectedError       the web password ("WEB Parola") was wrong
    │   ├── SmsCodeExpiredError
    │   ├── OperationCancelledError
    │   ├── CardNotOwnedError
    │   ├── ForbiddenError                 .reason
    │   ├── NotFoundError
    │   ├── ConflictError                  .reason
    │   ├── BadRequestError                .reason
    │   ├── RateLimitedError               .retry_after
    │   ├── PortalServerError
    │   └── PortalProtocolError
    └── FlowError                          the PIN reset and change flows
        ├── IllegalTransitionError         .state, .event
        ├── FlowFailedError
        ├── FlowCodeExpiredError
        ├── PinEntryTimeoutError
        ├── FlowCancelledError
        │   └── NewSmsDeclinedError        the SMS code expired and no new one was wanted
        ├── SmsLimitReachedError           the SMS code expired; the portal sends no more
        ├── WrongHolderError
        ├── WrongProductError              .product, .found
        ├── WrongCardError
        ├── TooManyAttemptsError           .attempts
        ├── PinLockedUseResetError
        ├── FlowBusyError
        ├── PinVerificationFailedError
        ├── CertificateRevokedError        .product: no PIN set, apply for a new certificate
        ├── CertificateExpiredError        .product, .expired_on: a new card, a new PIN
        ├── CertificateSuspendedError      .product: a notice; the reset goes on
        ├── CertificateNotYetValidError    .product, .valid_from: a notice; the reset goes on
        ├── CertificateNotOnCardError      .serials the portal lists, not on the card: a notice
        └── CertificateNotListedError      .serials on the card, not listed by the portal: a notice

Each error knows its holder-facing text in Turkish and English: ``err.message("tr")`` (the
default) and ``err.message("en")``: what happened and what to do, never a code. The codes stay
on the error for logs and programs (``TokenError.code``, ``ConflictError.reason``,
``PortalError.status``). ``str(err)`` is the English text, for logs and developers.
Context lives in keyword-only attributes; no error ever carries a PIN, SO PIN, SMS code,
verification code or unblock credential, so an error can be logged and shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from kamusm.messages import DEFAULT_LANGUAGE, MESSAGES, Language, format_date, text

if TYPE_CHECKING:
    from kamusm.policy import PolicyViolation
    from kamusm.readiness import Readiness
    from kamusm.values import PinStatus, Product

__all__ = [
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
    "CertificateFileError",
    "CertificateNotListedError",
    "CertificateNotOnCardError",
    "CertificateNotYetValidError",
    "CertificateParseError",
    "CertificateRevokedError",
    "CertificateSuspendedError",
    "ConflictError",
    "DigestLengthError",
    "FinalTryNotAcknowledgedError",
    "FlowBusyError",
    "FlowCancelledError",
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
    "NewSmsDeclinedError",
    "NotAPdfError",
    "NotFoundError",
    "NotReadyToSignError",
    "OperationCancelledError",
    "PdfSigningError",
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
    "SmsCodeRejectedError",
    "SmsLimitReachedError",
    "SoCredentialUnknownError",
    "SoPinCountLowError",
    "SoPinFinalTryError",
    "SoPinLockedError",
    "TimestampServerError",
    "TokenBusyError",
    "TokenError",
    "TokenNotFoundError",
    "TokenRemovedError",
    "TooManyAttemptsError",
    "UnattendedSigningRefusedError",
    "UnblockFailedError",
    "UnsupportedSignatureSchemeError",
    "VerificationCodeExpiredError",
    "VerificationCodeInvalidError",
    "VerificationCodeUsedError",
    "WebPasswordRejectedError",
    "WrongCardError",
    "WrongHolderError",
    "WrongProductError",
]


class KamusmError(Exception):
    """The root of every error kamusm raises."""

    #: The entry in :data:`kamusm.messages.MESSAGES` holding this error's text.
    key: ClassVar[str] = "error"
    #: Every key :meth:`message_key` may return (checked by the test suite).
    variant_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__(self.message("en"))

    def message_key(self) -> str:
        """The message entry for this instance (some errors pick one by their context)."""
        return self.key

    def fields(self) -> Mapping[str, object]:
        """The values filled into the message. Never secrets."""
        return {}

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The text for a card holder, Turkish by default."""
        return text(self.message_key(), lang, **self.fields())

    def __str__(self) -> str:
        return self.message("en")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors: rebuild from the instance dict, not from args.
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[KamusmError], state: dict[str, object]) -> KamusmError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err.message("en"))
    return err


def _variants(prefix: str) -> tuple[str, ...]:
    """The message keys ``prefix.*``: one text for each reason an error may carry."""
    return tuple(k for k in MESSAGES if k.startswith(prefix + "."))


def _route(product: Product | None, lang: Language = DEFAULT_LANGUAGE) -> str:
    """Where a holder sets a new PIN for a card of ``product`` (both routes when unknown)."""
    return text("route.any" if product is None else f"route.{product.value}", lang)


def _routed(err: KamusmError, product: Product | None, lang: Language) -> str:
    """``err``'s text with the portal route of the card's product filled in."""
    return text(err.message_key(), lang, route=_route(product, lang), **err.fields())


# ---- bad input ----------------------------------------------------------------------------


class InputError(KamusmError, ValueError):
    """A value given to kamusm is not acceptable. Nothing was changed."""

    key = "input.invalid"


class InvalidPinFormatError(InputError):
    """A PIN is not a non-empty string of ASCII digits."""

    key = "input.pin_format"


class InvalidTcknError(InputError):
    """A T.C. Kimlik No fails the format or checksum rule."""

    key = "input.tckn"


class InvalidCodeError(InputError):
    """A verification code or SMS code has the wrong shape."""

    key = "input.verification_code"
    variant_keys = ("input.verification_code", "input.sms_code")

    def __init__(self, *, kind: str, length: int) -> None:
        self.kind = kind
        self.length = length
        super().__init__()

    def message_key(self) -> str:
        return "input.sms_code" if self.kind == "sms" else "input.verification_code"

    def fields(self) -> Mapping[str, object]:
        return {"length": self.length}


class PinPolicyError(InputError):
    """A new PIN breaks one or more rules; ``violations`` lists all of them."""

    key = "input.policy"

    def __init__(self, *, violations: Sequence[PolicyViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__()

    @property
    def rules(self) -> frozenset[str]:
        """The names of the rules that failed."""
        return frozenset(v.rule.value for v in self.violations)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        reasons = " ".join(v.message(lang) for v in self.violations)
        return text(self.message_key(), lang, reasons=reasons)


class LooksLikeVerificationCodeError(PinPolicyError):
    """The new PIN looks like a portal verification code: never a PIN, never a PUK."""

    key = "input.policy.looks_like_code"

    def __init__(self, *, violations: Sequence[PolicyViolation], length: int) -> None:
        self.length = length
        super().__init__(violations=violations)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return text(self.key, lang, length=self.length)


class CertificateParseError(InputError):
    """Bytes that are not a readable X.509 certificate."""

    key = "input.certificate"


class UnsupportedSignatureSchemeError(InputError):
    """A signature scheme that does not fit the key (RSA vs EC), or a digest of another
    length than the scheme's hash. Nothing was signed."""

    key = "error.signature_scheme"

    def __init__(self, *, scheme: str) -> None:
        self.scheme = scheme
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"scheme": self.scheme}


class DigestLengthError(InputError):
    """A precomputed digest whose length is not the scheme's hash's. Nothing was signed."""

    key = "error.digest_length"

    def __init__(self, *, scheme: str, length: int) -> None:
        self.scheme = scheme
        self.length = length
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"scheme": self.scheme, "length": self.length}


class NotAPdfError(InputError):
    """The document to sign is not a PDF pyHanko can read. Found before the PIN is asked;
    nothing was signed."""

    key = "error.not_a_pdf"


class CertificateFileError(InputError):
    """A file of trust roots or CA certificates holds no certificate that can be read (PEM
    bundle or one DER certificate). Found before the PIN is asked."""

    key = "error.certificate_file"


class PdfSigningError(KamusmError):
    """pyHanko refused to sign the PDF for a reason of the document's (the signature field
    is already filled, the document forbids further signatures, ...). Nothing was signed."""

    key = "error.pdf_signing"

    def __init__(self, *, field: str) -> None:
        self.field = field
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"field": self.field}


class TimestampServerError(KamusmError):
    """The timestamp server could not be reached or gave no usable timestamp. Nothing was
    signed."""

    key = "error.timestamp_server"

    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"url": self.url}


# ---- the unblock authorization ------------------------------------------------------------


class AuthorizationError(KamusmError):
    """The single-use unblock authorization cannot be spent."""

    key = "authorization.error"


class AuthorizationSpentError(AuthorizationError):
    key = "authorization.spent"


class AuthorizationExpiredError(AuthorizationError):
    key = "authorization.expired"


class AuthorizationCardMismatchError(AuthorizationError):
    key = "authorization.wrong_card"


# ---- token --------------------------------------------------------------------------------


class TokenError(KamusmError):
    """The card or its PKCS#11 module failed. ``code`` names the PKCS#11 error when known."""

    key = "token.error"

    def __init__(self, *, code: str | None = None) -> None:
        self.code = code
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"code": self.code or "?"}


class Pkcs11ModuleNotFoundError(TokenError):
    """No PKCS#11 module could be loaded. ``tried`` lists ``(place, reason)`` for each (the
    reason in English, for logs). ``problems``, when given, says the same as ``(place, key,
    fields)`` with a message key under ``module_search.`` (``"no_such_file"``,
    ``"wrong_architecture"``, ``"not_loadable"``): the holder reads those in their language."""

    key = "token.module_not_found"

    def __init__(
        self,
        *,
        tried: Sequence[tuple[str, str]],
        problems: Sequence[tuple[str, str, Mapping[str, str]]] = (),
    ) -> None:
        self.tried = tuple(tried)
        self.problems = tuple(problems)
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        if self.problems:
            places = "; ".join(
                f"{place}: {text(f'module_search.{key}', lang, **fields)}"
                for place, key, fields in self.problems
            )
        else:
            places = "; ".join(f"{place}: {why}" for place, why in self.tried)
        return text(self.key, lang, tried=places or "-")


class TokenNotFoundError(TokenError):
    key = "token.not_found"


class AmbiguousTokenError(TokenError):
    """Several tokens match and none was named. ``candidates`` describes each."""

    key = "token.ambiguous"

    def __init__(self, *, candidates: Sequence[str], cards: Sequence[tuple[str, str]] = ()) -> None:
        self.candidates = tuple(candidates)
        #: ``(label, serial)`` of each card, named in the holder's language when given.
        self.cards = tuple(cards)
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        named = [text("token.describe", lang, label=label, serial=s) for label, s in self.cards]
        return text(self.key, lang, candidates=", ".join(named or self.candidates))


class TokenRemovedError(TokenError):
    key = "token.removed"


class TokenBusyError(TokenError):
    """Another application (typically the DYS) holds the card."""

    key = "token.busy"


class CardBusyError(TokenBusyError):
    """The reader says another program holds the card exclusively (PC/SC, :mod:`kamusm.pcsc`).

    ``reader`` names the reader; ``programs`` the programs connected to the smart-card service
    where the operating system tells (``None``: it cannot). The text gives the same advice as
    :class:`TokenBusyError` (close the DYS and any other program using the card) and names the
    programs, or says the system cannot tell.
    """

    variant_keys = ("token.busy", "pcsc.busy.programs", "pcsc.busy.unknown")

    def __init__(
        self, *, reader: str, programs: Sequence[str] | None = None, code: str | None = None
    ) -> None:
        self.reader = reader
        self.programs = None if programs is None else tuple(programs)
        super().__init__(code=code or "SCARD_E_SHARING_VIOLATION")

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        advice = text(self.key, lang)
        if self.programs:
            return (
                advice + " " + text("pcsc.busy.programs", lang, programs=", ".join(self.programs))
            )
        return advice + " " + text("pcsc.busy.unknown", lang)


class ReaderServiceError(TokenError):
    """The smart-card service (pcscd, SCardSvr) is not running: no reader can be seen.
    ``service`` names it for this operating system."""

    key = "pcsc.no_service"

    def __init__(self, *, service: str, code: str | None = None) -> None:
        self.service = service
        super().__init__(code=code)

    def fields(self) -> Mapping[str, object]:
        return {"service": self.service}


class PinIncorrectError(TokenError):
    """A wrong PIN.

    ``status`` is the token's PIN state read again right after the failed attempt: it says
    whether the next try is the final one or the PIN is now locked. It is ``None`` when that
    state is not known: reading the token again failed (the card was pulled out, the reader
    stopped answering), or the PIN was refused at a step that does not read it again (the
    ``C_SetPIN`` of a PIN change, after the login with the same PIN had succeeded). ``None``
    means "unknown", never "tries left": read :meth:`kamusm.token.Token.pin_status` before
    another attempt.
    """

    key = "token.pin_incorrect"
    variant_keys = (
        "token.pin_incorrect",
        "token.pin_incorrect.final_try",
        "token.pin_incorrect.locked",
    )

    def __init__(
        self,
        *,
        status: PinStatus | None = None,
        code: str | None = None,
        product: Product | None = None,
    ) -> None:
        self.status = status
        self.product = product
        super().__init__(code=code)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return _routed(self, self.product, lang)

    @property
    def attempts_remaining(self) -> int | None:
        """Tries left as far as the token tells (PKCS#11 gives flags, not counts)."""
        return None if self.status is None else self.status.attempts_remaining

    def message_key(self) -> str:
        if self.status is not None and self.status.locked:
            return "token.pin_incorrect.locked"
        if self.status is not None and self.status.final_try:
            return "token.pin_incorrect.final_try"
        return self.key


class PinLockedError(TokenError):
    """The PIN is locked: the way out is the portal reset of the card's product (``product``,
    when known), never the PUK."""

    key = "token.pin_locked"

    def __init__(self, *, code: str | None = None, product: Product | None = None) -> None:
        self.product = product
        super().__init__(code=code)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return _routed(self, self.product, lang)


class FinalTryNotAcknowledgedError(TokenError):
    """The next wrong PIN would lock the card and the caller did not acknowledge that."""

    key = "token.final_try"


class PinRejectedByTokenError(TokenError):
    """The token refused the new PIN's length or format."""

    key = "token.pin_rejected"


class PinNotInitializedError(TokenError):
    key = "token.pin_not_initialized"

    def __init__(self, *, code: str | None = None, product: Product | None = None) -> None:
        self.product = product
        super().__init__(code=code)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return _routed(self, self.product, lang)


class SoPinLockedError(TokenError):
    key = "token.so_locked"


class SoPinFinalTryError(TokenError):
    """The card's administrator PIN is on its final try: kamusm will not risk it."""

    key = "token.so_final_try"


class SoPinCountLowError(TokenError):
    """The card's SO counter shows an earlier failed administrator attempt, and the portal
    rotates the card's SO credential: kamusm spends no SO attempt on it (were the portal's
    record wrong, it would be a second failure, one short of the lock). Kamu SM's helpdesk
    decides. Without rotation the card's one fixed credential is still tried."""

    key = "token.so_count_low"


class SoCredentialUnknownError(TokenError):
    """The portal released two candidate SO credentials and the card cannot be allowed a
    wrong one (it shows an earlier SO failure, or is on its final try), or it refused both:
    nothing more is tried, so that the card is not locked. Kamu SM's helpdesk decides."""

    key = "token.so_credential_unknown"


class UnblockFailedError(TokenError):
    """SO login or C_InitPIN failed; the user PIN is as it was."""

    key = "token.unblock_failed"


class NotReadyToSignError(TokenError):
    """The readiness check refused a signature before any PIN was tried. ``readiness`` is the
    :class:`kamusm.readiness.Readiness` that says why and what to do next."""

    key = "error.not_ready_to_sign"

    def __init__(self, *, readiness: Readiness) -> None:
        self.readiness = readiness
        super().__init__(code=None)

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        reason = f"{self.readiness.message(lang)} {self.readiness.next_step(lang)}"
        return text(self.key, lang, reason=reason)


class UnattendedSigningRefusedError(TokenError):
    """An unattended signer saw that a wrong PIN was entered on the card: it logs in no more,
    spending none of the remaining tries, until a person has looked. ``status`` is the state."""

    key = "error.unattended_refused"

    def __init__(self, *, status: PinStatus) -> None:
        self.status = status
        super().__init__(code=None)


class SigningKeyNotFoundError(TokenError):
    """The card holds no private key for the chosen certificate (by CKA_ID or public key)."""

    key = "error.signing_key_not_found"


class SigningSessionClosedError(TokenError):
    """A signing session was used after its ``with`` block ended."""

    key = "error.signing_session_closed"


class SigningSessionOpenError(TokenError):
    """This process already has a signing session open on the card (the card takes one
    login per application): close it, or share it, before opening another. Nothing was
    tried; another application is not the cause."""

    key = "error.signing_session_open"


# ---- portal -------------------------------------------------------------------------------


class PortalError(KamusmError):
    """The portal refused or could not be reached. ``status`` is the HTTP status, if any."""

    key = "portal.error"

    def __init__(self, *, status: int | None = None) -> None:
        self.status = status
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"status": self.status if self.status is not None else "-"}


class PortalConnectionError(PortalError):
    key = "portal.connection"


class PortalTlsError(PortalConnectionError):
    key = "portal.tls"


class PortalTimeoutError(PortalError):
    key = "portal.timeout"


class AuthenticationRequiredError(PortalError):
    key = "portal.auth_required"


class LoginFailedError(PortalError):
    key = "portal.login_failed"


class LoginMethodUnavailableError(PortalError):
    key = "portal.method_unavailable"


class VerificationCodeInvalidError(PortalError):
    key = "portal.code_invalid"


class VerificationCodeExpiredError(PortalError):
    key = "portal.code_expired"


class VerificationCodeUsedError(PortalError):
    key = "portal.code_used"


class SmsCodeRejectedError(PortalError):
    """The SMS confirmation code was wrong; ``attempts_remaining`` more are allowed."""

    key = "portal.sms_rejected"
    variant_keys = ("portal.sms_rejected", "portal.sms_rejected.one")

    def __init__(self, *, attempts_remaining: int, status: int | None = None) -> None:
        self.attempts_remaining = attempts_remaining
        super().__init__(status=status)

    def message_key(self) -> str:
        return f"{self.key}.one" if self.attempts_remaining == 1 else self.key

    def fields(self) -> Mapping[str, object]:
        return {"attempts_remaining": self.attempts_remaining}


class WebPasswordRejectedError(SmsCodeRejectedError):
    """The web password ("WEB Parola", seed 002) was wrong; ``attempts_remaining`` left."""

    key = "portal.web_password_rejected"
    variant_keys = ("portal.web_password_rejected", "portal.web_password_rejected.one")


class SmsCodeExpiredError(PortalError):
    """The confirmation's time ran out: the SMS code's, or (``method`` "web_password") the
    time for the web password ("WEB Parola"), each told as what it is."""

    key = "portal.sms_expired"
    variant_keys = ("portal.sms_expired", "portal.sms_expired.web_password")

    def __init__(self, *, status: int | None = None, method: str = "sms") -> None:
        self.method = method
        super().__init__(status=status)

    def message_key(self) -> str:
        return _by_method(self.key, self.method)


class OperationCancelledError(PortalError):
    key = "portal.cancelled"


class CardNotOwnedError(PortalError):
    key = "portal.card_not_owned"


class ForbiddenError(PortalError):
    """The portal does not allow this request. ``reason`` (a code of
    ``kamusm._contract.FORBIDDEN_REASONS``, never shown to the holder) picks the text that
    says why and what to do; ``"forbidden"`` when the portal gave none."""

    key = "portal.forbidden"
    variant_keys = _variants(key)

    def __init__(self, *, reason: str = "forbidden", status: int | None = None) -> None:
        self.reason = reason
        super().__init__(status=status)

    def message_key(self) -> str:
        specific = f"{self.key}.{self.reason}"
        return specific if specific in MESSAGES else self.key


class NotFoundError(PortalError):
    key = "portal.not_found"


class ConflictError(PortalError):
    """The request does not fit the record's state. ``reason`` (a code, never shown to the
    holder) picks the text that says what happened and what to do."""

    key = "portal.conflict"
    variant_keys = _variants(key)

    def __init__(self, *, reason: str, status: int | None = None) -> None:
        self.reason = reason
        super().__init__(status=status)

    def message_key(self) -> str:
        specific = f"{self.key}.{self.reason}"
        return specific if specific in MESSAGES else self.key


class BadRequestError(PortalError):
    """The portal refused the request's shape. ``reason`` stays on the error for logs."""

    key = "portal.bad_request"
    variant_keys = _variants(key)

    def __init__(self, *, reason: str, status: int | None = None) -> None:
        self.reason = reason
        super().__init__(status=status)

    def message_key(self) -> str:
        specific = f"{self.key}.{self.reason}"
        return specific if specific in MESSAGES else self.key


class RateLimitedError(PortalError):
    key = "portal.rate_limited"
    variant_keys = ("portal.rate_limited", "portal.rate_limited.one")

    def __init__(self, *, retry_after: int, status: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(status=status)

    def message_key(self) -> str:
        return f"{self.key}.one" if self.retry_after == 1 else self.key

    def fields(self) -> Mapping[str, object]:
        return {"retry_after": self.retry_after}


class PortalServerError(PortalError):
    key = "portal.server"


class PortalProtocolError(PortalError):
    """The portal's answer does not follow the contract."""

    key = "portal.protocol"


# ---- flows --------------------------------------------------------------------------------


class FlowError(KamusmError):
    key = "flow.error"


class IllegalTransitionError(FlowError):
    """An event that the current state does not allow."""

    key = "flow.illegal"

    def __init__(self, *, state: str, event: str) -> None:
        self.state = state
        self.event = event
        super().__init__()

    def __str__(self) -> str:  # for developers: which event, in which state
        return f"{self.message('en')} [{self.event} in state {self.state}]"


class FlowFailedError(FlowError):
    """The flow failed earlier and refuses to go on."""

    key = "flow.failed"


class FlowCodeExpiredError(FlowError):
    key = "flow.code_expired"


class PinEntryTimeoutError(FlowError):
    key = "flow.pin_entry_timeout"


class FlowCancelledError(FlowError):
    key = "flow.cancelled"


class NewSmsDeclinedError(FlowCancelledError):
    """The SMS code (``method`` "web_password": the web password's time) expired and the
    holder declined a new one: the reset ended, the card unchanged."""

    key = "flow.new_sms_declined"
    variant_keys = ("flow.new_sms_declined", "flow.new_sms_declined.web_password")

    def __init__(self, *, method: str = "sms") -> None:
        self.method = method
        super().__init__()

    def message_key(self) -> str:
        return _by_method(self.key, self.method)


class SmsLimitReachedError(FlowError):
    """The SMS code (``method`` "web_password": the web password's time) expired and the
    portal allows this operation no new one: a new verification code ("Tekrar Kod Al")
    starts again."""

    key = "flow.sms_limit"
    variant_keys = ("flow.sms_limit", "flow.sms_limit.web_password")

    def __init__(self, *, method: str = "sms") -> None:
        self.method = method
        super().__init__()

    def message_key(self) -> str:
        return _by_method(self.key, self.method)


def _by_method(key: str, method: str) -> str:
    """The text of ``key`` for the confirmation ``method``: the web password's own."""
    return f"{key}.web_password" if method == "web_password" else key


class WrongHolderError(FlowError):
    key = "flow.wrong_holder"


class WrongProductError(FlowError):
    """The card (or the operation) is not of ``product``; ``found`` are the products the
    card's certificates do belong to, whose route the holder is told to take."""

    key = "flow.wrong_product"
    variant_keys = ("flow.wrong_product", "flow.wrong_product.other")

    def __init__(self, *, product: Product | str, found: Iterable[Product] = ()) -> None:
        self.product = product
        self.found = tuple(sorted(set(found), key=lambda p: p.value))
        super().__init__()

    def message_key(self) -> str:
        return "flow.wrong_product.other" if self.found else self.key

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        product = self.product if isinstance(self.product, str) else self.product.display(lang)
        found = " / ".join(p.display(lang) for p in self.found)
        other = self.found[0] if len(self.found) == 1 else None
        return text(
            self.message_key(), lang, product=product, found=found, route=_route(other, lang)
        )


class WrongCardError(FlowError):
    key = "flow.wrong_card"


class TooManyAttemptsError(FlowError):
    key = "flow.too_many_attempts"
    variant_keys = ("flow.too_many_attempts", "flow.too_many_attempts.one")

    def __init__(self, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__()

    def message_key(self) -> str:
        return f"{self.key}.one" if self.attempts == 1 else self.key

    def fields(self) -> Mapping[str, object]:
        return {"attempts": self.attempts}


class PinLockedUseResetError(FlowError):
    """The PIN is locked, so it cannot be changed: the way out is the portal reset of the
    card's ``product`` (both routes are named when it is not known)."""

    key = "flow.locked_use_reset"

    def __init__(self, *, product: Product | None = None) -> None:
        self.product = product
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return _routed(self, self.product, lang)


class FlowBusyError(FlowError):
    key = "flow.busy"


class PinVerificationFailedError(FlowError):
    key = "flow.verify_failed"


class CertificateRevokedError(FlowError):
    """Every certificate of ``product`` on the card is revoked: no PIN is set (a revoked
    certificate never signs again), and the holder is told to apply for a new one."""

    key = "flow.certificate_revoked"

    def __init__(self, *, product: Product) -> None:
        self.product = product
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return text(
            self.key,
            lang,
            product=self.product.display(lang),
            advice=_advice(self.product, "revoked", lang),
        )


def _advice(product: Product, what: str, lang: Language) -> str:
    """What a holder whose certificates can no longer sign does next, by the card's product
    (the guides name the NES routes only; other products are told a route that is true)."""
    key = f"advice.{what}.{'nes' if product.value == 'nes' else 'other'}"
    return text(key, lang, product=product.display(lang))


class CertificateExpiredError(FlowError):
    """The card's only certificates of ``product`` have expired (the last on ``expired_on``):
    no PIN is set; a new e-signature comes with a new card and a new PIN (seed 004)."""

    key = "flow.certificate_expired"

    def __init__(self, *, product: Product, expired_on: date | None = None) -> None:
        self.product = product
        self.expired_on = expired_on
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        product, advice = self.product.display(lang), _advice(self.product, "expired", lang)
        if self.expired_on is None:  # no day known: the text names none
            return text(f"{self.key}.undated", lang, product=product, advice=advice)
        expiry = format_date(self.expired_on, lang)
        return text(self.key, lang, product=product, expiry=expiry, advice=advice)


class CertificateNotYetValidError(FlowError):
    """The card's certificates of ``product`` are not valid yet (the first from
    ``valid_from``). Not a refusal: the PIN can be set; the card signs from that day."""

    key = "flow.certificate_not_yet_valid"

    def __init__(self, *, product: Product, valid_from: date | None = None) -> None:
        self.product = product
        self.valid_from = valid_from
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        product = self.product.display(lang)
        if self.valid_from is None:  # no day known: the text names none
            return text(f"{self.key}.undated", lang, product=product)
        start = format_date(self.valid_from, lang)
        return text(self.key, lang, product=product, start=start)


class CertificateNotOnCardError(FlowError):
    """The portal gave a status for certificates (``serials``, hexadecimal) that are not on
    the card. Not a refusal: their status says nothing about this card's certificates."""

    key = "flow.certificate_not_on_card"

    def __init__(self, *, serials: Sequence[str]) -> None:
        self.serials = tuple(serials)
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"serials": ", ".join(self.serials)}


class CertificateNotListedError(FlowError):
    """Certificates on the card (``serials``, hexadecimal) that the portal does not list:
    their state could not be confirmed by the portal. Not a refusal."""

    key = "flow.certificate_not_listed"

    def __init__(self, *, serials: Sequence[str]) -> None:
        self.serials = tuple(serials)
        super().__init__()

    def fields(self) -> Mapping[str, object]:
        return {"serials": ", ".join(self.serials)}


class CertificateSuspendedError(FlowError):
    """The card's certificate of ``product`` is suspended. Not a refusal: the reset goes on,
    and the holder is told that "Askıdan İndirme" re-activates the certificate."""

    key = "flow.certificate_suspended"

    def __init__(self, *, product: Product) -> None:
        self.product = product
        super().__init__()

    def message(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        return text(self.key, lang, product=self.product.display(lang))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception linked to it (cause, context, a group's members), each
    once: what a traceback printer would show, and what must hold no secret."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending += [n for n in (link.__cause__, link.__context__) if n is not None]
        if isinstance(link, BaseExceptionGroup):
            pending += list(link.exceptions)
