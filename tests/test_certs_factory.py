"""kamusm.testing.certificates: a test CA named like Kamu SM's that issues realistic,
verifiable, reproducible certificates, also outside pytest."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from kamusm.certs import CertificateKind, KeyAlgorithm
from kamusm.testing.certificates import (
    DEFAULT_TCKN,
    DEFAULT_VKN,
    TEST_MALI_MUHUR_CA_NAME,
    TEST_NES_CA_NAME,
    TEST_ROOT_CA_NAME,
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
)
from kamusm.values import Tckn

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory(now=NOW)


def load(issued: IssuedCertificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(issued.der)


def public_der(issued: IssuedCertificate) -> bytes:
    assert issued.private_key is not None  # the factory made this key itself
    return issued.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_ca_names_follow_kamu_sm_and_say_test(factory: CertificateFactory) -> None:
    assert TEST_ROOT_CA_NAME == "Kamu SM Kök Sertifika Hizmet Sağlayıcısı - Sürüm 6 (TEST)"
    assert TEST_NES_CA_NAME == "Kamu TEST Sertifika Hizmet Sağlayıcısı - Sürüm 6"
    assert TEST_MALI_MUHUR_CA_NAME == "Mali Mühür TEST Sertifika Hizmet Sağlayıcısı - Sürüm 2"
    names = [
        load(c).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        for c in factory.ca_certificates
    ]
    assert names == [TEST_ROOT_CA_NAME, TEST_NES_CA_NAME, TEST_MALI_MUHUR_CA_NAME]
    for issued in factory.ca_certificates:
        info = issued.info()
        assert info.is_ca
        assert info.key_algorithm is KeyAlgorithm.EC
        assert info.key_curve == "secp384r1"


def test_every_certificate_verifies_up_to_the_test_root(factory: CertificateFactory) -> None:
    root, nes_ca, mm_ca = (load(c) for c in factory.ca_certificates)
    root.verify_directly_issued_by(root)
    nes_ca.verify_directly_issued_by(root)
    mm_ca.verify_directly_issued_by(root)
    for issued in (
        factory.nes(),
        factory.nes(key=KeySpec.EC_P384),
        factory.qualified_seal(),
        factory.test_certificate(),
        factory.other(),
    ):
        load(issued).verify_directly_issued_by(nes_ca)
    for issued in factory.mali_muhur_card():
        load(issued).verify_directly_issued_by(mm_ca)


def test_private_key_belongs_to_the_certificate(factory: CertificateFactory) -> None:
    for issued in (factory.nes(), factory.mali_muhur_encryption(key=KeySpec.EC_P384)):
        assert load(issued).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) == public_der(issued)


def test_labels_in_the_real_style(factory: CertificateFactory) -> None:
    assert re.fullmatch(r"[1-9]\d{10}NES0", factory.nes().label)
    assert factory.nes(tckn=Tckn("17291716060"), index=2).label == "17291716060NES2"
    signing, encryption = factory.mali_muhur_card()
    assert signing.label == f"{DEFAULT_VKN}SIGN0"
    assert encryption.label == f"{DEFAULT_VKN}ENCR0"
    assert factory.nes(label="custom").label == "custom"


def test_token_object_is_der_label_and_id(factory: CertificateFactory) -> None:
    issued = factory.nes()
    assert issued.as_token_object() == (issued.der, issued.label, issued.object_id)
    ski = load(issued).extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert issued.object_id == ski.value.digest


def test_subject_carries_the_tckn_and_turkish_name(factory: CertificateFactory) -> None:
    name = "ŞÜKRÜ IĞDIRLI İÇÖZ"
    subject = load(factory.nes(name=name)).subject
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == DEFAULT_TCKN
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name


def test_key_specs(factory: CertificateFactory) -> None:
    rsa = factory.nes(key=KeySpec.RSA_2048).info()
    ec = factory.nes(key=KeySpec.EC_P384).info()
    assert (rsa.key_algorithm, rsa.key_size) == (KeyAlgorithm.RSA, 2048)
    assert (ec.key_algorithm, ec.key_size, ec.key_curve) == (KeyAlgorithm.EC, 384, "secp384r1")


def test_same_request_same_fields_and_key_but_a_new_serial(factory: CertificateFactory) -> None:
    """Within a process a repeated request reuses the key; a CA never reuses a serial, and
    every factory of the process is the same test CA."""
    again = CertificateFactory(now=NOW)
    requests: list[Callable[[CertificateFactory], IssuedCertificate]] = [
        lambda f: f.nes(),
        lambda f: f.nes(key=KeySpec.EC_P384),
        lambda f: f.mali_muhur_signing(),
    ]
    for make in requests:
        first, second, third = make(factory), make(again), make(factory)
        assert public_der(first) == public_der(second) == public_der(third)
        assert first.object_id == second.object_id
        assert len({first.serial_number, second.serial_number, third.serial_number}) == 3
        a, b = first.info(), second.info()
        assert (a.not_before, a.not_after, a.common_name, a.policy_oids) == (
            b.not_before,
            b.not_after,
            b.common_name,
            b.policy_oids,
        )


def test_the_same_calls_give_the_same_serials_in_every_process() -> None:
    code = (
        "from datetime import UTC, datetime\n"
        "from kamusm.testing.certificates import CertificateFactory, KeySpec\n"
        "f = CertificateFactory(now=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))\n"
        "print(f.root.serial_number, f.nes(key=KeySpec.EC_P384).serial_number,\n"
        "      f.nes(key=KeySpec.EC_P384).serial_number, f.mali_muhur_signing().serial_number)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout
    assert len(set(runs[0].stdout.split())) == 4


def test_ec_keys_are_the_same_in_every_process(factory: CertificateFactory) -> None:
    code = (
        "from datetime import UTC, datetime\n"
        "from kamusm.testing.certificates import CertificateFactory, KeySpec\n"
        "f = CertificateFactory(now=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))\n"
        "print(f.nes(key=KeySpec.EC_P384).object_id.hex())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == factory.nes(key=KeySpec.EC_P384).object_id.hex()


def test_a_renewal_gets_another_key_and_serial(factory: CertificateFactory) -> None:
    first = factory.nes()
    renewal = factory.nes(index=1, not_before=NOW)
    assert renewal.object_id != first.object_id
    assert renewal.serial_number != first.serial_number
    assert public_der(renewal) != public_der(first)


def test_validity_defaults_and_the_expired_and_future_variants(
    factory: CertificateFactory,
) -> None:
    nes = factory.nes()
    assert nes.not_before < NOW < nes.not_after
    expired = factory.expired_nes(days_ago=10)
    assert expired.not_after == NOW - timedelta(days=10)
    future = factory.not_yet_valid_nes(days_ahead=2)
    assert future.not_before == NOW + timedelta(days=2)
    assert expired.kind is future.kind is CertificateKind.NES


def test_reference_time_must_be_aware() -> None:
    with pytest.raises(TypeError):
        CertificateFactory(now=datetime(2026, 1, 1))


def test_pem_text(factory: CertificateFactory) -> None:
    issued = factory.nes()
    assert issued.pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert x509.load_pem_x509_certificate(issued.pem.encode()).serial_number == (
        issued.serial_number
    )


def test_usable_without_pytest() -> None:
    """The sandbox provisions demo cards with the factory in a plain process."""
    code = (
        "import sys\n"
        "from kamusm.testing.certificates import CertificateFactory\n"
        "card = CertificateFactory().nes_card()\n"
        "print(card[0].label, card[0].info().kind.name, 'pytest' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [f"{DEFAULT_TCKN}NES0", "NES", "False"]


def test_the_plugin_fixture_issues_certificates_valid_now(
    certificate_factory: CertificateFactory,
) -> None:
    now = datetime.now(UTC)
    assert abs(certificate_factory.now - now) < timedelta(days=1)
    assert certificate_factory.nes().info().is_valid_at(now)


def test_repr_hides_key_material(factory: CertificateFactory) -> None:
    issued = factory.nes()
    text = repr(issued)
    assert "PRIVATE" not in text
    assert "RSAPrivateKey" not in text
    assert issued.label in text
