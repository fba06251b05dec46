"""The sandbox behaves like a real service: no secret at rest or in logs, an audit trail of
every state change, size limits, JSON errors without stack traces, admin-only outbox,
rate-limited guessing. Requests go over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidTag

from kamusm.errors import RateLimitedError, VerificationCodeInvalidError
from kamusm.portal import PortalClient
from kamusm.sandbox import SandboxPortal, SandboxSecretError, SandboxServer, SandboxSettings
from kamusm.sandbox._vault import Vault
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox
from kamusm.values import ManualClock, Product, Tckn, VerificationCode

CARD = "AKIS0000SEC00001"
SO_CREDENTIAL = "SoCredential-7391"
INITIAL_PIN = "58213047"
HOLDER = TestHolder.make(TestHolder.default().tckn, name="GÜVENLİK TEST", phone="05441234599")


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        HOLDER.register(running.portal)
        running.portal.register_card(
            serial=CARD,
            holder=HOLDER.tckn,
            product=Product.NES,
            so_credential=SO_CREDENTIAL,
            initial_pin=INITIAL_PIN,
        )
        yield running


def _whole_story(sb: RunningSandbox) -> list[str]:
    """Log in both ways, issue a code, run the reset to the authorization; return every
    secret that went over the wire."""
    secrets: list[str] = [SO_CREDENTIAL, INITIAL_PIN, HOLDER.password, HOLDER.security_word]
    with PortalClient(sb.url) as client:
        client.login_edevlet(HOLDER.tckn, HOLDER.password)
        secrets.append(str(client._core._session_token))
        captcha = client.get_captcha()
        pending = client.login_sifreli_giris(
            HOLDER.tckn,
            captcha=captcha,
            captcha_answer=captcha.text,
            security_word=HOLDER.security_word,
        )
        login_sms = sb.last_sms_code(HOLDER.phone)
        client.confirm_login_sms(pending, login_sms)
        secrets += [login_sms.reveal(), pending.pending_login_id, str(client._core._session_token)]
        assert client.reveal_initial_pin(CARD).reveal() == INITIAL_PIN
        code = client.start_pin_reset(Product.NES)
        op = client.redeem(code, card_serial=CARD)
        client.request_challenge(op)
        sms = sb.last_sms_code(HOLDER.phone)
        auth = client.confirm_challenge(op, sms)
        assert auth.spend(card_serial=CARD, now=sb.clock.now()) == SO_CREDENTIAL
        secrets += [code.reveal(), op.operation_id, sms.reveal()]
    return secrets


def test_no_secret_reaches_the_database_files(sb: RunningSandbox) -> None:
    secrets = _whole_story(sb)
    files = list(Path(sb.portal.database).parent.glob("sandbox.sqlite3*"))
    assert files, "the database files were not found"
    stored = b"".join(f.read_bytes() for f in files)
    assert HOLDER.tckn.value.encode() in stored  # the scan does see what is stored
    for secret in secrets:
        assert secret.encode() not in stored, "a secret is stored in clear"


def test_the_file_is_unreadable_without_the_master_secret(tmp_path: Path) -> None:
    """SMS texts and SO credentials are AES-GCM ciphertexts bound to the deployment's key."""
    db = tmp_path / "portal.sqlite3"
    key = bytes(range(32))
    with SandboxPortal(db, master_secret=key, clock=ManualClock()) as portal:
        HOLDER.register(portal)
        portal.register_card(
            serial=CARD, holder=HOLDER.tckn, product=Product.NES, so_credential="x"
        )
        portal._send_sms(portal._db, HOLDER.phone, "test", "123456")
    with SandboxPortal(db, master_secret=key) as same_key:
        assert same_key.outbox()[0].code == "123456"
    # Another key does not even open the file (its key check value differs), and the
    # ciphertexts in it do not open under that key either.
    with pytest.raises(SandboxSecretError):
        SandboxPortal(db, master_secret=bytes(32))
    raw = sqlite3.connect(db)
    body, phone, sent_at = raw.execute("SELECT body, phone, sent_at FROM sms_outbox").fetchone()
    raw.close()
    with pytest.raises(InvalidTag):
        Vault(bytes(32)).decrypt(body, context=f"sms:{phone}:{sent_at}")
    assert Vault(key).decrypt(body, context=f"sms:{phone}:{sent_at}").endswith("paylaşmayın.")


def test_audit_records_every_state_change_without_secrets(sb: RunningSandbox) -> None:
    secrets = _whole_story(sb)
    entries = sb.portal.audit_log()
    events = [e["event"] for e in entries]
    assert events == [
        "holder.registered",
        "card.registered",
        "session.opened",
        "session.sms_sent",
        "session.opened",
        "initial_pin.shown",
        "code.issued",
        "operation.redeemed",
        "operation.challenged",
        "operation.authorized",
    ]
    text = repr(entries)
    for secret in secrets:
        assert secret not in text


