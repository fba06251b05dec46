"""The card readers (PC/SC, extra ``pcsc``): a card present or not, its ATR and family, a card
held by another program, and waiting for a card.

This is the only kamusm module that imports pyscard. It sees what PKCS#11 cannot tell apart:
no reader, a reader without a card, a card that is not an AKİS card, and a card another program
(typically the DYS) holds exclusively.

::

    for reader in probe():                       # one look at every reader; the card untouched
        print(reader.name, reader.card_present, reader.identity.family if reader.identity else "-")
        if reader.busy:
            print(reader.busy_error().message())  # close the DYS ..., and who, where the OS tells

    with ReaderMonitor() as monitor:             # insertion and removal events
        reader = monitor.wait_for_card(timeout=60, on_tick=lambda left: print(int(left)))

The probe never disturbs the card:

- by default it sends nothing to the card and opens no connection: the service's reader state
  (``SCardGetStatusChange`` with a zero timeout) already holds presence, the ATR, and whether
  another program holds the card exclusively (``SCARD_STATE_EXCLUSIVE``);
- ``probe(connect=True)`` also checks the card can be opened, in shared mode, and leaves it as
  it was on disconnect (``SCARD_LEAVE_CARD``: never reset, never powered down). A card held
  exclusively answers with a sharing violation, reported as busy. The service may power a
  sleeping card up for that connection, which is why it is not the default;
- it holds :data:`kamusm._cardlock.CARD_LOCK`, the lock every PKCS#11 call holds, so it never
  runs while a PKCS#11 call is talking to the card. Waiting for events does not hold it.

Which program holds a card: PC/SC does not say. On Linux the programs connected to pcscd can be
found (the peers of pcscd's socket, through the kernel's socket diagnostics, matched to
``/proc/PID/fd``); they are reported as the candidates (this process excluded). Elsewhere, or
when the operating system does not let this user see them, :attr:`Reader.programs` is ``None``
and the message says the system cannot tell.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from kamusm._extras import require

require("pcsc", "smartcard")

import attrs  # noqa: E402 (after the extra's check)
from smartcard import scard  # noqa: E402

from kamusm._cardlock import CARD_LOCK  # noqa: E402
from kamusm.atr import CardIdentity, identify  # noqa: E402
from kamusm.errors import CardBusyError, ReaderServiceError  # noqa: E402

__all__ = [
    "CardEvent",
    "EventKind",
    "Program",
    "Reader",
    "ReaderMonitor",
    "match_reader",
    "probe",
    "programs_using_the_service",
    "service_name",
]

logger = logging.getLogger(__name__)

#: Where pcsc-lite clients find pcscd unless ``PCSCLITE_CSOCK_NAME`` says otherwise.
PCSCD_SOCKET: Final = "/run/pcscd/pcscd.comm"
_PNP: Final = "\\\\?PnP?\\Notification"
_MASK: Final = 0xFFFFFFFF


def _rc(hresult: int) -> int:
    return int(hresult) & _MASK


_OK: Final = _rc(scard.SCARD_S_SUCCESS)
_TIMEOUT: Final = _rc(scard.SCARD_E_TIMEOUT)
_CANCELLED: Final = _rc(scard.SCARD_E_CANCELLED)
_SHARING: Final = _rc(scard.SCARD_E_SHARING_VIOLATION)
_NO_READERS: Final = _rc(scard.SCARD_E_NO_READERS_AVAILABLE)
_UNKNOWN_READER: Final = _rc(scard.SCARD_E_UNKNOWN_READER)
_NO_SERVICE: Final = frozenset(
    _rc(c)
    for c in (
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_E_NO_MEMORY,
    )
)
_NO_CARD: Final = frozenset(
    _rc(c)
    for c in (
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_W_UNRESPONSIVE_CARD,
        scard.SCARD_E_PROTO_MISMATCH,
    )
)


def service_name() -> str:
    """The smart-card service of this operating system: ``pcscd`` on Linux and the BSDs,
    ``SCardSvr`` on Windows, the built-in one on macOS."""
    if sys.platform == "win32":
        return "SCardSvr"
    if sys.platform == "darwin":
        return "macOS (com.apple.ctkpcscd)"
    return "pcscd"


def _socket_path() -> str:
    return os.environ.get("PCSCLITE_CSOCK_NAME") or PCSCD_SOCKET


def _service_error(hresult: int) -> ReaderServiceError:
    return ReaderServiceError(service=service_name(), code=f"0x{hresult:08X}")


@contextlib.contextmanager
def _context() -> Iterator[int]:
    """A PC/SC context, released however the block ends."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if _rc(hresult) != _OK:
        raise _service_error(_rc(hresult))
    try:
        yield context
    finally:
        scard.SCardReleaseContext(context)


