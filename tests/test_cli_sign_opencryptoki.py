"""``kamusm sign-pdf --pin-stdin`` on opencryptoki's software token, which counts wrong PINs and
locks: on the final try it stops with its own words ("nothing was signed", not the PIN
change's), and on a locked card it names the reset route of the card's product only (a NES
card: "PIN Oluşturma/Kilit Çözme", never the Mali Mühür one). No try is spent either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kamusm._cli._exit import ExitCode
from kamusm.errors import PinIncorrectError
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.documents import sample_pdf
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.values import Pin

pytestmark = pytest.mark.opencryptoki


def sign(card: OpencryptokiToken, tmp_path: Path, lang: str) -> subprocess.CompletedProcess[str]:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf())
    env = dict(os.environ)
    env.pop("KAMUSM_LANG", None)
    args = [
        sys.executable, "-m", "kamusm", "--lang", lang, "sign-pdf", str(source), str(target),
        "--module", card.module_path, "--label", card.label, "--pin-stdin",
    ]  # fmt: skip
    return subprocess.run(
        args,
        input=card.pin.reveal() + "\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def wrong(card: OpencryptokiToken, times: int) -> None:
    for _ in range(times):
        with pytest.raises(PinIncorrectError):
            card.token().verify_pin(Pin("0000"), acknowledge_final_try=True)


def test_the_final_try_by_script_says_nothing_was_signed(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = opencryptoki_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    wrong(card, 2)
    assert card.token().pin_status().final_try
    for lang, said, not_said in (
        ("tr", "Hiçbir şey imzalanmadı", "PIN değiştirilmedi"),
        ("en", "Nothing was signed", "PIN was not changed"),
    ):
        result = sign(card, tmp_path, lang)
        assert result.returncode == ExitCode.CANCELLED, result.stderr
        assert said in result.stderr and not_said not in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    status = card.token().pin_status()
    assert status.final_try and not status.locked  # no try was spent


def test_a_locked_nes_card_names_only_the_nes_reset(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = opencryptoki_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    wrong(card, 3)
    assert card.token().pin_status().locked
    result = sign(card, tmp_path, "tr")
    assert result.returncode == ExitCode.PIN_LOCKED, result.stderr
    out = result.stdout + result.stderr
    assert "Kilit Çözme" in out
    assert "Mali Mühür PIN Oluşturma" not in out
