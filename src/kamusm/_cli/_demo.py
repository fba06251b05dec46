"""``kamusm demo``: the whole PIN reset, unattended, on real parts.

A SoftHSM2 card with test certificates in a fresh store (a temporary directory), the sandbox
portal served on 127.0.0.1 with the real clock, the holder logging in over HTTP and taking a
verification code, then :func:`kamusm.flows.reset_pin` driven by prompts that answer like the
holder would: the code, the card, a new PIN chosen at random, and the SMS code read from the
sandbox's outbox (its admin side). Finally the new PIN is verified on the card. Every step is
printed with its time; no secret is: the new PIN exists only in this process.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from kamusm._cli._common import Settings
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._prompts import Ui
from kamusm._cli._texts import text
from kamusm.errors import KamusmError
from kamusm.flows import CardChoice, ResetStep
from kamusm.policy import PinPolicy
from kamusm.values import Pin, Product, SystemClock, VerificationCode

if TYPE_CHECKING:
    from datetime import date

    from kamusm.testing.sandbox import RunningSandbox, TestHolder
    from kamusm.values import Tckn

#: Attempts at choosing a PIN before the demo gives up (the flow says why each was refused).
_PIN_TRIES = 5


def random_pin(
    policy: PinPolicy, *, tckn: Tckn | None = None, birth_date: date | None = None
) -> Pin:
    """A random PIN that ``policy`` accepts (8 digits when the limits allow)."""
    length = min(max(8, policy.min_length), policy.max_length)
    while True:
        digits = "".join(secrets.choice("0123456789") for _ in range(length))
        if not policy.violations(digits, confirmation=digits, tckn=tckn, birth_date=birth_date):
            return Pin(digits)


class StepClock:
    """Prints each finished step with the time it took."""

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.start = self.last = time.perf_counter()

    def done(self, key: str, **fields: object) -> None:
        now = time.perf_counter()
        ms = (now - self.last) * 1000
        self.last = now
        self.ui.say(f"{ms:9.1f} ms  " + text(key, self.ui.lang, **fields))

    def total_ms(self) -> int:
        return round((time.perf_counter() - self.start) * 1000)


# What finishing each step of the reset means, for the printout.
_FINISHED: dict[ResetStep, str] = {
    ResetStep.REDEEM_CODE: "cli.demo.redeemed",
    ResetStep.CHECK_CARD: "cli.demo.card_checked",
    ResetStep.ENTER_NEW_PIN: "cli.demo.new_pin",
    ResetStep.REQUEST_CHALLENGE: "cli.demo.challenge",
    ResetStep.WRITE_PIN: "cli.demo.written",
    ResetStep.REPORT_RESULT: "cli.demo.reported",
}


class DemoPrompts:
    """:class:`kamusm.flows.ResetPrompts` answering as the holder would, unattended."""

    def __init__(
        self,
        *,
        code: VerificationCode,
        serial: str,
        sandbox: RunningSandbox,
        holder: TestHolder,
        steps: StepClock,
    ) -> None:
        self._code: VerificationCode | None = code
        self._serial = serial
        self._sandbox = sandbox
        self._holder = holder
        self._steps = steps
        self._current: ResetStep | None = None
        self._pin_tries = 0
        self.chosen_pin: Pin | None = None
        self.chosen: CardChoice | None = None

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        self.finish_step()
        self._current = step

    def finish_step(self) -> None:
        """Print the step that just ended (the flow moved on, or returned)."""
        step, self._current = self._current, None
        if step is ResetStep.ENTER_CODE_AND_CHOOSE_CARD:
            shown = self.chosen.display(self._steps.ui.lang) if self.chosen else self._serial
            self._steps.done("cli.demo.code_entered", card=shown)
        elif step is ResetStep.ENTER_CONFIRMATION:
            self._steps.done("cli.demo.authorized")
        elif step in _FINISHED:
            self._steps.done(_FINISHED[step])

    def problem(self, error: KamusmError) -> None:
        self._steps.ui.problem(error.message(self._steps.ui.lang))

    def verification_code(self, *, length: int, expired: bool) -> VerificationCode | None:
        code, self._code = self._code, None  # one code: an expiry ends the demo
        return code

    def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        self.chosen = next((c for c in cards if c.serial == self._serial), None)
        return None if self.chosen is None else self._serial

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[Pin, Pin] | None:
        self._pin_tries += 1
        if self._pin_tries > _PIN_TRIES:
            return None
        policy = PinPolicy().narrow(min_length, max_length)
        holder = self._holder
        pin = random_pin(policy, tckn=holder.tckn, birth_date=holder.birth_date)
        self.chosen_pin = pin
        return pin, pin

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        code = self._sandbox.last_sms_code(self._holder.phone).reveal()
        self._steps.done("cli.demo.sms")
        return code

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool:
        return False  # the demo answers at once: an expired SMS code is not met


def demo_command(settings: Settings) -> int:
    """Run the demo; 0 when the card ends with a new PIN that verifies."""
    from kamusm.testing.softhsm import find_softhsm_module  # noqa: PLC0415

    if find_softhsm_module() is None:
        raise CommandError("cli.softhsm_missing", ExitCode.SETUP)
    # The sandbox and the test certificates need the [sandbox] extra: a missing one is named.
    from kamusm.flows import reset_pin  # noqa: PLC0415
    from kamusm.portal import PortalClient  # noqa: PLC0415
    from kamusm.testing.sandbox import (  # noqa: PLC0415
        TestHolder,
        provision_softhsm_card,
        running_sandbox,
    )

    ui = Ui(settings.lang)
    lang = settings.lang
    ui.say(text("cli.demo.title", lang), style="bold")
    steps = StepClock(ui)
    clock = SystemClock()
    holder = TestHolder.default()
    with running_sandbox(clock=clock) as sandbox:
        steps.done("cli.demo.sandbox", url=sandbox.url)
        # The card's first PIN is random too: nobody knows it, as with a new card.
        card = provision_softhsm_card(sandbox.portal, holder=holder, pin=random_pin(PinPolicy()))
        shown = f"{holder.name} ({holder.tckn.masked})"
        steps.done("cli.demo.provisioned", serial=card.serial, holder=shown)
        with PortalClient(sandbox.url, clock=clock) as portal:
            portal.login_edevlet(holder.tckn, holder.password)
            steps.done("cli.demo.login")
            code = portal.start_pin_reset(Product.NES)
            steps.done("cli.demo.code")
            prompts = DemoPrompts(
                code=code, serial=card.serial, sandbox=sandbox, holder=holder, steps=steps
            )
            module = card.module()
            reset_pin(
                module,
                portal,
                prompts,
                product=Product.NES,
                clock=clock,
                birth_date=holder.birth_date,
            )
            prompts.finish_step()
        new_pin = prompts.chosen_pin
        if new_pin is None:  # pragma: no cover - reset_pin returned, so a PIN was chosen
            raise CommandError("cli.unexpected", ExitCode.ERROR, kind="no PIN")
        module.token(serial=card.serial).verify_pin(new_pin)
        steps.done("cli.demo.verified")
    ui.success(text("cli.demo.done", lang, ms=steps.total_ms()))
    return ExitCode.OK
