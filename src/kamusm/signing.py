"""PDF (PAdES) and CMS (CAdES) signatures made through a guarded signing session (extra ``pdf``).

The only kamusm module that imports pyHanko. Every signature goes through
:meth:`kamusm.token.Token.signing_session`, so the readiness check, the final-try rule, the
unattended policy and the one PKCS#11 lock apply to each of them: :class:`SessionSigner` is a
pyHanko signer whose raw signature is :meth:`kamusm.token.SigningSession.sign`, and nothing
here logs in by itself.

::

    with token.signing_session(pin) as session:           # every guard, then the login
        signed = sign_pdf(session, pdf_bytes)              # PAdES B-B (B-T with timestamp_url)
        cms = sign_cms(session, attachment)                # detached CAdES-BES
    report = validate_pdf(signed, trust_roots=[root_der])  # pyHanko's own validator

    async with token.asigning_session(pin) as session:    # the same, for async code
        signed = await asign_pdf(session, pdf_bytes)       # the card signs in a worker thread

Why pyHanko without its ``pkcs11`` extra: that extra pins python-pkcs11 ``~=0.9.3`` while kamusm
needs 0.10 (the series its PKCS#11 notes were verified on), and pyHanko's PKCS#11 signer logs
in by itself (``token.open(user_pin=...)``), outside every guard. kamusm supplies the signer.
"""

from __future__ import annotations

from kamusm._extras import require

require("pdf", "pyhanko", "pyhanko_certvalidator")

import asyncio  # noqa: E402 - after the extra check, so a missing extra names itself
import contextlib  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
from collections.abc import Callable, Coroutine, Iterator, Sequence  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import TYPE_CHECKING, Any, TypeVar  # noqa: E402

import attrs  # noqa: E402
from asn1crypto import algos, cms, x509  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.misc import PdfError  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.sign.general import SigningError as _PyhankoSigningError  # noqa: E402
from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: E402
from pyhanko.sign.timestamps.common_utils import TimestampRequestError  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from kamusm._signing_session import SignatureScheme  # noqa: E402
from kamusm.errors import (  # noqa: E402
    CertificateFileError,
    NotAPdfError,
    PdfSigningError,
    TimestampServerError,
    UnsupportedSignatureSchemeError,
)

if TYPE_CHECKING:
    from kamusm.token import AsyncSigningSession, SigningSession

