"""The card: a PKCS#11 token, its PIN state, PIN change and unblock.

This is the only kamusm module that imports python-pkcs11. Everything it does goes through
one process-wide lock (python-pkcs11 and the modules it loads are not thread-safe), and every
PKCS#11 call runs inside one context manager (``_Translated``) that turns its errors into
:mod:`kamusm.errors` classes at one point (``_translate``), from one table,
:data:`PKCS11_ERRORS`. Two private modules belong to this layer: :mod:`kamusm._cryptoki` (the
ctypes calls below, and the lock) and :mod:`kamusm._module_search` (where the module is looked
for on each OS, and the architecture of a file found there); :mod:`kamusm._token_seam` is the
one door the test helpers of :mod:`kamusm.testing` use.

::

    module = Pkcs11Module.open()                 # explicit path, env, AKİS, SoftHSM2, opencryptoki
    for info in module.tokens():                 # every initialised token, PIN state included
        print(info.label, info.serial, info.pin_status.summary)
    token = module.token(serial="1234")          # refuses to guess between several cards
    token.change_pin(old, new)                   # Pin values; never retried by the library

What python-pkcs11 0.10.1 lacks is done through ``ctypes`` on the same module file, which the
dynamic loader hands back already initialised: ``C_GetTokenInfo`` (for the PIN length limits),
and ``C_Login`` / ``C_Logout`` on a session python-pkcs11 opened. Logging in that way means a
failed login never leaves a session behind (python-pkcs11's ``token.open(user_pin=...)`` does,
and the next SO login then fails with ``CKR_SESSION_READ_ONLY_EXISTS``), and nothing else open
on the token, by this process or another, is touched.

Decisions worth knowing:

- The library never retries a PIN, and reads the PIN state before each attempt: a locked PIN
  raises :class:`~kamusm.errors.PinLockedError` without touching the card; on the final try the
  call is refused unless ``acknowledge_final_try=True``; a PIN whose length the token cannot
  accept is refused as wrong without spending a try.
- An :class:`~kamusm.values.UnblockAuthorization` is spent right before the SO login and stays
  spent whatever the card answers: the credential reaches the card at most once, so a failed
  unblock can never be replayed into a wrong-PUK count. Checks that fail before it is spent
  (another card, expired, new PIN length, SO PIN locked) leave it unspent.
- "Held by another application": PKCS#11 reports login state per application (process). When
  another part of the application holds a login or an SO session on the card, the module
  answers ``CKR_USER_ALREADY_LOGGED_IN``, ``CKR_USER_ANOTHER_ALREADY_LOGGED_IN``,
  ``CKR_SESSION_READ_ONLY_EXISTS``, ``CKR_SESSION_READ_WRITE_SO_EXISTS`` and the like: these,
  and ``CKR_SESSION_COUNT`` (a reader that allows no more sessions), become
  :class:`~kamusm.errors.TokenBusyError`, whose text tells the holder to close the DYS.
- Card insertion is noticed by calling :meth:`Pkcs11Module.tokens` again, not by
  ``wait_for_slot_event``, which raises ``TypeError`` in python-pkcs11 0.10.1 when an event
  arrives.
- Card removal: ``CKR_DEVICE_REMOVED``, ``CKR_TOKEN_NOT_PRESENT``, ``CKR_SLOT_ID_INVALID`` (the
  reader went away), ``CKR_SESSION_CLOSED`` / ``CKR_SESSION_HANDLE_INVALID`` (the module closed
  our session under us, as it does on removal), and another card showing up in the slot, all
  become :class:`~kamusm.errors.TokenRemovedError`.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import os
import re
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar, cast

import attrs
import pkcs11
import pkcs11.exceptions as pe
from pkcs11 import Attribute, ObjectClass, TokenFlag

from kamusm import _cryptoki, _module_search
from kamusm._cryptoki import CKU_SO, CKU_USER, LOCK, CkTokenInfo, Cryptoki, text
from kamusm._signing_session import (
    AsyncSigningSession,
    SignatureScheme,
    SigningSession,
    find_private_key,
)
from kamusm.errors import (
    AmbiguousTokenError,
    NotReadyToSignError,
    PinIncorrectError,
    PinLockedError,
    PinNotInitializedError,
    PinRejectedByTokenError,
    Pkcs11ModuleNotFoundError,
    SigningKeyNotFoundError,
    SigningSessionOpenError,
    SoPinCountLowError,
    SoPinFinalTryError,
    SoPinLockedError,
    TokenBusyError,
    TokenError,
    TokenNotFoundError,
    TokenRemovedError,
    UnattendedSigningRefusedError,
    UnblockFailedError,
    _chain,
)
from kamusm.errors import FinalTryNotAcknowledgedError as _FinalTryError
from kamusm.values import (
    DEFAULT_VERIFICATION_CODE_LENGTH,
    Clock,
    Pin,
    PinStatus,
    SystemClock,
    UnblockAuthorization,
    UnblockOutcome,
    _record_outcome,
)

if TYPE_CHECKING:
    from datetime import datetime

    from kamusm.certs import CertificateInfo
    from kamusm.readiness import Readiness
    from kamusm.values import Product

__all__ = [
    "ENV_MODULE",
    "PKCS11_ERRORS",
    "AsyncSigningSession",
    "CertificateObject",
    "Pkcs11Module",
    "SignatureScheme",
    "SigningSession",
    "Token",
    "TokenInfo",
]

logger = logging.getLogger(__name__)

#: The environment variable naming the PKCS#11 module to load.
ENV_MODULE: Final = "KAMUSM_PKCS11_MODULE"

_P = ParamSpec("_P")
_T = TypeVar("_T")

# One lock for every PKCS#11 call in the process: python-pkcs11 and the modules it loads are not
# thread-safe (unlocked threads destroyed a SoftHSM token here). Re-entrant, so an operation can
# hold it across its status read, login and PIN call. The reader probe (kamusm.pcsc) takes the
# same lock (kamusm._cardlock), so it never runs while a PKCS#11 call does.
_LOCK: Final = LOCK


# ---- the one translation point ------------------------------------------------------------


class _Step(enum.Enum):
    """Where in an operation a PKCS#11 error happened: the same code means different things."""

    READ = "read"
    USER_LOGIN = "user_login"
    SET_PIN = "set_pin"
    SO_LOGIN = "so_login"
    INIT_PIN = "init_pin"
    SIGN = "sign"
    """Finding the key and signing, in a signing session."""


_REMOVED = TokenRemovedError
_BUSY = TokenBusyError
_OTHER = TokenError