def _list_readers(context: int) -> list[str]:
    hresult, names = scard.SCardListReaders(context, [])
    code = _rc(hresult)
    if code == _NO_READERS:
        return []
    if code in _NO_SERVICE:
        raise _service_error(code)
    if code != _OK:
        logger.debug("SCardListReaders: 0x%08X", code)
        return []
    return [str(n) for n in names]


# ---- what a reader says ------------------------------------------------------------------


@attrs.frozen
class Program:
    """A program connected to the smart-card service (Linux only)."""

    pid: int
    name: str

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"


@attrs.frozen
class Reader:
    """One reader as the probe found it."""

    name: str
    card_present: bool
    #: The card's ATR (empty without a card).
    atr: bytes = attrs.field(default=b"", repr=lambda atr: atr.hex().upper())
    #: What the ATR says: AKİS or not, and the family. ``None`` without a card.
    identity: CardIdentity | None = None
    #: Another program holds the card exclusively: nothing else can use it now.
    busy: bool = False
    #: Other programs have the card open in shared mode (does not stop kamusm).
    in_use: bool = False
    #: A card that does not answer (mute or unpowered and failing to power up).
    mute: bool = False
    #: Programs connected to the smart-card service when the card is busy, where the
    #: operating system tells (``None``: it cannot, or the card is not busy).
    programs: tuple[Program, ...] | None = None

    @property
    def is_akis(self) -> bool:
        return self.identity is not None and self.identity.is_akis

    @property
    def atr_hex(self) -> str:
        return self.atr.hex().upper()

    def busy_error(self) -> CardBusyError:
        """The error that explains this busy card: close the DYS and any other program using
        the card, and the candidate programs where the operating system tells."""
        names = None if self.programs is None else tuple(str(p) for p in self.programs)
        return CardBusyError(reader=self.name, programs=names)


def _reader_from_state(
    name: str, state: int, atr: Sequence[int], *, want_programs: bool = True
) -> Reader:
    present = bool(state & scard.SCARD_STATE_PRESENT)
    raw = bytes(atr) if present else b""
    busy = present and bool(state & scard.SCARD_STATE_EXCLUSIVE)
    return Reader(
        name=name,
        card_present=present,
        atr=raw,
        identity=identify(raw) if raw else None,
        busy=busy,
        in_use=present and bool(state & scard.SCARD_STATE_INUSE),
        mute=present and bool(state & scard.SCARD_STATE_MUTE),
        programs=programs_using_the_service() if busy and want_programs else None,
    )


def _states(context: int, names: Sequence[str]) -> list[tuple[str, int, Sequence[int]]]:
    if not names:
        return []
    hresult, states = scard.SCardGetStatusChange(
        context, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names]
    )
    code = _rc(hresult)
    if code in _NO_SERVICE:
        raise _service_error(code)
    if code not in (_OK, _TIMEOUT):
        logger.debug("SCardGetStatusChange: 0x%08X", code)
        return [(n, scard.SCARD_STATE_UNKNOWN, []) for n in names]
    return [(str(n), int(s), a) for n, s, a in states]


def _check_by_connecting(context: int, reader: Reader) -> Reader:
    """Open the card in shared mode and leave it as it was: a sharing violation means another
    program holds it exclusively. Sends no command."""
    hresult, card, _protocol = scard.SCardConnect(
        context,
        reader.name,
        scard.SCARD_SHARE_SHARED,
        scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    )
    code = _rc(hresult)
    if code == _OK:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        return reader
    if code == _SHARING:
        programs = reader.programs if reader.busy else programs_using_the_service()
        return attrs.evolve(reader, busy=True, programs=programs)
    if code in _NO_CARD:
        return attrs.evolve(reader, mute=True)
    if code in _NO_SERVICE:
        raise _service_error(code)
    logger.debug("SCardConnect on %s: 0x%08X", reader.name, code)
    return reader