__all__ = [
    "PdfSignatureReport",
    "SessionSigner",
    "asign_cms",
    "asign_pdf",
    "avalidate_pdf",
    "check_pdf",
    "load_certificates",
    "next_signature_field",
    "sign_cms",
    "sign_pdf",
    "validate_pdf",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def _refresh_asn1_names() -> None:
    """pyHanko adds names to asn1crypto's OID tables when it is imported (``qc_statements``,
    CMS attributes), but not to the reverse index asn1crypto builds on first use. When
    :mod:`kamusm.certs` read a certificate before pyHanko was imported, that index is stale,
    and re-encoding a certificate with a QC statements extension (a CMS dumped again while the
    PDF is signed) fails. Rebuild the indexes that are already built."""
    for table in (x509.ExtensionId, cms.CMSAttributeType):
        if table._reverse_map is not None:
            table._reverse_map = {name: oid for oid, name in table._map.items()}


_refresh_asn1_names()

_SCHEMES = {
    ("rsa", "sha256"): SignatureScheme.RSA_PKCS1_SHA256,
    ("rsa", "sha384"): SignatureScheme.RSA_PKCS1_SHA384,
    ("rsa", "sha512"): SignatureScheme.RSA_PKCS1_SHA512,
    ("pss", "sha256"): SignatureScheme.RSA_PSS_SHA256,
    ("pss", "sha384"): SignatureScheme.RSA_PSS_SHA384,
    ("pss", "sha512"): SignatureScheme.RSA_PSS_SHA512,
    ("ec", "sha256"): SignatureScheme.ECDSA_SHA256,
    ("ec", "sha384"): SignatureScheme.ECDSA_SHA384,
    ("ec", "sha512"): SignatureScheme.ECDSA_SHA512,
}

_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


class SessionSigner(signers.Signer):
    """A pyHanko :class:`~pyhanko.sign.signers.Signer` whose key is the card's, reached only
    through an open :class:`kamusm.token.SigningSession`.

    ``ca_certificates`` (DER) are embedded so a validator can build the path. With
    ``prefer_pss`` an RSA key signs with RSASSA-PSS (salt as long as the digest) instead of
    PKCS#1 v1.5. The card's signature is made in a worker thread, so an event loop that runs
    pyHanko's asynchronous API stays free; ``in_worker_thread=False`` makes it on the loop's
    own thread (what :func:`sign_pdf` and :func:`sign_cms` do: they run a loop of their own for
    that one signature, where a worker thread would only add its start-up).
    """

    def __init__(
        self,
        session: SigningSession,
        *,
        ca_certificates: Sequence[bytes] = (),
        prefer_pss: bool = False,
        in_worker_thread: bool = True,
    ) -> None:
        self._session = session
        self._in_worker_thread = in_worker_thread
        signing_cert = _certificate(session.certificate.der)
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # untyped in pyHanko
        registry.register_multiple([_certificate(bytes(der)) for der in ca_certificates])
        super().__init__(
            prefer_pss=prefer_pss,
            signing_cert=signing_cert,
            cert_registry=registry,
            embed_roots=True,
        )
        algorithm = signing_cert.public_key.algorithm
        if algorithm not in ("rsa", "ec"):
            raise UnsupportedSignatureSchemeError(scheme=str(algorithm))
        self._algorithm = "pss" if algorithm == "rsa" and prefer_pss else algorithm
        bits = int(signing_cert.public_key.bit_size)
        # What a signature of this key takes at most (a dry run reserves room with it).
        self._size = bits // 8 if algorithm == "rsa" else 2 * ((bits + 7) // 8) + 9

    def get_signature_mechanism_for_digest(self, digest_algorithm: str | None) -> Any:
        if self._algorithm != "pss" or digest_algorithm is None:
            return super().get_signature_mechanism_for_digest(digest_algorithm)
        digest = algos.DigestAlgorithm({"algorithm": digest_algorithm})
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": digest,
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": digest},
                "salt_length": _DIGEST_SIZES[digest_algorithm.lower()],
                "trailer_field": "trailer_field_bc",
            }
        )
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return b"\x00" * self._size
        scheme = _scheme(self._algorithm, digest_algorithm)
        # The session takes the PKCS#11 lock for this call alone.
        if not self._in_worker_thread:
            return self._session.sign(data, scheme)
        signature: bytes = await asyncio.to_thread(self._session.sign, data, scheme)
        return signature


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)))
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotAPdfError() from exc


@functools.lru_cache(maxsize=64)
def _certificate(der: bytes) -> x509.Certificate:
    """A parsed certificate, kept: asn1crypto computes its hashes and key identifiers once per
    object, and a DYS signs with the same certificate and chain all day."""
    return x509.Certificate.load(der)


def _scheme(algorithm: str, digest_algorithm: str) -> SignatureScheme:
    scheme = _SCHEMES.get((algorithm, digest_algorithm.lower()))
    if scheme is None:
        raise UnsupportedSignatureSchemeError(scheme=f"{algorithm}-{digest_algorithm}")
    return scheme


def _timestamper(url: str | None) -> HTTPTimeStamper | None:
    return HTTPTimeStamper(url) if url else None


def check_pdf(pdf: bytes) -> None:
    """Raise :class:`~kamusm.errors.NotAPdfError` unless pyHanko can read ``pdf``: call it
    before the PIN is asked, so a wrong file costs no try."""
    _reader(pdf)


def _reader(pdf: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)))
        _ = reader.root  # the catalogue: a file without one is no PDF to sign
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotAPdfError() from exc
    return reader


def next_signature_field(pdf: bytes) -> str:
    """The first signature field name ``Imza1``, ``Imza2``, ... that no signature of ``pdf``
    fills yet: :func:`sign_pdf`'s default, so a signed PDF can be co-signed."""
    reader = _reader(pdf)
    filled = {name for name, _, _ in fields.enumerate_sig_fields(reader, filled_status=True)}
    number = 1
    while f"Imza{number}" in filled:
        number += 1
    return f"Imza{number}"


