"""Random sequences of a holder's actions through the library, on opencryptoki's software token
(which really counts wrong PINs and locks after three): the SO PIN never locks, and the user PIN
locks only when the holder explicitly acknowledged spending the final try."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kamusm import (
    AuthorizationExpiredError,
    AuthorizationSpentError,
    KamusmError,
    ManualClock,
    Pin,
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

    def _attempt(self, right: bool, acknowledge: bool, action: str, new: str) -> None:
        before = self.status()
        old = self.pin if right else next(w for w in WRONG if w != self.pin)
        if not right and acknowledge and before.final_try:
            self.lock_consented = True
        token = self.card.token()
        try:
            if action == "verify":
                token.verify_pin(Pin(old), acknowledge_final_try=acknowledge)
            elif action == "change":
                token.change_pin(Pin(old), Pin(new), acknowledge_final_try=acknowledge)
                self.pin = new
            else:  # the whole change flow, as a person answering its questions
                prompts = ScriptedChangePrompts(
                    pins=[(old, new, new)], acknowledge_final_try=acknowledge
                )
                change_pin(token, prompts)
                self.pin = new
        except KamusmError:
            pass

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
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHolderActions = HolderActions.TestCase
