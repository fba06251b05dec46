"""The signing half of the token layer: schemes, the private key of a certificate, and the
object a guarded signing session yields (:meth:`kamusm.token.Token.signing_session`).

Private to the token layer; the public names (:class:`SignatureScheme`, :class:`SigningSession`)
are exported by :mod:`kamusm.token`. The data is hashed here (``hashlib``) and the card signs
the digest with a bare mechanism (``CKM_RSA_PKCS`` over a DigestInfo, ``CKM_RSA_PKCS_PSS``,
``CKM_ECDSA``): one path for data and for a precomputed digest, and the mechanisms every card
that signs offers. ECDSA signatures are returned DER-encoded (``SEQUENCE {r, s}``), as X.509,
CMS and PDF signatures carry them.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import pkcs11.exceptions as pe
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass

from kamusm.errors import (
    DigestLengthError,
    NotReadyToSignError,
    SigningKeyNotFoundError,
    SigningSessionClosedError,
    UnsupportedSignatureSchemeError,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from kamusm.certs import CertificateInfo
    from kamusm.values import Clock

__all__ = ["AsyncSigningSession", "SignatureScheme", "SigningSession", "find_private_key"]

logger = logging.getLogger(__name__)


class SignatureScheme(enum.Enum):
    """A signature algorithm with its hash: what :meth:`SigningSession.sign` makes."""

    RSA_PKCS1_SHA256 = "rsa-pkcs1v15-sha256"
    RSA_PKCS1_SHA384 = "rsa-pkcs1v15-sha384"
    RSA_PKCS1_SHA512 = "rsa-pkcs1v15-sha512"
    RSA_PSS_SHA256 = "rsa-pss-sha256"
    RSA_PSS_SHA384 = "rsa-pss-sha384"
    RSA_PSS_SHA512 = "rsa-pss-sha512"
    ECDSA_SHA256 = "ecdsa-sha256"
    ECDSA_SHA384 = "ecdsa-sha384"
    ECDSA_SHA512 = "ecdsa-sha512"

    # Each property is a lookup in a table built once below the class: they run on every
    # signature.

    @property
    def hash_name(self) -> str:
        """``sha256``, ``sha384`` or ``sha512`` (names :mod:`hashlib` knows)."""
        return _HASH_NAME[self]

    @property
    def is_rsa(self) -> bool:
        return self in _RSA

    @property
    def is_pss(self) -> bool:
        return self in _PSS_SCHEMES

    def digest(self, data: bytes) -> bytes:
        """The digest of ``data`` this scheme signs."""
        digest: bytes = _HASH[self](data).digest()
        return digest

    @classmethod
    def default_for(cls, certificate: CertificateInfo) -> SignatureScheme:
        """RSA PKCS#1 v1.5 with SHA-256 for an RSA key; ECDSA with the hash that matches the
        curve for an EC key (SHA-384 on P-384, as the NES issuing CA signs)."""
        from kamusm.certs import KeyAlgorithm  # noqa: PLC0415 - asn1crypto only when asked

        if certificate.key_algorithm is KeyAlgorithm.RSA:
            return cls.RSA_PKCS1_SHA256
        if certificate.key_algorithm is KeyAlgorithm.EC:
            size = certificate.key_size or 256
            return (
                cls.ECDSA_SHA512
                if size > 384
                else cls.ECDSA_SHA384
                if size > 256
                else cls.ECDSA_SHA256
            )
        raise UnsupportedSignatureSchemeError(scheme=certificate.key_algorithm.value)


_HASH_NAME: Final = {scheme: scheme.value.rsplit("-", 1)[1] for scheme in SignatureScheme}
_RSA: Final = frozenset(s for s in SignatureScheme if s.value.startswith("rsa"))
_PSS_SCHEMES: Final = frozenset(s for s in SignatureScheme if s.value.startswith("rsa-pss"))
_HASH: Final[dict[SignatureScheme, Callable[[bytes], Any]]] = {
    scheme: getattr(hashlib, name) for scheme, name in _HASH_NAME.items()
}

# RFC 8017, section 9.2, note 1: the DER of DigestInfo up to the digest itself.
_DIGEST_INFO: Final = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_PSS: Final = {
    "sha256": (Mechanism.SHA256, MGF.SHA256, 32),
    "sha384": (Mechanism.SHA384, MGF.SHA384, 48),
    "sha512": (Mechanism.SHA512, MGF.SHA512, 64),
}
_DIGEST_SIZE: Final = {"sha256": 32, "sha384": 48, "sha512": 64}


def find_private_key(session: Any, certificate: CertificateInfo) -> Any:
    """The private key that belongs to ``certificate``: by its ``CKA_ID``, else by its public
    key (an RSA private key with the same modulus, or the private key that shares its
    ``CKA_ID`` with a public key object holding the same key). Raises
    :class:`~kamusm.errors.SigningKeyNotFoundError`. Call under the lock, logged in."""
    if certificate.object_id:
        found = list(
            session.get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: certificate.object_id}
            )
        )
        if len(found) == 1:
            return found[0]
    logger.debug("No private key with the certificate's CKA_ID; matching the public key")
    # pkcs11.util reads DER with asn1crypto: loaded when a signature is made, not at start-up.
    from pkcs11.util.x509 import decode_x509_public_key  # noqa: PLC0415

    template = decode_x509_public_key(certificate.der)
    key_type = template[Attribute.KEY_TYPE]
    if key_type is KeyType.RSA:
        modulus = template[Attribute.MODULUS]
        # Each search is read to its end (a search left open keeps CKR_OPERATION_ACTIVE).
        rsa_keys = list(
            session.get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.RSA}
            )
        )
        for key in rsa_keys:
            if _attribute(key, Attribute.MODULUS) == modulus:
                return key
    match = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: key_type}
    same = Attribute.MODULUS if key_type is KeyType.RSA else Attribute.EC_POINT
    for public in list(session.get_objects(match)):
        if _attribute(public, same) == template.get(same):
            key_id = _attribute(public, Attribute.ID)
            if key_id:
                keys = list(
                    session.get_objects(
                        {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: key_id}
                    )
                )
                if len(keys) == 1:
                    return keys[0]
    raise SigningKeyNotFoundError()


@functools.cache
def _ecdsa_der() -> Callable[[bytes], bytes]:
    """python-pkcs11's DER encoder of an ECDSA signature (it loads asn1crypto: imported at the
    first ECDSA signature, not at start-up, and looked up once)."""
    from pkcs11.util.ec import encode_ecdsa_signature  # noqa: PLC0415

    return encode_ecdsa_signature


def _attribute(obj: Any, attribute: Attribute) -> Any:
    try:
        return obj[attribute]
    except (pe.AttributeTypeInvalid, pe.AttributeSensitive):
        return None


class SigningSession:
    """A logged-in session on the card with the private key of one certificate: it signs.

    Yielded by :meth:`kamusm.token.Token.signing_session` and valid only inside its ``with``
    block; afterwards every call raises :class:`~kamusm.errors.SigningSessionClosedError`.
    Each call takes the process-wide PKCS#11 lock for itself alone. It holds no PIN.
    """

    def __init__(
        self,
        *,
        certificate: CertificateInfo,
        key: Any,
        lock: threading.RLock,
        translated: Callable[[], AbstractContextManager[None]],
        ca_certificates: Sequence[bytes] = (),
        clock: Clock | None = None,
    ) -> None:
        self._certificate = certificate
        self._clock = clock
        self._ca_certificates = tuple(bytes(c) for c in ca_certificates)
        self._key = key
        self._lock = lock
        self._translated = translated
        self._open = True
        # python-pkcs11 keeps the key type once read (the sign call reads it too): one
        # C_GetAttributeValue per session.
        self._algorithm = "rsa" if key.key_type is KeyType.RSA else "ec"

    @property
    def certificate(self) -> CertificateInfo:
        """The certificate whose key signs."""
        return self._certificate

    @property
    def ca_certificates(self) -> tuple[bytes, ...]:
        """The CA certificates (DER) found on the card when the session opened: what
        :func:`kamusm.signing.sign_pdf` and :func:`~kamusm.signing.sign_cms` embed by
        default, so a validator can build the path to its root."""
        return self._ca_certificates

    @functools.cached_property
    def default_scheme(self) -> SignatureScheme:
        """The certificate's scheme (:meth:`SignatureScheme.default_for`), worked out once."""
        return SignatureScheme.default_for(self._certificate)

    @property
    def closed(self) -> bool:
        return not self._open

    def _close(self) -> None:
        self._open = False
        self._key = None

    def sign(self, data: bytes, scheme: SignatureScheme | None = None) -> bytes:
        """Sign ``data`` (hashed here with the scheme's hash). Default scheme:
        :attr:`default_scheme`."""
        chosen = scheme or self.default_scheme
        return self.sign_digest(chosen.digest(bytes(data)), chosen)

    def sign_digest(self, digest: bytes, scheme: SignatureScheme | None = None) -> bytes:
        """Sign a digest computed elsewhere with the scheme's hash (its length is checked)."""
        chosen = scheme or self.default_scheme
        if chosen.is_rsa != (self._algorithm == "rsa"):
            raise UnsupportedSignatureSchemeError(scheme=chosen.value)
        if len(digest) != _DIGEST_SIZE[chosen.hash_name]:
            raise DigestLengthError(scheme=chosen.value, length=len(digest))
        with self._lock:
            if not self._open:
                raise SigningSessionClosedError()
            self._check_validity()
            logger.debug("Signing a %s digest", chosen.value)
            with self._translated():
                if chosen.is_pss:
                    return bytes(
                        self._key.sign(
                            digest,
                            mechanism=Mechanism.RSA_PKCS_PSS,
                            mechanism_param=_PSS[chosen.hash_name],
                        )
                    )
                if chosen.is_rsa:
                    payload = _DIGEST_INFO[chosen.hash_name] + digest
                    return bytes(self._key.sign(payload, mechanism=Mechanism.RSA_PKCS))
                raw = bytes(self._key.sign(digest, mechanism=Mechanism.ECDSA))
        return bytes(_ecdsa_der()(raw))

    def _check_validity(self) -> None:
        """The certificate is checked against the clock at every signature, not only when
        the session opened: one that expired during a long session signs nothing more."""
        from kamusm.values import SystemClock  # noqa: PLC0415

        now = (self._clock or SystemClock()).now()
        if self._certificate.is_valid_at(now):
            return
        from kamusm.readiness import assess  # noqa: PLC0415 - asn1crypto only when asked
        from kamusm.values import PinStatus  # noqa: PLC0415

        logger.info("The signing certificate is no longer valid; nothing signed")
        ready = assess(
            PinStatus(),
            [self._certificate],
            now,
            product=self._certificate.product,
            expiry_warning_days=0,
        )
        raise NotReadyToSignError(readiness=ready)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"SigningSession({self._certificate!r}, {state})"


