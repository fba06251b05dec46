"""kamusm.certs: reading, classifying and choosing certificates issued by the test factory.

The certificates are real X.509 DER made with ``cryptography`` by
``kamusm.testing.certificates``; where a test needs an oracle it asks ``cryptography`` to read
the same bytes, an implementation independent of the asn1crypto code under test.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID, ObjectIdentifier

from kamusm.certs import (
    EKU_MALI_MUHUR_SIGNING,
    POLICY_KURUMSAL_MUHUR,
    POLICY_MALI_MUHUR,
    POLICY_MOBILE_NES,
    POLICY_NES,
    POLICY_TEST,
    QC_BTK_QUALIFIED,
    QC_BTK_QUALIFIED_SEAL,
    QC_BTK_QUALIFIED_SEAL_LEGAL_PERSON,
    QC_BTK_USAGE_RESTRICTION,
    QC_ETSI_COMPLIANCE,
    QC_ETSI_LIMIT_VALUE,
    CardSummary,
    CertificateInfo,
    CertificateKind,
    KeyAlgorithm,
    KeyUsage,
    signing_certificate,
)
from kamusm.errors import CertificateParseError, InputError, KamusmError
from kamusm.testing.certificates import (
    DEFAULT_COMPANY,
    DEFAULT_HOLDER,
    DEFAULT_TCKN,
    DEFAULT_VKN,
    TEST_MALI_MUHUR_CA_NAME,
    TEST_NES_CA_NAME,
    CertificateFactory,
    IssuedCertificate,
    KeySpec,
)
from kamusm.values import Product, Tckn

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
OTHER_TCKN = "17291716060"  # valid (DOMAIN.md)
BAD_TCKN = "17291716050"  # fails the checksum (DOMAIN.md)


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory(now=NOW)


def person(name: str, serial_number: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "TR")]
    if serial_number is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    return x509.Name(attributes)


# ---- every kind the factory issues --------------------------------------------------------

Issue = Callable[[CertificateFactory, KeySpec], IssuedCertificate]
KINDS: list[tuple[str, Issue, CertificateKind, Product | None, bool]] = [
    ("nes", lambda f, k: f.nes(key=k), CertificateKind.NES, Product.NES, True),
    ("mobile-nes", lambda f, k: f.nes(key=k, mobile=True), CertificateKind.NES, Product.NES, True),
    (
        "mali-muhur-signing",
        lambda f, k: f.mali_muhur_signing(key=k),
        CertificateKind.MALI_MUHUR_SIGNING,
        Product.MALI_MUHUR,
        False,
    ),
    (
        "mali-muhur-encryption",
        lambda f, k: f.mali_muhur_encryption(key=k),
        CertificateKind.MALI_MUHUR_ENCRYPTION,
        Product.MALI_MUHUR,
        False,
    ),
    (
        "kurumsal-muhur",
        lambda f, k: f.qualified_seal(key=k),
        CertificateKind.QUALIFIED_SEAL,
        None,
        True,
    ),
    ("test", lambda f, k: f.test_certificate(key=k), CertificateKind.TEST, None, True),
    ("other", lambda f, k: f.other(key=k), CertificateKind.OTHER, None, False),
    ("expired-nes", lambda f, k: f.expired_nes(key=k), CertificateKind.NES, Product.NES, True),
    (
        "future-nes",
        lambda f, k: f.not_yet_valid_nes(key=k),
        CertificateKind.NES,
        Product.NES,
        True,
    ),
]


@pytest.mark.parametrize("key", list(KeySpec), ids=lambda k: k.value)
@pytest.mark.parametrize(
    ("issue", "kind", "product", "qualified"),
    [k[1:] for k in KINDS],
    ids=[k[0] for k in KINDS],
)
def test_every_factory_kind_is_classified_by_its_oids(
    factory: CertificateFactory,
    key: KeySpec,
    issue: Issue,
    kind: CertificateKind,
    product: Product | None,
    qualified: bool,
) -> None:
    issued = issue(factory, key)
    info = CertificateInfo.from_der(issued.der)
    assert issued.kind is kind
    assert info.kind is kind
    assert info.product is product
    assert info.is_qualified is qualified
    assert not info.is_ca


def test_ca_certificates_are_other_and_marked_as_ca(factory: CertificateFactory) -> None:
    for issued in factory.ca_certificates:
        info = issued.info()
        assert info.is_ca
        assert info.kind is CertificateKind.OTHER
        assert info.product is None
        assert info.key_usage == {KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN}


# ---- the fields, against cryptography's reading of the same bytes -------------------------


def test_nes_fields_match_an_independent_reader(factory: CertificateFactory) -> None:
    issued = factory.nes()
    info = CertificateInfo.from_der(issued.der)
    oracle = x509.load_der_x509_certificate(issued.der)

    assert info.common_name == DEFAULT_HOLDER
    assert info.common_name == oracle.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert info.holder_name == DEFAULT_HOLDER
    assert info.subject_serial_number == DEFAULT_TCKN
    assert info.tckn == Tckn(DEFAULT_TCKN)
    assert info.serial_number == oracle.serial_number == issued.serial_number
    assert info.serial_hex == f"{oracle.serial_number:X}"
    assert info.issuer_common_name == TEST_NES_CA_NAME
    assert info.not_before == oracle.not_valid_before_utc == issued.not_before
    assert info.not_after == oracle.not_valid_after_utc == issued.not_after
    assert info.not_before.utcoffset() == timedelta(0)
    assert info.key_usage == {KeyUsage.NON_REPUDIATION}
    assert info.extended_key_usage == frozenset()
    assert info.policy_oids == {POLICY_NES}
    assert info.qc_statement_oids == {QC_ETSI_COMPLIANCE, QC_BTK_QUALIFIED}
    assert info.key_algorithm is KeyAlgorithm.RSA
    assert info.key_size == oracle.public_key().key_size == 2048  # type: ignore[union-attr]
    assert info.key_curve is None
    assert info.fingerprint_sha256 == hashlib.sha256(issued.der).hexdigest()
    assert info.der == issued.der
    assert info.organization is None
    assert info.label is None
    assert info.object_id is None


def test_ecdsa_p384_key_is_read_with_its_curve(factory: CertificateFactory) -> None:
    info = factory.nes(key=KeySpec.EC_P384).info()
    assert info.key_algorithm is KeyAlgorithm.EC
    assert info.key_size == 384
    assert info.key_curve == "secp384r1"


def test_mali_muhur_fields(factory: CertificateFactory) -> None:
    signing = factory.mali_muhur_signing().info()
    encryption = factory.mali_muhur_encryption().info()
    for info in (signing, encryption):
        assert info.holder_name == DEFAULT_COMPANY
        assert info.organization == DEFAULT_COMPANY
        assert info.subject_serial_number == DEFAULT_VKN
        assert info.tckn is None  # a VKN is not a T.C. Kimlik No
        assert info.issuer_common_name == TEST_MALI_MUHUR_CA_NAME
        assert POLICY_MALI_MUHUR in info.policy_oids
    assert signing.extended_key_usage == {EKU_MALI_MUHUR_SIGNING}
    assert signing.can_sign
    assert encryption.extended_key_usage == frozenset()
    assert encryption.key_usage == {KeyUsage.KEY_ENCIPHERMENT, KeyUsage.DATA_ENCIPHERMENT}
    assert not encryption.can_sign


@pytest.mark.parametrize(
    "name",
    [
        DEFAULT_HOLDER,
        "Işıl Ağaoğlu",
        "ÇİĞDEM ÜNAL ÖZTÜRK",
        "şule ığdır çöğüş",
        "ĞÜŞİÖÇ ğüşıöç",
    ],
)
def test_turkish_names_come_back_as_written(factory: CertificateFactory, name: str) -> None:
    info = factory.nes(name=name, key=KeySpec.EC_P384).info()
    assert info.common_name == name
    assert info.holder_name == name
    assert name in info.describe("tr")


def test_a_name_without_cn_falls_back_to_given_name_and_surname(
    factory: CertificateFactory,
) -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TR"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, DEFAULT_TCKN),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Gülşen"),
            x509.NameAttribute(NameOID.SURNAME, "Işık"),
        ]
    )
    info = factory.issue(
        CertificateKind.NES, subject=subject, subject_id=DEFAULT_TCKN, key=KeySpec.EC_P384
    ).info()
    assert info.common_name is None
    assert info.holder_name == "Gülşen Işık"


@pytest.mark.parametrize(
    ("serial_number", "expected"),
    [
        (DEFAULT_TCKN, DEFAULT_TCKN),
        (OTHER_TCKN, OTHER_TCKN),
        (f"PNOTR-{OTHER_TCKN}", OTHER_TCKN),
        (BAD_TCKN, None),
        ("01234567890", None),
        ("1000000014", None),
        ("U12345678", None),
        (None, None),
    ],
)
def test_tckn_only_when_serial_number_is_a_valid_tckn(
    factory: CertificateFactory, serial_number: str | None, expected: str | None
) -> None:
    issued = factory.issue(
        CertificateKind.NES,
        subject=person("ALİ VELİ", serial_number),
        subject_id=serial_number or "none",
        key=KeySpec.EC_P384,
    )
    info = issued.info()
    assert info.subject_serial_number == serial_number
    assert info.tckn == (None if expected is None else Tckn(expected))


# ---- classification rules: OIDs, never names ----------------------------------------------


def custom(
    factory: CertificateFactory,
    *,
    name: str = DEFAULT_HOLDER,
    policies: tuple[str, ...] = (),
    ekus: tuple[str, ...] = (),
    statements: tuple[str, ...] = (),
    base: CertificateKind = CertificateKind.NES,
) -> CertificateInfo:
    issued = factory.issue(
        base,
        subject=person(name, DEFAULT_TCKN),
        subject_id=DEFAULT_TCKN,
        key=KeySpec.EC_P384,
        policies=policies,
        extended_key_usage=ekus,
        qc_statements=statements,
    )
    assert issued.kind is None  # the factory does not claim a kind for chosen OIDs
    return issued.info()


@pytest.mark.parametrize(
    ("policies", "ekus", "statements", "kind"),
    [
        ((POLICY_NES,), (), (), CertificateKind.NES),
        ((POLICY_MOBILE_NES,), (), (), CertificateKind.NES),
        ((), (), (QC_ETSI_COMPLIANCE,), CertificateKind.NES),
        ((), (), (QC_BTK_QUALIFIED,), CertificateKind.NES),
        ((POLICY_MALI_MUHUR,), (EKU_MALI_MUHUR_SIGNING,), (), CertificateKind.MALI_MUHUR_SIGNING),
        ((POLICY_MALI_MUHUR,), (), (), CertificateKind.MALI_MUHUR_ENCRYPTION),
        ((POLICY_MALI_MUHUR,), ("1.3.6.1.5.5.7.3.4",), (), CertificateKind.MALI_MUHUR_ENCRYPTION),
        ((), (EKU_MALI_MUHUR_SIGNING,), (), CertificateKind.OTHER),
        ((POLICY_KURUMSAL_MUHUR,), (), (), CertificateKind.QUALIFIED_SEAL),
        ((), (), (QC_BTK_QUALIFIED_SEAL,), CertificateKind.QUALIFIED_SEAL),
        ((), (), (QC_BTK_QUALIFIED_SEAL_LEGAL_PERSON,), CertificateKind.QUALIFIED_SEAL),
        ((POLICY_NES,), (), (QC_BTK_QUALIFIED_SEAL,), CertificateKind.QUALIFIED_SEAL),
        ((POLICY_TEST,), (), (), CertificateKind.TEST),
        ((POLICY_TEST, POLICY_NES), (), (QC_ETSI_COMPLIANCE,), CertificateKind.TEST),
        ((POLICY_TEST, POLICY_MALI_MUHUR), (EKU_MALI_MUHUR_SIGNING,), (), CertificateKind.TEST),
        ((), (), (), CertificateKind.OTHER),
        (("2.16.792.1.2.1.1.5.7.1.99",), (), (), CertificateKind.OTHER),
        ((), (), (QC_ETSI_LIMIT_VALUE, QC_BTK_USAGE_RESTRICTION), CertificateKind.OTHER),
    ],
)
def test_kind_rules(
    factory: CertificateFactory,
    policies: tuple[str, ...],
    ekus: tuple[str, ...],
    statements: tuple[str, ...],
    kind: CertificateKind,
) -> None:
    assert custom(factory, policies=policies, ekus=ekus, statements=statements).kind is kind


def test_names_and_labels_never_decide_the_kind(factory: CertificateFactory) -> None:
    """A CN and label that say NES or Mali Mühür change nothing; the OIDs do."""
    plain = factory.issue(
        CertificateKind.OTHER,
        subject=person("NES Mali Mühür Kurumsal Mühür Nitelikli", DEFAULT_TCKN),
        subject_id=DEFAULT_TCKN,
        key=KeySpec.EC_P384,
        label=f"{DEFAULT_TCKN}NES0",
    )
    info = CertificateInfo.from_der(plain.der, label=f"{DEFAULT_TCKN}NES0")
    assert info.kind is CertificateKind.OTHER
    assert info.product is None
    nes = custom(factory, name="Mali Mühür Test Sertifikası", policies=(POLICY_NES,))
    assert nes.kind is CertificateKind.NES


@pytest.mark.parametrize(
    ("statements", "qualified"),
    [
        ((QC_ETSI_COMPLIANCE,), True),
        ((QC_BTK_QUALIFIED,), True),
        ((QC_ETSI_COMPLIANCE, QC_BTK_QUALIFIED), True),
        ((QC_ETSI_LIMIT_VALUE,), False),
        ((QC_BTK_USAGE_RESTRICTION,), False),
        ((), False),
    ],
)
def test_qualified_means_qc_compliance_or_the_btk_statement(
    factory: CertificateFactory, statements: tuple[str, ...], qualified: bool
) -> None:
    """Policies alone do not make a certificate qualified, as in Kamu SM's software."""
    info = custom(factory, policies=(POLICY_NES,), statements=statements)
    assert info.is_qualified is qualified


