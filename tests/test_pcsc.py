"""The reader layer on a real PC/SC stack: the run's own pcscd with the vpcd virtual reader and
a virtual AKİS card (vicc), started by the tests in a private namespace (kamusm.testing.pcsc).

Insertion and removal are the virtual card connecting and leaving; "another program holds the
card" is a second process holding an exclusive connection; the card counts every power cycle,
reset and command it receives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from kamusm import _cardlock, pcsc
from kamusm.atr import CardFamily
from kamusm.errors import CardBusyError, ReaderServiceError
from kamusm.testing.pcsc import (
    AKIS_TEST_ATR,
    VIRTUAL_READER,
    VirtualCard,
    VirtualReaderService,
)

TC_ATR = "3B9F978131FE458065544353228231C073F62180810553"
EVENT_TIMEOUT = 20.0  # an upper bound only: each wait returns as soon as the event arrives


def first(readers: list[pcsc.Reader]) -> pcsc.Reader:
    return next(r for r in readers if r.name == VIRTUAL_READER)


def test_probe_sees_the_reader_without_a_card(pcsc_service: VirtualReaderService) -> None:
    readers = pcsc.probe()
    assert VIRTUAL_READER in [r.name for r in readers]
    reader = first(readers)
    assert not reader.card_present and reader.identity is None and not reader.busy


def test_probe_sees_reader_card_atr_and_family(virtual_card: VirtualCard) -> None:
    reader = first(pcsc.probe())
    assert reader.card_present
    assert reader.atr_hex == AKIS_TEST_ATR
    assert reader.identity is not None and reader.identity.known
    assert reader.identity.family is CardFamily.AKIS_UEKAE
    assert reader.is_akis and not reader.busy


def test_a_card_of_the_newer_family_and_a_card_that_is_not_akis(
    pcsc_service: VirtualReaderService,
) -> None:
    pcsc_service.insert(TC_ATR)
    try:
        assert first(pcsc.probe()).identity.family is CardFamily.AKIS_TC  # type: ignore[union-attr]
        pcsc_service.remove()
        pcsc_service.insert("3b951381018073ff01000b")  # vicc's own ATR
        reader = first(pcsc.probe())
        assert reader.card_present and not reader.is_akis
    finally:
        pcsc_service.remove()


def test_the_probe_leaves_the_card_untouched(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard
) -> None:
    """No power cycle, no reset, no command: the card's own counters do not move."""
    assert pcsc_service.wait_until_idle()
    before = virtual_card.counters()
    for _ in range(5):
        assert first(pcsc.probe()).card_present
    assert virtual_card.counters() == before


def test_probing_with_a_connection_never_resets_or_commands_the_card(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard
) -> None:
    """Shared mode, left as it was: the service may wake the card, but nothing resets it or
    sends it a command."""
    assert pcsc_service.wait_until_idle()
    before = virtual_card.counters()
    assert first(pcsc.probe(connect=True)).card_present
    after = virtual_card.counters()
    assert after["reset"] == before["reset"]
    assert after["apdus"] == before["apdus"]
    assert after["power_down"] == before["power_down"]


def test_a_card_held_by_another_program_is_busy_with_the_advice(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard
) -> None:
    with pcsc_service.hold_exclusive() as holder:
        reader = first(pcsc.probe())
        assert reader.busy
        err = reader.busy_error()
        assert isinstance(err, CardBusyError)
        assert "DYS" in err.message("tr") and "DYS" in err.message("en")
        assert "kapatıp" in err.message("tr")
        # Linux names the program: the holder is among the service's clients, we are not.
        assert reader.programs is not None
        pids = [p.pid for p in reader.programs]
        assert holder.pid in pids and os.getpid() not in pids
        assert f"pid {holder.pid}" in err.message("tr")
    assert not first(pcsc.probe()).busy


def test_a_shared_connection_meets_a_sharing_violation_when_the_card_is_held(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard
) -> None:
    """The connecting check finds a held card on its own, without the status flag."""
    with pcsc_service.hold_exclusive():
        unflagged = pcsc.Reader(name=VIRTUAL_READER, card_present=True)
        from smartcard import scard

        _hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        try:
            checked = pcsc._check_by_connecting(context, unflagged)
        finally:
            scard.SCardReleaseContext(context)
        assert checked.busy
        assert first(pcsc.probe(connect=True)).busy


def test_the_probe_waits_for_a_running_pkcs11_call(virtual_card: VirtualCard) -> None:
    """While the card lock is held (as every PKCS#11 call holds it), the probe does not run."""
    held, release, done = threading.Event(), threading.Event(), threading.Event()
    results: list[list[pcsc.Reader]] = []

    def pkcs11_call() -> None:
        with _cardlock.CARD_LOCK:
            held.set()
            release.wait()

    def prober() -> None:
        results.append(pcsc.probe())
        done.set()

    t1 = threading.Thread(target=pkcs11_call)
    t1.start()
    held.wait()
    t2 = threading.Thread(target=prober)
    t2.start()
    assert not done.wait(0.3)
    release.set()
    t2.join()
    t1.join()
    assert first(results[0]).card_present


