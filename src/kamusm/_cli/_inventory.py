"""``kamusm tokens`` and what ``certs`` and ``doctor`` read: every card with its PIN state, its
holder and its certificates. Plain text and JSON only (no click, no rich), so that ``kamusm
tokens`` starts fast enough to be called in a loop."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kamusm._cli._common import Settings, printable
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._texts import text
from kamusm.errors import KamusmError, TokenError, TokenNotFoundError
from kamusm.messages import Language
from kamusm.values import PinStatus

if TYPE_CHECKING:
    from kamusm.certs import CardSummary, CertificateInfo
    from kamusm.readiness import Readiness
    from kamusm.token import Pkcs11Module, TokenInfo


class CardRead:
    """One card as read for a listing: its token info and what its certificates say.

    A plain class, not attrs: ``kamusm tokens`` pays for every class it builds at start-up.
    """

    __slots__ = ("_readiness", "_summary", "certificates", "info", "problem", "unreadable")

    def __init__(
        self,
        info: TokenInfo,
        certificates: tuple[CertificateInfo, ...] = (),
        unreadable: tuple[str, ...] = (),
        problem: KamusmError | None = None,
    ) -> None:
        self.info = info
        self.certificates = certificates
        #: Labels of certificate objects that are not readable certificates.
        self.unreadable = unreadable
        #: Why the certificates could not be read at all (card busy, removed, ...).
        self.problem = problem

    @property
    def summary(self) -> CardSummary | None:
        """The holder's summary, built once on first use."""
        if not hasattr(self, "_summary"):
            from kamusm.certs import CardSummary  # noqa: PLC0415 (asn1crypto only when reading)

            certs = self.certificates
            self._summary = CardSummary.from_certificates(certs) if certs else None
        return self._summary

    @property
    def readiness(self) -> Readiness | None:
        """Whether the card may sign now (:mod:`kamusm.readiness`), from what was read; ``None``
        when its certificates could not be read."""
        if not hasattr(self, "_readiness"):
            from kamusm.readiness import assess  # noqa: PLC0415
            from kamusm.values import SystemClock  # noqa: PLC0415

            self._readiness = (
                None
                if self.problem is not None
                else assess(self.info.pin_status, self.certificates, SystemClock().now())
            )
        return self._readiness

    def name(self, lang: Language) -> str:
        """How the card is named in messages: the holder with the masked T.C. Kimlik No when
        the certificates tell, else label and serial."""
        summary = self.summary
        if summary is not None and summary.holder_name:
            return holder_text(summary)
        return text("cli.card", lang, label=self.info.label, serial=self.info.serial)


def open_module(settings: Settings) -> Pkcs11Module:
    from kamusm.token import Pkcs11Module  # noqa: PLC0415 (pkcs11 only when a card is needed)

    return Pkcs11Module.open(settings.module)


def read_cards(
    module: Pkcs11Module,
    *,
    serial: str | None = None,
    label: str | None = None,
    holder: str | None = None,
) -> list[CardRead]:
    """Every card (or the ones with this serial/label, and whose holder's name holds
    ``holder``, compared by Turkish case rules) and its certificates, read without a PIN. A
    card whose certificates cannot be read is listed with the reason (and is left out when a
    holder is asked for: it cannot say whose it is)."""
    from kamusm.certs import read_certificates  # noqa: PLC0415
    from kamusm.token import Token  # noqa: PLC0415

    infos = [
        info
        for info in module.tokens()
        if (serial is None or info.serial == serial) and (label is None or info.label == label)
    ]
    if not infos and (serial is not None or label is not None):
        raise TokenNotFoundError()
    cards = []
    for info in infos:
        try:
            objects = Token(module, info).certificate_objects()
        except TokenError as err:
            cards.append(CardRead(info, problem=err))
            continue
        parsed, unreadable = read_certificates(objects)
        cards.append(CardRead(info, tuple(parsed), tuple(unreadable)))
    if holder is None:
        return cards
    from kamusm.values import holder_matches  # noqa: PLC0415

    mine = [
        c for c in cards if c.summary is not None and holder_matches(c.summary.holder_name, holder)
    ]
    if not mine:  # cards are inserted, just none of that holder: say so, not "no card"
        raise CommandError("cli.no_card_of_holder.none", ExitCode.CARD, holder=holder)
    return mine


# ---- words ----------------------------------------------------------------------------------


def pin_state(status: PinStatus, lang: Language) -> str:
    """``tamam``, ``son deneme``, ``kilitli``, ...: the PIN state in one or two words."""
    return text(f"cli.pin.{status.summary}", lang)


def holder_text(summary: CardSummary | None) -> str:
    """``NAME (100******46)``, or ``-`` when the card does not say."""
    if summary is None or not (summary.holder_name or summary.masked_tckn):
        return "-"
    name = summary.holder_name or "-"
    return f"{name} ({summary.masked_tckn})" if summary.masked_tckn else name