def test_unknown_extensions_are_tolerated(factory: CertificateFactory) -> None:
    unknown = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1.2"), b"\x05\x00")
    critical = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x01\x01\xff")
    issued = factory.nes(key=KeySpec.EC_P384, extra_extensions=[unknown, (critical, True)])
    oracle = x509.load_der_x509_certificate(issued.der)
    assert oracle.extensions.get_extension_for_oid(critical.oid).critical
    info = issued.info()
    assert info.kind is CertificateKind.NES
    assert info.is_qualified


def test_an_unknown_key_algorithm_is_tolerated(factory: CertificateFactory) -> None:
    """rsaEncryption (1.2.840.113549.1.1.1) renamed to an OID no library knows."""
    der = factory.nes().der
    rsa_oid = bytes.fromhex("06092a864886f70d010101")
    assert der.count(rsa_oid) == 1
    info = CertificateInfo.from_der(der.replace(rsa_oid, rsa_oid[:-1] + b"\x63"))
    assert info.key_algorithm is KeyAlgorithm.OTHER
    assert info.key_size is None
    assert info.kind is CertificateKind.NES
    assert info.holder_name == DEFAULT_HOLDER


# ---- time ---------------------------------------------------------------------------------


def test_validity_boundaries(factory: CertificateFactory) -> None:
    info = factory.nes().info()
    second = timedelta(seconds=1)
    assert info.is_valid_at(NOW)
    assert info.is_valid_at(info.not_before)
    assert info.is_valid_at(info.not_after)
    assert not info.is_valid_at(info.not_before - second)
    assert not info.is_valid_at(info.not_after + second)


