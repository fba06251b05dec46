"""The seam between the token layer and the test helpers of :mod:`kamusm.testing`.

Making a test token needs a few things the library proper never does: ``C_InitToken`` on a free
slot, reading a slot whose token is not initialised yet, finalising or re-initialising a module
this process loaded, and python-pkcs11's own objects for the helper's sessions. They are here,
under the token layer's lock, so that :mod:`kamusm.testing` needs none of
:mod:`kamusm.token`'s private names. Nothing in the library imports this module.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pkcs11

from kamusm import _cryptoki
from kamusm._cryptoki import LOCK

if TYPE_CHECKING:
    from kamusm.token import Pkcs11Module, TokenInfo
    from kamusm.values import Pin

__all__ = [
    "finalize_loaded",
    "free_slot",
    "init_token",
    "lock",
    "p11_library",
    "p11_token",
    "reinitialize_loaded",
    "slot_info",
    "unblock_fault",
]


def lock() -> threading.RLock:
    """The process-wide lock every PKCS#11 call is made under (re-entrant)."""
    return LOCK


def p11_library(module: Pkcs11Module) -> Any:
    """The python-pkcs11 library object of a loaded module."""
    return module._lib


def p11_token(module: Pkcs11Module, slot_id: int) -> Any:
    """A python-pkcs11 Token for the slot, whatever token is in it now (call under :func:`lock`)."""
    slot = next((s for s in module._lib.get_slots() if s.slot_id == slot_id), None)
    if slot is None:
        raise LookupError(f"the module offers no slot {slot_id}")
    return slot.get_token()


def slot_info(module: Pkcs11Module, slot_id: int) -> TokenInfo:
    """What the token in the slot says (``C_GetTokenInfo``), initialised or not."""
    from kamusm.token import TokenInfo  # noqa: PLC0415 - the token layer imports this seam lazily

    with LOCK:
        return TokenInfo._from_cryptoki(module._cryptoki.token_info(slot_id), slot_id)


def free_slot(module: Pkcs11Module) -> int | None:
    """The first slot whose token is not initialised (SoftHSM2 always offers one)."""
    initialized = int(pkcs11.TokenFlag.TOKEN_INITIALIZED)
    with LOCK:
        for slot in module._lib.get_slots():
            if not module._cryptoki.token_info(slot.slot_id).flags & initialized:
                return int(slot.slot_id)
    return None


def init_token(module: Pkcs11Module, slot_id: int, so_pin: Pin | str, label: str) -> None:
    """``C_InitToken``: a new token in the slot with this SO PIN and label (wipes the slot)."""
    secret = so_pin if isinstance(so_pin, str) else so_pin.reveal()
    with LOCK:
        module._cryptoki.init_token(slot_id, secret.encode("utf-8"), label)


def _loaded(module_path: str) -> list[Any]:
    real = os.path.realpath(module_path)
    return [
        lib
        for path, lib in list(pkcs11._loaded.items())
        if os.path.realpath(path) == real and lib.initialized
    ]


def reinitialize_loaded(module_path: str) -> None:
    """If this process initialised the module, finalise and initialise it again (it reads its
    configuration anew, and every session of the process is closed)."""
    with LOCK:
        for lib in _loaded(module_path):
            _cryptoki.reinitialize(lib)


def finalize_loaded(module_path: str) -> None:
    """If this process initialised the module, finalise it (the next open initialises it)."""
    with LOCK:
        for lib in _loaded(module_path):
            _cryptoki.finalize(lib)


@contextlib.contextmanager
def unblock_fault(hook: Callable[[str], None]) -> Iterator[None]:
    """While the block runs, ``Token.unblock`` calls ``hook(step)`` after each of its steps
    (``kamusm.token.UNBLOCK_STEPS``: ``spent``, ``so_login``, ``init_pin``, ``set_pin``,
    ``logout``), after each SO candidate the card refused (``so_refused``), and right before
    and after the ``C_SetPIN(SO)`` call (``so_change_sent``, ``so_change_answered``: a
    PKCS#11 error raised there is taken as the call's answer); a hook that raises fails the
    unblock there, as a pulled card or a crash would. For fault-injection
    tests only."""
    from kamusm import token  # noqa: PLC0415 - the token layer imports this seam lazily

    with LOCK:
        token._unblock_fault = hook
    try:
        yield
    finally:
        with LOCK:
            token._unblock_fault = None
