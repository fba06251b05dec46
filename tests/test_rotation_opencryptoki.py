"""The SO credential dies with its use, proved on opencryptoki's software token, which counts
SO failures (one wrong SO login sets ``SO_PIN_COUNT_LOW``, two ``SO_PIN_FINAL_TRY``, three
lock the token for good) and resets the count on a right one.

Every reset goes through the real sandbox over HTTP on 127.0.0.1, with a card profile that
rotates the SO credential. A fault is injected after every step of ``Token.unblock``
(authorization spent, SO login, ``C_InitPIN``, ``C_SetPIN(SO)``, logout: the last one is the
gap before the report) in three ways: the card pulled (the token layer raises
``TokenRemovedError``, the flow still reports what the card reached), a crash in the process
(nothing after it runs: no report), and a real ``kill -9`` of a child process doing the reset.
After each, the card opens with one consistent PIN, its SO counter is clean, and the next
complete reset succeeds; the SO counter is read from the card between candidates, so the
wrong SO attempts that reset spends are counted by the card, not by kamusm.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import attrs
import pkcs11
import pkcs11.exceptions as pe
import pytest

from kamusm import (
    Pin,
    PortalClient,
    Product,
    ResetResult,
    SoCredentialUnknownError,
    SoPinCountLowError,
    TokenRemovedError,
    UnblockFailedError,
    UnblockOutcome,
    _token_seam,
    reset_pin,
)
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.opencryptoki import OpencryptokiToken, fresh_opencryptoki_token
from kamusm.testing.prompts import ScriptedResetPrompts
from kamusm.testing.sandbox import RunningSandbox, TestHolder, certificate_records, follow_portal
from kamusm.token import UNBLOCK_STEPS
from kamusm.values import _issue_authorization
from tests.flow_parts import events, faulty_proxy, new_code
from tests.leak_canary import Secrets

pytestmark = pytest.mark.opencryptoki

ROOT = Path(__file__).resolve().parent.parent
OLD, FIRST, SECOND = "739164", "582936", "604713"
SO = "11223344"
#: The steps after which the new user PIN is set.
PIN_SET_AFTER = ("init_pin", "set_pin", "logout")
#: The steps after which the card holds the fresh SO credential.
SO_CHANGED_AFTER = ("set_pin", "logout")


class _Crash(BaseException):
    """A crash in the process: not an Exception, so nothing in kamusm handles it and nothing
    after it runs (no report reaches the portal)."""


# ---- the card, read without kamusm ----------------------------------------------------------


def so_counter(card: OpencryptokiToken) -> tuple[bool, bool, bool]:
    """``(count_low, final_try, locked)`` of the SO PIN, read from the card now."""
    flags = pkcs11.TokenFlag(card.module()._lib.get_token(token_label=card.label).flags)
    return (
        bool(flags & pkcs11.TokenFlag.SO_PIN_COUNT_LOW),
        bool(flags & pkcs11.TokenFlag.SO_PIN_FINAL_TRY),
        bool(flags & pkcs11.TokenFlag.SO_PIN_LOCKED),
    )


CLEAN = (False, False, False)


def so_login(card: OpencryptokiToken, credential: str) -> str:
    """Log in as SO with python-pkcs11, as a program holding the credential would: ``"ok"``
    or the name of the card's refusal."""
    with _token_seam.lock():
        raw = _token_seam.p11_token(card.module(), card.slot_id)
        try:
            with raw.open(rw=True, so_pin=credential):
                return "ok"
        except pe.PinIncorrect:
            return "CKR_PIN_INCORRECT"
        finally:
            # python-pkcs11 leaves the session of a failed login open: close them all.
            _token_seam.reinitialize_loaded(card.module_path)


