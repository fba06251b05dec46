"""Value objects: secrets stay secret, codes expire by the clock, identifiers validate."""

from __future__ import annotations

import contextlib
import copy
import pickle
import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamusm import errors, values
from kamusm.values import (
    ManualClock,
    Pin,
    PinStatus,
    Product,
    SmsCode,
    SystemClock,
    Tckn,
    UnblockAuthorization,
    VerificationCode,
    _issue_authorization,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
digits = st.text(alphabet="0123456789", min_size=1, max_size=20)


def tckn_strategy() -> st.SearchStrategy[str]:
    first9 = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: s[0] != "0")
    return first9.map(lambda s: Tckn.complete(s).value)


def shown(obj: object) -> list[str]:
    """Every way an object is commonly turned into text."""
    return [repr(obj), str(obj), f"{obj}", f"{obj!r}", f"{obj}", str([obj]), str({"k": obj})]


# ---- secrets ------------------------------------------------------------------------------


@given(digits)
def test_pin_never_shows_its_digits(value: str) -> None:
    pin = Pin(value)
    for text in shown(pin):
        assert value not in text
    assert pin.reveal() == value


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_codes_never_show_their_digits(value: str) -> None:
    code = VerificationCode(value, issued_at=T0)
    sms = SmsCode(value[:6], issued_at=T0)
    for text in shown(code):
        assert value not in text
    for text in shown(sms):
        assert value[:6] not in text


def test_authorization_never_shows_its_credential() -> None:
    auth = _issue_authorization("87654321", card_serial="ABC", expires_at=T0)
    for text in shown(auth):
        assert "87654321" not in text
    assert "ABC" in repr(auth)


def test_secrets_refuse_pickling_and_deepcopy() -> None:
    for secret in (
        Pin("123456"),
        VerificationCode("1" * 15, issued_at=T0),
        _issue_authorization("x", card_serial="S", expires_at=T0),
    ):
        with pytest.raises(TypeError):
            pickle.dumps(secret)
        with pytest.raises(TypeError):
            copy.deepcopy(secret)


def test_pin_equality_and_hashing() -> None:
    assert Pin("482915") == Pin("482915")
    assert Pin("482915") != Pin("482916")
    assert Pin("482915") != "482915"
    with pytest.raises(TypeError):
        hash(Pin("482915"))


@given(st.one_of(st.text(), st.integers(), st.none(), st.binary()))
def test_constructors_raise_only_kamusm_errors(value: object) -> None:
    """Arbitrary input never crashes a constructor with anything but a KamusmError."""
    for build in (
        lambda: Pin(value),  # type: ignore[arg-type]
        lambda: Tckn(value),  # type: ignore[arg-type]
        lambda: VerificationCode(value, issued_at=T0),  # type: ignore[arg-type]
        lambda: SmsCode(value),  # type: ignore[arg-type]
        lambda: VerificationCode.parse(value, issued_at=T0),
        lambda: SmsCode.parse(value),
    ):
        try:
            build()
        except errors.KamusmError as exc:
            assert isinstance(exc, errors.InputError)


@pytest.mark.parametrize("bad", ["", "12a456", "١٢٣٤٥٦", " 123456", "123456\n", "12.34"])
def test_pin_rejects_anything_but_ascii_digits(bad: str) -> None:
    with pytest.raises(errors.InvalidPinFormatError) as info:
        Pin(bad)
    if bad.strip():
        assert bad.strip() not in str(info.value)


# ---- codes and the clock ------------------------------------------------------------------


def test_verification_code_expires_after_300_seconds_by_the_clock() -> None:
    clock = ManualClock(T0)
    code = VerificationCode("123456789012345", issued_at=clock.now())
    assert code.remaining(clock.now()) == timedelta(seconds=300)
    clock.advance(253)
    assert code.remaining(clock.now()) == timedelta(seconds=47)
    assert not code.is_expired(clock.now())
    clock.advance(47)
    assert code.is_expired(clock.now())
    assert code.remaining(clock.now()) == timedelta(0)


def test_verification_code_length_and_validity_are_settings() -> None:
    code = VerificationCode("12345678", length=8, validity=timedelta(seconds=60), issued_at=T0)
    assert code.expires_at == T0 + timedelta(seconds=60)
    with pytest.raises(errors.InvalidCodeError) as info:
        VerificationCode("12345678", issued_at=T0)
    assert info.value.length == 15
    assert "15" in info.value.message("tr")