def test_validity_is_compared_across_time_zones(factory: CertificateFactory) -> None:
    from zoneinfo import ZoneInfo

    info = factory.nes().info()
    istanbul = info.not_after.astimezone(ZoneInfo("Europe/Istanbul"))
    assert info.is_valid_at(istanbul)
    assert not info.is_valid_at(istanbul + timedelta(seconds=1))


def test_expired_and_not_yet_valid(factory: CertificateFactory) -> None:
    expired = factory.expired_nes(days_ago=3).info()
    future = factory.not_yet_valid_nes(days_ahead=5).info()
    assert not expired.is_valid_at(NOW)
    assert not future.is_valid_at(NOW)
    assert expired.days_left(NOW) == -3
    assert future.is_valid_at(NOW + timedelta(days=5))
    assert future.days_left(NOW) == (future.not_after - NOW).days > 3 * 365


def test_days_left_counts_whole_days(factory: CertificateFactory) -> None:
    info = factory.nes().info()
    assert info.days_left(info.not_after - timedelta(days=10, hours=1)) == 10
    assert info.days_left(info.not_after - timedelta(hours=23)) == 0
    assert info.days_left(info.not_after + timedelta(seconds=1)) == -1


def test_naive_datetimes_are_refused(factory: CertificateFactory) -> None:
    info = factory.nes().info()
    naive = datetime(2026, 1, 1, 9, 0)
    with pytest.raises(TypeError):
        info.is_valid_at(naive)
    with pytest.raises(TypeError):
        info.days_left(naive)
    with pytest.raises(TypeError):
        signing_certificate([info], naive)


