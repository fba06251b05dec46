"""A real PC/SC stack for tests: the test's own pcscd with the vpcd virtual reader, a virtual
AKİS card (vicc) that is inserted and removed on demand, and a second program that holds the
card exclusively.

::

    with VirtualReaderService() as service:      # pcscd in a private namespace (root)
        card = service.insert()                  # vicc connects: the card is in the reader
        ...                                      # kamusm.pcsc.probe() sees it
        with service.hold_exclusive():           # another program holds the card
            ...
        card.counters()                          # power cycles, resets, commands so far
        service.remove()                         # vicc leaves: the card is out

Good neighbour: Debian's pcscd always listens on ``/run/pcscd/pcscd.comm`` (it ignores
``PCSCLITE_CSOCK_NAME``, which the client library honours), and vpcd listens on every address.
So the test's pcscd runs in a private mount and network namespace (``unshare``): a fresh
``/run`` there, with the test's own directory bound onto ``/run/pcscd``; clients outside reach
its socket through that directory with ``PCSCLITE_CSOCK_NAME``; vpcd's port exists only on
the namespace's own loopback, where the virtual card joins it (``nsenter``). A pcscd someone
else started is never touched, nor its socket; nothing is written outside the test's
directory. Each process started here is stopped by its own pid.

The client library reads ``PCSCLITE_CSOCK_NAME`` once per process: set it (see
:func:`socket_path_for`) before anything in the process talks to PC/SC, and start the service
on the same path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any, Final

__all__ = [
    "AKIS_TEST_ATR",
    "VIRTUAL_READER",
    "HeldCard",
    "VirtualCard",
    "VirtualReaderService",
    "pcsc_unavailable_reason",
    "socket_path_for",
]

#: A listed AKİS ATR (older "UEKAE" family) that the virtual card presents by default.
AKIS_TEST_ATR: Final = "3B9F968131FE45806755454B41451261318073B3A18099"
#: The name pcscd gives the first vpcd reader.
VIRTUAL_READER: Final = "Virtual PCD 00 00"

PCSCD: Final = "/usr/sbin/pcscd"
VPCD_DRIVER: Final = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
VIRTUALSMARTCARD: Final = "/usr/lib/python3/site-packages/virtualsmartcard"
_VPCD_PORT: Final = 35963  # free by construction: the namespace has its own loopback
_START_TIMEOUT: Final = 15.0


def socket_path_for(directory: str | os.PathLike[str]) -> str:
    """Where the test pcscd's socket appears for a service started on ``directory``."""
    return os.path.join(os.fspath(directory), "pcscd.comm")


def pcsc_unavailable_reason() -> str | None:
    """``None`` when the virtual reader can run here, else exactly which part is missing."""
    missing: list[str] = []
    if not sys.platform.startswith("linux"):
        return "the virtual reader runs on Linux only (pcscd, vpcd, namespaces)"
    if os.geteuid() != 0:
        missing.append(
            "root (the test's pcscd runs in a private mount and network namespace: "
            "run the tests as root, as scripts/test and CI do)"
        )
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (apt-get install util-linux mount)")
    if not os.path.exists(PCSCD):
        missing.append(f"pcscd at {PCSCD} (apt-get install pcscd)")
    if not os.path.exists(VPCD_DRIVER):
        missing.append(f"the vpcd reader driver {VPCD_DRIVER} (apt-get install vsmartcard-vpcd)")
    if not os.path.isdir(os.path.join(VIRTUALSMARTCARD, "virtualsmartcard")):
        missing.append(
            f"the virtual card vicc in {VIRTUALSMARTCARD} "
            "(apt-get install vsmartcard-vpicc python3-virtualsmartcard)"
        )
    if importlib.util.find_spec("Crypto") is None:
        missing.append(f"pycryptodome for vicc in {sys.executable} (pip install pycryptodome)")
    if importlib.util.find_spec("smartcard") is None:
        missing.append(
            "pyscard (pip install 'kamusm[pcsc]'; it builds with libpcsclite-dev and swig)"
        )
    if not missing:
        return None
    return "the virtual smart-card reader cannot run; missing: " + "; ".join(missing)


# Run inside the new namespaces, then replaced by pcscd (same pid): a fresh /run, the test's
# directory on /run/pcscd, loopback up, and pcscd in the foreground on the test's reader.conf.
_NAMESPACE_SETUP: Final = r"""
import ctypes, fcntl, os, signal, socket, struct, subprocess, sys
# Die with the test process, even one killed without its clean-up (PR_SET_PDEATHSIG: when the
# thread that started the service ends; start it from a thread that lives as long).
ctypes.CDLL(None).prctl(1, signal.SIGTERM)
run_dir, conf_dir, log = sys.argv[1], sys.argv[2], sys.argv[3]
tmpfs = ["mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "kamusm-pcsc", "/run"]
subprocess.run(tmpfs, check=True)
os.mkdir("/run/pcscd")
subprocess.run(["mount", "--bind", run_dir, "/run/pcscd"], check=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 0x1))
s.close()
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.dup2(fd, 1); os.dup2(fd, 2)
os.execv(sys.argv[4], ["pcscd", "--foreground", "--config", conf_dir])
"""

