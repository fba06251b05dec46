"""``examples/dys_sign_pdf.py`` run as the script it is, in a child process: on a SoftHSM2
card whose key was made on the token it signs (the PDF validates with pyHanko and names the
holder); a wrong PIN says so and writes nothing; on opencryptoki a card locked by the DYS's own
wrong PINs is routed to the reset of its product, and a final try is never spent by a script."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamusm.signing import validate_pdf
from kamusm.testing.certificates import (
    DEFAULT_HOLDER,
    CertificateFactory,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.documents import sample_pdf
from kamusm.testing.opencryptoki import OpencryptokiToken
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token
from tests.test_examples import assert_no_secret, run_example

PIN = "739164"


def sign(card: SoftHsmToken | OpencryptokiToken, tmp_path: Path, typed: str) -> tuple[int, str]:
    select = (
        ["--serial", card.serial] if isinstance(card, SoftHsmToken) else ["--label", card.label]
    )
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf("Resmi yazı"))
    result = run_example(
        "dys_sign_pdf", str(source), str(target), "--module", card.module_path, *select,
        "--pin-stdin", stdin=typed + "\n",
    )  # fmt: skip
    assert_no_secret(result.stdout + result.stderr, PIN)
    return result.returncode, result.stdout


def test_the_dys_signs_a_pdf_that_validates_and_names_the_holder(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = create_softhsm_token(pin=PIN)
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    code, out = sign(card, tmp_path, PIN)
    assert code == 0, out
    assert "imzaya hazır" in out
    roots = [certificate_factory.nes_ca.der, certificate_factory.root.der]
    (report,) = validate_pdf((tmp_path / "out.pdf").read_bytes(), trust_roots=roots)
    assert report.ok and report.holder_name == DEFAULT_HOLDER


def test_a_wrong_pin_writes_nothing(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = create_softhsm_token(pin=PIN)
    certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    code, out = sign(card, tmp_path, "000000")
    assert code == 6, out
    assert "Hatalı PIN" in out
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.opencryptoki
def test_the_dys_stops_at_the_final_try_and_routes_a_locked_card_to_the_reset(
    opencryptoki_token: OpencryptokiToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = opencryptoki_token
    certify_on_token(card, certificate_factory.nes, key=KeySpec.RSA_2048)
    for _ in range(2):
        code, out = sign(card, tmp_path, "0000")
        assert code == 6, out
    code, out = sign(card, tmp_path, card.pin.reveal())  # the final try: a script never spends it
    assert code == 4, out
    assert card.token().pin_status().final_try and not card.token().pin_status().locked
    # The person at the card spends it wrongly elsewhere; the DYS then sends them to the reset.
    from kamusm.errors import PinIncorrectError
    from kamusm.values import Pin

    with pytest.raises(PinIncorrectError):
        card.token().verify_pin(Pin("0000"), acknowledge_final_try=True)
    code, out = sign(card, tmp_path, card.pin.reveal())
    assert code == 3, out
    assert "PIN Oluşturma/Kilit Çözme" in out and "PUK kullanmayın" in out
    assert not (tmp_path / "out.pdf").exists()


def test_dys_check_before_signing_ends_in_a_real_signature(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = create_softhsm_token(pin=PIN)
    certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf())
    result = run_example(
        "dys_check_before_signing", "--module", card.module_path, "--serial", card.serial,
        "--pin-stdin", "--sign", str(source), str(target), stdin=PIN + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert_no_secret(result.stdout + result.stderr, PIN)
    roots = [certificate_factory.nes_ca.der, certificate_factory.root.der]
    (report,) = validate_pdf(target.read_bytes(), trust_roots=roots)
    assert report.ok and report.holder_name == DEFAULT_HOLDER


def test_a_file_that_is_no_pdf_is_refused_before_the_pin_and_a_dead_tsa_signs_nothing(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    import socket

    card = create_softhsm_token(pin=PIN)
    certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    source, target = tmp_path / "in.txt", tmp_path / "out.pdf"
    source.write_bytes(b"not a pdf")
    result = run_example(
        "dys_sign_pdf", str(source), str(target), "--module", card.module_path,
        "--serial", card.serial, "--pin-stdin", "--product", "mali-muhur", stdin="000000\n",
    )  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert "PDF" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert not card.token().pin_status().count_low  # the PIN never reached the card
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source.write_bytes(sample_pdf())
    result = run_example(
        "dys_sign_pdf", str(source), str(target), "--module", card.module_path,
        "--serial", card.serial, "--pin-stdin", "--timestamp-url", f"http://127.0.0.1:{port}/",
        stdin=PIN + "\n",
    )  # fmt: skip
    assert result.returncode == 7, result.stdout
    assert "ulaşılamadı" in result.stdout and not target.exists()
