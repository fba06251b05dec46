"""Test certificates shaped like Kamu SM's, from a test CA, for tests, demos and training.

:class:`CertificateFactory` runs a throw-away CA hierarchy named like Kamu SM's but marked as a
test ("Kamu SM Kök … - Sürüm 6 (TEST)", "Kamu TEST … - Sürüm 6") and issues the certificates
a real card carries: NES with QC statements and the NES policy, Mali Mühür signing (policy and
EKU) and encryption, Kurumsal Mühür seals, Kamu SM test certificates, plain ones, expired and
not-yet-valid ones, on RSA 2048 or ECDSA P-384 keys, with Turkish names and the T.C. Kimlik No
in the subject serialNumber.
Each :class:`IssuedCertificate` carries its DER, a token label in the real style
(``{TCKN}NES0``, ``{VKN}SIGN0``, ``{VKN}ENCR0``) and an object id (the key's subject key
identifier, as a card pairs a certificate with its key); :func:`write_certificates` puts them
on a test token (:mod:`kamusm.testing.softhsm`).

Works outside pytest (the sandbox provisions demo cards with it). Keys are cached for the
process: EC keys are derived from their name, so they are the same in every run; RSA keys are
generated once per name and process. Every factory in a process is the same test CA (same names,
same keys), so serial numbers are unique in the process, as a CA never reuses one: they are
derived from what is issued and from the issue's sequence number in the process. The same
calls in the same order therefore give certificates with the same fields in every run (ECDSA
signatures are randomised, so the DER bytes differ).

Needs ``cryptography`` (extra ``test``; ``sandbox`` brings it too); the library proper reads
certificates with asn1crypto only.
"""

from __future__ import annotations

from kamusm._extras import require

require("test", "cryptography")

import enum
import functools
import hashlib
import itertools
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeAlias

import attrs
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from kamusm.certs import (
    EKU_MALI_MUHUR_SIGNING,
    POLICY_KURUMSAL_MUHUR,
    POLICY_MALI_MUHUR,
    POLICY_MOBILE_NES,
    POLICY_NES,
    POLICY_TEST,
    QC_BTK_QUALIFIED,
    QC_BTK_QUALIFIED_SEAL,
    QC_ETSI_COMPLIANCE,
    CertificateInfo,
    CertificateKind,
)
from kamusm.certs import _QcStatements as QcStatementsSpec  # the spec the library reads with
from kamusm.values import Tckn

__all__ = [
    "DEFAULT_COMPANY",
    "DEFAULT_HOLDER",
    "DEFAULT_INSTITUTION",
    "DEFAULT_TCKN",
    "DEFAULT_VKN",
    "TEST_MALI_MUHUR_CA_NAME",
    "TEST_NES_CA_NAME",
    "TEST_ROOT_CA_NAME",
    "CertificateFactory",
    "CertificateWriter",
    "ExtraExtension",
    "IssuedCertificate",
    "KeyPairToken",
    "KeySpec",
    "TokenObject",
    "certify_on_token",
    "write_certificates",
]

logger = logging.getLogger(__name__)

TEST_ROOT_CA_NAME = "Kamu SM Kök Sertifika Hizmet Sağlayıcısı - Sürüm 6 (TEST)"
# A CN has at most 64 characters, and cryptography counts UTF-8 bytes (refusing longer names
# when it writes them and warning when it reads them). " (TEST)" does not fit after the issuing
# CAs' real names ("Kamu Elektronik Sertifika Hizmet Sağlayıcısı - Sürüm 6", "Mali Mühür
# Elektronik Sertifika Hizmet Sağlayıcısı - Sürüm 2"), so there "TEST" replaces "Elektronik".
TEST_NES_CA_NAME = "Kamu TEST Sertifika Hizmet Sağlayıcısı - Sürüm 6"
TEST_MALI_MUHUR_CA_NAME = "Mali Mühür TEST Sertifika Hizmet Sağlayıcısı - Sürüm 2"
_CA_ORGANIZATION = "Türkiye Bilimsel ve Teknolojik Araştırma Kurumu - TÜBİTAK"
_CA_UNIT = "Kamu Sertifikasyon Merkezi - Kamu SM (TEST)"
_CPS_URI = "http://depo.kamusm.test/ilke"