def products_text(summary: CardSummary | None, lang: Language) -> str:
    if summary is None or not summary.products:
        return "-"
    return ", ".join(p.display(lang) for p in summary.products)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; no trailing blanks."""
    lines = [list(headers), *([printable(cell) for cell in r] for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


#: The version of every ``--json`` output's layout (``schema_version``, docs/cli.md): raised
#: when a field changes meaning or goes away; new fields may come without a new version.
JSON_SCHEMA_VERSION = 1


def write_json(body: dict[str, Any]) -> None:
    """Write one ``--json`` answer: an object with ``schema_version`` first, then ``body``."""
    import json  # noqa: PLC0415 (only --json needs it)

    answer = {"schema_version": JSON_SCHEMA_VERSION, **body}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")


# ---- kamusm tokens --------------------------------------------------------------------------


def token_json(card: CardRead, lang: Language) -> dict[str, Any]:
    """One card for ``kamusm tokens --json`` (the T.C. Kimlik No masked; no secret exists to
    leak: nothing here was read with a PIN)."""
    info, summary = card.info, card.summary
    status = info.pin_status
    return {
        "serial": info.serial,
        "label": info.label,
        "manufacturer": info.manufacturer,
        "model": info.model,
        "slot_id": info.slot_id,
        "pin_status": status.summary,
        "pin": {
            "initialized": status.initialized,
            "count_low": status.count_low,
            "final_try": status.final_try,
            "locked": status.locked,
            "to_be_changed": status.to_be_changed,
        },
        "min_pin_length": info.min_pin_length,
        "max_pin_length": info.max_pin_length,
        "holder": None
        if summary is None
        else {"name": summary.holder_name, "tckn_masked": summary.masked_tckn},
        "products": [] if summary is None else [p.value for p in summary.products],
        "certificates": len(card.certificates),
        "problem": None if card.problem is None else card.problem.message(lang),
        "readiness": None if card.readiness is None else card.readiness.as_json(lang),
    }


def tokens_command(settings: Settings, *, as_json: bool) -> int:
    """``kamusm tokens``: every card, its PIN state and its holder; exit 5 when there is none
    (with ``--json`` the empty listing is written first)."""
    lang = settings.lang
    module = open_module(settings)
    cards = read_cards(module)
    # The reader of each card, where the module names it in the slot description (extra pcsc).
    from kamusm._cli._readers import readers_for_cards  # noqa: PLC0415

    readers = readers_for_cards(module.path, [card.info.slot_description for card in cards])
    if as_json:
        listing = [
            {**token_json(card, lang), "reader": reader}
            for card, reader in zip(cards, readers, strict=True)
        ]
        write_json({"cards": listing})
        return ExitCode.OK if cards else ExitCode.CARD
    if not cards:
        raise TokenNotFoundError()  # exit 5: a script can tell "no card" from an empty list
    columns = ["serial", "label", "pin", "holder", "products", "signing"]
    if any(readers):
        columns.append("reader")
    headers = [text(f"cli.col.{c}", lang) for c in columns]
    rows = []
    for card, reader in zip(cards, readers, strict=True):
        summary = card.summary
        holder = holder_text(summary) if card.problem is None else card.problem.message(lang)
        rows.append(
            [
                card.info.serial,
                card.info.label,
                pin_state(card.info.pin_status, lang),
                holder,
                products_text(summary, lang),
                "-" if card.readiness is None else card.readiness.state.short(lang),
                *([reader or "-"] if any(readers) else []),
            ]
        )
    sys.stdout.write(format_table(headers, rows) + "\n")
    return ExitCode.OK


# ---- kamusm certs (data; the table is drawn with rich in _app) --------------------------------


def certificate_json(cert: CertificateInfo, now: datetime, lang: Language) -> dict[str, Any]:
    return {
        "label": cert.label,
        "kind": cert.kind.value,
        "kind_text": cert.kind.display(lang),
        "holder": cert.holder_name,
        "tckn_masked": None if cert.tckn is None else cert.tckn.masked,
        "serial_number": cert.serial_hex,
        "issuer": cert.issuer_common_name,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "days_left": cert.days_left(now),
        "expired": not cert.is_valid_at(now) and now > cert.not_after,
        "qualified": cert.is_qualified,
        "product": None if cert.product is None else cert.product.value,
        "can_sign": cert.can_sign,
        "fingerprint_sha256": cert.fingerprint_sha256,
    }


def certs_json(cards: Sequence[CardRead], now: datetime, lang: Language) -> list[dict[str, Any]]:
    return [
        {
            "serial": card.info.serial,
            "label": card.info.label,
            "certificates": [certificate_json(c, now, lang) for c in card.certificates],
            "unreadable": list(card.unreadable),
            "problem": None if card.problem is None else card.problem.message(lang),
        }
        for card in cards
    ]