#: Every python-pkcs11 exception class -> (the PKCS#11 return code's name, the kamusm error it
#: becomes unless the step overrides it). A test fails when python-pkcs11 grows a class that is
#: missing here.
PKCS11_ERRORS: Final[Mapping[type[pe.PKCS11Error], tuple[str, type[TokenError]]]] = {
    # the PIN
    pe.PinIncorrect: ("CKR_PIN_INCORRECT", PinIncorrectError),
    pe.PinLocked: ("CKR_PIN_LOCKED", PinLockedError),
    pe.PinLenRange: ("CKR_PIN_LEN_RANGE", PinRejectedByTokenError),
    pe.PinInvalid: ("CKR_PIN_INVALID", PinRejectedByTokenError),
    pe.PinTooWeak: ("CKR_PIN_TOO_WEAK", PinRejectedByTokenError),
    pe.PinExpired: ("CKR_PIN_EXPIRED", _OTHER),
    pe.UserPinNotInitialized: ("CKR_USER_PIN_NOT_INITIALIZED", PinNotInitializedError),
    # the card went away (removal closes every session of the application)
    pe.DeviceRemoved: ("CKR_DEVICE_REMOVED", _REMOVED),
    pe.TokenNotPresent: ("CKR_TOKEN_NOT_PRESENT", _REMOVED),
    pe.SlotIDInvalid: ("CKR_SLOT_ID_INVALID", _REMOVED),
    pe.SessionClosed: ("CKR_SESSION_CLOSED", _REMOVED),
    pe.SessionHandleInvalid: ("CKR_SESSION_HANDLE_INVALID", _REMOVED),
    # a card, but not one this module understands
    pe.TokenNotRecognised: ("CKR_TOKEN_NOT_RECOGNIZED", TokenNotFoundError),
    pe.NoSuchToken: ("NO_SUCH_TOKEN", TokenNotFoundError),
    pe.MultipleTokensReturned: ("MULTIPLE_TOKENS", _OTHER),
    # someone else holds the card
    pe.SessionCount: ("CKR_SESSION_COUNT", _BUSY),
    pe.SessionExists: ("CKR_SESSION_EXISTS", _BUSY),
    pe.SessionReadOnlyExists: ("CKR_SESSION_READ_ONLY_EXISTS", _BUSY),
    pe.SessionReadWriteSOExists: ("CKR_SESSION_READ_WRITE_SO_EXISTS", _BUSY),
    pe.UserAlreadyLoggedIn: ("CKR_USER_ALREADY_LOGGED_IN", _BUSY),
    pe.AnotherUserAlreadyLoggedIn: ("CKR_USER_ANOTHER_ALREADY_LOGGED_IN", _BUSY),
    pe.UserTooManyTypes: ("CKR_USER_TOO_MANY_TYPES", _BUSY),
    pe.OperationActive: ("CKR_OPERATION_ACTIVE", _BUSY),
    # the card or module failed; nothing kamusm can name better
    pe.PKCS11Error: ("PKCS11_ERROR", _OTHER),
    pe.GeneralError: ("CKR_GENERAL_ERROR", _OTHER),
    pe.FunctionFailed: ("CKR_FUNCTION_FAILED", _OTHER),
    pe.FunctionCancelled: ("CKR_FUNCTION_CANCELED", _OTHER),
    pe.FunctionNotSupported: ("CKR_FUNCTION_NOT_SUPPORTED", _OTHER),
    pe.FunctionRejected: ("CKR_FUNCTION_REJECTED", _OTHER),
    pe.DeviceError: ("CKR_DEVICE_ERROR", _OTHER),
    pe.DeviceMemory: ("CKR_DEVICE_MEMORY", _OTHER),
    pe.HostMemory: ("CKR_HOST_MEMORY", _OTHER),
    pe.ArgumentsBad: ("CKR_ARGUMENTS_BAD", _OTHER),
    pe.SessionReadOnly: ("CKR_SESSION_READ_ONLY", _OTHER),
    pe.UserNotLoggedIn: ("CKR_USER_NOT_LOGGED_IN", _OTHER),
    pe.TokenWriteProtected: ("CKR_TOKEN_WRITE_PROTECTED", _OTHER),
    pe.NoEvent: ("CKR_NO_EVENT", _OTHER),
    pe.OperationNotInitialized: ("CKR_OPERATION_NOT_INITIALIZED", _OTHER),
    pe.ObjectHandleInvalid: ("CKR_OBJECT_HANDLE_INVALID", _OTHER),
    pe.ExceededMaxIterations: ("CKR_EXCEEDED_MAX_ITERATIONS", _OTHER),
    pe.RandomNoRNG: ("CKR_RANDOM_NO_RNG", _OTHER),
    pe.RandomSeedNotSupported: ("CKR_RANDOM_SEED_NOT_SUPPORTED", _OTHER),
    # objects and cryptography: kamusm reads certificates only, so these mean a broken card
    pe.AttributeReadOnly: ("CKR_ATTRIBUTE_READ_ONLY", _OTHER),
    pe.AttributeSensitive: ("CKR_ATTRIBUTE_SENSITIVE", _OTHER),
    pe.AttributeTypeInvalid: ("CKR_ATTRIBUTE_TYPE_INVALID", _OTHER),
    pe.AttributeValueInvalid: ("CKR_ATTRIBUTE_VALUE_INVALID", _OTHER),
    pe.TemplateIncomplete: ("CKR_TEMPLATE_INCOMPLETE", _OTHER),
    pe.TemplateInconsistent: ("CKR_TEMPLATE_INCONSISTENT", _OTHER),
    pe.DataInvalid: ("CKR_DATA_INVALID", _OTHER),
    pe.DataLenRange: ("CKR_DATA_LEN_RANGE", _OTHER),
    pe.DomainParamsInvalid: ("CKR_DOMAIN_PARAMS_INVALID", _OTHER),
    pe.EncryptedDataInvalid: ("CKR_ENCRYPTED_DATA_INVALID", _OTHER),
    pe.EncryptedDataLenRange: ("CKR_ENCRYPTED_DATA_LEN_RANGE", _OTHER),
    pe.KeyHandleInvalid: ("CKR_KEY_HANDLE_INVALID", _OTHER),
    pe.KeyIndigestible: ("CKR_KEY_INDIGESTIBLE", _OTHER),
    pe.KeyNeeded: ("CKR_KEY_NEEDED", _OTHER),
    pe.KeyNotNeeded: ("CKR_KEY_NOT_NEEDED", _OTHER),
    pe.KeyNotWrappable: ("CKR_KEY_NOT_WRAPPABLE", _OTHER),
    pe.KeySizeRange: ("CKR_KEY_SIZE_RANGE", _OTHER),
    pe.KeyTypeInconsistent: ("CKR_KEY_TYPE_INCONSISTENT", _OTHER),
    pe.KeyUnextractable: ("CKR_KEY_UNEXTRACTABLE", _OTHER),
    pe.MechanismInvalid: ("CKR_MECHANISM_INVALID", _OTHER),
    pe.MechanismParamInvalid: ("CKR_MECHANISM_PARAM_INVALID", _OTHER),
    pe.NoSuchKey: ("NO_SUCH_KEY", _OTHER),
    pe.MultipleObjectsReturned: ("MULTIPLE_OBJECTS", _OTHER),
    pe.PublicKeyInvalid: ("CKR_PUBLIC_KEY_INVALID", _OTHER),
    pe.SignatureInvalid: ("CKR_SIGNATURE_INVALID", _OTHER),
    pe.SignatureLenRange: ("CKR_SIGNATURE_LEN_RANGE", _OTHER),
    pe.UnwrappingKeyHandleInvalid: ("CKR_UNWRAPPING_KEY_HANDLE_INVALID", _OTHER),
    pe.UnwrappingKeySizeRange: ("CKR_UNWRAPPING_KEY_SIZE_RANGE", _OTHER),
    pe.UnwrappingKeyTypeInconsistent: ("CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", _OTHER),
    pe.WrappedKeyInvalid: ("CKR_WRAPPED_KEY_INVALID", _OTHER),
    pe.WrappedKeyLenRange: ("CKR_WRAPPED_KEY_LEN_RANGE", _OTHER),
    pe.WrappingKeyHandleInvalid: ("CKR_WRAPPING_KEY_HANDLE_INVALID", _OTHER),
    pe.WrappingKeySizeRange: ("CKR_WRAPPING_KEY_SIZE_RANGE", _OTHER),
    pe.WrappingKeyTypeInconsistent: ("CKR_WRAPPING_KEY_TYPE_INCONSISTENT", _OTHER),
}

