"""X.509 certificates on Kamu SM cards: read them, classify them, pick the right one.

The token layer hands each certificate object's DER value (with its PKCS#11 label and id) to
:meth:`CertificateInfo.from_der`, which reads everything a DYS or the PIN flows need into a
plain frozen value: names, the holder's T.C. Kimlik No, validity, key usage, policies, QC
statements, key type. No asn1crypto object leaves this module, and every failure on bad bytes
is a :class:`~kamusm.errors.CertificateParseError`.

What a certificate *is* (:class:`CertificateKind`) is decided from its object identifiers
only (certificate policies, extended key usage, QC statements), never from names or labels,
following the rules of Kamu SM's own software:

* qualified: the ETSI QcCompliance statement or the BTK (Law 5070) qualified statement;
* Mali Mühür signing: the Mali Mühür policy and the Mali Mühür signing EKU, both present.

For the card picker ("Kart Seçiniz") :class:`CardSummary` condenses a card's certificates into
the holder's name, masked T.C. Kimlik No, products and expiry; :func:`signing_certificate`
chooses the certificate a DYS should sign with.

This is the only module of kamusm that imports asn1crypto.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
from asn1crypto import core as _core
from asn1crypto import x509 as _x509

from kamusm.errors import CertificateParseError
from kamusm.messages import DEFAULT_LANGUAGE, Language, format_date, text
from kamusm.values import Product, Tckn

__all__ = [
    "EKU_MALI_MUHUR_SIGNING",
    "KAMU_SM_POLICY_ARC",
    "POLICY_KURUMSAL_MUHUR",
    "POLICY_MALI_MUHUR",
    "POLICY_MOBILE_NES",
    "POLICY_NES",
    "POLICY_TEST",
    "QC_BTK_QUALIFIED",
    "QC_BTK_QUALIFIED_SEAL",
    "QC_BTK_QUALIFIED_SEAL_LEGAL_PERSON",
    "QC_BTK_USAGE_RESTRICTION",
    "QC_ETSI_COMPLIANCE",
    "QC_ETSI_LIMIT_VALUE",
    "CardSummary",
    "CertificateInfo",
    "CertificateKind",
    "KeyAlgorithm",
    "KeyUsage",
    "read_certificates",
    "signing_certificate",
]

logger = logging.getLogger(__name__)

# ---- object identifiers (DOMAIN.md) -------------------------------------------------------

#: Kamu SM's certificate policy arc.
KAMU_SM_POLICY_ARC = "2.16.792.1.2.1.1.5.7"
#: Nitelikli elektronik sertifika (a person's qualified signature).
POLICY_NES = f"{KAMU_SM_POLICY_ARC}.1.1"
#: Mobile NES.
POLICY_MOBILE_NES = f"{KAMU_SM_POLICY_ARC}.1.8"
#: Kamu SM test certificates.
POLICY_TEST = f"{KAMU_SM_POLICY_ARC}.1.4.1"
#: Mali Mühür (financial seal).
POLICY_MALI_MUHUR = f"{KAMU_SM_POLICY_ARC}.4.1"
#: Kurumsal Mühür (an institution's qualified seal).
POLICY_KURUMSAL_MUHUR = f"{KAMU_SM_POLICY_ARC}.1.10"
#: Extended key usage of a Mali Mühür signing certificate.
EKU_MALI_MUHUR_SIGNING = f"{KAMU_SM_POLICY_ARC}.50.1"

#: ETSI EN 319 412-5 statements.
QC_ETSI_COMPLIANCE = "0.4.0.1862.1.1"
QC_ETSI_LIMIT_VALUE = "0.4.0.1862.1.2"
#: BTK statements under Law 5070.
QC_BTK_QUALIFIED = "2.16.792.1.61.0.1.5070.1.1"
QC_BTK_USAGE_RESTRICTION = "2.16.792.1.61.0.1.5070.1.3"
QC_BTK_QUALIFIED_SEAL = "2.16.792.1.61.0.1.5070.2.1"
QC_BTK_QUALIFIED_SEAL_LEGAL_PERSON = "2.16.792.1.61.0.1.5070.2.2"

_NES_POLICIES = frozenset({POLICY_NES, POLICY_MOBILE_NES})
_QUALIFIED_STATEMENTS = frozenset({QC_ETSI_COMPLIANCE, QC_BTK_QUALIFIED})
_SEAL_STATEMENTS = frozenset({QC_BTK_QUALIFIED_SEAL, QC_BTK_QUALIFIED_SEAL_LEGAL_PERSON})

_OID_QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"
_OID_KEY_USAGE = "2.5.29.15"
_OID_BASIC_CONSTRAINTS = "2.5.29.19"
_OID_CERTIFICATE_POLICIES = "2.5.29.32"
_OID_EXTENDED_KEY_USAGE = "2.5.29.37"

_OID_COMMON_NAME = "2.5.4.3"
_OID_SURNAME = "2.5.4.4"
_OID_SERIAL_NUMBER = "2.5.4.5"
_OID_ORGANIZATION = "2.5.4.10"
_OID_GIVEN_NAME = "2.5.4.42"

#: ETSI EN 319 412-1 semantics identifier for a natural person's national number in Türkiye.
_ETSI_TR_NATIONAL_ID_PREFIX = "PNOTR-"

_CURVE_BITS = {
    "secp192r1": 192,
    "secp224r1": 224,
    "secp256r1": 256,
    "secp384r1": 384,
    "secp521r1": 521,
    "brainpoolp256r1": 256,
    "brainpoolp384r1": 384,
    "brainpoolp512r1": 512,
}


# ---- asn1crypto specs for what it does not know --------------------------------------------


class _QcStatement(_core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    # a list: asn1crypto fills in the field specs on first use
    _fields = [  # noqa: RUF012 (asn1crypto reads _fields as a class attribute)
        ("statement_id", _core.ObjectIdentifier),
        ("statement_info", _core.Any, {"optional": True}),
    ]


class _QcStatements(_core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _QcStatement


# ---- enums --------------------------------------------------------------------------------


class CertificateKind(enum.Enum):
    """What a certificate is for, decided from its object identifiers only.

    The rules, first match wins: a certification authority (basic constraints ``cA``) is
    :attr:`OTHER`; the Kamu SM test policy makes :attr:`TEST`; the Mali Mühür policy makes
    :attr:`MALI_MUHUR_SIGNING` with the Mali Mühür signing EKU and
    :attr:`MALI_MUHUR_ENCRYPTION` without it; the Kurumsal Mühür policy or a BTK seal statement
    makes :attr:`QUALIFIED_SEAL`; the NES or mobile NES policy, or a qualified statement,
    makes :attr:`NES`; anything else is :attr:`OTHER`.
    """

    NES = "nes"
    MALI_MUHUR_SIGNING = "mali_muhur_signing"
    MALI_MUHUR_ENCRYPTION = "mali_muhur_encryption"
    QUALIFIED_SEAL = "qualified_seal"
    """Kurumsal Mühür: an institution's qualified electronic seal."""
    TEST = "test"
    OTHER = "other"

    @property
    def product(self) -> Product | None:
        """The card product whose PIN the portal resets, for the kinds that belong to one."""
        return _KIND_PRODUCT.get(self)

    def display(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The kind's name for a person, Turkish by default."""
        return text(f"certificate_kind.{self.value}", lang)


_KIND_PRODUCT = {
    CertificateKind.NES: Product.NES,
    CertificateKind.MALI_MUHUR_SIGNING: Product.MALI_MUHUR,
    CertificateKind.MALI_MUHUR_ENCRYPTION: Product.MALI_MUHUR,
}


class KeyUsage(enum.Enum):
    """The key usage bits of RFC 5280, named as there."""

    DIGITAL_SIGNATURE = "digitalSignature"
    NON_REPUDIATION = "nonRepudiation"
    """Also called contentCommitment: the bit a qualified signature certificate carries."""
    KEY_ENCIPHERMENT = "keyEncipherment"
    DATA_ENCIPHERMENT = "dataEncipherment"
    KEY_AGREEMENT = "keyAgreement"
    KEY_CERT_SIGN = "keyCertSign"
    CRL_SIGN = "cRLSign"
    ENCIPHER_ONLY = "encipherOnly"
    DECIPHER_ONLY = "decipherOnly"


_KEY_USAGE_BY_ASN1 = {
    "digital_signature": KeyUsage.DIGITAL_SIGNATURE,
    "non_repudiation": KeyUsage.NON_REPUDIATION,
    "key_encipherment": KeyUsage.KEY_ENCIPHERMENT,
    "data_encipherment": KeyUsage.DATA_ENCIPHERMENT,
    "key_agreement": KeyUsage.KEY_AGREEMENT,
    "key_cert_sign": KeyUsage.KEY_CERT_SIGN,
    "crl_sign": KeyUsage.CRL_SIGN,
    "encipher_only": KeyUsage.ENCIPHER_ONLY,
    "decipher_only": KeyUsage.DECIPHER_ONLY,
}
_SIGNING_USAGES = frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION})


