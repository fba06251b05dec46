"""The token layer on a real SoftHSM2 token (a fresh token per test): listing, selection, PIN
state, certificates, PIN verification, change and unblock, failed-login cleanup, a card held by
another part of the application, and a card that goes away."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pkcs11
import pytest

from kamusm.errors import (
    AmbiguousTokenError,
    AuthorizationCardMismatchError,
    AuthorizationExpiredError,
    AuthorizationSpentError,
    PinIncorrectError,
    PinRejectedByTokenError,
    TokenBusyError,
    TokenNotFoundError,
    TokenRemovedError,
    UnblockFailedError,
)
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.token import CertificateObject, Pkcs11Module, Token, TokenInfo
from kamusm.values import ManualClock, Pin, PinStatus, _issue_authorization

MakeToken = Callable[..., SoftHsmToken]
WRONG = Pin("999999")


def raw_token(card: SoftHsmToken) -> pkcs11.Token:
    """The same card through python-pkcs11 directly: "another part of the application"."""
    return pkcs11.lib(card.module().path).get_token(token_serial=card.serial.encode())


# ---- listing and selecting ------------------------------------------------------------------


def test_tokens_lists_the_new_token_with_its_limits_and_state(softhsm_token: SoftHsmToken) -> None:
    infos = {i.serial: i for i in softhsm_token.module().tokens()}
    info = infos[softhsm_token.serial]
    assert isinstance(info, TokenInfo)
    assert info.label == softhsm_token.label
    assert info.manufacturer == "SoftHSM project"
    assert info.model == "SoftHSM v2"
    # SoftHSM2 takes PINs of 4 to 255 characters; python-pkcs11 alone cannot tell.
    assert (info.min_pin_length, info.max_pin_length) == (4, 255)
    assert info.pin_status == PinStatus(initialized=True)


def test_tokens_skips_the_uninitialised_slot(softhsm_token: SoftHsmToken) -> None:
    """SoftHSM2 always lists one free slot; it is not a token."""
    module = softhsm_token.module()
    lib = pkcs11.lib(module.path)
    all_slots = lib.get_slots()
    infos = module.tokens()
    assert len(all_slots) == len(infos) + 1
    assert all(i.label for i in infos)


def test_token_selects_by_serial_and_by_label(softhsm_token_factory: MakeToken) -> None:
    a, b = softhsm_token_factory(), softhsm_token_factory()
    module = a.module()
    assert module.token(serial=a.serial).label == a.label
    assert module.token(label=b.label).serial == b.serial
    assert module.token(serial=b.serial, label=b.label).serial == b.serial


def test_token_without_criteria_refuses_to_guess_between_cards(
    softhsm_token_factory: MakeToken,
) -> None:
    a, b = softhsm_token_factory(), softhsm_token_factory()
    with pytest.raises(AmbiguousTokenError) as caught:
        a.module().token()
    listed = " ".join(caught.value.candidates)
    assert a.label in listed and b.label in listed
    assert a.serial in caught.value.message("tr")


def test_token_unknown_serial_or_contradicting_criteria_is_not_found(
    softhsm_token_factory: MakeToken,
) -> None:
    a, b = softhsm_token_factory(), softhsm_token_factory()
    module = a.module()
    with pytest.raises(TokenNotFoundError):
        module.token(serial="no-such-serial")
    with pytest.raises(TokenNotFoundError):
        module.token(serial=a.serial, label=b.label)


def test_token_info_is_a_snapshot_and_read_info_is_fresh(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError):
        token.verify_pin(WRONG)
    assert token.info.pin_status.count_low is False
    assert token.read_info().pin_status.count_low is True


# ---- PIN state ------------------------------------------------------------------------------


def test_reading_the_pin_status_spends_no_try(softhsm_token: SoftHsmToken) -> None:
    """SoftHSM2 marks every wrong PIN with COUNT_LOW; a hundred status reads mark nothing."""
    token = softhsm_token.token()
    for _ in range(100):
        assert token.pin_status() == PinStatus(initialized=True)
    token.verify_pin(softhsm_token.pin)


# ---- verify ---------------------------------------------------------------------------------


def test_verify_pin_accepts_the_right_pin(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    token.verify_pin(softhsm_token.pin)
    assert token.pin_status().summary == "ok"


def test_wrong_pin_raises_with_the_state_read_after_the_attempt(
    softhsm_token: SoftHsmToken,
) -> None:
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError) as caught:
        token.verify_pin(WRONG)
    assert caught.value.status is not None
    assert caught.value.status.count_low is True
    assert caught.value.code == "CKR_PIN_INCORRECT"
    assert caught.value.message("tr") == "Hatalı PIN."


def test_pin_of_a_length_the_token_cannot_take_is_wrong_without_a_try(
    softhsm_token: SoftHsmToken,
) -> None:
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError) as caught:
        token.verify_pin(Pin("123"))  # SoftHSM2's minimum is 4
    assert caught.value.status == PinStatus(initialized=True)
    assert token.pin_status().count_low is False


# ---- change ---------------------------------------------------------------------------------


def test_change_pin_sets_the_new_pin(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    new = Pin("246810")
    token.change_pin(softhsm_token.pin, new)
    token.verify_pin(new)
    with pytest.raises(PinIncorrectError):
        token.verify_pin(softhsm_token.pin)


def test_change_pin_with_a_wrong_old_pin_changes_nothing(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError) as caught:
        token.change_pin(WRONG, Pin("246810"))
    assert caught.value.status is not None and caught.value.status.count_low
    token.verify_pin(softhsm_token.pin)


def test_change_pin_to_a_length_the_token_refuses_touches_nothing(
    softhsm_token: SoftHsmToken,
) -> None:
    token = softhsm_token.token()
    for bad in (Pin("12"), Pin("1" * 256)):
        with pytest.raises(PinRejectedByTokenError):
            token.change_pin(softhsm_token.pin, bad)
    assert token.pin_status() == PinStatus(initialized=True)
    token.verify_pin(softhsm_token.pin)


# ---- unblock --------------------------------------------------------------------------------


def test_unblock_sets_the_new_pin_and_spends_the_authorization(
    softhsm_token: SoftHsmToken,
) -> None:
    token = softhsm_token.token()
    authorization = softhsm_token.unblock_authorization()
    new = Pin("135790")
    token.unblock(authorization, new)
    assert authorization.is_spent
    token.verify_pin(new)
    with pytest.raises(PinIncorrectError):
        token.verify_pin(softhsm_token.pin)


def test_unblock_authorization_is_never_usable_twice(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    authorization = softhsm_token.unblock_authorization()
    token.unblock(authorization, Pin("135790"))
    with pytest.raises(AuthorizationSpentError):
        token.unblock(authorization, Pin("864200"))
    token.verify_pin(Pin("135790"))


def test_unblock_with_a_refused_credential_fails_spends_it_and_keeps_the_pin(
    softhsm_token: SoftHsmToken,
) -> None:
    """SoftHSM2 never locks an SO PIN, so a wrong credential is safe to try here."""
    token = softhsm_token.token()
    forged = _issue_authorization(
        "00000000",
        card_serial=softhsm_token.serial,
        expires_at=ManualClock().now() + timedelta(minutes=5),
    )
    with pytest.raises(UnblockFailedError):
        token.unblock(forged, Pin("135790"), clock=ManualClock())
    assert forged.is_spent
    with pytest.raises(AuthorizationSpentError):
        token.unblock(forged, Pin("135790"), clock=ManualClock())
    token.verify_pin(softhsm_token.pin)


def test_unblock_refusals_before_the_card_spend_nothing(
    softhsm_token_factory: MakeToken,
) -> None:
    card, other = softhsm_token_factory(), softhsm_token_factory()
    token = card.token()
    clock = ManualClock()

    elsewhere = other.unblock_authorization(now=clock.now())
    with pytest.raises(AuthorizationCardMismatchError):
        token.unblock(elsewhere, Pin("135790"), clock=clock)
    assert not elsewhere.is_spent

    late = card.unblock_authorization(now=clock.now(), validity=timedelta(seconds=30))
    clock.advance(31)
    with pytest.raises(AuthorizationExpiredError):
        token.unblock(late, Pin("135790"), clock=clock)
    assert not late.is_spent

    fine = card.unblock_authorization(now=clock.now())
    with pytest.raises(PinRejectedByTokenError):
        token.unblock(fine, Pin("12"), clock=clock)
    assert not fine.is_spent

    token.verify_pin(card.pin)
    token.unblock(fine, Pin("135790"), clock=clock)
    token.verify_pin(Pin("135790"))


# ---- certificates ---------------------------------------------------------------------------


def test_certificate_objects_are_read_without_login(softhsm_token_factory: MakeToken) -> None:
    stored = [(b"\x30\x03\x02\x01\x01", "first", b"\x01"), (b"\x30\x03\x02\x01\x02", "2nd", b"")]
    card = softhsm_token_factory(certificates=stored)
    objects = card.token().certificate_objects()
    assert sorted(objects, key=lambda o: o.label) == sorted(
        (CertificateObject(der=d, label=lbl, object_id=i) for d, lbl, i in stored),
        key=lambda o: o.label,
    )
    assert "bytes" in repr(objects[0])


def test_certificates_parse_what_the_token_holds(
    softhsm_token_factory: MakeToken, certificate_factory: CertificateFactory
) -> None:
    nes = certificate_factory.nes()
    card = softhsm_token_factory(certificates=[nes.as_token_object()])
    (info,) = card.token().certificates()
    assert info.der == nes.der
    assert info.label == nes.label
    assert info.object_id == nes.object_id


# ---- sessions: failed logins, other holders, removal ---------------------------------------


def test_a_failed_login_leaves_no_session_behind(softhsm_token: SoftHsmToken) -> None:
    """python-pkcs11 leaves the session of a failed login open and the next SO login then fails
    with CKR_SESSION_READ_ONLY_EXISTS; kamusm's failed login leaves nothing."""
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError):
        token.verify_pin(WRONG)
    token.unblock(softhsm_token.unblock_authorization(), Pin("135790"))
    token.verify_pin(Pin("135790"))


