"""No PIN or SO credential in the frame locals of an error's tracebacks (the error's own and
those of its cause and context), nor held by a suspended frame during a signing session: on a
real SoftHSM2 card whose key was made on the token, through every login kamusm makes (the
signing session, ``verify_pin``, ``change_pin``, the SO login of ``unblock``). The leak canary
walks every traceback frame of the chain; the first test proves it catches a planted leak."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable
from datetime import timedelta

import pytest

from kamusm.errors import KamusmError, PinIncorrectError, UnblockFailedError
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.values import ManualClock, Pin, _issue_authorization
from tests.leak_canary import Secrets, frame_texts

WRONG = "602948"
WRONG_SO = "61829304"


def _planted(secret: bytes) -> None:
    raise ValueError("refused")


def _planted_outer(pin: Pin) -> None:
    try:
        _planted(pin.reveal().encode())
    except ValueError as exc:
        raise KamusmError() from exc


def test_the_canary_walks_the_frames_of_every_link_and_catches_a_planted_leak() -> None:
    # The module is tests/, which the canary leaves out, so plant the frames elsewhere: a
    # function compiled as if it lived in the library.
    namespace: dict[str, object] = {"KamusmError": KamusmError}
    code = compile(
        inspect.getsource(_planted) + inspect.getsource(_planted_outer), "lib.py", "exec"
    )
    exec(code, namespace)  # noqa: S102 - the test's own source, compiled under another name
    with pytest.raises(KamusmError) as caught:
        namespace["_planted_outer"](Pin(WRONG))  # type: ignore[operator]
    texts = "\n".join(frame_texts(caught.value))
    assert WRONG in texts  # the Pin local of the outer frame and the bytes in the cause's frame
    cause_only = "\n".join(frame_texts(caught.value.__cause__))  # type: ignore[arg-type]
    assert WRONG in cause_only


@pytest.fixture
def card(softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory) -> SoftHsmToken:
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    return softhsm_token


def _caught(call: Callable[[], object], kind: type[BaseException]) -> BaseException:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def test_no_wrong_pin_error_keeps_the_pin_in_a_frame_of_its_chain(
    card: SoftHsmToken, leaks: Secrets
) -> None:
    leaks.add(WRONG, WRONG_SO, card.so_pin)
    token = card.token()

    def sign() -> None:
        with token.signing_session(Pin(WRONG)):
            pytest.fail("the block must not run")

    errors = [
        _caught(sign, PinIncorrectError),
        _caught(lambda: token.verify_pin(Pin(WRONG)), PinIncorrectError),
        _caught(lambda: token.change_pin(Pin(WRONG), Pin("739164")), PinIncorrectError),
    ]
    clock = ManualClock()
    forged = _issue_authorization(
        WRONG_SO, card_serial=card.serial, expires_at=clock.now() + timedelta(minutes=1)
    )
    errors.append(
        _caught(lambda: token.unblock(forged, Pin("517306"), clock=clock), UnblockFailedError)
    )
    for error in errors:
        assert error.__cause__ is not None  # the python-pkcs11 error is still chained
        assert all(WRONG not in t and WRONG_SO not in t for t in frame_texts(error))
        leaks.seen(error)


def _holders(obj: object) -> list[object]:
    here = inspect.currentframe()
    caller = here.f_back if here is not None else None
    mine = (here, caller)
    return [
        r for r in gc.get_referrers(obj) if r not in mine and getattr(r, "cr_frame", 0) not in mine
    ]


def test_an_open_session_holds_no_reference_to_the_pin(card: SoftHsmToken) -> None:
    pin = Pin(card.pin.reveal())
    with card.token().signing_session(pin) as signer:
        signer.sign(b"data")
        assert _holders(pin) == []  # no suspended frame, no context manager argument


@pytest.mark.anyio
async def test_an_open_async_session_holds_no_reference_to_the_pin(card: SoftHsmToken) -> None:
    pin = Pin(card.pin.reveal())
    async with card.token().asigning_session(pin) as signer:
        await signer.sign(b"data")
        assert _holders(pin) == []
