"""The command line's own texts (``kamusm._cli._texts``): both languages, apart from the
library's messages."""

from __future__ import annotations

import pytest

from kamusm._cli._texts import TEXTS, text
from kamusm.messages import LANGUAGES, MESSAGES


def test_every_cli_text_exists_in_every_language() -> None:
    for key, by_lang in TEXTS.items():
        for lang in LANGUAGES:
            assert by_lang.get(lang, "").strip(), f"{key} has no {lang} text"


def test_cli_turkish_and_english_differ() -> None:
    same = [k for k, v in TEXTS.items() if v["tr"] == v["en"]]
    assert same == []


def test_the_command_line_texts_are_not_library_messages() -> None:
    """One home per text: the command line's keys are in its table only."""
    assert not set(TEXTS) & set(MESSAGES)
    assert all(key.startswith("cli.") for key in TEXTS)
    assert not any(key.startswith("cli.") for key in MESSAGES)


def test_text_finds_a_library_message_too() -> None:
    assert text("token.not_found", "tr") == MESSAGES["token.not_found"]["tr"]
    assert text("cli.error", "en", message="x") == "kamusm: error: x"
    with pytest.raises(ValueError, match="language"):
        text("cli.error", "de", message="x")  # type: ignore[arg-type]


def test_no_english_text_leaves_its_plural_to_the_reader() -> None:
    """No "card(s)": a count is told in its own form, "1 card found." and "2 cards found."."""
    from kamusm._cli._texts import one_or_many

    assert not [k for k, v in TEXTS.items() if "(s)" in v["en"]]
    assert not [k for k, v in MESSAGES.items() if "(s)" in v["en"]]
    for key, one, many in (
        ("cli.doctor.card.ok", "1 card found.", "2 cards found."),
        ("cli.doctor.summary.problems", "1 problem found.", "2 problems found."),
        ("cli.doctor.readers.ok", "1 card reader found: R.", "2 card readers found: R."),
    ):
        assert text(one_or_many(key, 1), "en", count=1, names="R") == one
        assert text(one_or_many(key, 2), "en", count=2, names="R") == many
        assert text(one_or_many(key, 1), "tr", count=1, names="R").startswith("1 ")