def test_a_failed_login_does_not_disturb_sessions_on_other_tokens(
    softhsm_token_factory: MakeToken,
) -> None:
    card, neighbour = (
        softhsm_token_factory(),
        softhsm_token_factory(certificates=[(b"\x30\x00", "kept", b"\x07")]),
    )
    held = raw_token(neighbour).open()
    try:
        with pytest.raises(PinIncorrectError):
            card.token().verify_pin(WRONG)
        labels = [o[pkcs11.Attribute.LABEL] for o in held.get_objects()]
        assert labels == ["kept"]
    finally:
        held.close()


def test_card_held_with_an_so_session_elsewhere_is_busy(softhsm_token: SoftHsmToken) -> None:
    """Another part of this application keeps an SO session open (as a DYS holding the card
    would): opening our session answers CKR_SESSION_READ_WRITE_SO_EXISTS -> TokenBusyError."""
    token = softhsm_token.token()
    held = raw_token(softhsm_token).open(rw=True, so_pin=softhsm_token.so_pin.reveal())
    try:
        with pytest.raises(TokenBusyError) as caught:
            token.verify_pin(softhsm_token.pin)
        assert caught.value.code == "CKR_SESSION_READ_WRITE_SO_EXISTS"
        assert "DYS" in caught.value.message("tr")
        # A read-write session may open beside it, and then the user login is refused.
        with pytest.raises(TokenBusyError) as caught:
            token.change_pin(softhsm_token.pin, Pin("246810"))
        assert caught.value.code == "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"
    finally:
        held.close()
    token.verify_pin(softhsm_token.pin)
    assert token.pin_status().count_low is False