@attrs.define
class Rig:
    sb: RunningSandbox
    holder: TestHolder
    card: OpencryptokiToken
    leaks: Secrets

    def secrets_of_the_portal(self) -> None:
        """Tell the canary every SO credential the portal holds for the card now."""
        self.leaks.add(*self.sb.portal.card_so_candidates(self.card.serial))

    def prompts(self, new_pin: str) -> ScriptedResetPrompts:
        code = new_code(self.sb, self.holder, Product.NES)
        self.leaks.add(code)

        def sms() -> str:
            answer = self.sb.last_sms_code(self.holder.phone).reveal()
            self.leaks.add(answer)
            return answer

        return ScriptedResetPrompts(
            codes=[code], card=self.card.serial, pins=[(new_pin, new_pin)], confirmations=[sms]
        )

    def reset(self, new_pin: str, hook: Callable[[str], None] | None = None) -> ResetResult:
        """One whole reset through the sandbox over HTTP, ``hook`` on the token layer's seam."""
        prompts = self.prompts(new_pin)
        try:
            with (
                PortalClient(self.sb.url, clock=self.sb.clock, timeout=5.0) as client,
                _token_seam.unblock_fault(hook or (lambda step: None)),
            ):
                return reset_pin(self.card.module(), client, prompts, clock=self.sb.clock)
        finally:
            self.leaks.seen(prompts, *prompts.problems)
            self.secrets_of_the_portal()