class KeyAlgorithm(enum.Enum):
    """The certificate's public key type."""

    RSA = "rsa"
    EC = "ec"
    DSA = "dsa"
    ED25519 = "ed25519"
    ED448 = "ed448"
    OTHER = "other"


_KEY_ALGORITHM_BY_ASN1 = {
    "rsa": KeyAlgorithm.RSA,
    "rsassa_pss": KeyAlgorithm.RSA,
    "ec": KeyAlgorithm.EC,
    "dsa": KeyAlgorithm.DSA,
    "ed25519": KeyAlgorithm.ED25519,
    "ed448": KeyAlgorithm.ED448,
}

_FIXED_KEY_BITS = {KeyAlgorithm.ED25519: 256, KeyAlgorithm.ED448: 456}


def _classify(  # noqa: PLR0911 (the rules read top to bottom; the first match wins)
    *,
    is_ca: bool,
    policies: frozenset[str],
    ekus: frozenset[str],
    statements: frozenset[str],
) -> CertificateKind:
    if is_ca:
        return CertificateKind.OTHER
    if POLICY_TEST in policies:
        return CertificateKind.TEST
    if POLICY_MALI_MUHUR in policies:
        if EKU_MALI_MUHUR_SIGNING in ekus:
            return CertificateKind.MALI_MUHUR_SIGNING
        return CertificateKind.MALI_MUHUR_ENCRYPTION
    if POLICY_KURUMSAL_MUHUR in policies or statements & _SEAL_STATEMENTS:
        return CertificateKind.QUALIFIED_SEAL
    if policies & _NES_POLICIES or statements & _QUALIFIED_STATEMENTS:
        return CertificateKind.NES
    return CertificateKind.OTHER


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be a timezone-aware datetime")


