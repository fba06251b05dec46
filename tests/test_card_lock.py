"""The seams between the PKCS#11 layer and the reader layer: one lock for both, and the slot
description that names a card's reader."""

from __future__ import annotations

import threading

from kamusm import _cardlock
from kamusm import token as token_module
from kamusm.testing.softhsm import SoftHsmToken


def test_token_layer_uses_the_shared_card_lock() -> None:
    """The reader probe and PKCS#11 calls exclude each other through the same lock object."""
    assert token_module._LOCK is _cardlock.CARD_LOCK


def test_a_pkcs11_call_waits_while_the_card_lock_is_held(softhsm_token: SoftHsmToken) -> None:
    """While another thread holds the card lock (as the reader probe does), a token call does
    not run; it runs once the lock is released."""
    module = softhsm_token.module()
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with _cardlock.CARD_LOCK:
            held.set()
            release.wait()

    def caller() -> None:
        module.tokens()
        done.set()

    t_holder = threading.Thread(target=holder)
    t_holder.start()
    held.wait()
    t_caller = threading.Thread(target=caller)
    t_caller.start()
    t_caller.join(timeout=0.2)
    assert not done.is_set()
    release.set()
    t_caller.join()
    t_holder.join()
    assert done.is_set()


def test_token_info_carries_the_slot_description(softhsm_token: SoftHsmToken) -> None:
    """Each listed token says which slot (for a card driver: which reader) it sits in, and a
    fresh read keeps it."""
    token = softhsm_token.token()
    assert token.info.slot_description.startswith("SoftHSM slot")
    assert token.read_info().slot_description == token.info.slot_description
