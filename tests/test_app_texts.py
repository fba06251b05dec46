"""The wizard's and the training pages' own texts: both languages, and Turkish in Turkish."""

from __future__ import annotations

import re

import pytest

from kamusm.app._texts import TEXTS
from kamusm.messages import LANGUAGES
from kamusm.sandbox._pages import _ERRORS, _T
from kamusm.sandbox._server import BANNER

TABLES = {"app": TEXTS, "pages": _T, "page errors": _ERRORS, "sandbox banner": BANNER}
#: Words both languages use: names, abbreviations, and what a Turkish text quotes as it is.
SHARED = frozenset(
    {"pin", "puk", "sms", "nes", "web", "kamu", "sm", "dys", "akis", "kamusm", "app", "no", "form"}
)


def words(text: str) -> set[str]:
    found = re.findall(r"[^\W\d_]+", re.sub(r"{.*?}", " ", text))
    return {w.lower() for w in found if len(w) > 1}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_text_has_both_languages_and_they_differ_where_they_should(name: str) -> None:
    for key, by_lang in TABLES[name].items():
        for lang in LANGUAGES:
            assert by_lang.get(lang, "").strip(), (name, key, lang)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_turkish_texts_use_no_english_word(name: str) -> None:
    english: set[str] = set()
    for by_lang in TABLES[name].values():
        english |= words(by_lang["en"]) - words(by_lang["tr"])
    english -= SHARED
    for key, by_lang in TABLES[name].items():
        assert not words(by_lang["tr"]) & english, (name, key, words(by_lang["tr"]) & english)