# ---- the certificate ----------------------------------------------------------------------


@attrs.frozen(kw_only=True, repr=False)
class CertificateInfo:
    """What kamusm knows about one X.509 certificate: plain values, read once from DER.

    Build it with :meth:`from_der`. ``label`` and ``object_id`` are the PKCS#11 object's
    ``CKA_LABEL`` and ``CKA_ID`` when the certificate was read from a token. The subject's
    ``serialNumber`` is kept as written in :attr:`subject_serial_number`; :attr:`tckn` holds
    it as a :class:`~kamusm.values.Tckn` only when it is a valid T.C. Kimlik No. ``repr``
    shows the T.C. Kimlik No masked, never in full.
    """

    der: bytes
    """The certificate as DER, for a signature that embeds it."""
    common_name: str | None
    """The subject's common name (CN), as written."""
    holder_name: str | None
    """Whom the certificate names: the CN, else given name and surname, else organization."""
    organization: str | None
    """The subject's organization (O), such as a Mali Mühür holder's company."""
    subject_serial_number: str | None
    """The subject's ``serialNumber`` attribute as written (a T.C. Kimlik No, or a VKN)."""
    tckn: Tckn | None
    serial_number: int
    """The certificate's serial number, given by its issuer."""
    issuer_common_name: str | None
    not_before: datetime
    """Start of validity, timezone-aware."""
    not_after: datetime
    """End of validity, timezone-aware."""
    key_usage: frozenset[KeyUsage]
    """Empty when the certificate has no key usage extension."""
    extended_key_usage: frozenset[str]
    """Dotted OIDs."""
    policy_oids: frozenset[str]
    """The certificate policy OIDs, dotted."""
    qc_statement_oids: frozenset[str]
    """The QC statement ids, dotted."""
    key_algorithm: KeyAlgorithm
    key_size: int | None
    """Bits of the RSA modulus or of the EC curve; ``None`` when unknown."""
    key_curve: str | None
    """The named curve of an EC key, such as ``secp384r1``."""
    fingerprint_sha256: str
    """SHA-256 of the DER, lowercase hex."""
    is_ca: bool
    """Whether basic constraints mark it as a certification authority."""
    label: str | None = None
    object_id: bytes | None = None

    @classmethod
    def from_der(
        cls,
        der: bytes | bytearray | memoryview,
        *,
        label: str | None = None,
        object_id: bytes | None = None,
    ) -> CertificateInfo:
        """Read a DER-encoded X.509 certificate.

        Unknown extensions are tolerated. Bytes that are not a readable certificate (empty,
        truncated, damaged, another structure, trailing data) raise
        :class:`~kamusm.errors.CertificateParseError`, and nothing else.
        """
        if not isinstance(der, bytes | bytearray | memoryview):
            raise CertificateParseError()
        data = bytes(der)
        logger.debug("Reading a certificate (%d bytes)", len(data))
        try:
            fields = _read(data)
        except Exception as exc:
            # One translation point: asn1crypto reports malformed input with ValueError,
            # TypeError, KeyError, IndexError, OverflowError and more, lazily, wherever a
            # field is first touched. _read touches every field it uses inside this block.
            logger.debug("Not a readable certificate: %s", type(exc).__name__)
            raise CertificateParseError() from exc
        return cls(der=data, label=label, object_id=object_id, **fields)

    # ---- classification ----

    @property
    def kind(self) -> CertificateKind:
        """What the certificate is for (see :class:`CertificateKind` for the rules)."""
        return _classify(
            is_ca=self.is_ca,
            policies=self.policy_oids,
            ekus=self.extended_key_usage,
            statements=self.qc_statement_oids,
        )

    @property
    def is_qualified(self) -> bool:
        """Qualified as Kamu SM's software decides: QcCompliance or the BTK statement."""
        return bool(self.qc_statement_oids & _QUALIFIED_STATEMENTS)

    @property
    def product(self) -> Product | None:
        """The card product this certificate belongs to: NES, Mali Mühür, or ``None``."""
        return self.kind.product

    @property
    def can_sign(self) -> bool:
        """Whether the key usage allows signatures (digitalSignature or nonRepudiation)."""
        return bool(self.key_usage & _SIGNING_USAGES)

    @property
    def serial_hex(self) -> str:
        """The serial number in uppercase hex, as certificate viewers show it."""
        return f"{self.serial_number:X}"

    # ---- time ----

    def is_valid_at(self, when: datetime) -> bool:
        """Whether ``when`` (timezone-aware) lies within the validity period."""
        _require_aware(when, "when")
        return self.not_before <= when <= self.not_after

    def days_left(self, now: datetime) -> int:
        """Whole days from ``now`` until the end of validity; negative once expired."""
        _require_aware(now, "now")
        return (self.not_after - now).days

    # ---- text ----

    def describe(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """One line that tells this certificate apart from others with the same name."""
        return text(
            "certificate.describe",
            lang,
            name=self.holder_name or "-",
            kind=self.kind.display(lang),
            serial=self.serial_hex,
            expiry=format_date(self.not_after.date(), lang),
        )

    def __repr__(self) -> str:
        label = self.label
        if label is not None and self.tckn is not None:
            label = label.replace(self.tckn.value, self.tckn.masked)
        return (
            f"CertificateInfo(kind={self.kind.name}, holder_name={self.holder_name!r}, "
            f"tckn={self.tckn!r}, serial=0x{self.serial_hex}, "
            f"issuer={self.issuer_common_name!r}, not_after={self.not_after.isoformat()}, "
            f"label={label!r})"
        )


def _read(der: bytes) -> dict[str, Any]:
    """Every field of :class:`CertificateInfo` but the token's, from DER. Raises anything."""
    cert = _x509.Certificate.load(der, strict=True)
    tbs = cert["tbs_certificate"]
    subject = _name_values(tbs["subject"])
    issuer = _name_values(tbs["issuer"])

    key_usage: frozenset[KeyUsage] = frozenset()
    ekus: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()
    statements: frozenset[str] = frozenset()
    is_ca = False
    for ext in tbs["extensions"]:
        oid = ext["extn_id"].dotted
        if oid == _OID_KEY_USAGE:
            key_usage = frozenset(
                _KEY_USAGE_BY_ASN1[name] for name in ext["extn_value"].parsed.native
            )
        elif oid == _OID_EXTENDED_KEY_USAGE:
            ekus = frozenset(purpose.dotted for purpose in ext["extn_value"].parsed)
        elif oid == _OID_CERTIFICATE_POLICIES:
            policies = frozenset(
                info["policy_identifier"].dotted for info in ext["extn_value"].parsed
            )
        elif oid == _OID_QC_STATEMENTS:
            parsed = _QcStatements.load(ext["extn_value"].contents, strict=True)
            statements = frozenset(s["statement_id"].dotted for s in parsed)
        elif oid == _OID_BASIC_CONSTRAINTS:
            is_ca = bool(ext["extn_value"].parsed["ca"].native)

    validity = tbs["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native
    for moment in (not_before, not_after):
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ValueError("validity is not a timezone-aware time")

    algorithm, size, curve = _key_facts(tbs["subject_public_key_info"])
    serial_number = tbs["serial_number"].native
    if not isinstance(serial_number, int):
        raise TypeError("serial number is not an integer")

    common_name = subject.get(_OID_COMMON_NAME)
    organization = subject.get(_OID_ORGANIZATION)
    holder_name = common_name
    if holder_name is None:
        parts = [p for p in (subject.get(_OID_GIVEN_NAME), subject.get(_OID_SURNAME)) if p]
        holder_name = " ".join(parts) if parts else organization
    raw_serial = subject.get(_OID_SERIAL_NUMBER)

    return {
        "common_name": common_name,
        "holder_name": holder_name,
        "organization": organization,
        "subject_serial_number": raw_serial,
        "tckn": _tckn_from(raw_serial),
        "serial_number": serial_number,
        "issuer_common_name": issuer.get(_OID_COMMON_NAME),
        "not_before": not_before,
        "not_after": not_after,
        "key_usage": key_usage,
        "extended_key_usage": ekus,
        "policy_oids": policies,
        "qc_statement_oids": statements,
        "key_algorithm": algorithm,
        "key_size": size,
        "key_curve": curve,
        "fingerprint_sha256": hashlib.sha256(der).hexdigest(),
        "is_ca": is_ca,
    }


def _name_values(name: Any) -> dict[str, str]:
    """The first string value of each attribute type of an X.501 name, by dotted OID."""
    found: dict[str, str] = {}
    for rdn in name.chosen:
        for atv in rdn:
            oid = atv["type"].dotted
            if oid in found:
                continue
            value = atv["value"].native
            if isinstance(value, str):
                found[oid] = value
    return found


def _tckn_from(raw: str | None) -> Tckn | None:
    if raw is None:
        return None
    digits = raw.removeprefix(_ETSI_TR_NATIONAL_ID_PREFIX)
    return Tckn(digits) if Tckn.is_valid(digits) else None


def _key_facts(spki: Any) -> tuple[KeyAlgorithm, int | None, str | None]:
    try:
        name = spki["algorithm"]["algorithm"].native
    except KeyError:
        # asn1crypto cannot pick a spec for a key algorithm it does not know (a post-quantum
        # or national one): such a key is tolerated like an unknown extension, just not read.
        return KeyAlgorithm.OTHER, None, None
    algorithm = _KEY_ALGORITHM_BY_ASN1.get(name)
    if algorithm is None:
        return KeyAlgorithm.OTHER, None, None
    if algorithm is KeyAlgorithm.RSA:
        modulus = spki["public_key"].parsed["modulus"].native
        if not isinstance(modulus, int):
            raise TypeError("RSA modulus is not an integer")
        return algorithm, modulus.bit_length(), None
    if algorithm is KeyAlgorithm.EC:
        params = spki["algorithm"]["parameters"]
        if params.name != "named":
            return algorithm, None, None
        curve = params.chosen.native
        if not isinstance(curve, str):
            raise TypeError("curve name is not text")
        return algorithm, _CURVE_BITS.get(curve), curve
    return algorithm, _FIXED_KEY_BITS.get(algorithm), None


# ---- on a card ----------------------------------------------------------------------------

# The order in which a card's certificates speak for the card (holder name, T.C. Kimlik No).
_KIND_PRIORITY = {
    CertificateKind.NES: 0,
    CertificateKind.MALI_MUHUR_SIGNING: 1,
    CertificateKind.MALI_MUHUR_ENCRYPTION: 2,
    CertificateKind.QUALIFIED_SEAL: 3,
    CertificateKind.TEST: 4,
    CertificateKind.OTHER: 5,
}
_PRODUCT_ORDER = {product: i for i, product in enumerate(Product)}


def _by_priority(certs: Iterable[CertificateInfo]) -> list[CertificateInfo]:
    return sorted(certs, key=lambda c: (_KIND_PRIORITY[c.kind], -c.not_after.timestamp()))


@attrs.frozen(kw_only=True, repr=False)
class CardSummary:
    """One card as the card picker ("Kart Seçiniz") shows it.

    ``holder_name`` and ``tckn`` come from the card's most telling end-entity certificate
    (NES first, then Mali Mühür, seal, test, other); ``products`` are those of its
    certificates; ``expires_at`` is the earliest end of validity among the certificates of
    those products (among all end-entity certificates when none belongs to a product).
    """

    holder_name: str | None
    tckn: Tckn | None
    products: tuple[Product, ...]
    expires_at: datetime | None
    certificates: tuple[CertificateInfo, ...] = attrs.field(eq=False)

    @classmethod
    def from_certificates(cls, certificates: Iterable[CertificateInfo]) -> CardSummary:
        """Summarise a card from the certificates read off it (CA certificates are ignored)."""
        certs = tuple(certificates)
        own = _by_priority(c for c in certs if not c.is_ca)
        products = tuple(
            sorted(
                {c.product for c in own if c.product is not None},
                key=lambda p: _PRODUCT_ORDER[p],
            )
        )
        relevant = [c for c in own if c.product is not None] or own
        holder = next((c.holder_name for c in own if c.holder_name), None)
        tckn = next((c.tckn for c in own if c.tckn is not None), None)
        expires_at = min((c.not_after for c in relevant), default=None)
        return cls(
            holder_name=holder,
            tckn=tckn,
            products=products,
            expires_at=expires_at,
            certificates=certs,
        )

    @property
    def masked_tckn(self) -> str | None:
        """The T.C. Kimlik No as the picker shows it, like ``100******46``."""
        return None if self.tckn is None else self.tckn.masked

    def days_left(self, now: datetime) -> int | None:
        """Whole days until the earliest relevant expiry; negative once passed."""
        _require_aware(now, "now")
        return None if self.expires_at is None else (self.expires_at - now).days

    def display(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The picker's line: name, masked T.C. Kimlik No, products and expiry. A card
        whose certificates name no person (a Mali Mühür card names its organisation) has no
        T.C. Kimlik No field."""
        return text(
            "card.summary" if self.masked_tckn else "card.summary.organisation",
            lang,
            name=self.holder_name or "-",
            tckn=self.masked_tckn or "-",
            products=", ".join(p.display(lang) for p in self.products) or "-",
            expiry=format_date(None if self.expires_at is None else self.expires_at.date(), lang),
        )

    def __repr__(self) -> str:
        expiry = None if self.expires_at is None else self.expires_at.isoformat()
        return (
            f"CardSummary(holder_name={self.holder_name!r}, tckn={self.masked_tckn!r}, "
            f"products={[p.name for p in self.products]}, expires_at={expiry}, "
            f"certificates={len(self.certificates)})"
        )


_SIGNING_KIND_PRIORITY = {
    CertificateKind.NES: 0,
    CertificateKind.QUALIFIED_SEAL: 1,
    CertificateKind.MALI_MUHUR_SIGNING: 2,
    CertificateKind.TEST: 3,
    CertificateKind.MALI_MUHUR_ENCRYPTION: 4,
    CertificateKind.OTHER: 5,
}


def read_certificates(objects: Iterable[Any]) -> tuple[list[CertificateInfo], list[str]]:
    """Parse certificate objects as a token holds them (``der``, ``label``, ``object_id``, such
    as :class:`kamusm.token.CertificateObject`): the ones that parse, and the labels of those
    that do not. One damaged object then hides neither the card's holder nor its other
    certificates (:meth:`kamusm.token.Token.certificates` raises instead)."""
    readable: list[CertificateInfo] = []
    unreadable: list[str] = []
    for obj in objects:
        try:
            readable.append(
                CertificateInfo.from_der(obj.der, label=obj.label, object_id=obj.object_id)
            )
        except CertificateParseError:
            unreadable.append(obj.label)
    return readable, unreadable


def signing_certificate(
    certificates: Iterable[CertificateInfo],
    now: datetime,
    *,
    product: Product | None = None,
) -> CertificateInfo | None:
    """The certificate a DYS should sign with, or ``None`` when the card has none.

    A candidate is an end-entity certificate that is qualified (or a Mali Mühür signing
    certificate, which Kamu SM's software recognises by its policy and EKU instead), whose key
    usage names digitalSignature or nonRepudiation, that is valid at ``now`` and, when
    ``product`` is given, belongs to that product. Among several: NES before seal before
    Mali Mühür, then nonRepudiation before digitalSignature only, then the latest end of
    validity, then the highest serial number (so the choice never depends on the order on the
    card).
    """
    _require_aware(now, "now")
    candidates = [
        c
        for c in certificates
        if not c.is_ca
        and (c.is_qualified or c.kind is CertificateKind.MALI_MUHUR_SIGNING)
        and c.can_sign
        and c.is_valid_at(now)
        and (product is None or c.product is product)
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda c: (
            _SIGNING_KIND_PRIORITY[c.kind],
            KeyUsage.NON_REPUDIATION not in c.key_usage,
            -c.not_after.timestamp(),
            -c.serial_number,
        ),
    )
