"""Random sequences of a holder's actions through the library, on opencryptoki's software token
(which really counts wrong PINs and locks after three): the SO PIN never locks, and the user PIN
locks only when the holder explicitly acknowledged spending the final try. Every action's
outcome (the error it raises, or none, and the card state after) is decided by a model of the
card's state and asserted: a wrong PIN counted twice, a right one refused, or a change that
never happens all fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kamusm import (
    AuthorizationExpiredError,
    AuthorizationSpentError,
    FinalTryNotAcknowledgedError,
    FlowCancelledError,
    KamusmError,
    ManualClock,
    Pin,
    PinIncorrectError,
    PinLockedError,
    PinLockedUseResetError,
    PinStatus,
    UnblockAuthorization,
    change_pin,
)
from kamusm.testing.opencryptoki import (
    OpencryptokiToken,
    fresh_opencryptoki_token,
    opencryptoki_unavailable_reason,
)
from kamusm.testing.prompts import ScriptedChangePrompts

_MISSING = opencryptoki_unavailable_reason()
pytestmark = [
    pytest.mark.opencryptoki,
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]

PINS = ["482915", "730614", "5938271"]
WRONG = ["000000", "111222", "9999999"]
#: Where one more wrong PIN takes the card (opencryptoki, like a real card, locks on the 3rd).
_NEXT = {"ok": "count_low", "count_low": "final_try", "final_try": "locked"}


class HolderActions(RuleBasedStateMachine):
    """The model: the PIN the card should have, and whether a lock has been consented to."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.card: OpencryptokiToken = fresh_opencryptoki_token(pin=PINS[0])
        self.pin = PINS[0]
        self.lock_consented = False
        self.spent: list[UnblockAuthorization] = []

    def status(self) -> PinStatus:
        return self.card.token().pin_status()

    def _expected(
        self, before: str, *, right: bool, acknowledge: bool, action: str
    ) -> tuple[type[KamusmError] | None, str]:
        """The one outcome the action must have in this card state: the error it raises (or
        ``None``) and the card state after. One wrong PIN moves the card one step on
        (ok, count_low, final_try, locked); a right one clears it; a refusal touches
        nothing."""
        allowed = before != "final_try" or acknowledge
        if action == "flow":
            if before == "locked":
                return PinLockedUseResetError, "locked"  # routed to the portal reset
            if not allowed:
                return FlowCancelledError, before  # the acknowledgement was not given
            if right:
                return None, "ok"
            if before == "final_try":
                return PinIncorrectError, "locked"  # the acknowledged last try, spent
            # The wrong old PIN is counted once, then the flow asks again: no more answers.
            return FlowCancelledError, _NEXT[before]
        if before == "locked":
            return PinLockedError, "locked"
        if not allowed:
            return FinalTryNotAcknowledgedError, before
        if right:
            return None, "ok"
        return PinIncorrectError, _NEXT[before]

    def _attempt(self, right: bool, acknowledge: bool, action: str, new: str) -> None:
        if new == self.pin:
            # opencryptoki refuses C_SetPIN to the PIN it has (PinRejectedByTokenError); the
            # policy allows it, the card decides: the model only changes to another PIN.
            new = next(p for p in PINS if p != self.pin)
        before = self.status().summary
        old = self.pin if right else next(w for w in WRONG if w != self.pin)
        if not right and acknowledge and before == "final_try":
            self.lock_consented = True
        error, after = self._expected(before, right=right, acknowledge=acknowledge, action=action)
        token = self.card.token()
        raised: KamusmError | None = None
        problems: list[KamusmError] = []
        try:
            if action == "verify":
                token.verify_pin(Pin(old), acknowledge_final_try=acknowledge)
            elif action == "change":
                token.change_pin(Pin(old), Pin(new), acknowledge_final_try=acknowledge)
            else:  # the whole change flow, as a person answering its questions
                prompts = ScriptedChangePrompts(
                    pins=[(old, new, new)], acknowledge_final_try=acknowledge
                )
                problems = prompts.problems
                change_pin(token, prompts)
        except KamusmError as exc:
            raised = exc
        event(f"{action} {'right' if right else 'wrong'} in {before}: {type(raised).__name__}")
        assert type(raised) is (error or type(None)), (action, before, right, acknowledge)
        assert self.status().summary == after, (action, before, right, acknowledge)
        if action == "flow" and error is FlowCancelledError and not right and before != after:
            assert [type(p) for p in problems] == [PinIncorrectError]
        if raised is None and action != "verify":
            self.pin = new

    @rule(
        right=st.booleans(),
        acknowledge=st.booleans(),
        action=st.sampled_from(["verify", "change", "flow"]),
        new=st.sampled_from(PINS),
    )
    def holder_types_a_pin(self, right: bool, acknowledge: bool, action: str, new: str) -> None:
        self._attempt(right, acknowledge, action, new)

    @rule(new=st.sampled_from(PINS))
    def portal_reset(self, new: str) -> None:
        """An authorization as the portal issues it after the SMS confirmation."""
        auth = self.card.unblock_authorization(now=self.clock.now())
        self.card.token().unblock(auth, Pin(new), clock=self.clock)
        # Not locked, whatever the state before. (opencryptoki keeps a count_low from before
        # the reset until the next right login: the next action starts from what it reads.)
        assert not self.status().locked
        self.pin = new
        self.lock_consented = False
        self.spent.append(auth)

    @precondition(lambda self: bool(self.spent))
    @rule(new=st.sampled_from(PINS))
    def replayed_authorization_is_refused(self, new: str) -> None:
        with pytest.raises(AuthorizationSpentError):
            self.card.token().unblock(self.spent[-1], Pin(new), clock=self.clock)

    @rule(new=st.sampled_from(PINS))
    def expired_authorization_is_refused(self, new: str) -> None:
        auth = self.card.unblock_authorization(
            now=self.clock.now() - timedelta(minutes=10), validity=timedelta(minutes=5)
        )
        with pytest.raises(AuthorizationExpiredError):
            self.card.token().unblock(auth, Pin(new), clock=self.clock)
        assert not auth.is_spent

    @invariant()
    def so_pin_never_locks(self) -> None:
        status = self.status()
        assert not status.so_locked
        assert not status.so_final_try

    @invariant()
    def user_pin_locks_only_with_consent(self) -> None:
        status = self.status()
        event(f"PIN status {status.summary}")
        if status.locked:
            assert self.lock_consented


HolderActions.TestCase.settings = settings(
    max_examples=60,
    derandomize=True,  # the same 60 sequences every run: a red run can be run again
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHolderActions = HolderActions.TestCase
