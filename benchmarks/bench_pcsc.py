"""How fast the reader layer is, on the run's own pcscd with the vpcd virtual reader and one
virtual AKİS card (kamusm.testing.pcsc; needs root and the packages scripts/test installs).

Two figures:

- *probe*: one look at every reader (presence, ATR, AKİS family, busy or not).
  kamusm: ``kamusm.pcsc.probe()``; bare pyscard: ``SCardEstablishContext``,
  ``SCardListReaders``, ``SCardGetStatusChange`` with a zero timeout, ``SCardReleaseContext``,
  the same calls kamusm makes. The ratio kamusm / bare is the figure to watch; kamusm adds the
  card lock, the ATR table and the reader objects.
- *insertion delay*: from the virtual card joining the reader (vicc's connection, stamped on
  the machine's monotonic clock) to the insertion event reaching the application, with
  kamusm's ``ReaderMonitor`` (events), bare pyscard's blocking ``SCardGetStatusChange``, and
  kamusm's polling fallback. pcscd itself looks at a reader without hot-plug events every
  0.4 s, which bounds all three.

Run: ``sudo .venv/bin/python benchmarks/bench_pcsc.py [--seconds 0.5] [--rounds 5] [--inserts 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from smartcard import scard

from kamusm import pcsc
from kamusm.testing.pcsc import (
    VIRTUAL_READER,
    VirtualReaderService,
    pcsc_unavailable_reason,
    socket_path_for,
)


def per_call(fns: list[Callable[[], object]], seconds: float, rounds: int) -> list[float]:
    """Median seconds per call of each function, over ``rounds`` loops of about ``seconds``
    each, the functions' loops taking turns (a busy machine then slows them alike)."""
    loops = []
    for fn in fns:
        fn()
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds / 5:
            fn()
            n += 1
        loops.append(max(1, int(n * 5 * seconds / max(time.perf_counter() - start, 1e-9) / 5)))
    results: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(loops[i]):
                fn()
            results[i].append((time.perf_counter() - t0) / loops[i])
    return [statistics.median(r) for r in results]


def bare_probe() -> list[tuple[str, int, bytes]]:
    _hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        _hr, names = scard.SCardListReaders(context, [])
        _hr, states = scard.SCardGetStatusChange(
            context, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names]
        )
        return [(n, s, bytes(a)) for n, s, a in states]
    finally:
        scard.SCardReleaseContext(context)


def bare_wait_for_insertion(timeout: float) -> float:
    """Block on pcscd's events until the virtual reader has a card; when the application knew."""
    _hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        current = scard.SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = int((deadline - time.monotonic()) * 1000)
            hr, states = scard.SCardGetStatusChange(context, left, [(VIRTUAL_READER, current)])
            if hr == scard.SCARD_S_SUCCESS:
                state = states[0][1]
                if state & scard.SCARD_STATE_PRESENT:
                    return time.monotonic()
                current = state & ~scard.SCARD_STATE_CHANGED
        raise RuntimeError("no insertion seen")
    finally:
        scard.SCardReleaseContext(context)


def _append_when_inserted(seen: list[float]) -> None:
    seen.append(bare_wait_for_insertion(30))


def insertion_delays(service: VirtualReaderService, how: str, inserts: int) -> list[float]:
    delays = []
    for _ in range(inserts):
        service.remove()
        if how == "bare":
            # Arm the bare wait (its first call only reads the current state) before inserting.
            seen: list[float] = []
            t = threading.Thread(target=_append_when_inserted, args=(seen,))
            t.start()
            time.sleep(0.05)  # let the bare waiter reach its blocking call
            card = service.insert(wait=False)
            t.join()
            delays.append(seen[0] - card.connected_at())
            continue
        with pcsc.ReaderMonitor(use_events=how == "events", poll_interval=0.5) as monitor:
            card = service.insert(wait=False)
            events = monitor.wait(30)
            inserted = [e for e in events if e.kind is pcsc.EventKind.INSERTED]
            if not inserted:
                raise RuntimeError(f"no insertion event ({how})")
            delays.append(inserted[0].at - card.connected_at())
    service.remove()
    return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inserts", type=int, default=5)
    args = parser.parse_args()
    reason = pcsc_unavailable_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    directory = tempfile.mkdtemp(prefix="kpcscb")
    # Before any PC/SC call: the client library reads it once per process.
    os.environ["PCSCLITE_CSOCK_NAME"] = socket_path_for(directory)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    with VirtualReaderService(directory) as service:
        service.insert()
        service.wait_until_idle()  # pcscd has powered the card down: nothing moves from here
        if not any(r.is_akis for r in pcsc.probe()):
            raise RuntimeError("the probe does not see the virtual AKİS card")
        bare, ours = per_call([bare_probe, pcsc.probe], args.seconds, args.rounds)
        print("probe of all readers (2 virtual readers, 1 AKİS card), per call:")
        print(f"  bare pyscard   {bare * 1e3:8.3f} ms")
        print(f"  kamusm.pcsc    {ours * 1e3:8.3f} ms   ratio {ours / bare:5.2f}")
        print(f"insertion -> application, {args.inserts} insertions (median / max):")
        figures = {}
        for how in ("bare", "events", "polling"):
            delays = insertion_delays(service, how, args.inserts)
            figures[how] = statistics.median(delays)
            label = {"bare": "bare pyscard", "events": "kamusm events", "polling": "kamusm polling"}
            print(
                f"  {label[how]:<15}{statistics.median(delays) * 1e3:8.1f} ms"
                f" / {max(delays) * 1e3:7.1f} ms"
            )
        print(f"  ratio kamusm events / bare pyscard: {figures['events'] / figures['bare']:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
