"""The flows' prompt protocols for a person at a terminal, and for scripts.

These classes only ask and show: every rule (what a valid PIN is, when a code has expired,
how many SMS attempts are left, whether the card fits) lives in :mod:`kamusm.flows`. Answers
are handed over as typed; the flow turns them into :class:`~kamusm.values.Pin` and
:class:`~kamusm.values.VerificationCode` values or says what is wrong, and then asks again.
Nothing here prints an answer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from kamusm._cli._common import printable
from kamusm._cli._exit import CommandError, ExitCode, StopWith
from kamusm._cli._terminal import LineReader, TimeUp
from kamusm._cli._texts import TEXTS, text
from kamusm.errors import (
    CertificateNotListedError,
    CertificateNotOnCardError,
    CertificateNotYetValidError,
    CertificateSuspendedError,
    FlowCodeExpiredError,
    InputError,
    KamusmError,
    PinEntryTimeoutError,
)
from kamusm.flows import CardChoice, ChangeStep, ResetStep, cards_of_holder
from kamusm.messages import Language
from kamusm.values import VerificationCode

if TYPE_CHECKING:
    from rich.console import Console


#: What the reset tells and goes on after: shown as notices ("!"), not as failures ("✗").
NOTICES = (
    CertificateSuspendedError,
    CertificateNotYetValidError,
    CertificateNotOnCardError,
    CertificateNotListedError,
)


def make_console(*, stderr: bool = False) -> Console:
    """A rich console that never reads markup out of our texts (holder names, messages)."""
    from rich.console import Console  # noqa: PLC0415 (rich is slow to import: only here)

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    # Into a pipe or a file: no wrapping at 80 columns, lines stay whole.
    return Console(
        stderr=stderr,
        highlight=False,
        markup=False,
        emoji=False,
        width=None if tty else 200,
        soft_wrap=not tty,
    )


class Ui:
    """Talking with a person: lines with a style, problems, and questions with a countdown."""

    def __init__(self, lang: Language, *, reader: LineReader | None = None) -> None:
        self.lang = lang
        self.console = make_console()
        self.reader = reader if reader is not None else LineReader()
        #: Whether a question was answered with Ctrl-C (a cancel that ends with exit 130).
        self.interrupted = False

    # Every line goes through printable(): they name cards, whose labels and certificate names
    # come from the card and could carry terminal escape sequences.

    def say(self, message: str, *, style: str | None = None) -> None:
        self.console.print(printable(message, lines=True), style=style)

    def note(self, message: str) -> None:
        self.console.print(printable(message, lines=True), style="dim")

    def problem(self, message: str) -> None:
        self.console.print("✗ " + printable(message, lines=True), style="bold red")

    def notice(self, message: str) -> None:
        """Something the person should know that stops nothing (a suspended certificate, one
        not valid yet, certificates the card and the portal do not share): not a failure."""
        self.console.print("! " + printable(message, lines=True), style="yellow")

    def success(self, message: str) -> None:
        self.console.print("✓ " + printable(message, lines=True), style="bold green")

    def countdown(self, seconds: int) -> str:
        if seconds <= 0:
            return text("cli.countdown.over", self.lang)
        return text("cli.countdown", self.lang, seconds=seconds)

    def ask(self, prompt: str, *, hidden: bool, deadline: float | None = None) -> str | None:
        """One answer; ``None`` when the person stops (Ctrl-D, or Ctrl-C at the question), which
        the flows take as "cancel": the card stays as it was and the portal is told. After
        Ctrl-C, :attr:`interrupted` is set, so the command ends with exit 130."""
        self.console.file.flush()
        try:
            return self.reader.ask(
                prompt, hidden=hidden, deadline=deadline, countdown=self.countdown
            )
        except KeyboardInterrupt:
            self.interrupted = True  # the command then ends with 130, as the table says
            self.console.print()
            return None


def _step_note(ui: Ui, step: ResetStep | ChangeStep) -> None:
    key = f"cli.step.{step.value}"
    if key in TEXTS:
        ui.note(text(key, ui.lang))


class Picked:
    """One card in the picker: what identifies it, how it is named, its PIN state."""

    __slots__ = ("name", "pin_summary", "serial")

    def __init__(self, serial: str, name: str, pin_summary: str) -> None:
        self.serial, self.name, self.pin_summary = serial, name, pin_summary


def pick_card(ui: Ui, cards: Sequence[Picked]) -> str | None:
    """ "Kart Seçiniz": the cards by number, each with its holder and PIN state; the serial of
    the one chosen, or ``None`` when the person stops."""
    lang = ui.lang
    ui.say(text("cli.reset.cards", lang), style="bold")
    for number, card in enumerate(cards, 1):
        state = text(f"cli.pin.{card.pin_summary}", lang)
        ui.say(f"  {number}) {card.name} · {card.serial}  [PIN: {state}]")
    while True:
        answer = ui.ask(text("cli.reset.card", lang), hidden=False)
        if answer is None:
            return None
        choice = answer.strip() or ("1" if len(cards) == 1 else "")
        if choice.isdigit() and 1 <= int(choice) <= len(cards):
            return cards[int(choice) - 1].serial
        ui.problem(text("cli.reset.card_range", lang, count=len(cards)))


class TerminalResetPrompts:
    """:class:`kamusm.flows.ResetPrompts` at a terminal: the guided reset of the Kamu SM guides.

    The verification code, the new PIN and the SMS code are read without echo; the card is
    picked by number from a list naming each card's holder. Ctrl-D at a question cancels (the
    card stays as it was); a question with a time limit shows the time left, live, and ends
    when it runs out (:attr:`timed_out` then says which limit).
    """

    def __init__(self, ui: Ui, *, holder: str | None = None, product: str = "nes") -> None:
        self.ui = ui
        self._holder = holder  # --holder: the cards of this holder only, when any is in
        self._product = product  # the introduction names this product's route on the portal
        self._deadline: float | None = None
        self._introduced = False
        self._announced = False
        self._code: VerificationCode | None = None  # kept only for the card chosen next
        self._reuse = False
        #: The limit that ran out at a question (the flow was cancelled for it), or ``None``.
        self.timed_out: KamusmError | None = None

    def reuse_code(self) -> None:
        """Answer the next verification-code question with the code typed last (a card that
        is not the code holder's was chosen: the code is still valid for another card)."""
        self._reuse = self._code is not None

    def forget_code(self) -> None:
        self._code, self._reuse = None, False

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        self._deadline = None if remaining is None else time.monotonic() + remaining.total_seconds()
        if step is ResetStep.REQUEST_CHALLENGE:
            self._announced = False
        _step_note(self.ui, step)

    def problem(self, error: KamusmError) -> None:
        if isinstance(error, NOTICES):  # told, and the reset goes on
            self.ui.notice(error.message(self.ui.lang))
        else:
            self.ui.problem(error.message(self.ui.lang))

    def verification_code(self, *, length: int, expired: bool) -> str | VerificationCode | None:
        ui, lang = self.ui, self.ui.lang
        if self._reuse and not expired and self._code is not None:
            self._reuse = False
            return self._code
        self.forget_code()
        if not self._introduced:
            self._introduced = True
            intro = "cli.reset.intro.mali_muhur" if self._product == "mali_muhur" else None
            ui.say(text(intro or "cli.reset.intro", lang))
            ui.note(text("cli.cancel_hint", lang))
        key = "cli.reset.new_code" if expired else "cli.reset.code"
        while True:
            answer = ui.ask(text(key, lang, length=length), hidden=True)
            if answer is None:
                return None
            if answer.strip():
                break
        try:
            self._code = VerificationCode.parse(answer, length=length)
        except InputError:
            return answer  # the flow says what is wrong with it, and asks again
        return self._code

    def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        ui, lang = self.ui, self.ui.lang
        if not cards:
            if ui.ask(text("cli.reset.no_card", lang), hidden=False) is None:
                return None
            return ""  # the flow reads the card list again
        if self._holder is not None:
            mine = cards_of_holder(cards, self._holder)
            if len(mine) == 1:  # the one card of that holder: no question to ask
                ui.say(text("cli.reset.card_of_holder", lang, card=mine[0].display(lang)))
                return mine[0].serial
            if not mine:  # say so, and offer every card rather than stop
                ui.problem(text("cli.no_card_of_holder", lang, holder=self._holder))
            cards = mine or cards
        shown = [Picked(c.serial, c.display(lang), c.pin_status.summary) for c in cards]
        return pick_card(ui, shown)

    def _timed(self, prompt: str, error: KamusmError) -> str | None:
        try:
            return self.ui.ask(prompt, hidden=True, deadline=self._deadline)
        except TimeUp:
            self.timed_out = error  # the flow is cancelled; the command says which time ran out
            return None

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[str, str] | None:
        ui, lang = self.ui, self.ui.lang
        ui.say(text("cli.reset.pin_rules", lang, min_length=min_length, max_length=max_length))
        first = self._timed(text("cli.reset.new_pin", lang), PinEntryTimeoutError())
        if first is None:
            return None
        again = self._timed(text("cli.reset.new_pin_again", lang), PinEntryTimeoutError())
        if again is None:
            return None
        return first, again

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        ui, lang = self.ui, self.ui.lang
        if method == "sms" and masked_phone and not self._announced:
            ui.say(text("cli.reset.sms_sent", lang, phone=masked_phone))
        self._announced = True
        key = "cli.reset.sms" if method == "sms" else "cli.reset.web_password"
        return self._timed(text(key, lang), FlowCodeExpiredError())

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None:
        """ "Yeni SMS onay kodu gönderilsin mi? (e/h)", within the verification code's time;
        ``e`` sends a new one, ``h`` ends the reset with the card unchanged."""
        ui, lang = self.ui, self.ui.lang
        if challenges_left is not None:
            left = (
                "cli.reset.new_sms_left" if method == "sms" else "cli.reset.new_web_password_left"
            )
            left += ".one" if challenges_left == 1 else ""
            ui.note(text(left, lang, count=challenges_left))
        key = "cli.reset.new_sms" if method == "sms" else "cli.reset.new_web_password"
        while True:
            try:
                answer = ui.ask(text(key, lang), hidden=False, deadline=self._deadline)
            except TimeUp:
                self.timed_out = FlowCodeExpiredError()  # the verification code ran out
                return None
            if answer is None:
                return None
            word = answer.strip().casefold()
            if word in _YES:
                return True
            if word in _NO:
                return False
            ui.problem(text("cli.reset.yes_or_no", lang))


#: Answers to a yes/no question, in either language (``"HAYIR".casefold()`` is ``"hayir"``).
_YES = frozenset({"e", "evet", "y", "yes"})
_NO = frozenset({"h", "hayır", "hayir", "n", "no"})


class TerminalChangePrompts:
    """:class:`kamusm.flows.ChangePrompts` at a terminal. On the final try the holder has to
    type a word ("EVET" / "YES") to go on; anything else stops with the PIN untouched."""

    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    def progress(self, step: ChangeStep, *, remaining: timedelta | None) -> None:
        _step_note(self.ui, step)

    def problem(self, error: KamusmError) -> None:
        self.ui.problem(error.message(self.ui.lang))

    def acknowledge_final_try(self) -> bool:
        ui, lang = self.ui, self.ui.lang
        ui.problem(text("token.final_try", lang))
        word = text("cli.change.final_try_word", lang)
        answer = ui.ask(text("cli.change.final_try", lang, word=word), hidden=False)
        return answer is not None and answer.strip().casefold() == word.casefold()

    def pins(self, *, min_length: int, max_length: int) -> tuple[str, str, str] | None:
        ui, lang = self.ui, self.ui.lang
        old = ui.ask(text("cli.change.old_pin", lang), hidden=True)
        if old is None:
            return None
        ui.say(text("cli.reset.pin_rules", lang, min_length=min_length, max_length=max_length))
        new = ui.ask(text("cli.reset.new_pin", lang), hidden=True)
        if new is None:
            return None
        again = ui.ask(text("cli.reset.new_pin_again", lang), hidden=True)
        if again is None:
            return None
        return old, new, again


class StdinChangePrompts:
    """:class:`kamusm.flows.ChangePrompts` for scripts (``change-pin --pin-stdin``): three
    lines on standard input, used once. The final try is never spent from a script, and a
    refused attempt ends the command with that refusal instead of asking again."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # sys.stdin is None when the process started with standard input closed.
        self._stream: TextIO | None = stream if stream is not None else sys.stdin
        self._used = False
        self._last: KamusmError | None = None

    def progress(self, step: ChangeStep, *, remaining: timedelta | None) -> None:
        return None

    def problem(self, error: KamusmError) -> None:
        self._last = error

    def acknowledge_final_try(self) -> bool:
        raise CommandError("cli.change.final_try_script", ExitCode.CANCELLED)

    def pins(self, *, min_length: int, max_length: int) -> tuple[str, str, str]:
        if self._used:
            if self._last is not None:
                raise StopWith(self._last)
            raise CommandError("cli.change.stdin", ExitCode.USAGE)
        self._used = True
        if self._stream is None:
            raise CommandError("cli.change.stdin_closed", ExitCode.USAGE)
        try:
            lines = [self._stream.readline() for _ in range(3)]
        except (OSError, ValueError):  # closed, or not readable
            raise CommandError("cli.change.stdin_closed", ExitCode.USAGE) from None
        if not all(line.strip() for line in lines):
            raise CommandError("cli.change.stdin", ExitCode.USAGE)
        old, new, again = (line.rstrip("\r\n") for line in lines)
        return old, new, again
