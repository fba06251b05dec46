"""The report ``kamusm doctor --json`` writes for a help desk: what the PKCS#11 module, its
slots and tokens, the readers and the certificates say, with nothing secret or personal in it.

In it: the module (path, description, versions, architecture), each slot's and token's
information, flags and mechanisms, the readers and their cards' ATRs, each card's PIN state
(flags only) and each certificate's kind and expiry, with the T.C. Kimlik No masked. Not in it:
any PIN (none is asked), holder names, certificate serial numbers or fingerprints, the
certificates themselves. With a real AKİS card, this is how the project learns what the card
really does.
"""

from __future__ import annotations

import platform
import sys
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from kamusm._cli._common import Settings
from kamusm._cli._readers import pcsc_installed, probe_readers, reader_json
from kamusm._cli._texts import text
from kamusm.errors import KamusmError, ReaderServiceError, TokenNotFoundError


def _kamusm_version() -> str:
    try:
        return version("kamusm")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def doctor_report(
    settings: Settings,
    *,
    now: datetime,
    serial: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """The report (for every card, or the one with this serial/label); a part that cannot be
    read says why instead of failing the whole."""
    lang = settings.lang
    report: dict[str, Any] = {
        "kamusm": _kamusm_version(),
        "generated_at": now.isoformat(),
        "system": {
            "os": sys.platform,
            "release": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "module": None,
        "module_error": None,
        "cards": [],
        "readers": [],
        "readers_error": None,
    }
    readers = None
    if pcsc_installed():
        try:
            readers = probe_readers()
            report["readers"] = [reader_json(r, lang) for r in readers]
        except ReaderServiceError as err:
            report["readers_error"] = err.message(lang)
    else:
        report["readers_error"] = text("cli.readers.no_extra", lang)
    try:
        from kamusm._cli._inventory import open_module, read_cards  # noqa: PLC0415

        module = open_module(settings)
        report["module"] = module.report()
        try:
            cards = read_cards(module, serial=serial, label=label)
        except TokenNotFoundError:
            cards = []  # the doctor's checks say so
    except KamusmError as err:
        report["module_error"] = err.message(lang)
        return report
    from kamusm._cli._readers import readers_for_cards  # noqa: PLC0415

    slots = report["module"]["slots"]
    names = (
        readers_for_cards(module.path, [s["description"] for s in slots], readers=readers)
        if readers is not None
        else [None] * len(slots)
    )
    for slot, name in zip(slots, names, strict=True):
        slot["reader"] = name
    for card in cards:
        info = card.info
        reader = next((s["reader"] for s in slots if s["slot_id"] == info.slot_id), None)
        report["cards"].append(
            {
                "slot_id": info.slot_id,
                "slot_description": info.slot_description,
                "reader": reader,
                "label": info.label,
                "serial": info.serial,
                "pin_status": info.pin_status.summary,
                "min_pin_length": info.min_pin_length,
                "max_pin_length": info.max_pin_length,
                "problem": None if card.problem is None else card.problem.message(lang),
                "unreadable_certificates": len(card.unreadable),
                "certificates": [
                    {
                        "kind": cert.kind.value,
                        "product": None if cert.product is None else cert.product.value,
                        "qualified": cert.is_qualified,
                        "not_before": cert.not_before.isoformat(),
                        "not_after": cert.not_after.isoformat(),
                        "days_left": cert.days_left(now),
                        "expired": now > cert.not_after,
                        "is_ca": cert.is_ca,
                        "tckn_masked": None if cert.tckn is None else cert.tckn.masked,
                    }
                    for cert in sorted(card.certificates, key=lambda c: c.not_after)
                ],
            }
        )
    return report
