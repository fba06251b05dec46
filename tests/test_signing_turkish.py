"""Every holder-visible text of signing (the readiness, its next steps, the signing errors,
``kamusm sign-pdf``'s own lines) is Turkish with no English word in Turkish, and exists in
both languages: the same word check as the command line's (tests/test_cli_turkish.py)."""

from __future__ import annotations

from collections.abc import Mapping

from kamusm._cli._texts import TEXTS
from kamusm.messages import MESSAGES, Language
from tests.test_cli_turkish import english_in

SIGNING_ERRORS = (
    "error.not_ready_to_sign",
    "error.unattended_refused",
    "error.signing_key_not_found",
    "error.signing_session_closed",
    "error.signing_session_open",
    "error.signature_scheme",
    "error.digest_length",
    "error.not_a_pdf",
    "error.certificate_file",
    "error.pdf_signing",
    "error.timestamp_server",
)


def signing_texts() -> dict[str, Mapping[Language, str]]:
    found: dict[str, Mapping[Language, str]] = {
        k: v for k, v in MESSAGES.items() if k.startswith(("readiness.", "next."))
    }
    found |= {k: MESSAGES[k] for k in SIGNING_ERRORS}
    found |= {k: v for k, v in TEXTS.items() if k.startswith(("cli.sign.", "cli.exit.not_signed"))}
    return found


def test_every_signing_text_is_in_both_languages_and_turkish_has_no_english_word() -> None:
    texts = signing_texts()
    assert len(texts) > 40
    assert all(t["tr"] and t["en"] and t["tr"] != t["en"] for t in texts.values())
    assert {key: english_in(t["tr"]) for key, t in texts.items() if english_in(t["tr"])} == {}


def test_the_check_catches_an_english_word() -> None:
    assert english_in("İmza atılamadı: nothing was signed") != set()