def probe(*, connect: bool = False) -> list[Reader]:
    """Every reader with what it says about its card, in one look.

    Sends no command to any card. With ``connect=True``, each card is also opened in shared
    mode and left as it was (see the module's notes): a sharing violation marks it busy.
    Holds the card lock throughout, so it waits for a running PKCS#11 call to end.

    Raises :class:`~kamusm.errors.ReaderServiceError` when the smart-card service is not
    running. No reader is an empty list.
    """
    with CARD_LOCK, _context() as context:
        names = _list_readers(context)
        readers = [_reader_from_state(*s) for s in _states(context, names)]
        if connect:
            readers = [_check_by_connecting(context, r) if r.card_present else r for r in readers]
    logger.debug("Probed %d reader(s)", len(readers))
    return readers


def match_reader(slot_description: str, readers: Sequence[Reader]) -> Reader | None:
    """The reader a PKCS#11 slot names in its description, or ``None`` when none or several
    match. Slot descriptions are at most 64 characters, padded: a reader whose name the
    description cuts short matches too."""
    wanted = slot_description.strip(" \x00")
    if not wanted:
        return None
    exact = [r for r in readers if r.name == wanted]
    if len(exact) == 1:
        return exact[0]
    loose = [r for r in readers if r.name.startswith(wanted) or wanted.startswith(r.name)]
    return loose[0] if len(loose) == 1 else None


# ---- waiting: insertion and removal --------------------------------------------------------


