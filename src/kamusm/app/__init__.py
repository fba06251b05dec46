"""The browser wizard for card holders (extra ``app``): ``kamusm app``.

A local web application on 127.0.0.1 that walks a holder through the screens of Kamu SM's own
e-İmza application: Doğrulama Kodu, Kart Seçimi, Yeni PIN Kodu with the on-screen keypad, SMS
Onay or WEB Parola, and the success screen with the PIN safety warnings; also the cards with
their PIN state and certificates, and the change of a PIN the holder knows. The flows run on
the server through :func:`kamusm.areset_pin` and :func:`kamusm.achange_pin`: the browser shows
questions and sends answers, and holds no rule of its own.

Only this package imports Jinja2. Its guard (``kamusm.app._web``) binds to 127.0.0.1, requires
the random token of each start, checks ``Host`` and ``Origin``, a CSRF token on every form, and
serves every asset itself under a Content-Security-Policy with no inline script.

::

    with AppServer(AppConfig(portal_url="http://127.0.0.1:8080")) as app:
        print(app.launch_url)   # open it in a browser, once
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import webbrowser
from typing import Any

from kamusm._extras import require

require("app", "starlette", "uvicorn", "jinja2")

import uvicorn  # noqa: E402 (after the extra's check)

from kamusm.app._web import AppConfig, create_app  # noqa: E402

__all__ = ["AppConfig", "AppServer", "create_app", "serve"]

HOST = "127.0.0.1"


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((HOST, port))
    sock.listen(64)
    return sock


def _config(app: Any) -> uvicorn.Config:
    # No access log: a request line is no place for anything, and none is needed.
    return uvicorn.Config(
        app, lifespan="on", access_log=False, log_level="warning", timeout_keep_alive=30
    )


class AppServer:
    """The wizard served by uvicorn on a background thread, on 127.0.0.1 and a free port
    (tests, demos). ``launch_url`` is the one URL that opens a session."""

    def __init__(self, config: AppConfig, *, port: int = 0) -> None:
        self._socket = _bind(port)
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://{HOST}:{self.port}"
        self._launch_token = secrets.token_urlsafe(32)
        self.app = create_app(config, port=self.port, launch_token=self._launch_token)
        self._server = uvicorn.Server(_config(self.app))
        self._thread = threading.Thread(target=self._run, name="kamusm-app", daemon=True)
        self._failure: BaseException | None = None

    @property
    def launch_url(self) -> str:
        """The URL carrying this start's token (opens the one session)."""
        return f"{self.url}/start?token={self._launch_token}"

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # noqa: BLE001 (kept and re-raised by stop())
            self._failure = exc

    def start(self) -> AppServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._socket.close()
        if self._failure is not None:
            raise RuntimeError("the app server thread failed") from self._failure

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"AppServer({self.url!r})"


def serve(
    config: AppConfig,
    *,
    port: int = 0,
    open_browser: bool = True,
    announce: Any = print,
) -> None:
    """Serve the wizard in the foreground until interrupted, after opening the launch URL in
    the default browser (``announce`` receives the URL, for a person to open by hand)."""
    sock = _bind(port)
    bound = int(sock.getsockname()[1])
    token = secrets.token_urlsafe(32)
    app = create_app(config, port=bound, launch_token=token)
    url = f"http://{HOST}:{bound}/start?token={token}"
    announce(url)
    server = uvicorn.Server(_config(app))
    if open_browser:  # the socket already listens: the browser's request waits for uvicorn
        webbrowser.open(url)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
