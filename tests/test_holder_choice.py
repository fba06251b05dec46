"""Choosing a card by its holder's name, on real SoftHSM2 tokens carrying test certificates:
without case by Turkish rules (I/ı, İ/i), by part of the name, and never silently among
several cards that match."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import pytest

from kamusm import (
    CardChoice,
    Tckn,
    cards_of_holder,
    holder_matches,
    list_cards,
    with_holder,
)
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.prompts import ScriptedResetPrompts
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token


@pytest.mark.parametrize(
    ("name", "query", "found"),
    [
        ("AHMET IŞIK", "ışık", True),  # I is ı in Turkish
        ("AHMET IŞIK", "isik", False),  # ...never i
        ("İNCE YILMAZ", "ince", True),  # İ is i
        ("İNCE YILMAZ", "ınce", False),
        ("ayşe ılgın", "AYŞE ILGIN", True),
        ("AYŞE  ÇAĞLA   ÖZ", "çağla öz", True),  # part of the name, spaces as one
        ("AYŞE ÖZ", "", False),
        (None, "ayşe", False),
    ],
)
def test_holder_names_compare_by_turkish_rules(name: str | None, query: str, found: bool) -> None:
    assert holder_matches(name, query) is found


@pytest.fixture
def two_cards(certificate_factory: CertificateFactory) -> tuple[str, SoftHsmToken, SoftHsmToken]:
    """Two cards of two holders whose names share a part: "<X> İNCE IŞIK" and
    "<X> İNCE IŞIKLAR" (X unique to this test, so cards of other tests never match)."""
    tag = "".join(secrets.choice("ABCDEFGH") for _ in range(8))
    cards = []
    for name, tckn in ((f"{tag} İNCE IŞIK", "10000000146"), (f"{tag} İNCE IŞIKLAR", "17291716060")):
        issued = certificate_factory.nes_card(name=name, tckn=Tckn(tckn))
        cards.append(create_softhsm_token(certificates=[c.as_token_object() for c in issued]))
    return tag.lower(), cards[0], cards[1]


class Picker(ScriptedResetPrompts):
    """Records the cards each card question offered; chooses the last one offered."""

    def __init__(self) -> None:
        super().__init__(card=lambda cards: cards[-1].serial if cards else None)


def test_the_cards_of_a_holder_are_found_by_part_of_the_name(
    two_cards: tuple[str, SoftHsmToken, SoftHsmToken],
) -> None:
    tag, isik, isiklar = two_cards
    cards = list_cards(isik.module())
    assert {isik.serial, isiklar.serial} <= {c.serial for c in cards}
    assert [c.serial for c in cards_of_holder(cards, f"{tag} ince ışıklar")] == [isiklar.serial]
    both = {c.serial for c in cards_of_holder(cards, f"{tag} İnce Işık")}
    assert both == {isik.serial, isiklar.serial}
    assert cards_of_holder(cards, f"{tag} ince isik") == []  # dotted i is not ı


def test_one_matching_card_is_chosen_and_several_go_to_the_picker(
    two_cards: tuple[str, SoftHsmToken, SoftHsmToken],
) -> None:
    tag, isik, isiklar = two_cards
    cards: Sequence[CardChoice] = list_cards(isik.module())

    one = Picker()
    assert with_holder(one, f"{tag} İNCE IŞIKLAR").choose_card(cards) == isiklar.serial
    assert one.offered == []  # the name fits one card: nobody had to pick

    several = Picker()
    chosen = with_holder(several, f"{tag} ince ışık").choose_card(cards)
    (offered,) = several.offered  # both fit: the picker is asked, with only those two
    assert {c.serial for c in offered} == {isik.serial, isiklar.serial}
    assert chosen == offered[-1].serial

    none = Picker()
    assert with_holder(none, f"{tag} başka").choose_card(cards) is None
    assert none.offered == [[]]  # no card of that name: asked with none (insert the card)