@pytest.fixture
def rig(
    opencryptoki_token: OpencryptokiToken,
    kamusm_sandbox: RunningSandbox,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> Rig:
    return make_rig(kamusm_sandbox, certificate_factory, leaks, rotate=True)


def make_rig(
    sb: RunningSandbox, factory: CertificateFactory, leaks: Secrets, *, rotate: bool
) -> Rig:
    holder = TestHolder.default()
    holder.register(sb.portal)
    issued = factory.nes_card(name=holder.name, tckn=holder.tckn)
    card = fresh_opencryptoki_token(
        pin=OLD, so_pin=SO, certificates=[c.as_token_object() for c in issued]
    )
    sb.portal.register_card(
        serial=card.serial,
        holder=holder.tckn,
        product=Product.NES,
        so_credential=SO,
        certificates=certificate_records(issued, Product.NES),
        rotate_so_credential=rotate,
    )
    follow_portal(card, sb.portal)
    leaks.add(OLD, FIRST, SECOND, SO, holder.password)
    return Rig(sb=sb, holder=holder, card=card, leaks=leaks)


class Watch:
    """A seam hook that reads the card's SO counter right after each refused candidate (the
    card's own count of the wrong SO attempts an unblock spends)."""

    def __init__(self, card: OpencryptokiToken) -> None:
        self.card = card
        self.after_refusal: list[tuple[bool, bool, bool]] = []

    def __call__(self, step: str) -> None:
        if step == "so_refused":
            self.after_refusal.append(so_counter(self.card))

    @property
    def wrong(self) -> int:
        return len(self.after_refusal)


def recover(rig: Rig) -> int:
    """After a fault: the card is consistent and unlocked, and a following complete reset
    succeeds; returns the wrong SO attempts it spent (counted by the card)."""
    card = rig.card
    assert so_counter(card) == CLEAN
    rig.sb.advance(61)  # the faulted operation's authorization runs out
    watch = Watch(card)
    result = rig.reset(SECOND, hook=watch)
    assert result.reported
    for counter in watch.after_refusal:
        assert counter == (True, False, False)  # the card counted that refusal, once
    assert so_counter(card) == CLEAN  # the right one reset the count
    card.token().verify_pin(Pin(SECOND))
    assert len(rig.sb.portal.card_so_candidates(card.serial)) == 1  # the portal knows again
    completed = [
        e["detail"]
        for e in rig.sb.portal.audit_log()
        if e["event"] == "operation.completed" and e["card_serial"] == card.serial
    ]
    assert completed[-1]["wrong_so_attempts"] == watch.wrong  # the report said what the card did
    assert so_login(card, card.so_pin.reveal()) == "ok"  # and what it knows is the card's
    return watch.wrong


def pin_after_fault(card: OpencryptokiToken, step: str) -> None:
    """The card opens with the one user PIN the step left (no wrong PIN is tried)."""
    card.token().verify_pin(Pin(FIRST if step in PIN_SET_AFTER else OLD))
    status = card.token().pin_status()
    assert not (status.locked or status.count_low or status.so_count_low)


# ---- the released credential is dead after use ---------------------------------------------------


@pytest.mark.parametrize("rotate", [True, False], ids=["rotation", "no-rotation"])
def test_the_credential_a_completed_reset_released_no_longer_opens_the_card(
    opencryptoki_token: OpencryptokiToken,
    kamusm_sandbox: RunningSandbox,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
    rotate: bool,
) -> None:
    """A program that ran a whole reset with the raw API keeps what the confirmation released
    (the credential and the fresh one), and sets the card's PIN itself. After the holder's own
    next reset, neither opens the card as SO: the card answers CKR_PIN_INCORRECT. Without
    rotation (the twin case) the kept credential still opens it, which is the attack."""
    import httpx

    rig = make_rig(kamusm_sandbox, certificate_factory, leaks, rotate=rotate)
    sb, card = rig.sb, rig.card
    code = new_code(sb, rig.holder, Product.NES)
    leaks.add(code)
    with httpx.Client(base_url=sb.url + "/api/v1", trust_env=False) as raw:
        op = raw.post(
            "/operations", json={"verification_code": code.reveal(), "card_serial": card.serial}
        ).json()
        capability = {"operation_id": op["operation_id"], "verification_code": code.reveal()}
        raw.post("/operations/challenge", json=capability).raise_for_status()
        sms = sb.last_sms_code(rig.holder.phone).reveal()
        leaks.add(sms, op["operation_id"])
        answer = raw.post("/operations/confirm", json={**capability, "answer": sms})
        released = answer.json()["authorization"]
        kept = [released["credential"], released["next_credential"]]
        kept = [k for k in kept if k is not None]
        leaks.add(*kept)
        # the attacker's own card work, through kamusm, with what the portal gave it
        auth = _issue_authorization(
            released["credential"],
            card_serial=card.serial,
            expires_at=sb.clock.now() + sb.portal.settings.authorization_validity,
            fresh_credential=released["next_credential"],
        )
        outcome = card.token().unblock(auth, Pin(FIRST), clock=sb.clock)
        raw.post(
            "/operations/result",
            json={**capability, "success": True, "so_credential_changed": outcome.so_changed},
        ).raise_for_status()
    assert kept == ([SO, kept[1]] if rotate else [SO])

    rig.reset(SECOND)  # the holder's own reset
    card.token().verify_pin(Pin(SECOND))

    for credential in kept:
        refused = so_login(card, credential)
        if rotate:
            assert refused == "CKR_PIN_INCORRECT"
            assert so_counter(card) == (True, False, False)
            assert so_login(card, card.so_pin.reveal()) == "ok"  # the count is reset
        else:
            assert refused == "ok"  # the fixed credential: whoever kept it keeps the card
    assert so_counter(card) == CLEAN
    assert (card.so_pin.reveal() in kept) is not rotate


# ---- a fault between every pair of steps ----------------------------------------------------


@pytest.mark.parametrize("step", UNBLOCK_STEPS)
def test_a_card_pulled_after_each_step_is_reported_and_the_next_reset_spends_no_wrong_so_try(
    rig: Rig, step: str
) -> None:
    """The card goes away after ``step``: the token layer raises, the flow still reports what
    the card reached, so the portal knows which SO credential it holds: the next reset tries
    exactly that one (no wrong SO attempt)."""

    def pulled(at: str) -> None:
        if at == step:
            raise TokenRemovedError(code="CKR_DEVICE_REMOVED")

    with pytest.raises(TokenRemovedError) as caught:
        rig.reset(FIRST, hook=pulled)
    rig.leaks.seen(caught.value)
    assert events(rig.sb, rig.card.serial)[-1] == "operation.failed"  # the report arrived
    assert len(rig.sb.portal.card_so_candidates(rig.card.serial)) == 1
    changed = step in SO_CHANGED_AFTER
    assert (rig.card.so_pin.reveal() == SO) is not changed
    pin_after_fault(rig.card, step)
    assert recover(rig) == 0


#: Wrong SO attempts the next reset spends after a crash with no report: the portal offers the
#: fresh credential first (an unblock that never reported most likely lost only its report).
WRONG_AFTER_CRASH = {"spent": 1, "so_login": 1, "init_pin": 1, "set_pin": 0, "logout": 0}


@pytest.mark.parametrize("step", UNBLOCK_STEPS)
def test_a_crash_after_each_step_leaves_two_candidates_and_the_next_reset_spends_at_most_one(
    rig: Rig, step: str
) -> None:
    """The process dies after ``step`` (nothing after it runs, no report): the portal keeps
    both candidates, the next confirmation releases both (and a fresh one), the token layer
    finds the one the card holds and spends at most one wrong SO attempt on the way."""

    def crash(at: str) -> None:
        if at == step:
            raise _Crash

    with pytest.raises(_Crash):
        rig.reset(FIRST, hook=crash)
    assert events(rig.sb, rig.card.serial)[-1] == "operation.authorized"  # no report
    assert len(rig.sb.portal.card_so_candidates(rig.card.serial)) == 2
    pin_after_fault(rig.card, step)
    wrong = recover(rig)
    authorized = [
        e["detail"]
        for e in rig.sb.portal.audit_log()
        if e["event"] == "operation.authorized" and e["card_serial"] == rig.card.serial
    ]
    assert [a["so_candidates"] for a in authorized] == [1, 2]  # both released the second time
    assert wrong == WRONG_AFTER_CRASH[step]


@pytest.mark.parametrize("step", UNBLOCK_STEPS)
def test_a_reset_killed_with_sigkill_after_each_step_leaves_a_card_the_next_reset_opens(
    rig: Rig, step: str
) -> None:
    """A child process runs the reset and is killed with SIGKILL while it waits right after
    ``step`` (its session is still open then: no clean-up runs)."""
    sb, card = rig.sb, rig.card
    code = new_code(sb, rig.holder, Product.NES)
    rig.leaks.add(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.rotation_child",
            sb.url,
            card.module_path,
            card.serial,
            sb.clock.now().isoformat(),
            step,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        stdin, stdout = child.stdin, child.stdout
        assert stdin is not None and stdout is not None
        send(stdin, code.reveal(), FIRST)
        assert stdout.readline().strip() == "sms?"
        sms = sb.last_sms_code(rig.holder.phone).reveal()
        rig.leaks.add(sms)
        send(stdin, sms)
        assert stdout.readline().strip() == f"at {step}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    _token_seam.reinitialize_loaded(card.module_path)  # the card changed under this process
    rig.secrets_of_the_portal()
    assert events(sb, card.serial)[-1] == "operation.authorized"  # no report
    pin_after_fault(card, step)
    assert recover(rig) == WRONG_AFTER_CRASH[step]


def send(stream: IO[str], *lines: str) -> None:
    stream.write("".join(line + "\n" for line in lines))
    stream.flush()


# ---- the token layer's rules with two candidates ------------------------------------------------


def test_two_candidates_on_a_card_that_shows_an_earlier_so_failure_spend_nothing(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    assert so_login(card, "99887766") == "CKR_PIN_INCORRECT"  # someone else's wrong try
    auth = card.unblock_authorization(other_credential="55443322")
    with pytest.raises(SoCredentialUnknownError) as caught:
        card.token().unblock(auth, Pin(FIRST))
    assert not auth.is_spent  # refused before the card was touched
    assert so_counter(card) == (True, False, False)  # no second failure
    assert "Kamu SM" in caught.value.message("tr") and "Kamu SM" in caught.value.message("en")
    card.token().verify_pin(Pin(OLD))


def test_a_rotating_authorization_on_a_card_that_shows_an_earlier_so_failure_spends_nothing(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """One candidate and a fresh credential, on a card whose SO counter shows another
    program's wrong try: no SO attempt (the portal's record could be wrong, and a refusal would
    be the card's second failure), a typed refusal that sends the holder to Kamu SM."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    assert so_login(card, "99887766") == "CKR_PIN_INCORRECT"
    auth = card.unblock_authorization(rotate=True)
    assert (auth.candidates, auth.rotates) == (1, True)
    with pytest.raises(SoPinCountLowError) as caught:
        card.token().unblock(auth, Pin(FIRST))
    assert not auth.is_spent
    assert so_counter(card) == (True, False, False)  # no second failure
    for language in ("tr", "en"):
        assert "Kamu SM" in caught.value.message(language)
    card.token().verify_pin(Pin(OLD))
    assert so_login(card, SO) == "ok"  # the card's credential is still the one it had


def test_without_rotation_the_fixed_credential_is_still_tried_on_a_card_with_an_so_failure(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """The twin case: a card profile without rotation keeps its one fixed credential, which
    the card takes; its right answer clears the count."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    assert so_login(card, "99887766") == "CKR_PIN_INCORRECT"
    outcome = card.token().unblock(card.unblock_authorization(), Pin(FIRST))
    assert (outcome.so_login, outcome.wrong_so_attempts, outcome.so_changed) == (0, 0, False)
    assert so_counter(card) == CLEAN
    card.token().verify_pin(Pin(FIRST))


def test_a_reset_on_a_card_with_an_earlier_so_failure_is_refused_and_reported_untouched(
    rig: Rig,
) -> None:
    """Through the flow over HTTP: the refusal comes before the spend, the failure report
    says the card was untouched, and the portal keeps the one credential the card holds."""
    assert so_login(rig.card, "99887766") == "CKR_PIN_INCORRECT"
    with pytest.raises(SoPinCountLowError) as caught:
        rig.reset(FIRST)
    rig.leaks.seen(caught.value)
    assert so_counter(rig.card) == (True, False, False)
    assert rig.sb.portal.card_so_candidates(rig.card.serial) == [SO]
    assert events(rig.sb, rig.card.serial)[-1] == "operation.failed"
    rig.card.token().verify_pin(Pin(OLD))


def test_the_likelier_candidate_wrong_the_other_is_tried_once_and_the_count_is_reset(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    auth = _issue_authorization(
        "99887766",
        card_serial=card.serial,
        expires_at=card.unblock_authorization().expires_at,
        other_credential=SO,
    )
    watch = Watch(card)
    with _token_seam.unblock_fault(watch):
        outcome = card.token().unblock(auth, Pin(FIRST))
    assert watch.after_refusal == [(True, False, False)]
    assert (outcome.so_login, outcome.wrong_so_attempts, outcome.pin_set) == (1, 1, True)
    assert outcome.so_changed is False  # no fresh credential: nothing to change
    assert so_counter(card) == CLEAN
    card.token().verify_pin(Pin(FIRST))


def test_two_wrong_candidates_stop_before_the_final_try_is_spent(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """Both candidates wrong (the portal's record is off): the second is tried only while
    the card shows that single failure; after it nothing more is tried, the card is on its
    final SO try, not locked, and the user PIN is as it was."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    auth = _issue_authorization(
        "99887766",
        card_serial=card.serial,
        expires_at=card.unblock_authorization().expires_at,
        other_credential="55443322",
    )
    with pytest.raises(SoCredentialUnknownError):
        card.token().unblock(auth, Pin(FIRST))
    assert auth.outcome is not None and auth.outcome.wrong_so_attempts == 2
    assert so_counter(card) == (False, True, False)
    card.token().verify_pin(Pin(OLD))
    assert so_login(card, SO) == "ok"


def test_a_set_pin_the_card_refuses_leaves_the_new_pin_set_and_the_so_credential_unchanged(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """The fresh credential is longer than the card takes (8): ``C_SetPIN`` is refused after
    ``C_InitPIN``; the new user PIN is set and the outcome says the SO credential was not
    changed, which is the truth on the card."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    auth = _issue_authorization(
        SO,
        card_serial=card.serial,
        expires_at=card.unblock_authorization().expires_at,
        fresh_credential="123456789",
    )
    outcome = card.token().unblock(auth, Pin(FIRST))
    assert (outcome.pin_set, outcome.so_changed, outcome.so_login) == (True, False, 0)
    card.token().verify_pin(Pin(FIRST))
    assert so_login(card, SO) == "ok"


def test_while_the_so_change_runs_the_outcome_says_unknown(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """Inside the ``C_SetPIN(SO)`` call the authorization's outcome already says the SO
    credential is not known (a report made then, or after a crash there, keeps both); the
    card going away during the call (python-pkcs11's CKR_DEVICE_REMOVED raised from inside
    it) leaves it unknown, not "unchanged"."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    auth = card.unblock_authorization(rotate=True)
    during: list[UnblockOutcome | None] = []

    def gone_during_the_call(step: str) -> None:
        if step == "so_change_sent":
            during.append(auth.outcome)
            raise pe.DeviceRemoved()

    with _token_seam.unblock_fault(gone_during_the_call):
        outcome = card.token().unblock(auth, Pin(FIRST))
    assert during == [UnblockOutcome(so_login=0, pin_set=True, so_changed=None)]
    assert outcome == UnblockOutcome(so_login=0, pin_set=True, so_changed=None)
    assert auth.outcome == outcome and not outcome.so_known
    card.token().verify_pin(Pin(FIRST))
    assert so_login(card, SO) == "ok"  # the call never reached the card


#: Where inside ``C_SetPIN(SO)`` the card goes away, whether the card took the fresh
#: credential, and the wrong SO attempts the next reset spends (the fresh one is tried first).
GONE_DURING_THE_CALL = [("so_change_sent", False, 1), ("so_change_answered", True, 0)]


@pytest.mark.parametrize(("at", "took_fresh", "wrong_next"), GONE_DURING_THE_CALL)
def test_the_card_gone_during_the_so_change_keeps_both_candidates_at_the_portal(
    rig: Rig, at: str, took_fresh: bool, wrong_next: int
) -> None:
    """Through the flow over HTTP: CKR_DEVICE_REMOVED from inside ``C_SetPIN(SO)``, before
    the card wrote the fresh credential or after it wrote it and before the answer came. The
    new PIN is set, the report says the change is unknown, and the portal keeps both
    candidates; the next reset finds the one the card holds, spending at most one wrong SO
    attempt, counted by the card."""

    def gone(step: str) -> None:
        if step == at:
            raise pe.DeviceRemoved()

    result = rig.reset(FIRST, hook=gone)
    assert result.reported
    assert events(rig.sb, rig.card.serial)[-1] == "operation.completed"
    candidates = rig.sb.portal.card_so_candidates(rig.card.serial)
    assert len(candidates) == 2 and candidates[1] == SO
    assert so_login(rig.card, candidates[0] if took_fresh else SO) == "ok"
    rig.card.token().verify_pin(Pin(FIRST))
    assert recover(rig) == wrong_next


def test_the_fixture_follows_the_so_pin_a_rotating_unblock_sets(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    outcome = card.token().unblock(card.unblock_authorization(rotate=True), Pin(FIRST))
    assert outcome.so_changed is True
    assert card.so_pin.reveal() != SO
    assert so_login(card, card.so_pin.reveal()) == "ok"
    assert so_login(card, SO) == "CKR_PIN_INCORRECT"
    assert so_login(card, card.so_pin.reveal()) == "ok"


def test_a_refused_credential_with_rotation_is_reported_and_the_fresh_one_dropped(
    rig: Rig,
) -> None:
    """The portal's record is wrong (the card holds another SO PIN): one wrong SO attempt,
    UnblockFailedError, and the report tells the portal the fresh credential was never set."""
    assert so_login(rig.card, SO) == "ok"
    # the card's SO PIN changed behind the portal's back
    with _token_seam.lock():
        raw = _token_seam.p11_token(rig.card.module(), rig.card.slot_id)
        with raw.open(rw=True, so_pin=SO) as session:
            session.set_pin(SO, "22446688")
    rig.leaks.add("22446688")
    with pytest.raises(UnblockFailedError):
        rig.reset(FIRST)
    assert so_counter(rig.card) == (True, False, False)
    assert rig.sb.portal.card_so_candidates(rig.card.serial) == [SO]
    rig.card.token().verify_pin(Pin(OLD))
    assert so_login(rig.card, "22446688") == "ok"


_WRONG_SO_LOGIN = """
import sys
import pkcs11
token = pkcs11.lib(sys.argv[1]).get_token(token_label=sys.argv[2])
try:
    token.open(rw=True, so_pin=sys.stdin.readline().strip())
except pkcs11.exceptions.PinIncorrect:
    print("refused")
"""


def test_the_other_candidate_is_not_tried_once_the_card_shows_its_final_so_try(
    opencryptoki_token: OpencryptokiToken,
) -> None:
    """Between the two candidates another program spends a wrong SO attempt of its own (a
    child process): the card, read again, is on its final SO try, so the right candidate is
    not tried either: nothing may risk the last try."""
    card = fresh_opencryptoki_token(pin=OLD, so_pin=SO)
    auth = _issue_authorization(
        "99887766",
        card_serial=card.serial,
        expires_at=card.unblock_authorization().expires_at,
        other_credential=SO,
    )

    def another_program(step: str) -> None:
        if step == "so_refused":
            done = subprocess.run(
                [sys.executable, "-c", _WRONG_SO_LOGIN, card.module_path, card.label],
                input="55443322\n",
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            assert done.stdout.strip() == "refused"

    with _token_seam.unblock_fault(another_program), pytest.raises(SoCredentialUnknownError):
        card.token().unblock(auth, Pin(FIRST))
    assert auth.outcome is not None and auth.outcome.wrong_so_attempts == 1
    assert so_counter(card) == (False, True, False)  # the final try is still there
    card.token().verify_pin(Pin(OLD))
    assert so_login(card, SO) == "ok"


def test_the_network_gone_before_the_report_leaves_the_fresh_credential_first(rig: Rig) -> None:
    """The card part completes and the portal becomes unreachable right after the logout (a
    real TCP proxy in front of the sandbox goes down): neither report arrives, the portal keeps
    both candidates, and the next reset opens the card with the fresh one at once."""
    sb, card = rig.sb, rig.card
    prompts = rig.prompts(FIRST)
    with faulty_proxy(sb.url) as proxy:

        def network_gone(step: str) -> None:
            if step == "logout":
                proxy.go_down()

        with (
            PortalClient(proxy.url, clock=sb.clock, timeout=5.0, retries=0) as client,
            _token_seam.unblock_fault(network_gone),
        ):
            result = reset_pin(card.module(), client, prompts, clock=sb.clock)
    assert not result.reported  # the PIN is set; only the report could not be made
    rig.leaks.seen(result, prompts, *prompts.problems)
    rig.secrets_of_the_portal()
    assert events(sb, card.serial)[-1] == "operation.authorized"  # nothing was heard
    assert len(sb.portal.card_so_candidates(card.serial)) == 2
    pin_after_fault(card, "logout")
    assert recover(rig) == 0


# ---- a client that lies about the card --------------------------------------------------------


def lying_report(rig: Rig) -> str:
    """A program with the raw API runs a whole operation up to the confirmation, never
    touches the card, and reports ``so_credential_changed: true``. Returns the fresh
    credential the portal released to it (now the portal's record, wrongly)."""
    import httpx

    sb, card = rig.sb, rig.card
    code = new_code(sb, rig.holder, Product.NES)
    rig.leaks.add(code)
    with httpx.Client(base_url=sb.url + "/api/v1", trust_env=False) as raw:
        op = raw.post(
            "/operations", json={"verification_code": code.reveal(), "card_serial": card.serial}
        ).json()
        capability = {"operation_id": op["operation_id"], "verification_code": code.reveal()}
        raw.post("/operations/challenge", json=capability).raise_for_status()
        sms = sb.last_sms_code(rig.holder.phone).reveal()
        rig.leaks.add(sms, op["operation_id"])
        released = raw.post("/operations/confirm", json={**capability, "answer": sms}).json()
        fresh: str = released["authorization"]["next_credential"]
        rig.leaks.add(released["authorization"]["credential"], fresh)
        lie = {**capability, "success": True, "so_credential_changed": True}
        raw.post("/operations/result", json=lie).raise_for_status()
    sb.advance(61)
    return fresh


def test_a_lying_report_costs_at_most_one_wrong_so_attempt_and_never_the_final_try(
    rig: Rig,
) -> None:
    """The limit of what the portal can know: a report that says the card took the fresh
    credential when the card was never touched makes the portal's record wrong, and the
    holder's next reset spends one wrong SO attempt on it (UnblockFailedError, the PIN as it
    was). Nothing more: with the card's SO counter showing that failure, every later reset is
    refused before the card is touched (SoPinCountLowError), however often the program lies
    again, so the card never reaches its final SO try. The credential the lie made the
    portal drop, the one the card holds, is kept retired for the helpdesk and opens it."""
    sb, card = rig.sb, rig.card
    fresh = lying_report(rig)
    assert sb.portal.card_so_candidates(card.serial) == [fresh]  # the lie was believed
    assert sb.portal.card_so_retired(card.serial) == [SO]
    assert so_counter(card) == CLEAN

    with pytest.raises(UnblockFailedError) as failed:
        rig.reset(FIRST)
    rig.leaks.seen(failed.value)
    assert so_counter(card) == (True, False, False)  # one wrong SO attempt, counted by the card
    card.token().verify_pin(Pin(OLD))

    for _ in range(2):
        lying_report(rig)
        with pytest.raises(SoPinCountLowError) as refused:
            rig.reset(SECOND)
        rig.leaks.seen(refused.value)
        assert so_counter(card) == (True, False, False)  # nothing more spent: no final try
    card.token().verify_pin(Pin(OLD))

    reports = [
        e["detail"].get("wrong_so_attempts")
        for e in sb.portal.audit_log()
        if e["card_serial"] == card.serial and e["event"] == "operation.failed"
    ]
    assert reports == [1, 0, 0]  # the operator sees the one refusal the holder's resets made
    helpdesk = sb.portal.card_so_retired(card.serial)
    assert SO in helpdesk
    assert so_login(card, SO) == "ok"  # the retired credential is the card's; the count clears
    assert so_counter(card) == CLEAN
