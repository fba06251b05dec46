"""PIN reset and change end to end over real parts: SoftHSM2 and opencryptoki tokens, the
sandbox portal over HTTP on 127.0.0.1, its SQLite file. Faults are real too: the network is cut
or silenced by a TCP proxy, a token is deleted, the clock the sandbox and the flow share moves.

Every test also runs under the leak canary (``tests/leak_canary.py``): with logging at DEBUG, no
PIN, SO PIN, SMS code or verification code may appear in any log record, in stdout or stderr,
in any exception's chain or in a repr.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pkcs11
import pytest

from kamusm import (
    CardNotOwnedError,
    CertificateExpiredError,
    CertificateNotListedError,
    CertificateNotOnCardError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    CertificateSuspendedError,
    FlowBusyError,
    FlowCodeExpiredError,
    InputError,
    InvalidCodeError,
    KamusmError,
    NewSmsDeclinedError,
    Pin,
    PinEntryTimeoutError,
    PinIncorrectError,
    PinPolicyError,
    PortalClient,
    PortalConnectionError,
    PortalTimeoutError,
    Product,
    ResetStep,
    SmsCodeExpiredError,
    SmsLimitReachedError,
    Tckn,
    TokenNotFoundError,
    TooManyAttemptsError,
    WebPasswordRejectedError,
    WrongProductError,
    _token_seam,
    change_pin,
    reset_pin,
)
from kamusm.testing.certificates import CertificateFactory, IssuedCertificate
from kamusm.testing.opencryptoki import (
    OpencryptokiToken,
    fresh_opencryptoki_token,
    opencryptoki_unavailable_reason,
)
from kamusm.testing.prompts import ScriptedChangePrompts, ScriptedResetPrompts
from kamusm.testing.sandbox import (
    RunningSandbox,
    TestHolder,
    certificate_records,
    provision_softhsm_card,
)
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.token import Pkcs11Module
from kamusm.values import Clock, ManualClock
from tests.flow_parts import FailAt, events, faulty_proxy, new_code
from tests.leak_canary import Secrets

OLD = "123456"
NEW = "482915"


# ---- parts ----------------------------------------------------------------------------------


@pytest.fixture
def holder(kamusm_sandbox: RunningSandbox) -> TestHolder:
    person = TestHolder.default()
    person.register(kamusm_sandbox.portal)
    return person


@pytest.fixture
def card(kamusm_sandbox: RunningSandbox, holder: TestHolder, leaks: Secrets) -> SoftHsmToken:
    token = provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin=OLD)
    leaks.add(token.pin, token.so_pin, holder.password, NEW)
    return token


def sms(sandbox: RunningSandbox, holder: TestHolder, leaks: Secrets) -> str:
    code = sandbox.last_sms_code(holder.phone).reveal()
    leaks.add(code)
    return code


def prompts_for(
    sandbox: RunningSandbox,
    holder: TestHolder,
    serial: str,
    leaks: Secrets,
    product: Product = Product.NES,
) -> ScriptedResetPrompts:
    code = new_code(sandbox, holder, product)
    leaks.add(code)
    return ScriptedResetPrompts(
        codes=[code],
        card=serial,
        pins=[(NEW, NEW)],
        confirmations=[lambda: sms(sandbox, holder, leaks)],
    )


def run_reset(
    sandbox: RunningSandbox,
    module: Pkcs11Module,
    prompts: ScriptedResetPrompts,
    leaks: Secrets,
    *,
    portal: object | None = None,
    product: Product = Product.NES,
) -> None:
    with PortalClient(sandbox.url, clock=sandbox.clock, timeout=2.0) as client:
        try:
            result = reset_pin(
                module,
                portal or client,  # type: ignore[arg-type]
                prompts,
                product=product,
                clock=sandbox.clock,
            )
        except KamusmError as exc:
            leaks.seen(exc, prompts, *prompts.problems)
            raise
        leaks.seen(result, prompts, *prompts.problems)


def assert_pin(module: Pkcs11Module, serial: str, pin: str) -> None:
    """The card accepts ``pin`` (and its PIN status is clear)."""
    token = module.token(serial=serial)
    token.verify_pin(Pin(pin))
    assert token.pin_status().summary == "ok"


# ---- the whole reset on real parts ------------------------------------------------------------


def test_reset_on_softhsm_nes_card(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert_pin(card.module(), card.serial, NEW)
    with pytest.raises(PinIncorrectError):
        card.token().verify_pin(Pin(OLD))
    assert prompts.asked == ["verification_code", "choose_card", "new_pin", "confirmation"]
    assert prompts.steps[-1] is ResetStep.REPORT_RESULT
    offered = prompts.offered[0]
    mine = next(c for c in offered if c.serial == card.serial)
    assert mine.summary is not None
    assert mine.summary.tckn == holder.tckn
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.completed"


def test_reset_with_the_typed_code_digits(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """A person types the 15 digits (grouped, as they read them): same result."""
    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code)
    digits = code.reveal()
    typed = f"{digits[:5]} {digits[5:10]} {digits[10:]}"
    prompts = ScriptedResetPrompts(
        codes=[typed],
        card=card.serial,
        pins=[(NEW, NEW)],
        confirmations=[lambda: sms(kamusm_sandbox, holder, leaks)],
    )
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert_pin(card.module(), card.serial, NEW)


def test_reset_mali_muhur_card(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, leaks: Secrets
) -> None:
    card = provision_softhsm_card(
        kamusm_sandbox.portal, holder=holder, product=Product.MALI_MUHUR, pin=OLD
    )
    leaks.add(card.pin, card.so_pin, NEW)
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks, Product.MALI_MUHUR)
    run_reset(kamusm_sandbox, card.module(), prompts, leaks, product=Product.MALI_MUHUR)
    assert_pin(card.module(), card.serial, NEW)


def lock_with_raw_pkcs11(token: OpencryptokiToken) -> None:
    """Three wrong PINs through python-pkcs11 itself, as a person at another program would
    (on the library object kamusm loaded: a module is initialised once per process)."""
    from kamusm.token import _LOCK

    lib = token.module()._lib
    with _LOCK:
        raw = lib.get_token(token_label=token.label)
        for _ in range(3):
            with pytest.raises(pkcs11.exceptions.PinIncorrect):  # the third one too
                raw.open(user_pin="000000")
            # python-pkcs11 leaves the failed login's session open; through the token layer,
            # which keeps opencryptoki from closing a file of this process (_cryptoki)
            _token_seam.reinitialize_loaded(token.module_path)
        assert lib.get_token(token_label=token.label).flags & pkcs11.TokenFlag.USER_PIN_LOCKED


@pytest.mark.opencryptoki
def test_reset_unlocks_an_opencryptoki_card_locked_by_three_wrong_pins(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    issued = certificate_factory.nes_card(name=holder.name, tckn=holder.tckn)
    token = fresh_opencryptoki_token(
        pin=OLD, so_pin="11223344", certificates=[c.as_token_object() for c in issued]
    )
    leaks.add(token.pin, token.so_pin, NEW)
    kamusm_sandbox.portal.register_card(
        serial=token.serial,
        holder=holder.tckn,
        product=Product.NES,
        so_credential=token.so_pin.reveal(),
        certificates=certificate_records(issued, Product.NES),
    )
    lock_with_raw_pkcs11(token)
    module = token.module()
    assert module.token(serial=token.serial).pin_status().locked

    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    run_reset(kamusm_sandbox, module, prompts, leaks)

    status = module.token(serial=token.serial).pin_status()
    assert not (status.locked or status.final_try or status.count_low)
    assert_pin(module, token.serial, NEW)
    assert not module.token(serial=token.serial).pin_status().so_locked


@pytest.mark.anyio
async def test_async_reset_on_softhsm(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    from kamusm import AsyncPortalClient, areset_pin

    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code)
    loop_thread = threading.get_ident()
    seen_threads: set[int] = set()
    blocking_threads: set[int] = set()

    class AsyncPrompts(ScriptedResetPrompts):
        async def confirmation(  # type: ignore[override]
            self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
        ) -> str | None:
            seen_threads.add(threading.get_ident())
            return sms(kamusm_sandbox, holder, leaks)

        def new_pin(
            self, *, min_length: int, max_length: int
        ) -> tuple[str | Pin, str | Pin] | None:
            blocking_threads.add(threading.get_ident())  # a blocking question, like input()
            return super().new_pin(min_length=min_length, max_length=max_length)

    prompts = AsyncPrompts(codes=[code], card=card.serial, pins=[(NEW, NEW)])
    async with AsyncPortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        result = await areset_pin(
            card.module(),
            client,
            prompts,  # type: ignore[arg-type]  # sync and async answers may be mixed
            clock=kamusm_sandbox.clock,
        )
    assert result.card_serial == card.serial
    assert result.reported
    assert seen_threads == {loop_thread}  # async prompts are awaited on the loop
    assert loop_thread not in blocking_threads  # blocking ones run off it
    assert len(blocking_threads) == 1
    assert_pin(card.module(), card.serial, NEW)


# ---- faults: each a clear typed error, the card untouched or fully reset ----------------------


@pytest.mark.parametrize("step", ["redeem", "request_challenge", "confirm_challenge"])
@pytest.mark.parametrize("mode", ["down", "stall"])
def test_portal_unreachable_or_silent_before_the_pin_is_written(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    leaks: Secrets,
    step: str,
    mode: str,
) -> None:
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    first_code = prompts._codes[0]
    expected = PortalConnectionError if mode == "down" else PortalTimeoutError
    with (
        faulty_proxy(kamusm_sandbox.url) as proxy,
        PortalClient(proxy.url, clock=kamusm_sandbox.clock, timeout=0.5) as client,
        pytest.raises(expected),
    ):
        run_reset(
            kamusm_sandbox,
            card.module(),
            prompts,
            leaks,
            portal=FailAt(client, proxy, step, mode),
        )
    assert_pin(card.module(), card.serial, OLD)  # untouched
    trail = events(kamusm_sandbox, card.serial)
    assert "operation.completed" not in trail
    if mode == "stall" and step != "redeem":
        assert trail[-1] == "operation.failed"  # the failure was reported once it could be
    if step == "redeem":
        # Nothing was consumed: the same code still works for a new attempt.
        retry = ScriptedResetPrompts(
            codes=[first_code],  # type: ignore[list-item]
            card=card.serial,
            pins=[(NEW, NEW)],
            confirmations=[lambda: sms(kamusm_sandbox, holder, leaks)],
        )
        run_reset(kamusm_sandbox, card.module(), retry, leaks)
        assert_pin(card.module(), card.serial, NEW)


@pytest.mark.parametrize("mode", ["down", "stall"])
def test_portal_gone_when_reporting_after_the_pin_is_written(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    leaks: Secrets,
    mode: str,
) -> None:
    """The card is fully reset; only the report is missing, and the result says so."""
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    with (
        faulty_proxy(kamusm_sandbox.url) as proxy,
        PortalClient(proxy.url, clock=kamusm_sandbox.clock, timeout=0.5) as client,
    ):
        result = reset_pin(
            card.module(),
            FailAt(client, proxy, "report_result", mode),  # type: ignore[arg-type]
            prompts,
            clock=kamusm_sandbox.clock,
        )
    assert not result.reported
    assert_pin(card.module(), card.serial, NEW)


def test_code_expired_before_redemption(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    kamusm_sandbox.advance(301)
    with pytest.raises(FlowCodeExpiredError):
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert prompts.asked == ["verification_code", "choose_card", "verification_code:expired"]
    assert_pin(card.module(), card.serial, OLD)


def test_typed_code_expired_is_refused_by_the_portal_then_a_new_code_leads_on(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """Typed digits carry no issue time: the portal refuses the stale code, the flow asks for
    a new one ("Tekrar Kod Al"), and the reset then succeeds."""
    stale = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(stale)
    kamusm_sandbox.advance(301)
    prompts = ScriptedResetPrompts(
        codes=[stale.reveal(), lambda: new_code(kamusm_sandbox, holder, Product.NES)],
        card=card.serial,
        pins=[(NEW, NEW)],
        confirmations=[lambda: sms(kamusm_sandbox, holder, leaks)],
    )
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert [type(p).__name__ for p in prompts.problems] == ["FlowCodeExpiredError"]
    assert_pin(card.module(), card.serial, NEW)


def test_code_expires_during_pin_entry(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The verification code's 300 s run out while the person types the PIN (the PIN-entry
    countdown made longer than the code's life): the code's expiry ends the reset."""
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)

    def slow_person() -> tuple[str, str]:
        kamusm_sandbox.advance(301)
        return (NEW, NEW)

    prompts._pins = [slow_person]
    with (
        PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock, timeout=2.0) as client,
        pytest.raises(FlowCodeExpiredError) as caught,
    ):
        reset_pin(
            card.module(),
            client,
            prompts,
            clock=kamusm_sandbox.clock,
            pin_entry_timeout=timedelta(seconds=900),
        )
    leaks.seen(caught.value, prompts, *prompts.problems)
    assert_pin(card.module(), card.serial, OLD)
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.failed"