# ---- bad input ----------------------------------------------------------------------------


def spki_der(factory: CertificateFactory) -> bytes:
    private_key = factory.nes(key=KeySpec.EC_P384).private_key
    assert private_key is not None  # the factory made this key itself
    key = private_key.public_key()
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda f: b"",
        lambda f: b"\x30\x00",
        lambda f: b"\x30\x80\x00\x00",
        lambda f: b"not a certificate",
        lambda f: f.nes().pem.encode(),
        lambda f: f.nes().der + b"\x00",
        lambda f: f.nes().der[:-1],
        lambda f: f.nes().der[:4],
        spki_der,
        lambda f: b"\x02\x01\x05",
    ],
    ids=[
        "empty",
        "empty-sequence",
        "indefinite-length",
        "text",
        "pem",
        "trailing-byte",
        "one-byte-short",
        "header-only",
        "public-key",
        "integer",
    ],
)
def test_non_certificates_raise_certificate_parse_error(
    factory: CertificateFactory, make: Callable[[CertificateFactory], bytes]
) -> None:
    with pytest.raises(CertificateParseError):
        CertificateInfo.from_der(make(factory))


@pytest.mark.parametrize("value", ["3082", None, 42, [0x30, 0x00]], ids=repr)
def test_non_bytes_raise_certificate_parse_error(value: object) -> None:
    with pytest.raises(CertificateParseError):
        CertificateInfo.from_der(value)  # type: ignore[arg-type]