# A second program holding the card exclusively until its standard input closes (which also
# happens when the test process dies).
_HOLDER: Final = r"""
import sys
from smartcard import scard
hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
hr, card, proto = scard.SCardConnect(ctx, sys.argv[1], scard.SCARD_SHARE_EXCLUSIVE,
                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
print("held" if hr == 0 else f"failed {hr & 0xFFFFFFFF:#x}", flush=True)
sys.stdin.read()
if hr == 0:
    scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
scard.SCardReleaseContext(ctx)
"""


def _stop(process: subprocess.Popen[Any], *, timeout: float = 5.0) -> None:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL if it does not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class VirtualCard:
    """The virtual card while it is in the reader (a running vicc)."""

    def __init__(self, process: subprocess.Popen[bytes], counters_file: str, atr: str) -> None:
        self.process = process
        self.counters_file = counters_file
        self.atr = atr

    @property
    def pid(self) -> int:
        return self.process.pid

    def counters(self) -> dict[str, int]:
        """Power-ups, power-downs, resets and commands (APDUs) the card received so far."""
        with open(self.counters_file) as f:
            data = json.load(f)
        return {k: int(data[k]) for k in ("power_up", "power_down", "reset", "apdus")}

    def connected_at(self) -> float:
        """``time.monotonic()`` (one clock for the machine) when the card joined the reader."""
        with open(self.counters_file) as f:
            return float(json.load(f)["connected_at"])


