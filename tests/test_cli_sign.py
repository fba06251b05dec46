"""``kamusm sign-pdf IN OUT`` and the readiness shown by ``kamusm tokens`` and ``doctor``, run
as a user runs them (``python -m kamusm``) on SoftHSM2 cards whose keys were made on the
token; the signed PDF is checked with pyHanko's validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kamusm._cli._exit import ExitCode
from kamusm.signing import validate_pdf
from kamusm.testing.certificates import CertificateFactory, KeySpec, certify_on_token
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token
from tests.test_cli import kamusm


@pytest.fixture
def signing_card(certificate_factory: CertificateFactory) -> SoftHsmToken:
    card = create_softhsm_token(pin="482915")
    certify_on_token(card, certificate_factory.nes, key=KeySpec.EC_P384)
    return card


def sign_args(card: SoftHsmToken, source: Path, target: Path, *extra: str) -> list[str]:
    return [
        "--lang", "en", "sign-pdf", str(source), str(target),
        "--module", card.module_path, "--serial", card.serial, "--pin-stdin", *extra,
    ]  # fmt: skip


def test_sign_pdf_signs_checks_and_sums_up(
    signing_card: SoftHsmToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf("Görev yazısı"))
    root = tmp_path / "root.pem"
    root.write_text(certificate_factory.nes_ca.pem + certificate_factory.root.pem)
    result = kamusm(
        *sign_args(signing_card, source, target, "--trust", str(root)),
        card=signing_card,
        stdin="482915\n",
    )
    assert result.returncode == 0, result.stderr
    assert "ready to sign" in result.stdout + result.stderr
    assert "is valid" in result.stdout and "reaches the certificates" in result.stdout
    assert "482915" not in result.stdout + result.stderr
    roots = [certificate_factory.nes_ca.der, certificate_factory.root.der]
    (report,) = validate_pdf(target.read_bytes(), trust_roots=roots)
    assert report.ok and report.holder_name is not None


def test_a_wrong_pin_writes_nothing_and_says_how_many_tries(
    signing_card: SoftHsmToken, tmp_path: Path
) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf())
    result = kamusm(*sign_args(signing_card, source, target), card=signing_card, stdin="000000\n")
    assert result.returncode == ExitCode.PIN_WRONG, result.stderr
    assert not target.exists()
    assert "000000" not in result.stdout + result.stderr
    assert signing_card.token().pin_status().count_low


def test_a_card_that_cannot_sign_is_refused_before_the_pin_is_read(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    card = create_softhsm_token(certificates=[certificate_factory.expired_nes().as_token_object()])
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf())
    result = kamusm(*sign_args(card, source, target), card=card, stdin="000000\n")
    assert result.returncode == ExitCode.CARD, result.stderr
    assert "expired" in result.stdout + result.stderr and "Renew" in result.stdout + result.stderr
    assert not target.exists()
    assert not card.token().pin_status().count_low  # the wrong PIN never reached the card


def test_tokens_and_doctor_show_the_readiness(signing_card: SoftHsmToken) -> None:
    listing = kamusm(
        "--lang", "en", "tokens", "--json", "--module", signing_card.module_path, card=signing_card
    )
    assert listing.returncode == 0, listing.stderr
    (mine,) = [c for c in json.loads(listing.stdout)["cards"] if c["serial"] == signing_card.serial]
    assert mine["readiness"]["state"] == "ready" and mine["readiness"]["can_sign"]
    assert mine["readiness"]["action"] == "ask_pin"
    table = kamusm(
        "--lang", "tr", "tokens", "--module", signing_card.module_path, card=signing_card
    )
    assert "İmza" in table.stdout and "hazır" in table.stdout
    doctor = kamusm(
        "--lang", "en", "doctor", "--json", "--module", signing_card.module_path,
        "--serial", signing_card.serial, card=signing_card,
    )  # fmt: skip
    checks = {c["check"].split(":")[0]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["signing"]["status"] == "ok"


def test_a_file_that_is_no_pdf_or_a_bad_trust_file_ends_before_the_pin_is_tried(
    signing_card: SoftHsmToken, tmp_path: Path
) -> None:
    source, target, trust = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "t.pem"
    source.write_bytes(b"not a pdf at all")
    result = kamusm(*sign_args(signing_card, source, target), card=signing_card, stdin="000000\n")
    assert result.returncode == ExitCode.INPUT, result.stderr
    assert "not a readable PDF" in result.stderr and "Traceback" not in result.stderr
    source.write_bytes(sample_pdf())
    trust.write_bytes(b"garbage")
    args = sign_args(signing_card, source, target, "--trust", str(trust))
    result = kamusm(*args, card=signing_card, stdin="000000\n")
    assert result.returncode == ExitCode.INPUT, result.stderr
    assert "certificate file" in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()
    assert not signing_card.token().pin_status().count_low  # the wrong PIN never reached it


def test_without_trust_the_output_has_no_traceback_and_no_full_tckn(
    signing_card: SoftHsmToken, tmp_path: Path
) -> None:
    from kamusm.testing.certificates import DEFAULT_TCKN

    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(sample_pdf())
    result = kamusm(*sign_args(signing_card, source, target), card=signing_card, stdin="482915\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "WARNING" not in out and DEFAULT_TCKN not in out
    assert "was not checked" in out


def test_a_signed_pdf_is_co_signed_and_a_filled_field_is_exit_14(
    signing_card: SoftHsmToken, tmp_path: Path
) -> None:
    source, once, twice = tmp_path / "in.pdf", tmp_path / "1.pdf", tmp_path / "2.pdf"
    source.write_bytes(sample_pdf())
    assert (
        kamusm(
            *sign_args(signing_card, source, once), card=signing_card, stdin="482915\n"
        ).returncode
        == 0
    )
    result = kamusm(*sign_args(signing_card, once, twice), card=signing_card, stdin="482915\n")
    assert result.returncode == 0, result.stderr
    assert [r.field_name for r in validate_pdf(twice.read_bytes())] == ["Imza1", "Imza2"]
    again = tmp_path / "3.pdf"
    args = sign_args(signing_card, once, again, "--field", "Imza1")
    result = kamusm(*args, card=signing_card, stdin="482915\n")
    assert result.returncode == 14, result.stderr
    assert "nothing was signed" in result.stderr and not again.exists()
