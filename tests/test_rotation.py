"""The SO credential's rotation on the portal's side and on SoftHSM2 (which refuses a wrong SO
PIN but does not count it: the counting is proved in ``test_rotation_opencryptoki.py``).

The portal keeps the card's current SO credential and the pending fresh ones until a report
says which the card holds; these tests drive it over real HTTP on 127.0.0.1 with the client
and, for what the client would never send, with raw JSON.
"""

from __future__ import annotations

import copy
import pickle
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pkcs11.exceptions as pe
import pytest

from kamusm import (
    AsyncPortalClient,
    ConflictError,
    OperationCancelledError,
    Pin,
    PortalClient,
    Product,
    TokenNotFoundError,
    TokenRemovedError,
    UnblockAuthorization,
    UnblockOutcome,
    _token_seam,
    areset_pin,
    reset_pin,
)
from kamusm._portal_admin import SandboxAdmin
from kamusm.errors import AuthorizationExpiredError, AuthorizationSpentError, InputError
from kamusm.flows import ChangeStep, ResetStep
from kamusm.portal import Operation
from kamusm.sandbox import SandboxPortal
from kamusm.sandbox._portal import fresh_so_credential
from kamusm.testing.prompts import ScriptedResetPrompts
from kamusm.testing.sandbox import RunningSandbox, TestHolder, provision_softhsm_card
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.values import ManualClock, _issue_authorization, _record_outcome
from tests.flow_parts import new_code
from tests.leak_canary import Secrets, exception_texts

CARD = "AKIS0000ROT00001"
SO = "48210937"
OLD, NEW, NEWER = "739164", "582936", "604713"
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def holder(kamusm_sandbox: RunningSandbox) -> TestHolder:
    person = TestHolder.default()
    person.register(kamusm_sandbox.portal)
    return person


@pytest.fixture
def paper_card(kamusm_sandbox: RunningSandbox, holder: TestHolder) -> str:
    """A card the portal knows, with no token behind it: the portal's bookkeeping only."""
    kamusm_sandbox.portal.register_card(
        serial=CARD, holder=holder.tckn, product=Product.NES, so_credential=SO
    )
    return CARD


def authorize(
    sb: RunningSandbox, holder: TestHolder, serial: str
) -> tuple[PortalClient, Operation, UnblockAuthorization]:
    """Redeem, challenge and confirm with the client: the operation and its authorization."""
    client = PortalClient(sb.url, clock=sb.clock, timeout=5.0)
    code = new_code(sb, holder, Product.NES)
    op = client.redeem(code, card_serial=serial)
    client.request_challenge(op)
    auth = client.confirm_challenge(op, sb.last_sms_code(holder.phone))
    return client, op, auth


def spent(auth: UnblockAuthorization, serial: str, sb: RunningSandbox) -> tuple[list[str], str]:
    candidates, fresh = auth.spend_all(card_serial=serial, now=sb.clock.now())
    assert fresh is not None
    return list(candidates), fresh


# ---- the portal's record -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "current", "left"),
    [
        (UnblockOutcome(so_login=0, pin_set=True, so_changed=True), "fresh", 1),
        (UnblockOutcome(so_login=0, pin_set=True, so_changed=False), "old", 1),
        (UnblockOutcome(), "old", 1),  # refused before the SO login: the fresh one is dropped
        (UnblockOutcome(so_login=0, pin_set=True, so_changed=None), "old", 2),  # cut mid-change
        (None, "old", 2),  # no word about the SO credential
    ],
    ids=["changed", "unchanged", "no-login", "change-unknown", "no-outcome"],
)
def test_the_report_tells_the_portal_which_so_credential_the_card_holds(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    paper_card: str,
    outcome: UnblockOutcome | None,
    current: str,
    left: int,
) -> None:
    sb = kamusm_sandbox
    client, op, auth = authorize(sb, holder, paper_card)
    assert (auth.candidates, auth.rotates) == (1, True)
    candidates, fresh = spent(auth, paper_card, sb)
    assert candidates == [SO] and fresh != SO and len(fresh) == len(SO) and fresh.isdigit()
    assert sb.portal.card_so_candidates(paper_card) == [fresh, SO]  # pending before it left
    with client:
        client.report_result(op, success=True, outcome=outcome)
    assert sb.portal.card_so_credential(paper_card) == (fresh if current == "fresh" else SO)
    assert len(sb.portal.card_so_candidates(paper_card)) == left
    # what a report dropped is kept, retired, for the helpdesk; what it kept is not retired
    retired = sb.portal.card_so_retired(paper_card)
    assert retired == ([SO] if current == "fresh" else [fresh] if left == 1 else [])