#: A holder whose name uses the Turkish capitals (Ş, İ, Ğ, Ç, Ö, Ü; I without a dot).
DEFAULT_HOLDER = "IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK"
#: A valid T.C. Kimlik No (the checksum example of DOMAIN.md); not a real person's.
DEFAULT_TCKN = "10000000146"
#: A Mali Mühür holder with lowercase Turkish letters (ı, ş, ç, ö, ü, ğ).
DEFAULT_COMPANY = "Örnek Yazılım Çözümleri ve Dağıtım Anonim Şirketi"
DEFAULT_VKN = "1234567890"
DEFAULT_INSTITUTION = "Özel Güvenlik İşleri Genel Müdürlüğü (TEST)"

#: What :func:`write_certificates` and the SoftHSM helpers take: ``(der, label, object_id)``.
TokenObject: TypeAlias = tuple[bytes, str, bytes]
PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
#: An extension to add: non-critical as it is, or ``(extension, critical)``.
ExtraExtension: TypeAlias = x509.ExtensionType | tuple[x509.ExtensionType, bool]

_DEFAULT_VALIDITY = timedelta(days=3 * 365)
_BACKDATE = timedelta(days=30)
_P384_ORDER = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    16,
)
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
_OID_QC_STATEMENTS = ObjectIdentifier("1.3.6.1.5.5.7.1.3")
_QC_TYPE = "0.4.0.1862.1.6"
_QC_TYPE_ESEAL = "0.4.0.1862.1.6.2"


class KeySpec(enum.Enum):
    """The key a test certificate is issued for."""

    RSA_2048 = "rsa2048"
    EC_P384 = "ec-p384"
    EC_P256 = "ec-p256"


@functools.cache
def _private_key(spec: KeySpec, name: str) -> PrivateKey:
    """The process's key called ``name``: EC keys are derived from the name, RSA generated."""
    if spec is KeySpec.EC_P384:
        seed = hashlib.sha384(f"kamusm-test-key:{name}".encode()).digest()
        value = int.from_bytes(seed, "big") % (_P384_ORDER - 1) + 1
        return ec.derive_private_key(value, ec.SECP384R1())
    if spec is KeySpec.EC_P256:
        seed = hashlib.sha256(f"kamusm-test-key:{name}".encode()).digest()
        value = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(value, ec.SECP256R1())
    logger.debug("Generating an RSA 2048 test key")
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ---- the QC statements, which cryptography does not build ----------------------------------