class EventKind(enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"


@attrs.frozen
class CardEvent:
    """A change seen by :class:`ReaderMonitor`. ``reader`` is the reader's state after it
    (for a removed reader, its last state)."""

    kind: EventKind
    reader: Reader
    #: ``time.monotonic()`` when the application learnt of it.
    at: float


_WAIT_SLICE: Final = 0.5  # seconds: the longest one SCardGetStatusChange call of a wait lasts


class ReaderMonitor:
    """Insertion and removal of cards, and readers coming and going.

    Uses the service's events (``SCardGetStatusChange`` blocking, with the Plug and Play
    notification for readers); where they are not delivered it polls the reader states every
    ``poll_interval`` seconds. ``use_events=False`` forces polling. :meth:`close` (from any
    thread) ends a wait in progress. Holds no connection to any card, and not the card lock.
    """

    def __init__(self, *, use_events: bool = True, poll_interval: float = 0.5) -> None:
        self.poll_interval = poll_interval
        self._events = use_events
        self._closed = threading.Event()
        self._context: int | None = None
        # The context is released by whoever is last: close() when no call is using it, else
        # the call in progress when it returns (pcsc-lite blocks on a context released under it).
        self._guard = threading.Lock()
        self._in_use = 0
        self._known: dict[str, tuple[int, Reader]] = {}
        self._pnp_state = scard.SCARD_STATE_UNAWARE
        self._open()

    @property
    def polling(self) -> bool:
        """Whether this monitor polls (events not available, or not asked for)."""
        return not self._events

    def _open(self) -> None:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if _rc(hresult) != _OK:
            raise _service_error(_rc(hresult))
        self._context = context
        names = _list_readers(context)
        for name, state, atr in _states(context, names):
            self._known[name] = (state & ~scard.SCARD_STATE_CHANGED, self._reader(name, state, atr))
        if self._events:
            hresult, states = scard.SCardGetStatusChange(
                context, 0, [(_PNP, scard.SCARD_STATE_UNAWARE)]
            )
            if _rc(hresult) in (_OK, _TIMEOUT) and states:
                self._pnp_state = int(states[0][1]) & ~scard.SCARD_STATE_CHANGED
            else:
                logger.debug("No reader notification (0x%08X)", _rc(hresult))

    @staticmethod
    def _reader(name: str, state: int, atr: Sequence[int]) -> Reader:
        return _reader_from_state(name, state, atr, want_programs=False)

    def readers(self) -> list[Reader]:
        """The readers as last seen."""
        return [reader for _state, reader in self._known.values()]

    def __enter__(self) -> ReaderMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End any wait in progress and release the service context."""
        with self._guard:
            self._closed.set()
            context = self._context
            if context is None:
                return
            if self._in_use:
                scard.SCardCancel(context)
                return
            self._context = None
        scard.SCardReleaseContext(context)

    @contextlib.contextmanager
    def _using(self) -> Iterator[int | None]:
        """The service context for one call, or ``None`` once the monitor is closed."""
        with self._guard:
            if self._closed.is_set() or self._context is None:
                context = None
            else:
                context = self._context
                self._in_use += 1
        if context is None:
            yield None
            return
        try:
            yield context
        finally:
            release = None
            with self._guard:
                self._in_use -= 1
                if self._closed.is_set() and not self._in_use and self._context is not None:
                    release, self._context = self._context, None
            if release is not None:
                scard.SCardReleaseContext(release)

    def wait(self, timeout: float) -> list[CardEvent]:
        """The changes within ``timeout`` seconds: returns as soon as there is one, or ``[]``
        when the time ran out or the monitor was closed."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            events = self._wait_events(left) if self._events else self._poll(left)
            if events:
                return events
        return []

    def _wait_events(self, left: float) -> list[CardEvent]:
        names = list(self._known)
        request = [(n, self._known[n][0]) for n in names] + [(_PNP, self._pnp_state)]
        with self._using() as context:
            if context is None:
                return []
            # In slices, so that a close() whose cancel came just before the call still ends
            # the wait within one slice.
            slice_ms = int(min(left, _WAIT_SLICE) * 1000)
            hresult, states = scard.SCardGetStatusChange(context, slice_ms, request)
        code = _rc(hresult)
        if code in (_TIMEOUT, _CANCELLED):
            return []
        if code == _UNKNOWN_READER:
            return self._relist()
        if code != _OK:
            logger.info("Reader events not delivered (0x%08X); polling instead", code)
            self._events = False
            return []
        events: list[CardEvent] = []
        relist = False
        for name, raw_state, atr in states:
            state = int(raw_state)
            if name == _PNP:
                if state & scard.SCARD_STATE_CHANGED:
                    relist = True
                self._pnp_state = state & ~scard.SCARD_STATE_CHANGED
                continue
            if state & scard.SCARD_STATE_CHANGED:
                events.extend(self._update(str(name), state, atr))
        if relist or any(s & scard.SCARD_STATE_UNKNOWN for _n, s, _a in states):
            events.extend(self._relist())
        return events

    def _update(self, name: str, state: int, atr: Sequence[int]) -> list[CardEvent]:
        before = self._known.get(name)
        reader = self._reader(name, state, atr)
        self._known[name] = (state & ~scard.SCARD_STATE_CHANGED, reader)
        now = time.monotonic()
        was_present = before is not None and before[1].card_present
        if reader.card_present and (
            not was_present or before is None or before[1].atr != reader.atr
        ):
            return [CardEvent(EventKind.INSERTED, reader, now)]
        if was_present and not reader.card_present:
            return [CardEvent(EventKind.REMOVED, reader, now)]
        return []

    def _relist(self) -> list[CardEvent]:
        with self._using() as context:
            if context is None:
                return []
            names = _list_readers(context)
            return self._relisted(context, names)

    def _relisted(self, context: int, names: list[str]) -> list[CardEvent]:
        now = time.monotonic()
        events = []
        for name in [n for n in self._known if n not in names]:
            _state, last = self._known.pop(name)
            if last.card_present:
                events.append(
                    CardEvent(EventKind.REMOVED, attrs.evolve(last, card_present=False), now)
                )
            events.append(CardEvent(EventKind.READER_REMOVED, last, now))
        for name, state, atr in _states(context, [n for n in names if n not in self._known]):
            reader = self._reader(name, state, atr)
            self._known[name] = (state & ~scard.SCARD_STATE_CHANGED, reader)
            events.append(CardEvent(EventKind.READER_ADDED, reader, now))
            if reader.card_present:
                events.append(CardEvent(EventKind.INSERTED, reader, now))
        return events

    def _poll(self, left: float) -> list[CardEvent]:
        with self._using() as context:
            if context is None:
                return []
            events = self._relisted(context, _list_readers(context))
            for name, state, atr in _states(context, list(self._known)):
                if (state & ~scard.SCARD_STATE_CHANGED) != self._known[name][0]:
                    events.extend(self._update(name, state, atr))
        if not events:
            self._closed.wait(min(self.poll_interval, left))
        return events

    def wait_for_card(
        self,
        timeout: float,
        *,
        on_tick: Callable[[float], None] | None = None,
        tick: float = 1.0,
        reader: str | None = None,
    ) -> Reader | None:
        """A reader with a card in it (the first present, or the one named ``reader``): at
        once if there is one, else the first inserted within ``timeout`` seconds; ``None``
        when the time ran out. ``on_tick(seconds_left)`` is called about every ``tick``
        seconds while waiting (to show "Kartınızı takınız" with the remaining time)."""
        deadline = time.monotonic() + max(0.0, timeout)

        def wanted(r: Reader) -> bool:
            return r.card_present and (reader is None or r.name == reader)

        found = next((r for r in self.readers() if wanted(r)), None)
        while found is None and not self._closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if on_tick is not None:
                on_tick(left)
            for event in self.wait(min(tick, left)):
                if event.kind is EventKind.INSERTED and wanted(event.reader):
                    found = event.reader
                    break
        return found


# ---- who holds the card (Linux) --------------------------------------------------------------

_NETLINK_SOCK_DIAG: Final = 4
_SOCK_DIAG_BY_FAMILY: Final = 20
_NLM_F_REQUEST: Final = 0x01
_NLM_F_DUMP: Final = 0x300
_NLMSG_ERROR: Final = 2
_NLMSG_DONE: Final = 3
_UDIAG_SHOW_VFS: Final = 0x02
_UDIAG_SHOW_PEER: Final = 0x04
_UNIX_DIAG_VFS: Final = 1
_UNIX_DIAG_PEER: Final = 2
_INTERPRETERS: Final = ("python", "java", "node", "mono", "wine", "perl", "ruby")


def _unix_sockets() -> list[tuple[int, tuple[int, int] | None, int | None]]:
    """Every Unix socket of this network namespace as ``(inode, (vfs inode, vfs dev) or None,
    peer inode or None)``, from the kernel's socket diagnostics (sock_diag)."""
    request = struct.pack(
        "=BBHIIIII",
        socket.AF_UNIX,
        0,
        0,
        _MASK,
        0,
        _UDIAG_SHOW_VFS | _UDIAG_SHOW_PEER,
        _MASK,
        _MASK,
    )
    header = struct.pack(
        "=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0
    )
    found: list[tuple[int, tuple[int, int] | None, int | None]] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(2.0)
        sock.send(header + request)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
                if length < 16:
                    return found
                if kind == _NLMSG_DONE:
                    return found
                if kind == _NLMSG_ERROR:
                    raise OSError("sock_diag refused the request")
                body = data[offset + 16 : offset + length]
                if len(body) >= 16:
                    inode = struct.unpack_from("=I", body, 4)[0]
                    vfs, peer = None, None
                    at = 16
                    while at + 4 <= len(body):
                        attr_len, attr_type = struct.unpack_from("=HH", body, at)
                        if attr_len < 4:
                            break
                        payload = body[at + 4 : at + attr_len]
                        if attr_type == _UNIX_DIAG_VFS and len(payload) >= 8:
                            vfs = struct.unpack_from("=II", payload)
                        elif attr_type == _UNIX_DIAG_PEER and len(payload) >= 4:
                            peer = struct.unpack_from("=I", payload)[0]
                        at += (attr_len + 3) & ~3
                    found.append((inode, vfs, peer))
                offset += (length + 3) & ~3


def _process_name(pid: int) -> str:
    """A program's name from its command line (an interpreter with its script or module), else
    the kernel's short name; one line, at most 80 characters."""
    name = ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode("utf-8", errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        argv = []
    if argv:
        name = os.path.basename(argv[0])
        if name.startswith(_INTERPRETERS) and len(argv) > 1:
            if argv[1] in ("-m", "-jar") and len(argv) > 2:
                name += f" {argv[1]} {argv[2]}"
            elif argv[1] == "-c":
                name += " -c"
            elif not argv[1].startswith("-"):
                name += " " + os.path.basename(argv[1])
    if not name:
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            name = "?"
    return " ".join(name.split())[:80]


def programs_using_the_service() -> tuple[Program, ...] | None:
    """The programs connected to the smart-card service, this process excluded, where the
    operating system tells: Linux, for the processes this user may see. ``None`` elsewhere or
    when none can be seen (the caller then says the system cannot tell)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        info = os.stat(_socket_path())
        wanted = (info.st_ino & _MASK, (os.major(info.st_dev) << 20) | os.minor(info.st_dev))
        sockets = _unix_sockets()
    except OSError as exc:
        logger.debug("Cannot list the service's clients: %s", type(exc).__name__)
        return None
    server = {inode for inode, vfs, _peer in sockets if vfs is not None and tuple(vfs) == wanted}
    clients = {peer for inode, _vfs, peer in sockets if inode in server and peer}
    if not clients:
        return None
    links = {f"socket:[{c}]" for c in clients}
    found: list[Program] = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = os.scandir(f"/proc/{entry.name}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    if os.readlink(fd.path) in links:
                        pid = int(entry.name)
                        found.append(Program(pid=pid, name=_process_name(pid)))
                        break
                except OSError:
                    continue
    return tuple(sorted(found, key=lambda p: p.pid)) or None