def test_logs_hold_no_secret(sb: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = _whole_story(sb)
    assert "kamusm.sandbox" in {r.name.rsplit(".", 1)[0] for r in caplog.records}
    for secret in secrets:
        assert secret not in caplog.text


def test_request_body_size_is_limited(sb: RunningSandbox) -> None:
    big = b'{"verification_code": "' + b"1" * 20_000 + b'"}'
    response = httpx.post(f"{sb.url}/api/v1/operations", content=big)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed
        for _ in range(40):
            yield b" " * 1024

    streamed = httpx.post(f"{sb.url}/api/v1/operations", content=chunks())
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1, 2]",
        b'{"verification_code": "123", "card_serial": "X"}',
        b'{"verification_code": "123456789012345"}',
        b'{"verification_code": "123456789012345", "card_serial": "X", "extra": 1}',
        b'{"verification_code": 123456789012345, "card_serial": "X"}',
        b'{"verification_code": "123456789012345", "card_serial": "../../etc"}',
    ],
)
def test_malformed_requests_get_a_json_400_and_change_nothing(
    sb: RunningSandbox, content: bytes
) -> None:
    before = sb.portal.snapshot()
    response = httpx.post(
        f"{sb.url}/api/v1/operations",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert sb.portal.snapshot() == before


def test_a_crash_is_a_bare_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_sandbox() as sb:

        def explode() -> object:
            raise RuntimeError("internal detail 4242 /srv/secret.py")

        monkeypatch.setattr(sb.portal, "login_methods", explode)
        response = httpx.get(f"{sb.url}/api/v1/login-methods")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "message": "Internal error."}
    assert "4242" not in response.text and "Traceback" not in response.text


def test_unknown_routes_and_methods_answer_json(sb: RunningSandbox) -> None:
    missing = httpx.get(f"{sb.url}/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = httpx.put(f"{sb.url}/api/v1/operations")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"] == "method_not_allowed"


def test_the_outbox_and_audit_are_admin_only(sb: RunningSandbox) -> None:
    for path in ("/api/v1/admin/outbox", "/api/v1/admin/audit"):
        assert httpx.get(f"{sb.url}{path}").status_code == 401
        wrong = httpx.get(f"{sb.url}{path}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        right = httpx.get(f"{sb.url}{path}", headers={"Authorization": f"Bearer {sb.admin_token}"})
        assert right.status_code == 200


def test_provisioning_over_the_admin_api(sb: RunningSandbox) -> None:
    admin = {"Authorization": f"Bearer {sb.admin_token}"}
    holder = {
        "tckn": "17291716060",
        "name": "YENİ KİŞİ",
        "birth_date": "1990-01-31",
        "password": "pw-admin-api",
        "phone": "05330000000",
        "security_word": "kelime",
    }
    card = {
        "serial": "AKIS0000NEW00001",
        "holder": "17291716060",
        "product": "mali_muhur",
        "so_credential": "55443322",
        "certificates": [
            {
                "serial_number": "0C01",
                "subject": "CN=YENİ",
                "not_before": "2025-01-01T00:00:00+00:00",
                "not_after": "2028-01-01T00:00:00+00:00",
            }
        ],
    }
    assert httpx.post(f"{sb.url}/api/v1/admin/holders", json=holder).status_code == 401
    assert (
        httpx.post(f"{sb.url}/api/v1/admin/holders", json=holder, headers=admin).status_code == 204
    )
    again = httpx.post(f"{sb.url}/api/v1/admin/holders", json=holder, headers=admin)
    assert again.status_code == 409
    assert httpx.post(f"{sb.url}/api/v1/admin/cards", json=card, headers=admin).status_code == 204
    orphan = dict(card, serial="AKIS0000NEW00002", holder="10000000146")
    orphan["certificates"] = []
    assert httpx.post(f"{sb.url}/api/v1/admin/cards", json=orphan, headers=admin).status_code == 204
    with PortalClient(sb.url) as client:
        client.login_edevlet(Tckn("17291716060"), "pw-admin-api")
        (cert,) = client.list_certificates()
        assert cert.product is Product.MALI_MUHUR and cert.card_serial == "AKIS0000NEW00001"
        assert client.start_pin_reset(Product.MALI_MUHUR).length == 15


def test_wrong_codes_are_rate_limited_per_client(sb: RunningSandbox) -> None:
    issued = sb.portal.start_pin_reset(sb.portal.holder_id(HOLDER.tckn), Product.NES)
    good = VerificationCode(issued["verification_code"])

    with PortalClient(sb.url) as client:
        for n in range(10):
            with pytest.raises(VerificationCodeInvalidError):
                client.redeem(VerificationCode(f"{n:015d}"), card_serial=CARD)
        with pytest.raises(RateLimitedError) as limited:
            client.redeem(good, card_serial=CARD)  # even the right code waits now
        assert limited.value.retry_after == 60 and limited.value.status == 429
        sb.advance(60)
        assert client.redeem(good, card_serial=CARD).card_serial == CARD


def test_manual_clock_is_moved_through_the_admin_api(sb: RunningSandbox) -> None:
    before = sb.clock.now()
    response = httpx.post(
        f"{sb.url}/api/v1/admin/clock",
        json={"advance_seconds": 30},
        headers={"Authorization": f"Bearer {sb.admin_token}"},
    )
    assert response.status_code == 200
    assert (sb.clock.now() - before).total_seconds() == 30


def test_a_real_clock_cannot_be_moved() -> None:
    with SandboxPortal(settings=SandboxSettings()) as portal, SandboxServer(portal) as server:
        response = httpx.post(
            f"{server.url}/api/v1/admin/clock",
            json={"advance_seconds": 30},
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
    assert response.status_code == 409 and response.json()["reason"] == "clock_not_manual"


def test_the_sandbox_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host="0.0.0.0")  # noqa: S104 (the point of the test)