class _QcTypes(asn1_core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    """ETSI ``QcType``: a sequence of the types (e-signature, e-seal, web) a certificate is."""

    _child_spec = asn1_core.ObjectIdentifier


def _qc_statements(statements: Sequence[tuple[str, Any]]) -> bytes:
    """The DER of a ``QCStatements`` extension value, built with the spec the library reads it
    with (:mod:`kamusm.certs`); ``info`` is an asn1crypto value or ``None``."""
    items = [
        {"statement_id": oid, **({"statement_info": info} if info is not None else {})}
        for oid, info in statements
    ]
    return bytes(QcStatementsSpec(items).dump())


# ---- issued certificates ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class IssuedCertificate:
    """A test certificate with what a token object needs: DER, label and object id.

    ``kind`` is what the factory meant to issue (``None`` for a certificate whose OIDs the
    caller chose); :meth:`info` reads it back the way the library does. ``private_key`` is
    the test key (cryptography), for tests that sign; ``None`` when the certificate was issued
    for a public key whose private key lives on a token (:func:`certify_on_token`).
    """

    der: bytes = attrs.field(repr=False)
    label: str
    object_id: bytes
    kind: CertificateKind | None
    key_spec: KeySpec
    serial_number: int
    not_before: datetime
    not_after: datetime
    private_key: PrivateKey | None = attrs.field(repr=False, eq=False)

    def as_token_object(self) -> TokenObject:
        """``(der, label, object_id)``: what the SoftHSM helpers write on a token."""
        return (self.der, self.label, self.object_id)

    def info(self) -> CertificateInfo:
        """Read back through :meth:`kamusm.certs.CertificateInfo.from_der`."""
        return CertificateInfo.from_der(self.der, label=self.label, object_id=self.object_id)

    @property
    def pem(self) -> str:
        """The certificate as PEM text."""
        cert = x509.load_der_x509_certificate(self.der)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@attrs.frozen(kw_only=True)
class _Authority:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    certificate: IssuedCertificate


@attrs.frozen(kw_only=True)
class _Profile:
    """What distinguishes one kind of certificate from another."""

    kind: CertificateKind
    label_suffix: str
    policies: tuple[str, ...] = ()
    ekus: tuple[ObjectIdentifier, ...] = ()
    statements: tuple[tuple[str, Any], ...] = ()
    signing: bool = True
    mali_muhur: bool = False
    intended: bool = True
    """False once a caller replaced the OIDs: the result's kind is then for the reader."""


_NES_STATEMENTS: tuple[tuple[str, Any], ...] = (
    (QC_ETSI_COMPLIANCE, None),
    (QC_BTK_QUALIFIED, None),
)
_SEAL_STATEMENTS: tuple[tuple[str, Any], ...] = (
    (QC_ETSI_COMPLIANCE, None),
    (_QC_TYPE, _QcTypes([_QC_TYPE_ESEAL])),
    (QC_BTK_QUALIFIED_SEAL, None),
)
_PROFILES = {
    CertificateKind.NES: _Profile(
        kind=CertificateKind.NES,
        label_suffix="NES",
        policies=(POLICY_NES,),
        statements=_NES_STATEMENTS,
    ),
    CertificateKind.MALI_MUHUR_SIGNING: _Profile(
        kind=CertificateKind.MALI_MUHUR_SIGNING,
        label_suffix="SIGN",
        policies=(POLICY_MALI_MUHUR,),
        ekus=(ObjectIdentifier(EKU_MALI_MUHUR_SIGNING),),
        mali_muhur=True,
    ),
    CertificateKind.MALI_MUHUR_ENCRYPTION: _Profile(
        kind=CertificateKind.MALI_MUHUR_ENCRYPTION,
        label_suffix="ENCR",
        policies=(POLICY_MALI_MUHUR,),
        signing=False,
        mali_muhur=True,
    ),
    CertificateKind.QUALIFIED_SEAL: _Profile(
        kind=CertificateKind.QUALIFIED_SEAL,
        label_suffix="MUHUR",
        policies=(POLICY_KURUMSAL_MUHUR,),
        statements=_SEAL_STATEMENTS,
    ),
    CertificateKind.TEST: _Profile(
        kind=CertificateKind.TEST,
        label_suffix="TEST",
        policies=(POLICY_TEST,),
        statements=_NES_STATEMENTS,
    ),
    CertificateKind.OTHER: _Profile(
        kind=CertificateKind.OTHER,
        label_suffix="AUTH",
        ekus=(ExtendedKeyUsageOID.CLIENT_AUTH,),
    ),
}


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


class CertificateFactory:
    """A test CA hierarchy named like Kamu SM's that issues realistic test certificates.

    ``now`` is the reference time (default: the current time, to the second); every default
    validity is relative to it. The root and the two issuing CAs (NES, Mali Mühür) are
    ECDSA P-384, as Kamu SM's Sürüm 6 hierarchy is. Their certificates are :attr:`root`,
    :attr:`nes_ca` and :attr:`mali_muhur_ca`.
    """

    def __init__(self, *, now: datetime | None = None) -> None:
        reference = now if now is not None else datetime.now(UTC).replace(microsecond=0)
        self.now = _aware(reference, "now")
        root_name = _ca_name(TEST_ROOT_CA_NAME)
        root_key = _ca_key("root")
        root_cert = self._ca_certificate(
            name=root_name, key=root_key, issuer_name=root_name, issuer_key=root_key
        )
        self._root = _Authority(name=root_name, key=root_key, certificate=root_cert)
        self._nes_ca = self._subordinate(TEST_NES_CA_NAME, "nes-ca")
        self._mali_muhur_ca = self._subordinate(TEST_MALI_MUHUR_CA_NAME, "mali-muhur-ca")

    def __repr__(self) -> str:
        return f"CertificateFactory(now={self.now.isoformat()})"

    @property
    def root(self) -> IssuedCertificate:
        """The self-signed test root ("Kamu SM Kök … - Sürüm 6 (TEST)")."""
        return self._root.certificate

    @property
    def nes_ca(self) -> IssuedCertificate:
        """The issuing CA of NES, seal, test and other certificates."""
        return self._nes_ca.certificate

    @property
    def mali_muhur_ca(self) -> IssuedCertificate:
        """The issuing CA of Mali Mühür certificates."""
        return self._mali_muhur_ca.certificate

    @property
    def ca_certificates(self) -> tuple[IssuedCertificate, ...]:
        """Root first, then the issuing CAs."""
        return (self.root, self.nes_ca, self.mali_muhur_ca)

    # ---- named issuers ----

    def nes(
        self,
        *,
        name: str = DEFAULT_HOLDER,
        tckn: Tckn | str = DEFAULT_TCKN,
        key: KeySpec = KeySpec.RSA_2048,
        mobile: bool = False,
        index: int = 0,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        serial_number: int | None = None,
        label: str | None = None,
        extra_extensions: Sequence[ExtraExtension] = (),
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """A person's NES: QcCompliance and BTK statements, NES policy, nonRepudiation.

        ``public_key`` (a DER SubjectPublicKeyInfo, as :func:`certify_on_token` passes) is
        certified instead of a key of the factory's own."""
        number = tckn.value if isinstance(tckn, Tckn) else tckn
        profile = _PROFILES[CertificateKind.NES]
        if mobile:
            profile = attrs.evolve(profile, policies=(POLICY_MOBILE_NES,))
        return self._issue(
            profile,
            subject=_person_name(name, number),
            subject_id=number,
            key=key,
            index=index,
            not_before=not_before,
            not_after=not_after,
            serial_number=serial_number,
            label=label,
            extra_extensions=extra_extensions,
            public_key=public_key,
        )

    def mali_muhur_signing(
        self,
        *,
        company: str = DEFAULT_COMPANY,
        vkn: str = DEFAULT_VKN,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        label: str | None = None,
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """A Mali Mühür signing certificate: Mali Mühür policy and signing EKU."""
        return self.issue(
            CertificateKind.MALI_MUHUR_SIGNING,
            subject=_organization_name(company, vkn),
            subject_id=vkn,
            key=key,
            index=index,
            not_before=not_before,
            not_after=not_after,
            label=label,
            public_key=public_key,
        )

    def mali_muhur_encryption(
        self,
        *,
        company: str = DEFAULT_COMPANY,
        vkn: str = DEFAULT_VKN,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        label: str | None = None,
    ) -> IssuedCertificate:
        """A Mali Mühür encryption certificate: Mali Mühür policy, no signing EKU."""
        return self.issue(
            CertificateKind.MALI_MUHUR_ENCRYPTION,
            subject=_organization_name(company, vkn),
            subject_id=vkn,
            key=key,
            index=index,
            not_before=not_before,
            not_after=not_after,
            label=label,
        )

    def qualified_seal(
        self,
        *,
        organization: str = DEFAULT_INSTITUTION,
        vkn: str = DEFAULT_VKN,
        key: KeySpec = KeySpec.EC_P384,
        index: int = 0,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        label: str | None = None,
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """A Kurumsal Mühür: Kurumsal Mühür policy, QcCompliance, QcType eseal, BTK seal."""
        return self.issue(
            CertificateKind.QUALIFIED_SEAL,
            subject=_organization_name(organization, vkn),
            subject_id=vkn,
            key=key,
            index=index,
            not_before=not_before,
            not_after=not_after,
            label=label,
            public_key=public_key,
        )

    def test_certificate(
        self,
        *,
        name: str = DEFAULT_HOLDER,
        tckn: Tckn | str = DEFAULT_TCKN,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        label: str | None = None,
    ) -> IssuedCertificate:
        """A Kamu SM test certificate (test policy), otherwise shaped like an NES."""
        number = tckn.value if isinstance(tckn, Tckn) else tckn
        return self.issue(
            CertificateKind.TEST,
            subject=_person_name(name, number),
            subject_id=number,
            key=key,
            index=index,
            label=label,
        )

    def other(
        self,
        *,
        name: str = DEFAULT_HOLDER,
        tckn: Tckn | str = DEFAULT_TCKN,
        key: KeySpec = KeySpec.EC_P384,
        index: int = 0,
        label: str | None = None,
    ) -> IssuedCertificate:
        """A plain client-authentication certificate: no Kamu SM policy, not qualified."""
        number = tckn.value if isinstance(tckn, Tckn) else tckn
        return self.issue(
            CertificateKind.OTHER,
            subject=_person_name(name, number),
            subject_id=number,
            key=key,
            index=index,
            label=label,
        )

    def timestamp_authority(self, *, name: str = "Kamu SM TEST Zaman Damgası") -> IssuedCertificate:
        """An RSA 2048 timestamp authority certificate (EKU timeStamping, critical, as RFC 3161
        requires), issued by the NES CA: for a test timestamp server."""
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        return self.issue(
            CertificateKind.OTHER,
            subject=_ca_name(name),
            subject_id="TSA",
            key=KeySpec.RSA_2048,
            extended_key_usage=[],
            extra_extensions=[(eku, True)],
        )

    def expired_nes(
        self,
        *,
        days_ago: int = 1,
        name: str = DEFAULT_HOLDER,
        tckn: Tckn | str = DEFAULT_TCKN,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """An NES whose validity ended ``days_ago`` days before :attr:`now`."""
        not_after = self.now - timedelta(days=days_ago)
        return self.nes(
            name=name,
            tckn=tckn,
            key=key,
            index=index,
            public_key=public_key,
            not_before=not_after - _DEFAULT_VALIDITY,
            not_after=not_after,
        )

    def not_yet_valid_nes(
        self,
        *,
        days_ahead: int = 1,
        name: str = DEFAULT_HOLDER,
        tckn: Tckn | str = DEFAULT_TCKN,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """An NES whose validity begins ``days_ahead`` days after :attr:`now`."""
        not_before = self.now + timedelta(days=days_ahead)
        return self.nes(
            name=name,
            tckn=tckn,
            key=key,
            index=index,
            public_key=public_key,
            not_before=not_before,
            not_after=not_before + _DEFAULT_VALIDITY,
        )

    def nes_card(
        self, *, name: str = DEFAULT_HOLDER, tckn: Tckn | str = DEFAULT_TCKN
    ) -> list[IssuedCertificate]:
        """What an NES card carries: the holder's NES (RSA 2048)."""
        return [self.nes(name=name, tckn=tckn)]

    def mali_muhur_card(
        self, *, company: str = DEFAULT_COMPANY, vkn: str = DEFAULT_VKN
    ) -> list[IssuedCertificate]:
        """What a Mali Mühür card carries: the signing and the encryption certificate."""
        return [
            self.mali_muhur_signing(company=company, vkn=vkn),
            self.mali_muhur_encryption(company=company, vkn=vkn),
        ]

    # ---- the general issuer ----

    def issue(
        self,
        kind: CertificateKind,
        *,
        subject: x509.Name,
        subject_id: str,
        key: KeySpec = KeySpec.RSA_2048,
        index: int = 0,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        serial_number: int | None = None,
        label: str | None = None,
        extra_extensions: Sequence[ExtraExtension] = (),
        policies: Sequence[str] | None = None,
        extended_key_usage: Sequence[str] | None = None,
        qc_statements: Sequence[str] | None = None,
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        """Issue a certificate shaped as ``kind`` for ``subject``.

        ``subject_id`` (the T.C. Kimlik No or VKN) and ``index`` make the label
        (``{subject_id}{NES|SIGN|ENCR|MUHUR|TEST|AUTH}{index}``) and choose the key: the same
        holder, kind, index and validity give the same key, so a renewal (another index or
        validity) gets another key and another object id, as on a real card. Validity defaults
        to three years starting 30 days before :attr:`now`.

        ``policies``, ``extended_key_usage`` and ``qc_statements`` (dotted OIDs) replace the
        kind's own, for certificates that test the classification rules; ``kind`` then only
        names the label and the key usage, and :attr:`IssuedCertificate.kind` is ``None``
        unless nothing was replaced. ``extra_extensions`` are added as they are
        (non-critical), or as ``(extension, critical)`` pairs. ``public_key`` (DER
        SubjectPublicKeyInfo of a ``key`` kind) is certified instead of the factory's own key.
        """
        profile = _PROFILES[kind]
        if policies is not None:
            profile = attrs.evolve(profile, policies=tuple(policies), intended=False)
        if extended_key_usage is not None:
            ekus = tuple(ObjectIdentifier(oid) for oid in extended_key_usage)
            profile = attrs.evolve(profile, ekus=ekus, intended=False)
        if qc_statements is not None:
            statements = tuple((oid, None) for oid in qc_statements)
            profile = attrs.evolve(profile, statements=statements, intended=False)
        return self._issue(
            profile,
            subject=subject,
            subject_id=subject_id,
            key=key,
            index=index,
            not_before=not_before,
            not_after=not_after,
            serial_number=serial_number,
            label=label,
            extra_extensions=extra_extensions,
            public_key=public_key,
        )

    def _issue(
        self,
        profile: _Profile,
        *,
        subject: x509.Name,
        subject_id: str,
        key: KeySpec,
        index: int,
        not_before: datetime | None,
        not_after: datetime | None,
        serial_number: int | None,
        label: str | None,
        extra_extensions: Sequence[ExtraExtension],
        public_key: bytes | None = None,
    ) -> IssuedCertificate:
        start = _aware(not_before, "not_before") if not_before else self.now - _BACKDATE
        end = _aware(not_after, "not_after") if not_after else start + _DEFAULT_VALIDITY
        key_name = f"{profile.kind.value}:{subject_id}:{index}:{start.isoformat()}"
        private_key: PrivateKey | None = None
        if public_key is None:
            private_key = _private_key(key, key_name)
            subject_key = private_key.public_key()
        else:
            subject_key = _load_public_key(public_key)
        authority = self._mali_muhur_ca if profile.mali_muhur else self._nes_ca
        serial = serial_number or _serial(
            key_name,
            key.value,
            *profile.policies,
            end.isoformat(),
            subject.rfc4514_string(),
            str(_next_issue()),
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(authority.name)
            .public_key(subject_key)
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(profile, key), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
                critical=False,
            )
        )
        if profile.policies:
            policies = [
                x509.PolicyInformation(ObjectIdentifier(oid), [_CPS_URI])
                for oid in profile.policies
            ]
            builder = builder.add_extension(x509.CertificatePolicies(policies), critical=False)
        if profile.ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(profile.ekus), critical=False)
        if profile.statements:
            statements = x509.UnrecognizedExtension(
                _OID_QC_STATEMENTS, _qc_statements(profile.statements)
            )
            builder = builder.add_extension(statements, critical=False)
        for extra in extra_extensions:
            extension, critical = extra if isinstance(extra, tuple) else (extra, False)
            builder = builder.add_extension(extension, critical=critical)
        certificate = builder.sign(authority.key, hashes.SHA384())
        object_id = x509.SubjectKeyIdentifier.from_public_key(subject_key).digest
        return IssuedCertificate(
            der=certificate.public_bytes(serialization.Encoding.DER),
            label=label if label is not None else f"{subject_id}{profile.label_suffix}{index}",
            object_id=object_id,
            kind=profile.kind if profile.intended else None,
            key_spec=key,
            serial_number=serial,
            not_before=start,
            not_after=end,
            private_key=private_key,
        )

    # ---- the CA hierarchy ----

    def _subordinate(self, common_name: str, key_name: str) -> _Authority:
        name = _ca_name(common_name)
        key = _ca_key(key_name)
        cert = self._ca_certificate(
            name=name,
            key=key,
            issuer_name=self._root.name,
            issuer_key=self._root.key,
            path_length=0,
        )
        return _Authority(name=name, key=key, certificate=cert)

    def _ca_certificate(
        self,
        *,
        name: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        issuer_name: x509.Name,
        issuer_key: ec.EllipticCurvePrivateKey,
        path_length: int | None = None,
    ) -> IssuedCertificate:
        start = self.now - timedelta(days=5 * 365)
        end = self.now + timedelta(days=15 * 365)
        common_name = str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        serial = _serial("ca", common_name, start.isoformat())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(issuer_key, hashes.SHA384())
        )
        return IssuedCertificate(
            der=certificate.public_bytes(serialization.Encoding.DER),
            label=common_name,
            object_id=x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest,
            kind=CertificateKind.OTHER,
            key_spec=KeySpec.EC_P384,
            serial_number=serial,
            not_before=start,
            not_after=end,
            private_key=key,
        )


def _load_public_key(der: bytes) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    loaded = serialization.load_der_public_key(der)
    if not isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("a test certificate is issued for an RSA or EC key")
    return loaded


def _ca_key(name: str) -> ec.EllipticCurvePrivateKey:
    key = _private_key(KeySpec.EC_P384, f"ca:{name}")
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # noqa: S101 (narrowing for mypy)
    return key


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TR"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Ankara"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _CA_ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _CA_UNIT),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _person_name(name: str, tckn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TR"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, tckn),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def _organization_name(organization: str, vkn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, vkn),
            x509.NameAttribute(NameOID.COMMON_NAME, organization),
        ]
    )


def _key_usage(profile: _Profile, key: KeySpec) -> x509.KeyUsage:
    signing = profile.signing
    return x509.KeyUsage(
        digital_signature=signing
        and profile.kind not in {CertificateKind.NES, CertificateKind.TEST},
        content_commitment=signing and profile.kind is not CertificateKind.OTHER,
        key_encipherment=not signing and key is KeySpec.RSA_2048,
        data_encipherment=not signing and key is KeySpec.RSA_2048,
        key_agreement=not signing and key is not KeySpec.RSA_2048,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


_ISSUED = itertools.count(1)
_ISSUED_LOCK = threading.Lock()


def _next_issue() -> int:
    """The process-wide sequence number of an end-entity certificate."""
    with _ISSUED_LOCK:
        return next(_ISSUED)


def _serial(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:15], "big") | 1 << 118


# ---- onto a token -------------------------------------------------------------------------


class CertificateWriter(Protocol):
    """A test token that stores certificate objects, such as
    :class:`kamusm.testing.softhsm.SoftHsmToken`."""

    def write_certificate(self, der: bytes, label: str, object_id: bytes) -> None: ...


def write_certificates(
    token: CertificateWriter, certificates: Iterable[IssuedCertificate | TokenObject]
) -> int:
    """Store each certificate on the test ``token`` with its label and object id.

    Returns how many were written. For SoftHSM2 and opencryptoki test tokens; a token made by
    :func:`kamusm.testing.softhsm.create_softhsm_token` also takes the same objects directly
    (``certificates=[c.as_token_object() for c in issued]``).
    """
    objects = [c.as_token_object() if isinstance(c, IssuedCertificate) else c for c in certificates]
    logger.debug("Writing %d certificate objects to a test token", len(objects))
    for der, label, object_id in objects:
        token.write_certificate(der, label, object_id)
    logger.info("Wrote %d certificate objects to a test token", len(objects))
    return len(objects)


class KeyPairToken(CertificateWriter, Protocol):
    """A test token that also makes key pairs on itself, such as
    :class:`kamusm.testing.softhsm.SoftHsmToken` and
    :class:`kamusm.testing.opencryptoki.OpencryptokiToken`."""

    def generate_key_pair(self, key: KeySpec, *, label: str, object_id: bytes) -> bytes: ...


def certify_on_token(
    token: KeyPairToken,
    issue: Callable[..., IssuedCertificate],
    *,
    key: KeySpec = KeySpec.RSA_2048,
    **fields: Any,
) -> IssuedCertificate:
    """Make a key pair on the test ``token`` (the private key never leaves it), certify its
    public key with ``issue`` (a factory method such as :meth:`CertificateFactory.nes`, given
    ``key``, ``public_key`` and ``fields``), and store the certificate next to the key with the
    same ``CKA_ID``, as a card carries them. Returns the certificate (``private_key`` is
    ``None``)."""
    object_id = secrets.token_bytes(20)
    public_key = token.generate_key_pair(
        key, label=f"key-{object_id.hex()[:8]}", object_id=object_id
    )
    issued = issue(key=key, public_key=public_key, **fields)
    issued = attrs.evolve(issued, object_id=object_id)
    token.write_certificate(issued.der, issued.label, issued.object_id)
    logger.info("Certified a %s key pair made on a test token", key.value)
    return issued
