"""No PIN, SO PIN or unblock credential reaches a log line, a repr, an error or a traceback from
the token layer, with every logger at DEBUG, through every path: right and wrong PINs, change,
unblock with a refused and an accepted credential, a busy card and a removed one."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Callable
from datetime import timedelta

import pkcs11
import pytest

from kamusm.errors import KamusmError
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.values import ManualClock, Pin, _issue_authorization

PIN = "480215"
NEW_PIN = "739164"
LAST_PIN = "517306"
SO_PIN = "58203917"
WRONG_PIN = "602948"
WRONG_CREDENTIAL = "61829304"
SECRETS = (PIN, NEW_PIN, LAST_PIN, SO_PIN, WRONG_PIN, WRONG_CREDENTIAL)


def texts_of(err: BaseException) -> list[str]:
    out = [repr(err), str(err), repr(err.args), repr(vars(err))]
    out += traceback.format_exception(err)
    if isinstance(err, KamusmError):
        out += [err.message("tr"), err.message("en"), repr(pickle.loads(pickle.dumps(err)))]
    cause = err.__cause__
    if cause is not None:
        out += [repr(cause), str(cause), repr(cause.args)]
    return out


def test_no_secret_leaves_the_token_layer(
    softhsm_token_factory: Callable[..., SoftHsmToken], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def attempt(call: Callable[[], object]) -> None:
        try:
            call()
        except KamusmError as exc:
            seen.extend(texts_of(exc))

    card = softhsm_token_factory(pin=PIN, so_pin=SO_PIN, certificates=[(b"\x30\x00", "c", b"")])
    neighbour = softhsm_token_factory(pin=PIN, so_pin=SO_PIN)
    module = card.module()
    token = module.token(serial=card.serial)
    clock = ManualClock()

    attempt(lambda: token.verify_pin(Pin(WRONG_PIN)))
    attempt(lambda: token.verify_pin(Pin("12")))
    token.verify_pin(Pin(PIN))
    attempt(lambda: token.change_pin(Pin(WRONG_PIN), Pin(NEW_PIN)))
    attempt(lambda: token.change_pin(Pin(PIN), Pin("1")))
    token.change_pin(Pin(PIN), Pin(NEW_PIN))
    forged = _issue_authorization(
        WRONG_CREDENTIAL, card_serial=card.serial, expires_at=clock.now() + timedelta(minutes=1)
    )
    attempt(lambda: token.unblock(forged, Pin(LAST_PIN), clock=clock))
    attempt(lambda: token.unblock(forged, Pin(LAST_PIN), clock=clock))
    good = card.unblock_authorization(now=clock.now())
    attempt(lambda: token.unblock(good, Pin("1"), clock=clock))
    token.unblock(good, Pin(LAST_PIN), clock=clock)
    held = pkcs11.lib(module.path).get_token(token_serial=card.serial.encode())
    session = held.open(rw=True, so_pin=SO_PIN)
    try:
        attempt(lambda: token.verify_pin(Pin(LAST_PIN)))
    finally:
        session.close()
    card.remove()
    attempt(lambda: token.verify_pin(Pin(LAST_PIN)))
    attempt(module.token)

    seen += [repr(x) for x in (card, neighbour, module, token, token.info, forged, good)]
    seen += [str(x) for x in (card, forged, good)]
    seen += [caplog.text]
    seen += [repr(record.args) for record in caplog.records]
    seen += [record.getMessage() for record in caplog.records]

    assert len(caplog.records) > 10  # the debug and info lines were really written
    assert sum("Hatalı PIN" in t or "Wrong PIN" in t for t in seen) > 0
    for secret in SECRETS:
        leaks = [t for t in seen if secret in t]
        assert leaks == [], f"a secret appeared in: {leaks[:1]}"
