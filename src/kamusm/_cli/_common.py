"""What every command shares: its settings, the language, logging, and the one place where a
failure becomes one line on stderr and an exit code. No click, no rich here: the fast
``kamusm tokens`` path uses this module too."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from kamusm._cli._exit import CommandError, ExitCode, StopWith, exit_code_for
from kamusm._cli._texts import text
from kamusm.errors import KamusmError
from kamusm.messages import DEFAULT_LANGUAGE, LANGUAGES, Language, format_date

if TYPE_CHECKING:
    from datetime import datetime

#: Environment variables the command reads (none of them ever holds a PIN).
ENV_LANG = "KAMUSM_LANG"
ENV_PORTAL = "KAMUSM_PORTAL_URL"

# Optional packages and the extra that brings each.
_EXTRAS = {
    "click": "cli",
    "rich": "cli",
    "starlette": "sandbox",
    "uvicorn": "sandbox",
    "cryptography": "sandbox",
    "pytest": "test",
    "jinja2": "app",
    "pyhanko": "pdf",
    "pyhanko_certvalidator": "pdf",
}


class Settings:
    """The options every command takes: language, PKCS#11 module, debug output.

    A plain class, not attrs: ``kamusm tokens`` pays for every class it builds at start-up.
    """

    __slots__ = ("debug", "lang", "module")

    def __init__(
        self, *, lang: Language = DEFAULT_LANGUAGE, module: str | None = None, debug: bool = False
    ) -> None:
        self.lang: Language = lang
        self.module = module
        self.debug = debug

    def __repr__(self) -> str:
        return f"Settings(lang={self.lang!r}, module={self.module!r}, debug={self.debug})"


def resolve_lang(value: str | None) -> Language:
    """``--lang`` if given, else ``KAMUSM_LANG``, else Turkish (an unknown value is ignored)."""
    for candidate in (value, os.environ.get(ENV_LANG)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def date_text(moment: datetime, lang: Language) -> str:
    """A date as the holder reads it: ``31.10.2029`` in Turkish, as the portal shows dates;
    ``2029-10-31`` in English."""
    return format_date(moment.date(), lang)


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` without control and format characters, for a terminal: a card's label or a
    certificate's name can hold terminal escape sequences (``ESC [ 2 J``), which would then
    act on the holder's terminal. What is left of a sequence is shown as plain text. With
    ``lines``, line breaks stay (for our own multi-line messages). ``--json`` needs none of
    this: JSON escapes them."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isprintable() or ch == " " or (lines and ch == "\n"))


def no_core_dumps() -> None:
    """Keep the secrets this process is about to hold (PINs, codes) out of core dumps and away
    from other processes of the same user: on Linux the process becomes non-dumpable
    (``prctl(PR_SET_DUMPABLE, 0)``, which also refuses ``ptrace`` and ``/proc/PID/mem`` to
    them); everywhere with ``resource``, the core file size limit becomes zero. Where neither
    exists (Windows), nothing changes."""
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415 (only the commands that ask for secrets)

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            logging.getLogger(__name__).warning(
                "prctl(PR_SET_DUMPABLE) failed: errno %d", ctypes.get_errno()
            )
    try:
        import resource  # noqa: PLC0415 (POSIX only)
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:  # pragma: no cover - a limit the system refuses
        logging.getLogger(__name__).warning("the core size limit stays: %s", exc)


_PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def setup_logging(debug: bool) -> None:
    """Debug records to stderr with ``--debug``; otherwise only warnings (the library never
    logs a secret at any level). Only kamusm's own loggers reach the terminal: another
    library's warning (pyHanko's path-building traceback named the holder's full T.C. Kimlik
    No) is no message for a card holder; a null handler on the root keeps Python's
    last-resort handler from printing it anyway."""
    root = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    ours = logging.getLogger("kamusm")
    for handler in [h for h in ours.handlers if getattr(h, "_kamusm_cli", False)]:
        ours.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._kamusm_cli = True  # type: ignore[attr-defined]  # ours, replaced on the next call
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if debug else logging.WARNING)


def error_line(message: str, lang: Language, *, stream: TextIO | None = None) -> None:
    """Write one failure line: ``kamusm: hata: ...``."""
    out = stream if stream is not None else sys.stderr
    out.write(text("cli.error", lang, message=printable(" ".join(message.split()))) + "\n")
    out.flush()


def run_guarded(action: Callable[[], int], settings: Settings) -> int:  # noqa: PLR0911
    """Run a command body; turn every failure into one line on stderr and an exit code (with
    the traceback as well under ``--debug``). One return per kind of failure."""
    lang = settings.lang
    try:
        try:
            return action()
        except StopWith as stop:
            if stop.code is not None:
                _traceback(settings)
                error_line(stop.error.message(lang), lang)
                return stop.code
            raise stop.error from stop
    except KamusmError as err:
        _traceback(settings)
        error_line(err.message(lang), lang)
        return exit_code_for(err)
    except CommandError as failure:
        _traceback(settings)
        error_line(failure.message(lang), lang)
        return failure.code
    except KeyboardInterrupt:
        _traceback(settings)
        sys.stderr.write("\n" + text("cli.interrupted", lang) + "\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``kamusm tokens | head``): nothing more to say to it.
        _silence_stdout()
        return ExitCode.OK
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in _EXTRAS:
            raise
        _traceback(settings)
        message = text("cli.missing_dependency", lang, package=root, extra=_EXTRAS[root])
        error_line(message, lang)
        return ExitCode.SETUP
    except Exception as exc:  # noqa: BLE001 (the command's last line of defence)
        return unexpected(exc, settings)


def _traceback(settings: Settings) -> None:
    if settings.debug:
        import traceback  # noqa: PLC0415 (only under --debug: kept off the start-up path)

        traceback.print_exc(file=sys.stderr)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def unexpected(exc: BaseException, settings: Settings) -> int:
    """An error no layer names: its type only (its text could hold anything), and a hint."""
    _traceback(settings)
    error_line(text("cli.unexpected", settings.lang, kind=type(exc).__name__), settings.lang)
    return ExitCode.ERROR
