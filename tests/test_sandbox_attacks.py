"""Attacks on the sandbox over real HTTP on 127.0.0.1, as a hostile local program or web page
would make them, each refused (issue 12). Each test performs the attack against uvicorn and
checks the refusal, that nothing changed, and that the holder's own requests still work.

Several tests speak from more than one loopback address (127.0.0.2 … 127.0.0.11): Linux
routes the whole of 127.0.0.0/8 to the loopback interface, so the server sees each as a
different client.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamusm import _contract as contract
from kamusm.errors import LoginFailedError, OperationCancelledError
from kamusm.portal import PortalClient
from kamusm.sandbox import SandboxPortal, SandboxServer, SandboxSettings
from kamusm.sandbox._portal import SandboxSecretError
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox
from kamusm.values import ManualClock, Product, SmsCode, Tckn, VerificationCode

CARD = "AKIS0000ATTACK01"
HOLDER = TestHolder.make(Tckn("10000000146"), name="SALDIRI TEST", phone="05441230001")
OTHER = TestHolder.make(Tckn("17291716060"), name="BAŞKA KİŞİ", phone="05441230002")


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        HOLDER.register(running.portal)
        OTHER.register(running.portal)
        running.portal.register_card(
            serial=CARD, holder=HOLDER.tckn, product=Product.NES, so_credential="55667788"
        )
        yield running


def _from(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections leave from ``address`` (a loopback address)."""
    return httpx.Client(
        base_url=base_url,
        transport=httpx.HTTPTransport(local_address=address),
        trust_env=False,
        timeout=10,
    )


def _code(sb: RunningSandbox, holder: TestHolder = HOLDER) -> str:
    issued = sb.portal.start_pin_reset(sb.portal.holder_id(holder.tckn), Product.NES)
    code: str = issued["verification_code"]
    return code


def _redeem(http: httpx.Client, code: str, **headers: str) -> httpx.Response:
    return http.post(
        "/api/v1/operations", json={"verification_code": code, "card_serial": CARD}, headers=headers
    )


# ---- brute force ------------------------------------------------------------------------------


def test_x_forwarded_for_does_not_make_a_new_client(sb: RunningSandbox) -> None:
    """One header per request used to give every guess a fresh budget (300 wrong codes in
    0.6 s, no 429): now the address is the socket's, whatever the headers say."""
    good = _code(sb)
    with _from("127.0.0.1", sb.url) as http:
        answers = [
            _redeem(http, f"{n:015d}", **{"X-Forwarded-For": f"10.0.{n}.1"}).status_code
            for n in range(30)
        ]
        assert answers[:10] == [401] * 10
        assert set(answers[10:]) == {429}
        assert _redeem(http, good).status_code == 429  # even the right code waits now


def test_x_forwarded_for_cannot_lock_another_address_out(sb: RunningSandbox) -> None:
    """Naming 127.0.0.2 in the header spent 127.0.0.2's budget; now it spends the sender's."""
    with _from("127.0.0.1", sb.url) as attacker:
        for n in range(12):
            _redeem(attacker, f"{n:015d}", **{"X-Forwarded-For": "127.0.0.2"})
    with _from("127.0.0.2", sb.url) as victim:
        assert _redeem(victim, _code(sb)).status_code == 201


def test_a_configured_trusted_proxy_is_believed() -> None:
    """An operator behind a reverse proxy names it; then its header gives the address."""
    with (
        SandboxPortal(clock=ManualClock()) as portal,
        SandboxServer(portal, trusted_proxies=("127.0.0.1",)) as server,
        _from("127.0.0.1", server.url) as http,
    ):
        answers = {
            _redeem(http, f"{n:015d}", **{"X-Forwarded-For": f"10.0.{n}.1"}).status_code
            for n in range(12)
        }
    assert answers == {401}  # twelve clients, one guess each


