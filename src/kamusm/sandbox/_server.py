"""Running the sandbox: uvicorn on 127.0.0.1, in the foreground (:func:`serve`, ``python -m
kamusm.sandbox``) or on a background thread (:class:`SandboxServer`, for tests and demos)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import socket
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from kamusm._contract import LOOPBACK_HOSTS
from kamusm._portal_admin import AdminRefused, SandboxAdmin
from kamusm.errors import PortalError
from kamusm.messages import Language
from kamusm.sandbox._app import create_app
from kamusm.sandbox._portal import SandboxPortal, SandboxSecretError, master_secret_from_hex
from kamusm.sandbox._settings import SandboxSettings
from kamusm.values import ManualClock, SystemClock

__all__ = ["SandboxServer", "main", "serve"]

_LOOPBACK = LOOPBACK_HOSTS
#: Environment variable holding the master secret (hex, 32 bytes or more) that lets a
#: deployment reopen its SQLite file after a restart.
SECRET_ENV = "KAMUSM_SANDBOX_SECRET"


#: The lines :func:`serve` starts with, in each language (``{value}`` is the address, the
#: token or the file). Names of things stay as they are: "OpenAPI".
BANNER: dict[str, dict[Language, str]] = {
    "portal": {
        "tr": "kamusm yerel portalı:   {value}",
        "en": "kamusm sandbox portal: {value}",
    },
    "openapi": {
        "tr": "OpenAPI belgesi:        {value}",
        "en": "OpenAPI document:      {value}",
    },
    "training": {
        "tr": "eğitim sayfaları:       {value}",
        "en": "training pages:        {value}",
    },
    "admin_token": {
        "tr": "yönetici anahtarı:      {value}",
        "en": "admin token:           {value}",
    },
    "database": {
        "tr": "veritabanı:             {value}",
        "en": "database:              {value}",
    },
}


def banner_lines(
    lang: Language, *, url: str, admin_token: str, database: str | Path, training: bool
) -> list[str]:
    """What :func:`serve` prints first, in ``lang``: the API's address, the OpenAPI
    document's, the training pages' (when served), the admin token and the database file."""
    rows = [
        ("portal", f"{url}/api/v1"),
        ("openapi", f"{url}/api/v1/openapi.json"),
        *([("training", f"{url}/portal/")] if training else []),
        ("admin_token", admin_token),
        ("database", str(database)),
    ]
    return [BANNER[key][lang].format(value=value) for key, value in rows]


def _protocol(read_timeout: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol with a deadline for reading each request: a connection
    that has started a request (or connected and sent nothing) and not finished it within
    ``read_timeout`` seconds is closed. uvicorn itself only times out idle keep-alive
    connections, so half-sent requests were held open for ever."""

    class TimedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(read_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            # IDLE: the headers are not complete (a finished answer disarms the deadline);
            # SEND_BODY: the body is not.
            reading = self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
            if reading and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            self._arm()
            super().data_received(data)

        def on_response_complete(self) -> None:
            self._disarm()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return TimedH11Protocol


def _config(
    app: Any,
    *,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    read_timeout: float,
    trusted_proxies: Sequence[str],
) -> uvicorn.Config:
    # access_log off: request lines are not needed and a log is no place for identifiers.
    # Proxy headers (X-Forwarded-For) only from proxies the operator names: uvicorn trusts
    # 127.0.0.1 by default, and every client here is 127.0.0.1, so any client could pick its
    # own address for the rate limits.
    return uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_level="warning",
        date_header=False,  # the app dates each answer by the portal's clock (_PortalDate)
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_keep_alive=30,
        backlog=4096,
        http=_protocol(read_timeout),
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) if trusted_proxies else None,
    )


