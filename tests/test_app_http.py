"""The guard of ``kamusm app`` and of the training pages, over plain HTTP against the real
servers on 127.0.0.1: what a foreign site, a DNS-rebinding page, a second browser or a forged
form gets (a refusal page, never a 500), and that no secret reaches a URL or a log line."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kamusm.app import AppConfig, AppServer
from kamusm.portal import PortalClient
from kamusm.sandbox import SandboxPortal, SandboxServer
from kamusm.values import Pin, Product
from tests.app_parts import Stage, stage, training_sandbox


class Browser:
    """What a browser sends to the wizard: its origin on every POST, the session cookie."""

    def __init__(self, app: AppServer) -> None:
        self.app = app
        self.http = httpx.Client(base_url=app.url, headers={"Origin": app.url})
        opened = self.http.get(app.launch_url.removeprefix(app.url))
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        home = self.http.get("/")
        found = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert found is not None
        self.csrf = found.group(1)

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **fields})

    def answer(self, question: str, **fields: str) -> httpx.Response:
        sent = self.post("/flow", question=question, **fields)
        assert sent.status_code == 303
        return self.http.get("/flow")


@pytest.fixture
def st() -> Iterator[Stage]:
    with stage() as running:
        yield running


@pytest.fixture
def browser(st: Stage) -> Browser:
    return Browser(st.app)


def issue_code(st: Stage, product: Product = Product.NES) -> str:
    with PortalClient(st.sandbox.url) as portal:
        portal.login_edevlet(st.holder.tckn, st.holder.password)
        return portal.start_pin_reset(product).reveal()


def refused(response: httpx.Response, status: int = 403) -> str:
    assert response.status_code == status
    assert "İstek reddedildi" in response.text
    assert "Traceback" not in response.text
    return response.text


# ---- the guard ---------------------------------------------------------------------------


def test_without_the_session_cookie_every_page_and_asset_is_refused(st: Stage) -> None:
    for path in ("/", "/flow", "/cards", "/static/app.css", "/nothing-here"):
        text = refused(httpx.get(st.app.url + path))
        assert "kamusm app" in text  # says how to get in: start the command again


def test_a_wrong_or_missing_launch_token_opens_nothing(st: Stage) -> None:
    for query in ("", "?token=", "?token=wrong", "?token=a&token=b", "?other=1"):
        refused(httpx.get(f"{st.app.url}/start{query}"))
    assert st.app.app.state.session.secret is None


def test_the_launch_url_opens_one_session_only(st: Stage, browser: Browser) -> None:
    second = httpx.get(st.app.launch_url)
    text = refused(second, 409)
    assert "tek bir oturum" in text
    assert "set-cookie" not in second.headers
    assert browser.http.get("/").status_code == 200  # the first one still works


def test_a_foreign_host_header_is_refused_even_with_the_cookie(browser: Browser) -> None:
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host."""
    for host in ("evil.example", "localhost", f"evil.example:{browser.app.port}"):
        refused(browser.http.get("/", headers={"Host": host}))
    refused(httpx.get(browser.app.launch_url, headers={"Host": "evil.example"}))


def test_a_foreign_origin_is_refused_for_pages_and_forms(browser: Browser) -> None:
    for origin in ("http://evil.example", "null", "http://localhost:1", "https://127.0.0.1"):
        refused(browser.http.get("/", headers={"Origin": origin}))
        refused(
            browser.http.post(
                "/reset/start", data={"csrf": browser.csrf}, headers={"Origin": origin}
            )
        )
    refused(browser.http.get("/", headers={"Sec-Fetch-Site": "cross-site"}))
    assert browser.app.app.state.session.conversation is None  # nothing was started


def test_a_form_without_origin_or_without_the_csrf_token_changes_nothing(
    browser: Browser,
) -> None:
    no_origin = httpx.post(
        browser.app.url + "/reset/start",
        data={"csrf": browser.csrf, "product": "nes"},
        cookies=browser.http.cookies,
    )
    refused(no_origin)
    refused(browser.http.post("/reset/start", data={"product": "nes"}))
    refused(browser.http.post("/reset/start", data={"csrf": "x" * 43, "product": "nes"}))
    text = refused(browser.http.post("/lang", data={"next": "/"}))
    assert "güvenlik anahtarı" in text
    assert browser.app.app.state.session.conversation is None
    assert browser.app.app.state.session.lang == "tr"


