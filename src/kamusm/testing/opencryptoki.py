"""An opencryptoki software token that really counts wrong PINs and locks: for tests only.

SoftHSM2 never locks a PIN. opencryptoki's software token does: one wrong PIN sets
``USER_PIN_COUNT_LOW``, two ``USER_PIN_FINAL_TRY``, three ``USER_PIN_LOCKED``; an SO login and
``C_InitPIN`` clear it all. This module brings that token up from nothing, as root, without
systemd:

1. a stanza for one software-token slot (:data:`SLOT_ID`, token directory :data:`TOKNAME`) in
   the fixed configuration file ``/etc/opencryptoki/opencryptoki.conf``, between marker
   comments, added once and left for the next run;
2. its directories, group ``pkcs11``, mode 0770;
3. the ``pkcsslotd`` daemon, started directly (it daemonises itself) when none runs, and
   stopped again when this process ends. A daemon this module did not start is never signalled:
   it is reused when it serves the slot, and reported (a :class:`RuntimeError` saying so) when
   it does not. A stale pid file is removed;
4. per call of :func:`fresh_opencryptoki_token`, the token wiped and initialised again: files
   and shared memory removed while this process has the module finalised, then
   ``C_InitToken`` with the factory SO PIN, the SO PIN changed to the chosen one, and
   ``C_InitPIN`` with the chosen user PIN.

Only one token is driven, so only one test at a time may use it (pytest runs tests one after
another). No helper here ever enters a wrong SO PIN: an SO PIN locked on this token cannot be
recovered except by wiping it.
"""

from __future__ import annotations

import atexit
import fcntl
import grp
import logging
import os
import shutil
import signal
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import attrs

from kamusm.testing.softhsm import SoCredentialTracker
from kamusm.values import Pin, SystemClock, UnblockAuthorization

if TYPE_CHECKING:
    from kamusm.testing.certificates import KeySpec
    from kamusm.token import Pkcs11Module, Token

__all__ = [
    "CONF_PATH",
    "SLOT_ID",
    "TOKNAME",
    "OpencryptokiToken",
    "ensure_opencryptoki",
    "find_opencryptoki_module",
    "fresh_opencryptoki_token",
    "opencryptoki_unavailable_reason",
    "started_by_kamusm",
    "stop_started_daemon",
]

logger = logging.getLogger(__name__)

CONF_PATH = Path("/etc/opencryptoki/opencryptoki.conf")
#: The slot kamusm's test token lives in (away from the package's default slots 0-4).
SLOT_ID = 42
#: The software token's directory name under ``/var/lib/opencryptoki``.
TOKNAME = "kamusmtok"
#: The SO PIN of a software token that was never initialised (opencryptoki's factory value).
FACTORY_SO_PIN = "87654321"
DEFAULT_PIN = "123456"
DEFAULT_SO_PIN = "11223344"

_DATA_DIR = Path("/var/lib/opencryptoki")
_LOCK_DIR = Path("/var/lock/opencryptoki")
_PID_FILES = (Path("/run/pkcsslotd.pid"), Path("/var/run/pkcsslotd.pid"))
# The token's shared memory, named by opencryptoki itself (not a temporary file of ours).
_SHM = Path("/dev/shm") / f"var.lib.opencryptoki.{TOKNAME}"  # noqa: S108 (opencryptoki's own shared-memory path)
_MARK_BEGIN = "# >>> kamusm test token (kamusm.testing.opencryptoki) >>>"
_MARK_END = "# <<< kamusm test token <<<"
_STANZA = f"""{_MARK_BEGIN}
slot {SLOT_ID}
{{
stdll = libpkcs11_sw.so
tokname = {TOKNAME}
description = "kamusm test token"
}}
{_MARK_END}
"""


def _module_locations() -> list[str]:
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    return [
        f"/usr/lib/{multiarch}/pkcs11/libopencryptoki.so",
        f"/usr/lib/{multiarch}/opencryptoki/libopencryptoki.so.0",
        "/usr/lib64/opencryptoki/libopencryptoki.so",
        "/usr/lib/opencryptoki/libopencryptoki.so",
    ]