def test_wrong_passwords_for_one_holder_are_limited_across_addresses(sb: RunningSandbox) -> None:
    """100 wrong e-Devlet passwords for one T.C. Kimlik No from ten addresses, then the right
    one: it used to work. Now the holder's own budget runs out after max_holder_failures and
    the back-off holds for every address, the right password included."""
    limit = sb.portal.settings.max_holder_failures
    answers: list[int] = []
    for n in range(10):
        with _from(f"127.0.0.{n + 2}", sb.url) as http:
            for _ in range(10):
                answer = http.post(
                    "/api/v1/session/edevlet",
                    json={"tckn": HOLDER.tckn.value, "password": "wrong-password"},
                )
                answers.append(answer.status_code)
    assert answers[:limit] == [401] * limit
    assert set(answers[limit:]) == {429}
    with _from("127.0.0.20", sb.url) as fresh:
        right = {"tckn": HOLDER.tckn.value, "password": HOLDER.password}
        refused = fresh.post("/api/v1/session/edevlet", json=right)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        sb.advance(wait)
        assert fresh.post("/api/v1/session/edevlet", json=right).status_code == 200
    # Another holder was never held back.
    with _from("127.0.0.21", sb.url) as other:
        body = {"tckn": OTHER.tckn.value, "password": OTHER.password}
        assert other.post("/api/v1/session/edevlet", json=body).status_code == 200


def test_the_holder_back_off_grows_with_each_lockout(sb: RunningSandbox) -> None:
    limit = sb.portal.settings.max_holder_failures
    waits = []
    for round_ in range(3):
        with _from(f"127.0.0.{round_ + 2}", sb.url) as http:
            for _ in range(limit if round_ == 0 else 1):
                http.post(
                    "/api/v1/session/edevlet",
                    json={"tckn": HOLDER.tckn.value, "password": "wrong"},
                )
            held = http.post(
                "/api/v1/session/edevlet", json={"tckn": HOLDER.tckn.value, "password": "wrong"}
            )
            assert held.status_code == 429
            waits.append(int(held.headers["Retry-After"]))
            sb.advance(waits[-1])
    assert waits[1] == 2 * waits[0] and waits[2] == 2 * waits[1]


def _sifreli_giris(http: httpx.Client, word: str, holder: TestHolder = HOLDER) -> httpx.Response:
    captcha = http.post("/api/v1/session/captcha").json()
    return http.post(
        "/api/v1/session/sifreli-giris",
        json={
            "id_number": holder.tckn.value,
            "captcha_id": captcha["captcha_id"],
            "captcha_answer": captcha["text"],
            "security_word": word,
        },
    )


def test_wrong_sms_codes_at_sifreli_giris_count_as_failures(sb: RunningSandbox) -> None:
    """Each pending login allowed three wrong codes and none counted: new pending logins gave
    unlimited guesses. Now every wrong code counts against the address."""
    limit = sb.portal.settings.max_failures
    answers: list[int] = []
    with _from("127.0.0.3", sb.url) as http:
        while len(answers) < limit + 2:
            pending = _sifreli_giris(http, HOLDER.security_word)
            if pending.status_code != 200:
                answers.append(pending.status_code)
                continue
            pending_id = pending.json()["pending_login_id"]
            for guess in range(3):
                answer = http.post(
                    "/api/v1/session/sifreli-giris/confirm",
                    json={"pending_login_id": pending_id, "sms_code": f"{guess:06d}"},
                )
                answers.append(answer.status_code)
    assert 429 in answers
    assert answers.index(429) <= limit


def test_pending_logins_and_their_sms_are_capped_per_holder(sb: RunningSandbox) -> None:
    """A known security word opened unlimited pending logins, each sending an SMS."""
    cap = sb.portal.settings.max_pending_logins
    statuses = []
    for n in range(cap + 3):
        with _from(f"127.0.0.{n + 2}", sb.url) as http:
            statuses.append(_sifreli_giris(http, HOLDER.security_word).status_code)
    assert statuses[:cap] == [200] * cap
    assert set(statuses[cap:]) == {429}
    assert len(sb.portal.outbox(phone=HOLDER.phone)) == cap


def test_captchas_are_limited_and_old_ones_pruned(sb: RunningSandbox) -> None:
    cap = sb.portal.settings.max_captchas
    with _from("127.0.0.4", sb.url) as http:
        statuses = [http.post("/api/v1/session/captcha").status_code for _ in range(cap + 5)]
        assert statuses[:cap] == [200] * cap and set(statuses[cap:]) == {429}
        sb.advance(sb.portal.settings.login_step_validity.total_seconds() + 61)
        assert http.post("/api/v1/session/captcha").status_code == 200
    assert sb.portal.snapshot()["captchas"] == 1  # the expired ones are gone