def test_card_held_with_a_user_login_elsewhere_is_busy_for_unblock(
    softhsm_token: SoftHsmToken,
) -> None:
    token = softhsm_token.token()
    held = raw_token(softhsm_token).open(user_pin=softhsm_token.pin.reveal())
    try:
        with pytest.raises(TokenBusyError):
            token.unblock(softhsm_token.unblock_authorization(), Pin("135790"))
        with pytest.raises(TokenBusyError) as caught:
            token.verify_pin(softhsm_token.pin)
        assert caught.value.code == "CKR_USER_ALREADY_LOGGED_IN"
    finally:
        held.close()
    token.verify_pin(softhsm_token.pin)


def test_removed_card_raises_token_removed(softhsm_token_factory: MakeToken) -> None:
    """Real removal on SoftHSM2: the token's files are deleted and the module scans again, as
    a reader does after a card is pulled; the slot then holds no such token."""
    card, stays = softhsm_token_factory(), softhsm_token_factory()
    token = card.token()
    token.verify_pin(card.pin)
    card.remove()
    with pytest.raises(TokenRemovedError):
        token.pin_status()
    with pytest.raises(TokenRemovedError):
        token.verify_pin(card.pin)
    with pytest.raises(TokenNotFoundError):
        card.module().token(serial=card.serial)
    stays.token().verify_pin(stays.pin)


def test_reprs_show_no_secret(softhsm_token: SoftHsmToken) -> None:
    token = softhsm_token.token()
    for text in (repr(softhsm_token), repr(token), repr(token.info), str(softhsm_token)):
        assert softhsm_token.pin.reveal() not in text
        assert softhsm_token.so_pin.reveal() not in text


def test_module_open_is_cheap_to_repeat_and_shares_the_loaded_module(
    softhsm_token: SoftHsmToken,
) -> None:
    a = Pkcs11Module.open(softhsm_token.module_path)
    b = Pkcs11Module.open(softhsm_token.module_path)
    assert a.path == b.path
    assert isinstance(a.token(serial=softhsm_token.serial), Token)
    assert "SoftHSM" in a.description
