"""The sandbox portal in tests: run it on a background thread and provision test holders whose
cards are real SoftHSM2 tokens carrying test certificates.

::

    holder = TestHolder.default()
    with running_sandbox() as sb:
        card = provision_softhsm_card(sb.portal, holder=holder)
        with PortalClient(sb.url) as portal:
            portal.login_edevlet(holder.tckn, holder.password)
            code = portal.start_pin_reset(Product.NES)
            ...
            sms = sb.last_sms_code(holder.phone)

The sandbox keeps each card's SO PIN server-side (encrypted) exactly as Kamu SM keeps the PUK;
the test reads SMS codes through the admin side (:meth:`RunningSandbox.last_sms_code`).
"""

from __future__ import annotations

from kamusm._extras import require

# Checked here, before kamusm.sandbox checks the same libraries, so that the message names the
# extra of kamusm.testing.
require("test", "cryptography", "starlette", "uvicorn")

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

import attrs
from cryptography import x509

from kamusm.sandbox import (
    CertificateRecord,
    SandboxPortal,
    SandboxServer,
    SandboxSettings,
)
from kamusm.sandbox._app import local_admin
from kamusm.values import Clock, ManualClock, Pin, Product, SmsCode, SystemClock, Tckn

if TYPE_CHECKING:
    from kamusm.testing.certificates import CertificateFactory, IssuedCertificate
    from kamusm.testing.opencryptoki import OpencryptokiToken
    from kamusm.testing.softhsm import SoftHsmToken

__all__ = [
    "RunningSandbox",
    "TestHolder",
    "certificate_records",
    "follow_portal",
    "provision_softhsm_card",
    "running_sandbox",
]


@attrs.frozen(kw_only=True)
class TestHolder:
    """A card holder for tests, with the secrets the sandbox needs to register them.

    ``repr`` shows neither the password nor the security word.
    """

    __test__ = False  # not a pytest test class

    tckn: Tckn
    name: str
    birth_date: date
    phone: str
    password: str = attrs.field(repr=False)
    security_word: str = attrs.field(repr=False)
    passport: str | None = None

    @classmethod
    def default(cls) -> TestHolder:
        """The test certificates' default holder (T.C. Kimlik No 10000000146), with fresh
        random secrets."""
        return cls.make(Tckn("10000000146"), name="IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK")

    @classmethod
    def make(cls, tckn: Tckn, *, name: str = "TEST KİŞİ", phone: str | None = None) -> TestHolder:
        """A holder with random password and security word."""
        return cls(
            tckn=tckn,
            name=name,
            birth_date=date(1985, 4, 23),
            phone=phone if phone is not None else f"05{tckn.value[1:10]}",
            password=f"pw-{secrets.token_urlsafe(12)}",
            security_word=f"kelime-{secrets.token_hex(4)}",
        )

    def register(self, portal: SandboxPortal) -> None:
        """Register with the sandbox (again is fine: an existing holder is kept)."""
        local_admin(portal).register_holder(
            tckn=self.tckn.value,
            name=self.name,
            birth_date=self.birth_date,
            password=self.password,
            phone=self.phone,
            security_word=self.security_word,
            passport=self.passport,
        )


def certificate_records(
    certificates: Sequence[IssuedCertificate], product: Product
) -> list[CertificateRecord]:
    """What the sandbox lists for each test certificate (read with cryptography)."""
    records = []
    for issued in certificates:
        cert = x509.load_der_x509_certificate(issued.der)
        records.append(
            CertificateRecord(
                serial_number=f"{cert.serial_number:X}",
                subject=cert.subject.rfc4514_string(),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                product=product,
            )
        )
    return records


def provision_softhsm_card(
    portal: SandboxPortal,
    *,
    holder: TestHolder,
    product: Product = Product.NES,
    factory: CertificateFactory | None = None,
    pin: Pin | str = "123456",
    so_pin: Pin | str | None = None,
    initial_pin: str | None = None,
    rotate_so_credential: bool = True,
) -> SoftHsmToken:
    """Create a SoftHSM2 token with the holder's test certificates, register the holder (if
    new) and the card, with its SO PIN as the unblock credential kept by the sandbox.

    ``so_pin`` is random by default: the test never needs to know it, as a holder never knows
    the PUK. The sandbox rotates it with every unblock unless ``rotate_so_credential`` is
    off; the token's ``so_pin`` follows the portal's record (:func:`follow_portal`).
    Returns the token (``serial``, ``module_path``, ``pin``).
    """
    from kamusm.testing.certificates import CertificateFactory  # noqa: PLC0415
    from kamusm.testing.softhsm import create_softhsm_token  # noqa: PLC0415

    factory = factory if factory is not None else CertificateFactory()
    if product is Product.NES:
        issued = factory.nes_card(name=holder.name, tckn=holder.tckn)
    else:
        issued = factory.mali_muhur_card()
    admin_pin = so_pin if so_pin is not None else f"{secrets.randbelow(10**8):08d}"
    token = create_softhsm_token(
        pin=pin, so_pin=admin_pin, certificates=[c.as_token_object() for c in issued]
    )
    holder.register(portal)
    portal.register_card(
        serial=token.serial,
        holder=holder.tckn,
        product=product,
        so_credential=token.so_pin.reveal(),
        initial_pin=initial_pin,
        certificates=certificate_records(issued, product),
        rotate_so_credential=rotate_so_credential,
    )
    follow_portal(token, portal)
    return token


def follow_portal(card: SoftHsmToken | OpencryptokiToken, portal: SandboxPortal) -> None:
    """Make ``card.so_pin`` follow the SO credential ``portal`` records for it (which the
    portal rotates with every unblock): for a card a test registered itself."""
    serial = card.serial
    card.so.follow(lambda: portal.card_so_credential(serial))


@attrs.frozen(kw_only=True)
class RunningSandbox:
    """A sandbox served on 127.0.0.1: its ``url``, ``admin_token``, the ``portal`` state behind
    it and the ``clock`` it decides expiry by (a :class:`ManualClock` unless told otherwise)."""

    url: str
    admin_token: str = attrs.field(repr=False)
    portal: SandboxPortal
    clock: Clock

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward (no sleeping in tests)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("this sandbox runs on a real clock")
        self.clock.advance(seconds)

    def last_sms_code(self, phone: str) -> SmsCode:
        """The newest SMS code sent to ``phone`` (read through the admin side)."""
        messages = self.portal.outbox(phone=phone)
        if not messages:
            raise LookupError("no SMS was sent to that phone")
        return SmsCode(messages[-1].code, length=len(messages[-1].code))


@contextmanager
def running_sandbox(
    *,
    clock: Clock | None = None,
    settings: SandboxSettings | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> Iterator[RunningSandbox]:
    """Serve a fresh sandbox (temporary SQLite file) on 127.0.0.1 and a free port on a
    background thread, for the duration of the ``with`` block. Its clock is a manual one
    that starts at the real time unless ``clock`` is given, so that the test certificates
    (issued around the real time) are valid by the clock the flows judge them by."""
    clock = clock if clock is not None else ManualClock(SystemClock().now())
    with (
        SandboxPortal(settings=settings, clock=clock) as portal,
        SandboxServer(portal, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile) as server,
    ):
        yield RunningSandbox(
            url=server.url, admin_token=server.admin_token, portal=portal, clock=clock
        )
