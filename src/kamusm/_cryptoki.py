"""The ctypes layer of the token: the few Cryptoki calls python-pkcs11 0.10.1 does not offer.

Private to the token layer (:mod:`kamusm.token`, and the seam :mod:`kamusm._token_seam` that the
test helpers use). The module file is opened a second time with ``ctypes``; the dynamic loader
hands back the copy python-pkcs11 already initialised, so these calls act on the same sessions:
``C_GetTokenInfo`` (python-pkcs11 hides the PIN length limits), ``C_Login`` / ``C_Logout`` on a
session python-pkcs11 opened (its own login leaves a session behind when it fails), and
``C_InitToken`` for the test helpers. Return codes become the python-pkcs11 exception classes
they would have been, so they meet the token layer's one translation table.

:data:`LOCK` is the process-wide lock every PKCS#11 call is made under.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Final

import pkcs11.exceptions as pe

from kamusm._cardlock import CARD_LOCK

__all__ = [
    "CKU_SO",
    "CKU_USER",
    "LOCK",
    "RV_EXCEPTIONS",
    "CkTokenInfo",
    "Cryptoki",
    "finalize",
    "raise_rv",
    "reinitialize",
    "text",
]

logger = logging.getLogger(__name__)

# One lock for every PKCS#11 call in the process: python-pkcs11 and the modules it loads are not
# thread-safe (unlocked threads destroyed a SoftHSM token here). Re-entrant, so an operation can
# hold it across its status read, login and PIN call. It is the card lock the reader layer
# (kamusm.pcsc) takes too.
LOCK: Final = CARD_LOCK

CK_ULONG = ctypes.c_ulong
_PACK = 1 if sys.platform == "win32" else 0  # Cryptoki structures are packed to 1 on Windows
CKU_SO = 0
CKU_USER = 1
# The CK_FUNCTION_LIST entries up to C_Logout, in the order of the standard.
_FUNCTIONS = (
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetFunctionList",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
)

# Return codes of the few calls made through ctypes, as the python-pkcs11 classes they would be,
# so that they reach the same translation point.
RV_EXCEPTIONS: Final[Mapping[int, type[pe.PKCS11Error]]] = {
    0x02: pe.HostMemory,
    0x03: pe.SlotIDInvalid,
    0x05: pe.GeneralError,
    0x06: pe.FunctionFailed,
    0x07: pe.ArgumentsBad,
    0x30: pe.DeviceError,
    0x31: pe.DeviceMemory,
    0x32: pe.DeviceRemoved,
    0x50: pe.FunctionCancelled,
    0x54: pe.FunctionNotSupported,
    0x90: pe.OperationActive,
    0xA0: pe.PinIncorrect,
    0xA1: pe.PinInvalid,
    0xA2: pe.PinLenRange,
    0xA3: pe.PinExpired,
    0xA4: pe.PinLocked,
    0xB0: pe.SessionClosed,
    0xB1: pe.SessionCount,
    0xB3: pe.SessionHandleInvalid,
    0xB5: pe.SessionReadOnly,
    0xB6: pe.SessionExists,
    0xB7: pe.SessionReadOnlyExists,
    0xB8: pe.SessionReadWriteSOExists,
    0xE0: pe.TokenNotPresent,
    0xE1: pe.TokenNotRecognised,
    0xE2: pe.TokenWriteProtected,
    0x100: pe.UserAlreadyLoggedIn,
    0x101: pe.UserNotLoggedIn,
    0x102: pe.UserPinNotInitialized,
    0x104: pe.AnotherUserAlreadyLoggedIn,
    0x105: pe.UserTooManyTypes,
    0x1B8: pe.PinTooWeak,
    0x200: pe.FunctionRejected,
}


class _CkVersion(ctypes.Structure):
    _pack_ = _PACK
    _fields_ = (("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte))


class CkTokenInfo(ctypes.Structure):
    _pack_ = _PACK
    _fields_ = (
        ("label", ctypes.c_char * 32),
        ("manufacturerID", ctypes.c_char * 32),
        ("model", ctypes.c_char * 16),
        ("serialNumber", ctypes.c_char * 16),
        ("flags", CK_ULONG),
        ("ulMaxSessionCount", CK_ULONG),
        ("ulSessionCount", CK_ULONG),
        ("ulMaxRwSessionCount", CK_ULONG),
        ("ulRwSessionCount", CK_ULONG),
        ("ulMaxPinLen", CK_ULONG),
        ("ulMinPinLen", CK_ULONG),
        ("ulTotalPublicMemory", CK_ULONG),
        ("ulFreePublicMemory", CK_ULONG),
        ("ulTotalPrivateMemory", CK_ULONG),
        ("ulFreePrivateMemory", CK_ULONG),
        ("hardwareVersion", _CkVersion),
        ("firmwareVersion", _CkVersion),
        ("utcTime", ctypes.c_char * 16),
    )


class _CkFunctionList(ctypes.Structure):
    _pack_ = _PACK
    _fields_ = (("version", _CkVersion), *((name, ctypes.c_void_p) for name in _FUNCTIONS))


def raise_rv(rv: int) -> None:
    if rv != 0:
        raise RV_EXCEPTIONS.get(rv, pe.PKCS11Error)(f"Unmapped error code {hex(rv)}")


def text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip(" \x00")


class Cryptoki:
    """The few Cryptoki functions kamusm calls through ctypes, on an already loaded module.

    Call only while holding :data:`LOCK` and after python-pkcs11 initialised the module.
    """

    def __init__(self, path: str) -> None:
        self._dll = ctypes.CDLL(path)
        table = ctypes.POINTER(_CkFunctionList)()
        raise_rv(self._dll.C_GetFunctionList(ctypes.byref(table)))
        funcs = table.contents
        ulong, ptr = CK_ULONG, ctypes.c_char_p
        self._get_token_info = ctypes.CFUNCTYPE(ulong, ulong, ctypes.POINTER(CkTokenInfo))(
            funcs.C_GetTokenInfo
        )
        self._login = ctypes.CFUNCTYPE(ulong, ulong, ulong, ptr, ulong)(funcs.C_Login)
        self._logout = ctypes.CFUNCTYPE(ulong, ulong)(funcs.C_Logout)
        self._init_token = ctypes.CFUNCTYPE(ulong, ulong, ptr, ulong, ptr)(funcs.C_InitToken)

    def token_info(self, slot_id: int) -> CkTokenInfo:
        info = CkTokenInfo()
        raise_rv(self._get_token_info(slot_id, ctypes.byref(info)))
        return info

    def login(self, session_handle: int, user_type: int, pin: bytes) -> None:
        raise_rv(self._login(session_handle, user_type, pin, len(pin)))

    def logout(self, session_handle: int) -> None:
        raise_rv(self._logout(session_handle))

    def init_token(self, slot_id: int, so_pin: bytes, label: str) -> None:
        """C_InitToken: for the test helpers in :mod:`kamusm.testing` only."""
        padded = label.encode("utf-8")[:32].ljust(32, b" ")
        raise_rv(self._init_token(slot_id, so_pin, len(so_pin), padded))


# ---- C_Finalize and opencryptoki's API lock -------------------------------------------------
#
# opencryptoki's API layer (libopencryptoki 3.8, usr/lib/api/apiutil.c) keeps the fd of its
# cross-process lock file LCK..APIlock in a static variable. The first C_Initialize of a process
# opens the file; C_Finalize closes the fd but keeps the number, and a later C_Initialize opens
# the file again only when the number is -1, so it never does. From then on the module flocks,
# and every C_Finalize closes, whatever the process has opened at that number since: a
# program that finalises the module twice (``Pkcs11Module.rescan`` while waiting for a card, the
# test helpers wiping their token) loses one of its own files, seen here as a SQLite WAL file
# closed under the sandbox ("disk I/O error"). The cause is in opencryptoki and cannot be
# removed from here; it is contained: around each C_Finalize, the file at that number is put
# back at it (the lock file opened anew when it was the lock file), so the number never falls
# free for another file to take and the module's later flock and close meet the lock file, as
# the module takes them to. Another thread that opens a file during the C_Finalize itself may
# still get the number: that is logged, and the file is put back after the next C_Finalize.

_API_LOCK_NAME = "LCK..APIlock"
#: The fd number opencryptoki's API layer holds its lock at, once seen (under :data:`LOCK`).
_api_lock_number: int | None = None
#: The lock file's path, as the number showed it.
_api_lock_path: str | None = None


def _fd_target(number: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{number}")
    except OSError:
        return None


def _is_api_lock(target: str | None) -> bool:
    if target is None:
        return False
    path = target.removesuffix(" (deleted)")
    return os.path.basename(path) == _API_LOCK_NAME and "opencryptoki" in path


def _identity(number: int) -> tuple[int, int] | None:
    try:
        stat = os.fstat(number)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _learn_api_lock() -> int | None:
    """The number of opencryptoki's API lock, looked up in ``/proc/self/fd`` until seen once
    (before the module's first C_Finalize it is open exactly once)."""
    global _api_lock_number, _api_lock_path  # noqa: PLW0603 (one module state per process)
    if _api_lock_number is None:
        try:
            names = os.listdir("/proc/self/fd")
        except OSError:
            return None  # not Linux: opencryptoki does not run there
        found = [int(n) for n in names if n.isdigit() and _is_api_lock(_fd_target(int(n)))]
        if len(found) == 1:
            _api_lock_number = found[0]
            _api_lock_path = (_fd_target(found[0]) or "").removesuffix(" (deleted)")
    return _api_lock_number


def _put_back(number: int, saved: int | None) -> None:
    """Put ``saved`` (or the lock file, opened anew) at ``number`` if it is free still."""
    import fcntl  # noqa: PLC0415 (POSIX only; reached only where /proc/self/fd exists)

    source = saved
    if source is None:
        path = _api_lock_path if _api_lock_path and os.path.exists(_api_lock_path) else None
        source = os.open(path or os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        if source == number:  # the lowest free number: it is back where the module keeps it
            return
    try:
        # The lowest free number from ``number`` up: ``number`` itself unless taken meanwhile.
        got = fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, number)
        if got != number:
            os.close(got)
            logger.warning(
                "fd %s of opencryptoki's API lock was taken by another file during C_Finalize; "
                "it is put back after the next C_Finalize",
                number,
            )
    finally:
        if saved is None:
            os.close(source)


def _finalize_keeping_api_lock(lib: Any) -> None:
    number = _learn_api_lock()
    if number is None:
        lib.finalize()
        return
    before = _identity(number)
    was_lock = before is None or _is_api_lock(_fd_target(number))
    saved = None if was_lock else os.dup(number)
    try:
        lib.finalize()
    finally:
        try:
            if _identity(number) != before or before is None:  # the module closed it
                _put_back(number, saved)
        finally:
            if saved is not None:
                os.close(saved)


def finalize(lib: Any) -> None:
    """``C_Finalize`` a python-pkcs11 library (see the note above on opencryptoki's lock)."""
    with LOCK:
        _finalize_keeping_api_lock(lib)


def reinitialize(lib: Any) -> None:
    """``C_Finalize`` then ``C_Initialize`` a python-pkcs11 library, as its ``reinitialize``."""
    with LOCK:
        _finalize_keeping_api_lock(lib)
        lib.initialize()
