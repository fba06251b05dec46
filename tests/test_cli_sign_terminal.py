"""``kamusm sign-pdf IN OUT`` in a real terminal (a pseudo-terminal driven by pexpect, the
harness of ``test_cli_terminal``) on opencryptoki's software token, which counts wrong PINs:
brought to its final try, the command asks for the agreement in words as ``change-pin`` does.
Anything but the word signs nothing and spends no try (the card's own flags are compared before
and after); the word, then the hidden PIN, signs, and the signed PDF validates with pyHanko's
validator against the test CA. The PIN never reaches the terminal. Turkish and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kamusm.errors import PinIncorrectError
from kamusm.signing import validate_pdf
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.documents import sample_pdf
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.values import Pin
from tests.test_cli_terminal import Session, assert_no_secret, env_for

pytestmark = pytest.mark.opencryptoki

# What each language shows and expects (the texts of kamusm/_cli/_texts.py and messages.py).
WORDS = {
    "tr": {
        "final": "son deneme hakkınız",
        "ask": "Devam etmek için EVET yazın",
        "wrong_word": "tamam",
        "word": "evet",
        "cancelled": "İşlem iptal edildi",
        "pin": "PIN Kodu: ",
        "valid": ": belge değişmemiş",
        "trusted": "Sertifika zinciri verilen sertifikalara ulaşıyor",
        "done": "İmzalı dosya: ",
    },
    "en": {
        "final": "This is the last try for the PIN",
        "ask": "Type YES to go on",
        "wrong_word": "okay",
        "word": "yes",
        "cancelled": "cancelled",
        "pin": "PIN: ",
        "valid": "is valid: the document is unchanged",
        "trusted": "The certificate chain reaches the certificates given",
        "done": "Signed file: ",
    },
}


def card_flags(card: OpencryptokiToken) -> list[str]:
    """The token's flags as the card reports them (C_GetTokenInfo), by name."""
    (slot,) = [s for s in card.module().report()["slots"] if s["slot_id"] == card.slot_id]
    flags: list[str] = slot["token"]["flags"]
    return flags


def asked_for_pin(transcript: str, prompt: str) -> bool:
    """Whether a line of the transcript starts with the PIN question (after any terminal
    control sequence): the final-try warning names the PIN too, mid-line."""
    line_start = r"(?m)^(?:\r|\x1b\[[0-9;]*[A-Za-z])*"
    return re.search(line_start + re.escape(prompt), transcript) is not None


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_sign_pdf_on_the_final_try_asks_in_words_and_signs_only_after_the_word(
    lang: str,
    opencryptoki_token: OpencryptokiToken,
    certificate_factory: CertificateFactory,
    tmp_path: Path,
) -> None:
    words = WORDS[lang]
    card = opencryptoki_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    token = card.token()
    for _ in range(2):
        with pytest.raises(PinIncorrectError):
            token.verify_pin(Pin("0000"), acknowledge_final_try=True)
    before = card_flags(card)
    assert "USER_PIN_FINAL_TRY" in before and "USER_PIN_LOCKED" not in before

    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf("Görev yazısı"))
    roots = tmp_path / "roots.pem"
    roots.write_text(certificate_factory.nes_ca.pem + certificate_factory.root.pem)
    args = [
        "--lang", lang, "sign-pdf", str(source), str(target),
        "--module", card.module_path, "--label", card.label, "--trust", str(roots),
    ]  # fmt: skip

    transcripts = []
    for answer in (words["wrong_word"], ""):  # another word, then only Enter
        refused = Session(args, env=env_for())
        refused.expect(words["final"])
        refused.expect(words["ask"])
        refused.type(answer)
        refused.expect(words["cancelled"])
        assert refused.finish() == 10
        transcripts.append(refused.transcript)
        assert not asked_for_pin(refused.transcript, words["pin"])  # the PIN was never asked
        assert not target.exists()
        assert card_flags(card) == before  # no try spent, nothing else changed

    agreed = Session(args, env=env_for())
    agreed.expect(words["ask"])
    agreed.type(words["word"])
    agreed.expect(words["pin"])
    agreed.type(card.pin.reveal())
    assert asked_for_pin(agreed.transcript, words["pin"])
    agreed.expect(words["valid"])
    agreed.expect(words["trusted"])
    agreed.expect(words["done"])
    assert agreed.finish() == 0
    transcripts.append(agreed.transcript)

    after = card_flags(card)
    assert "USER_PIN_FINAL_TRY" not in after and "USER_PIN_COUNT_LOW" not in after
    assert "USER_PIN_LOCKED" not in after
    (report,) = validate_pdf(
        target.read_bytes(),
        trust_roots=[certificate_factory.nes_ca.der, certificate_factory.root.der],
    )
    assert report.ok and report.holder_name is not None
    assert_no_secret("".join(transcripts), card.pin, card.so_pin)
    assert "Traceback" not in "".join(transcripts)
