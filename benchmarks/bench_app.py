"""How fast ``kamusm app`` answers, and how long a whole reset takes in a real browser.

Everything runs on 127.0.0.1 in this process: the sandbox with its training pages, the wizard
(``AppServer``) on a SoftHSM2 card, and, as the bare dependency, a Starlette route on the same
uvicorn setup that returns a fixed HTML page. Two measurements:

1. Server time per page: ``N`` GETs of each wizard screen (home, the cards page, and ``/flow``
   at each question of a reset: Doğrulama Kodu, Kart Seçimi, Yeni PIN Kodu, SMS Onay, done)
   and of the bare page, one after another through one keep-alive ``httpx.Client``. Printed:
   p50 and p95 in ms, and each p95 as a ratio to the bare page's p95.
2. The whole reset in headless Chromium (Debian's, through chromium-driver), ``R`` times: log
   in on the portal page, get the code, paste it into the wizard, choose the card, the keypad
   PIN, the SMS from the telefon page, confirm; then the card opens with the new PIN. Printed:
   each run's wall time, the median, and as ratios: to the same reset through the library with
   a scripted prompts object (``kamusm.reset_pin``, no browser), and to the bare page loaded
   in the same browser as many times as the reset navigates.

Run: ``.venv/bin/python benchmarks/bench_app.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import uvicorn
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from kamusm import CardChoice, KamusmError, ResetStep, reset_pin
from kamusm.app import AppConfig, AppServer
from kamusm.portal import PortalClient
from kamusm.sandbox import SandboxPortal, SandboxServer
from kamusm.testing.browser import headless_chromium
from kamusm.testing.sandbox import TestHolder, provision_softhsm_card
from kamusm.values import ManualClock, Pin, Product, SystemClock

BARE_HTML = (
    '<!DOCTYPE html><html lang="tr"><head><meta charset="utf-8"><title>bare</title></head>'
    "<body><h1>bare</h1><p>Kamu SM e-İmza</p></body></html>"
)


@contextmanager
def bare_server() -> Iterator[str]:
    """A Starlette route returning a fixed page, on uvicorn like the wizard's."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(BARE_HTML)

    app = Starlette(routes=[Route("/", page)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def check(ok: object, what: str) -> None:
    """Stop the benchmark when a step did not do what it should (a wrong figure is worse)."""
    if not ok:
        raise SystemExit(f"benchmark step failed: {what}")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_gets(http: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        answer = http.get(path)
        out.append(time.perf_counter() - start)
        check(answer.status_code == 200, f"GET {path}")
    return out


@contextmanager
def stage(product: Product = Product.NES) -> Iterator[tuple[Any, AppServer, TestHolder, Any]]:
    holder = TestHolder.default()
    clock = ManualClock(SystemClock().now())  # the test certificates are valid now
    with SandboxPortal(clock=clock) as portal, SandboxServer(portal, training=True) as sb:
        card = provision_softhsm_card(portal, holder=holder, product=product)
        config = AppConfig(portal_url=sb.url, module_path=card.module_path, clock=clock)
        with AppServer(config) as app:
            yield sb, app, holder, card


def issue_code(url: str, holder: TestHolder) -> str:
    with PortalClient(url) as portal:
        portal.login_edevlet(holder.tckn, holder.password)
        return portal.start_pin_reset(Product.NES).reveal()


def last_sms(portal: SandboxPortal, phone: str) -> str:
    return portal.outbox(phone=phone)[-1].code


# ---- 1. server time per page -------------------------------------------------------------


def page_times(n: int) -> None:
    with stage() as (sb, app, holder, card), bare_server() as bare:
        http = httpx.Client(base_url=app.url, headers={"Origin": app.url})
        check(http.get(app.launch_url.removeprefix(app.url)).status_code == 303, "launch")
        found = re.search(r'name="csrf" value="([^"]+)"', http.get("/").text)
        if found is None:
            raise SystemExit("benchmark step failed: no CSRF token on the home page")
        csrf = found.group(1)

        def answer(question: str, **fields: str) -> None:
            sent = http.post("/flow", data={"csrf": csrf, "question": question, **fields})
            check(sent.status_code == 303, f"answer {question}")

        rows: list[tuple[str, list[float]]] = []
        with httpx.Client(base_url=bare) as plain:
            rows.append(("bare Starlette page", timed_gets(plain, "/", n)))
        rows.append(("home", timed_gets(http, "/", n)))
        rows.append(("cards (reads SoftHSM2)", timed_gets(http, "/cards", n)))
        http.post("/reset/start", data={"csrf": csrf, "product": "nes"})
        rows.append(("Doğrulama Kodu", timed_gets(http, "/flow", n)))
        answer("code", code=issue_code(sb.url, holder))
        rows.append(("Kart Seçimi", timed_gets(http, "/flow", n)))
        answer("card", serial=card.serial)
        rows.append(("Yeni PIN Kodu", timed_gets(http, "/flow", n)))
        answer("pin", new="246813", again="246813")
        rows.append(("SMS Onay", timed_gets(http, "/flow", n)))
        answer("confirm", answer=last_sms(sb.portal, holder.phone))
        rows.append(("İşlem Başarılı", timed_gets(http, "/flow", n)))
        card.token().verify_pin(Pin("246813"))
        bare_p95 = percentile(rows[0][1], 0.95)
        print(f"1. Server time per page ({n} GETs each, keep-alive, loopback)")
        print(f"   {'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'p95 / bare':>11}")
        for name, times in rows:
            p50, p95 = statistics.median(times) * 1e3, percentile(times, 0.95) * 1e3
            print(f"   {name:<26} {p50:8.2f} {p95:8.2f} {p95 / (bare_p95 * 1e3):10.1f}x")


# ---- 2. the whole reset in the browser ---------------------------------------------------


def gone(element: WebElement) -> bool:
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


class Counter:
    def __init__(self, browser: WebDriver) -> None:
        self.b = browser
        self.navigations = 0

    def find(self, element_id: str) -> WebElement:
        found: WebElement = WebDriverWait(self.b, 20).until(
            ec.presence_of_element_located((By.ID, element_id))
        )
        return found

    def click(self, element_id: str) -> None:
        element = self.find(element_id)
        leaves = element.tag_name == "a" or element.get_attribute("type") == "submit"
        page = self.b.find_element(By.TAG_NAME, "html")
        element.click()
        if leaves:
            WebDriverWait(self.b, 20).until(lambda _: gone(page))
            self.navigations += 1

    def get(self, url: str) -> None:
        self.b.get(url)
        self.navigations += 1

    def type(self, element_id: str, text: str) -> None:
        self.find(element_id).send_keys(text)


def browser_reset(browser: WebDriver, pin: str) -> tuple[float, int]:
    """One whole reset through both pages; returns its wall time and its navigations."""
    with stage() as (sb, app, holder, card):
        b = Counter(browser)
        portal_tab = browser.current_window_handle
        start = time.perf_counter()
        b.get(f"{sb.url}/portal/")
        b.click("tile-edevlet")
        b.type("tckn", holder.tckn.value)
        b.type("password", holder.password)
        b.click("login")
        b.get(f"{sb.url}/portal/bireysel")
        b.click("tile-pin")
        b.click("product-nes")
        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": sb.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
        b.click("copy")
        browser.switch_to.new_window("tab")
        wizard_tab = browser.current_window_handle
        b.get(app.launch_url)
        b.click("start-nes")
        b.find("code").send_keys(Keys.CONTROL, "v")
        b.click("next")
        Select(b.find("serial")).select_by_value(card.serial)
        b.click("next")
        b.click("new")
        for digit in pin:
            b.click(f"key-{digit}")
        b.click("again")
        for digit in pin:
            b.click(f"key-{digit}")
        b.click("submit-pin")
        browser.switch_to.window(portal_tab)
        b.get(f"{sb.url}/portal/telefon")
        b.type("phone", holder.phone)
        b.click("show-messages")
        text = browser.find_elements(By.CSS_SELECTOR, "#messages .sms-text")[0].text
        sms = re.findall(r"(?<!\d)\d{6}(?!\d)", text)[0]
        browser.switch_to.window(wizard_tab)
        b.type("answer", sms)
        b.click("confirm")
        b.find("success")
        card.token().verify_pin(Pin(pin))
        elapsed = time.perf_counter() - start
        browser.close()
        browser.switch_to.window(portal_tab)
        browser.delete_all_cookies()
        return elapsed, b.navigations


class Scripted:
    """Prompts that answer at once: the same reset through the library, no browser."""

    def __init__(self, code: str, serial: str, pin: str, sms: Callable[[], str]) -> None:
        self.code, self.serial, self.pin, self.sms = code, serial, pin, sms

    def verification_code(self, *, length: int, expired: bool) -> str:
        return self.code

    def choose_card(self, cards: Sequence[CardChoice]) -> str:
        return self.serial

    def new_pin(self, *, min_length: int, max_length: int) -> tuple[str, str]:
        return self.pin, self.pin

    def confirmation(
        self, *, method: str, attempts_remaining: int | None, masked_phone: str | None
    ) -> str:
        return self.sms()

    def offer_new_sms(self, *, method: str, challenges_left: int | None) -> bool:
        return False  # answered at once: an SMS code never expires here

    def progress(self, step: ResetStep, *, remaining: timedelta | None) -> None:
        pass

    def problem(self, error: KamusmError) -> None:
        raise error


def library_reset(pin: str) -> float:
    with stage() as (sb, _app, holder, card):
        start = time.perf_counter()
        code = issue_code(sb.url, holder)
        module = card.module()
        with PortalClient(sb.url) as client:
            reset_pin(
                module,
                client,
                Scripted(code, card.serial, pin, lambda: last_sms(sb.portal, holder.phone)),
                clock=sb.portal.clock,
            )
        card.token().verify_pin(Pin(pin))
        return time.perf_counter() - start


def bare_navigation(browser: WebDriver, n: int) -> float:
    with bare_server() as bare:
        browser.get(bare)
        start = time.perf_counter()
        for _ in range(n):
            browser.get(bare)
        return (time.perf_counter() - start) / n


def reset_times(runs: int) -> None:
    pins = ["246813", "357924", "468135", "579246", "681357"]
    with headless_chromium() as browser:
        browser_reset(browser, "135792")  # warm-up: the browser's first pages
        walls = []
        navigations = 0
        for i in range(runs):
            wall, navigations = browser_reset(browser, pins[i % len(pins)])
            walls.append(wall)
        per_navigation = bare_navigation(browser, 20)
    library = statistics.median(library_reset(pins[i % len(pins)]) for i in range(runs))
    median = statistics.median(walls)
    print(f"2. The whole reset in headless Chromium on SoftHSM2 ({runs} runs)")
    print("   runs (s):              " + "  ".join(f"{w:.2f}" for w in walls))
    print(f"   median:                {median:.2f} s ({navigations} page loads)")
    print(
        f"   library, no browser:   {library * 1e3:.1f} ms  -> browser / library "
        f"{median / library:.0f}x"
    )
    bare_total = per_navigation * navigations
    print(
        f"   bare page x {navigations}:        {bare_total * 1e3:.0f} ms "
        f"({per_navigation * 1e3:.1f} ms each) -> browser / bare {median / bare_total:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    page_times(50 if args.quick else 300)
    reset_times(2 if args.quick else 5)


if __name__ == "__main__":
    main()