def test_code_parse_accepts_typed_groups() -> None:
    code = VerificationCode.parse(" 12345 67890-12345 ", issued_at=T0)
    assert code == VerificationCode("123456789012345", issued_at=T0)
    assert SmsCode.parse("123 456").reveal() == "123456"


def test_sms_code_defaults_and_unknown_issue_time() -> None:
    sms = SmsCode("123456")
    assert sms.length == 6
    assert not sms.is_expired(T0)
    with pytest.raises(errors.InvalidCodeError) as info:
        SmsCode("12345")
    assert info.value.message("en") == "The SMS confirmation code has 6 digits."


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(TypeError):
        VerificationCode("1" * 15, issued_at=datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        ManualClock(datetime(2026, 1, 1))


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock(T0)
    assert clock.advance(timedelta(minutes=1)) == T0 + timedelta(minutes=1)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().tzinfo is not None


# ---- the unblock authorization ------------------------------------------------------------


def test_authorization_spends_exactly_once() -> None:
    auth = _issue_authorization("so-secret", card_serial="CARD1", expires_at=T0 + timedelta(60))
    assert [auth.is_spent, auth.spend(card_serial="CARD1", now=T0), auth.is_spent] == [
        False,
        "so-secret",
        True,
    ]
    with pytest.raises(errors.AuthorizationSpentError):
        auth.spend(card_serial="CARD1", now=T0)


def test_authorization_for_another_card_or_expired_spends_nothing() -> None:
    auth = _issue_authorization("so-secret", card_serial="CARD1", expires_at=T0)
    with pytest.raises(errors.AuthorizationCardMismatchError):
        auth.spend(card_serial="CARD2", now=T0 - timedelta(seconds=1))
    with pytest.raises(errors.AuthorizationExpiredError):
        auth.spend(card_serial="CARD1", now=T0)
    assert not auth.is_spent


@pytest.mark.parametrize(
    "after", [timedelta(0), timedelta(microseconds=1), timedelta(minutes=5), timedelta(days=400)]
)
def test_authorization_is_refused_at_and_long_after_its_expiry(after: timedelta) -> None:
    """Expired from its expiry instant on, however late (not only at that exact instant)."""
    auth = _issue_authorization("so-secret", card_serial="CARD1", expires_at=T0)
    assert auth.is_expired(T0 + after)
    with pytest.raises(errors.AuthorizationExpiredError):
        auth.spend(card_serial="CARD1", now=T0 + after)
    assert not auth.is_spent


def test_authorization_is_spent_just_before_its_expiry() -> None:
    auth = _issue_authorization("so-secret", card_serial="CARD1", expires_at=T0)
    assert not auth.is_expired(T0 - timedelta(microseconds=1))
    assert auth.spend(card_serial="CARD1", now=T0 - timedelta(microseconds=1)) == "so-secret"


def test_authorization_spent_once_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads spend one authorization, the race made deterministic: the first is held
    inside ``spend`` between its checks and marking it spent (the ``_spend_window`` hook)
    until the second has either asked for the authorization's lock or got into the same
    window. With the lock the second waits and is refused; without it both would win."""
    auth = _issue_authorization("c", card_serial="S", expires_at=T0 + timedelta(60))
    real_lock = auth._lock
    changed = threading.Condition()
    second: dict[str, bool] = {"waits_for_the_lock": False, "inside": False}

    class WatchedLock:
        """The authorization's own lock, telling when the second thread asks for it."""

        def __enter__(self) -> None:
            if threading.current_thread().name == "second":
                with changed:
                    second["waits_for_the_lock"] = True
                    changed.notify_all()
            real_lock.acquire()

        def __exit__(self, *exc: object) -> None:
            real_lock.release()

    first_inside = threading.Event()

    def window() -> None:
        with changed:
            if threading.current_thread().name == "first":
                first_inside.set()
                # A guard against a hang, not a timing: the second thread gets here or to the
                # lock at once.
                assert changed.wait_for(lambda: any(second.values()), timeout=60)
            else:
                second["inside"] = True
                changed.notify_all()

    object.__setattr__(auth, "_lock", WatchedLock())
    monkeypatch.setattr(values, "_spend_window", window)
    wins: list[str] = []
    refused: list[BaseException] = []

    def worker() -> None:
        try:
            wins.append(auth.spend(card_serial="S", now=T0))
        except errors.AuthorizationSpentError as exc:
            refused.append(exc)

    first = threading.Thread(target=worker, name="first")
    first.start()
    assert first_inside.wait(timeout=60)
    later = threading.Thread(target=worker, name="second")
    later.start()
    first.join()
    later.join()
    assert wins == ["c"]
    assert [type(e) for e in refused] == [errors.AuthorizationSpentError]
    assert second == {"waits_for_the_lock": True, "inside": False}
    assert auth.is_spent


def test_authorization_spent_once_by_eight_threads() -> None:
    """Eight threads race to spend one authorization: exactly one wins."""
    auth = _issue_authorization("c", card_serial="S", expires_at=T0 + timedelta(60))
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        with contextlib.suppress(errors.AuthorizationSpentError):
            wins.append(auth.spend(card_serial="S", now=T0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins == ["c"]


# ---- T.C. Kimlik No -----------------------------------------------------------------------


@pytest.mark.parametrize("good", ["10000000146", "17291716060"])
def test_known_valid_tckn(good: str) -> None:
    assert Tckn(good).value == good


@pytest.mark.parametrize("bad", ["17291716050", "01234567890", "1000000014", "1000000014a", ""])
def test_known_invalid_tckn(bad: str) -> None:
    with pytest.raises(errors.InvalidTcknError):
        Tckn(bad)


@given(tckn_strategy())
def test_tckn_generated_by_the_rule_is_accepted(value: str) -> None:
    assert Tckn(value).value == value


@given(tckn_strategy(), st.integers(0, 10), st.integers(1, 9))
def test_single_digit_mutation_of_a_tckn_is_rejected(value: str, pos: int, delta: int) -> None:
    mutated = value[:pos] + str((int(value[pos]) + delta) % 10) + value[pos + 1 :]
    assert not Tckn.is_valid(mutated)
    with pytest.raises(errors.InvalidTcknError):
        Tckn(mutated)


def test_tckn_repr_masks_the_middle() -> None:
    t = Tckn("17291716060")
    assert repr(t) == "Tckn('172******60')"
    assert str(t) == "172******60"
    assert "291716" not in f"{t}"


# ---- small ones ---------------------------------------------------------------------------


def test_product_names_in_both_languages() -> None:
    assert Product.MALI_MUHUR.display("tr") == "Mali Mühür"
    assert "qualified" in Product.NES.display("en")


def test_pin_status_summary() -> None:
    assert PinStatus().summary == "ok"
    assert PinStatus(count_low=True).summary == "count_low"
    assert PinStatus(count_low=True, final_try=True).summary == "final_try"
    assert PinStatus(locked=True).summary == "locked"
    assert PinStatus(initialized=False).summary == "not_initialized"


def test_an_authorization_cannot_be_built_by_hand() -> None:
    """No credential a person typed becomes an authorization: only the portal issues them."""
    with pytest.raises(TypeError):
        UnblockAuthorization("87654321", card_serial="S", expires_at=T0)
    with pytest.raises(errors.InputError):
        _issue_authorization("", card_serial="S", expires_at=T0)


def test_an_authorization_cannot_be_cloned_changed_or_moved() -> None:
    auth = _issue_authorization("so", card_serial="CARD1", expires_at=T0 + timedelta(60))
    auth.spend(card_serial="CARD1", now=T0)
    for clone in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            clone(auth)
    with pytest.raises(attrs.exceptions.NotAnAttrsClassError):
        attrs.evolve(auth, card_serial="CARD2")  # type: ignore[misc]  # mypy refuses it too
    with pytest.raises(AttributeError):
        auth.card_serial = "CARD2"
    with pytest.raises(AttributeError):
        object.__setattr__(auth, "__dict__", {})


def test_secrets_expose_nothing_to_generic_helpers() -> None:
    """attrs.asdict or vars() cannot read a secret's digits."""
    for secret in (Pin("482915"), VerificationCode("4" * 15, issued_at=T0), SmsCode("482915")):
        with pytest.raises(attrs.exceptions.NotAnAttrsClassError):
            attrs.asdict(secret)  # type: ignore[arg-type]  # mypy refuses it too
        with pytest.raises(TypeError):
            vars(secret)
        with pytest.raises(AttributeError):
            secret._digits = "0"
