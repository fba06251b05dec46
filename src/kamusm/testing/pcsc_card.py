"""The virtual card of the reader tests: Debian's vicc (python3-virtualsmartcard) with an AKİS
ATR and counters of everything done to it.

Run as ``python -m kamusm.testing.pcsc_card --port PORT --atr HEX --counters FILE``, with
Debian's ``virtualsmartcard`` package on ``PYTHONPATH`` and pycryptodome installed (vicc imports
``Crypto``). It connects to vpcd on 127.0.0.1:PORT (the card is "inserted"), answers until it
gets SIGTERM, then leaves (the card is "removed"). Every power-up, power-down, reset and command
(APDU) the reader sends is counted and written to the counters file as JSON, so a test can
prove that a probe left the card untouched. The driver's own presence checks (ATR requests) are
not counted: the reader driver makes them whoever asks.

Imported by nothing else in kamusm; it needs no kamusm module, so it runs under any Python
that has the two packages above.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Any


def _write(path: str, counters: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(counters, f)
    os.replace(tmp, path)


def _leave_with_parent() -> None:
    """Leave (the card is removed) when the test process that started us is gone, even when it
    was killed without its clean-up."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--atr", required=True, help="the ATR, hex")
    parser.add_argument("--counters", required=True, help="JSON file the counters go to")
    args = parser.parse_args(argv)
    _leave_with_parent()

    from virtualsmartcard.VirtualSmartcard import (  # type: ignore[import-not-found]  # noqa: PLC0415
        Iso7816OS,
        VirtualICC,
    )

    atr = bytes.fromhex(args.atr)
    counters: dict[str, Any] = {
        "pid": os.getpid(),
        "connected": False,
        "power_up": 0,
        "power_down": 0,
        "reset": 0,
        "apdus": 0,
    }

    class CountingCard(Iso7816OS):  # type: ignore[misc]
        """vicc's ISO 7816 card, with an AKİS ATR, counting what is done to it."""

        def _count(self, name: str) -> None:
            counters[name] += 1
            _write(args.counters, counters)

        def getATR(self) -> bytes:  # noqa: N802 (vicc's name)
            return atr

        def powerUp(self) -> None:  # noqa: N802
            self._count("power_up")
            super().powerUp()

        def powerDown(self) -> None:  # noqa: N802
            self._count("power_down")
            super().powerDown()

        def reset(self) -> None:
            self._count("reset")
            super().reset()

        def execute(self, msg: bytes) -> bytes:
            self._count("apdus")
            return bytes(super().execute(msg))

    logging.disable(logging.CRITICAL)
    vicc = VirtualICC(None, "iso7816", "127.0.0.1", args.port, logginglevel=logging.CRITICAL)
    old = vicc.os
    vicc.os = CountingCard(old.mf, old.SAM)
    counters["connected"] = True
    # CLOCK_MONOTONIC is one clock for every process of the machine: a benchmark compares it
    # with the moment the insertion event reached the application.
    counters["connected_at"] = time.monotonic()
    _write(args.counters, counters)

    def leave(_signum: int, _frame: object) -> None:
        counters["connected"] = False
        _write(args.counters, counters)
        vicc.stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, leave)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        vicc.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