class HeldCard:
    """Another program holding the card exclusively (see
    :meth:`VirtualReaderService.hold_exclusive`)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid


class VirtualReaderService:
    """The test's own pcscd with one vpcd reader (two reader names: ``Virtual PCD 00 00`` and
    ``... 00 01``), and the virtual card. Use as a context manager; :meth:`close` stops every
    process it started, by pid, and removes its directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        reason = pcsc_unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        self._own_dir = directory is None
        self.directory = os.fspath(directory) if directory else tempfile.mkdtemp(prefix="kpcsc")
        os.makedirs(self.directory, exist_ok=True)
        self.socket_path = socket_path_for(self.directory)
        self._work = tempfile.mkdtemp(prefix="kamusm-pcsc-work-")
        self._pcscd: subprocess.Popen[bytes] | None = None
        self.card: VirtualCard | None = None
        self._holders: list[subprocess.Popen[str]] = []

    # ---- the service ----

    @property
    def env(self) -> dict[str, str]:
        """The environment a client process needs to talk to this pcscd."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": self.socket_path}

    @property
    def pcscd_pid(self) -> int | None:
        return None if self._pcscd is None else self._pcscd.pid

    @property
    def log(self) -> str:
        try:
            with open(os.path.join(self._work, "pcscd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self) -> VirtualReaderService:
        conf = os.path.join(self._work, "reader.conf.d")
        os.makedirs(conf)
        with open(os.path.join(conf, "vpcd"), "w") as f:
            f.write(
                'FRIENDLYNAME "Virtual PCD"\n'
                f"DEVICENAME   /dev/null:{_VPCD_PORT:#x}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    {_VPCD_PORT:#x}\n"
            )
        log = os.path.join(self._work, "pcscd.log")
        # Fixed programs and our own paths only.
        self._pcscd = subprocess.Popen(  # noqa: S603
            [  # noqa: S607 (util-linux's unshare from PATH, as pcsc_unavailable_reason found it)
                "unshare",
                "--mount",
                "--net",
                "--propagation",
                "private",
                sys.executable,
                "-c",
                _NAMESPACE_SETUP,
                self.directory,
                conf,
                log,
                PCSCD,
            ],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not os.path.exists(self.socket_path):
            if self._pcscd.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the test's pcscd did not start: {log}")
            time.sleep(0.02)
        return self

    def __enter__(self) -> VirtualReaderService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the holders, the card and pcscd (each by its pid); remove the directories."""
        for holder in self._holders:
            with contextlib.suppress(OSError):
                if holder.stdin is not None:
                    holder.stdin.close()
            _stop(holder)
        self._holders.clear()
        self.remove()
        if self._pcscd is not None:
            _stop(self._pcscd)
            self._pcscd = None
        shutil.rmtree(self._work, ignore_errors=True)
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            for name in ("pcscd.comm", "pcscd.pid", "pcscd.pub"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.directory, name))

    def running_pids(self) -> list[int]:
        """The pids of the processes this service started that are still running."""
        processes = [self._pcscd, self.card.process if self.card else None, *self._holders]
        return [p.pid for p in processes if p is not None and p.poll() is None]

    # ---- the card ----

    def insert(self, atr: str = AKIS_TEST_ATR, *, wait: bool = True) -> VirtualCard:
        """Put the virtual card in the reader (vicc connects to vpcd). With ``wait``, return
        once the service reports the card present."""
        if self.card is not None:
            self.remove()
        if self._pcscd is None:
            raise RuntimeError("start the service first")
        counters = os.path.join(self._work, f"card-{time.monotonic_ns()}.json")
        env = {**os.environ, "PYTHONPATH": VIRTUALSMARTCARD}
        process = subprocess.Popen(  # noqa: S603 (fixed programs, our own paths)
            [  # noqa: S607 (util-linux's nsenter from PATH, as pcsc_unavailable_reason found it)
                "nsenter",
                f"--net=/proc/{self._pcscd.pid}/ns/net",
                sys.executable,
                "-m",
                "kamusm.testing.pcsc_card",
                "--port",
                str(_VPCD_PORT),
                "--atr",
                atr,
                "--counters",
                counters,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        self.card = VirtualCard(process, counters, atr)
        deadline = time.monotonic() + _START_TIMEOUT
        while not os.path.exists(counters):
            if process.poll() is not None or time.monotonic() > deadline:
                self.card = None
                _stop(process)
                raise RuntimeError("the virtual card did not connect to the reader")
            time.sleep(0.01)
        if wait:
            self.wait_for_state(present=True)
        return self.card

    def remove(self, *, wait: bool = True) -> None:
        """Take the virtual card out (vicc leaves). With ``wait``, return once the service
        reports the reader empty."""
        card = self.card
        if card is None:
            return
        # vpcd (Debian's 0.8) stops accepting a new card when one leaves while pcscd still has
        # it powered after a use: let pcscd power it down first, as a person would take a card
        # out of an idle reader.
        self.wait_until_idle()
        self.card = None
        _stop(card.process)
        if wait and self._pcscd is not None and self._pcscd.poll() is None:
            self.wait_for_state(present=False)

    def wait_for_state(
        self,
        *,
        present: bool | None = None,
        exclusive: bool | None = None,
        timeout: float = _START_TIMEOUT,
    ) -> None:
        """Block (on the service's own change events) until the first reader has a card or
        none (``present``), held exclusively or not (``exclusive``)."""
        from smartcard import scard  # noqa: PLC0415 (pyscard only when a test uses it)

        def reached(state: int) -> bool:
            return (present is None or bool(state & scard.SCARD_STATE_PRESENT) == present) and (
                exclusive is None or bool(state & scard.SCARD_STATE_EXCLUSIVE) == exclusive
            )

        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"cannot reach the test's pcscd ({hresult & 0xFFFFFFFF:#x})")
        try:
            deadline = time.monotonic() + timeout
            current = scard.SCARD_STATE_UNAWARE
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(
                        f"the reader did not reach present={present} exclusive={exclusive}"
                    )
                hresult, states = scard.SCardGetStatusChange(
                    context, int(left * 1000), [(VIRTUAL_READER, current)]
                )
                if hresult == scard.SCARD_S_SUCCESS and states:
                    state = int(states[0][1])
                    if reached(state):
                        return
                    current = state & ~scard.SCARD_STATE_CHANGED
        finally:
            scard.SCardReleaseContext(context)

    def wait_until_idle(self, timeout: float = _START_TIMEOUT) -> bool:
        """Wait until pcscd has powered the inserted card down after its insertion (it does
        so a moment after it stops being used), so that nothing more happens to it unless
        someone asks. True when it did within ``timeout``."""
        card = self.card
        if card is None:
            raise RuntimeError("no card inserted")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = card.counters()
            if counts["power_down"] >= counts["power_up"] > 0 or card.process.poll() is not None:
                return True
            time.sleep(0.05)
        return False

    # ---- another program ----

    @contextlib.contextmanager
    def hold_exclusive(self, reader: str = VIRTUAL_READER) -> Iterator[HeldCard]:
        """Another program (a second process) holds the card exclusively for the block."""
        holder = subprocess.Popen(  # noqa: S603 (this Python and our own script)
            [sys.executable, "-c", _HOLDER, reader],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._holders.append(holder)
        try:
            line = holder.stdout.readline().strip() if holder.stdout else ""
            if line != "held":
                raise RuntimeError(f"the second program could not hold the card: {line!r}")
            yield HeldCard(holder)
        finally:
            if holder.stdin is not None:
                with contextlib.suppress(OSError):
                    holder.stdin.close()
            # Closing its input makes it disconnect and exit by itself.
            with contextlib.suppress(subprocess.TimeoutExpired):
                holder.wait(timeout=10)
            _stop(holder)
            self._holders.remove(holder)
            # pcscd takes a moment to notice the holder is gone: return once it has.
            if reader == VIRTUAL_READER and self.card is not None:
                self.wait_for_state(exclusive=False)