class AsyncSigningSession:
    """:class:`SigningSession` for asyncio and trio: each signature runs in a worker thread
    (the card may take a while; the event loop keeps running), under the same process-wide
    lock, per call.

    Yielded by :meth:`kamusm.token.Token.asigning_session`, valid only inside its
    ``async with`` block; afterwards every call raises
    :class:`~kamusm.errors.SigningSessionClosedError`. It holds no PIN.
    """

    def __init__(self, session: SigningSession) -> None:
        self._session = session

    @property
    def certificate(self) -> CertificateInfo:
        """The certificate whose key signs."""
        return self._session.certificate

    @property
    def default_scheme(self) -> SignatureScheme:
        return self._session.default_scheme

    @property
    def closed(self) -> bool:
        return self._session.closed

    @property
    def sync(self) -> SigningSession:
        """The blocking session underneath, for code that runs in a worker thread already
        (such as :class:`kamusm.signing.SessionSigner`); the same guards and lock apply."""
        return self._session

    async def sign(self, data: bytes, scheme: SignatureScheme | None = None) -> bytes:
        """:meth:`SigningSession.sign` in a worker thread."""
        return await _in_worker_thread(self._session.sign, bytes(data), scheme)

    async def sign_digest(self, digest: bytes, scheme: SignatureScheme | None = None) -> bytes:
        """:meth:`SigningSession.sign_digest` in a worker thread."""
        return await _in_worker_thread(self._session.sign_digest, bytes(digest), scheme)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"AsyncSigningSession({self._session.certificate!r}, {state})"


async def _in_worker_thread(
    fn: Callable[[bytes, SignatureScheme | None], bytes],
    data: bytes,
    scheme: SignatureScheme | None,
) -> bytes:
    import anyio.to_thread  # noqa: PLC0415 - loaded only by async callers

    return await anyio.to_thread.run_sync(fn, data, scheme)
