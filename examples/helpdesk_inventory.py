"""A helpdesk inventory: every token and every certificate, with what needs attention.

Lists the tokens of one or more PKCS#11 modules with their PIN state, and each certificate with
its kind, holder, masked T.C. Kimlik No, serial and expiry. Flags locked PINs, PINs on their
final try, and certificates that have expired or expire within 30 days (``--days``). Prints a
table and, with ``--csv PATH``, writes the same rows as CSV. Reading spends no PIN try and needs
no PIN.

Run::

    python examples/helpdesk_inventory.py                         # the AKİS module, or SoftHSM2
    python examples/helpdesk_inventory.py --module /usr/lib/libakisp11.so --csv cards.csv

Exit status: 0 nothing needs attention, 3 something is flagged, 1 no module could be loaded.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, TextIO

import attrs

from kamusm import (
    CertificateInfo,
    KamusmError,
    Language,
    Pkcs11Module,
    SystemClock,
    TokenInfo,
)

EXIT_CLEAN: Final = 0
EXIT_ERROR: Final = 1
EXIT_ATTENTION: Final = 3

#: Flags, in the order they are shown.
PIN_LOCKED: Final = "PIN_LOCKED"
PIN_FINAL_TRY: Final = "PIN_FINAL_TRY"
CERT_EXPIRED: Final = "CERT_EXPIRED"
CERT_EXPIRING: Final = "CERT_EXPIRING"
UNREADABLE: Final = "UNREADABLE"

CSV_COLUMNS: Final = (
    "module",
    "token_label",
    "token_serial",
    "pin_state",
    "certificate_kind",
    "holder",
    "tckn",
    "certificate_serial",
    "qualified",
    "not_after",
    "days_left",
    "flags",
    "problem",
)


@attrs.frozen
class Row:
    """One line of the inventory: a certificate on a token, or a token without certificates."""

    module: str
    token_label: str
    token_serial: str
    pin_state: str
    certificate_kind: str = ""
    holder: str = ""
    tckn: str = ""
    """Masked (``100******46``): enough to find the person, not enough to misuse."""
    certificate_serial: str = ""
    qualified: str = ""
    not_after: str = ""
    days_left: str = ""
    flags: tuple[str, ...] = ()
    problem: str = ""
    """Why the token's certificates could not be read, in the holder's language."""

    def as_csv(self) -> dict[str, str]:
        values = attrs.asdict(self)
        values["flags"] = " ".join(self.flags)
        return values


def _pin_flags(info: TokenInfo) -> tuple[str, ...]:
    if info.pin_status.locked:
        return (PIN_LOCKED,)
    if info.pin_status.final_try:
        return (PIN_FINAL_TRY,)
    return ()


def _certificate_row(
    base: Row, cert: CertificateInfo, *, now: datetime, days: int, lang: Language
) -> Row:
    left = cert.days_left(now)
    flags = list(base.flags)
    if now > cert.not_after:
        flags.append(CERT_EXPIRED)
    elif left < days:
        flags.append(CERT_EXPIRING)
    return attrs.evolve(
        base,
        certificate_kind=cert.kind.display(lang),
        holder=cert.holder_name or "",
        tckn=cert.tckn.masked if cert.tckn is not None else "",
        certificate_serial=cert.serial_hex,
        qualified="yes" if cert.is_qualified else "no",
        not_after=cert.not_after.date().isoformat(),
        days_left=str(left),
        flags=tuple(flags),
    )


def inventory(
    modules: Iterable[Pkcs11Module], *, now: datetime, days: int = 30, lang: Language = "tr"
) -> list[Row]:
    """Every token of ``modules`` and every certificate on them, flagged. A token whose
    certificates cannot be read gets one ``UNREADABLE`` row; the others are still listed."""
    rows: list[Row] = []
    for module in modules:
        for info in module.tokens():
            base = Row(
                module=module.path,
                token_label=info.label,
                token_serial=info.serial,
                pin_state=info.pin_status.summary,
                flags=_pin_flags(info),
            )
            try:
                certs = module.token(serial=info.serial, label=info.label).certificates()
            except KamusmError as err:
                flags = (*base.flags, UNREADABLE)
                rows.append(attrs.evolve(base, flags=flags, problem=err.message(lang)))
                continue
            if not certs:
                rows.append(base)
            rows.extend(
                _certificate_row(base, cert, now=now, days=days, lang=lang) for cert in certs
            )
    return rows


_TABLE: Final = (
    ("token_label", "TOKEN"),
    ("token_serial", "SERIAL"),
    ("pin_state", "PIN"),
    ("certificate_kind", "CERTIFICATE"),
    ("holder", "HOLDER"),
    ("tckn", "T.C. KİMLİK NO"),
    ("not_after", "VALID UNTIL"),
    ("days_left", "DAYS"),
    ("flags", "ATTENTION"),
)


def print_table(rows: Sequence[Row], out: TextIO) -> None:
    """A plain fixed-width table (no colours: it is pasted into tickets)."""
    cells = [[h for _, h in _TABLE]] + [[row.as_csv()[k] for k, _ in _TABLE] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_TABLE))]
    for line in cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(), file=out)


def write_csv(rows: Sequence[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(row.as_csv() for row in rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="List every token and certificate; flag locked PINs and expiring certificates."
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="a PKCS#11 module; repeat for several (default: KAMUSM_PKCS11_MODULE, AKİS, ...)",
    )
    parser.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    parser.add_argument(
        "--days", type=int, default=30, help="flag certificates expiring within this many days"
    )
    parser.add_argument("--lang", choices=["tr", "en"], default="tr")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the inventory; return the exit status (see the module docstring)."""
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    lang: Language = args.lang
    try:
        modules = [Pkcs11Module.open(path) for path in args.module or [None]]
        rows = inventory(modules, now=SystemClock().now(), days=args.days, lang=lang)
    except KamusmError as err:
        print(err.message(lang), file=out)
        return EXIT_ERROR
    print_table(rows, out)
    flagged = [row for row in rows if row.flags]
    tokens = {(row.module, row.token_serial, row.token_label) for row in rows}
    print(
        f"\n{len(tokens)} token(s), {sum(1 for r in rows if r.certificate_serial)} "
        f"certificate(s), {len(flagged)} row(s) need attention",
        file=out,
    )
    if args.csv is not None:
        write_csv(rows, args.csv)
        print(f"CSV written to {args.csv}", file=out)
    return EXIT_ATTENTION if flagged else EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