def test_an_unreported_unblock_makes_the_next_confirmation_release_both_candidates(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    """The first desktop crashed (no report): the second authorization carries both the
    pending and the current credential, the pending one first, and a new fresh one. Its
    report names the candidate the card accepted, and the portal knows again."""
    sb = kamusm_sandbox
    first_client, _, first = authorize(sb, holder, paper_card)
    first_client.close()
    _, fresh1 = spent(first, paper_card, sb)
    with pytest.raises(ConflictError) as busy:  # its authorization may still be being spent
        authorize(sb, holder, paper_card)
    assert busy.value.reason == "operation_in_progress"
    sb.advance(61)
    client, op, second = authorize(sb, holder, paper_card)
    assert second.candidates == 2
    candidates, fresh2 = spent(second, paper_card, sb)
    assert candidates == [fresh1, SO]
    assert fresh2 not in (fresh1, SO)
    # the card held the current one (the first crashed before C_SetPIN), and took the fresh
    with client:
        client.report_result(
            op,
            success=True,
            outcome=UnblockOutcome(so_login=1, wrong_so_attempts=1, pin_set=True, so_changed=True),
        )
    assert sb.portal.card_so_candidates(paper_card) == [fresh2]
    assert _so_audit(sb, paper_card)[-1] == ("rotated", 1)  # the wrong attempt, kept


def _so_audit(sb: RunningSandbox, serial: str) -> list[tuple[object, object]]:
    return [
        (e["detail"].get("so_credential"), e["detail"].get("wrong_so_attempts"))
        for e in sb.portal.audit_log()
        if e["card_serial"] == serial and e["event"] in ("operation.failed", "operation.completed")
    ]


def test_the_accepted_candidate_becomes_current_when_the_change_was_refused(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    sb = kamusm_sandbox
    authorize(sb, holder, paper_card)[0].close()
    first = sb.portal.card_so_candidates(paper_card)[0]
    sb.advance(61)
    client, op, auth = authorize(sb, holder, paper_card)
    with client:
        client.report_result(
            op,
            success=True,
            outcome=UnblockOutcome(so_login=0, pin_set=True, so_changed=False),
        )
    assert sb.portal.card_so_candidates(paper_card) == [first]  # the pending one, confirmed
    assert auth.candidates == 2


def test_three_possible_credentials_are_refused_before_any_card_is_touched(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    """Two unblocks in a row that never reported: the card may hold any of three credentials,
    more than one unblock may tell apart (one wrong SO attempt). The next redemption is
    refused with a reason the holder reads as "contact Kamu SM"."""
    sb = kamusm_sandbox
    for _ in range(2):
        authorize(sb, holder, paper_card)[0].close()
        sb.advance(61)
    assert len(sb.portal.card_so_candidates(paper_card)) == 3
    with pytest.raises(ConflictError) as refused:
        authorize(sb, holder, paper_card)
    assert refused.value.reason == "so_credential_unknown"
    assert "Kamu SM" in refused.value.message("tr")
    assert "Kamu SM" in refused.value.message("en")


def test_a_late_report_of_an_older_unblock_is_refused_and_changes_nothing(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    """Only the card's newest release counts: the desktop of an older authorization cannot
    make its fresh credential current once a newer operation has replaced it."""
    sb = kamusm_sandbox
    old_client, old_op, _ = authorize(sb, holder, paper_card)
    sb.advance(61)
    client, _, _ = authorize(sb, holder, paper_card)
    client.close()
    before = sb.portal.card_so_candidates(paper_card)
    with old_client, pytest.raises(OperationCancelledError):
        old_client.report_result(
            old_op, success=True, outcome=UnblockOutcome(so_login=0, so_changed=True)
        )
    assert sb.portal.card_so_candidates(paper_card) == before


def test_a_report_off_the_contract_is_refused_and_changes_nothing(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    sb = kamusm_sandbox
    client, op, _ = authorize(sb, holder, paper_card)
    client.close()
    before = sb.portal.card_so_candidates(paper_card)
    capability = {
        "operation_id": op.operation_id,
        "verification_code": op.verification_code.reveal(),
    }
    with httpx.Client(base_url=sb.url + "/api/v1", trust_env=False) as raw:
        for extra in (
            {"so_credential_login": "third_credential"},
            {"so_credential_changed": "yes"},
            {"so_credential_changed": 1},
            {"wrong_so_attempts": 3},
            {"wrong_so_attempts": -1},
            {"wrong_so_attempts": "1"},
            {"wrong_so_attempts": True},
            {"wrong_so_attempts": 1.5},
        ):
            answer = raw.post("/operations/result", json={**capability, "success": True, **extra})
            assert answer.status_code == 400
            assert answer.json()["error"] == "bad_request"
    assert sb.portal.card_so_candidates(paper_card) == before


def test_without_rotation_the_card_keeps_its_fixed_credential(
    kamusm_sandbox: RunningSandbox, holder: TestHolder
) -> None:
    """A card profile registered (over the admin API) with rotation off: no fresh credential
    is released, and a report's SO fields change nothing."""
    sb = kamusm_sandbox
    admin = SandboxAdmin.over_http(sb.url, sb.admin_token)
    admin.register_card(
        serial=CARD,
        holder=holder.tckn.value,
        product="nes",
        so_credential=SO,
        rotate_so_credential=False,
    )
    for _ in range(2):
        client, op, auth = authorize(sb, holder, CARD)
        assert (auth.candidates, auth.rotates) == (1, False)
        assert auth.spend_all(card_serial=CARD, now=sb.clock.now()) == ((SO,), None)
        with client:
            client.report_result(op, success=True, outcome=UnblockOutcome(so_changed=True))
        assert sb.portal.card_so_candidates(CARD) == [SO]


def test_a_database_from_before_the_rotation_opens_and_its_cards_keep_their_credential(
    tmp_path: Path, holder: TestHolder
) -> None:
    db = tmp_path / "old.sqlite3"
    key = bytes(range(32))
    with SandboxPortal(db, master_secret=key, clock=ManualClock()) as portal:
        holder.register(portal)
        portal.register_card(serial=CARD, holder=holder.tckn, product=Product.NES, so_credential=SO)
    raw = sqlite3.connect(db)
    for table, column in (
        ("cards", "so_rotation"),
        ("cards", "so_pending"),
        ("cards", "so_operation"),
        ("operations", "so_fresh"),
        ("operations", "so_released"),
    ):
        raw.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    raw.commit()
    raw.close()
    with SandboxPortal(db, master_secret=key, clock=ManualClock()) as reopened:
        row = reopened._db.execute("SELECT so_rotation FROM cards").fetchone()
        assert row["so_rotation"] == 0
        assert reopened.card_so_credential(CARD) == SO


@pytest.mark.parametrize("like", ["48210937", "1234", "SoCredential-7391", "x"])
def test_a_fresh_credential_has_the_shape_the_card_took(like: str) -> None:
    made = {fresh_so_credential(like) for _ in range(50)}
    assert like not in made
    assert all(len(m) == len(like) for m in made)
    assert all(m.isdigit() for m in made) is like.isdigit()
    assert all(m.isascii() and m.isalnum() for m in made)
    assert len(made) > 1 or len(like) == 1


# ---- the value -----------------------------------------------------------------------------------


def test_an_authorization_with_two_candidates_and_a_fresh_one_hides_all_and_spends_once() -> None:
    auth = _issue_authorization(
        "11112222",
        card_serial="C1",
        expires_at=T0 + timedelta(minutes=1),
        other_credential="33334444",
        fresh_credential="55556666",
    )
    for shown in (repr(auth), str(auth), f"{auth}"):
        for secret in ("11112222", "33334444", "55556666"):
            assert secret not in shown
    with pytest.raises(TypeError):
        pickle.dumps(auth)
    with pytest.raises(TypeError):
        copy.copy(auth)
    with pytest.raises(TypeError):
        UnblockAuthorization("11112222")
    assert not hasattr(auth, "record")  # only the token layer says what the card reached
    with pytest.raises(InputError):
        _record_outcome(auth, UnblockOutcome())  # nothing to record before it is spent
    assert (auth.candidates, auth.rotates, auth.outcome) == (2, True, None)
    assert auth.spend_all(card_serial="C1", now=T0) == (("11112222", "33334444"), "55556666")
    assert auth.outcome == UnblockOutcome(so_changed=None)  # spent by hand: not known
    with pytest.raises(AuthorizationSpentError):
        auth.spend_all(card_serial="C1", now=T0)
    with pytest.raises(AuthorizationSpentError):
        auth.spend(card_serial="C1", now=T0)


@pytest.mark.parametrize(
    "extra",
    [{"other_credential": "11112222"}, {"other_credential": ""}, {"fresh_credential": ""}],
)
def test_an_authorization_is_not_made_of_repeated_or_empty_candidates(
    extra: dict[str, str],
) -> None:
    with pytest.raises(InputError):
        _issue_authorization("11112222", card_serial="C1", expires_at=T0, **extra)


# ---- on a SoftHSM2 card, through the flows ----------------------------------------------------


@pytest.fixture
def card(kamusm_sandbox: RunningSandbox, holder: TestHolder) -> SoftHsmToken:
    return provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin=OLD)


def prompts(
    sb: RunningSandbox, holder: TestHolder, serial: str, pin: str, leaks: Secrets
) -> ScriptedResetPrompts:
    code = new_code(sb, holder, Product.NES)
    leaks.add(code)

    def sms() -> str:
        answer = sb.last_sms_code(holder.phone).reveal()
        leaks.add(answer)
        return answer

    return ScriptedResetPrompts(codes=[code], card=serial, pins=[(pin, pin)], confirmations=[sms])


def so_refusal(card: SoftHsmToken, credential: str) -> str:
    """An SO login with python-pkcs11, as a program that kept the credential would try."""
    with _token_seam.lock():
        raw = card.module()._lib.get_token(token_serial=card.serial.encode())
        try:
            with raw.open(rw=True, so_pin=credential):
                return "ok"
        except pe.PinIncorrect:
            return "CKR_PIN_INCORRECT"
        finally:
            _token_seam.reinitialize_loaded(card.module_path)


def test_a_reset_rotates_the_card_and_the_fresh_credential_leaks_nowhere(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """A whole reset: the card's SO PIN is the portal's new record, the released one no longer
    opens it, and neither the old nor the fresh credential is in a log record (the sandbox's
    own included: it runs in this process), the output, a repr, a message or the sandbox's
    database files (its write-ahead log included)."""
    sb = kamusm_sandbox
    leaks.add(OLD, NEW, card.so_pin, holder.password)
    released = card.so_pin.reveal()
    script = prompts(sb, holder, card.serial, NEW, leaks)
    with PortalClient(sb.url, clock=sb.clock, timeout=5.0) as client:
        result = reset_pin(card.module(), client, script, clock=sb.clock)
    leaks.seen(result, script, *script.problems, card)
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(fresh)
    assert result.reported
    assert fresh != released and card.so_pin.reveal() == fresh
    assert so_refusal(card, released) == "CKR_PIN_INCORRECT"
    assert so_refusal(card, fresh) == "ok"
    card.token().verify_pin(Pin(NEW))
    files = list(Path(sb.portal.database).parent.glob("sandbox.sqlite3*"))
    stored = b"".join(f.read_bytes() for f in files)
    assert card.serial.encode() in stored  # the scan sees what is stored
    for secret in (released, fresh):
        assert secret.encode() not in stored
    entries = repr(sb.portal.audit_log())
    assert released not in entries and fresh not in entries


def test_a_failure_after_the_change_is_reported_and_no_error_carries_a_credential(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The card is pulled right after ``C_SetPIN(SO)``: the error (and its whole cause chain)
    holds no credential, and the failure report still tells the portal the card holds the
    fresh one, which it does."""
    sb = kamusm_sandbox
    leaks.add(OLD, NEW, card.so_pin, holder.password)
    released = card.so_pin.reveal()

    def pulled(step: str) -> None:
        if step == "set_pin":
            raise TokenRemovedError(code="CKR_DEVICE_REMOVED")

    script = prompts(sb, holder, card.serial, NEW, leaks)
    with (
        PortalClient(sb.url, clock=sb.clock, timeout=5.0) as client,
        _token_seam.unblock_fault(pulled),
        pytest.raises(TokenRemovedError) as caught,
    ):
        reset_pin(card.module(), client, script, clock=sb.clock)
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(fresh)
    leaks.seen(caught.value, script, *script.problems)
    chain = "\n".join(exception_texts(caught.value))
    assert released not in chain and fresh not in chain
    assert fresh != released and sb.portal.card_so_candidates(card.serial) == [fresh]
    assert so_refusal(card, fresh) == "ok"


@pytest.mark.anyio
async def test_the_async_reset_reports_the_rotation_too(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    sb = kamusm_sandbox
    leaks.add(OLD, NEWER, card.so_pin, holder.password)
    released = card.so_pin.reveal()
    script = prompts(sb, holder, card.serial, NEWER, leaks)
    async with AsyncPortalClient(sb.url, clock=sb.clock, timeout=5.0) as client:
        result = await areset_pin(card.module(), client, script, clock=sb.clock)
    assert result.reported
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(fresh)
    assert sb.portal.card_so_candidates(card.serial) == [fresh] and fresh != released
    assert so_refusal(card, fresh) == "ok"


def test_the_softhsm_fixture_follows_a_rotating_unblock(softhsm_token: SoftHsmToken) -> None:
    before = softhsm_token.so_pin.reveal()
    plain = softhsm_token.token().unblock(softhsm_token.unblock_authorization(), Pin(NEW))
    assert (plain.so_changed, plain.so_login, plain.pin_set) == (False, 0, True)
    assert softhsm_token.so_pin.reveal() == before
    outcome = softhsm_token.token().unblock(
        softhsm_token.unblock_authorization(rotate=True), Pin(NEWER)
    )
    assert outcome.so_changed is True
    assert softhsm_token.so_pin.reveal() != before
    assert so_refusal(softhsm_token, before) == "CKR_PIN_INCORRECT"
    assert so_refusal(softhsm_token, softhsm_token.so_pin.reveal()) == "ok"
    softhsm_token.token().verify_pin(Pin(NEWER))
    assert softhsm_token.so_pin.reveal() not in repr(softhsm_token)


# ---- an authorization received but never spent ------------------------------------------------


class _BeforeTheWrite(ScriptedResetPrompts):
    """Scripted answers that do something to the card or the clock right before the flow's
    write step (after the confirmation brought the authorization, before it is spent)."""

    def __init__(self, before_write: Callable[[], None], **answers: Any) -> None:
        super().__init__(**answers)
        self._before_write = before_write

    def progress(self, step: ResetStep | ChangeStep, *, remaining: timedelta | None) -> None:
        super().progress(step, remaining=remaining)
        if step is ResetStep.WRITE_PIN:
            self._before_write()


def _failing_before_the_spend(
    sb: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets, what: str
) -> _BeforeTheWrite:
    script = prompts(sb, holder, card.serial, NEW, leaks)
    pull_or_age = card.remove if what == "card_pulled" else (lambda: sb.advance(61))
    return _BeforeTheWrite(
        pull_or_age,
        codes=script._codes,
        card=card.serial,
        pins=script._pins,
        confirmations=script._confirmations,
    )


def _so_reports(sb: RunningSandbox, serial: str) -> list[object]:
    return [
        e["detail"].get("so_credential")
        for e in sb.portal.audit_log()
        if e["card_serial"] == serial and e["event"] in ("operation.failed", "operation.completed")
    ]


@pytest.mark.parametrize(
    ("what", "error"),
    [("card_pulled", TokenNotFoundError), ("authorization_expired", AuthorizationExpiredError)],
)
def test_a_reset_that_fails_before_the_spend_reports_the_card_untouched(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    leaks: Secrets,
    what: str,
    error: type[Exception],
) -> None:
    """The confirmation brought the authorization (and the portal recorded its fresh
    credential as pending), then the reset failed before the authorization was spent: the
    card pulled, or the authorization ran out. The failure report says the card was not
    touched (no SO login, not changed), so the portal drops the fresh credential and keeps
    one candidate: the next reset spends no wrong SO attempt."""
    sb = kamusm_sandbox
    leaks.add(OLD, NEW, card.so_pin, holder.password)
    released = card.so_pin.reveal()
    script = _failing_before_the_spend(sb, holder, card, leaks, what)
    with (
        PortalClient(sb.url, clock=sb.clock, timeout=5.0) as client,
        pytest.raises(error) as caught,
    ):
        reset_pin(card.module(), client, script, clock=sb.clock)
    leaks.seen(caught.value, script, *script.problems)
    assert sb.portal.card_so_candidates(card.serial) == [released]
    assert _so_reports(sb, card.serial) == ["fresh_dropped"]


def test_two_resets_that_fail_before_the_spend_leave_self_service_open(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """Two resets in a row whose authorizations ran out before they were spent: each report
    drops its fresh credential, so the third reset is not refused as "the results of the
    last two resets never arrived"; its confirmation releases one candidate, and it rotates
    the card."""
    sb = kamusm_sandbox
    leaks.add(OLD, NEW, NEWER, card.so_pin, holder.password)
    released = card.so_pin.reveal()
    for _ in range(2):
        script = _failing_before_the_spend(sb, holder, card, leaks, "authorization_expired")
        with (
            PortalClient(sb.url, clock=sb.clock, timeout=5.0) as client,
            pytest.raises(AuthorizationExpiredError),
        ):
            reset_pin(card.module(), client, script, clock=sb.clock)
        assert sb.portal.card_so_candidates(card.serial) == [released]
    third = prompts(sb, holder, card.serial, NEWER, leaks)
    with PortalClient(sb.url, clock=sb.clock, timeout=5.0) as client:
        result = reset_pin(card.module(), client, third, clock=sb.clock)
    assert result.reported
    authorized = [
        e["detail"]["so_candidates"]
        for e in sb.portal.audit_log()
        if e["event"] == "operation.authorized" and e["card_serial"] == card.serial
    ]
    assert authorized == [1, 1, 1]
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(fresh)
    assert fresh != released and card.so_pin.reveal() == fresh
    card.token().verify_pin(Pin(NEWER))


# ---- a report without an outcome -------------------------------------------------------------


def test_a_report_without_an_outcome_tells_what_the_clients_authorization_reached(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The integrator's code as the guides once showed it: ``token.unblock`` then
    ``report_result(op, success=True)`` with no outcome. The client remembers the
    authorization its confirmation issued, so the report says the card took the fresh
    credential, and the portal makes it current."""
    sb = kamusm_sandbox
    released = card.so_pin.reveal()
    client, op, auth = authorize(sb, holder, card.serial)
    with client:
        card.token().unblock(auth, Pin(NEW), clock=sb.clock)
        client.report_result(op, success=True)
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(released, fresh)
    assert fresh != released and card.so_pin.reveal() == fresh
    assert sb.portal.card_so_candidates(card.serial) == [fresh]
    assert _so_reports(sb, card.serial) == ["rotated"]
    assert so_refusal(card, fresh) == "ok"


def test_a_failure_report_without_an_outcome_for_an_unspent_authorization_drops_the_fresh_one(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    sb = kamusm_sandbox
    released = card.so_pin.reveal()
    client, op, auth = authorize(sb, holder, card.serial)
    with client:
        client.report_result(op, success=False, reason="FlowCancelled")
    assert not auth.is_spent
    assert sb.portal.card_so_candidates(card.serial) == [released]
    assert _so_reports(sb, card.serial) == ["fresh_dropped"]


def test_an_explicit_outcome_wins_over_the_remembered_one(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, paper_card: str
) -> None:
    sb = kamusm_sandbox
    client, op, _ = authorize(sb, holder, paper_card)
    with client:
        client.report_result(
            op, success=True, outcome=UnblockOutcome(so_login=0, pin_set=True, so_changed=None)
        )
    assert len(sb.portal.card_so_candidates(paper_card)) == 2  # unknown: both kept


@pytest.mark.anyio
async def test_the_async_client_remembers_its_authorization_for_the_report_too(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    sb = kamusm_sandbox
    released = card.so_pin.reveal()
    code = new_code(sb, holder, Product.NES)
    async with AsyncPortalClient(sb.url, clock=sb.clock, timeout=5.0) as client:
        op = await client.redeem(code, card_serial=card.serial)
        await client.request_challenge(op)
        auth = await client.confirm_challenge(op, sb.last_sms_code(holder.phone))
        await card.token().aunblock(auth, Pin(NEW), clock=sb.clock)
        await client.report_result(op, success=True)
    fresh = sb.portal.card_so_credential(card.serial)
    leaks.add(released, fresh)
    assert fresh != released and sb.portal.card_so_candidates(card.serial) == [fresh]
    assert card.so_pin.reveal() == fresh
