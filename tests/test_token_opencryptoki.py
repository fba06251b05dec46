"""Every rule about counting wrong PINs, on opencryptoki's software token, which really counts
and locks (SoftHSM2 does not). The token is wiped and initialised for each test. No test here
enters a wrong SO PIN: a locked SO PIN could only be cleared by wiping the token."""

from __future__ import annotations

import os
from pathlib import Path

import pkcs11
import pytest

from kamusm import _token_seam
from kamusm.errors import (
    FinalTryNotAcknowledgedError,
    PinIncorrectError,
    PinLockedError,
    PinRejectedByTokenError,
    Pkcs11ModuleNotFoundError,
    TokenBusyError,
)
from kamusm.testing import opencryptoki
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.token import Pkcs11Module
from kamusm.values import Pin, PinStatus

pytestmark = pytest.mark.opencryptoki

WRONG = Pin("999999")


def spend_tries(card: OpencryptokiToken, count: int) -> list[PinStatus]:
    """Enter ``count`` wrong PINs (acknowledging the final try) and return each state after."""
    token = card.token()
    states = []
    for _ in range(count):
        with pytest.raises(PinIncorrectError) as caught:
            token.verify_pin(WRONG, acknowledge_final_try=True)
        assert caught.value.status is not None
        states.append(caught.value.status)
    return states


def test_fresh_token_reports_its_own_pin_limits(opencryptoki_token: OpencryptokiToken) -> None:
    info = opencryptoki_token.token().info
    assert (info.min_pin_length, info.max_pin_length) == (4, 8)
    assert info.pin_status == PinStatus(initialized=True)
    assert info.slot_id == opencryptoki.SLOT_ID


def test_one_wrong_pin_sets_count_low(opencryptoki_token: OpencryptokiToken) -> None:
    (after,) = spend_tries(opencryptoki_token, 1)
    assert (after.count_low, after.final_try, after.locked) == (True, False, False)
    assert opencryptoki_token.token().pin_status() == after