def test_parse_error_is_a_typed_input_error_in_both_languages() -> None:
    with pytest.raises(CertificateParseError) as caught:
        CertificateInfo.from_der(b"\x30\x03\x02\x01\x01")
    err = caught.value
    assert isinstance(err, InputError)
    assert isinstance(err, KamusmError)
    assert "Sertifika okunamadı" in err.message("tr")
    assert "certificate could not be read" in err.message("en")


def test_bytearray_and_memoryview_are_accepted(factory: CertificateFactory) -> None:
    der = factory.nes().der
    assert CertificateInfo.from_der(bytearray(der)) == CertificateInfo.from_der(der)
    assert CertificateInfo.from_der(memoryview(der)).der == der


# ---- identity, text and privacy -----------------------------------------------------------


def test_same_der_same_value_and_token_context_is_kept(factory: CertificateFactory) -> None:
    issued = factory.nes()
    a = CertificateInfo.from_der(issued.der)
    b = CertificateInfo.from_der(issued.der)
    assert a == b
    assert hash(a) == hash(b)
    with_ctx = CertificateInfo.from_der(issued.der, label="L", object_id=b"\x01")
    assert (with_ctx.label, with_ctx.object_id) == ("L", b"\x01")
    assert with_ctx != a
    assert issued.info() == CertificateInfo.from_der(
        issued.der, label=issued.label, object_id=issued.object_id
    )