def _bind(host: str, port: int) -> socket.socket:
    if host not in _LOOPBACK:
        raise ValueError("the sandbox listens on loopback only (127.0.0.1, ::1, localhost)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose protocol says
    # TCP, and without it every response written in two parts waits ~40 ms (Nagle against
    # delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket, *, tls: bool) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


class SandboxServer:
    """The sandbox served by uvicorn on a background thread, on 127.0.0.1 and a free port.

    Use as a context manager; ``url`` and ``admin_token`` are ready as soon as it is entered
    (the socket is bound and listening before uvicorn starts, so no waiting is needed).
    ``portal`` is the :class:`SandboxPortal` behind it: provision and read the outbox
    directly, or through the admin API. ``trusted_proxies`` are the addresses whose
    ``X-Forwarded-For`` names the client (none by default); ``allowed_hosts`` the host names
    served besides the loopback ones.
    """

    def __init__(
        self,
        portal: SandboxPortal | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        trusted_proxies: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        training: bool = False,
    ) -> None:
        self._socket = _bind(host, port)
        self._own_portal = portal is None
        self.portal = portal if portal is not None else SandboxPortal()
        self.admin_token = admin_token if admin_token is not None else secrets.token_urlsafe(24)
        self.app = create_app(
            self.portal,
            admin_token=self.admin_token,
            allowed_hosts=allowed_hosts,
            training=training,
        )
        self.url = _url(self._socket, tls=ssl_certfile is not None)
        self._server = uvicorn.Server(
            _config(
                self.app,
                ssl_certfile=ssl_certfile,
                ssl_keyfile=ssl_keyfile,
                read_timeout=self.portal.settings.read_timeout.total_seconds(),
                trusted_proxies=trusted_proxies,
            )
        )
        self._thread = threading.Thread(target=self._run, name="kamusm-sandbox", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # noqa: BLE001 (kept and re-raised by stop())
            self._failure = exc

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wait for the thread, close the socket (and the portal if this server
        created it)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()
        if self._own_portal:
            self.portal.close()
        if self._failure is not None:
            raise RuntimeError("the sandbox server thread failed") from self._failure

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxServer({self.url!r})"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    database: str | Path | None = None,
    settings: SandboxSettings | None = None,
    manual_clock: bool = False,
    admin_token: str | None = None,
    master_secret: bytes | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    out: TextIO | None = None,
    trusted_proxies: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
    training: bool = False,
    lang: Language = "en",
) -> None:
    """Serve the sandbox in the foreground until interrupted; prints its URL and admin token
    (in ``lang``: ``kamusm sandbox serve`` passes the command's language).

    ``manual_clock`` makes time stand still until ``POST /api/v1/admin/clock`` moves it
    (training and out-of-process tests of expiry). Raises :class:`SandboxSecretError` when
    ``database`` was written with another master secret.
    """
    out = out if out is not None else sys.stdout
    portal = SandboxPortal(
        database,
        settings=settings,
        clock=ManualClock(SystemClock().now()) if manual_clock else None,  # starts now
        master_secret=master_secret,
    )
    token = admin_token if admin_token is not None else secrets.token_urlsafe(24)
    app = create_app(portal, admin_token=token, allowed_hosts=allowed_hosts, training=training)
    sock = _bind(host, port)
    url = _url(sock, tls=ssl_certfile is not None)
    lines = banner_lines(
        lang, url=url, admin_token=token, database=portal.database, training=training
    )
    print("\n".join(lines), file=out)
    out.flush()
    server = uvicorn.Server(
        _config(
            app,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            read_timeout=portal.settings.read_timeout.total_seconds(),
            trusted_proxies=trusted_proxies,
        )
    )
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
        portal.close()


def _secret(variable: str, what: str) -> str:
    """A secret from its environment variable, or typed at a hidden prompt on a terminal; never
    from the command line, where ``ps`` and the shell history would keep it."""
    value = os.environ.get(variable, "")
    if not value and sys.stdin.isatty():
        value = getpass.getpass(f"{what}: ")
    return value


MISSING_VALUE = "missing a value (options, or secrets in their environment variables)"


def _provision(args: argparse.Namespace, out: TextIO) -> int:
    admin_token = args.admin_token or _secret("KAMUSM_SANDBOX_ADMIN_TOKEN", "admin token")
    if not admin_token:
        print("missing the admin token (KAMUSM_SANDBOX_ADMIN_TOKEN)", file=out)
        return 2
    admin = SandboxAdmin.over_http(args.url, admin_token)
    try:
        if args.what == "holder":
            holder: dict[str, Any] = {
                "tckn": args.tckn,
                "name": args.name,
                "birth_date": date.fromisoformat(args.birth_date),
                "password": _secret("KAMUSM_HOLDER_PASSWORD", "e-Devlet password"),
                "phone": args.phone,
                "security_word": _secret("KAMUSM_SECURITY_WORD", "security word"),
            }
            if not all(holder.values()):
                print(MISSING_VALUE, file=out)
                return 2
            admin.register_holder(**holder, passport=args.passport or None, existing_ok=False)
        else:
            card = {
                "serial": args.serial,
                "holder": args.holder,
                "product": args.product,
                "so_credential": _secret("KAMUSM_SO_CREDENTIAL", "SO credential (the card's PUK)"),
            }
            if not all(card.values()):
                print(MISSING_VALUE, file=out)
                return 2
            admin.register_card(**card, rotate_so_credential=args.so_rotation)
    except AdminRefused as err:
        print(f"refused: HTTP {err.status} {err.code} {err.reason or ''}".rstrip(), file=out)
        return 1
    except PortalError as err:
        print(f"the sandbox at {args.url} could not be reached ({type(err).__name__})", file=out)
        return 1
    print(f"registered {args.what}", file=out)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kamusm.sandbox", description="The local kamusm sandbox portal."
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("serve", help="serve the sandbox (the default)")
    run.add_argument("--host", default="127.0.0.1", choices=_LOOPBACK)
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--database", help="SQLite file (a temporary one by default)")
    run.add_argument("--manual-clock", action="store_true", help="time moves only on request")
    run.add_argument(
        "--training", action="store_true", help="serve the training pages under /portal"
    )
    run.add_argument("--ssl-certfile")
    run.add_argument("--ssl-keyfile")
    run.add_argument(
        "--trusted-proxy",
        action="append",
        help="address of a reverse proxy whose X-Forwarded-For names the client (repeatable; "
        "none by default)",
    )
    run.add_argument(
        "--allowed-host",
        action="append",
        help="a host name served besides 127.0.0.1, ::1 and localhost (repeatable)",
    )
    prov = sub.add_parser(
        "provision",
        help="register a holder or a card with a running sandbox (secrets come from "
        "KAMUSM_HOLDER_PASSWORD, KAMUSM_SECURITY_WORD, KAMUSM_SO_CREDENTIAL or a hidden prompt)",
    )
    prov.add_argument("--url", required=True)
    prov.add_argument(
        "--admin-token",
        help="the sandbox's admin token; better in KAMUSM_SANDBOX_ADMIN_TOKEN (or typed at a "
        "hidden prompt), where ps and the shell history do not keep it",
    )
    what = prov.add_subparsers(dest="what", required=True)
    holder = what.add_parser("holder")
    holder.add_argument("--tckn", required=True)
    holder.add_argument("--name", required=True)
    holder.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    holder.add_argument("--phone", required=True)
    holder.add_argument("--passport")
    card = what.add_parser("card")
    card.add_argument("--serial", required=True)
    card.add_argument("--holder", required=True, help="the holder's T.C. Kimlik No")
    card.add_argument("--product", choices=("nes", "mali_muhur"), default="nes")
    card.add_argument(
        "--no-so-rotation",
        dest="so_rotation",
        action="store_false",
        help="keep the card's SO credential fixed (by default every unblock changes it; "
        "turn rotation off for cards that do not allow their SO credential to be changed)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """``python -m kamusm.sandbox [serve|provision] ...``; returns the exit status."""
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    if args.command == "provision":
        return _provision(args, out)
    secret_hex = os.environ.get(SECRET_ENV)
    try:
        _serve_from(args, secret_hex, out)
    except SandboxSecretError as err:  # one line for the operator, no traceback
        print(f"kamusm sandbox: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C (uvicorn passes it on after a clean shutdown)
        print("kamusm sandbox portal stopped", file=out)
    return 0


def _serve_from(args: argparse.Namespace, secret_hex: str | None, out: TextIO) -> None:
    serve(
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", 8080),
        database=getattr(args, "database", None),
        manual_clock=getattr(args, "manual_clock", False),
        master_secret=master_secret_from_hex(secret_hex) if secret_hex else None,
        ssl_certfile=getattr(args, "ssl_certfile", None),
        ssl_keyfile=getattr(args, "ssl_keyfile", None),
        out=out,
        trusted_proxies=tuple(getattr(args, "trusted_proxy", None) or ()),
        allowed_hosts=tuple(getattr(args, "allowed_host", None) or ()),
        training=getattr(args, "training", False),
    )