# What a code means at one step, where it differs from the table above.
_STEP_ERRORS: Final[Mapping[_Step, Mapping[type[pe.PKCS11Error], type[TokenError]]]] = {
    _Step.READ: {},
    # A PIN the token cannot even take is not the PIN.
    _Step.USER_LOGIN: {pe.PinLenRange: PinIncorrectError, pe.PinInvalid: PinIncorrectError},
    _Step.SET_PIN: {},
    # The credential was refused: the card is as it was, the authorization is spent.
    _Step.SO_LOGIN: {
        pe.PinIncorrect: UnblockFailedError,
        pe.PinLenRange: UnblockFailedError,
        pe.PinInvalid: UnblockFailedError,
        pe.PinExpired: UnblockFailedError,
        pe.PinLocked: SoPinLockedError,
        pe.UserPinNotInitialized: UnblockFailedError,
        pe.FunctionFailed: UnblockFailedError,
        pe.GeneralError: UnblockFailedError,
    },
    _Step.INIT_PIN: {
        pe.FunctionFailed: UnblockFailedError,
        pe.GeneralError: UnblockFailedError,
        pe.UserNotLoggedIn: UnblockFailedError,
    },
    # Logged out under us while signing: the card went away (removal ends the login).
    _Step.SIGN: {pe.UserNotLoggedIn: TokenRemovedError},
}

_UNMAPPED_CODE = re.compile(r"0x[0-9a-fA-F]+")


def _translate(
    exc: pe.PKCS11Error, *, step: _Step = _Step.READ, status: PinStatus | None = None
) -> TokenError:
    """The kamusm error for a python-pkcs11 exception: the one place where they are mapped.

    ``step`` says what was being done (reading, user login, C_SetPIN, SO login, C_InitPIN):
    a wrong PIN at the SO login is a failed unblock, not a wrong user PIN.
    ``status`` is the PIN state re-read after the attempt, carried by
    :class:`~kamusm.errors.PinIncorrectError`. The caller raises the result ``from exc``.
    """
    name, target = PKCS11_ERRORS.get(type(exc), PKCS11_ERRORS[pe.PKCS11Error])
    target = _STEP_ERRORS[step].get(type(exc), target)
    if type(exc) is pe.PKCS11Error:
        # python-pkcs11 raises the base class for codes it has no class for.
        found = _UNMAPPED_CODE.search(str(exc))
        name = f"CKR_{found.group(0)}" if found else name
    logger.debug("PKCS#11 error %s at step %s", name, step.value)
    if issubclass(target, PinIncorrectError):
        return target(status=status, code=name)
    return target(code=name)


class _Translated:
    """``with _Translated(step):`` turns a python-pkcs11 exception raised in the block into its
    kamusm error (raised ``from`` it), through :func:`_translate`: every PKCS#11 call kamusm
    makes runs inside one. Other exceptions pass unchanged.

    ``status``, for a login, re-reads the PIN state after the failed attempt, for
    :class:`~kamusm.errors.PinIncorrectError` to carry. A plain class, not a generator: it wraps
    the token listing, which ``kamusm tokens`` pays for per slot.
    """

    __slots__ = ("_status", "_step")

    def __init__(
        self,
        step: _Step = _Step.READ,
        *,
        status: Callable[[pe.PKCS11Error], PinStatus | None] | None = None,
    ) -> None:
        self._step = step
        self._status = status

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, pe.PKCS11Error):
            status = self._status(exc) if self._status is not None else None
            raise _translate(exc, step=self._step, status=status) from exc


# What a slot says when it has no token kamusm can use: skipped by the listing, not an error.
_NO_USABLE_TOKEN: Final = (
    pe.TokenNotPresent,
    pe.DeviceRemoved,
    pe.TokenNotRecognised,
    pe.SlotIDInvalid,
)

#: For the calls that only read (the most common step): the block can share one instance.
_READING: Final = _Translated()


def _version(value: Any) -> str:
    """``(2, 40)`` -> ``"2.40"``."""
    try:
        major, minor = value
    except (TypeError, ValueError):
        return str(value)
    return f"{major}.{minor}"


def _slot_description(slot: Any) -> str:
    """The slot's description as python-pkcs11 read it (``C_GetSlotInfo``), trimmed."""
    return str(getattr(slot, "slot_description", "") or "").strip(" \x00")


_CRYPTOKI: dict[str, Cryptoki] = {}


def _problem(reason: str) -> tuple[str, dict[str, str]]:
    """The holder's-language form of a reason ``_load`` gives (a ``module_search.`` key)."""
    return ("no_such_file", {}) if reason == "no such file" else ("not_loadable", {})


def _load(place: str) -> tuple[Pkcs11Module | None, str]:
    """Load one module; on failure say why, in words a help desk can act on."""
    path = os.path.realpath(place)
    if not os.path.exists(path):
        return None, "no such file"
    problem = _module_search.architecture_problem(path)
    if problem is not None:
        return None, problem
    with _LOCK:
        try:
            lib = pkcs11.lib(path)
        except pe.PKCS11Error as exc:
            name = PKCS11_ERRORS.get(type(exc), PKCS11_ERRORS[pe.PKCS11Error])[0]
            reason = f"could not be loaded or initialised ({name}"
            reason += f": {exc})" if str(exc) else ")"
            if isinstance(exc, pe.HostMemory) and "opencryptoki" in path:
                reason += "; is the pkcsslotd daemon running?"
            return None, reason
        except OSError as exc:  # pragma: no cover - python-pkcs11 wraps loader errors
            return None, f"could not be loaded: {exc}"
        cryptoki = _CRYPTOKI.get(path)
        if cryptoki is None:
            try:
                cryptoki = _CRYPTOKI[path] = Cryptoki(path)
            except (pe.PKCS11Error, OSError) as exc:
                return None, f"its function list could not be read ({type(exc).__name__})"
    return Pkcs11Module(path=path, lib=lib, cryptoki=cryptoki), ""


def _refuse_code_shaped(pin: Pin) -> None:
    """A PIN shaped like the portal's verification code never reaches a card: the code is
    never a PIN, never a PUK (typed into the wrong box, it would spend a try)."""
    if len(pin) == DEFAULT_VERIFICATION_CODE_LENGTH:
        from kamusm.policy import refuse_code_shaped  # noqa: PLC0415 (off the start-up path)

        refuse_code_shaped(pin)


def _scrub(exc: BaseException) -> None:
    """Forget the frame locals of every traceback in ``exc``'s chain (cause, context): a
    finished frame that took a PIN keeps it as a local for as long as the error lives. The
    links below the top (python-pkcs11's, ctypes') lose their traceback altogether."""
    for link in _chain(exc):
        traceback.clear_frames(link.__traceback__)
        if link is not exc:
            link.with_traceback(None)


_M = TypeVar("_M")

#: (module path, token serial) of every signing session open in this process (under _LOCK).
_OPEN_SIGNING_SESSIONS: Final[set[tuple[str, str]]] = set()


def _without_arguments(manager: _M) -> _M:
    """contextlib keeps the arguments of a context manager made from a generator (to reuse
    it as a decorator); those of a signing session include the PIN's list: dropped."""
    cast(Any, manager).args = ()
    cast(Any, manager).kwds = {}
    return manager


def _forgets_secrets(fn: Callable[_P, _T]) -> Callable[_P, _T]:
    """A method taking a PIN or SO credential: whatever it raises keeps none of them in a
    frame local of its traceback (see :func:`_scrub`)."""

    @functools.wraps(fn)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            del args, kwargs
            _scrub(exc)
            raise

    return guarded


