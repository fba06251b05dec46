"""What a card's ATR says: an AKİS card or not, and which family. Pure: no I/O, no pyscard.

The ATR (Answer To Reset, ISO/IEC 7816-3) is what a card says first; the PC/SC service keeps
it, so reading it costs the card nothing. Its *historical bytes* carry the maker's marks.
AKİS cards (TÜBİTAK BİLGEM, formerly UEKAE) are known three ways, in this order:

1. the exact ATR is one of :data:`KNOWN_AKIS_ATRS` (the list TÜBİTAK's own MA3 API carries,
   with the chip or version it notes for some of them);
2. the historical bytes match one of the family patterns of the same API (the older cards
   write ``UEKAE`` there, the newer ``TC``; a third pattern is noted there as "V3 SAHA");
3. the ATR holds the text ``UEKAE`` (or ``uekae``) anywhere.

A card that passes none is not an AKİS card as far as the ATR tells: another signature card,
a bank card, an identity card. The ATR cannot prove a card genuine; it only names what the
card says it is.

::

    identity = identify(bytes.fromhex("3B9F968131FE45806755454B41451261318073B3A18099"))
    identity.is_akis, identity.family, identity.known   # True, CardFamily.AKIS_UEKAE, True
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

import attrs

from kamusm.messages import DEFAULT_LANGUAGE, Language, text

__all__ = [
    "KNOWN_AKIS_ATRS",
    "AtrError",
    "CardFamily",
    "CardIdentity",
    "historical_bytes",
    "identify",
]


class AtrError(ValueError):
    """Bytes that are not an ATR (ISO/IEC 7816-3): too short, a wrong first byte, or fewer
    bytes than the format bytes announce."""


class CardFamily(enum.Enum):
    """The kind of card an ATR names."""

    #: The first AKİS cards: "UEKAE V1.0" in the historical bytes.
    AKIS_V1 = "akis_v1"
    #: AKİS cards whose historical bytes start ``80 67 "UEKAE"`` (the older family).
    AKIS_UEKAE = "akis_uekae"
    #: AKİS cards whose historical bytes start ``80 65 "TC"`` (the newer family, 2020 and on).
    AKIS_TC = "akis_tc"
    #: The pattern the MA3 API notes as "V3 SAHA" (historical bytes ``80 66 68 32``).
    AKIS_V3 = "akis_v3"
    #: "UEKAE" somewhere in the ATR, but in no known layout: an AKİS card of an unlisted kind.
    AKIS_OTHER = "akis_other"
    #: Not an AKİS card as far as the ATR tells.
    OTHER = "other"

    @property
    def is_akis(self) -> bool:
        return self is not CardFamily.OTHER

    def display(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The family in words: ``AKİS (yeni seri, "TC")``."""
        return text(f"atr.family.{self.value}", lang)


#: The AKİS ATRs TÜBİTAK's MA3 API lists, upper-case hex, with its note where it has one.
KNOWN_AKIS_ATRS: Final[Mapping[str, str]] = {
    "3BBA11008131FE4D55454B41452056312E30AE": "AKİS v1.0",
    "3B9F968131FE45806755454B41451112318073B3A180E9": "",
    "3B9F968131FE45806755454B41451212318073B3A180EA": "",
    "3B9F968131FE45806755454B41451213318073B3A180EB": "",
    "3B9F968131FE45806755454B41451252318073B3A180AA": "",
    "3B9F968131FE45806755454B41451253318073B3A180AB": "",
    "3B9F158131FE45806755454B41451221318073B3A1805A": "",
    "3B9F968131FE45806755454B41451221318073B3A180D9": "",
    "3B9F138131FE45806755454B41451221318073B3A1805C": "",
    "3B9F138131FE45806755454B41451261318073B3A1801C": "",
    "3B9F158131FE45806755454B41451261318073B3A1801A": "",
    "3B9F968131FE45806755454B41451261318073B3A18099": "",
    "3B9F968131FE458065544320201231C073F621808105B3": "",
    "3B9F968131FE45806755454B41451292318073B3A1806A": "",
    "3B9F968131FE45806755454B41451293318073B3A1806B": "",
    "3B9F968131FE45806755454B41451312318073B3A180EB": "",
    "3B9F968131FE45806755454B414512A4318073B3A1805C": "",
    "3B9F968131FE45806755454B414512A5318073B3A1805D": "",
    "3B9F978131FE458065544312210031C073F62180810593": "",
    "3B9F978131FE458065544312210731C073F62180810594": "",
    "3B9F978131FE458065544312210731C073F62180810595": "",
    "3B9F978131FE4580655443D2210831C073F6218081015F": "SAHA",
    "3B9F978131FE458065544312210831C073F6218081019F": "SAHA test",
    "3B9F978131FE4580655443D2210831C073F6218081055B": "2.2.8 INF",
    "3B9F978131FE4580655443E4210831C073F6218081056D": "2.2.8 UKTUM",
    "3B9F968131FE4580655443D3210831C073F6218081055B": "2.2.8 NXP",
    "3B9F968131FE4580655443D2210831C073F6218081055A": "2.2.8 UDEA",
    "3B9F978131FE458065544312210831C073F6218081059B": "2.2.8 INF SAHA test",
    "3B9F978131FE458065544353228231C073F62180810553": "2.5.2 NXP",
}

