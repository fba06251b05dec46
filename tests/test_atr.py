"""The ATR table and families (pure): every AKİS ATR the MA3 API lists is recognised, the
family patterns hold, and cards of other kinds are not taken for AKİS."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamusm.atr import KNOWN_AKIS_ATRS, AtrError, CardFamily, historical_bytes, identify

VICC_DEFAULT_ATR = bytes.fromhex("3b951381018073ff01000b")  # vicc's own ATR: not an AKİS card


def test_the_table_has_the_listed_atrs() -> None:
    assert len(KNOWN_AKIS_ATRS) == 29
    assert all(atr == atr.upper() and bytes.fromhex(atr) for atr in KNOWN_AKIS_ATRS)


@pytest.mark.parametrize("atr", sorted(KNOWN_AKIS_ATRS))
def test_every_listed_atr_is_akis_and_known_and_fits_a_family_pattern(atr: str) -> None:
    identity = identify(bytes.fromhex(atr))
    assert identity.is_akis and identity.known
    # Each listed ATR fits one of the family patterns too, not just the table.
    assert identity.family in (CardFamily.AKIS_V1, CardFamily.AKIS_UEKAE, CardFamily.AKIS_TC)
    assert identity.atr_hex == atr


def test_families_of_examples() -> None:
    older = identify(bytes.fromhex("3B9F968131FE45806755454B41451261318073B3A18099"))
    newer = identify(bytes.fromhex("3B9F978131FE458065544353228231C073F62180810553"))
    first = identify(bytes.fromhex("3BBA11008131FE4D55454B41452056312E30AE"))
    assert older.family is CardFamily.AKIS_UEKAE
    assert newer.family is CardFamily.AKIS_TC and newer.note == "2.5.2 NXP"
    assert first.family is CardFamily.AKIS_V1


def test_an_unlisted_atr_of_a_known_family_is_akis_but_not_known() -> None:
    """A new card version: the pattern recognises it, the exact table does not."""
    atr = bytes.fromhex("3B9F968131FE45806755454B41451999318073B3A18000")
    identity = identify(atr)
    assert identity.family is CardFamily.AKIS_UEKAE and not identity.known
    tc = identify(bytes.fromhex("3B9F978131FE458065544399999931C073F62180810500"))
    assert tc.family is CardFamily.AKIS_TC and not tc.known


def test_the_v3_pattern() -> None:
    # T0 = 0x8C: TD1 present, 12 historical bytes: 80 66 68 32 09 xx xx xx 31 95 81 05
    atr = bytes.fromhex("3B8C8001" + "806668320912345631958105" + "00")
    assert historical_bytes(atr).hex().upper() == "806668320912345631958105"
    assert identify(atr).family is CardFamily.AKIS_V3


def test_uekae_anywhere_is_akis_of_an_unknown_series() -> None:
    atr = bytes.fromhex("3B8A8001") + b"xxUEKAExxx" + b"\x00"
    assert identify(atr).family is CardFamily.AKIS_OTHER


def test_other_cards_are_not_akis() -> None:
    assert identify(VICC_DEFAULT_ATR).family is CardFamily.OTHER
    assert not identify(VICC_DEFAULT_ATR).is_akis
    # an e-ID card's ATR (Estonian, ISO 7816 layout), not AKİS
    assert not identify(bytes.fromhex("3BDB960080B1FE451F830012233F536549440F9000F1")).is_akis


def test_historical_bytes_walk_the_interface_bytes() -> None:
    atr = bytes.fromhex("3B9F968131FE45806755454B41451261318073B3A18099")
    assert historical_bytes(atr) == bytes.fromhex("806755454B41451261318073B3A180")
    assert historical_bytes(VICC_DEFAULT_ATR) == bytes.fromhex("8073ff0100")


@pytest.mark.parametrize("raw", ["", "3b", "00ff", "3b9f96", "3bff"])
def test_bytes_that_are_not_an_atr(raw: str) -> None:
    with pytest.raises(AtrError):
        historical_bytes(bytes.fromhex(raw))
    assert identify(bytes.fromhex(raw)).family is CardFamily.OTHER


@given(st.binary(max_size=40))
def test_identify_never_raises(data: bytes) -> None:
    identity = identify(data)
    assert identity.atr == data
    assert isinstance(identity.family, CardFamily)


def test_family_names_in_both_languages() -> None:
    for family in CardFamily:
        assert family.display("tr") != family.display("en")
        assert family.display("tr").strip()
