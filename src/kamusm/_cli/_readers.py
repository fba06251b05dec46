"""The card readers on the command line (extra ``pcsc``): ``kamusm readers [--json]``, the
reader part of ``kamusm doctor``, the reader of each card in ``kamusm tokens``, and waiting for
a card in ``change-pin`` and ``reset-pin``.

Everything here works without the extra: the commands then say what installing
``kamusm[pcsc]`` would add, and the PKCS#11 features are as they were. No click, no rich:
``kamusm tokens`` imports this module too.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from kamusm._cli._common import Settings
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._texts import one_or_many, text
from kamusm.errors import ReaderServiceError, TokenNotFoundError
from kamusm.messages import Language

if TYPE_CHECKING:
    from kamusm._cli._doctor import Check, Status
    from kamusm.pcsc import Reader, ReaderMonitor
    from kamusm.token import Pkcs11Module

_SOFTWARE_TOKENS = ("softhsm", "opencryptoki")


def pcsc_installed() -> bool:
    """Whether the ``pcsc`` extra (pyscard) is installed."""
    try:
        return importlib.util.find_spec("smartcard") is not None
    except (ImportError, ValueError):
        return False


def probe_readers() -> list[Reader]:
    """Every reader, as :func:`kamusm.pcsc.probe` sees it (the card untouched)."""
    from kamusm.pcsc import probe  # noqa: PLC0415 (pyscard only when readers are asked for)

    return probe()


def reader_json(reader: Reader, lang: Language) -> dict[str, Any]:
    """One reader for ``--json``: nothing personal, the ATR names the card's kind only."""
    identity = reader.identity
    return {
        "name": reader.name,
        "card_present": reader.card_present,
        "atr": reader.atr_hex or None,
        "akis": reader.is_akis if reader.card_present else None,
        "family": None if identity is None else identity.family.value,
        "family_text": None if identity is None else identity.family.display(lang),
        "known_atr": None if identity is None else identity.known,
        "atr_note": None if identity is None else identity.note or None,
        "busy": reader.busy,
        "in_use": reader.in_use,
        "mute": reader.mute,
        "programs": None if reader.programs is None else [str(p) for p in reader.programs],
    }


def _card_text(reader: Reader, lang: Language) -> str:
    if not reader.card_present:
        return text("cli.readers.no_card", lang)
    if reader.identity is None:
        return "-"
    return reader.identity.family.display(lang)


def _state_text(reader: Reader, lang: Language) -> str:
    if reader.busy:
        return text("cli.readers.state.busy", lang)
    if reader.mute:
        return text("cli.readers.state.mute", lang)
    if reader.card_present:
        return text("cli.readers.state.ready", lang)
    return "-"


def readers_command(settings: Settings, *, as_json: bool) -> int:
    """``kamusm readers``: every reader, a card in it or not, its ATR and kind, held by
    another program or not."""
    from kamusm._cli._inventory import format_table, write_json  # noqa: PLC0415

    lang = settings.lang
    if not pcsc_installed():
        raise CommandError("cli.readers.no_extra", ExitCode.SETUP)
    readers = probe_readers()
    if as_json:
        write_json({"readers": [reader_json(r, lang) for r in readers]})
        return ExitCode.OK
    if not readers:
        sys.stdout.write(text("cli.readers.none", lang) + "\n")
        return ExitCode.OK
    headers = [text(f"cli.readers.col.{c}", lang) for c in ("reader", "card", "atr", "state")]
    rows = [[r.name, _card_text(r, lang), r.atr_hex or "-", _state_text(r, lang)] for r in readers]
    sys.stdout.write(format_table(headers, rows) + "\n")
    for reader in readers:
        if reader.busy:
            sys.stdout.write(reader.busy_error().message(lang) + "\n")
    return ExitCode.OK


# ---- doctor ---------------------------------------------------------------------------------


def _software_module(module_path: str | None) -> bool:
    name = os.path.basename(module_path or "").lower()
    return any(s in name for s in _SOFTWARE_TOKENS)


def reader_checks(lang: Language, module_path: str | None) -> list[Check]:
    """The doctor's reader section: the smart-card service, the readers, a card in each, its
    kind, and a card held by another program, each problem with its fix. With a software
    token (SoftHSM2, opencryptoki) as the module, a missing service, reader or card is no
    problem for it: those are reported as skipped; a card held by another program always is
    one."""
    from kamusm._cli._doctor import Check  # noqa: PLC0415 (the doctor imports this module)

    if not pcsc_installed():
        return [Check("readers", "skip", text("cli.doctor.readers.no_extra", lang))]
    from kamusm.pcsc import service_name  # noqa: PLC0415

    hardware = not _software_module(module_path)
    missing: Status = "fail" if hardware else "skip"
    try:
        readers = probe_readers()
    except ReaderServiceError as err:
        fix = text(f"cli.doctor.readers.service.fix.{_service_key()}", lang)
        return [Check("reader-service", missing, err.message(lang), fix if hardware else None)]
    checks = [
        Check(
            "reader-service",
            "ok",
            text("cli.doctor.readers.service.ok", lang, service=service_name()),
        )
    ]
    if not readers:
        none_fix = text("cli.doctor.readers.none.fix", lang) if hardware else None
        checks.append(Check("readers", missing, text("cli.doctor.readers.none", lang), none_fix))
        return checks
    names = ", ".join(r.name for r in readers)
    checks.append(
        Check(
            "readers",
            "ok",
            text(
                one_or_many("cli.doctor.readers.ok", len(readers)),
                lang,
                count=len(readers),
                names=names,
            ),
        )
    )
    for reader in readers:
        checks.append(_reader_check(reader, lang, hardware=hardware))
    return checks


