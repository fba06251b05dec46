"""``kamusm certs`` and ``kamusm doctor``: read, then draw with rich (or write JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from kamusm._cli._common import Settings, date_text, printable
from kamusm._cli._doctor import run_checks
from kamusm._cli._exit import ExitCode
from kamusm._cli._inventory import (
    CardRead,
    certs_json,
    open_module,
    pin_state,
    read_cards,
    write_json,
)
from kamusm._cli._prompts import make_console
from kamusm._cli._texts import one_or_many, text
from kamusm.errors import TokenNotFoundError
from kamusm.messages import Language
from kamusm.values import SystemClock

if TYPE_CHECKING:
    from rich.console import Console


def certs_command(
    settings: Settings,
    *,
    serial: str | None,
    label: str | None,
    as_json: bool,
    holder: str | None = None,
) -> int:
    """``kamusm certs``: the certificates of every card, or of the one named; exit 5 when there
    is none."""
    lang = settings.lang
    cards = read_cards(open_module(settings), serial=serial, label=label, holder=holder)
    now = SystemClock().now()
    if as_json:
        write_json({"cards": certs_json(cards, now, lang)})
        return ExitCode.OK if cards else ExitCode.CARD
    if not cards:
        raise TokenNotFoundError()  # exit 5, as for tokens
    console = make_console()
    for card in cards:
        _draw_card(console, card, lang, now)
    return ExitCode.OK


def _draw_card(console: Console, card: CardRead, lang: Language, now: datetime) -> None:
    from rich.table import Table  # noqa: PLC0415 (rich only when drawing)

    title = text("cli.certs.title", lang, label=card.info.label, serial=card.info.serial)
    state = pin_state(card.info.pin_status, lang)
    console.print(printable(f"{title} · {text('cli.col.pin', lang)}: {state}"), style="bold")
    if card.problem is not None:
        console.print("✗ " + printable(card.problem.message(lang)), style="red")
        return
    if not card.certificates and not card.unreadable:
        console.print(text("cli.certs.none", lang))
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("kind", "holder", "cert_serial", "expiry", "days_left", "qualified"):
        table.add_column(text(f"cli.col.{column}", lang))
    for cert in sorted(card.certificates, key=lambda c: c.not_after):
        days = cert.days_left(now)
        expired = now > cert.not_after
        days_text = text("cli.certs.expired", lang) if expired else str(days)
        style = "red" if expired else ("yellow" if days <= 30 else None)
        holder = cert.holder_name or "-"
        if cert.tckn is not None:
            holder = f"{holder} ({cert.tckn.masked})"
        cells = (
            cert.kind.display(lang),
            holder,
            cert.serial_hex,
            date_text(cert.not_after, lang),
            days_text,
            text("cli.yes" if cert.is_qualified else "cli.no", lang),
        )
        table.add_row(*(printable(cell) for cell in cells), style=style)
    for unreadable in card.unreadable:
        shown = printable(text("cli.certs.unreadable", lang, label=unreadable))
        table.add_row(shown, "", "", "", "", "")
    console.print(table)
    console.print()


_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def doctor_command(
    settings: Settings,
    *,
    portal: str | None,
    ca_bundle: str | None,
    as_json: bool,
    serial: str | None = None,
    label: str | None = None,
) -> int:
    """``kamusm doctor``: exit 13 when it found a problem (a check that failed or warns: each
    comes with its fix)."""
    lang = settings.lang
    checks = run_checks(
        settings,
        portal_url=portal,
        ca_bundle=ca_bundle,
        now=SystemClock().now(),
        serial=serial,
        label=label,
        personal=not as_json,  # the JSON report is for a help desk: no holder's name in it
    )
    problems = sum(1 for c in checks if c.status in ("warn", "fail"))
    if as_json:
        from kamusm._cli._report import doctor_report  # noqa: PLC0415

        report = doctor_report(settings, now=SystemClock().now(), serial=serial, label=label)
        write_json({"ok": problems == 0, "checks": [c.as_json() for c in checks], "report": report})
    else:
        console = make_console()
        console.print(text("cli.doctor.title", lang), style="bold")
        for check in checks:
            word = text(f"cli.doctor.{check.status}", lang)
            console.print(f"[{word:^7}] ", style=_STYLES[check.status], end="")
            console.print(printable(check.message))
            if check.fix and check.status in ("warn", "fail"):
                console.print(printable("          " + text("cli.doctor.fix", lang, fix=check.fix)))
        if problems:
            console.print(
                text(one_or_many("cli.doctor.summary.problems", problems), lang, count=problems),
                style="bold",
            )
        else:
            console.print(text("cli.doctor.summary.ok", lang), style="bold green")
    return ExitCode.CHECKS_FAILED if problems else ExitCode.OK
