"""The card's own PIN length limits, at both ends, on SoftHSM2 (which takes 4 to 255): a PIN
the card could not take is refused before the card is touched, one it can take is tried. The
boundaries are where mutation testing found the guards unguarded (``<=`` read as ``<``).

SoftHSM2 sets ``USER_PIN_COUNT_LOW`` on a wrong login, so "tried" shows as ``count_low`` and
"not tried" as ``ok``.
"""

from __future__ import annotations

import pytest

from kamusm.errors import PinIncorrectError, PinRejectedByTokenError
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.values import Pin

SHORT, LOW, HIGH, LONG = 3, 4, 255, 256  # SoftHSM2's limits are 4 and 255


def digits(length: int) -> Pin:
    """A wrong PIN of this length (no run of one digit, so no policy takes it for weak)."""
    return Pin(("9081726354" * 26)[:length])


def test_the_limits_are_the_ones_written_here(softhsm_token: SoftHsmToken) -> None:
    info = softhsm_token.token().info
    assert (info.min_pin_length, info.max_pin_length) == (LOW, HIGH)


@pytest.mark.parametrize(
    ("length", "tried"), [(SHORT, False), (LOW, True), (HIGH, True), (LONG, False)]
)
def test_verify_tries_only_a_pin_the_card_can_take(
    softhsm_token: SoftHsmToken, length: int, tried: bool
) -> None:
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError):
        token.verify_pin(digits(length))
    assert token.pin_status().summary == ("count_low" if tried else "ok")


@pytest.mark.parametrize(
    ("length", "taken"), [(SHORT, False), (LOW, True), (HIGH, True), (LONG, False)]
)
def test_change_takes_only_a_new_pin_the_card_can_take(
    softhsm_token: SoftHsmToken, length: int, taken: bool
) -> None:
    token = softhsm_token.token()
    new = digits(length)
    if taken:
        token.change_pin(softhsm_token.pin, new)
        token.verify_pin(new)
    else:
        with pytest.raises(PinRejectedByTokenError):
            token.change_pin(softhsm_token.pin, new)
        token.verify_pin(softhsm_token.pin)
    assert token.pin_status().summary == "ok"


@pytest.mark.parametrize(
    ("length", "taken"), [(SHORT, False), (LOW, True), (HIGH, True), (LONG, False)]
)
def test_unblock_takes_only_a_new_pin_the_card_can_take(
    softhsm_token: SoftHsmToken, length: int, taken: bool
) -> None:
    token = softhsm_token.token()
    authorization = softhsm_token.unblock_authorization()
    new = digits(length)
    if taken:
        token.unblock(authorization, new)
        token.verify_pin(new)
    else:
        with pytest.raises(PinRejectedByTokenError):
            token.unblock(authorization, new)
        assert not authorization.is_spent  # refused before the credential was used
        token.verify_pin(softhsm_token.pin)
