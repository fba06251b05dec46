"""Each attempt reaches the card exactly once, on opencryptoki's software token, which counts:
one wrong user PIN moves it from ``ok`` to ``count_low``, a second to ``final_try``; one wrong
SO PIN sets ``SO_PIN_COUNT_LOW``, a second ``SO_PIN_FINAL_TRY``. SoftHSM2 never counts, so a
PIN tried twice by mistake would pass every SoftHSM2 test; here it cannot.

The state is always read again from the card (not taken from the error), after the attempt.
"""

from __future__ import annotations

import pkcs11
import pytest

from kamusm import (
    FlowCancelledError,
    Pin,
    PinIncorrectError,
    PortalClient,
    Product,
    UnblockFailedError,
    change_pin,
    reset_pin,
)
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.opencryptoki import OpencryptokiToken, fresh_opencryptoki_token
from kamusm.testing.prompts import ScriptedChangePrompts, ScriptedResetPrompts
from kamusm.testing.sandbox import RunningSandbox, TestHolder, certificate_records
from tests.flow_parts import events, new_code
from tests.leak_canary import Secrets

pytestmark = pytest.mark.opencryptoki

PIN = "739164"
WRONG = "284017"
NEW = "582936"


def flags(card: OpencryptokiToken) -> pkcs11.TokenFlag:
    """The token's flags as the card reports them now, read without kamusm's own parsing."""
    return pkcs11.TokenFlag(card.module()._lib.get_token(token_label=card.label).flags)


def summary(card: OpencryptokiToken) -> str:
    return card.token().pin_status().summary


@pytest.fixture
def card(opencryptoki_token: OpencryptokiToken) -> OpencryptokiToken:
    return fresh_opencryptoki_token(pin=PIN)


def test_a_wrong_pin_at_verify_spends_exactly_one_try(card: OpencryptokiToken) -> None:
    with pytest.raises(PinIncorrectError):
        card.token().verify_pin(Pin(WRONG))
    assert summary(card) == "count_low"  # two tries would have reached final_try
    assert not flags(card) & pkcs11.TokenFlag.USER_PIN_FINAL_TRY


def test_a_wrong_old_pin_at_change_spends_exactly_one_try(card: OpencryptokiToken) -> None:
    with pytest.raises(PinIncorrectError):
        card.token().change_pin(Pin(WRONG), Pin(NEW))
    assert summary(card) == "count_low"
    card.token().verify_pin(Pin(PIN))  # unchanged


def test_the_change_flow_spends_one_try_per_wrong_old_pin(card: OpencryptokiToken) -> None:
    """The holder types a wrong old PIN once, then gives up: one try spent, no more."""
    prompts = ScriptedChangePrompts(pins=[(WRONG, NEW, NEW)])
    with pytest.raises(FlowCancelledError):
        change_pin(card.token(), prompts)
    assert [type(p) for p in prompts.problems] == [PinIncorrectError]
    assert prompts.asked == ["pins", "pins"]
    assert summary(card) == "count_low"


def test_the_change_flow_after_one_wrong_old_pin_changes_with_the_right_one(
    card: OpencryptokiToken,
) -> None:
    prompts = ScriptedChangePrompts(pins=[(WRONG, NEW, NEW), (PIN, NEW, NEW)])
    change_pin(card.token(), prompts)
    assert summary(card) == "ok"
    card.token().verify_pin(Pin(NEW))


def test_a_refused_so_credential_reaches_the_card_exactly_once(
    opencryptoki_token: OpencryptokiToken,
    kamusm_sandbox: RunningSandbox,
    certificate_factory: CertificateFactory,
    leaks: Secrets,
) -> None:
    """The portal releases a credential the card refuses (its record is wrong): the whole reset
    ends in :class:`UnblockFailedError`, the card saw one SO failure (``SO_PIN_COUNT_LOW``, not
    the final try), the user PIN is as it was, and the portal heard of the failure. On AKİS
    the SO credential is the PUK: a retry here would be a second wrong PUK."""
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    issued = certificate_factory.nes_card(name=holder.name, tckn=holder.tckn)
    card = fresh_opencryptoki_token(pin=PIN, certificates=[c.as_token_object() for c in issued])
    wrong_so = "99887766"
    leaks.add(card.pin, card.so_pin, wrong_so, NEW, holder.password)
    kamusm_sandbox.portal.register_card(
        serial=card.serial,
        holder=holder.tckn,
        product=Product.NES,
        so_credential=wrong_so,
        certificates=certificate_records(issued, Product.NES),
    )
    code = new_code(kamusm_sandbox, holder, Product.NES)
    leaks.add(code)

    def sms() -> str:
        answer = kamusm_sandbox.last_sms_code(holder.phone).reveal()
        leaks.add(answer)
        return answer

    prompts = ScriptedResetPrompts(
        codes=[code], card=card.serial, pins=[(NEW, NEW)], confirmations=[sms]
    )
    with (
        PortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock, timeout=5.0) as client,
        pytest.raises(UnblockFailedError) as caught,
    ):
        reset_pin(card.module(), client, prompts, clock=kamusm_sandbox.clock)
    leaks.seen(caught.value, prompts, *prompts.problems)

    seen = flags(card)
    assert seen & pkcs11.TokenFlag.SO_PIN_COUNT_LOW  # the card counted the refusal ...
    assert not seen & pkcs11.TokenFlag.SO_PIN_FINAL_TRY  # ... once: two would be the final try
    assert not seen & pkcs11.TokenFlag.SO_PIN_LOCKED
    status = card.token().pin_status()
    assert (status.so_count_low, status.so_final_try) == (True, False)
    assert status.summary == "ok"
    card.token().verify_pin(Pin(PIN))  # the user PIN is as it was
    assert prompts.asked == ["verification_code", "choose_card", "new_pin", "confirmation"]
    trail = events(kamusm_sandbox, card.serial)
    assert trail[-1] == "operation.failed"
    assert "operation.completed" not in trail