def find_opencryptoki_module() -> str | None:
    """The path of opencryptoki's PKCS#11 module, or ``None`` when it is not installed."""
    return next((p for p in _module_locations() if os.path.exists(p)), None)


def _daemon_binary() -> str | None:
    return shutil.which("pkcsslotd") or next(
        (p for p in ("/usr/sbin/pkcsslotd", "/sbin/pkcsslotd") if os.path.exists(p)), None
    )


#: Bringing the test token up changes this machine (a stanza in
#: ``/etc/opencryptoki/opencryptoki.conf``, the pkcsslotd daemon, a token directory), so it
#: happens only when asked: ``KAMUSM_TEST_OPENCRYPTOKI=1`` (``scripts/test`` sets it).
OPT_IN = "KAMUSM_TEST_OPENCRYPTOKI"
#: A file to which the pid of every pkcsslotd started here is appended, so that whoever set it
#: (``scripts/test``) stops exactly the daemons its run started when it puts the machine back.
STARTED_PIDS = "KAMUSM_OPENCRYPTOKI_STARTED_PIDS"
#: Serialises every process's use of the one test token (pytest runs side by side, say).
_PROCESS_LOCK_PATH = Path("/run/lock/kamusm-opencryptoki-tests.lock")
_process_lock: IO[bytes] | None = None
_HELD_BY_ANCESTOR = "KAMUSM_OPENCRYPTOKI_LOCK_HOLDER"


def _hold_process_lock() -> None:
    """Take the machine-wide lock for the test token and keep it until this process ends.
    Another process using the token waits here instead of wiping it under our feet."""
    global _process_lock  # noqa: PLW0603 (one lock file per process, held to its end)
    if _process_lock is not None:
        return
    if os.environ.get(_HELD_BY_ANCESTOR):
        # A process this one was started by holds it and waits for us (a test that runs
        # pytest or a command in a subprocess): taking it again would wait forever.
        return
    _PROCESS_LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    handle = _PROCESS_LOCK_PATH.open("ab")
    logger.debug("Waiting for the opencryptoki test token lock %s", _PROCESS_LOCK_PATH)
    fcntl.flock(handle, fcntl.LOCK_EX)
    _process_lock = handle
    os.environ[_HELD_BY_ANCESTOR] = str(os.getpid())  # inherited by our subprocesses