def _service_key() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "pcscd"


def _reader_check(reader: Reader, lang: Language, *, hardware: bool) -> Check:
    from kamusm._cli._doctor import Check  # noqa: PLC0415

    name = f"reader:{reader.name}"
    if reader.busy:
        return Check(
            name,
            "fail",
            text("cli.doctor.reader.busy", lang, reader=reader.name)
            + " "
            + reader.busy_error().message(lang),
            text("cli.doctor.reader.busy.fix", lang),
        )
    if not reader.card_present:
        status: Status = "warn" if hardware else "skip"
        fix = text("cli.doctor.reader.empty.fix", lang) if hardware else None
        return Check(name, status, text("cli.doctor.reader.empty", lang, reader=reader.name), fix)
    if reader.mute:
        return Check(
            name,
            "fail",
            text("cli.doctor.reader.mute", lang, reader=reader.name),
            text("cli.doctor.reader.mute.fix", lang),
        )
    if not reader.is_akis:
        unknown: Status = "warn" if hardware else "skip"
        return Check(
            name,
            unknown,
            text("cli.doctor.reader.not_akis", lang, reader=reader.name, atr=reader.atr_hex),
            text("cli.doctor.reader.not_akis.fix", lang) if hardware else None,
        )
    family = reader.identity.family.display(lang) if reader.identity else "-"
    return Check(
        name,
        "ok",
        text("cli.doctor.reader.akis", lang, reader=reader.name, family=family, atr=reader.atr_hex),
    )


# ---- tokens: the reader of each card ------------------------------------------------------


def readers_for_cards(
    module_path: str, descriptions: Sequence[str], *, readers: Sequence[Reader] | None = None
) -> list[str | None]:
    """For each slot description, the name of the reader it matches, or ``None`` (a software
    token when no readers are given, no extra, no service, no match or several). A software
    token (SoftHSM2, opencryptoki) has no reader: no reader is asked then, which keeps
    ``kamusm tokens`` fast."""
    nothing: list[str | None] = [None] * len(descriptions)
    if not any(descriptions) or not pcsc_installed():
        return nothing
    if readers is None:
        if _software_module(module_path):
            return nothing
        try:
            readers = probe_readers()
        except ReaderServiceError:
            return nothing
    from kamusm.pcsc import match_reader  # noqa: PLC0415

    found = [match_reader(d, readers) for d in descriptions]
    return [None if r is None else r.name for r in found]


# ---- waiting for a card --------------------------------------------------------------------


def busy_reader() -> Reader | None:
    """A reader whose card another program holds, if the extra can tell; else ``None``."""
    if not pcsc_installed():
        return None
    try:
        return next((r for r in probe_readers() if r.busy), None)
    except ReaderServiceError:
        return None


def wait_for_card(
    module: Pkcs11Module,
    lang: Language,
    *,
    timeout: float,
    serial: str | None = None,
    label: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Return once the PKCS#11 module lists a card (the one with this serial/label, if
    given); until then show "Kartınızı takınız" with the remaining time, for at most
    ``timeout`` seconds.

    With the ``pcsc`` extra the wait ends as soon as a reader reports a card (its insertion
    event); without it, or without the service, the module is asked again every second. A
    card another program holds is not waited for: it raises
    :class:`~kamusm.errors.CardBusyError` with its advice. When the time runs out: exit
    code 5, "Kart takılmadı".
    """
    stream = out if out is not None else sys.stderr

    def listed(*, rescan: bool = True) -> bool:
        # Started again first: some modules (SoftHSM2 among them) see a token inserted since
        # only then. Nothing of the module is open while waiting.
        if rescan:
            module.rescan()
        return any(
            (serial is None or info.serial == serial) and (label is None or info.label == label)
            for info in module.tokens()
        )

    if listed(rescan=False):
        return
    held = busy_reader()
    if held is not None:
        raise busy_reader_error(held)
    if timeout <= 0:
        raise TokenNotFoundError()
    monitor = _monitor()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stream.write("\n")
                raise CommandError("cli.wait.timeout", ExitCode.CARD)
            shown = text("cli.wait.insert", lang, seconds=math.ceil(left))
            stream.write("\r" + shown + " ")
            stream.flush()
            step = min(1.0, left)
            if monitor is not None:
                monitor.wait(step)
                held = next((r for r in monitor.readers() if r.busy), None)
                if held is not None:
                    stream.write("\n")
                    raise busy_reader_error(held)
            else:
                time.sleep(step)
            if listed():
                stream.write("\n")
                return
    finally:
        if monitor is not None:
            monitor.close()


def _monitor() -> ReaderMonitor | None:
    if not pcsc_installed():
        return None
    from kamusm.pcsc import ReaderMonitor  # noqa: PLC0415

    try:
        return ReaderMonitor()
    except ReaderServiceError:
        return None


def busy_reader_error(reader: Reader) -> Exception:
    """The busy error of ``reader``, with the programs where the system tells."""
    from kamusm.pcsc import probe  # noqa: PLC0415

    fresh = next((r for r in probe() if r.name == reader.name and r.busy), reader)
    return fresh.busy_error()
