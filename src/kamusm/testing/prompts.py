"""Scripted answers for the flow drivers: for tests and unattended runs.

Each question takes the next answer from its list; when a list runs out the answer is ``None``,
which cancels the flow (so a script that meets an unexpected question stops instead of looping).
Everything asked and every problem shown is recorded, without secrets, for assertions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

from kamusm.errors import KamusmError
from kamusm.flows import CardChoice, ChangeStep, ResetStep
from kamusm.values import Pin, VerificationCode

__all__ = ["ScriptedChangePrompts", "ScriptedResetPrompts"]

Answer = str | Pin | VerificationCode


class _Script:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.steps: list[ResetStep | ChangeStep] = []
        self.remaining: list[timedelta | None] = []
        self.problems: list[KamusmError] = []

    @staticmethod
    def _next(queue: list[object]) -> object | None:
        if not queue:
            return None
        item = queue.pop(0)
        return item() if callable(item) else item

    def progress(self, step: ResetStep | ChangeStep, *, remaining: timedelta | None) -> None:
        self.steps.append(step)
        self.remaining.append(remaining)

    def problem(self, error: KamusmError) -> None:
        self.problems.append(error)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(asked={self.asked!r})"


class ScriptedResetPrompts(_Script):
    """Answers for :func:`kamusm.flows.reset_pin`.

    ``codes`` and ``confirmations`` may hold callables, called when the question comes (to
    fetch a fresh code from the sandbox, or read the SMS outbox at the right moment).
    ``card`` is a serial, or a function choosing among the offered cards. ``new_sms`` answers
    the offers of a new SMS code after one expired (``True`` sends it, ``False`` declines).
    """

    def __init__(
        self,
        *,
        codes: Iterable[Answer | Callable[[], Answer | None]] = (),
        card: str | Callable[[Sequence[CardChoice]], str | None] | None = None,
        pins: Iterable[tuple[str | Pin, str | Pin]] = (),
        confirmations: Iterable[str | Callable[[], str | None]] = (),
        new_sms: Iterable[bool | None] = (),
    ) -> None:
        super().__init__()
        self._codes: list[object] = list(codes)
        self._card = card
        self._pins: list[object] = list(pins)
        self._confirmations: list[object] = list(confirmations)
        self._new_sms: list[object] = list(new_sms)
        #: ``challenges_left`` of each offer of a new SMS code.
        self.sms_offers: list[int | None] = []
        self.offered: list[Sequence[CardChoice]] = []

    def verification_code(self, *, length: int, expired: bool) -> str | VerificationCode | None:
        self.asked.append("verification_code:expired" if expired else "verification_code")
        return self._next(self._codes)  # type: ignore[return-value]

    def choose_card(self, cards: Sequence[CardChoice]) -> str | None:
        self.asked.append("choose_card")
        self.offered.append(cards)
        if callable(self._card):
            return self._card(cards)
        return self._card

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[str | Pin, str | Pin] | None:
        self.asked.append("new_pin")
        return self._next(self._pins)  # type: ignore[return-value]

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str | None:
        self.asked.append("confirmation")
        return self._next(self._confirmations)  # type: ignore[return-value]

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool | None:
        self.asked.append("offer_new_sms")
        self.sms_offers.append(challenges_left)
        return self._next(self._new_sms)  # type: ignore[return-value]


class ScriptedChangePrompts(_Script):
    """Answers for :func:`kamusm.flows.change_pin`."""

    def __init__(
        self,
        *,
        pins: Iterable[tuple[str | Pin, str | Pin, str | Pin]] = (),
        acknowledge_final_try: bool | None = None,
    ) -> None:
        super().__init__()
        self._pins: list[object] = list(pins)
        self._ack = acknowledge_final_try

    def acknowledge_final_try(self) -> bool | None:
        self.asked.append("acknowledge_final_try")
        return self._ack

    def pins(
        self, *, min_length: int, max_length: int
    ) -> tuple[str | Pin, str | Pin, str | Pin] | None:
        self.asked.append("pins")
        return self._next(self._pins)  # type: ignore[return-value]