def opencryptoki_unavailable_reason() -> str | None:
    """Why the opencryptoki token cannot be brought up here, or ``None`` when it can."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "opencryptoki runs on Linux only"
    if os.environ.get(OPT_IN) != "1":
        return (
            f"set {OPT_IN}=1 to let the tests configure opencryptoki on this machine "
            "(scripts/test does)"
        )
    if os.geteuid() != 0:
        return (
            "not root: bringing up opencryptoki writes /etc/opencryptoki/opencryptoki.conf and "
            "starts the pkcsslotd daemon"
        )
    missing = []
    if find_opencryptoki_module() is None:
        missing.append("libopencryptoki.so")
    if _daemon_binary() is None:
        missing.append("pkcsslotd")
    if missing:
        return (
            f"opencryptoki is not installed ({', '.join(missing)} missing): "
            "apt-get install opencryptoki"
        )
    try:
        grp.getgrnam("pkcs11")
    except KeyError:
        return "the group pkcs11 is missing (it comes with the opencryptoki package)"
    return None


# ---- bringing it up -----------------------------------------------------------------------


def _ensure_stanza() -> bool:
    """Add the slot stanza to the configuration; ``True`` if the file changed."""
    text = CONF_PATH.read_text() if CONF_PATH.exists() else "version opencryptoki-3.1\n"
    if _MARK_BEGIN in text:
        return False
    CONF_PATH.parent.mkdir(parents=True, exist_ok=True)
    CONF_PATH.write_text(text.rstrip("\n") + "\n\n" + _STANZA)
    logger.info("Added the kamusm test slot %s to %s", SLOT_ID, CONF_PATH)
    return True


def _group_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    gid = grp.getgrnam("pkcs11").gr_gid
    os.chown(path, 0, gid)
    path.chmod(0o770)


def _ensure_dirs() -> None:
    for path in (_DATA_DIR, _DATA_DIR / TOKNAME, _DATA_DIR / TOKNAME / "TOK_OBJ", _LOCK_DIR):
        _group_dir(path)
    _group_dir(_LOCK_DIR / TOKNAME)


def _daemon_pid() -> int | None:
    """The pid of a running pkcsslotd, removing pid files left by one that is gone."""
    for pid_file in _PID_FILES:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            comm, state = "", ""
        if comm == "pkcsslotd" and state != "Z":
            return pid
        logger.debug("Removing the stale pid file %s (pid %s)", pid_file, pid)
        pid_file.unlink(missing_ok=True)
    return None


def _wait_until(done: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``done()`` until it is true; a helper's wait for a daemon, not a test's timing."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"opencryptoki: timed out waiting for {what}")
        time.sleep(0.01)


#: The pkcsslotd this process started: its pid and its start time (``/proc/PID/stat``), so a
#: pid the system has given to another process since is never signalled.
_started: tuple[int, str] | None = None
#: Every pkcsslotd a kamusm process started, as ``pid start-time`` lines. A daemon listed here
#: whose process has ended may be stopped by the next holder of the test token's lock; a
#: daemon not listed (the machine's own, or one started by anything else) never is.
_REGISTRY = Path("/run/lock/kamusm-pkcsslotd-started")


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started, or ``None`` when it no longer runs (a process that has
    exited but is not yet reaped, a zombie, no longer runs)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _registered() -> set[tuple[int, str]]:
    """The daemons kamusm started that still run (each the same process as when started)."""
    try:
        lines = _REGISTRY.read_text(encoding="ascii").split("\n")
    except OSError:
        return set()
    alive = set()
    for line in lines:
        pid, _, start = line.partition(" ")
        if pid.isdigit() and start and _start_time(int(pid)) == start:
            alive.add((int(pid), start))
    return alive


def _register(pid: int, start: str) -> None:
    kept = _registered() | {(pid, start)}
    _REGISTRY.write_text("".join(f"{p} {t}\n" for p, t in sorted(kept)), encoding="ascii")


def started_by_kamusm(pid: int) -> bool:
    """Whether the pkcsslotd ``pid`` was started by kamusm's test machinery (this process or
    an earlier one); only such a daemon is ever stopped here."""
    start = _start_time(pid)
    return start is not None and (pid, start) in ({_started} | _registered())


def _ours(pid: int) -> bool:
    """Whether ``pid`` is a pkcsslotd this module started (and still the same process)."""
    return started_by_kamusm(pid)


def _stop_daemon(pid: int) -> None:
    """Stop a pkcsslotd that kamusm started; any other is left alone."""
    global _started  # noqa: PLW0603 (the one daemon this process started)
    if not _ours(pid):
        raise RuntimeError(f"opencryptoki: pkcsslotd (pid {pid}) was not started by kamusm")
    logger.info("Stopping pkcsslotd (pid %s), started by this process", pid)
    os.kill(pid, signal.SIGTERM)
    _wait_until(lambda: _start_time(pid) is None, "pkcsslotd to stop")
    if _started is not None and _started[0] == pid:
        _started = None


def stop_started_daemon() -> None:
    """Stop the pkcsslotd this process started, if it did and it still runs (called when the
    process ends). A daemon started by anything else is never signalled."""
    started = _started
    if started is None or _start_time(started[0]) != started[1]:
        return
    module_path = find_opencryptoki_module()
    if module_path is not None:
        try:
            _finalize_in_process(module_path)
        except Exception:  # noqa: BLE001 (at exit: the daemon is stopped whatever the module says)
            logger.debug("opencryptoki module not finalised before stopping pkcsslotd")
    _stop_daemon(started[0])


def _start_daemon() -> None:
    binary = _daemon_binary()
    if binary is None:  # pragma: no cover - checked by opencryptoki_unavailable_reason
        raise RuntimeError("pkcsslotd is not installed")
    global _started  # noqa: PLW0603 (the one daemon this process started)
    logger.info("Starting pkcsslotd")
    subprocess.run([binary], check=True, capture_output=True, timeout=30)  # noqa: S603 (the installed pkcsslotd, no arguments)
    _wait_until(lambda: _daemon_pid() is not None, "pkcsslotd to start")
    pid = _daemon_pid()
    start = None if pid is None else _start_time(pid)
    if pid is not None and start is not None:
        if _started is None:
            atexit.register(stop_started_daemon)
        _started = (pid, start)
        _register(pid, start)
    record = os.environ.get(STARTED_PIDS)
    if record:
        with open(record, "a", encoding="ascii") as out:
            out.write(f"{_daemon_pid()}\n")


def _finalize_in_process(module_path: str) -> None:
    from kamusm import _token_seam  # noqa: PLC0415

    _token_seam.finalize_loaded(module_path)


def _slot_served(module_path: str) -> bool:
    """Whether the running daemon offers our slot (asked through this process's module)."""
    import pkcs11  # noqa: PLC0415

    try:
        lib = pkcs11.lib(os.path.realpath(module_path))
        return any(slot.slot_id == SLOT_ID for slot in lib.get_slots())
    except pkcs11.PKCS11Error:
        return False


def ensure_opencryptoki() -> str:
    """Bring up configuration, directories and daemon (reusing a good running daemon) and
    return the module path. Raises :class:`RuntimeError` with the reason when it cannot."""
    from kamusm import _token_seam  # noqa: PLC0415

    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    module_path = find_opencryptoki_module()
    assert module_path is not None  # noqa: S101 - checked just above
    _hold_process_lock()
    with _token_seam.lock():
        changed = _ensure_stanza()
        _ensure_dirs()
        pid = _daemon_pid()
        if pid is not None and (changed or not _slot_served(module_path)):
            # A daemon from before the stanza existed does not know the slot. The one this
            # process started is restarted; any other is not ours to signal.
            if not _ours(pid):
                raise RuntimeError(
                    f"a pkcsslotd not started by kamusm (pid {pid}) runs without the test slot "
                    f"{SLOT_ID} of {CONF_PATH}: restart it (it reads the file when it starts) "
                    "and run again"
                )
            _finalize_in_process(module_path)
            _stop_daemon(pid)
            pid = None
        if pid is None:
            _finalize_in_process(module_path)
            _start_daemon()
        if not _slot_served(module_path):
            raise RuntimeError(f"pkcsslotd does not offer slot {SLOT_ID} from {CONF_PATH}")
    return module_path


# ---- the token ----------------------------------------------------------------------------


@attrs.frozen
class OpencryptokiToken:
    """The opencryptoki test token as last initialised. ``repr`` hides PIN and SO PIN.
    ``so_pin`` is the SO PIN the token holds now: it follows a rotation (see
    :class:`~kamusm.testing.softhsm.SoCredentialTracker`)."""

    module_path: str
    label: str
    serial: str
    slot_id: int
    pin: Pin
    so: SoCredentialTracker = attrs.field(repr=False, eq=False)

    @property
    def so_pin(self) -> Pin:
        """The token's SO PIN now (after any rotation)."""
        return self.so.current()

    def module(self) -> Pkcs11Module:
        from kamusm.token import Pkcs11Module  # noqa: PLC0415

        return Pkcs11Module.open(self.module_path)

    def token(self) -> Token:
        """This token, through kamusm (selected by label: opencryptoki's serial is fixed)."""
        return self.module().token(label=self.label)

    def generate_key_pair(self, key: KeySpec, *, label: str, object_id: bytes) -> bytes:
        """Make a key pair on the token; returns the public key (DER SubjectPublicKeyInfo)."""
        from kamusm import _token_seam  # noqa: PLC0415
        from kamusm.testing.softhsm import generate_key_pair  # noqa: PLC0415

        with _token_seam.lock():
            p11_token = _token_seam.p11_token(self.module(), self.slot_id)
            with p11_token.open(rw=True, user_pin=self.pin.reveal()) as session:
                return generate_key_pair(session, key, label=label, object_id=object_id)

    def write_certificate(self, der: bytes, label: str, object_id: bytes) -> None:
        """Store a certificate object (public, on the token) with this label and ``CKA_ID``."""
        from kamusm import _token_seam  # noqa: PLC0415
        from kamusm.testing.softhsm import store_certificates  # noqa: PLC0415

        with _token_seam.lock():
            p11_token = _token_seam.p11_token(self.module(), self.slot_id)
            with p11_token.open(rw=True, user_pin=self.pin.reveal()) as session:
                store_certificates(session, [(der, label, object_id)])

    def unblock_authorization(
        self,
        *,
        now: datetime | None = None,
        validity: timedelta = timedelta(minutes=5),
        rotate: bool = False,
        other_credential: str | None = None,
    ) -> UnblockAuthorization:
        """A single-use authorization carrying the SO PIN, as the portal would issue one;
        ``rotate=True`` adds a fresh SO PIN (which :attr:`so_pin` then follows),
        ``other_credential`` a second candidate tried after the SO PIN."""
        issued = now if now is not None else SystemClock().now()
        return self.so.issue(
            card_serial=self.serial,
            expires_at=issued + validity,
            rotate=rotate,
            other_credential=other_credential,
        )


def _wipe() -> None:
    token_dir = _DATA_DIR / TOKNAME
    for child in token_dir.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    _SHM.unlink(missing_ok=True)
    _group_dir(token_dir / "TOK_OBJ")


def fresh_opencryptoki_token(
    *,
    label: str = "kamusm-ock",
    pin: Pin | str = DEFAULT_PIN,
    so_pin: Pin | str = DEFAULT_SO_PIN,
    certificates: Iterable[tuple[bytes, str, bytes]] = (),
) -> OpencryptokiToken:
    """Wipe the opencryptoki test token and initialise it anew with this label and PINs.

    The token allows PINs of 4 to 8 characters. Every earlier state (wrong-PIN counts, a
    locked PIN, objects) is gone afterwards. ``certificates`` are ``(der, label, object_id)``.
    """

    from kamusm import _token_seam  # noqa: PLC0415
    from kamusm.testing.softhsm import store_certificates  # noqa: PLC0415
    from kamusm.token import Pkcs11Module  # noqa: PLC0415

    user_pin = pin if isinstance(pin, Pin) else Pin(pin)
    admin_pin = so_pin if isinstance(so_pin, Pin) else Pin(so_pin)
    module_path = ensure_opencryptoki()
    with _token_seam.lock():
        _finalize_in_process(module_path)
        _wipe()
        module = Pkcs11Module.open(module_path)  # initialises the module again
        _token_seam.init_token(module, SLOT_ID, FACTORY_SO_PIN, label)
        p11_token = _token_seam.p11_token(module, SLOT_ID)
        with p11_token.open(rw=True, so_pin=FACTORY_SO_PIN) as session:
            session.set_pin(FACTORY_SO_PIN, admin_pin.reveal())
        with p11_token.open(rw=True, so_pin=admin_pin.reveal()) as session:
            session.init_pin(user_pin.reveal())
        items = list(certificates)
        if items:
            with p11_token.open(rw=True, user_pin=user_pin.reveal()) as session:
                store_certificates(session, items)
        info = _token_seam.slot_info(module, SLOT_ID)
    logger.debug("opencryptoki test token %s initialised", label)
    return OpencryptokiToken(
        module_path=module_path,
        label=label,
        serial=info.serial,
        slot_id=SLOT_ID,
        pin=user_pin,
        so=SoCredentialTracker(admin_pin),
    )
