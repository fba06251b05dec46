"""Attacks on the portal client over real HTTP on 127.0.0.1 (issue 12): a proxy named in the
environment, a hostile or broken portal answering too much or too deep, and secrets in the
cause chain of the errors the client raises."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from kamusm import Pin, reset_pin
from kamusm.errors import PortalError, PortalProtocolError
from kamusm.portal import AsyncPortalClient, PortalClient
from kamusm.testing.prompts import ScriptedResetPrompts
from kamusm.testing.sandbox import RunningSandbox, TestHolder, provision_softhsm_card
from kamusm.values import Product, SmsCode, VerificationCode
from tests.flow_parts import FailAt, events, faulty_proxy, new_code

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@contextmanager
def _served(app: Asgi) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 and a free port, on a thread of its own."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _answering(
    status: int, chunks: Callable[[], Iterator[bytes]], sent: list[int] | None = None
) -> Asgi:
    """An app answering every request with ``chunks``; it stops when the client hangs up,
    and counts the bytes it sent in ``sent[0]``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        for chunk in chunks():
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            # A send after the hang-up returns at once without writing: yield, so the watcher
            # sees the hang-up, and count only what went out before it.
            await asyncio.sleep(0)
            if gone.is_set():
                break
            if sent is not None:
                sent[0] += len(chunk)
        await send({"type": "http.response.body", "body": b""})
        watcher.cancel()

    return app


def _deep(depth: int) -> Iterator[bytes]:
    yield b'{"operation_id": ' + b"[" * depth + b"]" * depth + b"}"


def _huge() -> Iterator[bytes]:
    yield b'{"operation_id": "'
    for _ in range(1600):  # 100 MiB
        yield b"x" * 65536
    yield b'"}'


def test_an_answer_too_deep_is_a_protocol_error() -> None:
    """It raised an untyped RecursionError."""
    with (
        _served(_answering(201, lambda: _deep(100_000))) as url,
        PortalClient(url) as client,
        pytest.raises(PortalProtocolError),
    ):
        client.redeem(VerificationCode("1" * 15), card_serial="AKIS01")


def test_an_answer_too_large_is_refused_before_it_is_read_whole() -> None:
    """A 10 MB answer was read whole before it was refused: the client now hangs up after
    MAX_ANSWER_BYTES (what the kernel's socket buffers took on the way is the rest)."""
    sent = [0]
    with (
        _served(_answering(201, _huge, sent)) as url,
        PortalClient(url) as client,
        pytest.raises(PortalProtocolError),
    ):
        client.redeem(VerificationCode("1" * 15), card_serial="AKIS01")
    assert 0 < sent[0] < 32 * 1024 * 1024, sent


@pytest.mark.anyio
async def test_the_async_client_has_the_same_limits() -> None:
    with _served(_answering(201, lambda: _deep(100_000))) as url:
        async with AsyncPortalClient(url) as client:
            with pytest.raises(PortalProtocolError):
                await client.redeem(VerificationCode("1" * 15), card_serial="AKIS01")


def _deep_at(upstream: str, path: str) -> Asgi:
    """A reverse proxy to the sandbox that answers ``path`` with JSON nested 100,000 deep."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == path:
            await _answering(200, lambda: _deep(100_000))(scope, receive, send)
            return
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        async with httpx.AsyncClient(trust_env=False) as http:
            answer = await http.request(
                scope["method"], upstream + scope["path"], content=body, headers=headers
            )
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})

    return app


def test_reset_pin_reports_the_operation_failed_after_a_nested_answer(
    kamusm_sandbox: RunningSandbox,
) -> None:
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    card = provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin="123456")
    prompts = ScriptedResetPrompts(
        codes=[new_code(kamusm_sandbox, holder, Product.NES)],
        card=card.serial,
        pins=[("482915", "482915")],
        confirmations=[lambda: kamusm_sandbox.last_sms_code(holder.phone).reveal()],
    )
    with (
        _served(_deep_at(kamusm_sandbox.url, "/api/v1/operations/confirm")) as url,
        PortalClient(url, clock=kamusm_sandbox.clock) as client,
        pytest.raises(PortalProtocolError),
    ):
        reset_pin(card.module(), client, prompts, clock=kamusm_sandbox.clock)
    assert "operation.failed" in events(kamusm_sandbox, card.serial)
    card.token().verify_pin(Pin("123456"))  # untouched


# ---- proxies from the environment ----------------------------------------------------------


@contextmanager
def _listening_proxy() -> Iterator[list[bytes]]:
    """A TCP listener standing for an HTTP proxy: records what reaches it, answers nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                seen.append(conn.recv(65536))
            except OSError:
                seen.append(b"")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    seen.append(str(port).encode())  # the first entry is the port, not traffic
    try:
        yield seen
    finally:
        listener.close()
        thread.join(timeout=5)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_loopback_traffic_never_goes_through_a_proxy(
    kamusm_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """httpx honoured HTTP_PROXY / ALL_PROXY, so the password went to the proxy in clear."""
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    with _listening_proxy() as seen:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{int(seen[0])}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with PortalClient(kamusm_sandbox.url, timeout=5) as client:
            client.login_edevlet(holder.tckn, holder.password)
        traffic = seen[1:]
    assert traffic == []


# ---- secrets in the cause chain ------------------------------------------------------------


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def _everything_in(err: BaseException) -> str:
    parts = []
    for exc in _chain(err):
        parts += [repr(exc), str(exc), repr(exc.args), repr(vars(exc))]
        request = getattr(exc, "_request", None)
        if isinstance(request, httpx.Request):
            parts.append(request.content.decode(errors="replace"))
            parts.append(str(request.url) + repr(request.headers))
    return "\n".join(parts)


@pytest.mark.parametrize("step", ["redeem", "request_challenge", "confirm_challenge"])
@pytest.mark.parametrize("mode", ["down", "stall"])
def test_no_secret_anywhere_in_the_chain_of_a_portal_error(
    kamusm_sandbox: RunningSandbox, step: str, mode: str
) -> None:
    """``err.__cause__.request.content`` held the operation id, the verification code and the
    SMS answer in clear."""
    holder = TestHolder.default()
    holder.register(kamusm_sandbox.portal)
    kamusm_sandbox.portal.register_card(
        serial="AKIS0000CHAIN001", holder=holder.tckn, product=Product.NES, so_credential="9911"
    )
    code = new_code(kamusm_sandbox, holder, Product.NES)
    secrets = [code.reveal()]
    caught: PortalError | None = None
    with faulty_proxy(kamusm_sandbox.url) as proxy, PortalClient(proxy.url, timeout=0.5) as raw:
        client = FailAt(raw, proxy, step, mode)
        try:
            op = client.redeem(code, card_serial="AKIS0000CHAIN001")
            secrets.append(op.operation_id)
            client.request_challenge(op)
            sms = kamusm_sandbox.last_sms_code(holder.phone)
            secrets.append(sms.reveal())
            client.confirm_challenge(op, SmsCode(sms.reveal()))
        except PortalError as err:
            caught = err
    assert caught is not None, "the network failure did not reach the client"
    assert caught.__cause__ is not None  # chained, as every translated error is
    text = _everything_in(caught)
    for secret in secrets:
        assert secret not in text