async def _in_thread(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run a blocking call in a worker thread so the event loop stays free."""
    import anyio.to_thread  # noqa: PLC0415 - loaded only by async callers

    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


async def _enter_in_thread(manager: contextlib.AbstractContextManager[_T]) -> _T:
    """Enter ``manager`` in a worker thread, under the library lock. If the caller stops
    waiting (its task was cancelled) before it gets the value, the manager is exited again,
    by the worker thread if it had not handed the value over yet, else here: nothing entered
    is left behind."""
    handing = threading.Lock()
    state = {"caller_gone": False, "handed_over": False}

    def enter() -> _T:
        logger.debug("Entering %s in a worker thread", type(manager).__name__)
        with _LOCK:  # opened and, if need be, closed again in one go
            value = manager.__enter__()
            with handing:
                if not state["caller_gone"]:
                    state["handed_over"] = True
                    return value
            logger.info("Its caller stopped waiting: %s closed again", type(manager).__name__)
            manager.__exit__(None, None, None)
        raise _CallerGoneError

    try:
        return await _in_thread(enter)
    except BaseException:
        with handing:
            state["caller_gone"] = True
            handed_over = state["handed_over"]
        if handed_over:  # entered, but the caller was cancelled before the value reached it
            logger.info("Its caller stopped waiting: %s closed again", type(manager).__name__)
            manager.__exit__(None, None, None)
        raise


class _CallerGoneError(Exception):
    """The task that asked for a session was cancelled while it opened (never seen: the
    result of that call is thrown away)."""


# ---- what a token is --------------------------------------------------------------------------


# Token flags as plain ints: enum arithmetic costs more than the C_GetTokenInfo call itself.
_TOKEN_INITIALIZED = int(TokenFlag.TOKEN_INITIALIZED)
_PIN_FLAGS: Final = (
    ("initialized", int(TokenFlag.USER_PIN_INITIALIZED)),
    ("locked", int(TokenFlag.USER_PIN_LOCKED)),
    ("final_try", int(TokenFlag.USER_PIN_FINAL_TRY)),
    ("count_low", int(TokenFlag.USER_PIN_COUNT_LOW)),
    ("to_be_changed", int(TokenFlag.USER_PIN_TO_BE_CHANGED)),
    ("so_locked", int(TokenFlag.SO_PIN_LOCKED)),
    ("so_final_try", int(TokenFlag.SO_PIN_FINAL_TRY)),
    ("so_count_low", int(TokenFlag.SO_PIN_COUNT_LOW)),
)


@functools.lru_cache(maxsize=64)
def _pin_status(flags: int) -> PinStatus:
    """The PIN state a token's flags describe (cached: a token has few distinct states)."""
    return PinStatus(**{name: bool(flags & bit) for name, bit in _PIN_FLAGS})


@attrs.frozen
class TokenInfo:
    """What a token says about itself, read without login and without spending a PIN try."""

    label: str
    serial: str
    manufacturer: str
    model: str
    min_pin_length: int
    max_pin_length: int
    pin_status: PinStatus
    slot_id: int
    #: The slot's description (``C_GetSlotInfo``): for a smart-card driver, usually the name
    #: of the reader, which is how :mod:`kamusm.pcsc` matches a card to its reader.
    slot_description: str = ""

    @classmethod
    def _from_cryptoki(
        cls, raw: CkTokenInfo, slot_id: int, slot_description: str = ""
    ) -> TokenInfo:
        return cls(
            label=text(raw.label),
            serial=text(raw.serialNumber),
            manufacturer=text(raw.manufacturerID),
            model=text(raw.model),
            min_pin_length=int(raw.ulMinPinLen),
            max_pin_length=int(raw.ulMaxPinLen),
            pin_status=_pin_status(int(raw.flags)),
            slot_id=slot_id,
            slot_description=slot_description,
        )

    def describe(self) -> str:
        """``label (serial S)``: how a card is named to the person choosing it."""
        return f"{self.label} (serial {self.serial})"


@attrs.frozen
class CertificateObject:
    """A certificate as stored on the token: DER bytes, its label and its ``CKA_ID``."""

    der: bytes = attrs.field(repr=lambda der: f"<{len(der)} bytes>")
    label: str
    object_id: bytes


class Pkcs11Module:
    """A loaded PKCS#11 module: the AKİS driver on a holder's machine, SoftHSM2 in tests.

    Get one with :meth:`open`; it lists the tokens and selects one.
    """

    def __init__(self, *, path: str, lib: Any, cryptoki: Cryptoki) -> None:
        self.path = path
        self._lib = lib
        self._cryptoki = cryptoki
        # python-pkcs11 slots seen by the last listing, and Token objects made from them, by
        # (slot id, serial): opening a session needs one, and finding it again would
        # enumerate every slot once more.
        self._slots: dict[int, Any] = {}
        self._p11_tokens: dict[tuple[int, str], Any] = {}

    def _p11_token(self, slot_id: int, serial: str) -> Any:
        """The python-pkcs11 Token for a slot (call with ``_LOCK`` held)."""
        found = self._p11_tokens.get((slot_id, serial))
        if found is None:
            slot = self._slots.get(slot_id)
            if slot is None:
                slot = next((s for s in self._lib.get_slots() if s.slot_id == slot_id), None)
            if slot is None:
                raise TokenRemovedError(code="CKR_SLOT_ID_INVALID")
            found = self._p11_tokens[slot_id, serial] = slot.get_token()
        return found

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Pkcs11Module:
        """Load the PKCS#11 module.

        ``path`` if given, else the ``KAMUSM_PKCS11_MODULE`` environment variable, else the
        known AKİS locations for this OS, then SoftHSM2 and opencryptoki. A module named by the
        argument or the variable is never replaced by another one. When nothing loads,
        :class:`~kamusm.errors.Pkcs11ModuleNotFoundError` lists every place tried and why.
        """
        if path is not None:
            places = [os.fspath(path)]
        elif os.environ.get(ENV_MODULE):
            places = [os.environ[ENV_MODULE]]
        else:
            places = _module_search.default_locations()
        logger.debug("Loading a PKCS#11 module from %s", places)
        tried: list[tuple[str, str]] = []
        problems: list[tuple[str, str, Mapping[str, str]]] = []
        for place in places:
            module, reason = _load(place)
            if module is not None:
                logger.debug("Loaded PKCS#11 module %s", module.path)
                return module
            tried.append((place, reason))
            path = os.path.realpath(place)
            mismatch = _module_search.architecture_mismatch(path) if os.path.exists(path) else None
            key, fields = mismatch if mismatch is not None else _problem(reason)
            problems.append((place, key, fields))
        raise Pkcs11ModuleNotFoundError(tried=tried, problems=problems)

    @classmethod
    async def aopen(cls, path: str | os.PathLike[str] | None = None) -> Pkcs11Module:
        """:meth:`open` in a worker thread."""
        return await _in_thread(cls.open, path)

    @property
    def description(self) -> str:
        """The module's own name and manufacturer (``C_GetInfo``)."""
        return f"{self._lib.library_description} ({self._lib.manufacturer_id})"

    def tokens(self) -> list[TokenInfo]:
        """Every initialised token in every slot (not only slots that say a token is present).

        Reading spends no PIN try. Empty slots and uninitialised tokens are skipped.
        """
        logger.debug("Listing tokens of %s", self.path)
        found: list[TokenInfo] = []
        with _LOCK, _READING:
            slots = self._lib.get_slots(token_present=False)
            self._slots = {int(slot.slot_id): slot for slot in slots}
            for slot in slots:
                try:
                    raw = self._cryptoki.token_info(slot.slot_id)
                except _NO_USABLE_TOKEN as exc:
                    logger.debug("Slot %s has no usable token (%s)", slot.slot_id, exc)
                    continue
                if raw.flags & _TOKEN_INITIALIZED:
                    found.append(
                        TokenInfo._from_cryptoki(raw, int(slot.slot_id), _slot_description(slot))
                    )
        return found

    async def atokens(self) -> list[TokenInfo]:
        """:meth:`tokens` in a worker thread."""
        return await _in_thread(self.tokens)

    def rescan(self) -> None:
        """Start the module again (``C_Finalize``, then ``C_Initialize``), so that the next
        :meth:`tokens` sees readers and cards added since: some modules, SoftHSM2 among them,
        learn of a token only when initialised. Every session and login of this module in this
        process ends, so call it only while none is in use (as while waiting for a card)."""
        logger.debug("Rescanning %s", self.path)
        with _LOCK:
            with _READING:
                _cryptoki.reinitialize(self._lib)  # opencryptoki's lock fd: see there
            self._slots = {}
            self._p11_tokens = {}

    def token(self, *, serial: str | None = None, label: str | None = None) -> Token:
        """The one token with this serial and/or label.

        With no criteria, the only token present. Never a silent first slot: several matches
        raise :class:`~kamusm.errors.AmbiguousTokenError` listing them, none raises
        :class:`~kamusm.errors.TokenNotFoundError`.
        """
        matches = [
            info
            for info in self.tokens()
            if (serial is None or info.serial == serial) and (label is None or info.label == label)
        ]
        if not matches:
            raise TokenNotFoundError()
        if len(matches) > 1:
            raise AmbiguousTokenError(
                candidates=[info.describe() for info in matches],
                cards=[(info.label, info.serial) for info in matches],
            )
        return Token(self, matches[0])

    async def atoken(self, *, serial: str | None = None, label: str | None = None) -> Token:
        """:meth:`token` in a worker thread."""
        return await _in_thread(self.token, serial=serial, label=label)

    def __repr__(self) -> str:
        return f"Pkcs11Module({self.path!r})"

    def report(self) -> dict[str, Any]:
        """What the module says about itself and every slot, for a help-desk report: its
        path, description, versions and architecture; per slot its description, flags and
        mechanisms, and the token's information and flags. Plain data (JSON-ready). Reads no
        object, logs in nowhere, spends no PIN try; nothing in it is secret."""
        machines = _module_search.binary_machines(self.path)
        with _LOCK:
            lib = self._lib
            found: dict[str, Any] = {
                "path": self.path,
                "description": str(lib.library_description),
                "manufacturer": str(lib.manufacturer_id),
                "cryptoki_version": _version(lib.cryptoki_version),
                "library_version": _version(lib.library_version),
                "architectures": None if machines is None else sorted(machines),
                "host_architecture": _module_search.host_machine(),
            }
            with _READING:
                slots = lib.get_slots(token_present=False)
            found["slots"] = [self._slot_report(slot) for slot in slots]
        return found

    def _slot_report(self, slot: Any) -> dict[str, Any]:
        flags = int(slot.flags)
        entry: dict[str, Any] = {
            "slot_id": int(slot.slot_id),
            "description": _slot_description(slot),
            "manufacturer": str(slot.manufacturer_id).strip(),
            "flags": [f.name for f in pkcs11.SlotFlag if f.value and flags & f.value],
            "hardware_version": _version(slot.hardware_version),
            "firmware_version": _version(slot.firmware_version),
            "token": None,
            "token_error": None,
            "mechanisms": [],
            "mechanisms_error": None,
        }
        try:
            raw = self._cryptoki.token_info(slot.slot_id)
        except pe.PKCS11Error as exc:
            entry["token_error"] = PKCS11_ERRORS.get(type(exc), ("PKCS11_ERROR",))[0]
            return entry
        token_flags = int(raw.flags)
        entry["token"] = {
            "label": text(raw.label),
            "serial": text(raw.serialNumber),
            "manufacturer": text(raw.manufacturerID),
            "model": text(raw.model),
            "flags": [f.name for f in TokenFlag if f.value and token_flags & f.value],
            "min_pin_length": int(raw.ulMinPinLen),
            "max_pin_length": int(raw.ulMaxPinLen),
            "hardware_version": f"{raw.hardwareVersion.major}.{raw.hardwareVersion.minor}",
            "firmware_version": f"{raw.firmwareVersion.major}.{raw.firmwareVersion.minor}",
        }
        try:
            entry["mechanisms"] = sorted(
                getattr(m, "name", None) or f"0x{int(m):08X}" for m in slot.get_mechanisms()
            )
        except pe.PKCS11Error as exc:
            entry["mechanisms_error"] = PKCS11_ERRORS.get(type(exc), ("PKCS11_ERROR",))[0]
        return entry


class Token:
    """One card in a reader: its PIN state, certificates, PIN verification, change and unblock.

    Made by :meth:`Pkcs11Module.token`. Holds no session between calls; each call opens and
    closes its own under the process-wide lock, and first checks that the card in the slot is
    still the one selected.
    """

    def __init__(self, module: Pkcs11Module, info: TokenInfo) -> None:
        self._module = module
        self._info = info
        # The certificates read by readiness(), kept for the card this object names: they do
        # not change while it stays in the slot (refresh=True reads them again).
        self._known_certificates: list[CertificateInfo] | None = None

    @property
    def info(self) -> TokenInfo:
        """The snapshot taken when the token was selected (see :meth:`read_info`)."""
        return self._info

    @property
    def serial(self) -> str:
        return self._info.serial

    @property
    def label(self) -> str:
        return self._info.label

    @property
    def slot_id(self) -> int:
        return self._info.slot_id

    @property
    def module(self) -> Pkcs11Module:
        return self._module

    def __repr__(self) -> str:
        return f"Token(label={self.label!r}, serial={self.serial!r}, slot_id={self.slot_id})"

    # ---- reading ----

    def _read(self) -> TokenInfo:
        """Re-read the token in our slot; a missing or different card is a removed card."""
        with _LOCK, _READING:
            raw = self._module._cryptoki.token_info(self.slot_id)
        info = TokenInfo._from_cryptoki(raw, self.slot_id, self._info.slot_description)
        if info.serial != self.serial or not raw.flags & _TOKEN_INITIALIZED:
            logger.info("Token %s is no longer in slot %s", self.serial, self.slot_id)
            raise TokenRemovedError(code="CKR_TOKEN_NOT_PRESENT")
        return info

    def read_info(self) -> TokenInfo:
        """A fresh :class:`TokenInfo`, PIN state included. Spends no PIN try."""
        return self._read()

    def pin_status(self) -> PinStatus:
        """The PIN state now (locked, final try, count low, ...). Spends no PIN try."""
        return self._read().pin_status

    async def apin_status(self) -> PinStatus:
        """:meth:`pin_status` in a worker thread."""
        return await _in_thread(self.pin_status)

    @contextlib.contextmanager
    def _session(self, *, rw: bool) -> Iterator[Any]:
        """A session without login, closed however the block ends."""
        with _READING:
            session = self._module._p11_token(self.slot_id, self.serial).open(rw=rw)
        try:
            yield session
        finally:
            try:
                session.close()
            except pe.PKCS11Error as exc:
                logger.debug("Closing the session failed: %s", type(exc).__name__)

    def _log_in(self, session: Any, user_type: int, secret: Pin | str, *, step: _Step) -> None:
        """``C_Login`` from a plain function (never a suspended generator holding the secret):
        the reference is dropped right after the call, and a refusal is raised as its kamusm
        error whose cause carries no traceback, so no frame local of the ctypes call (the
        bytes of the PIN) survives in the error's chain."""
        handle = int(cast(Any, session).handle)
        cryptoki = self._module._cryptoki
        failure: pe.PKCS11Error | None = None
        try:
            cryptoki.login(
                handle,
                user_type,
                (secret.reveal() if isinstance(secret, Pin) else secret).encode("utf-8"),
            )
        except pe.PKCS11Error as exc:
            failure = exc.with_traceback(None)
        finally:
            del secret
        if failure is None:
            return
        failure.__context__ = None
        status = self._status_after_wrong_pin(failure) if step is _Step.USER_LOGIN else None
        raise _translate(failure, step=step, status=status) from failure

    def _log_out(self, session: Any) -> None:
        try:
            self._module._cryptoki.logout(int(cast(Any, session).handle))
        except pe.PKCS11Error as exc:
            logger.debug("Logging out failed: %s", type(exc).__name__)

    @contextlib.contextmanager
    def _login(self, session: Any, user_type: int, secret: Pin, *, step: _Step) -> Iterator[None]:
        """Log the session in; log out when the block ends. A failed login leaves nothing.
        The generator never holds the secret: it is logged in before the generator runs."""
        holder = [secret]
        del secret
        self._log_in(session, user_type, holder.pop(), step=step)
        try:
            yield
        finally:
            self._log_out(session)

    def _status_after_wrong_pin(self, exc: pe.PKCS11Error) -> PinStatus | None:
        """The PIN state re-read after a refused user login (``None`` if it cannot be read)."""
        status = None
        with contextlib.suppress(TokenError):
            status = self._read().pin_status
        if status is not None and isinstance(exc, pe.PinIncorrect):
            logger.info("Wrong PIN for token %s; PIN state now %s", self.serial, status.summary)
        return status

    def certificate_objects(self) -> list[CertificateObject]:
        """Every certificate on the token (DER, label, id), read without login."""
        logger.debug("Reading certificates of token %s", self.serial)
        found: list[CertificateObject] = []
        with _LOCK:
            self._read()
            with self._session(rw=False) as session, _READING:
                objects = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
                found.extend(_certificate_object(obj) for obj in objects)
        return found

    async def acertificate_objects(self) -> list[CertificateObject]:
        """:meth:`certificate_objects` in a worker thread."""
        return await _in_thread(self.certificate_objects)

    def certificates(self) -> list[CertificateInfo]:
        """The certificates on the token, parsed (see :mod:`kamusm.certs`)."""
        from kamusm.certs import CertificateInfo  # noqa: PLC0415 - asn1crypto only when asked

        return [
            CertificateInfo.from_der(o.der, label=o.label, object_id=o.object_id)
            for o in self.certificate_objects()
        ]

    async def acertificates(self) -> list[CertificateInfo]:
        """:meth:`certificates` in a worker thread."""
        return await _in_thread(self.certificates)

    def _card_certificates(self, *, refresh: bool) -> list[CertificateInfo]:
        """The card's readable certificates (damaged objects left out), read once per Token."""
        if self._known_certificates is None or refresh:
            from kamusm.certs import read_certificates  # noqa: PLC0415 - asn1crypto on demand

            self._known_certificates = read_certificates(self.certificate_objects())[0]
        return self._known_certificates

    def readiness(
        self,
        *,
        now: datetime | None = None,
        product: Product | None = None,
        expiry_warning_days: int | None = None,
        refresh: bool = False,
    ) -> Readiness:
        """Whether to ask for the PIN at all: no login, no try spent (see
        :mod:`kamusm.readiness`). The PIN state is read fresh each time; the certificates are
        read on the first call and kept (``refresh=True`` reads them again)."""
        from kamusm.readiness import DEFAULT_EXPIRY_WARNING_DAYS, assess  # noqa: PLC0415

        with _LOCK:
            status = self._read().pin_status
            certificates = self._card_certificates(refresh=refresh)
        return assess(
            status,
            certificates,
            now if now is not None else SystemClock().now(),
            product=product,
            expiry_warning_days=(
                DEFAULT_EXPIRY_WARNING_DAYS if expiry_warning_days is None else expiry_warning_days
            ),
        )

    async def areadiness(
        self,
        *,
        now: datetime | None = None,
        product: Product | None = None,
        expiry_warning_days: int | None = None,
        refresh: bool = False,
    ) -> Readiness:
        """:meth:`readiness` in a worker thread, with the same arguments."""
        return await _in_thread(
            self.readiness,
            now=now,
            product=product,
            expiry_warning_days=expiry_warning_days,
            refresh=refresh,
        )

    # ---- signing ----

    def signing_session(
        self,
        pin: Pin,
        *,
        certificate: CertificateInfo | None = None,
        product: Product | None = None,
        acknowledge_final_try: bool = False,
        unattended: bool = False,
        clock: Clock | None = None,
    ) -> contextlib.AbstractContextManager[SigningSession]:
        """Log in with every guard and yield a :class:`SigningSession` that signs with the
        private key of the signing certificate; log out and close however the block ends.

        Before the PIN reaches the card: with ``unattended=True`` a card that shows any wrong
        PIN (count low, final try, locked) raises
        :class:`~kamusm.errors.UnattendedSigningRefusedError`; a locked PIN raises
        :class:`~kamusm.errors.PinLockedError`; the final try without
        ``acknowledge_final_try=True`` raises
        :class:`~kamusm.errors.FinalTryNotAcknowledgedError`; a PIN of a length the card
        cannot take, or shaped like a verification code, is refused without a try; and a card
        whose certificate cannot sign now (none, expired, not yet valid, not qualified) raises
        :class:`~kamusm.errors.NotReadyToSignError` with its readiness. ``certificate`` chooses
        one of the card's certificates; by default the one :func:`kamusm.certs.signing_certificate`
        picks (of ``product``, if given). A wrong PIN raises
        :class:`~kamusm.errors.PinIncorrectError` with the state re-read after it; the key is
        found by the certificate's ``CKA_ID``, else by its public key
        (:class:`~kamusm.errors.SigningKeyNotFoundError`). Nothing keeps the PIN after the
        login; each signature takes the process-wide lock for its own call only.
        """
        opening = self._open_signing_session(
            [pin],
            certificate=certificate,
            product=product,
            acknowledge_final_try=acknowledge_final_try,
            unattended=unattended,
            clock=clock,
        )
        del pin
        return _without_arguments(opening)

    @contextlib.contextmanager
    def _open_signing_session(
        self,
        held: list[Pin],
        *,
        certificate: CertificateInfo | None,
        product: Product | None,
        acknowledge_final_try: bool,
        unattended: bool,
        clock: Clock | None,
    ) -> Iterator[SigningSession]:
        """:meth:`signing_session`'s body. The PIN comes in a list emptied at the login (or
        at the first failure), so the suspended generator keeps no reference to it."""
        logger.debug("Opening a signing session on token %s", self.serial)
        stack = contextlib.ExitStack()
        try:
            with _LOCK:
                signer = self._log_in_to_sign(
                    stack,
                    held,
                    certificate=certificate,
                    product=product,
                    acknowledge_final_try=acknowledge_final_try,
                    unattended=unattended,
                    clock=clock,
                )
        except BaseException as exc:
            held.clear()
            _scrub(exc)
            raise
        logger.info("Signing session open on token %s", self.serial)
        try:
            yield signer
        finally:
            with _LOCK:
                signer._close()
                stack.close()
            logger.debug("Signing session on token %s closed", self.serial)

    def _log_in_to_sign(
        self,
        stack: contextlib.ExitStack,
        held: list[Pin],
        *,
        certificate: CertificateInfo | None,
        product: Product | None,
        acknowledge_final_try: bool,
        unattended: bool,
        clock: Clock | None,
    ) -> SigningSession:
        """The guards, the login and the key search of a signing session (under the lock)."""
        from kamusm.readiness import assess  # noqa: PLC0415 - asn1crypto only when asked

        info = self._read()
        status = info.pin_status
        if unattended and (status.count_low or status.final_try or status.locked):
            logger.warning("Token %s shows a wrong PIN; unattended signing stops", self.serial)
            raise UnattendedSigningRefusedError(status=status)
        certs = self._card_certificates(refresh=False)
        # The card's product routes a locked or wrong PIN to the reset of that product alone.
        card_product = product or next((c.product for c in certs if c.product is not None), None)
        self._check_before_pin_attempt(
            info, held[0], acknowledge_final_try=acknowledge_final_try, product=card_product
        )
        if certificate is not None:
            if certificate.fingerprint_sha256 not in {c.fingerprint_sha256 for c in certs}:
                raise SigningKeyNotFoundError()
            certs = [c for c in certs if c.fingerprint_sha256 == certificate.fingerprint_sha256]
        now = (clock or SystemClock()).now()
        ready = assess(status, certs, now, product=product, expiry_warning_days=0)
        if not ready.may_sign_after_acknowledgement or ready.certificate is None:
            raise NotReadyToSignError(readiness=ready)
        chosen = ready.certificate
        # The card takes one login per application: a second session of this process on it
        # would be refused as CKR_USER_ALREADY_LOGGED_IN, which is no other application.
        held_by = (self._module.path, self.serial)
        if held_by in _OPEN_SIGNING_SESSIONS:
            raise SigningSessionOpenError()
        try:
            _OPEN_SIGNING_SESSIONS.add(held_by)
            stack.callback(_OPEN_SIGNING_SESSIONS.discard, held_by)
            session = stack.enter_context(self._session(rw=False))
            try:
                self._log_in(session, CKU_USER, held.pop(), step=_Step.USER_LOGIN)
            except PinIncorrectError as wrong:
                wrong.product = ready.product
                wrong.args = (wrong.message("en"),)
                raise
            stack.callback(self._log_out, session)
            with _Translated(_Step.SIGN):
                key = find_private_key(session, chosen)
            return SigningSession(
                certificate=chosen,
                key=key,
                lock=_LOCK,
                translated=functools.partial(_Translated, _Step.SIGN),
                ca_certificates=[c.der for c in self._card_certificates(refresh=False) if c.is_ca],
                clock=clock,
            )
        except BaseException:
            stack.close()
            raise

    def asigning_session(
        self,
        pin: Pin,
        *,
        certificate: CertificateInfo | None = None,
        product: Product | None = None,
        acknowledge_final_try: bool = False,
        unattended: bool = False,
        clock: Clock | None = None,
    ) -> contextlib.AbstractAsyncContextManager[AsyncSigningSession]:
        """:meth:`signing_session` for ``async with``: the same guards, login and key search,
        run in a worker thread, and an :class:`AsyncSigningSession` whose signatures run in
        one too. The logout and close run in a worker thread when the block ends, however it
        ends, shielded from cancellation; a session that opens for a task cancelled while it
        waited is closed at once, so no login outlives its caller."""
        opening = self._open_signing_session(
            [pin],
            certificate=certificate,
            product=product,
            acknowledge_final_try=acknowledge_final_try,
            unattended=unattended,
            clock=clock,
        )
        del pin
        return _without_arguments(self._aopen_signing_session(_without_arguments(opening)))

    @contextlib.asynccontextmanager
    async def _aopen_signing_session(
        self, opening: contextlib.AbstractContextManager[SigningSession]
    ) -> AsyncIterator[AsyncSigningSession]:
        signer = await _enter_in_thread(opening)
        try:
            yield AsyncSigningSession(signer)
        finally:
            import anyio  # noqa: PLC0415 - loaded only by async callers

            with anyio.CancelScope(shield=True):
                await _in_thread(opening.__exit__, None, None, None)

    # ---- the PIN ----

    def _check_before_pin_attempt(
        self,
        info: TokenInfo,
        pin: Pin,
        *,
        acknowledge_final_try: bool,
        product: Product | None = None,
    ) -> None:
        """Refuse, before the card is touched, an attempt that cannot or must not be made."""
        _refuse_code_shaped(pin)
        status = info.pin_status
        if not status.initialized:
            raise PinNotInitializedError()
        if status.locked:
            logger.info("PIN of token %s is locked; not trying", self.serial)
            raise PinLockedError(product=product)
        if status.final_try and not acknowledge_final_try:
            logger.info("PIN of token %s is on its final try; not acknowledged", self.serial)
            raise _FinalTryError()
        if not info.min_pin_length <= len(pin) <= info.max_pin_length:
            # The token could not take it, so it is not the PIN; no try is spent on it.
            raise PinIncorrectError(status=status, product=product)

    @_forgets_secrets
    def verify_pin(self, pin: Pin, *, acknowledge_final_try: bool = False) -> None:
        """Check the PIN by logging in and out. Never retried.

        Raises :class:`~kamusm.errors.PinIncorrectError` (with the state re-read after the
        attempt), :class:`~kamusm.errors.PinLockedError`, or, on the final try without
        ``acknowledge_final_try=True``, :class:`~kamusm.errors.FinalTryNotAcknowledgedError`.
        """
        logger.debug("Verifying the PIN of token %s", self.serial)
        with _LOCK:
            info = self._read()
            self._check_before_pin_attempt(info, pin, acknowledge_final_try=acknowledge_final_try)
            with (
                self._session(rw=False) as session,
                self._login(session, CKU_USER, pin, step=_Step.USER_LOGIN),
            ):
                pass
        logger.debug("PIN of token %s verified", self.serial)

    async def averify_pin(self, pin: Pin, *, acknowledge_final_try: bool = False) -> None:
        """:meth:`verify_pin` in a worker thread."""
        await _in_thread(self.verify_pin, pin, acknowledge_final_try=acknowledge_final_try)

    @_forgets_secrets
    def change_pin(self, old: Pin, new: Pin, *, acknowledge_final_try: bool = False) -> None:
        """Change the PIN (``C_Login`` with the old PIN, then ``C_SetPIN``). Never retried.

        A new PIN whose length the token does not take raises
        :class:`~kamusm.errors.PinRejectedByTokenError` before the card is touched. The old
        PIN is checked like :meth:`verify_pin`, so a wrong old PIN counts on every token.
        """
        logger.debug("Changing the PIN of token %s", self.serial)
        with _LOCK:
            info = self._read()
            self._check_before_pin_attempt(info, old, acknowledge_final_try=acknowledge_final_try)
            _refuse_code_shaped(new)
            if not info.min_pin_length <= len(new) <= info.max_pin_length:
                raise PinRejectedByTokenError()
            current = old.reveal()
            with (
                self._session(rw=True) as session,
                self._login(session, CKU_USER, old, step=_Step.USER_LOGIN),
                _Translated(_Step.SET_PIN),
            ):
                session.set_pin(current, new.reveal())
        logger.info("PIN of token %s changed", self.serial)

    async def achange_pin(self, old: Pin, new: Pin, *, acknowledge_final_try: bool = False) -> None:
        """:meth:`change_pin` in a worker thread."""
        await _in_thread(self.change_pin, old, new, acknowledge_final_try=acknowledge_final_try)

    @_forgets_secrets
    def unblock(
        self, authorization: UnblockAuthorization, new_pin: Pin, *, clock: Clock | None = None
    ) -> UnblockOutcome:
        """Set a new PIN with a single-use unblock authorization: SO login, ``C_InitPIN``,
        and, when the portal rotates the card's SO credential, ``C_SetPIN(SO)`` to the fresh
        one the authorization carries; then log out. Returns the
        :class:`~kamusm.values.UnblockOutcome` (also kept as ``authorization.outcome``, step
        by step, so that what was reached is known when a later step fails).

        The authorization is spent right before the SO login, once a session is open, and
        stays spent whatever the card answers, so its credentials reach the card at most once.
        Checks that fail first (another card, expired, already spent, new PIN length or shaped
        like a verification code, SO PIN locked or on its final try, two candidates
        (:class:`~kamusm.errors.SoCredentialUnknownError`) or a rotating authorization
        (:class:`~kamusm.errors.SoPinCountLowError`) on a card that shows an earlier SO
        failure, the session not opening) spend nothing and change nothing. With two
        candidate credentials the likelier is tried first; the other only if the card, read
        again, shows that refusal as its only SO failure and is not on its final try, so one
        unblock spends at most one wrong SO attempt (otherwise
        :class:`~kamusm.errors.SoCredentialUnknownError`). A refused credential raises
        :class:`~kamusm.errors.UnblockFailedError`; the user PIN is then as it was. When
        ``C_SetPIN`` fails after the new user PIN is set, the PIN stays set and the outcome
        says the SO credential was not changed (or, if the card went away during the call,
        that it is not known).
        """
        from kamusm.errors import SoCredentialUnknownError  # noqa: PLC0415

        logger.debug("Unblocking the PIN of token %s", self.serial)
        with _LOCK:
            info = self._read()
            _refuse_code_shaped(new_pin)
            if not info.min_pin_length <= len(new_pin) <= info.max_pin_length:
                raise PinRejectedByTokenError()
            if info.pin_status.so_locked:
                raise SoPinLockedError()
            if info.pin_status.so_final_try:
                # One more refused credential would make the card unusable: not on our watch.
                raise SoPinFinalTryError()
            if info.pin_status.so_count_low and authorization.candidates > 1:
                # Two candidates, one of them wrong, on a card that shows an earlier failure.
                raise SoCredentialUnknownError()
            if info.pin_status.so_count_low and authorization.rotates:
                # The portal's record of a rotated credential could be wrong: a refusal here
                # would be the card's second SO failure. The helpdesk decides, not a guess.
                raise SoPinCountLowError()
            with self._session(rw=True) as session:
                now = (clock or SystemClock()).now()  # read after waiting for the lock
                candidates, fresh = authorization.spend_all(card_serial=self.serial, now=now)
                _record_outcome(authorization, UnblockOutcome())  # spent; the card not touched yet
                logger.info("Unblock authorization for token %s spent", self.serial)
                _fault("spent")
                outcome = self._so_login(session, candidates, authorization)
                handle = int(cast(Any, session).handle)
                try:
                    _fault("so_login")
                    with _Translated(_Step.INIT_PIN):
                        session.init_pin(new_pin.reveal())
                    outcome = attrs.evolve(outcome, pin_set=True)
                    _record_outcome(authorization, outcome)
                    _fault("init_pin")
                    if fresh is not None and outcome.so_login is not None:
                        # While C_SetPIN runs the card may end up holding either credential:
                        # recorded as unknown first, so a failure report made meanwhile (or
                        # after a crash inside the call) keeps both candidates.
                        _record_outcome(authorization, attrs.evolve(outcome, so_changed=None))
                        outcome = self._change_so(
                            session, candidates[outcome.so_login], fresh, outcome
                        )
                        _record_outcome(authorization, outcome)
                        _fault("set_pin")
                finally:
                    try:
                        self._module._cryptoki.logout(handle)
                    except pe.PKCS11Error as exc:
                        logger.debug("Logging out failed: %s", type(exc).__name__)
                _fault("logout")
        logger.info(
            "PIN of token %s unblocked and set anew; SO credential %s",
            self.serial,
            "changed" if outcome.so_changed else "not changed",
        )
        return outcome

    def _so_login(
        self, session: Any, candidates: tuple[str, ...], authorization: UnblockAuthorization
    ) -> UnblockOutcome:
        """Log in as SO with the first candidate the card accepts; the second is tried only
        when the card, read again after the first refusal, shows no other failure and is not
        on its final try. Returns the outcome with the accepted candidate."""
        from kamusm.errors import SoCredentialUnknownError  # noqa: PLC0415

        wrong = 0
        for index, credential in enumerate(candidates):
            if index > 0:
                status = self._read().pin_status
                if status.so_locked or status.so_final_try or wrong > 1:
                    logger.warning(
                        "Token %s refused an SO candidate and shows no room for another",
                        self.serial,
                    )
                    raise SoCredentialUnknownError()
            try:
                self._log_in(session, CKU_SO, credential, step=_Step.SO_LOGIN)
            except UnblockFailedError as refused:
                counted = refused.code == "CKR_PIN_INCORRECT"
                wrong += 1 if counted else 0
                _record_outcome(authorization, UnblockOutcome(wrong_so_attempts=wrong))
                logger.info(
                    "Token %s refused SO candidate %d of %d (%s)",
                    self.serial,
                    index + 1,
                    len(candidates),
                    refused.code,
                )
                _fault("so_refused")
                if index + 1 == len(candidates):
                    if index > 0:
                        raise SoCredentialUnknownError() from None
                    raise
                continue
            outcome = UnblockOutcome(so_login=index, wrong_so_attempts=wrong)
            _record_outcome(authorization, outcome)
            return outcome
        raise SoCredentialUnknownError()  # pragma: no cover - the loop returns or raises

    def _change_so(
        self, session: Any, current: str, fresh: str, outcome: UnblockOutcome
    ) -> UnblockOutcome:
        """``C_SetPIN`` in the SO session: the card's SO credential becomes the fresh one. A
        refusal leaves it unchanged; the card going away during the call leaves it unknown.
        Never raises: the new user PIN is set by now."""
        try:
            _fault("so_change_sent")
            session.set_pin(current, fresh)
            _fault("so_change_answered")
        except pe.PKCS11Error as exc:
            name = PKCS11_ERRORS.get(type(exc), PKCS11_ERRORS[pe.PKCS11Error])[0]
            unchanged = isinstance(exc, _SET_SO_REFUSED)
            logger.warning(
                "Token %s: the SO credential could not be changed (%s); %s",
                self.serial,
                name,
                "it is unchanged" if unchanged else "whether it changed is unknown",
            )
            return attrs.evolve(outcome, so_changed=False if unchanged else None)
        return attrs.evolve(outcome, so_changed=True)

    async def aunblock(
        self, authorization: UnblockAuthorization, new_pin: Pin, *, clock: Clock | None = None
    ) -> UnblockOutcome:
        """:meth:`unblock` in a worker thread."""
        return await _in_thread(self.unblock, authorization, new_pin, clock=clock)


#: What ``C_SetPIN`` answers when it refused the change (the card's SO credential is as it
#: was); any other answer, a removal above all, leaves it unknown.
_SET_SO_REFUSED: Final = (
    pe.PinIncorrect,
    pe.PinLenRange,
    pe.PinInvalid,
    pe.PinTooWeak,
    pe.PinLocked,
    pe.FunctionNotSupported,
    pe.FunctionRejected,
    pe.ArgumentsBad,
    pe.SessionReadOnly,
    pe.UserNotLoggedIn,
    pe.TokenWriteProtected,
)

#: A test hook, ``None`` in use (set through :func:`kamusm._token_seam.unblock_fault`): called
#: by :meth:`Token.unblock` after each of its steps (``spent``, ``so_login``, ``init_pin``,
#: ``set_pin``, ``logout``) so that a test can fail it there, as a pulled card or a crash would,
#: after each SO candidate the card refused (``so_refused``), so that a test can read the
#: card's SO counter between two candidates, and right before and right after the
#: ``C_SetPIN(SO)`` call (``so_change_sent``, ``so_change_answered``), where a PKCS#11 error
#: the hook raises counts as the call's own answer (the card gone during the call).
_unblock_fault: Callable[[str], None] | None = None

#: The steps :meth:`Token.unblock` reports to :data:`_unblock_fault`, in order.
UNBLOCK_STEPS: Final = ("spent", "so_login", "init_pin", "set_pin", "logout")


def _fault(step: str) -> None:
    hook = _unblock_fault
    if hook is not None:
        hook(step)


def _certificate_object(obj: Any) -> CertificateObject:
    try:
        values = obj.get_attributes([Attribute.VALUE, Attribute.LABEL, Attribute.ID])
        der, label, object_id = (
            values[Attribute.VALUE],
            values[Attribute.LABEL],
            values[Attribute.ID],
        )
    except (pe.AttributeTypeInvalid, pe.AttributeSensitive):
        # Some tokens leave out CKA_ID or CKA_LABEL: read what is there.
        der = obj[Attribute.VALUE]
        label = _optional_attribute(obj, Attribute.LABEL, "")
        object_id = _optional_attribute(obj, Attribute.ID, b"")
    return CertificateObject(der=bytes(der), label=str(label), object_id=bytes(object_id))


def _optional_attribute(obj: Any, attribute: Attribute, default: _T) -> _T:
    try:
        return cast(_T, obj[attribute])
    except (pe.AttributeTypeInvalid, pe.AttributeSensitive):
        return default
