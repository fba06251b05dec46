"""The ``kamusm`` command (extra ``cli``): the PIN lifecycle of Kamu SM cards from a terminal.

::

    kamusm tokens [--json]             every card, its PIN state and holder
    kamusm certs [--json]              the certificates on a card
    kamusm doctor [--portal URL]       checks, each problem with its fix
    kamusm change-pin                  change a PIN you know
    kamusm reset-pin --portal URL      the guided reset through the portal
    kamusm sandbox serve|provision     the local portal for training and tests
    kamusm demo                        the whole reset, unattended, on SoftHSM2

Every command takes ``--lang tr|en`` (Turkish by default, or ``KAMUSM_LANG``), ``--module
PATH`` (the PKCS#11 module) and ``--debug`` (tracebacks and debug log records; secrets are
never logged). PINs are asked without echo and are never accepted as command-line arguments
or environment variables; ``change-pin --pin-stdin`` reads them from standard input for
scripts.

Exit codes (``kamusm --help`` prints them too):

====  ===================================================================
0     success
1     unexpected error
2     wrong usage (unknown option, no terminal for an interactive command, no PIN lines)
3     input rejected
4     setup missing: no loadable PKCS#11 module, SoftHSM2, an extra package
5     card problem: none (tokens and certs too), several, removed, held elsewhere
6     PIN locked: use ``kamusm reset-pin``
7     wrong PIN
8     portal unreachable (connection, TLS, timeout)
9     portal refused
10    cancelled; the card is unchanged
11    time ran out (verification code, SMS code or PIN entry)
12    the PIN operation failed
13    ``kamusm doctor`` found problems
14    ``kamusm sign-pdf`` signed nothing (the document refused it, no timestamp server)
130   interrupted by Ctrl-C (at a question too: the card is unchanged)
====  ===================================================================

Every failure is one line on stderr (a traceback only with ``--debug``).

This private package is the only part of kamusm that imports click and rich, and it imports
them only where they are used: ``kamusm tokens`` runs without either, so that scripts can call
it in a loop.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_VALUE_OPTIONS = ("--module", "--lang")


def _fast_tokens(args: Sequence[str]) -> dict[str, str | bool] | None:
    """The options of a plain ``kamusm [opts] tokens [opts]`` call, or ``None`` for anything
    else (help, other commands, unknown options), which click handles."""
    found: dict[str, str | bool] = {}
    command = False
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg == "tokens" and not command:
            command = True
        elif arg == "--debug" or (arg == "--json" and command):
            found[arg] = True
        elif name in _VALUE_OPTIONS and eq:
            found[name] = value
        elif arg in _VALUE_OPTIONS and i + 1 < len(args):
            found[arg] = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    if not command or found.get("--lang", "tr") not in ("tr", "en"):
        return None
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    fast = _fast_tokens(args)
    if fast is not None:
        from kamusm._cli._common import (  # noqa: PLC0415 (kept out of import kamusm._cli)
            Settings,
            resolve_lang,
            run_guarded,
            setup_logging,
        )
        from kamusm._cli._inventory import tokens_command  # noqa: PLC0415

        module = fast.get("--module")
        lang = fast.get("--lang")
        settings = Settings(
            lang=resolve_lang(lang if isinstance(lang, str) else None),
            module=module if isinstance(module, str) else None,
            debug=bool(fast.get("--debug")),
        )
        setup_logging(settings.debug)
        return run_guarded(
            lambda: tokens_command(settings, as_json=bool(fast.get("--json"))), settings
        )
    try:
        from kamusm._cli._app import run  # noqa: PLC0415 (click only for the other commands)
    except ModuleNotFoundError as missing:
        return _without_the_cli_extra(missing)
    return run(args)


def _without_the_cli_extra(missing: ModuleNotFoundError) -> int:
    """Installed without the ``cli`` extra (click, rich): one line saying what to install,
    exit 4. ``kamusm tokens`` alone works without it."""
    package = (missing.name or "").partition(".")[0]
    if package not in ("click", "rich"):
        raise missing
    from kamusm._cli._common import error_line, resolve_lang  # noqa: PLC0415
    from kamusm._cli._exit import ExitCode  # noqa: PLC0415
    from kamusm._cli._texts import text  # noqa: PLC0415

    lang = resolve_lang(None)  # no click to read --lang with: KAMUSM_LANG or Turkish
    error_line(text("cli.missing_dependency", lang, package=package, extra="cli"), lang)
    return ExitCode.SETUP