def test_ended_and_expired_sessions_are_pruned(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        for _ in range(5):
            client.login_edevlet(HOLDER.tckn, HOLDER.password)
            client.logout()
        client.login_edevlet(HOLDER.tckn, HOLDER.password)
    sb.advance(sb.portal.settings.session_validity.total_seconds() + 1)
    with PortalClient(sb.url) as client:
        client.login_edevlet(HOLDER.tckn, HOLDER.password)
    assert sb.portal.snapshot()["sessions"] == 1


def test_a_login_costs_one_key_derivation_known_or_not(
    sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown T.C. Kimlik No took two key derivations and a registered one one (28.8 ms
    against 16.4 ms): the difference told who is registered. Counted, not timed."""
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)  # the module the vault calls
    costs = {}
    for who in ("10000000146", "17291716050", "23456789012"):
        calls.clear()
        with _from("127.0.0.5", sb.url) as http:
            answer = http.post("/api/v1/session/edevlet", json={"tckn": who, "password": "x"})
        assert answer.status_code == 401
        costs[who] = len(calls)
    assert set(costs.values()) == {1}


# ---- other sites and other hosts --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
def test_a_body_that_is_not_declared_json_is_415_and_spends_no_budget(
    sb: RunningSandbox, content_type: str
) -> None:
    """A page on any site can post text/plain without a preflight; ten such posts made the
    holder's own reset fail with a rate-limit error."""
    with _from("127.0.0.1", sb.url) as http:
        for n in range(15):
            body = json.dumps({"verification_code": f"{n:015d}", "card_serial": CARD})
            answer = http.post(
                "/api/v1/operations", content=body, headers={"Content-Type": content_type}
            )
            assert answer.status_code == 415
            assert answer.json()["error"] == "unsupported_media_type"
        assert _redeem(http, _code(sb)).status_code == 201


def test_a_foreign_origin_is_refused_before_any_budget(sb: RunningSandbox) -> None:
    with _from("127.0.0.1", sb.url) as http:
        for n in range(15):
            answer = _redeem(http, f"{n:015d}", Origin="https://evil.example")
            assert answer.status_code == 403
            assert answer.json() == {
                "error": "forbidden",
                "reason": "origin",
                "message": contract.ERRORS["forbidden"].message,
            }
        assert _redeem(http, _code(sb), Origin=sb.url).status_code == 201  # its own origin


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "x"])
def test_a_host_not_served_is_refused_dns_rebinding(sb: RunningSandbox, host: str) -> None:
    """A page whose name was rebound to 127.0.0.1 sends its own Host."""
    with _from("127.0.0.1", sb.url) as http:
        for n in range(12):
            answer = _redeem(http, f"{n:015d}", Host=host)
            assert answer.status_code == 421
            assert answer.json()["error"] == "misdirected_request"
        port = sb.url.rsplit(":", 1)[1]
        for name in ("127.0.0.1", "localhost"):
            assert http.get("/api/v1/health", headers={"Host": f"{name}:{port}"}).status_code == 200
        assert _redeem(http, _code(sb)).status_code == 201


# ---- valid JSON that used to crash ------------------------------------------------------------

_BODY_ENDPOINTS = [e for e in contract.ENDPOINTS.values() if e.body is not None]


def _headers(sb: RunningSandbox, ep: contract.Endpoint) -> dict[str, str]:
    if ep.auth == "admin":
        return {"Authorization": f"Bearer {sb.admin_token}"}
    if ep.auth == "session":
        with PortalClient(sb.url) as client:
            client.login_edevlet(HOLDER.tckn, HOLDER.password)
            return {"Authorization": f"Bearer {client._core._session_token}"}
    return {}


_VALID: dict[str, Any] = {
    "text": "A1",
    "code": "1" * 15,
    "boolean": True,
    "number": 1,
    "integer": 1,
    "tckn": "10000000146",
    "product": "nes",
    "date": "1990-01-01",
    "moment": "2026-01-01T00:00:00+00:00",
    "list": [],
}


def _valid(field: contract.Field) -> Any:
    return field.options[0] if field.kind == "choice" else _VALID[field.kind]