@pytest.mark.parametrize("use_events", [True, False], ids=["events", "polling"])
def test_insertion_and_removal_reach_the_application(
    pcsc_service: VirtualReaderService, use_events: bool
) -> None:
    with pcsc.ReaderMonitor(use_events=use_events, poll_interval=0.1) as monitor:
        assert monitor.polling is not use_events
        pcsc_service.insert(wait=False)
        events = monitor.wait(EVENT_TIMEOUT)
        assert [(e.kind, e.reader.name) for e in events] == [
            (pcsc.EventKind.INSERTED, VIRTUAL_READER)
        ]
        assert events[0].reader.is_akis
        pcsc_service.remove(wait=False)
        events = monitor.wait(EVENT_TIMEOUT)
        assert [(e.kind, e.reader.name) for e in events] == [
            (pcsc.EventKind.REMOVED, VIRTUAL_READER)
        ]


def test_wait_for_card_ticks_the_remaining_time_until_the_card_is_inserted(
    pcsc_service: VirtualReaderService,
) -> None:
    ticks: list[float] = []
    inserter: list[threading.Thread] = []

    def on_tick(left: float) -> None:
        ticks.append(left)
        if not inserter:  # the holder inserts the card after seeing the first prompt
            inserter.append(threading.Thread(target=pcsc_service.insert, kwargs={"wait": False}))
            inserter[0].start()

    try:
        with pcsc.ReaderMonitor() as monitor:
            reader = monitor.wait_for_card(60, on_tick=on_tick, tick=0.5)
        assert reader is not None and reader.name == VIRTUAL_READER and reader.is_akis
        assert ticks and 0 < ticks[0] <= 60
        assert ticks == sorted(ticks, reverse=True)
    finally:
        for t in inserter:
            t.join()
        pcsc_service.remove()


def test_wait_for_card_returns_at_once_when_a_card_is_in(virtual_card: VirtualCard) -> None:
    ticks: list[float] = []
    with pcsc.ReaderMonitor() as monitor:
        reader = monitor.wait_for_card(60, on_tick=ticks.append)
    assert reader is not None and reader.card_present and ticks == []


def test_closing_the_monitor_ends_a_wait(pcsc_service: VirtualReaderService) -> None:
    monitor = pcsc.ReaderMonitor()
    result: list[pcsc.Reader | None] = []
    t = threading.Thread(target=lambda: result.append(monitor.wait_for_card(600)))
    t.start()
    monitor.close()
    t.join()
    assert result == [None]


def test_no_service_is_a_clear_error() -> None:
    """A process whose PC/SC service is not there gets ReaderServiceError, naming pcscd."""
    code = (
        "from kamusm import pcsc\n"
        "from kamusm.errors import ReaderServiceError\n"
        "try:\n    pcsc.probe()\n"
        "except ReaderServiceError as err:\n    print(err.service, '|', err.message('tr'))\n"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": "/nonexistent/kamusm/pcscd.comm"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("pcscd |") and "Akıllı kart hizmeti (pcscd) çalışmıyor" in out
    assert issubclass(ReaderServiceError, Exception)


def test_match_reader_by_slot_description() -> None:
    readers = [
        pcsc.Reader(name="ACS ACR38U 00 00", card_present=True),
        pcsc.Reader(name="Virtual PCD 00 00", card_present=False),
        pcsc.Reader(name="Virtual PCD 00 01", card_present=False),
    ]
    assert pcsc.match_reader("ACS ACR38U 00 00", readers) is readers[0]
    assert pcsc.match_reader("ACS ACR38U 00 00" + " " * 40, readers) is readers[0]
    assert pcsc.match_reader("ACS ACR38U", readers) is readers[0]  # cut short by the module
    assert pcsc.match_reader("Virtual PCD", readers) is None  # two readers: never a guess
    assert pcsc.match_reader("SoftHSM slot ID 0x1", readers) is None
    assert pcsc.match_reader("", readers) is None


def test_nothing_is_left_running_after_the_service_closes(tmp_path: object) -> None:
    """A second service (its own directory) with a card and a holder: closing stops each
    process it started, by pid, and removes its directory."""
    service = VirtualReaderService().start()
    pcscd = service.pcscd_pid
    card = service.insert(wait=False)
    pids = service.running_pids()
    assert pcscd in pids and card.pid in pids
    directory = service.directory
    service.close()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    assert not os.path.exists(directory)
    assert service.running_pids() == []


_KILLED_RUNNER = """
import sys, time
from kamusm.testing.pcsc import VirtualReaderService
service = VirtualReaderService().start()
card = service.insert(wait=False)
print(service.pcscd_pid, card.pid, service.directory, service._work, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_test_process_killed_without_its_clean_up_leaves_nothing_running(
    pcsc_service: VirtualReaderService,
) -> None:
    """pcscd and the virtual card go with the process that started them, even one killed by
    SIGKILL (a CI timeout), so no daemon of a test outlives it."""
    runner = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUNNER], stdout=subprocess.PIPE, text=True
    )
    assert runner.stdout is not None
    pcscd_pid, card_pid, *directories = runner.stdout.readline().split()
    pcscd, card = int(pcscd_pid), int(card_pid)
    assert _running(pcscd) and _running(card)
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + EVENT_TIMEOUT
    while (_running(pcscd) or _running(card)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pcscd) and not _running(card)
    for directory in directories:  # what only its clean-up would have removed
        shutil.rmtree(directory, ignore_errors=True)
