"""``kamusm sign-pdf IN OUT``: a help desk's test signature through the guarded session.

The readiness check first (no PIN asked on a card that cannot sign, a locked card sent to the
reset of its product), the final-try agreement asked in words as ``change-pin`` asks it, the
hidden PIN, the signature (:mod:`kamusm.signing`, extra ``pdf``), then the result validated
with pyHanko's validator and summarised."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from kamusm._cli._common import Settings, no_core_dumps
from kamusm._cli._exit import CommandError, ExitCode, StopWith
from kamusm._cli._inventory import open_module
from kamusm._cli._pin import choose_token
from kamusm._cli._prompts import TerminalChangePrompts, Ui
from kamusm._cli._terminal import is_terminal
from kamusm._cli._texts import text
from kamusm.errors import FlowCancelledError, NotReadyToSignError, PinLockedError
from kamusm.values import Pin


def _read_pin(ui: Ui, pin_stdin: bool) -> Pin:
    if pin_stdin:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line.strip():
            raise CommandError("cli.sign.stdin", ExitCode.USAGE)
        return Pin(line.strip())
    answer = ui.ask(text("cli.sign.pin", ui.lang), hidden=True)
    if answer is None:
        raise FlowCancelledError()
    return Pin(answer)


def _write(target: Path, data: bytes) -> None:
    """Write next to the target, then rename: a failed run leaves no half-written PDF."""
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".kamusm-", suffix=".pdf")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except OSError:
        raise CommandError("cli.sign.cannot_write", ExitCode.USAGE) from None


def sign_pdf_command(
    settings: Settings,
    *,
    source: str,
    target: str,
    serial: str | None,
    label: str | None,
    pin_stdin: bool,
    timestamp_url: str | None,
    trust: str | None,
    field: str | None = None,
) -> int:
    from kamusm.signing import (  # noqa: PLC0415 (extra pdf)
        check_pdf,
        load_certificates,
        sign_pdf,
        validate_pdf,
    )

    lang = settings.lang
    if not pin_stdin and not is_terminal(sys.stdin):
        raise CommandError("cli.needs_terminal.pin_stdin", ExitCode.USAGE)
    try:
        document = Path(source).read_bytes()
        trust_file = Path(trust).read_bytes() if trust else None
    except OSError:
        raise CommandError("cli.sign.cannot_read", ExitCode.USAGE) from None
    # Everything that can fail without the card is found before the PIN is asked: a file
    # that is no PDF, an unreadable certificate file (NotAPdfError, CertificateFileError).
    check_pdf(document)
    roots = load_certificates(trust_file) if trust_file is not None else []
    no_core_dumps()  # before the PIN is read
    module = open_module(settings)
    ui = Ui(lang)
    token = choose_token(module, None if pin_stdin else ui, serial=serial, label=label)
    ready = token.readiness()
    ui.say(ready.message(lang))
    if not ready.may_sign_after_acknowledgement:
        ui.note(ready.next_step(lang))
        if ready.pin_status.locked:
            raise StopWith(PinLockedError(product=ready.product))
        raise StopWith(NotReadyToSignError(readiness=ready))
    agreed = False
    if ready.needs_acknowledgement:
        if pin_stdin:
            raise CommandError("cli.sign.final_try_script", ExitCode.CANCELLED)
        agreed = TerminalChangePrompts(ui).acknowledge_final_try()
        if not agreed:
            raise FlowCancelledError()
    pin = _read_pin(ui, pin_stdin)
    # The CA certificates the card carries travel in the signature (sign_pdf's default), so
    # a validator can build the path to its root.
    with token.signing_session(pin, acknowledge_final_try=agreed, product=ready.product) as session:
        del pin
        signed = sign_pdf(session, document, timestamp_url=timestamp_url, field_name=field)
    for report in validate_pdf(signed, trust_roots=roots):
        verdict = "cli.sign.valid" if report.intact and report.valid else "cli.sign.invalid"
        ui.say(text(verdict, lang, holder=report.holder_name or "-", field=report.field_name))
        if not report.chain_checked:
            ui.say(text("cli.sign.chain_not_checked", lang))
        else:
            ui.say(text("cli.sign.trusted" if report.trusted else "cli.sign.untrusted", lang))
        if report.timestamped:
            ui.say(text("cli.sign.timestamped", lang))
    _write(Path(target), signed)  # only a signature that was validated and summed up
    ui.success(text("cli.sign.done", lang, path=target))
    return ExitCode.OK
