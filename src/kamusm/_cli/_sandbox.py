"""``kamusm sandbox serve`` and ``kamusm sandbox provision``: the local portal for training.

``provision`` makes what a trainee needs on a running sandbox: a SoftHSM2 card carrying test
certificates in a store directory (kept, so other commands can use the card through
``SOFTHSM2_CONF``), and its holder and card registered through the sandbox's admin API. The
card's first PIN and its SO PIN are random and shown to nobody: the SO PIN goes to the sandbox
(as Kamu SM keeps the PUK), and the trainee sets a PIN with ``kamusm reset-pin``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import secrets
import sqlite3
import ssl
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from kamusm._cli._common import Settings
from kamusm._cli._demo import random_pin
from kamusm._cli._exit import CommandError, ExitCode
from kamusm._cli._prompts import Ui
from kamusm._cli._terminal import LineReader, is_terminal
from kamusm._cli._texts import text
from kamusm._contract import LOOPBACK_HOSTS
from kamusm._portal_admin import AdminRefused, SandboxAdmin
from kamusm.policy import PinPolicy
from kamusm.values import Product, Tckn

#: The holder's portal password for ``provision`` (never a PIN; asked when not set).
ENV_HOLDER_PASSWORD = "KAMUSM_HOLDER_PASSWORD"
#: The holder's security word ("Güvenlik Sözcüğü") for ``provision``; made and shown if unset.
ENV_SECURITY_WORD = "KAMUSM_SECURITY_WORD"
#: Hex master secret that lets ``serve --database`` reopen its file after a restart.
ENV_SANDBOX_SECRET = "KAMUSM_SANDBOX_SECRET"
_LOOPBACK = LOOPBACK_HOSTS


def default_store() -> Path:
    """Where ``provision`` keeps its SoftHSM2 store unless told: the user's data directory."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "kamusm" / "softhsm"


_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


