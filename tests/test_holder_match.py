"""Finding a card by its holder's name: part of the name, case by Turkish rules."""

from __future__ import annotations

import pytest

from kamusm import holder_matches

NAME = "İLKER IŞIKLI"


@pytest.mark.parametrize("query", ["ilker", "IŞIKLI", "ışıklı", "İlker Işıklı", " ilker  ışık "])
def test_part_of_the_name_in_any_case_matches(query: str) -> None:
    assert holder_matches(NAME, query)


@pytest.mark.parametrize("query", ["ılker", "ISIKLI", "işikli", "ILKER", "", "  ", "ayşe"])
def test_dotted_and_dotless_i_are_different_letters(query: str) -> None:
    """I/ı and İ/i: "ILKER" folds to "ılker", which is not "ilker"."""
    assert not holder_matches(NAME, query)


def test_a_card_without_a_holder_matches_nothing() -> None:
    assert not holder_matches(None, "ilker") and not holder_matches("", "ilker")


def test_a_decomposed_dotted_capital_i_is_the_same_letter() -> None:
    assert holder_matches("I\u0307LKER", "ilker")  # "İ" typed as I + combining dot