def test_no_cors_no_query_strings_only_get_and_post(browser: Browser) -> None:
    answer = browser.http.get("/", headers={"Origin": browser.app.url})
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    preflight = browser.http.options("/flow", headers={"Access-Control-Request-Method": "POST"})
    refused(preflight, 405)
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
    refused(browser.http.get("/flow?pin=123456"), 400)
    refused(browser.http.put("/flow", content=b""), 405)


def test_every_answer_carries_a_csp_without_inline_script(browser: Browser) -> None:
    for response in (browser.http.get("/"), httpx.get(browser.app.url + "/")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "charset=utf-8" in response.headers["content-type"]
    page = browser.http.get("/").text
    assert "<script>" not in page and " on" + "click=" not in page
    assert re.findall(r'src="([^"]+)"', page) == ["/static/app.js", "/static/logo.svg"]


def test_the_session_cookie_is_httponly_and_samesite_strict(st: Stage) -> None:
    opened = httpx.get(st.app.launch_url)
    set_cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie


def test_a_large_or_odd_body_is_refused_not_a_crash(browser: Browser) -> None:
    refused(browser.http.post("/flow", content=b"a" * 20_000), 413)
    refused(
        browser.http.post(
            "/flow",
            content=b'{"csrf": "x"}',
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    refused(
        browser.http.post(
            "/flow",
            content=b"csrf=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        400,
    )
    refused(browser.post("/flow", question="nonsense"), 400)


# ---- the flow over HTTP, and what never leaks ------------------------------------------------


def test_secrets_travel_only_in_post_bodies_and_reach_no_log_or_page(
    st: Stage, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new_pin = "975318"
    code = issue_code(st)
    assert browser.post("/reset/start", product="nes").headers["location"] == "/flow"
    pages = [browser.answer("code", code=code)]
    pages.append(browser.answer("card", serial=st.card.serial))
    pages.append(browser.answer("pin", new=new_pin, again=new_pin))
    sms = st.sandbox.last_sms_code(st.holder.phone).reveal()
    pages.append(browser.answer("confirm", answer=sms))
    assert "PIN kodunuz başarılı bir şekilde değiştirilmiştir." in pages[-1].text
    st.card.token().verify_pin(Pin(new_pin))
    secret_inputs = [
        tag
        for page in pages
        for tag in re.findall(r"<input[^>]*>", page.text)
        if 'type="password"' in tag or 'name="code"' in tag
    ]
    assert secret_inputs and all('autocomplete="off"' in tag for tag in secret_inputs)
    for page in pages:
        forms = re.findall(r"<form[^>]*>", page.text)
        assert all('method="post"' in f and 'autocomplete="off"' in f for f in forms)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in (code, new_pin, sms, st.card.so_pin.reveal()):
        assert secret not in logged
        for page in pages:
            assert secret not in page.text
            assert secret not in str(page.url)


def test_the_card_question_refuses_a_card_that_was_not_offered(st: Stage, browser: Browser) -> None:
    browser.post("/reset/start", product="nes")
    browser.answer("code", code=issue_code(st))
    page = browser.answer("card", serial="not-a-card")
    assert 'id="problems"' in page.text  # the library's "invalid input", asked again
    assert "Kart Seçiniz" in page.text


def test_a_stale_form_is_shown_the_current_page(st: Stage, browser: Browser) -> None:
    browser.post("/reset/start", product="nes")
    page = browser.answer("pin", new="975318", again="975318")  # not the question asked
    assert "artık geçerli değil" in page.text and "Doğrulama Kodu" in page.text


def test_cancel_ends_the_reset_and_leaves_the_card_as_it_was(st: Stage, browser: Browser) -> None:
    browser.post("/reset/start", product="nes")
    browser.answer("code", code=issue_code(st))
    browser.answer("card", serial=st.card.serial)
    assert browser.post("/flow/cancel").status_code == 303
    page = browser.http.get("/flow")
    assert "İşlem tamamlanamadı" in page.text and "değişmedi" in page.text
    st.card.token().verify_pin(st.card.pin)
    events = [e["event"] for e in st.sandbox.portal.audit_log()]
    assert "operation.failed" in events  # the driver told the portal the operation ended


def test_the_web_password_route_asks_for_the_wizards_web_parola(
    st: Stage, browser: Browser
) -> None:
    browser.post("/reset/start", product="nes", method="web_password")
    browser.answer("code", code=issue_code(st))
    browser.answer("card", serial=st.card.serial)
    page = browser.answer("pin", new="975318", again="975318")
    assert "WEB Parola" in page.text
    done = browser.answer("confirm", answer=st.holder.password)
    assert "başarılı" in done.text
    st.card.token().verify_pin(Pin("975318"))


# ---- the training pages ------------------------------------------------------------------


def test_the_training_pages_are_off_unless_asked_for() -> None:
    with SandboxPortal() as portal, SandboxServer(portal) as server:
        for path in ("/portal/", "/portal/telefon"):
            answer = httpx.get(server.url + path)
            assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_training_forms_from_another_origin_or_without_csrf_change_nothing() -> None:
    with training_sandbox() as sb:
        refused_login = httpx.post(
            f"{sb.url}/portal/edevlet",
            data={"tckn": "10000000146", "password": "x"},
            headers={"Origin": "http://evil.example"},
        )
        assert refused_login.status_code == 403
        assert "set-cookie" not in refused_login.headers
        assert httpx.post(f"{sb.url}/portal/telefon", data={"phone": "05"}).status_code == 403
        # DNS rebinding: evil.example resolving to 127.0.0.1 sends its own Host and Origin.
        port = sb.url.rsplit(":", 1)[1]
        rebound = httpx.post(
            f"{sb.url}/portal/telefon",
            data={"phone": "05"},
            headers={"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
        )
        # Refused by the sandbox's own Host check (421) or the pages' (403), never served.
        assert rebound.status_code in (403, 421) and "sms-text" not in rebound.text
        foreign = httpx.get(f"{sb.url}/portal/", headers={"Host": "evil.example"})
        assert foreign.status_code in (403, 421)
        page = httpx.get(f"{sb.url}/portal/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text
        # Logged-in pages need the session; forms need its CSRF token too.
        assert httpx.get(f"{sb.url}/portal/bireysel").status_code == 303


def test_training_page_posts_need_the_sessions_csrf_token() -> None:
    from kamusm.testing.sandbox import TestHolder

    holder = TestHolder.default()
    with training_sandbox() as sb:
        holder.register(sb.portal)
        origin = {"Origin": sb.url}
        http = httpx.Client(base_url=sb.url, headers=origin)
        login = http.post(
            "/portal/edevlet", data={"tckn": holder.tckn.value, "password": holder.password}
        )
        assert login.status_code == 303 and login.headers["location"] == "/portal/nes"
        assert http.get("/portal/nes").status_code == 200
        forged = http.post("/portal/pin", data={"product": "nes"})
        assert forged.status_code == 403
        assert "code.issued" not in [e["event"] for e in sb.portal.audit_log()]


# ---- the command -------------------------------------------------------------------------


def test_kamusm_app_prints_its_launch_url_serves_it_and_stops_on_ctrl_c() -> None:
    with training_sandbox() as sb:
        env = {**os.environ, "KAMUSM_LANG": "en"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kamusm", "app", "--no-browser", "--portal", sb.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = re.search(r"(http://127\.0\.0\.1:\d+/start\?token=[\w-]+)", line)
            assert url is not None, line
            http = httpx.Client(follow_redirects=True)
            home = http.get(url.group(1))
            assert home.status_code == 200 and "Choose an operation" in home.text
            assert httpx.get(url.group(1).split("/start")[0] + "/").status_code == 403
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped" in out


def test_kamusm_app_needs_a_portal_address() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAMUSM_PORTAL_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "kamusm", "app", "--no-browser"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Portal" in done.stderr
    bad_port = subprocess.run(
        [sys.executable, "-m", "kamusm", "app", "--no-browser", "--port", "70000"],
        capture_output=True,
        text=True,
        env={**env, "KAMUSM_PORTAL_URL": "http://127.0.0.1:9"},
        timeout=60,
        check=False,
    )
    assert bad_port.returncode == 2 and "65535" in bad_port.stderr


def test_app_server_binds_loopback_only(st: Stage) -> None:
    assert st.app.url.startswith("http://127.0.0.1:")
    config = AppConfig(portal_url=st.sandbox.url)
    with AppServer(config) as other:
        assert other.port != st.app.port
        assert other.launch_url != st.app.launch_url


def test_a_missing_card_module_is_shown_in_the_librarys_words(tmp_path: Path) -> None:
    with training_sandbox() as sb:
        missing = str(tmp_path / "no-such-module.so")
        with AppServer(AppConfig(portal_url=sb.url, module_path=missing)) as app:
            browser = Browser(app)
            cards = browser.http.get("/cards")
            assert cards.status_code == 200 and 'role="alert"' in cards.text
            change = browser.post("/change/start", serial="0123")
            assert change.status_code == 200 and 'id="ended"' in change.text
            assert "Traceback" not in cards.text + change.text
