"""PinPolicy: every rule, all failures reported at once, and an independent oracle."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamusm import errors
from kamusm.messages import LANGUAGES
from kamusm.policy import PinPolicy, PinRule
from kamusm.values import Pin, Tckn

HOLDER = Tckn("17291716060")
BORN = date(1990, 1, 31)


def rules_of(policy: PinPolicy, new: str, **kw: object) -> set[PinRule]:
    kw.setdefault("confirmation", new)
    with pytest.raises(errors.PinPolicyError) as info:
        policy.check(new, **kw)  # type: ignore[arg-type]
    return {v.rule for v in info.value.violations}


def test_a_good_pin_passes_and_comes_back_as_a_pin() -> None:
    pin = PinPolicy().check("482915", confirmation="482915", tckn=HOLDER, birth_date=BORN)
    assert isinstance(pin, Pin) and pin.reveal() == "482915"


@pytest.mark.parametrize(
    ("new", "rule"),
    [
        ("48291", PinRule.TOO_SHORT),
        ("4829154829154", PinRule.TOO_LONG),
        ("48a915", PinRule.NOT_DIGITS),
        ("111111", PinRule.REPEATED_DIGIT),
        ("123456", PinRule.SEQUENTIAL),
        ("987654", PinRule.SEQUENTIAL),
        ("890123", PinRule.SEQUENTIAL),
        ("17291716060", PinRule.CONTAINS_TCKN),
        ("716060", PinRule.CONTAINS_TCKN),
        ("31011990", PinRule.BIRTH_DATE),
        ("310190", PinRule.BIRTH_DATE),
        ("19900131", PinRule.BIRTH_DATE),
        ("900131", PinRule.BIRTH_DATE),
    ],
)
def test_each_rule(new: str, rule: PinRule) -> None:
    assert rule in rules_of(PinPolicy(), new, tckn=HOLDER, birth_date=BORN)


def test_confirmation_must_match() -> None:
    assert rules_of(PinPolicy(), "482915", confirmation="482916") == {PinRule.CONFIRMATION_MISMATCH}


def test_every_failing_rule_is_reported_at_once() -> None:
    found = rules_of(PinPolicy(), "11111", confirmation="22222")
    assert found == {PinRule.TOO_SHORT, PinRule.REPEATED_DIGIT, PinRule.CONFIRMATION_MISMATCH}


def test_weak_pins_allowed_by_switch() -> None:
    policy = PinPolicy(allow_weak=True)
    assert policy.check("123456", confirmation="123456").reveal() == "123456"
    assert policy.check("111111", confirmation="111111", tckn=HOLDER).reveal() == "111111"


def test_old_pin_allowed_by_default_and_forbidden_by_switch() -> None:
    assert PinPolicy().check("482915", confirmation="482915", old=Pin("482915"))
    assert rules_of(PinPolicy(allow_reuse=False), "482915", old="482915") == {PinRule.SAME_AS_OLD}


def test_fifteen_digits_look_like_a_verification_code() -> None:
    code = "384756192837465"
    with pytest.raises(errors.LooksLikeVerificationCodeError) as info:
        PinPolicy().check(code, confirmation=code)
    err = info.value
    assert PinRule.LOOKS_LIKE_CODE in {v.rule for v in err.violations}
    assert "PUK" in err.message("tr") and "PUK" in err.message("en")
    assert code not in err.message("tr") + err.message("en") + repr(err)
    # Even a policy that allows 15 digits refuses a value shaped like the code.
    with pytest.raises(errors.LooksLikeVerificationCodeError):
        PinPolicy(max_length=16).check(code, confirmation=code)


def test_narrowed_by_the_token_limits() -> None:
    policy = PinPolicy().narrow(4, 8)  # opencryptoki: 4-8
    assert (policy.min_length, policy.max_length) == (6, 8)
    assert PinRule.TOO_LONG in rules_of(policy, "482915482")
    softhsm = PinPolicy().narrow(4, 255)
    assert (softhsm.min_length, softhsm.max_length) == (6, 12)
    impossible = PinPolicy().narrow(13, 16)
    assert PinRule.NO_POSSIBLE_LENGTH in rules_of(impossible, "4829154829154")


def test_messages_list_every_rule_and_never_the_pin() -> None:
    with pytest.raises(errors.PinPolicyError) as info:
        PinPolicy().check("917291716060x", confirmation="nope", tckn=HOLDER)
    err = info.value
    for lang in LANGUAGES:
        text = err.message(lang)
        assert "917291716060" not in text
        for v in err.violations:
            assert v.message(lang) in text
    assert err.rules == {v.rule.value for v in err.violations}


# ---- the oracle ---------------------------------------------------------------------------


def oracle_accepts(p: PinPolicy, new: str, conf: str, tckn: Tckn, born: date, old: str) -> bool:
    """An independent statement of the rules, written plainly."""
    if not (new.isascii() and new.isdigit()):
        return False
    if not p.min_length <= len(new) <= p.max_length or new != conf:
        return False
    if len(new) == p.verification_code_length:
        return False
    if not p.allow_reuse and new == old:
        return False
    if p.allow_weak:
        return True
    if new == new[0] * len(new):
        return False
    ups = "01234567890123456789"
    downs = ups[::-1]
    if len(new) > 2 and (new in ups or new in downs):
        return False
    if any(tckn.value[i : i + 6] in new for i in range(6)):
        return False
    d, m, y = f"{born.day:02d}", f"{born.month:02d}", f"{born.year:04d}"
    forms = [d + m + y, d + m + y[2:], y + m + d, y[2:] + m + d, m + d + y, m + d + y[2:]]
    return not any(f in new for f in forms)


pins = st.one_of(
    st.text(alphabet="0123456789", min_size=0, max_size=16),
    st.sampled_from(["123456", "654321", "000000", "7890123", "17291716060", "310190", "900131"]),
    st.text(min_size=0, max_size=14),
)


@given(
    new=pins,
    conf_same=st.booleans(),
    other=pins,
    allow_weak=st.booleans(),
    allow_reuse=st.booleans(),
    lo=st.integers(4, 8),
    hi=st.integers(6, 16),
    old=pins,
)
def test_policy_accepts_exactly_when_every_rule_allows(
    new: str,
    conf_same: bool,
    other: str,
    allow_weak: bool,
    allow_reuse: bool,
    lo: int,
    hi: int,
    old: str,
) -> None:
    policy = PinPolicy(allow_weak=allow_weak, allow_reuse=allow_reuse).narrow(lo, hi)
    conf = new if conf_same else other
    expected = oracle_accepts(policy, new, conf, HOLDER, BORN, old)
    try:
        policy.check(new, confirmation=conf, tckn=HOLDER, birth_date=BORN, old=old)
    except errors.PinPolicyError as exc:
        assert not expected, exc.rules
        assert exc.violations
    else:
        assert expected