def test_pin_entry_countdown_runs_out(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The PIN-entry countdown ("Kalan Süre: 195") runs out while the code is still valid:
    the countdown ends the reset."""
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)

    def slow_person() -> tuple[str, str]:
        kamusm_sandbox.advance(200)
        return (NEW, NEW)

    prompts._pins = [slow_person]
    with pytest.raises(PinEntryTimeoutError):
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert_pin(card.module(), card.serial, OLD)
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.failed"


def test_three_wrong_sms_codes_cancel(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)

    def wrong() -> str:
        right = sms(kamusm_sandbox, holder, leaks)
        return f"{(int(right) + 1) % 10**6:06d}"

    prompts._confirmations = [wrong, wrong, wrong]
    with pytest.raises(TooManyAttemptsError):
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert [type(p).__name__ for p in prompts.problems] == ["SmsCodeRejectedError"] * 2
    assert_pin(card.module(), card.serial, OLD)
    assert "operation.cancelled" in events(kamusm_sandbox, card.serial)


def test_card_removed_between_steps(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    answer = prompts._confirmations[0]

    def pull_the_card() -> str:
        card.remove()  # the SoftHSM2 token's files are gone, as a card pulled from its reader
        return answer()  # type: ignore[no-any-return,operator]

    prompts._confirmations = [pull_the_card]
    with pytest.raises(TokenNotFoundError):
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert "operation.completed" not in events(kamusm_sandbox, card.serial)


def test_second_flow_for_the_same_card_is_refused(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """While one reset holds the card, a second one for it in the same process is refused
    before it touches the portal; the first goes on to the end."""
    first = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    refused: list[KamusmError] = []

    def meanwhile() -> tuple[str, str]:
        second = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
        try:
            run_reset(kamusm_sandbox, card.module(), second, leaks)
        except FlowBusyError as exc:
            refused.append(exc)
        assert second.asked == ["verification_code", "choose_card"]
        return (NEW, NEW)

    first._pins = [meanwhile]
    run_reset(kamusm_sandbox, card.module(), first, leaks)
    assert len(refused) == 1
    assert events(kamusm_sandbox, card.serial).count("operation.redeemed") == 1
    assert_pin(card.module(), card.serial, NEW)


def test_card_of_another_holder(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The holder's code, redeemed for someone else's card: the portal refuses it."""
    other = TestHolder.make(Tckn.complete("172917160"), name="BAŞKA KİŞİ")
    other_card = provision_softhsm_card(kamusm_sandbox.portal, holder=other, pin=OLD)
    leaks.add(other_card.pin, other_card.so_pin, other.password)
    prompts = prompts_for(kamusm_sandbox, holder, other_card.serial, leaks)
    with pytest.raises(CardNotOwnedError):
        run_reset(kamusm_sandbox, other_card.module(), prompts, leaks)
    assert_pin(other_card.module(), other_card.serial, OLD)
    assert_pin(card.module(), card.serial, OLD)


def test_card_naming_another_person_is_refused_by_the_flow(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """Registered to the holder at the portal, but its certificate names another person: the
    flow checks the card itself and refuses it."""
    from kamusm import WrongHolderError
    from kamusm.testing.softhsm import create_softhsm_token

    stranger = Tckn.complete("172917160")
    issued = certificate_factory.nes_card(name="BAŞKA KİŞİ", tckn=stranger)
    token = create_softhsm_token(pin=OLD, certificates=[c.as_token_object() for c in issued])
    leaks.add(token.pin, token.so_pin)
    kamusm_sandbox.portal.register_card(
        serial=token.serial,
        holder=holder.tckn,
        product=Product.NES,
        so_credential=token.so_pin.reveal(),
        certificates=certificate_records(issued, Product.NES),
    )
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    with pytest.raises(WrongHolderError):
        run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    assert_pin(token.module(), token.serial, OLD)
    assert events(kamusm_sandbox, token.serial)[-1] == "operation.failed"


def test_bad_input_at_every_prompt_is_asked_again(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code, "987654")
    choices = iter(["no-such-card", card.serial])
    prompts = ScriptedResetPrompts(
        codes=["12345", code],
        card=lambda cards: next(choices),
        pins=[("987654", "987654"), (NEW, "482916"), (NEW, NEW)],
        confirmations=["12ab56", lambda: sms(kamusm_sandbox, holder, leaks)],
    )
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    kinds = [type(p) for p in prompts.problems]
    assert kinds[0] is InvalidCodeError  # 5 digits are not a verification code
    assert issubclass(kinds[1], InputError)  # a card that is not offered
    assert kinds[2:4] == [PinPolicyError, PinPolicyError]  # a run; a confirmation mismatch
    assert kinds[4] is InvalidCodeError  # "12ab56" is not an SMS code
    assert len(kinds) == 5
    assert_pin(card.module(), card.serial, NEW)


def test_cancel_at_every_prompt_leaves_the_card(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    from kamusm import FlowCancelledError

    for answered in range(4):
        prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
        if answered < 1:
            prompts._codes = []
        if answered < 2:
            prompts._card = None
        if answered < 3:
            prompts._pins = []
        prompts._confirmations = []
        with pytest.raises(FlowCancelledError):
            run_reset(kamusm_sandbox, card.module(), prompts, leaks)
        assert_pin(card.module(), card.serial, OLD)


_PLANTED = """
import logging, os, sys
import pytest
from kamusm import Pin, PinChosen, PortalError

SECRET = "482915"

def test_clean(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm.flows").debug("event %r", PinChosen(SECRET, SECRET))
    leaks.seen(Pin(SECRET))

def test_in_a_log_record(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm.flows").debug("new PIN is %s", SECRET)

def test_on_stderr_at_the_fd_level(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm").debug("something")
    os.write(2, SECRET.encode())

def test_on_stdout(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm").debug("something")
    print("PIN:", SECRET)
    sys.stdout.flush()

def test_deep_in_a_cause_chain(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm").debug("something")
    inner = ValueError("wrapped")
    inner.detail = {"pin": SECRET}
    try:
        try:
            raise inner
        except ValueError as exc:
            raise KeyError("middle") from exc
    except KeyError as exc:
        try:
            raise PortalError() from exc
        except PortalError as outer:
            leaks.seen(outer)

class Carrier:
    content = ("{\\"code\\": \\"" + SECRET + "\\"}").encode()

def test_in_an_http_body_in_the_chain(leaks):
    leaks.add(SECRET)
    logging.getLogger("kamusm").debug("something")
    inner = ValueError("transport")
    inner.request = Carrier()
    try:
        try:
            raise inner
        except ValueError as exc:
            raise PortalError() from exc
    except PortalError as outer:
        leaks.seen(outer)

def test_skipped(leaks):
    leaks.add(SECRET)
    pytest.skip("not here")
"""


def test_the_canary_fixture_catches_each_planted_leak(pytester: pytest.Pytester) -> None:
    """The ``leaks`` fixture itself, run on planted leaks: a log record, stderr written at the
    file-descriptor level, stdout, a secret deep in an exception's cause chain (in an
    attribute of its innermost link) each fail their test; a clean test passes and a skip stays a
    skip."""
    pytester.makeconftest('pytest_plugins = ["tests.leak_canary"]')
    pytester.makepyfile(test_planted=_PLANTED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")
    outcomes: dict[str, str] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        name = report.nodeid.split("::")[-1]
        if outcomes.get(name, "passed") == "passed":
            outcomes[name] = report.outcome  # a failed teardown is the canary speaking
    assert outcomes == {
        "test_clean": "passed",
        "test_in_a_log_record": "failed",
        "test_on_stderr_at_the_fd_level": "failed",
        "test_on_stdout": "failed",
        "test_deep_in_a_cause_chain": "failed",
        "test_in_an_http_body_in_the_chain": "failed",
        "test_skipped": "skipped",
    }
    result.stdout.fnmatch_lines(["*a secret reached a log record, output, repr or message*"])


# ---- PIN change -------------------------------------------------------------------------------


def test_change_on_softhsm(card: SoftHsmToken, leaks: Secrets) -> None:
    prompts = ScriptedChangePrompts(pins=[(OLD, NEW, NEW)])
    result = change_pin(card.token(), prompts)
    leaks.seen(result, prompts)
    assert result.card_serial == card.serial
    assert_pin(card.module(), card.serial, NEW)


def test_change_wrong_old_pin_then_right(card: SoftHsmToken, leaks: Secrets) -> None:
    prompts = ScriptedChangePrompts(pins=[("111333", NEW, NEW), (OLD, NEW, NEW)])
    change_pin(card.token(), prompts)
    leaks.add("111333")
    leaks.seen(prompts, *prompts.problems)
    assert [type(p) for p in prompts.problems] == [PinIncorrectError]
    assert_pin(card.module(), card.serial, NEW)


@pytest.mark.opencryptoki
def test_change_on_opencryptoki_final_try_needs_acknowledgement(leaks: Secrets) -> None:
    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    from kamusm import FlowCancelledError, PinLockedUseResetError

    token = fresh_opencryptoki_token(pin=OLD)
    leaks.add(token.pin, token.so_pin, "111333", "111444")
    prompts = ScriptedChangePrompts(pins=[("111333", NEW, NEW), ("111444", NEW, NEW)])
    with pytest.raises(FlowCancelledError):  # two wrong old PINs; no acknowledgement given
        change_pin(token.token(), prompts)
    assert prompts.asked == ["pins", "pins", "acknowledge_final_try"]
    assert token.token().pin_status().final_try  # the final try was not spent

    locked = ScriptedChangePrompts(pins=[("111555", NEW, NEW)], acknowledge_final_try=True)
    with pytest.raises(PinIncorrectError):
        change_pin(token.token(), locked)
    assert token.token().pin_status().locked
    with pytest.raises(PinLockedUseResetError):
        change_pin(token.token(), ScriptedChangePrompts(pins=[(OLD, NEW, NEW)]))


# ---- what the holder is told: the SMS step, the product's route, certificates ---------------


def test_the_sms_question_counts_down_the_sms_codes_own_time(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The SMS code lives 180 s: the SMS question shows that, not the verification code's 300 s
    or the operation's 600 s (``ChallengeSent.expires_at``)."""
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    at = prompts.steps.index(ResetStep.ENTER_CONFIRMATION)
    assert prompts.remaining[at] == kamusm_sandbox.portal.settings.sms_validity
    assert prompts.remaining[prompts.steps.index(ResetStep.REDEEM_CODE)] == timedelta(seconds=300)
    assert_pin(card.module(), card.serial, NEW)


def test_an_expired_sms_code_is_explained_and_a_new_one_is_sent(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The holder answers after the SMS code ran out but while the verification code is valid:
    told the SMS code expired, offered a new SMS (the portal allows two more), says yes, and
    the new challenge's code finishes the reset."""
    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code)
    validity = kamusm_sandbox.portal.settings.sms_validity.total_seconds()

    def too_late() -> str:
        answer = sms(kamusm_sandbox, holder, leaks)
        kamusm_sandbox.advance(validity + 1)  # 181 s: the SMS code is gone, the code is not
        return answer

    prompts = ScriptedResetPrompts(
        codes=[code],
        card=card.serial,
        pins=[(NEW, NEW)],
        confirmations=[too_late, lambda: sms(kamusm_sandbox, holder, leaks)],
        new_sms=[True],
    )
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert [type(p) for p in prompts.problems] == [SmsCodeExpiredError]
    assert "SMS onay kodunun süresi doldu" in prompts.problems[0].message("tr")
    assert prompts.asked.count("confirmation") == 2
    assert prompts.asked.count("offer_new_sms") == 1
    assert prompts.sms_offers == [2]  # max_challenges 3: one sent, two more allowed
    assert events(kamusm_sandbox, card.serial).count("operation.challenged") == 2
    assert_pin(card.module(), card.serial, NEW)


def expiring_sms_prompts(
    sandbox: RunningSandbox,
    holder: TestHolder,
    serial: str,
    leaks: Secrets,
    *,
    new_sms: list[bool | None],
    cls: type[ScriptedResetPrompts] = ScriptedResetPrompts,
) -> ScriptedResetPrompts:
    """Prompts (of ``cls``) whose first SMS answer comes after the SMS code's 180 s (the
    sandbox's clock moved), while the verification code is still valid."""
    code = new_code(sandbox, holder, Product.NES)
    leaks.add(code)
    validity = sandbox.portal.settings.sms_validity.total_seconds()

    def too_late() -> str:
        answer = sms(sandbox, holder, leaks)
        sandbox.advance(validity + 1)
        return answer

    return cls(
        codes=[code],
        card=serial,
        pins=[(NEW, NEW)],
        confirmations=[too_late, lambda: sms(sandbox, holder, leaks)],
        new_sms=new_sms,
    )


def test_declining_the_new_sms_ends_cleanly_and_changes_nothing(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """No to "a new SMS?": no second SMS is sent, the reset ends with its own message, the
    card keeps its PIN and the portal hears the operation ended without one."""
    prompts = expiring_sms_prompts(kamusm_sandbox, holder, card.serial, leaks, new_sms=[False])
    with pytest.raises(NewSmsDeclinedError) as ended:
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert "Kartınızda bir değişiklik yapılmadı" in ended.value.message("tr")
    assert "Your card was not changed" in ended.value.message("en")
    assert prompts.asked.count("confirmation") == 1
    seen = events(kamusm_sandbox, card.serial)
    assert seen.count("operation.challenged") == 1
    assert seen[-1] == "operation.failed"
    assert_pin(card.module(), card.serial, OLD)


def test_at_the_challenge_limit_no_new_sms_is_offered_and_the_holder_is_told_why(
    holder: TestHolder, leaks: Secrets
) -> None:
    """A portal that allows one challenge per operation: when that SMS code expires the
    holder is not offered another, is told the limit was reached and to get a new code
    ("Tekrar Kod Al"), and is asked for one; without it the reset ends, the card unchanged."""
    from kamusm.sandbox import SandboxSettings
    from kamusm.testing.sandbox import running_sandbox

    with running_sandbox(settings=SandboxSettings(max_challenges=1)) as sandbox:
        holder.register(sandbox.portal)
        card = provision_softhsm_card(sandbox.portal, holder=holder, pin=OLD)
        leaks.add(card.pin, card.so_pin, holder.password, NEW)
        prompts = expiring_sms_prompts(sandbox, holder, card.serial, leaks, new_sms=[True])
        with pytest.raises(SmsLimitReachedError) as told:
            run_reset(sandbox, card.module(), prompts, leaks)
        assert "offer_new_sms" not in prompts.asked
        assert prompts.asked[-1] == "verification_code:expired"  # a new code is asked for
        assert [type(p) for p in prompts.problems] == [SmsLimitReachedError]
        assert "izin verilen sayıda SMS" in told.value.message("tr")
        assert events(sandbox, card.serial).count("operation.challenged") == 1
        assert_pin(card.module(), card.serial, OLD)


@pytest.mark.anyio
async def test_the_async_driver_offers_the_new_sms_through_async_prompts(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """``areset_pin`` awaits a coroutine ``offer_new_sms`` on the event loop; yes sends the
    second challenge over the async client and the reset completes."""
    from kamusm import AsyncPortalClient, areset_pin

    loop_thread = threading.get_ident()
    offered_on: list[int] = []

    class AsyncOffer(ScriptedResetPrompts):
        async def offer_new_sms(  # type: ignore[override]
            self, *, method: str, challenges_left: int | None
        ) -> bool | None:
            offered_on.append(threading.get_ident())
            return super().offer_new_sms(method=method, challenges_left=challenges_left)

    prompts = expiring_sms_prompts(
        kamusm_sandbox, holder, card.serial, leaks, new_sms=[True], cls=AsyncOffer
    )
    async with AsyncPortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        result = await areset_pin(
            card.module(),
            client,
            prompts,
            clock=kamusm_sandbox.clock,
        )
    leaks.seen(result, prompts, *prompts.problems)
    assert offered_on == [loop_thread]
    assert prompts.sms_offers == [2]
    assert events(kamusm_sandbox, card.serial).count("operation.challenged") == 2
    assert_pin(card.module(), card.serial, NEW)


def test_a_wrong_web_password_is_reported_as_such_with_its_attempts_left(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code, "not-the-password")
    prompts = ScriptedResetPrompts(
        codes=[code],
        card=card.serial,
        pins=[(NEW, NEW)],
        confirmations=["not-the-password", holder.password],
    )
    with PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        reset_pin(
            card.module(),
            client,
            prompts,
            clock=kamusm_sandbox.clock,
            challenge_method="web_password",
        )
    leaks.seen(prompts, *prompts.problems)
    (wrong,) = prompts.problems
    assert isinstance(wrong, WebPasswordRejectedError)
    assert wrong.attempts_remaining == 2
    assert wrong.message("tr") == "WEB Parola hatalı. Kalan deneme hakkı: 2."
    assert "SMS" not in wrong.message("tr")
    assert_pin(card.module(), card.serial, NEW)


def test_a_mali_muhur_card_in_an_nes_reset_is_told_its_own_route(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    """The card carries Mali Mühür: the holder is told so, and where its own reset is (seed
    003, "Mali Mühür PIN Oluşturma/Değiştirme"); both cards are unchanged."""
    seal = provision_softhsm_card(
        kamusm_sandbox.portal, holder=holder, product=Product.MALI_MUHUR, pin=OLD
    )
    leaks.add(seal.pin, seal.so_pin)
    prompts = prompts_for(kamusm_sandbox, holder, seal.serial, leaks, Product.NES)
    with pytest.raises(WrongProductError) as info:
        run_reset(kamusm_sandbox, seal.module(), prompts, leaks)
    assert info.value.found == (Product.MALI_MUHUR,)
    told = info.value.message("tr")
    assert "bu bir Mali Mühür kartı" in told
    assert "Mali Mühür PIN Oluşturma/Değiştirme" in told
    assert "product_mismatch" not in told + info.value.message("en")
    assert "new_pin" not in prompts.asked
    assert_pin(seal.module(), seal.serial, OLD)
    assert_pin(card.module(), card.serial, OLD)


def change_certificates(
    sandbox: RunningSandbox, holder: TestHolder, serial: str, action: str
) -> None:
    """The holder suspends or revokes the card's certificates on the portal."""
    with PortalClient(sandbox.url, clock=sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        for cert in client.list_certificates():
            if cert.card_serial == serial and action == "suspend":
                client.suspend_certificate(cert.serial_number)
            elif cert.card_serial == serial:
                client.revoke_certificate(cert.serial_number, confirm=True)


def test_a_card_whose_certificates_are_revoked_gets_no_pin(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    change_certificates(kamusm_sandbox, holder, card.serial, "revoke")
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    with pytest.raises(CertificateRevokedError) as info:
        run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    assert "new_pin" not in prompts.asked  # refused before any PIN is asked
    assert "yeni sertifika için başvurun" in info.value.message("tr")
    assert_pin(card.module(), card.serial, OLD)
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.failed"


def expired_card(
    sandbox: RunningSandbox, holder: TestHolder, factory: CertificateFactory, *, portal_knows: bool
) -> SoftHsmToken:
    """A card whose only NES has expired; the portal's records say so, or (``portal_knows``
    false) list a valid certificate instead, so only the card itself tells."""
    from kamusm.testing.softhsm import create_softhsm_token

    days_ago = (factory.now - sandbox.clock.now()).days + 3  # by the clock the flow reads
    expired = [factory.expired_nes(days_ago=days_ago, name=holder.name, tckn=holder.tckn)]
    token = create_softhsm_token(pin=OLD, certificates=[c.as_token_object() for c in expired])
    listed = expired if portal_knows else factory.nes_card(name=holder.name, tckn=holder.tckn)
    sandbox.portal.register_card(
        serial=token.serial,
        holder=holder.tckn,
        product=Product.NES,
        so_credential=token.so_pin.reveal(),
        certificates=certificate_records(listed, Product.NES),
    )
    return token


@pytest.mark.parametrize("portal_knows", [True, False], ids=["portal", "card"])
def test_a_card_whose_only_certificates_expired_gets_no_pin(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
    portal_knows: bool,
) -> None:
    """Seed 004: a new e-signature comes with a new card and a new PIN. Refused before any
    PIN is asked, whether the portal says so or only the card's certificates do."""
    token = expired_card(kamusm_sandbox, holder, certificate_factory, portal_knows=portal_knows)
    leaks.add(token.pin, token.so_pin)
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    with pytest.raises(CertificateExpiredError) as info:
        run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    assert "new_pin" not in prompts.asked
    told = info.value.message("tr")
    assert "yeni bir kartla ve yeni bir PIN ile gelir" in told
    # The day the card's certificate ended, DD.MM.YYYY (never "-"), whoever told it first.
    assert info.value.expired_on is not None
    assert f"{info.value.expired_on:%d.%m.%Y} tarihinde doldu" in told
    assert f"expired on {info.value.expired_on:%Y-%m-%d}" in info.value.message("en")
    assert " - " not in told
    assert_pin(token.module(), token.serial, OLD)


def test_a_suspended_certificate_does_not_stop_the_reset(
    kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, leaks: Secrets
) -> None:
    change_certificates(kamusm_sandbox, holder, card.serial, "suspend")
    prompts = prompts_for(kamusm_sandbox, holder, card.serial, leaks)
    run_reset(kamusm_sandbox, card.module(), prompts, leaks)
    (notice,) = prompts.problems
    assert isinstance(notice, CertificateSuspendedError)
    assert '"Askıdan İndirme"' in notice.message("tr")
    assert prompts.asked.index("new_pin") > 0  # told first, then the PIN was asked
    assert_pin(card.module(), card.serial, NEW)


# ---- the desktop side checks the certificates on the card itself ----------------------------


def card_with(
    sandbox: RunningSandbox,
    on_card: list[IssuedCertificate],
    listed: list[IssuedCertificate],
    leaks: Secrets,
) -> SoftHsmToken:
    """A SoftHSM2 card carrying ``on_card``, registered with the portal as carrying
    ``listed`` (the portal's records and the card may differ)."""
    from kamusm.testing.softhsm import create_softhsm_token

    token = create_softhsm_token(pin=OLD, certificates=[c.as_token_object() for c in on_card])
    leaks.add(token.pin, token.so_pin)
    sandbox.portal.register_card(
        serial=token.serial,
        holder=TestHolder.default().tckn,
        product=Product.NES,
        so_credential=token.so_pin.reveal(),
        certificates=certificate_records(listed, Product.NES),
    )
    return token


def hex_serial(issued: IssuedCertificate) -> str:
    return f"{issued.info().serial_number:X}"


def test_a_certificate_not_valid_yet_is_told_with_its_date_and_the_reset_goes_on(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """The card's only NES begins in three days (read from the card, not the portal): the
    holder is told from which day it signs, DD.MM.YYYY, and the PIN is set."""
    later = certificate_factory.not_yet_valid_nes(
        days_ahead=(kamusm_sandbox.clock.now() - certificate_factory.now).days + 3,
        name=holder.name,
        tckn=holder.tckn,
    )
    token = card_with(kamusm_sandbox, [later], [later], leaks)
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    (notice,) = prompts.problems
    assert isinstance(notice, CertificateNotYetValidError)
    assert notice.valid_from == later.info().not_before.date()
    assert f"{later.info().not_before:%d.%m.%Y} tarihinden itibaren" in notice.message("tr")
    assert_pin(token.module(), token.serial, NEW)


def test_the_portal_status_is_matched_to_the_certificate_on_the_card(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """The portal lists two NES for the card: the one on it, revoked, and another, active,
    that is not on it, so its summary says "active". Matched by serial number, the card's
    own certificate is revoked: no PIN is asked, the card is unchanged, and the certificate
    not on the card is named."""
    on_card = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=1)
    elsewhere = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=2)
    token = card_with(kamusm_sandbox, [on_card], [on_card, elsewhere], leaks)
    with PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        client.revoke_certificate(hex_serial(on_card), confirm=True)
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    with pytest.raises(CertificateRevokedError):
        run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    assert "new_pin" not in prompts.asked
    assert_pin(token.module(), token.serial, OLD)
    assert events(kamusm_sandbox, token.serial)[-1] == "operation.failed"


def test_what_the_card_and_the_portal_do_not_share_is_told_and_the_reset_goes_on(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """The card carries an NES the portal does not list, and the portal lists one that is
    not on the card: both are told, by serial number; the PIN is set."""
    shared = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=3)
    only_card = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=4)
    only_portal = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=5)
    token = card_with(kamusm_sandbox, [shared, only_card], [shared, only_portal], leaks)
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    elsewhere, unlisted = prompts.problems
    assert isinstance(elsewhere, CertificateNotOnCardError)
    assert elsewhere.serials == (hex_serial(only_portal),)
    assert isinstance(unlisted, CertificateNotListedError)
    assert unlisted.serials == (hex_serial(only_card),)
    assert hex_serial(only_card) in unlisted.message("tr")
    assert_pin(token.module(), token.serial, NEW)


def test_a_revoked_certificate_that_is_not_on_the_card_does_not_stop_the_reset(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """The reviewer's case: the card holds A; the portal lists only B for it, revoked, so
    the portal's summary says "revoked". Matched by serial number nothing on the card is
    revoked: B is told as not on the card, A as not listed, and the PIN is set."""
    on_card = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=6)
    listed = certificate_factory.nes(name=holder.name, tckn=holder.tckn, index=7)
    token = card_with(kamusm_sandbox, [on_card], [listed], leaks)
    with PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        client.revoke_certificate(hex_serial(listed), confirm=True)
    prompts = prompts_for(kamusm_sandbox, holder, token.serial, leaks)
    run_reset(kamusm_sandbox, token.module(), prompts, leaks)
    kinds = {type(p) for p in prompts.problems}
    assert kinds == {CertificateNotOnCardError, CertificateNotListedError}, prompts.problems
    assert_pin(token.module(), token.serial, NEW)


# ---- the desktop's clock is not the portal's: deadlines by the portal's time -------------------


class SkewedClock:
    """A desktop clock ``ahead`` of the portal's (the sandbox's manual clock)."""

    def __init__(self, portal_clock: Clock, ahead: timedelta) -> None:
        self.portal_clock = portal_clock
        self.ahead = ahead

    def now(self) -> datetime:
        return self.portal_clock.now() + self.ahead


@pytest.mark.parametrize("ahead", [120, 400, -400], ids=["ahead-120s", "ahead-400s", "behind-400s"])
def test_a_desktop_clock_off_from_the_portals_counts_the_portals_deadlines(
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    leaks: Secrets,
    ahead: int,
) -> None:
    """The desktop's clock is minutes off. The client measures the offset from the portal's
    ``Date`` header, so the PIN-entry countdown shows the portal's 195 s (not 195 - 120),
    and a code the portal still honours is no dead end on the desktop: the PIN is set."""
    skewed = SkewedClock(kamusm_sandbox.clock, timedelta(seconds=ahead))
    typed = new_code(kamusm_sandbox, holder, Product.NES).reveal()  # as the holder types it
    leaks.add(typed)
    prompts = ScriptedResetPrompts(
        codes=[typed],
        card=card.serial,
        pins=[(NEW, NEW)],
        confirmations=[lambda: sms(kamusm_sandbox, holder, leaks)],
    )
    with PortalClient(kamusm_sandbox.url, clock=skewed, timeout=2.0) as client:
        reset_pin(card.module(), client, prompts, clock=skewed)
        assert abs(client.clock_offset - timedelta(seconds=ahead)) <= timedelta(seconds=1)
    shown = prompts.remaining[prompts.steps.index(ResetStep.ENTER_NEW_PIN)]
    limit = kamusm_sandbox.portal.settings.pin_entry_limit.total_seconds()
    assert shown is not None
    assert limit - 2 <= shown.total_seconds() <= limit + 1, shown
    assert_pin(card.module(), card.serial, NEW)


def test_the_sandbox_dates_its_answers_by_its_own_clock(kamusm_sandbox: RunningSandbox) -> None:
    """The portal's ``Date`` header is the portal's time (its manual clock in training), one
    header, so the desktop can measure its own clock's offset from it."""
    clock = kamusm_sandbox.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=5))
    with httpx.Client() as http:
        answer = http.get(kamusm_sandbox.url + "/api/v1/nonexistent")
    (stamp,) = answer.headers.get_list("date")
    told = parsedate_to_datetime(stamp)
    assert abs(told - kamusm_sandbox.clock.now()) < timedelta(seconds=1)
