"""Shared parts of the end-to-end flow tests: a holder's code, the sandbox's view, and a real
TCP proxy that makes the portal unreachable or silent at a chosen step."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from kamusm import PortalClient, Product, VerificationCode
from kamusm.testing.sandbox import RunningSandbox, TestHolder


def new_code(sandbox: RunningSandbox, holder: TestHolder, product: Product) -> VerificationCode:
    """Log in as the holder (e-Devlet) and start a PIN reset: the portal's verification code."""
    with PortalClient(sandbox.url, clock=sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        return client.start_pin_reset(product)


def events(sandbox: RunningSandbox, card_serial: str) -> list[str]:
    """The sandbox's audit trail for one card (no secrets in it)."""
    return [e["event"] for e in sandbox.portal.audit_log() if e["card_serial"] == card_serial]


class FaultyProxy:
    """A TCP proxy on 127.0.0.1 in front of the sandbox. ``mode`` is ``"pass"``, ``"down"``
    (listener and every connection closed: connections are refused) or ``"stall"``
    (requests are swallowed, never answered: the client times out)."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "pass"
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "down":
                client.close()
                continue
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in sel.select():
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is client and self.mode == "stall":
                        continue  # swallowed: the portal never hears of it
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()

    def go_down(self) -> None:
        """The portal becomes unreachable: nothing listens, open connections drop."""
        self.mode = "down"
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            self._conns.clear()

    def close(self) -> None:
        self.go_down()


@contextlib.contextmanager
def faulty_proxy(upstream_url: str) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream_url)
    try:
        yield proxy
    finally:
        proxy.close()


class FailAt:
    """The desktop client, with the network failing right before the call named ``step``."""

    def __init__(self, client: PortalClient, proxy: FaultyProxy, step: str, mode: str) -> None:
        self._client, self._proxy, self._step, self._mode = client, proxy, step, mode

    def __getattr__(self, name: str) -> Any:
        method: Callable[..., Any] = getattr(self._client, name)
        if name != self._step:
            return method

        def failing(*args: Any, **kwargs: Any) -> Any:
            if self._mode == "down":
                self._proxy.go_down()
                return method(*args, **kwargs)
            self._proxy.mode = "stall"
            try:
                return method(*args, **kwargs)
            finally:
                self._proxy.mode = "pass"  # later calls (the failure report) get through

        return failing