def _sample(ep: contract.Endpoint, bad: str, text: str) -> dict[str, Any]:
    """A body for ``ep``, valid but for ``text`` in the field ``bad``."""
    assert ep.body is not None
    return {f.name: text if f.name == bad else _valid(f) for f in ep.body.fields}


_TEXT_FIELDS = [
    (ep, f.name)
    for ep in contract.ENDPOINTS.values()
    if ep.body is not None
    for f in ep.body.fields
    if f.kind == "text"
]


def _path(ep: contract.Endpoint) -> str:
    return ep.url_path(**{p.name: "AKIS01" for p in ep.path_params})


@pytest.fixture
def crashes(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed == [], "the sandbox logged a crash"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("ep", "field"), _TEXT_FIELDS, ids=[f"{e.name}.{f}" for e, f in _TEXT_FIELDS]
)
def test_a_lone_surrogate_in_any_text_field_is_a_4xx(
    sb: RunningSandbox, ep: contract.Endpoint, field: str, crashes: None
) -> None:
    raw = json.dumps(_sample(ep, field, "ab\ud800")).encode()  # \ud800 escaped: valid JSON
    headers = {**_headers(sb, ep), "Content-Type": "application/json"}
    with _from("127.0.0.6", sb.url) as http:
        answer = http.request(ep.method, _path(ep), content=raw, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"] in contract.ERRORS


@pytest.mark.parametrize("ep", _BODY_ENDPOINTS, ids=lambda e: e.name)
def test_json_nested_a_thousand_deep_is_a_4xx(
    sb: RunningSandbox, ep: contract.Endpoint, crashes: None
) -> None:
    deep = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    headers = {**_headers(sb, ep), "Content-Type": "application/json"}
    with _from("127.0.0.6", sb.url) as http:
        answer = http.request(ep.method, _path(ep), content=deep, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "too_deep"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(codec=None)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(
    value=st.one_of(
        _json_values,
        st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    ),
    which=st.sampled_from(_BODY_ENDPOINTS),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_json_value_in_any_field_never_crashes(
    sb: RunningSandbox, value: Any, which: contract.Endpoint
) -> None:
    """Generated values, lone surrogates and deep nesting among them, put in every field."""
    assert which.body is not None
    if isinstance(value, str) and value.startswith("["):
        raw = ("{" + f'"{which.body.fields[0].name}": ' + value + "}").encode()
    else:
        raw = json.dumps({f.name: value for f in which.body.fields}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {sb.admin_token}"}
    with _from("127.0.0.7", sb.url) as http:
        answer = http.request(which.method, _path(which), content=raw, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.json()["error"] in contract.ERRORS if answer.status_code >= 400 else True


def test_a_passport_equal_to_another_holders_tckn_is_refused(sb: RunningSandbox) -> None:
    admin = {"Authorization": f"Bearer {sb.admin_token}"}
    body = {
        "tckn": "23456789060",
        "name": "ÜÇÜNCÜ",
        "birth_date": "1990-01-31",
        "password": "pw-third",
        "phone": "05330000003",
        "security_word": "kelime",
        "passport": HOLDER.tckn.value,  # the T.C. Kimlik No of a registered holder
    }
    before = sb.portal.snapshot()
    with _from("127.0.0.1", sb.url) as http:
        answer = http.post("/api/v1/admin/holders", json=body, headers=admin)
        assert answer.status_code == 409 and answer.json()["reason"] == "holder_exists"
        assert sb.portal.snapshot() == before
        # And the other way round: a T.C. Kimlik No equal to a registered passport number.
        with_passport = dict(body, passport="U12345678", tckn="34567890170")
        assert (
            http.post("/api/v1/admin/holders", json=with_passport, headers=admin).status_code == 204
        )
        clash = dict(body, tckn="45678901280", passport="U12345678")
        assert http.post("/api/v1/admin/holders", json=clash, headers=admin).status_code == 409


@pytest.mark.parametrize(
    ("registered", "typed", "status"),
    [
        # "KIRMIZI" is "kırmızı" and "İZMİR" is "izmir": both were refused by English rules.
        ("KIRMIZI İZMİR", "kırmızı izmir", 200),
        ("KIRMIZI İZMİR", "Kırmızı İzmir", 200),
        ("KIRMIZI İZMİR", "KIRMIZI İZMİR", 200),
        # I is the capital of ı, not of i: "IZMIR" is "ızmır", and "kirmizi" is not "kırmızı".
        ("KIRMIZI İZMİR", "KIRMIZI IZMIR", 401),
        ("KIRMIZI İZMİR", "kirmizi izmir", 401),
        ("KIRMIZI İZMİR", "kırmızı izmit", 401),
        ("ışık", "IŞIK", 200),
        ("ışık", "Işık", 200),
        ("ışık", "işik", 401),
        ("ışık", "İŞİK", 401),
        ("ışık", "işık", 401),
        # the other letters fold as usual
        ("Güneş Ülke", "GÜNEŞ ÜLKE", 200),
    ],
)
def test_the_security_word_follows_turkish_case_rules(
    registered: str, typed: str, status: int
) -> None:
    """Case does not matter, by the Turkish rules: I↔ı and İ↔i are the pairs, so a word
    with a dotted i and one with a dotless ı are different words (this sandbox once took I,
    ı, İ and i for one letter, which let more words through than the holder chose)."""
    with running_sandbox() as sb:
        holder = TestHolder(
            tckn=Tckn("10000000146"),
            name="TÜRKÇE",
            birth_date=HOLDER.birth_date,
            phone="05441230009",
            password="pw-tr",
            security_word=registered,
        )
        holder.register(sb.portal)
        with _from("127.0.0.8", sb.url) as http:
            assert _sifreli_giris(http, typed, holder).status_code == status


def test_the_admin_clock_pushed_far_is_a_400(sb: RunningSandbox, crashes: None) -> None:
    admin = {"Authorization": f"Bearer {sb.admin_token}"}
    statuses = []
    with _from("127.0.0.1", sb.url) as http:
        for _ in range(1000):
            answer = http.post(
                "/api/v1/admin/clock", json={"advance_seconds": 315360000}, headers=admin
            )
            statuses.append(answer.status_code)
            if answer.status_code != 200:
                break
        assert statuses[-1] == 400 and answer.json()["reason"] == "clock_out_of_range"
        # Every endpoint still answers (no date arithmetic overflows).
        assert http.post("/api/v1/session/captcha").status_code == 200
        body = {"tckn": HOLDER.tckn.value, "password": HOLDER.password}
        assert http.post("/api/v1/session/edevlet", json=body).status_code == 200


def test_half_sent_requests_are_closed() -> None:
    """400 connections holding half a request open for 45 s were never closed."""
    settings = SandboxSettings(read_timeout=__import__("datetime").timedelta(seconds=0.5))
    with (
        SandboxPortal(settings=settings, clock=ManualClock()) as portal,
        SandboxServer(portal) as server,
    ):
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        held = []
        for n in range(40):
            conn = socket.create_connection((host, int(port)))
            conn.settimeout(20)  # far above the read timeout: only a hang fails
            half = (
                f"POST /api/v1/operations HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n"
            ).encode()
            conn.sendall(half if n % 2 else half + b"\r\n{")  # headers or body half sent
            held.append(conn)
        open_ = []
        for n, conn in enumerate(held):
            try:
                data = conn.recv(1024)
                while data:  # a refusal may be sent before the close
                    data = conn.recv(1024)
            except TimeoutError:
                open_.append(n)
            finally:
                conn.close()
        assert open_ == []


# ---- one live operation per card --------------------------------------------------------------


def _challenge(http: httpx.Client, op: dict[str, Any], code: str) -> httpx.Response:
    return http.post(
        "/api/v1/operations/challenge",
        json={"operation_id": op["operation_id"], "verification_code": code},
    )


def test_a_second_redemption_for_a_card_cancels_the_first(sb: RunningSandbox) -> None:
    """Two operations on one card could be authorized at once, and both desktops received
    the same SO credential. Now a newer redemption replaces an older one not yet authorized."""
    with _from("127.0.0.9", sb.url) as http:
        first_code = _code(sb)
        first = _redeem(http, first_code).json()
        assert _challenge(http, first, first_code).status_code == 200
        second_code = _code(sb)
        second = _redeem(http, second_code)
        assert second.status_code == 201
        refused = _challenge(http, first, first_code)
        assert refused.status_code == 409 and refused.json()["error"] == "operation_cancelled"
        assert refused.json()["reason"] == "superseded"
        assert _challenge(http, second.json(), second_code).status_code == 200
    trail = [e["event"] for e in sb.portal.audit_log() if e["card_serial"] == CARD]
    assert trail.count("operation.cancelled") == 1


def test_a_redemption_while_an_authorization_is_out_is_refused_and_keeps_its_code(
    sb: RunningSandbox,
) -> None:
    with PortalClient(sb.url) as client:
        first_code = VerificationCode(_code(sb))
        first = client.redeem(first_code, card_serial=CARD)
        client.request_challenge(first)
        client.confirm_challenge(first, sb.last_sms_code(HOLDER.phone))
        second_code = _code(sb)
        with _from("127.0.0.10", sb.url) as http:
            busy = _redeem(http, second_code)
            assert busy.status_code == 409
            assert busy.json() == {
                "error": "conflict",
                "reason": "operation_in_progress",
                "message": contract.ERRORS["conflict"].message,
            }
            client.report_result(first, success=True)
            assert _redeem(http, second_code).status_code == 201  # the code was kept


def test_an_authorization_that_expired_frees_the_card(sb: RunningSandbox) -> None:
    with PortalClient(sb.url) as client:
        first = client.redeem(VerificationCode(_code(sb)), card_serial=CARD)
        client.request_challenge(first)
        client.confirm_challenge(first, sb.last_sms_code(HOLDER.phone))
        sb.advance(sb.portal.settings.authorization_validity.total_seconds() + 1)
        second = client.redeem(VerificationCode(_code(sb)), card_serial=CARD)
        with pytest.raises(OperationCancelledError):
            client.report_result(first, success=True)
        client.request_challenge(second)


# ---- the master secret ------------------------------------------------------------------------


def test_a_wrong_master_secret_is_refused_at_start(tmp_path: Path) -> None:
    db = tmp_path / "portal.sqlite3"
    with SandboxPortal(db, master_secret=bytes(range(32))) as portal:
        HOLDER.register(portal)
    with pytest.raises(SandboxSecretError) as err:
        SandboxPortal(db, master_secret=bytes(32))
    assert "\n" not in str(err.value) and "KAMUSM_SANDBOX_SECRET" in str(err.value)
    with SandboxPortal(db, master_secret=bytes(range(32))) as again:
        assert again.holder_id(HOLDER.tckn) > 0


@pytest.mark.parametrize(
    ("secret", "needle"),
    [("00" * 32, "does not match"), ("not-hex", "hex"), ("abcd", "32 bytes")],
)
def test_serving_with_a_wrong_or_malformed_secret_is_one_clear_line(
    tmp_path: Path, secret: str, needle: str
) -> None:
    db = tmp_path / "portal.sqlite3"
    with SandboxPortal(db, master_secret=bytes(range(32))):
        pass
    result = subprocess.run(
        [sys.executable, "-m", "kamusm.sandbox", "serve", "--port", "0", "--database", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ, KAMUSM_SANDBOX_SECRET=secret),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_right_secret_still_reopens(tmp_path: Path) -> None:
    db = tmp_path / "portal.sqlite3"
    key = bytes(range(32))
    with SandboxPortal(db, master_secret=key) as portal:
        HOLDER.register(portal)
        portal.register_card(
            serial=CARD, holder=HOLDER.tckn, product=Product.NES, so_credential="1"
        )
    with (
        SandboxPortal(db, master_secret=key) as portal,
        SandboxServer(portal) as server,
        PortalClient(server.url) as client,
    ):
        client.login_edevlet(HOLDER.tckn, HOLDER.password)
        code = client.start_pin_reset(Product.NES)
        op = client.redeem(code, card_serial=CARD)
        client.request_challenge(op)
        sms = portal.outbox(phone=HOLDER.phone)[-1].code
        auth = client.confirm_challenge(op, SmsCode(sms))  # the SO credential decrypts
        assert auth.card_serial == CARD
        with pytest.raises(LoginFailedError):
            client.login_edevlet(HOLDER.tckn, "wrong")