def _checked_proxies(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--trusted-proxy`` values, each an IP address or network (one clear line otherwise)."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise CommandError("cli.sandbox.bad_proxy", ExitCode.USAGE, value=value) from None
    return values


def _checked_hosts(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--allowed-host`` values, each a DNS host name."""
    for value in values:
        if not _HOST_NAME.fullmatch(value):
            raise CommandError("cli.sandbox.bad_host", ExitCode.USAGE, value=value)
    return values


def serve_command(
    settings: Settings,
    *,
    host: str,
    port: int,
    database: str | None,
    manual_clock: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    training: bool = False,
    trusted_proxies: tuple[str, ...] = (),
    allowed_hosts: tuple[str, ...] = (),
) -> int:
    from kamusm.sandbox import (  # noqa: PLC0415 (starlette and uvicorn only here)
        SandboxSecretError,
        master_secret_from_hex,
        serve,
    )

    secret_hex = os.environ.get(ENV_SANDBOX_SECRET)
    trusted_proxies = _checked_proxies(trusted_proxies)
    allowed_hosts = _checked_hosts(allowed_hosts)
    _check_tls_files(ssl_certfile, ssl_keyfile)  # before the banner says it is listening
    try:
        serve(
            host=host,
            port=port,
            database=database,
            manual_clock=manual_clock,
            master_secret=master_secret_from_hex(secret_hex) if secret_hex else None,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            training=training,
            trusted_proxies=trusted_proxies,
            allowed_hosts=allowed_hosts,
            lang=settings.lang,
        )
    except SandboxSecretError as err:  # malformed, or not the database's: one line
        sys.stderr.write(err.message(settings.lang) + "\n")
        return ExitCode.USAGE
    except sqlite3.Error:  # not a directory, not writable, not a database: one line
        raise CommandError("cli.sandbox.bad_database", ExitCode.USAGE, path=database) from None
    except OSError as err:
        if err.filename is not None and database is not None:  # a file of the database
            raise CommandError("cli.sandbox.bad_database", ExitCode.USAGE, path=database) from None
        if err.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise CommandError("cli.sandbox.port_unavailable", ExitCode.USAGE, port=port) from None
        raise
    except KeyboardInterrupt:  # Ctrl-C is how it is stopped
        sys.stdout.write(text("cli.sandbox.stopped", settings.lang) + "\n")
    return ExitCode.OK


def _check_tls_files(certfile: str | None, keyfile: str | None) -> None:
    """The certificate and key ``serve`` is to use load: one clear line otherwise, before
    anything is printed or bound."""
    if certfile is None and keyfile is None:
        return
    if certfile is None:
        raise CommandError("cli.sandbox.key_without_cert", ExitCode.USAGE)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError):  # missing, unreadable, not PEM, or key and cert differ
        files = certfile if keyfile is None else f"{certfile}, {keyfile}"
        raise CommandError("cli.sandbox.bad_tls", ExitCode.USAGE, files=files) from None


def _admin(base_url: str, admin_token: str) -> SandboxAdmin:
    """The sandbox's admin client; its refusals become this command's exit."""
    return SandboxAdmin.over_http(base_url, admin_token)


def _refused(err: AdminRefused) -> CommandError:
    return CommandError(
        "cli.sandbox.refused",
        ExitCode.PORTAL_REFUSED,
        status=err.status,
        reason=err.reason or err.code,
    )


def _holder_password(settings: Settings) -> str:
    named = os.environ.get(ENV_HOLDER_PASSWORD)
    if named:
        return named
    if not (is_terminal(sys.stdin) and is_terminal(sys.stdout)):
        raise CommandError("cli.sandbox.password_needed", ExitCode.USAGE)
    ui = Ui(settings.lang, reader=LineReader())
    while True:
        first = ui.ask(text("cli.sandbox.password", settings.lang), hidden=True)
        again = ui.ask(text("cli.sandbox.password_again", settings.lang), hidden=True)
        if first is None or again is None:
            raise KeyboardInterrupt
        if first and first == again:
            return first
        ui.problem(text("cli.sandbox.password_mismatch", settings.lang))


def provision_command(
    settings: Settings,
    *,
    url: str,
    admin_token: str,
    store: str | None,
    tckn: str,
    name: str,
    phone: str | None,
    birth_date: str,
    product: Product,
) -> int:
    lang = settings.lang
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in _LOOPBACK:
        raise CommandError("cli.portal_url_invalid", ExitCode.USAGE)
    holder = Tckn(tckn)
    born = date.fromisoformat(birth_date)
    from kamusm.testing.softhsm import (  # noqa: PLC0415
        create_softhsm_token,
        find_softhsm_module,
    )

    if find_softhsm_module() is None:
        raise CommandError("cli.softhsm_missing", ExitCode.SETUP)
    from kamusm.testing.certificates import CertificateFactory  # noqa: PLC0415 (cryptography)
    from kamusm.testing.sandbox import certificate_records  # noqa: PLC0415

    password = _holder_password(settings)
    # The "Güvenlik Sözcüğü" of Şifreli Giriş: the trainer's (from the environment, as a
    # secret never goes on the command line), or one made here and told.
    security_word = os.environ.get(ENV_SECURITY_WORD) or None
    word = security_word or f"kelime-{secrets.token_hex(4)}"
    factory = CertificateFactory()
    issued = (
        factory.nes_card(name=name, tckn=holder)
        if product is Product.NES
        else factory.mali_muhur_card()
    )
    so_pin = f"{secrets.randbelow(10**8):08d}"
    directory = Path(store) if store else default_store()
    card = create_softhsm_token(
        pin=random_pin(PinPolicy(), tckn=holder, birth_date=born),
        so_pin=so_pin,
        certificates=[c.as_token_object() for c in issued],
        directory=directory,
    )
    admin = _admin(url, admin_token)
    try:
        admin.register_holder(
            tckn=holder.value,
            name=name,
            birth_date=born,
            password=password,
            phone=phone or f"05{holder.value[1:10]}",
            security_word=word,
        )
    except AdminRefused as err:
        raise _refused(err) from None
    records = [
        {
            "serial_number": r.serial_number,
            "subject": r.subject,
            "not_before": r.not_before.isoformat(),
            "not_after": r.not_after.isoformat(),
            "product": product.value,
        }
        for r in certificate_records(issued, product)
    ]
    try:
        admin.register_card(
            serial=card.serial,
            holder=holder.value,
            product=product.value,
            so_credential=so_pin,
            certificates=records,
        )
    except AdminRefused as err:
        raise _refused(err) from None
    out = sys.stdout
    out.write(text("cli.sandbox.card", lang, serial=card.serial, label=card.label) + "\n")
    out.write(text("cli.sandbox.holder", lang, name=name, tckn=holder.value) + "\n")
    if security_word is None:
        out.write(text("cli.sandbox.security_word", lang, word=word) + "\n")
    else:
        out.write(text("cli.sandbox.security_word_set", lang) + "\n")
    store_line = text(
        "cli.sandbox.store", lang, store=card.store.directory, conf=card.store.conf_path
    )
    out.write(store_line + "\n")
    out.write(text("cli.sandbox.next", lang, url=url) + "\n")
    return ExitCode.OK
