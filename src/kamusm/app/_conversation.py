"""A flow driver run as a background task, asking its questions through the browser.

:func:`kamusm.areset_pin` and :func:`kamusm.achange_pin` ask a prompts object for every answer.
Here each question becomes the page the browser shows: the prompt stores the question and waits;
the form's ``POST`` hands in the answer and waits until the driver asks the next question or
ends, so that the redirect after it shows where the flow now stands. The rules stay in the
library's flow machines: this module only passes questions and answers along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from kamusm.errors import KamusmError, SmsLimitReachedError
from kamusm.flows import CardChoice, ChangeStep, ResetStep
from kamusm.values import Clock, Product

__all__ = ["ChangeConversation", "Conversation", "Question", "ResetConversation"]

log = logging.getLogger(__name__)

#: How long a form's ``POST`` waits for the driver's next question before it shows the
#: "working" page instead (a token call or the portal taking long).
ANSWER_WAIT_SECONDS = 60.0


@attrs.frozen
class Question:
    """What the driver asks now: ``name`` picks the screen, ``details`` fill it."""

    name: str
    details: dict[str, Any] = attrs.field(factory=dict)


class StaleAnswerError(Exception):
    """The browser answered a question the driver is not asking (a second tab, the back
    button, a form sent twice)."""


class Conversation:
    """One flow, run as a task, with at most one open question at a time."""

    kind = "conversation"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.question: Question | None = None
        self.problems: list[KamusmError] = []
        self.step: str | None = None
        self.deadline: datetime | None = None
        self.result: object | None = None
        self.error: KamusmError | None = None
        self._future: asyncio.Future[Any] | None = None
        self._moved = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    # -- the task ------------------------------------------------------------------------

    def start(self, run: Callable[[], Awaitable[object]]) -> None:
        async def main() -> None:
            try:
                self.result = await run()
            except KamusmError as err:
                self.error = err
                log.info("%s ended: %s", self.kind, type(err).__name__)
            except Exception as err:  # noqa: BLE001 (shown as "unexpected"; never a traceback)
                self.error = KamusmError()
                log.error("%s failed unexpectedly: %s", self.kind, type(err).__name__)  # noqa: TRY400 (its type only)
            finally:
                self.question = None
                self._moved.set()

        self._task = asyncio.get_running_loop().create_task(main())

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    async def wait_moved(self) -> None:
        """Wait until a question is open or the flow has ended (at most
        :data:`ANSWER_WAIT_SECONDS`: then the page says the work goes on)."""
        if self.question is not None or self.finished:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), ANSWER_WAIT_SECONDS)

    async def cancel(self) -> None:
        """Answer the open question with "cancel" (the driver leaves the card as it was)."""
        if self.question is not None and self._future is not None:
            self.question = None
            self._moved.clear()
            self._future.set_result(None)
            await self.wait_moved()

    # -- what the driver calls -------------------------------------------------------------

    async def ask(self, name: str, **details: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._future = future
        self.question = Question(name, details)
        self._moved.set()
        try:
            return await future
        finally:
            self._future = None

    def note_progress(self, step: str, remaining: timedelta | None) -> None:
        self.step = step
        self.deadline = None if remaining is None else self.clock.now() + remaining

    def remaining_seconds(self) -> int | None:
        """Seconds left for the current step ("Kalan Süre"), by the flow's own clock."""
        if self.deadline is None:
            return None
        return max(0, int((self.deadline - self.clock.now()).total_seconds()))

    def take_problems(self) -> list[KamusmError]:
        problems, self.problems = self.problems, []
        return problems

    # -- what the browser calls ------------------------------------------------------------

    async def answer(self, name: str, value: Any) -> None:
        """Hand in the answer to question ``name``, then wait for the next question."""
        question, future = self.question, self._future
        if question is None or future is None or question.name != name or future.done():
            raise StaleAnswerError()
        self.question = None
        self._moved.clear()
        future.set_result(value)
        await self.wait_moved()


class ResetConversation(Conversation):
    """A PIN reset ("PIN Oluşturma/Kilit Çözme") as :class:`kamusm.flows.AsyncResetPrompts`."""

    kind = "reset"

    def __init__(self, clock: Clock, product: Product) -> None:
        super().__init__(clock)
        self.product = product
        self.method = "sms"
        self.cards: list[CardChoice] = []
        self.chosen: str | None = None
        #: The code screen's text when the reset needs a new code for a reason of its own.
        self.new_code_reason: str | None = None

    async def verification_code(self, *, length: int, expired: bool) -> str | None:
        # A new code is needed because the SMS codes (or web password askings) this
        # operation allows are spent, not because a code expired: the screen says so.
        why, self.new_code_reason = self.new_code_reason, None
        answer: str | None = await self.ask(
            "code", length=length, expired=expired and why is None, reason=why
        )
        return answer

    async def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        self.cards = list(cards)
        answer: str | None = await self.ask("card", cards=self.cards)
        return answer

    async def new_pin(self, *, min_length: int, max_length: int) -> tuple[str, str] | None:
        answer: tuple[str, str] | None = await self.ask(
            "pin", min_length=min_length, max_length=max_length
        )
        return answer

    async def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        answer: str | None = await self.ask(
            "confirm",
            method=method,
            attempts_remaining=attempts_remaining,
            masked_phone=masked_phone,
        )
        return answer

    async def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None:
        answer: bool | None = await self.ask(
            "new_sms", method=method, challenges_left=challenges_left
        )
        return answer

    async def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        self.note_progress(step.value, remaining)

    async def problem(self, error: KamusmError) -> None:
        self.problems.append(error)
        if isinstance(error, SmsLimitReachedError):
            web = error.method == "web_password"
            self.new_code_reason = "code.web_limit" if web else "code.sms_limit"


class ChangeConversation(Conversation):
    """A PIN change as :class:`kamusm.flows.AsyncChangePrompts`."""

    kind = "change"

    def __init__(self, clock: Clock, serial: str, card: str) -> None:
        super().__init__(clock)
        self.serial = serial
        self.card = card

    async def acknowledge_final_try(self) -> bool | None:
        answer: bool | None = await self.ask("final_try")
        return answer

    async def pins(self, *, min_length: int, max_length: int) -> tuple[str, str, str] | None:
        answer: tuple[str, str, str] | None = await self.ask(
            "pins", min_length=min_length, max_length=max_length
        )
        return answer

    async def progress(self, step: ChangeStep, *, remaining: timedelta | None) -> None:
        self.note_progress(step.value, remaining)

    async def problem(self, error: KamusmError) -> None:
        self.problems.append(error)
