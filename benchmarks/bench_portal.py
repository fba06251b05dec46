"""How many desktop-side PIN-reset sequences per second AsyncPortalClient carries.

Starts two servers on 127.0.0.1, each uvicorn in its own process: the sandbox portal
(``python -m kamusm.sandbox``) and a bare Starlette endpoint. Then, at 1, 8 and 50 concurrent
operations:

- bare: a plain ``httpx.AsyncClient`` (default settings) doing GET on the bare endpoint;
- portal: one shared ``AsyncPortalClient`` running full sequences, redeem → challenge (SMS) →
  confirm → report, each after its holder issued a fresh verification code (holder session)
  and followed by the harness reading the SMS from the admin outbox: 6 HTTP requests per
  sequence, of which the 4 desktop-side ones are the measured client's;
- portal unbounded: the same with ``max_in_flight=None`` (how the client behaved before).

Prints sequences/s, all HTTP requests/s, p50/p99 of a sequence (redeem to report), and the
ratios: portal requests/s to bare requests/s, and each rate at 50 to its rate at 8.

Run: ``.venv/bin/python benchmarks/bench_portal.py [--quick]``. Bounded: a fixed number of
requests per level, loopback only, servers stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date

import httpx

from kamusm.portal import AsyncPortalClient
from kamusm.values import Product, SmsCode, Tckn

LEVELS = (1, 8, 50)
BARE_APP = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def ok(request):
    return JSONResponse({"status": "ok"})

app = Starlette(routes=[Route("/ok", ok)])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
try:
    uvicorn.Server(config).run(sockets=[sock])
except KeyboardInterrupt:
    pass
"""


def _start(argv: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    if proc.stdout is None:
        raise RuntimeError("no stdout from the server")
    first = proc.stdout.readline()
    lines = [first] + ([proc.stdout.readline() for _ in range(3)] if "sandbox" in first else [])
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def _drive(
    concurrency: int, total: int, one: Callable[[int], Awaitable[float]]
) -> dict[str, float]:
    """Run ``total`` units over ``concurrency`` workers; ``one(worker)`` returns its latency."""
    latencies: list[float] = []
    left = total

    async def worker(index: int) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            latencies.append(await one(index))

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "rate": total / elapsed,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
        "mean": statistics.fmean(latencies) * 1000,
    }


async def bare(url: str, concurrency: int, total: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url) as client:
        await client.get("/ok")

        async def one(_: int) -> float:
            t = time.perf_counter()
            response = await client.get("/ok")
            response.raise_for_status()
            return time.perf_counter() - t

        return await _drive(concurrency, total, one)


async def portal(
    url: str,
    admin_token: str,
    holders: list[tuple[Tckn, str, str, str]],
    *,
    concurrency: int,
    total: int,
    max_in_flight: int | None,
) -> dict[str, float]:
    """Full sequences through one shared AsyncPortalClient (the measured one)."""
    admin = httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {admin_token}"},
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
    )
    gate = asyncio.Semaphore(8)  # the harness's own outbox reads stay bounded too
    sessions = [AsyncPortalClient(url, max_in_flight=max_in_flight) for _ in range(concurrency)]
    desktop = AsyncPortalClient(url, max_in_flight=max_in_flight)
    try:
        for (tckn, password, _, _), session in zip(holders, sessions, strict=False):
            await session.login_edevlet(tckn, password)

        async def one(index: int) -> float:
            _, _, phone, serial = holders[index]
            code = await sessions[index].start_pin_reset(Product.NES)
            t = time.perf_counter()
            op = await desktop.redeem(code, card_serial=serial)
            await desktop.request_challenge(op)
            async with gate:
                outbox = await admin.get("/api/v1/admin/outbox", params={"phone": phone})
            sms = SmsCode(outbox.json()["messages"][-1]["code"])
            await desktop.confirm_challenge(op, sms)
            await desktop.report_result(op, success=True)
            return time.perf_counter() - t

        return await _drive(concurrency, total, one)
    finally:
        await desktop.aclose()
        await admin.aclose()
        for session in sessions:
            await session.aclose()


def provision(url: str, admin_token: str, count: int) -> list[tuple[Tckn, str, str, str]]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    holders = []
    with httpx.Client(base_url=url, headers=headers) as client:
        for i in range(count):
            tckn = Tckn.complete(f"{200000000 + i * 7919:09d}")
            password = secrets.token_urlsafe(12)
            phone = f"0555{i:07d}"
            serial = f"BENCH{i:011d}"
            client.post(
                "/api/v1/admin/holders",
                json={
                    "tckn": tckn.value,
                    "name": f"BENCH {i}",
                    "birth_date": date(1980, 1, 1).isoformat(),
                    "password": password,
                    "phone": phone,
                    "security_word": "bench",
                },
            ).raise_for_status()
            client.post(
                "/api/v1/admin/cards",
                json={
                    "serial": serial,
                    "holder": tckn.value,
                    "product": "nes",
                    "so_credential": secrets.token_hex(4),
                },
            ).raise_for_status()
            holders.append((tckn, password, phone, serial))
    return holders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per level")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    bare_total = {1: 1500, 8: 3000, 50: 3000}
    seq_total = {1: 150, 8: 400, 50: 500}

    bare_proc, bare_lines = _start([sys.executable, "-c", BARE_APP])
    sandbox_proc, sandbox_lines = _start(
        [sys.executable, "-m", "kamusm.sandbox", "serve", "--port", "0"]
    )
    try:
        bare_url = bare_lines[0].strip()
        found = re.search(r"(http://\S+?)/api/v1", sandbox_lines[0])
        token = re.search(r"admin token:\s+(\S+)", sandbox_lines[2])
        if not (found and token):
            raise RuntimeError(f"the sandbox did not start: {sandbox_lines}")
        url, admin_token = found.group(1), token.group(1)
        holders = provision(url, admin_token, max(LEVELS))
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"{'':28}{'rate/s':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        results: dict[tuple[str, int], dict[str, float]] = {}
        for level in LEVELS:
            n = max(50, int(bare_total[level] * scale))
            results["bare", level] = asyncio.run(bare(bare_url, level, n))
            results["bare", level]["req"] = results["bare", level]["rate"]
        for label, bound in (("portal", 8), ("portal unbounded", None)):
            for level in LEVELS:
                n = max(20, int(seq_total[level] * scale))
                r = asyncio.run(
                    portal(
                        url,
                        admin_token,
                        holders,
                        concurrency=level,
                        total=n,
                        max_in_flight=bound,
                    )
                )
                r["req"] = r["rate"] * 6
                results[label, level] = r
        for (label, level), r in results.items():
            unit = "req" if label == "bare" else "seq"
            print(
                f"{label + ' @' + str(level):<22}{unit:>6}{r['rate']:9.0f}{r['req']:9.0f}"
                f"{r['p50']:9.1f}{r['p99']:9.1f}"
            )
        print()
        for level in LEVELS:
            ratio = results["portal", level]["req"] / results["bare", level]["req"]
            print(f"portal requests/s ÷ bare requests/s at {level:>2}: {ratio:.2f}")
        for label in ("bare", "portal", "portal unbounded"):
            keep = results[label, 50]["rate"] / results[label, 8]["rate"]
            print(f"{label}: rate at 50 ÷ rate at 8 = {keep:.2f}")
    finally:
        _stop(sandbox_proc)
        _stop(bare_proc)


if __name__ == "__main__":
    main()
