"""PDF (PAdES B-B and B-T) and detached CMS (CAdES-BES) signatures made on SoftHSM2 tokens
whose keys were generated on the token, through the guarded session: validated by pyHanko's
own validator against the test CA and by ``openssl cms -verify``; NES and Mali Mühür alike."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamusm.errors import FinalTryNotAcknowledgedError, PinIncorrectError
from kamusm.signing import sign_cms, sign_pdf, validate_pdf
from kamusm.testing.certificates import (
    DEFAULT_COMPANY,
    DEFAULT_HOLDER,
    DEFAULT_TCKN,
    DEFAULT_VKN,
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
    certify_on_token,
)
from kamusm.testing.documents import sample_pdf
from kamusm.testing.softhsm import SoftHsmToken
from kamusm.testing.tsa import running_tsa
from kamusm.values import Pin, Product

ATTACHMENT = "Resmi yazı eki: ödenek tablosu".encode()


@pytest.fixture(scope="module")
def tsa_url(certificate_factory: CertificateFactory) -> Iterator[str]:
    with running_tsa(certificate_factory) as url:
        yield url


def chain(factory: CertificateFactory) -> list[bytes]:
    return [factory.nes_ca.der, factory.mali_muhur_ca.der, factory.root.der]


@pytest.mark.parametrize("spec", [KeySpec.RSA_2048, KeySpec.EC_P384])
def test_a_pdf_signed_on_the_card_validates_and_names_the_holder(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory, spec: KeySpec
) -> None:
    certify_on_token(softhsm_token, certificate_factory.nes, key=spec)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        signed = sign_pdf(
            session, sample_pdf("Görevlendirme yazısı"), ca_certificates=chain(certificate_factory)
        )
    (report,) = validate_pdf(signed, trust_roots=[certificate_factory.root.der])
    assert report.ok and report.intact and report.valid and report.trusted
    assert report.holder_name == DEFAULT_HOLDER
    assert report.signer_serial_number == DEFAULT_TCKN
    assert not report.timestamped


def test_a_pdf_from_another_ca_or_changed_after_signing_does_not_validate(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        signed = sign_pdf(session, sample_pdf(), ca_certificates=chain(certificate_factory))
    (untrusted,) = validate_pdf(signed, trust_roots=[certificate_factory.timestamp_authority().der])
    assert untrusted.intact and not untrusted.trusted and not untrusted.ok
    marker = signed.index(b"kamusm test document")
    tampered = signed[:marker] + b"kamusm TEST document" + signed[marker + 20 :]
    (changed,) = validate_pdf(tampered, trust_roots=[certificate_factory.root.der])
    assert not changed.intact and not changed.ok


def test_a_pdf_with_a_timestamp_is_pades_b_t(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory, tsa_url: str
) -> None:
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        signed = sign_pdf(
            session, sample_pdf(), timestamp_url=tsa_url, ca_certificates=chain(certificate_factory)
        )
    (report,) = validate_pdf(signed, trust_roots=[certificate_factory.root.der])
    assert report.ok and report.timestamped


def test_a_mali_muhur_seal_signs_pdf_and_cms(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    seal = certify_on_token(
        softhsm_token, certificate_factory.mali_muhur_signing, key=KeySpec.RSA_2048
    )
    token = softhsm_token.token()
    with token.signing_session(
        softhsm_token.pin, product=Product.MALI_MUHUR, unattended=True
    ) as session:
        assert session.certificate.product is Product.MALI_MUHUR
        signed = sign_pdf(
            session, sample_pdf("e-Fatura"), ca_certificates=chain(certificate_factory)
        )
        cms = sign_cms(session, ATTACHMENT, ca_certificates=chain(certificate_factory))
    (report,) = validate_pdf(signed, trust_roots=[certificate_factory.root.der])
    assert report.ok and report.holder_name == DEFAULT_COMPANY
    assert report.signer_serial_number == DEFAULT_VKN
    # A Mali Mühür carries its own EKU, not S/MIME's: openssl checks the chain for any purpose.
    openssl_verify(
        tmp_path, cms, ATTACHMENT, certificate_factory, seal, purpose=("-purpose", "any")
    )


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("openssl")
    assert binary is not None, "openssl is not installed (apt-get install openssl)"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def openssl_verify(
    tmp_path: Path,
    signature: bytes,
    content: bytes,
    factory: CertificateFactory,
    signer: IssuedCertificate,
    *,
    purpose: tuple[str, ...] = (),
) -> None:
    (tmp_path / "sig.der").write_bytes(signature)
    (tmp_path / "content.bin").write_bytes(content)
    (tmp_path / "root.pem").write_text(factory.root.pem)
    (tmp_path / "signer.pem").write_text(signer.pem)
    common = ["-inform", "DER", "-in", str(tmp_path / "sig.der"), "-binary", *purpose]
    good = openssl(
        "cms", "-verify", *common, "-content", str(tmp_path / "content.bin"),
        "-CAfile", str(tmp_path / "root.pem"), "-out", str(tmp_path / "out.bin"),
        "-signer", str(tmp_path / "found.pem"),
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert "Verification successful" in good.stderr
    assert (tmp_path / "out.bin").read_bytes() == content
    # The signer openssl found is the card's certificate.
    found = (tmp_path / "found.pem").read_text()
    assert found.split("-----")[2].split() == signer.pem.split("-----")[2].split()
    (tmp_path / "other.bin").write_bytes(content + b".")
    bad = openssl(
        "cms", "-verify", *common, "-content", str(tmp_path / "other.bin"),
        "-CAfile", str(tmp_path / "root.pem"), "-out", str(tmp_path / "out2.bin"),
    )  # fmt: skip
    assert bad.returncode != 0


@pytest.mark.parametrize("spec", [KeySpec.RSA_2048, KeySpec.EC_P384])
def test_a_detached_cms_verifies_with_openssl_against_the_test_ca(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    tmp_path: Path,
    spec: KeySpec,
) -> None:
    nes = certify_on_token(softhsm_token, certificate_factory.nes, key=spec)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        cms = sign_cms(session, ATTACHMENT, ca_certificates=chain(certificate_factory))
    openssl_verify(tmp_path, cms, ATTACHMENT, certificate_factory, nes)


def test_a_cms_with_a_timestamp_still_verifies(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    tmp_path: Path,
    tsa_url: str,
) -> None:
    nes = certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        cms = sign_cms(
            session, ATTACHMENT, timestamp_url=tsa_url, ca_certificates=chain(certificate_factory)
        )
    openssl_verify(tmp_path, cms, ATTACHMENT, certificate_factory, nes)
    printed = openssl(
        "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "sig.der")
    )
    assert "id-smime-aa-timeStampToken" in printed.stdout


def test_pss_signatures_validate_too(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    nes = certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    with softhsm_token.token().signing_session(softhsm_token.pin) as session:
        signed = sign_pdf(
            session, sample_pdf(), prefer_pss=True, ca_certificates=chain(certificate_factory)
        )
        cms = sign_cms(
            session, ATTACHMENT, prefer_pss=True, ca_certificates=chain(certificate_factory)
        )
    (report,) = validate_pdf(signed, trust_roots=[certificate_factory.root.der])
    assert report.ok
    openssl_verify(tmp_path, cms, ATTACHMENT, certificate_factory, nes)


def test_the_guards_apply_to_pdf_signatures(
    softhsm_token: SoftHsmToken, certificate_factory: CertificateFactory
) -> None:
    """Signing a PDF opens the session first: a wrong PIN never reaches pyHanko."""
    certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.EC_P384)
    token = softhsm_token.token()
    with pytest.raises(PinIncorrectError):
        sign_with(softhsm_token, Pin("000000"))
    with pytest.raises(FinalTryNotAcknowledgedError):
        sign_with(softhsm_token, softhsm_token.pin, final_try=True)
    assert token.pin_status().count_low


def sign_with(card: SoftHsmToken, pin: Pin, *, final_try: bool = False) -> bytes:
    token = card.token()
    if final_try:
        import attrs

        real = token._read
        token._read = lambda: attrs.evolve(  # type: ignore[method-assign]
            real(), pin_status=attrs.evolve(real().pin_status, final_try=True)
        )
    with token.signing_session(pin) as session:
        return sign_pdf(session, sample_pdf())


def test_certificates_read_before_pyhanko_is_imported_still_encode(
    certificate_factory: CertificateFactory, tmp_path: Path
) -> None:
    """A DYS reads the card (kamusm.certs) before it imports kamusm.signing: the certificate
    with its QC statements must still re-encode (pyHanko's OID names reach asn1crypto's index).
    In a fresh interpreter, as the order matters only there."""
    import sys

    der = tmp_path / "nes.der"
    der.write_bytes(certificate_factory.nes().der)
    code = (
        "import sys\n"
        "from kamusm.certs import CertificateInfo\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "CertificateInfo.from_der(data)\n"
        "import kamusm.signing\n"
        "from asn1crypto import x509\n"
        "cert = x509.Certificate.load(data)\n"
        "cert.native\n"
        "assert cert.dump(force=True) == data\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(der)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("in_worker_thread", [True, False])
def test_the_signer_signs_off_the_event_loop_unless_told_otherwise(
    softhsm_token: SoftHsmToken,
    certificate_factory: CertificateFactory,
    caplog: pytest.LogCaptureFixture,
    in_worker_thread: bool,
) -> None:
    """pyHanko's asynchronous API with :class:`SessionSigner`: by default the card signs in a
    worker thread (the loop stays free); ``sign_pdf`` and ``sign_cms`` run a loop of their own
    for one signature and sign on it. The thread is the one the session's log record names."""
    import asyncio
    import logging
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from kamusm.signing import SessionSigner

    issued = certify_on_token(softhsm_token, certificate_factory.nes, key=KeySpec.RSA_2048)
    loop_threads: list[int] = []

    async def sign(signer: SessionSigner) -> bytes:
        loop_threads.append(threading.get_ident())
        return await signer.async_sign_raw(ATTACHMENT, "sha256")

    with (
        softhsm_token.token().signing_session(softhsm_token.pin) as session,
        caplog.at_level(logging.DEBUG, logger="kamusm._signing_session"),
    ):
        signature = asyncio.run(sign(SessionSigner(session, in_worker_thread=in_worker_thread)))
    public = x509.load_der_x509_certificate(issued.der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, ATTACHMENT, padding.PKCS1v15(), hashes.SHA256())
    (record,) = [r for r in caplog.records if r.getMessage().startswith("Signing a ")]
    assert (record.thread != loop_threads[0]) is in_worker_thread