# The family patterns over the historical bytes (upper-case hex; "." is any hex digit).
_FAMILY_PATTERNS: Final[tuple[tuple[CardFamily, re.Pattern[str]], ...]] = (
    (CardFamily.AKIS_V1, re.compile(r"55454B41452056312E30")),  # "UEKAE V1.0"
    (CardFamily.AKIS_UEKAE, re.compile(r"806755454B4145....318073B3A180")),
    (CardFamily.AKIS_TC, re.compile(r"80655443......31C073F6218081..")),
    (CardFamily.AKIS_V3, re.compile(r"80666832[04]9......31958105")),
)
_UEKAE: Final = (b"UEKAE", b"uekae")


@attrs.frozen
class CardIdentity:
    """What an ATR says about the card."""

    atr: bytes = attrs.field(repr=lambda atr: atr.hex().upper())
    family: CardFamily
    #: The exact ATR is in :data:`KNOWN_AKIS_ATRS`.
    known: bool
    #: The list's note for this ATR (a chip or version), ``""`` when it has none.
    note: str = ""

    @property
    def is_akis(self) -> bool:
        return self.family.is_akis

    @property
    def atr_hex(self) -> str:
        return self.atr.hex().upper()


def historical_bytes(atr: bytes) -> bytes:
    """The historical bytes of an ATR, found by walking its format and interface bytes.

    Raises :class:`AtrError` for bytes that are not an ATR.
    """
    if len(atr) < 2 or atr[0] not in (0x3B, 0x3F):
        raise AtrError("an ATR starts with 3B or 3F and has at least two bytes")
    count = atr[1] & 0x0F
    indicator = atr[1] >> 4
    i = 2
    while True:
        # TA, TB, TC present as bits 1, 2, 4 of the indicator; TD as bit 8.
        i += bin(indicator & 0x07).count("1")
        if not indicator & 0x08:
            break
        if i >= len(atr):
            raise AtrError("the ATR ends inside its interface bytes")
        indicator = atr[i] >> 4
        i += 1
    if i + count > len(atr):
        raise AtrError("the ATR is shorter than its historical bytes")
    return bytes(atr[i : i + count])


def identify(atr: bytes) -> CardIdentity:
    """Whether the card with this ATR is an AKİS card, and its family. Never raises: bytes
    that are not an ATR name a card of another kind."""
    atr = bytes(atr)
    hex_atr = atr.hex().upper()
    try:
        history = historical_bytes(atr).hex().upper()
    except AtrError:
        history = ""
    family = next((f for f, p in _FAMILY_PATTERNS if history and p.fullmatch(history)), None)
    if family is None and any(mark in atr for mark in _UEKAE):
        family = CardFamily.AKIS_OTHER
    note = KNOWN_AKIS_ATRS.get(hex_atr)
    if note is not None and family is None:
        family = CardFamily.AKIS_OTHER  # a listed ATR in no pattern (none today)
    return CardIdentity(
        atr=atr,
        family=family or CardFamily.OTHER,
        known=note is not None,
        note=note or "",
    )
