"""The reviewer's integration defects in PDF signing, on SoftHSM2 cards whose keys were made on
the token, checked with pyHanko's validator: a signed PDF is co-signed in a field of its own,
bad inputs are typed errors found before the PIN (not a PDF, an unreadable certificate file), a
timestamp server that cannot be reached is its own error, the guide's snippet validates as it
is written, and a report's repr masks the T.C. Kimlik No."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kamusm.errors import (
    CertificateFileError,
    NotAPdfError,
    PdfSigningError,
    TimestampServerError,
    UnsupportedSignatureSchemeError,
)
from kamusm.signing import check_pdf, load_certificates, sign_pdf, validate_pdf
from kamusm.testing.certificates import (
    DEFAULT_TCKN,
    CertificateFactory,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import SoftHsmToken


@pytest.fixture
def card(softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory) -> SoftHsmToken:
    """A card as Kamu SM issues it: the signing certificate with its key, and the issuing CA
    and the root stored next to them."""
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    for ca in (certificate_factory.nes_ca, certificate_factory.root):
        softhsm_token.write_certificate(*ca.as_token_object())
    return softhsm_token


def test_a_signed_pdf_is_co_signed_in_the_next_free_field_and_both_validate(
    card: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    with card.token().signing_session(card.pin) as session:
        once = sign_pdf(session, sample_pdf("Ortak imza"))
        twice = sign_pdf(session, once)
    reports = validate_pdf(twice, trust_roots=[certificate_factory.root.der])
    assert [r.field_name for r in reports] == ["Imza1", "Imza2"]
    assert all(r.ok for r in reports)


def test_signing_a_filled_field_again_is_a_pdf_signing_error_not_a_wrong_scheme(
    card: SoftHsmToken,
) -> None:
    with card.token().signing_session(card.pin) as session:
        once = sign_pdf(session, sample_pdf())
        with pytest.raises(PdfSigningError) as caught:
            sign_pdf(session, once, field_name="Imza1")
    assert not isinstance(caught.value, UnsupportedSignatureSchemeError)
    assert "Imza1" in caught.value.message("tr") and "Imza1" in caught.value.message("en")
    assert "imzalanmadı" in caught.value.message("tr")


def test_the_guides_snippet_validates_as_written(
    card: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    root_der = certificate_factory.root.der
    # docs/guides/signing.md, section 3, as written there:
    with card.token().signing_session(card.pin) as session:
        signed = sign_pdf(session, sample_pdf(), timestamp_url=None)
    reports = validate_pdf(signed, trust_roots=[root_der])
    assert [r.ok for r in reports] == [True]


def test_intermediates_complete_a_chain_the_signature_does_not_carry(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        signed = sign_pdf(session, sample_pdf())  # a card without its CA certificates
    root = [certificate_factory.root.der]
    assert not validate_pdf(signed, trust_roots=root)[0].ok
    (report,) = validate_pdf(
        signed, trust_roots=root, intermediates=[certificate_factory.nes_ca.der]
    )
    assert report.ok


def test_without_roots_the_chain_is_reported_unchecked(card: SoftHsmToken) -> None:
    with card.token().signing_session(card.pin) as session:
        signed = sign_pdf(session, sample_pdf())
    (report,) = validate_pdf(signed)
    assert report.intact and report.valid
    assert not report.chain_checked and not report.trusted and not report.ok


def test_a_report_repr_masks_the_tckn(card: SoftHsmToken) -> None:
    with card.token().signing_session(card.pin) as session:
        signed = sign_pdf(session, sample_pdf())
    (report,) = validate_pdf(signed)
    assert report.signer_serial_number == DEFAULT_TCKN  # the value is there for the program
    assert DEFAULT_TCKN not in repr(report)
    assert DEFAULT_TCKN[-2:] in repr(report)


def test_not_a_pdf_and_a_bad_certificate_file_are_typed_errors(
    card: SoftHsmToken, tmp_path: Path
) -> None:
    with pytest.raises(NotAPdfError):
        check_pdf(b"%PDX this is a text file")
    with card.token().signing_session(card.pin) as session, pytest.raises(NotAPdfError):
        sign_pdf(session, b"plain text, not a PDF")
    for bad in (b"\x30\x03\x02\x01", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END", b""):
        with pytest.raises(CertificateFileError) as caught:
            load_certificates(bad)
        assert caught.value.message("tr") != caught.value.message("en")
    assert isinstance(CertificateFileError(), ValueError)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_timestamp_server_that_cannot_be_reached_is_its_own_error(card: SoftHsmToken) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/tsa"
    with (
        card.token().signing_session(card.pin) as session,
        pytest.raises(TimestampServerError) as caught,
    ):
        sign_pdf(session, sample_pdf(), timestamp_url=url)
    assert url in caught.value.message("en") and "ulaşılamadı" in caught.value.message("tr")