def load_certificates(data: bytes) -> list[bytes]:
    """The DER certificates of a PEM bundle, or of one DER certificate, each parsed: raises
    :class:`~kamusm.errors.CertificateFileError` when there is none or one does not parse.
    For the trust roots and intermediates of :func:`validate_pdf`, read before the PIN."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    raw = bytes(data)
    try:
        if b"-----BEGIN" in raw:
            blocks = raw.split(b"-----BEGIN CERTIFICATE-----")[1:]
            found = [
                base64.b64decode(b"".join(b.split(b"-----END")[0].split()), validate=True)
                for b in blocks
            ]
        else:
            found = [raw]
        for der in found:
            parsed = x509.Certificate.load(der, strict=True)
            _ = parsed.native  # asn1crypto parses lazily: make it parse every field now
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise CertificateFileError() from exc
    if not found:
        raise CertificateFileError()
    return found


def sign_pdf(
    session: SigningSession,
    pdf: bytes,
    *,
    timestamp_url: str | None = None,
    ca_certificates: Sequence[bytes] | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    digest_algorithm: str | None = None,
    prefer_pss: bool = False,
) -> bytes:
    """Sign ``pdf`` with the session's certificate: PAdES B-B, or B-T when ``timestamp_url``
    names an RFC 3161 timestamp server. Returns the signed PDF (an incremental update).

    ``digest_algorithm`` defaults to SHA-256 for RSA and to the curve's hash for ECDSA.
    ``field_name`` defaults to the next free ``ImzaN`` (:func:`next_signature_field`), so a
    signed PDF is co-signed in a field of its own. ``ca_certificates`` (DER) travel in the
    signature; :meth:`kamusm.token.SigningSession.ca_certificates` (the CA certificates on the
    card) when not given. Raises :class:`~kamusm.errors.NotAPdfError`,
    :class:`~kamusm.errors.PdfSigningError` (the document refused the signature, such as a
    filled field) and :class:`~kamusm.errors.TimestampServerError`.
    """
    job = _PdfJob(
        session,
        pdf,
        timestamp_url=timestamp_url,
        ca_certificates=ca_certificates,
        field_name=field_name,
        reason=reason,
        location=location,
        digest_algorithm=digest_algorithm,
        prefer_pss=prefer_pss,
        in_worker_thread=False,
    )
    with job.translated():
        signers.sign_pdf(
            job.writer, job.meta, signer=job.signer, timestamper=job.timestamper, output=job.out
        )
    return job.done()


async def asign_pdf(
    session: AsyncSigningSession,
    pdf: bytes,
    *,
    timestamp_url: str | None = None,
    ca_certificates: Sequence[bytes] | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    digest_algorithm: str | None = None,
    prefer_pss: bool = False,
) -> bytes:
    """:func:`sign_pdf` for an :meth:`kamusm.token.Token.asigning_session`. Under asyncio,
    through pyHanko's asynchronous API: the card signs in a worker thread, so the event loop
    keeps running while it does (pyHanko's own PDF and CMS work runs on the loop). Under
    another event loop (trio), pyHanko's work runs on an asyncio loop of its own in a worker
    thread: pyHanko is written for asyncio."""
    options: dict[str, Any] = {
        "timestamp_url": timestamp_url,
        "ca_certificates": ca_certificates,
        "field_name": field_name,
        "reason": reason,
        "location": location,
        "digest_algorithm": digest_algorithm,
        "prefer_pss": prefer_pss,
    }
    if not _on_asyncio():
        return await _off_loop(functools.partial(sign_pdf, session.sync, pdf, **options))
    job = _PdfJob(session.sync, pdf, in_worker_thread=True, **options)
    with job.translated():
        await signers.async_sign_pdf(
            job.writer, job.meta, signer=job.signer, timestamper=job.timestamper, output=job.out
        )
    return job.done()


def _on_asyncio() -> bool:
    """Whether the calling coroutine runs on an asyncio event loop (not trio's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _off_loop(call: Callable[[], _T]) -> _T:
    import anyio.to_thread  # noqa: PLC0415 - loaded only by async callers

    return await anyio.to_thread.run_sync(call)


class _PdfJob:
    """What one PDF signature needs, the same for :func:`sign_pdf` and :func:`asign_pdf`."""

    def __init__(
        self,
        session: SigningSession,
        pdf: bytes,
        *,
        timestamp_url: str | None,
        ca_certificates: Sequence[bytes] | None,
        field_name: str | None,
        reason: str | None,
        location: str | None,
        digest_algorithm: str | None,
        prefer_pss: bool,
        in_worker_thread: bool,
    ) -> None:
        self.session = session
        self.md = digest_algorithm or session.default_scheme.hash_name
        self.writer = _writer(pdf)
        if field_name is None:
            field_name = next_signature_field(pdf)
        self.field = field_name
        self.url = timestamp_url
        if ca_certificates is None:
            ca_certificates = session.ca_certificates
        self.meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm=self.md,
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            embed_validation_info=False,
            use_pades_lta=False,
        )
        self.signer = SessionSigner(
            session,
            ca_certificates=ca_certificates,
            prefer_pss=prefer_pss,
            in_worker_thread=in_worker_thread,
        )
        self.timestamper = _timestamper(timestamp_url)
        self.out = io.BytesIO()
        kind = "B-T" if timestamp_url else "B-B"
        logger.debug("Signing a PDF of %d bytes (%s)", len(pdf), kind)

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """pyHanko's refusals as kamusm errors with their own texts."""
        try:
            yield
        except TimestampRequestError as exc:
            raise TimestampServerError(url=self.url or "-") from exc
        except _PyhankoSigningError as exc:
            logger.info("pyHanko refused to sign the PDF: %s", type(exc).__name__)
            raise PdfSigningError(field=self.field) from exc

    def done(self) -> bytes:
        kind = self.session.certificate.kind.value
        logger.info("PDF signed with the card's %s certificate", kind)
        return self.out.getvalue()


def sign_cms(
    session: SigningSession,
    data: bytes,
    *,
    timestamp_url: str | None = None,
    ca_certificates: Sequence[bytes] | None = None,
    digest_algorithm: str | None = None,
    prefer_pss: bool = False,
) -> bytes:
    """A detached CMS signature (CAdES-BES; with ``timestamp_url`` a signature timestamp is
    added) of arbitrary bytes, DER-encoded: for attachments and official correspondence."""
    return _run(
        _cms(
            session,
            data,
            timestamp_url=timestamp_url,
            ca_certificates=ca_certificates,
            digest_algorithm=digest_algorithm,
            prefer_pss=prefer_pss,
            in_worker_thread=False,
        )
    )


async def asign_cms(
    session: AsyncSigningSession,
    data: bytes,
    *,
    timestamp_url: str | None = None,
    ca_certificates: Sequence[bytes] | None = None,
    digest_algorithm: str | None = None,
    prefer_pss: bool = False,
) -> bytes:
    """:func:`sign_cms` for an :meth:`kamusm.token.Token.asigning_session` (the card signs in
    a worker thread; under trio, pyHanko's work too, as in :func:`asign_pdf`)."""
    if not _on_asyncio():
        return await _off_loop(
            functools.partial(
                sign_cms,
                session.sync,
                data,
                timestamp_url=timestamp_url,
                ca_certificates=ca_certificates,
                digest_algorithm=digest_algorithm,
                prefer_pss=prefer_pss,
            )
        )
    return await _cms(
        session.sync,
        data,
        timestamp_url=timestamp_url,
        ca_certificates=ca_certificates,
        digest_algorithm=digest_algorithm,
        prefer_pss=prefer_pss,
        in_worker_thread=True,
    )


async def _cms(
    session: SigningSession,
    data: bytes,
    *,
    timestamp_url: str | None,
    ca_certificates: Sequence[bytes] | None,
    digest_algorithm: str | None,
    prefer_pss: bool,
    in_worker_thread: bool,
) -> bytes:
    md = digest_algorithm or session.default_scheme.hash_name
    signer = SessionSigner(
        session,
        ca_certificates=session.ca_certificates if ca_certificates is None else ca_certificates,
        prefer_pss=prefer_pss,
        in_worker_thread=in_worker_thread,
    )
    logger.debug("Signing %d bytes as detached CMS", len(data))
    try:
        content: cms.ContentInfo = await signer.async_sign_general_data(
            data, md, detached=True, use_cades=True, timestamper=_timestamper(timestamp_url)
        )
    except TimestampRequestError as exc:
        raise TimestampServerError(url=timestamp_url or "-") from exc
    return bytes(content.dump())


def _masked(value: str | None) -> str:
    """A T.C. Kimlik No or VKN for a repr: the last two digits only."""
    return "None" if value is None else repr("*" * max(len(value) - 2, 0) + value[-2:])


@attrs.frozen(kw_only=True)
class PdfSignatureReport:
    """What pyHanko's validator says about one signature of a PDF."""

    field_name: str
    intact: bool
    """The signed bytes are unchanged."""
    valid: bool
    """The signature verifies with the signer's public key."""
    trusted: bool
    """The signer's certificate chains to one of the trust roots given (``False`` when no
    root was given: see :attr:`chain_checked`)."""
    holder_name: str | None
    """The signer certificate's common name."""
    signer_serial_number: str | None = attrs.field(repr=_masked)
    """The signer's subject serialNumber (T.C. Kimlik No or VKN); masked in the repr."""
    timestamped: bool
    signing_time: datetime | None
    chain_checked: bool = True
    """Whether the certificate chain was checked: ``False`` when no trust root was given,
    and then :attr:`trusted` and :attr:`ok` are ``False``."""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted


def validate_pdf(
    pdf: bytes, *, trust_roots: Sequence[bytes] = (), intermediates: Sequence[bytes] = ()
) -> list[PdfSignatureReport]:
    """Validate every signature of ``pdf`` with pyHanko's validator against ``trust_roots``
    (DER certificates; no network: nothing is fetched, revocation is not checked).
    ``intermediates`` (DER) are CA certificates the path may go through besides those the
    signature carries. With no trust root the chain is not checked at all
    (``chain_checked=False``, never trusted): the integrity and the signature still are.
    Blocking; inside a running event loop use :func:`avalidate_pdf`."""
    return _run(_validate(pdf, trust_roots=trust_roots, intermediates=intermediates))


async def avalidate_pdf(
    pdf: bytes, *, trust_roots: Sequence[bytes] = (), intermediates: Sequence[bytes] = ()
) -> list[PdfSignatureReport]:
    """:func:`validate_pdf` for async code: pyHanko's validator runs on an asyncio loop of
    its own in a worker thread (any event loop, asyncio or trio, keeps running)."""
    return await _off_loop(
        functools.partial(validate_pdf, pdf, trust_roots=trust_roots, intermediates=intermediates)
    )


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run one of pyHanko's coroutines to its end from blocking code, also when the calling
    thread already runs an event loop (then on a loop of its own in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    import concurrent.futures  # noqa: PLC0415

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _validate(
    pdf: bytes, *, trust_roots: Sequence[bytes], intermediates: Sequence[bytes]
) -> list[PdfSignatureReport]:
    from pyhanko.sign.validation import async_validate_pdf_signature  # noqa: PLC0415

    roots = [_certificate(bytes(der)) for der in trust_roots]
    others = [_certificate(bytes(der)) for der in intermediates]
    reader = _reader(pdf)
    reports = []
    for embedded in reader.embedded_signatures:
        signer = embedded.signer_cert
        # Without a root there is no chain to check: the signer itself stands in as the
        # only anchor so pyHanko builds no path (and logs no failure naming the holder).
        anchors = roots or [signer]
        context = ValidationContext(
            trust_roots=anchors,
            other_certs=others,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = await async_validate_pdf_signature(embedded, signer_validation_context=context)
        subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
        reports.append(
            PdfSignatureReport(
                field_name=str(embedded.field_name),
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted) and bool(roots),
                holder_name=subject.get("common_name"),
                signer_serial_number=subject.get("serial_number"),
                timestamped=status.timestamp_validity is not None,
                signing_time=status.signer_reported_dt,
                chain_checked=bool(roots),
            )
        )
    return reports