def test_repr_masks_the_tckn_also_in_the_label(factory: CertificateFactory) -> None:
    info = factory.nes().info()
    assert info.label == f"{DEFAULT_TCKN}NES0"
    text = repr(info) + str(info)
    assert DEFAULT_TCKN not in text
    assert "100******46" in text
    assert "NES" in text


def test_reading_logs_no_personal_data(
    factory: CertificateFactory, caplog: pytest.LogCaptureFixture
) -> None:
    issued = factory.nes(tckn=OTHER_TCKN, name="GİZLİ KİŞİ")
    with caplog.at_level(logging.DEBUG, logger="kamusm"):
        issued.info()
        with pytest.raises(CertificateParseError):
            CertificateInfo.from_der(issued.der[:-3])
    assert caplog.records, "reading a certificate logs at debug level"
    assert OTHER_TCKN not in caplog.text
    assert "GİZLİ" not in caplog.text


def test_kind_names_in_both_languages() -> None:
    for kind in CertificateKind:
        assert kind.display("tr") != kind.display("en")
    assert CertificateKind.QUALIFIED_SEAL.display() == "Kurumsal Mühür"


def test_certificates_sharing_a_cn_are_told_apart(factory: CertificateFactory) -> None:
    """All certificates on one card share the CN: serial, kind and text tell them apart."""
    same_cn = [
        factory.nes(),
        factory.nes(index=1, not_before=NOW - timedelta(days=1)),
        factory.test_certificate(),
        factory.other(),
    ]
    infos = [c.info() for c in same_cn]
    assert len({i.common_name for i in infos}) == 1
    assert len({i.serial_number for i in infos}) == len(infos)
    assert len({(i.serial_number, i.kind) for i in infos}) == len(infos)
    assert len({i.describe() for i in infos}) == len(infos)
    assert len({i.fingerprint_sha256 for i in infos}) == len(infos)
    assert len({c.object_id for c in same_cn}) == len(infos)
    assert len({c.label for c in same_cn}) == len(infos)
    for info in infos:
        assert info.serial_hex in info.describe("en")
        assert info.kind.display("en") in info.describe("en")


# ---- the card picker ----------------------------------------------------------------------


def test_nes_card_summary(factory: CertificateFactory) -> None:
    nes = factory.nes()
    certs = [c.info() for c in (*factory.ca_certificates, nes)]
    summary = CardSummary.from_certificates(certs)
    assert summary.holder_name == DEFAULT_HOLDER
    assert summary.tckn == Tckn(DEFAULT_TCKN)
    assert summary.masked_tckn == "100******46"
    assert summary.products == (Product.NES,)
    assert summary.expires_at == nes.not_after  # the CA certificates are ignored
    assert summary.days_left(NOW) == (nes.not_after - NOW).days
    assert len(summary.certificates) == 4
    line = summary.display("tr")
    assert DEFAULT_HOLDER in line
    assert "100******46" in line
    assert Product.NES.display("tr") in line
    assert nes.not_after.strftime("%d.%m.%Y") in line  # DD.MM.YYYY, as the portal shows it
    assert nes.not_after.date().isoformat() in summary.display("en")
    assert DEFAULT_TCKN not in line + repr(summary) + summary.display("en")


def test_mali_muhur_card_summary(factory: CertificateFactory) -> None:
    signing = factory.mali_muhur_signing(not_after=NOW + timedelta(days=400))
    encryption = factory.mali_muhur_encryption(not_after=NOW + timedelta(days=200))
    summary = CardSummary.from_certificates([encryption.info(), signing.info()])
    assert summary.holder_name == DEFAULT_COMPANY
    assert summary.tckn is None
    assert summary.masked_tckn is None
    assert summary.products == (Product.MALI_MUHUR,)
    assert summary.expires_at == encryption.not_after
    # the organisation's seal names no person: no "T.C. Kimlik No -" in the picker's line
    for lang in ("tr", "en"):
        shown = summary.display(lang)
        assert "T.C. Kimlik No" not in shown and " - " not in shown, shown
        assert shown.startswith(DEFAULT_COMPANY + " · Mali Mühür")
    assert f"{encryption.not_after:%d.%m.%Y}" in summary.display("tr")


