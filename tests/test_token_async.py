"""The async forms run the blocking PKCS#11 calls in a worker thread: the same results as the
sync calls, and the event loop keeps running while a call waits for the card."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from kamusm.errors import PinIncorrectError
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.token import _LOCK, Pkcs11Module
from kamusm.values import Pin, PinStatus

pytestmark = pytest.mark.anyio


async def test_async_forms_do_what_the_sync_calls_do(
    softhsm_token_factory: Callable[..., SoftHsmToken],
) -> None:
    card = softhsm_token_factory(certificates=[(b"\x30\x03\x02\x01\x01", "one", b"\x01")])
    module = await Pkcs11Module.aopen(card.module_path)
    assert card.serial in {i.serial for i in await module.atokens()}
    token = await module.atoken(serial=card.serial)
    assert await token.apin_status() == PinStatus(initialized=True)
    assert [o.label for o in await token.acertificate_objects()] == ["one"]
    await token.averify_pin(card.pin)
    with pytest.raises(PinIncorrectError):
        await token.averify_pin(Pin("999999"))
    await token.achange_pin(card.pin, Pin("246810"))
    await token.averify_pin(Pin("246810"))
    await token.aunblock(card.unblock_authorization(), Pin("135790"))
    await token.averify_pin(Pin("135790"))


async def test_async_certificates_parse_in_a_worker_thread(
    softhsm_token_factory: Callable[..., SoftHsmToken], certificate_factory: CertificateFactory
) -> None:
    nes = certificate_factory.nes()
    card = softhsm_token_factory(certificates=[nes.as_token_object()])
    (info,) = await card.token().acertificates()
    assert info.der == nes.der


async def test_the_event_loop_runs_while_a_call_waits_for_the_card(
    softhsm_token: SoftHsmToken,
) -> None:
    """Another thread holds the PKCS#11 lock (a long card operation). While apin_status waits
    for it, other tasks on the loop still run; when the lock is released, the call finishes."""
    token = softhsm_token.token()
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with _LOCK:
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait()
    progressed = anyio.Event()
    results: list[PinStatus] = []

    async def read_status() -> None:
        results.append(await token.apin_status())

    async def other_work() -> None:
        await anyio.lowlevel.checkpoint()
        progressed.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(read_status)
            tg.start_soon(other_work)
            await progressed.wait()
            # The loop got here while the status read is blocked on the lock.
            assert results == []
            release.set()
    finally:
        release.set()
        holder.join()
    assert results == [PinStatus(initialized=True)]
