"""Throw-away SoftHSM2 tokens with a chosen label, PIN, SO PIN and certificates: for tests,
demos and training only.

Design. SoftHSM2 reads its configuration (``SOFTHSM2_CONF``) once, at ``C_Initialize``, and
python-pkcs11 loads a module once per process. So a process has one SoftHSM *store*: a
configuration file and a token directory (a temporary directory unless one is named), and every
token is created in it, in this process, with ``C_InitToken`` on the free slot, an SO login and
``C_InitPIN``. Tokens are told apart by a unique label and by serial, never by slot id (SoftHSM
renumbers slots when it is initialised again). Nothing is re-initialised to create a token, so
tokens made earlier, and :class:`~kamusm.token.Token` objects that refer to them, stay valid.
Naming another store directory later switches the process to it (tokens of the old store are
then no longer visible here).

Typical use::

    card = create_softhsm_token(pin="123456", certificates=[(der, "12345678950NES0", b"\\x01")])
    token = card.token()                  # a kamusm.token.Token on it
    token.change_pin(card.pin, Pin("654321"))

The pytest fixtures ``softhsm_token`` and ``softhsm_token_factory`` (in
:mod:`kamusm.testing.pytest_plugin`) give a fresh token to each test. This module itself does
not import pytest, so demos and the sandbox can make tokens without it.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from kamusm.values import Pin, SystemClock, UnblockAuthorization, _issue_authorization

if TYPE_CHECKING:
    from kamusm.testing.certificates import KeySpec
    from kamusm.token import Pkcs11Module, Token

__all__ = [
    "SOFTHSM2_LOCATIONS",
    "SoCredentialTracker",
    "SoftHsmStore",
    "SoftHsmToken",
    "create_softhsm_token",
    "find_softhsm_module",
    "generate_key_pair",
    "softhsm_store",
    "store_certificates",
]

logger = logging.getLogger(__name__)

#: Where SoftHSM2's PKCS#11 module is looked for (Debian, other Linux, Homebrew).
SOFTHSM2_LOCATIONS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

DEFAULT_PIN = "123456"
DEFAULT_SO_PIN = "12345678"


def find_softhsm_module() -> str | None:
    """The path of SoftHSM2's module on this machine (``KAMUSM_SOFTHSM2_MODULE`` wins), or
    ``None`` when SoftHSM2 is not installed."""
    named = os.environ.get("KAMUSM_SOFTHSM2_MODULE")
    if named:
        return named if os.path.exists(named) else None
    return next((p for p in SOFTHSM2_LOCATIONS if os.path.exists(p)), None)


@attrs.frozen
class SoftHsmStore:
    """The SoftHSM2 configuration and token directory this process uses."""

    directory: Path
    conf_path: Path
    module_path: str


_STORE: SoftHsmStore | None = None


def softhsm_store(directory: str | os.PathLike[str] | None = None) -> SoftHsmStore:
    """The process's SoftHSM2 store, created on first use.

    ``directory`` names where the configuration and tokens live; without it a temporary
    directory is used (removed when the process ends). Naming a different directory than the
    current store's switches the process to it.
    """
    global _STORE  # noqa: PLW0603 - one store per process is the design (see the module doc)
    wanted = Path(directory).resolve() if directory is not None else None
    if _STORE is not None and (wanted is None or wanted == _STORE.directory):
        return _STORE
    module_path = find_softhsm_module()
    if module_path is None:
        raise FileNotFoundError(
            "SoftHSM2 is not installed (apt-get install softhsm2); looked in "
            + ", ".join(SOFTHSM2_LOCATIONS)
        )
    if wanted is None:
        wanted = Path(tempfile.mkdtemp(prefix="kamusm-softhsm-"))
        atexit.register(shutil.rmtree, wanted, ignore_errors=True)
    tokens = wanted / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = wanted / "softhsm2.conf"
    conf.write_text(
        "# written by kamusm.testing.softhsm\n"
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    _STORE = SoftHsmStore(directory=wanted, conf_path=conf, module_path=module_path)
    _reinitialize_if_loaded(module_path)
    logger.debug("SoftHSM2 store at %s", wanted)
    return _STORE


def _reinitialize_if_loaded(module_path: str) -> None:
    """If this process already initialised SoftHSM2 (with another configuration), start it
    again so that it reads the current ``SOFTHSM2_CONF``."""
    from kamusm import _token_seam  # noqa: PLC0415 - pkcs11 only when tokens are made

    _token_seam.reinitialize_loaded(module_path)


class SoCredentialTracker:
    """What a test card's SO credential is now, followed through rotations: an unblock with a
    rotating authorization changes it, and a card registered with a sandbox portal holds what
    the portal says. ``repr`` shows nothing secret.

    - :meth:`issue` makes an :class:`~kamusm.values.UnblockAuthorization` for the card; with
      ``rotate=True`` it carries a fresh SO credential, which becomes the card's once the
      unblock that spends it reports ``so_changed``;
    - :meth:`follow` hands the question to a function (the sandbox portal's current record).
    """

    def __init__(self, so_pin: Pin) -> None:
        self._current = so_pin
        self._issued: list[tuple[UnblockAuthorization, Pin]] = []
        self._lookup: Callable[[], str] | None = None
        self._lock = threading.Lock()

    def current(self) -> Pin:
        """The SO credential the card holds, as far as the test knows."""
        with self._lock:
            if self._lookup is not None:
                try:
                    self._current = Pin(self._lookup())
                except Exception:  # noqa: BLE001 - the portal is closed: what it said last
                    logger.debug("The SO credential's record cannot be read; the last one")
                return self._current
            kept = []
            for auth, fresh in self._issued:
                outcome = auth.outcome
                if outcome is None:
                    kept.append((auth, fresh))
                elif outcome.so_changed:
                    self._current = fresh
            self._issued = kept
            return self._current

    def follow(self, lookup: Callable[[], str]) -> None:
        """From now on the card holds what ``lookup()`` returns (a portal's record)."""
        with self._lock:
            self._lookup = lookup

    def issue(
        self,
        *,
        card_serial: str,
        expires_at: datetime,
        operation_id: str | None = None,
        rotate: bool = False,
        other_credential: str | None = None,
    ) -> UnblockAuthorization:
        """An authorization carrying the card's SO credential (and ``other_credential`` as
        the second candidate; with ``rotate``, a fresh SO credential of the same length)."""
        current = self.current()
        fresh = None
        if rotate:
            while fresh is None or fresh == current.reveal():
                fresh = f"{secrets.randbelow(10 ** len(current)):0{len(current)}d}"
        auth = _issue_authorization(
            current.reveal(),
            card_serial=card_serial,
            expires_at=expires_at,
            operation_id=operation_id,
            other_credential=other_credential,
            fresh_credential=fresh,
        )
        if fresh is not None:
            with self._lock:
                self._issued.append((auth, Pin(fresh)))
        return auth

    def __repr__(self) -> str:
        return "SoCredentialTracker(<hidden>)"


@attrs.frozen
class SoftHsmToken:
    """A SoftHSM2 token made for a test. ``repr`` never shows its PIN or SO PIN.

    ``so_pin`` is the SO PIN the token holds now: it follows a rotation (see
    :class:`SoCredentialTracker`)."""

    module_path: str
    label: str
    serial: str
    pin: Pin
    so: SoCredentialTracker = attrs.field(repr=False, eq=False)
    store: SoftHsmStore = attrs.field(repr=False)

    @property
    def so_pin(self) -> Pin:
        """The token's SO PIN now (after any rotation)."""
        return self.so.current()

    def module(self) -> Pkcs11Module:
        """The SoftHSM2 module, opened through kamusm."""
        from kamusm.token import Pkcs11Module  # noqa: PLC0415

        return Pkcs11Module.open(self.module_path)

    def token(self) -> Token:
        """This token, selected by serial through kamusm."""
        return self.module().token(serial=self.serial)

    def unblock_authorization(
        self,
        *,
        now: datetime | None = None,
        validity: timedelta = timedelta(minutes=5),
        operation_id: str | None = None,
        rotate: bool = False,
        other_credential: str | None = None,
    ) -> UnblockAuthorization:
        """A single-use authorization carrying this token's SO PIN, as the portal would issue
        one (in this model the unblock credential is the SO PIN). ``rotate=True`` adds a
        fresh SO PIN, which :attr:`so_pin` follows once an unblock has set it;
        ``other_credential`` is a second candidate, tried after the SO PIN."""
        issued = now if now is not None else SystemClock().now()
        return self.so.issue(
            card_serial=self.serial,
            expires_at=issued + validity,
            operation_id=operation_id,
            rotate=rotate,
            other_credential=other_credential,
        )

    def write_certificate(self, der: bytes, label: str, object_id: bytes) -> None:
        """Store a certificate object (public, on the token) with this label and ``CKA_ID``."""
        _write_certificates(self.module_path, self.serial, self.pin, [(der, label, object_id)])

    def generate_key_pair(self, key: KeySpec, *, label: str, object_id: bytes) -> bytes:
        """Make a key pair on this token (RSA 2048 or ECDSA P-384, private key sensitive and
        never extractable) and return its public key as DER SubjectPublicKeyInfo."""
        import pkcs11  # noqa: PLC0415

        from kamusm import _token_seam  # noqa: PLC0415

        with _token_seam.lock():
            lib = pkcs11.lib(os.path.realpath(self.module_path))
            token = lib.get_token(token_serial=self.serial.encode())
            with token.open(rw=True, user_pin=self.pin.reveal()) as session:
                return generate_key_pair(session, key, label=label, object_id=object_id)

    def remove(self) -> None:
        """Take the token away as if the card were pulled out: delete its files and make
        SoftHSM2 scan again (as a reader does after a removal). Other tokens of the store stay,
        under new slot ids."""
        from kamusm import _token_seam  # noqa: PLC0415

        with _token_seam.lock():
            for child in self.store.directory.joinpath("tokens").iterdir():
                token_file = child / "token.object"
                if token_file.exists() and self.serial.encode() in token_file.read_bytes():
                    shutil.rmtree(child)
            _reinitialize_if_loaded(self.module_path)
        logger.debug("SoftHSM2 token %s removed", self.serial)


def _write_certificates(
    module_path: str, serial: str, pin: Pin, certificates: Iterable[tuple[bytes, str, bytes]]
) -> None:
    import pkcs11  # noqa: PLC0415

    from kamusm import _token_seam  # noqa: PLC0415

    items = list(certificates)
    if not items:
        return
    with _token_seam.lock():
        lib = pkcs11.lib(os.path.realpath(module_path))
        token = lib.get_token(token_serial=serial.encode())
        with token.open(rw=True, user_pin=pin.reveal()) as session:
            store_certificates(session, items)


def generate_key_pair(session: Any, key: KeySpec, *, label: str, object_id: bytes) -> bytes:
    """Make a key pair (RSA 2048, ECDSA P-384 or P-256) in a logged-in python-pkcs11 session of
    any test token, as a card makes its own (the private key sensitive, never extractable, for
    signing only); returns the public key as DER SubjectPublicKeyInfo."""
    import pkcs11  # noqa: PLC0415
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters  # noqa: PLC0415
    from pkcs11.util.rsa import encode_rsa_public_key  # noqa: PLC0415

    from kamusm.testing.certificates import KeySpec  # noqa: PLC0415 - cryptography on demand

    attr = pkcs11.Attribute
    public_template = {attr.TOKEN: True, attr.VERIFY: True, attr.LABEL: label, attr.ID: object_id}
    private_template = {
        attr.TOKEN: True,
        attr.PRIVATE: True,
        attr.SENSITIVE: True,
        attr.EXTRACTABLE: False,
        attr.SIGN: True,
        attr.DECRYPT: False,
        attr.LABEL: label,
        attr.ID: object_id,
    }
    if key is KeySpec.RSA_2048:
        public, _ = session.generate_keypair(
            pkcs11.KeyType.RSA,
            2048,
            store=True,
            public_template=public_template,
            private_template=private_template,
        )
        spki = _rsa_spki(encode_rsa_public_key(public))
    else:
        params = session.create_domain_parameters(
            pkcs11.KeyType.EC,
            {attr.EC_PARAMS: encode_named_curve_parameters(_CURVES[key.value])},
            local=True,
        )
        public, _ = params.generate_keypair(
            store=True, public_template=public_template, private_template=private_template
        )
        spki = encode_ec_public_key(public)
    return bytes(spki)


_CURVES = {"ec-p384": "secp384r1", "ec-p256": "secp256r1"}


def _rsa_spki(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo."""
    from asn1crypto import keys  # noqa: PLC0415 - kamusm.testing may import anything

    info = keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "rsa"},
            "public_key": keys.RSAPublicKey.load(pkcs1),
        }
    )
    return bytes(info.dump())


def store_certificates(session: Any, certificates: Iterable[tuple[bytes, str, bytes]]) -> None:
    """Create public certificate objects ``(der, label, object_id)`` in a logged-in
    python-pkcs11 session (any test token: SoftHSM2, opencryptoki)."""
    import pkcs11  # noqa: PLC0415

    for der, label, object_id in certificates:
        session.create_object(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                pkcs11.Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                pkcs11.Attribute.TOKEN: True,
                pkcs11.Attribute.PRIVATE: False,
                pkcs11.Attribute.SUBJECT: _subject_of(bytes(der)),
                pkcs11.Attribute.VALUE: bytes(der),
                pkcs11.Attribute.LABEL: label,
                pkcs11.Attribute.ID: bytes(object_id),
            }
        )


def _subject_of(der: bytes) -> bytes:
    """The DER of the certificate's subject (SoftHSM2 requires ``CKA_SUBJECT``); empty for
    bytes that are not a certificate, so tests can store damaged data on purpose."""
    from asn1crypto import x509  # noqa: PLC0415 - kamusm.testing may import anything

    try:
        return bytes(x509.Certificate.load(der).subject.dump())
    except ValueError:
        return b""


def _as_pin(value: Pin | str) -> Pin:
    return value if isinstance(value, Pin) else Pin(value)


def create_softhsm_token(
    *,
    label: str | None = None,
    pin: Pin | str = DEFAULT_PIN,
    so_pin: Pin | str = DEFAULT_SO_PIN,
    certificates: Iterable[tuple[bytes, str, bytes]] = (),
    directory: str | os.PathLike[str] | None = None,
) -> SoftHsmToken:
    """A new SoftHSM2 token in the process's store (see :func:`softhsm_store`).

    ``label`` defaults to a unique ``kamusm-<hex>``; a label already used in the store is
    refused. ``certificates`` are ``(der, label, object_id)`` triples written as public
    certificate objects.
    """
    from kamusm import _token_seam  # noqa: PLC0415
    from kamusm.token import Pkcs11Module  # noqa: PLC0415

    store = softhsm_store(directory)
    user_pin, admin_pin = _as_pin(pin), _as_pin(so_pin)
    label = label if label is not None else f"kamusm-{secrets.token_hex(6)}"
    if len(label.encode("utf-8")) > 32:
        raise ValueError("a token label has at most 32 bytes")
    with _token_seam.lock():
        module = Pkcs11Module.open(store.module_path)
        if any(info.label == label for info in module.tokens()):
            raise ValueError(f"a token labelled {label!r} exists already in {store.directory}")
        free = _token_seam.free_slot(module)
        if free is None:  # pragma: no cover - SoftHSM2 always offers one free slot
            raise RuntimeError("SoftHSM2 offers no free slot")
        _token_seam.init_token(module, free, admin_pin, label)
        p11_token = _token_seam.p11_token(module, free)
        with p11_token.open(rw=True, so_pin=admin_pin.reveal()) as session:
            session.init_pin(user_pin.reveal())
        info = _token_seam.slot_info(module, free)
        _write_certificates(store.module_path, info.serial, user_pin, certificates)
    logger.debug("Created SoftHSM2 token %s (serial %s)", label, info.serial)
    return SoftHsmToken(
        module_path=store.module_path,
        label=label,
        serial=info.serial,
        pin=user_pin,
        so=SoCredentialTracker(admin_pin),
        store=store,
    )