def test_two_wrong_pins_reach_the_final_try_and_the_next_attempt_needs_acknowledgement(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    token = opencryptoki_token.token()
    with pytest.raises(PinIncorrectError):
        token.verify_pin(WRONG)
    with pytest.raises(PinIncorrectError) as caught:
        token.verify_pin(WRONG)
    assert caught.value.status is not None and caught.value.status.final_try
    assert caught.value.attempts_remaining == 1
    assert "Bir sonraki hatalı girişte PIN kilitlenecektir" in caught.value.message("tr")

    # Refused without touching the card: even the right PIN needs the acknowledgement, and
    # the state after the refusals is still the final try.
    for pin in (WRONG, opencryptoki_token.pin):
        with pytest.raises(FinalTryNotAcknowledgedError):
            token.verify_pin(pin)
    with pytest.raises(FinalTryNotAcknowledgedError):
        token.change_pin(opencryptoki_token.pin, Pin("24681357"))
    assert token.pin_status().final_try
    assert not token.pin_status().locked


def test_acknowledged_third_wrong_pin_locks_and_then_even_the_right_pin_is_refused(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    states = spend_tries(opencryptoki_token, 3)
    assert [s.summary for s in states] == ["count_low", "final_try", "locked"]
    assert states[-1].attempts_remaining == 0
    token = opencryptoki_token.token()
    with pytest.raises(PinLockedError) as caught:
        token.verify_pin(opencryptoki_token.pin, acknowledge_final_try=True)
    assert caught.value.message("tr").startswith("PIN kilitli.")
    assert "PIN Oluşturma/Kilit Çözme" in caught.value.message("tr")
    with pytest.raises(PinLockedError):
        token.change_pin(opencryptoki_token.pin, Pin("24681357"))
    assert token.pin_status().locked


def test_the_card_itself_refuses_a_locked_pin(opencryptoki_token: OpencryptokiToken) -> None:
    """Not only kamusm's own check: python-pkcs11 straight on the locked card says PinLocked."""
    spend_tries(opencryptoki_token, 3)
    lib = pkcs11.lib(opencryptoki_token.module().path)
    raw = lib.get_token(token_label=opencryptoki_token.label)
    with pytest.raises(pkcs11.exceptions.PinLocked):
        raw.open(user_pin=opencryptoki_token.pin.reveal())
    # python-pkcs11 leaves the failed login's session open; through the token layer, which
    # keeps opencryptoki from closing a file of this process (kamusm._cryptoki)
    _token_seam.reinitialize_loaded(opencryptoki_token.module_path)


def test_unblock_after_lockout_sets_the_new_pin_and_clears_every_flag(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    spend_tries(opencryptoki_token, 3)
    token = opencryptoki_token.token()
    authorization = opencryptoki_token.unblock_authorization()
    new = Pin("24681357")
    token.unblock(authorization, new)
    assert authorization.is_spent
    status = token.pin_status()
    assert (status.locked, status.final_try, status.count_low) == (False, False, False)
    token.verify_pin(new)
    with pytest.raises(PinIncorrectError):
        token.verify_pin(opencryptoki_token.pin)


def test_a_right_pin_resets_the_count(opencryptoki_token: OpencryptokiToken) -> None:
    spend_tries(opencryptoki_token, 2)
    token = opencryptoki_token.token()
    token.verify_pin(opencryptoki_token.pin, acknowledge_final_try=True)
    assert token.pin_status() == PinStatus(initialized=True)


def test_change_pin_with_a_wrong_old_pin_counts(opencryptoki_token: OpencryptokiToken) -> None:
    """opencryptoki's C_SetPIN alone does not count a wrong old PIN; kamusm logs in with the old
    PIN first, so a wrong one counts as on a real card."""
    token = opencryptoki_token.token()
    with pytest.raises(PinIncorrectError) as caught:
        token.change_pin(WRONG, Pin("24681357"))
    assert caught.value.status is not None and caught.value.status.count_low
    token.verify_pin(opencryptoki_token.pin)


def test_change_pin_within_the_cards_limits(opencryptoki_token: OpencryptokiToken) -> None:
    token = opencryptoki_token.token()
    with pytest.raises(PinRejectedByTokenError):
        token.change_pin(opencryptoki_token.pin, Pin("123456789"))  # 9 > the card's 8
    assert token.pin_status() == PinStatus(initialized=True)
    token.change_pin(opencryptoki_token.pin, Pin("86420975"))
    token.verify_pin(Pin("86420975"))


def test_another_holder_of_an_so_session_makes_the_card_busy(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    token = opencryptoki_token.token()
    lib = pkcs11.lib(opencryptoki_token.module().path)
    raw = lib.get_token(token_label=opencryptoki_token.label)
    held = raw.open(rw=True, so_pin=opencryptoki_token.so_pin.reveal())
    try:
        with pytest.raises(TokenBusyError):
            token.verify_pin(opencryptoki_token.pin)
    finally:
        held.close()
    assert token.pin_status() == PinStatus(initialized=True)


def test_bringing_up_again_reuses_the_running_daemon(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    pid = opencryptoki._daemon_pid()
    assert pid is not None
    opencryptoki.fresh_opencryptoki_token()
    assert opencryptoki._daemon_pid() == pid
    assert opencryptoki.CONF_PATH.read_text().count("kamusm test token (") == 1


def stop_if_kamusms(token: OpencryptokiToken, pid: int) -> bool:
    """Stop the running pkcsslotd when kamusm started it (``True``). One that kamusm did not
    start is never signalled: stopping it is refused and it keeps running (``False``)."""
    if opencryptoki.started_by_kamusm(pid):
        opencryptoki._finalize_in_process(token.module_path)
        opencryptoki._stop_daemon(pid)
        return True
    with pytest.raises(RuntimeError, match="not started by kamusm"):
        opencryptoki._stop_daemon(pid)
    assert opencryptoki._daemon_pid() == pid
    return False


def test_a_stale_pid_file_is_cleared_and_the_daemon_started(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """A pid file naming a process that is not pkcsslotd (this test's own pid) is stale."""
    pid = opencryptoki._daemon_pid()
    assert pid is not None
    if not stop_if_kamusms(opencryptoki_token, pid):
        return  # the machine's own daemon: refused, left running (asserted there)
    pid_file = next(p for p in opencryptoki._PID_FILES if p.parent.exists())
    pid_file.write_text(f"{os.getpid()}\n")
    card = opencryptoki.fresh_opencryptoki_token()
    new_pid = opencryptoki._daemon_pid()
    assert new_pid is not None and new_pid != os.getpid()
    assert Path(f"/proc/{new_pid}/comm").read_text().strip() == "pkcsslotd"
    card.token().verify_pin(card.pin)


def test_without_its_daemon_the_module_is_reported_with_a_hint(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """opencryptoki answers C_Initialize with CKR_HOST_MEMORY when pkcsslotd is not running."""
    pid = opencryptoki._daemon_pid()
    assert pid is not None
    if not stop_if_kamusms(opencryptoki_token, pid):
        return  # the machine's own daemon: refused, left running (asserted there)
    try:
        with pytest.raises(Pkcs11ModuleNotFoundError) as caught:
            Pkcs11Module.open(opencryptoki_token.module_path)
        ((_, reason),) = caught.value.tried
        assert "CKR_HOST_MEMORY" in reason and "pkcsslotd" in reason
    finally:
        card = opencryptoki.fresh_opencryptoki_token()
    card.token().verify_pin(card.pin)