def test_summary_expiry_counts_only_product_certificates(factory: CertificateFactory) -> None:
    nes = factory.nes()
    early = factory.issue(
        CertificateKind.OTHER,
        subject=person(DEFAULT_HOLDER, DEFAULT_TCKN),
        subject_id=DEFAULT_TCKN,
        key=KeySpec.EC_P384,
        not_after=NOW + timedelta(days=10),
    ).info()
    summary = CardSummary.from_certificates([early, nes.info()])
    assert summary.expires_at == nes.not_after
    only_other = CardSummary.from_certificates([early])
    assert only_other.products == ()
    assert only_other.expires_at == early.not_after


def test_summary_prefers_the_nes_holder(factory: CertificateFactory) -> None:
    """The NES speaks for the card even when a certificate with another name comes first."""
    stray = factory.other(name="BAŞKA BİRİ", tckn=OTHER_TCKN).info()
    nes = factory.nes().info()
    summary = CardSummary.from_certificates([stray, nes])
    assert summary.holder_name == DEFAULT_HOLDER
    assert summary.tckn == Tckn(DEFAULT_TCKN)


def test_card_with_both_products(factory: CertificateFactory) -> None:
    certs = [c.info() for c in (factory.mali_muhur_signing(), factory.nes())]
    assert CardSummary.from_certificates(certs).products == (Product.NES, Product.MALI_MUHUR)


def test_empty_card_summary() -> None:
    summary = CardSummary.from_certificates([])
    assert summary.holder_name is None
    assert summary.tckn is None
    assert summary.products == ()
    assert summary.expires_at is None
    assert summary.days_left(NOW) is None
    assert summary.display("en") == "- · - · valid until -"


# ---- the signing certificate --------------------------------------------------------------


def test_nes_is_the_signing_certificate(factory: CertificateFactory) -> None:
    nes = factory.nes().info()
    certs = [c.info() for c in factory.ca_certificates] + [nes, factory.other().info()]
    assert signing_certificate(certs, NOW) == nes
    assert signing_certificate(certs, NOW, product=Product.NES) == nes
    assert signing_certificate(certs, NOW, product=Product.MALI_MUHUR) is None


def test_no_signing_certificate_outside_validity(factory: CertificateFactory) -> None:
    certs = [factory.expired_nes().info(), factory.not_yet_valid_nes().info()]
    assert signing_certificate(certs, NOW) is None
    future = certs[1]
    assert signing_certificate(certs, future.not_before) == future


def test_unqualified_or_non_signing_certificates_are_never_chosen(
    factory: CertificateFactory,
) -> None:
    certs = [
        factory.other().info(),  # digitalSignature, not qualified
        factory.mali_muhur_encryption().info(),  # encryption only
        custom(factory, policies=(POLICY_NES,)),  # NES policy but no QC statement
        *(c.info() for c in factory.ca_certificates),
    ]
    assert signing_certificate(certs, NOW) is None


def test_mali_muhur_signing_is_chosen_for_its_product(factory: CertificateFactory) -> None:
    signing = factory.mali_muhur_signing().info()
    certs = [factory.mali_muhur_encryption().info(), signing]
    assert signing_certificate(certs, NOW) == signing
    assert signing_certificate(certs, NOW, product=Product.MALI_MUHUR) == signing
    nes = factory.nes().info()
    assert signing_certificate([*certs, nes], NOW) == nes


def test_renewed_nes_wins_whatever_the_order(factory: CertificateFactory) -> None:
    old = factory.nes().info()
    renewed = factory.nes(index=1, not_before=NOW - timedelta(days=1)).info()
    assert renewed.not_after > old.not_after
    assert signing_certificate([old, renewed], NOW) == renewed
    assert signing_certificate([renewed, old], NOW) == renewed


def test_non_repudiation_is_preferred(factory: CertificateFactory) -> None:
    seal = factory.qualified_seal().info()
    assert seal.key_usage == {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION}
    nes = factory.nes().info()
    assert signing_certificate([seal, nes], NOW) == nes
