"""The scripts in ``examples/`` run against real parts and do what their docstrings say.

- ``dys_check_before_signing.py`` and ``helpdesk_inventory.py`` run as the scripts they are, in
  a child process, on SoftHSM2 tokens (opencryptoki's software token for a locked PIN and a
  final try, which SoftHSM2 never reports);
- ``async_web_backend.py``'s Starlette app is driven with httpx through ``httpx.ASGITransport``
  while it talks to the sandbox portal over real HTTP on 127.0.0.1 and to SoftHSM2; once more
  as a script served by its own uvicorn in a child process.

Each test also checks that no PIN, SMS code or verification code reached the output.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import httpx
import pytest

from kamusm import (
    AsyncPortalClient,
    Pin,
    PinIncorrectError,
    PinLockedError,
    PortalClient,
    Product,
    SystemClock,
    Tckn,
    Token,
    VerificationCode,
)
from kamusm.errors import FinalTryNotAcknowledgedError
from kamusm.testing.certificates import CertificateFactory, IssuedCertificate
from kamusm.testing.opencryptoki import (
    OpencryptokiToken,
    fresh_opencryptoki_token,
    opencryptoki_unavailable_reason,
)
from kamusm.testing.sandbox import (
    RunningSandbox,
    TestHolder,
    provision_softhsm_card,
    running_sandbox,
)
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

PIN = "739164"  # digits that appear nowhere else in the output by accident
WRONG = "284017"
NEW = "582936"


def run_example(
    name: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>.py`` as a script, as a person would."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (the directory is not a package)."""
    spec = importlib.util.spec_from_file_location(f"kamusm_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def assert_no_secret(text: str, *secrets: str | Pin | VerificationCode) -> None:
    for secret in secrets:
        digits = secret if isinstance(secret, str) else secret.reveal()
        assert digits not in text, "a secret reached the output"


def require_opencryptoki() -> None:
    reason = opencryptoki_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def certified_softhsm_card(*issued: IssuedCertificate) -> SoftHsmToken:
    return create_softhsm_token(pin=PIN, certificates=[c.as_token_object() for c in issued])


def opencryptoki_card(*issued: IssuedCertificate) -> OpencryptokiToken:
    """The opencryptoki test token, fresh, with PIN ``PIN`` and these certificates."""
    require_opencryptoki()
    return fresh_opencryptoki_token(pin=PIN, certificates=[c.as_token_object() for c in issued])


def wrong_pins(token: Token, count: int) -> None:
    """Type ``count`` wrong PINs at the card (acknowledging the final try on purpose)."""
    for _ in range(count):
        with pytest.raises(PinIncorrectError):  # the third one too: it is what locks
            token.verify_pin(Pin(WRONG), acknowledge_final_try=True)


# ==== dys_check_before_signing.py ===============================================================


def dys(
    card: SoftHsmToken | OpencryptokiToken, typed: str, *more: str
) -> subprocess.CompletedProcess[str]:
    select = (
        ["--serial", card.serial] if isinstance(card, SoftHsmToken) else ["--label", card.label]
    )
    return run_example(
        "dys_check_before_signing",
        "--module",
        card.module_path,
        *select,
        "--pin-stdin",
        *more,
        stdin=typed + "\n",
    )


def test_dys_signs_with_the_valid_nes_and_verifies_the_pin(
    certificate_factory: CertificateFactory,
) -> None:
    """Among an expired NES, a Mali Mühür encryption certificate and a valid NES, the DYS
    picks the valid NES; the right PIN is verified once and the card stays clear."""
    expired = certificate_factory.expired_nes(days_ago=3)
    valid = certificate_factory.nes()
    encryption = certificate_factory.mali_muhur_encryption()
    card = certified_softhsm_card(expired, encryption, valid)

    result = dys(card, PIN, "--lang", "en")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"serial {valid.info().serial_hex}" in result.stdout
    assert expired.info().serial_hex not in result.stdout
    assert "PIN verified; ready to sign." in result.stdout
    assert card.token().pin_status().summary == "ok"
    assert_no_secret(result.stdout + result.stderr, PIN)


def test_dys_wrong_pin_is_tried_once_and_refused(certificate_factory: CertificateFactory) -> None:
    card = certified_softhsm_card(certificate_factory.nes())

    result = dys(card, WRONG)

    assert result.returncode == 6
    assert "tr: Hatalı PIN." in result.stdout
    assert "en: Wrong PIN." in result.stdout
    # SoftHSM2 sets count_low after any number of wrong PINs: the one try is counted on
    # opencryptoki in the next test.
    assert card.token().pin_status().count_low
    assert_no_secret(result.stdout + result.stderr, WRONG, PIN)


@pytest.mark.opencryptoki
def test_dys_wrong_pin_spends_exactly_one_try_on_a_card_that_counts(
    certificate_factory: CertificateFactory,
) -> None:
    """On opencryptoki one wrong PIN is count_low and a second would be the final try: after
    the DYS refused a wrong PIN the card shows exactly one."""
    card = opencryptoki_card(certificate_factory.nes())

    result = dys(card, WRONG, "--lang", "en")

    assert result.returncode == 6, result.stdout + result.stderr
    assert "refused: wrong PIN" in result.stdout
    assert card.token().pin_status().summary == "count_low"
    assert_no_secret(result.stdout + result.stderr, WRONG, PIN)


def test_dys_without_a_valid_signing_certificate_asks_no_pin(
    certificate_factory: CertificateFactory,
) -> None:
    """Only an expired NES: nothing to sign with, so the (wrong) PIN on stdin is never tried."""
    card = certified_softhsm_card(certificate_factory.expired_nes())

    result = dys(card, WRONG, "--lang", "en")

    assert result.returncode == 5
    assert "no valid signing certificate" in result.stdout
    assert card.token().pin_status().summary == "ok"  # no try spent
    assert_no_secret(result.stdout + result.stderr, WRONG, PIN)


def test_dys_refuses_a_pin_that_is_not_digits_without_trying_it(
    certificate_factory: CertificateFactory,
) -> None:
    card = certified_softhsm_card(certificate_factory.nes())

    result = dys(card, "12ab56")

    assert result.returncode == 2
    assert "PIN yalnızca rakamlardan oluşmalıdır." in result.stdout
    assert card.token().pin_status().summary == "ok"
    assert_no_secret(result.stdout + result.stderr, "12ab56", PIN)


def test_dys_names_every_place_it_looked_for_a_missing_module(tmp_path: Path) -> None:
    missing = tmp_path / "libakisp11.so"
    result = run_example("dys_check_before_signing", "--module", str(missing), "--lang", "en")
    assert result.returncode == 1
    assert str(missing) in result.stdout
    assert "no such file" in result.stdout


@pytest.mark.opencryptoki
def test_dys_warns_on_a_low_try_count_then_verifies(
    certificate_factory: CertificateFactory,
) -> None:
    """After one wrong PIN the DYS warns, asks, and the right PIN clears the count."""
    card = opencryptoki_card(certificate_factory.nes())
    wrong_pins(card.token(), 1)
    assert card.token().pin_status().summary == "count_low"

    result = dys(card, PIN)

    assert result.returncode == 0, result.stdout
    assert "PIN state: count_low" in result.stdout
    assert "Uyarı: son doğru girişten bu yana hatalı PIN girildi." in result.stdout
    assert card.token().pin_status().summary == "ok"  # the PIN really was verified
    assert_no_secret(result.stdout + result.stderr, PIN)


@pytest.mark.opencryptoki
def test_dys_refuses_to_spend_the_final_try(certificate_factory: CertificateFactory) -> None:
    """On the final try the DYS asks no PIN: even the right PIN on stdin is not tried (a
    correct login would have cleared the state)."""
    card = opencryptoki_card(certificate_factory.nes())
    wrong_pins(card.token(), 2)

    result = dys(card, PIN)

    assert result.returncode == 4
    assert f"tr: {FinalTryNotAcknowledgedError().message('tr')}" in result.stdout
    assert "kamusm change-pin" in result.stdout
    assert card.token().pin_status().final_try
    assert_no_secret(result.stdout + result.stderr, PIN)


@pytest.mark.opencryptoki
def test_dys_routes_a_locked_card_to_the_portal_reset(
    certificate_factory: CertificateFactory,
) -> None:
    card = opencryptoki_card(certificate_factory.nes())
    wrong_pins(card.token(), 3)
    assert card.token().pin_status().locked

    result = dys(card, PIN)

    assert result.returncode == 3
    assert f"tr: {PinLockedError().message('tr')}" in result.stdout
    assert f"en: {PinLockedError().message('en')}" in result.stdout
    assert "PIN Oluşturma/Kilit Çözme" in result.stdout
    assert "PUK kullanmayın" in result.stdout
    assert "kamusm reset-pin" in result.stdout
    assert card.token().pin_status().locked
    assert_no_secret(result.stdout + result.stderr, PIN)


# ==== helpdesk_inventory.py =====================================================================

# Makes tokens in a SoftHSM2 store of its own, in a child process, so that the inventory lists
# exactly these tokens (this test process shares one store among all tests).
_MAKE_STORE = """
import json, sys
from datetime import timedelta
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.softhsm import create_softhsm_token

directory, wanted = sys.argv[1], sys.argv[2].split(",")
f = CertificateFactory()
issue = {
    "valid": lambda: [f.nes(name="AYŞE YILMAZ", tckn="10000000146")],
    "expiring": lambda: [f.nes(name="MEHMET KAYA", tckn="17291716060",
                               not_after=f.now + timedelta(days=10))],
    "expired": lambda: [f.expired_nes(name="ZEYNEP DEMİR", tckn="10000000146", days_ago=5)],
    "mali": lambda: f.mali_muhur_card(),
    "empty": lambda: [],
}
made = {}
for name in wanted:
    token = create_softhsm_token(
        label=f"helpdesk-{name}", directory=directory,
        certificates=[c.as_token_object() for c in issue[name]()],
    )
    made[name] = token.serial
json.dump({"conf": str(token.store.conf_path), "serials": made}, sys.stdout)
"""


def own_store(directory: Path, *names: str) -> tuple[dict[str, str], dict[str, str]]:
    """Tokens ``names`` in a fresh SoftHSM2 store; returns the environment that points at it
    and the serials by name."""
    made = subprocess.run(
        [sys.executable, "-c", _MAKE_STORE, str(directory), ",".join(names)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    info = json.loads(made.stdout)
    env = {k: v for k, v in os.environ.items() if k != "KAMUSM_PKCS11_MODULE"}
    env["SOFTHSM2_CONF"] = info["conf"]
    return env, info["serials"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_inventory_flags_expired_and_expiring_certificates(
    tmp_path: Path, softhsm_module_path: str
) -> None:
    env, serials = own_store(tmp_path / "store", "valid", "expiring", "expired", "mali", "empty")
    out_csv = tmp_path / "cards.csv"

    result = run_example(
        "helpdesk_inventory", "--module", softhsm_module_path, "--csv", str(out_csv), env=env
    )

    assert result.returncode == 3, result.stdout + result.stderr
    rows = read_csv(out_csv)
    by_token: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_token.setdefault(row["token_label"], []).append(row)
    assert set(by_token) == {f"helpdesk-{n}" for n in serials}
    assert [r["flags"] for r in by_token["helpdesk-valid"]] == [""]
    assert [r["flags"] for r in by_token["helpdesk-expiring"]] == ["CERT_EXPIRING"]
    assert [r["flags"] for r in by_token["helpdesk-expired"]] == ["CERT_EXPIRED"]
    assert sorted(r["flags"] for r in by_token["helpdesk-mali"]) == ["", ""]
    [empty] = by_token["helpdesk-empty"]  # a token without certificates: one row of its own
    assert (empty["certificate_serial"], empty["pin_state"], empty["flags"]) == ("", "ok", "")
    expiring = by_token["helpdesk-expiring"][0]
    assert expiring["holder"] == "MEHMET KAYA"
    assert expiring["tckn"] == "172******60"
    assert 8 <= int(expiring["days_left"]) <= 10
    assert int(by_token["helpdesk-expired"][0]["days_left"]) < 0
    assert by_token["helpdesk-valid"][0]["qualified"] == "yes"
    for name, serial in serials.items():
        assert all(r["token_serial"] == serial for r in by_token[f"helpdesk-{name}"])
    # The table shows the same, and never a full T.C. Kimlik No.
    lines = result.stdout.splitlines()
    assert next(x for x in lines if x.startswith("helpdesk-expiring")).endswith("CERT_EXPIRING")
    assert "5 token(s), 5 certificate(s), 2 row(s) need attention" in result.stdout
    for full in ("10000000146", "17291716060"):
        assert full not in result.stdout
        assert full not in out_csv.read_text(encoding="utf-8")


def test_inventory_of_healthy_cards_exits_zero(tmp_path: Path, softhsm_module_path: str) -> None:
    env, _ = own_store(tmp_path / "store", "valid", "mali")
    result = run_example("helpdesk_inventory", "--module", softhsm_module_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 row(s) need attention" in result.stdout


def test_inventory_window_is_a_setting(tmp_path: Path, softhsm_module_path: str) -> None:
    """A certificate 10 days from its end is flagged with the default 30 days, not with 5."""
    env, _ = own_store(tmp_path / "store", "expiring")
    narrow = run_example(
        "helpdesk_inventory", "--module", softhsm_module_path, "--days", "5", env=env
    )
    wide = run_example("helpdesk_inventory", "--module", softhsm_module_path, env=env)
    assert (narrow.returncode, wide.returncode) == (0, 3)


@pytest.mark.opencryptoki
def test_inventory_flags_a_locked_pin_across_modules(
    tmp_path: Path, softhsm_module_path: str, certificate_factory: CertificateFactory
) -> None:
    """Two modules in one run: the SoftHSM2 cards and a locked opencryptoki card."""
    require_opencryptoki()
    env, _ = own_store(tmp_path / "store", "valid")
    locked = opencryptoki_card(certificate_factory.nes())
    wrong_pins(locked.token(), 3)
    out_csv = tmp_path / "cards.csv"

    result = run_example(
        "helpdesk_inventory",
        "--module",
        softhsm_module_path,
        "--module",
        locked.module_path,
        "--csv",
        str(out_csv),
        "--lang",
        "en",
        env=env,
    )

    assert result.returncode == 3, result.stdout + result.stderr
    rows = {r["token_label"]: r for r in read_csv(out_csv)}
    assert rows[locked.label]["pin_state"] == "locked"
    assert rows[locked.label]["flags"] == "PIN_LOCKED"
    assert rows[locked.label]["module"] == os.path.realpath(locked.module_path)
    assert rows["helpdesk-valid"]["flags"] == ""
    assert "PIN_LOCKED" in next(x for x in result.stdout.splitlines() if x.startswith(locked.label))


@pytest.fixture
def softhsm_module_path(softhsm_token: SoftHsmToken) -> str:
    """SoftHSM2's module (skips, saying why, when SoftHSM2 is not installed)."""
    return softhsm_token.module_path


# ==== async_web_backend.py ======================================================================

OLD = "135792"


class Browser:
    """The browser side: an httpx client on the backend app, remembering every answer (its
    own in ``seen``, every browser's in ``every_answer``)."""

    every_answer: ClassVar[list[str]] = []

    def __init__(self, client: httpx.AsyncClient, transport: httpx.ASGITransport) -> None:
        self.client = client
        self.transport = transport
        self.seen: list[str] = []

    def another(self) -> Browser:
        """A second browser (no cookie) on the same backend."""
        client = httpx.AsyncClient(transport=self.transport, base_url="http://dys.test")
        return Browser(client, self.transport)

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        response = await self.client.request(method, path, json=body)
        self.seen.append(response.text + json.dumps(dict(response.headers)))
        Browser.every_answer.append(self.seen[-1])
        return response


@pytest.fixture
def web_example() -> ModuleType:
    return load_example("async_web_backend")


@pytest.fixture
def holder(kamusm_sandbox: RunningSandbox) -> TestHolder:
    person = TestHolder.default()
    person.register(kamusm_sandbox.portal)
    return person


@pytest.fixture
def card(kamusm_sandbox: RunningSandbox, holder: TestHolder) -> SoftHsmToken:
    return provision_softhsm_card(kamusm_sandbox.portal, holder=holder, pin=OLD)


@pytest.fixture
async def browser(
    web_example: ModuleType,
    kamusm_sandbox: RunningSandbox,
    card: SoftHsmToken,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Browser]:
    """The browser on the backend. When the test ends, no answer any browser of it received
    and no log record holds a PIN (old, new, any typed), the SO PIN, a verification code the
    test issued or an SMS code the sandbox sent."""
    caplog.set_level(logging.DEBUG)
    _ISSUED.clear()
    Browser.every_answer.clear()
    portal = AsyncPortalClient(kamusm_sandbox.url, clock=kamusm_sandbox.clock)
    app = web_example.create_app(portal=portal, module=card.module(), clock=kamusm_sandbox.clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dys.test") as client:
        first = Browser(client, transport)
        yield first
    await portal.aclose()
    sent = [m.code for m in kamusm_sandbox.portal.outbox() if m.code]
    everything = "\n".join([*Browser.every_answer, logged(caplog)])
    assert_no_secret(everything, OLD, NEW, "582937", card.so_pin, *_ISSUED, *sent)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record so far, as text (the tests look for secrets in it)."""
    return "\n".join(r.getMessage() for r in caplog.records)


#: Every verification code the running test issued (looked for in what the browser saw).
_ISSUED: list[VerificationCode] = []


def new_code(sandbox: RunningSandbox, holder: TestHolder) -> VerificationCode:
    with PortalClient(sandbox.url, clock=sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        code = client.start_pin_reset(Product.NES)
    _ISSUED.append(code)
    return code


def events(sandbox: RunningSandbox, serial: str) -> list[str]:
    return [e["event"] for e in sandbox.portal.audit_log() if e["card_serial"] == serial]


async def start(browser: Browser, code: VerificationCode, serial: str) -> httpx.Response:
    # Typed as a person reads it off the portal page: in groups.
    digits = code.reveal()
    typed = f"{digits[:5]} {digits[5:10]} {digits[10:]}"
    return await browser.call(
        "POST", "/api/reset", {"verification_code": typed, "card_serial": serial}
    )


def assert_card_pin(card: SoftHsmToken, pin: str) -> None:
    token = card.token()
    token.verify_pin(Pin(pin))
    assert token.pin_status().summary == "ok"


@pytest.mark.anyio
async def test_web_backend_walks_a_browser_through_the_whole_reset(
    browser: Browser,
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cards = await browser.call("GET", "/api/cards")
    assert cards.status_code == 200
    mine = next(c for c in cards.json()["cards"] if c["serial"] == card.serial)
    assert holder.tckn.masked in mine["display"]
    assert holder.tckn.value not in cards.text

    code = new_code(kamusm_sandbox, holder)
    started = await start(browser, code, card.serial)
    assert started.status_code == 201, started.text
    assert started.json()["step"] == "enter_new_pin"
    assert 0 < started.json()["remaining_seconds"] <= 300
    assert "httponly" in started.headers["set-cookie"].lower()

    pin = await browser.call("POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": NEW})
    assert pin.json()["step"] == "request_challenge", pin.text

    challenge = await browser.call("POST", "/api/reset/challenge", {"method": "sms"})
    assert challenge.status_code == 200, challenge.text
    assert challenge.json()["step"] == "enter_confirmation"
    assert challenge.json()["attempts_remaining"] == 3
    assert challenge.json()["masked_phone"].endswith(holder.phone[-2:])

    sms = kamusm_sandbox.last_sms_code(holder.phone)
    confirmed = await browser.call("POST", "/api/reset/confirm", {"answer": sms.reveal()})
    assert confirmed.json()["step"] == "write_pin", confirmed.text

    finished = await browser.call("POST", "/api/reset/finish", {})
    assert finished.status_code == 200, finished.text
    assert finished.json()["done"] is True
    assert finished.json()["reported"] is True
    assert finished.json()["ended"] is True

    assert_card_pin(card, NEW)
    with pytest.raises(PinIncorrectError):
        card.token().verify_pin(Pin(OLD))
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.completed"
    # the report said which SO credential the card took: the portal knows it, and only it
    assert kamusm_sandbox.portal.card_so_candidates(card.serial) == [card.so_pin.reveal()]
    after = await browser.call("GET", "/api/reset")
    assert after.status_code == 404  # the session is gone with the finished reset
    assert after.json()["message"]["en"].startswith("There is no PIN reset in progress")
    assert "PIN reset started for card" in logged(caplog)
    everything = "\n".join([*browser.seen, logged(caplog)])
    assert_no_secret(everything, OLD, NEW, code, sms.reveal(), card.so_pin)


@pytest.mark.anyio
async def test_web_backend_keeps_the_pin_screen_after_a_policy_refusal(
    browser: Browser,
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    code = new_code(kamusm_sandbox, holder)
    await start(browser, code, card.serial)

    weak = await browser.call(
        "POST", "/api/reset/pin", {"new_pin": "123456", "confirmation": "123456"}
    )
    assert weak.status_code == 422
    assert weak.json()["error"] == "PinPolicyError"
    assert weak.json()["rules"] == ["sequential"]
    assert weak.json()["step"] == "enter_new_pin"
    assert weak.json()["message"]["tr"].startswith("Yeni PIN kabul edilmedi")

    differ = await browser.call(
        "POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": "582937"}
    )
    assert differ.json()["rules"] == ["confirmation_mismatch"]
    missing = await browser.call("POST", "/api/reset/pin", {"new_pin": NEW})
    assert missing.status_code == 422
    assert missing.json()["error"] == "InputError"

    good = await browser.call("POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": NEW})
    assert good.status_code == 200
    assert good.json()["step"] == "request_challenge"
    everything = "\n".join([*browser.seen, logged(caplog)])
    assert_no_secret(everything, NEW, "582937", code, card.so_pin)


@pytest.mark.anyio
async def test_web_backend_counts_wrong_sms_codes_and_cancels_after_the_last(
    browser: Browser, kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    code = new_code(kamusm_sandbox, holder)
    await start(browser, code, card.serial)
    await browser.call("POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": NEW})
    await browser.call("POST", "/api/reset/challenge", {})
    right = kamusm_sandbox.last_sms_code(holder.phone).reveal()
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    first = await browser.call("POST", "/api/reset/confirm", {"answer": wrong})
    assert first.status_code == 422
    assert first.json()["error"] == "SmsCodeRejectedError"
    assert first.json()["attempts_remaining"] == 2
    assert first.json()["step"] == "enter_confirmation"
    await browser.call("POST", "/api/reset/confirm", {"answer": wrong})
    last = await browser.call("POST", "/api/reset/confirm", {"answer": wrong})

    assert last.status_code == 409
    assert last.json()["error"] == "TooManyAttemptsError"
    assert last.json()["ended"] is True
    assert (await browser.call("GET", "/api/reset")).status_code == 404
    assert_card_pin(card, OLD)  # untouched
    assert "operation.completed" not in events(kamusm_sandbox, card.serial)
    assert_no_secret("\n".join(browser.seen), NEW, right, wrong, code)


@pytest.mark.anyio
async def test_web_backend_ends_the_reset_when_the_pin_screen_times_out(
    browser: Browser, kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The PIN screen's countdown ("Kalan Süre") runs out: the next request says so, the
    portal is told, and the browser must start again."""
    await start(browser, new_code(kamusm_sandbox, holder), card.serial)
    kamusm_sandbox.advance(196)

    status = await browser.call("GET", "/api/reset")

    assert status.status_code == 410
    assert status.json()["error"] == "PinEntryTimeoutError"
    assert status.json()["ended"] is True
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.failed"
    assert (
        await browser.call("POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": NEW})
    ).status_code == 404
    assert_card_pin(card, OLD)


@pytest.mark.anyio
async def test_web_backend_refuses_an_expired_code_with_the_way_to_a_new_one(
    browser: Browser, kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    code = new_code(kamusm_sandbox, holder)
    kamusm_sandbox.advance(301)

    started = await start(browser, code, card.serial)

    assert started.status_code == 410
    assert started.json()["error"] == "FlowCodeExpiredError"
    assert "Tekrar Kod Al" in started.json()["message"]["tr"]
    assert "set-cookie" not in started.headers
    # The card is free again: a new code starts a reset at once.
    again = await start(browser, new_code(kamusm_sandbox, holder), card.serial)
    assert again.status_code == 201, again.text


@pytest.mark.anyio
async def test_web_backend_refuses_steps_out_of_order(
    browser: Browser, kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    await start(browser, new_code(kamusm_sandbox, holder), card.serial)

    for path in ("/api/reset/finish", "/api/reset/confirm", "/api/reset/challenge"):
        early = await browser.call("POST", path, {"answer": "123456"})
        assert early.status_code == 409, path
        assert early.json()["error"] == "IllegalTransitionError"
        assert early.json()["step"] == "enter_new_pin"
    not_json = await browser.client.post(
        "/api/reset/pin",
        content=b"new_pin=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 400
    status = await browser.call("GET", "/api/reset")
    assert status.status_code == 200
    assert status.json()["step"] == "enter_new_pin"  # nothing moved


@pytest.mark.anyio
async def test_web_backend_allows_one_reset_per_card_and_refuses_a_strangers_card(
    browser: Browser,
    web_example: ModuleType,
    kamusm_sandbox: RunningSandbox,
    holder: TestHolder,
    card: SoftHsmToken,
) -> None:
    await start(browser, new_code(kamusm_sandbox, holder), card.serial)
    other = browser.another()
    busy = await start(other, new_code(kamusm_sandbox, holder), card.serial)
    assert busy.status_code == 409
    assert busy.json()["error"] == "FlowBusyError"

    stranger = TestHolder.make(Tckn.complete("172917160"), name="BAŞKA KİŞİ")
    strangers_card = provision_softhsm_card(kamusm_sandbox.portal, holder=stranger, pin=OLD)
    refused = await start(other, new_code(kamusm_sandbox, holder), strangers_card.serial)
    assert refused.status_code == 403
    assert refused.json()["error"] == "CardNotOwnedError"
    await other.client.aclose()


@pytest.mark.anyio
async def test_web_backend_cancel_tells_the_portal_and_leaves_the_card(
    browser: Browser, kamusm_sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    await start(browser, new_code(kamusm_sandbox, holder), card.serial)
    await browser.call("POST", "/api/reset/pin", {"new_pin": NEW, "confirmation": NEW})

    cancelled = await browser.call("DELETE", "/api/reset")

    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["message"]["en"].startswith("The operation was cancelled")
    assert events(kamusm_sandbox, card.serial)[-1] == "operation.failed"
    assert_card_pin(card, OLD)


def test_web_backend_script_serves_a_whole_reset_over_http(tmp_path: Path) -> None:
    """``python examples/async_web_backend.py --port 0``: a real server in its own process,
    talking to the sandbox over HTTP; the browser side uses real HTTP too."""
    holder = TestHolder.default()
    with running_sandbox(clock=SystemClock()) as sandbox:
        card = provision_softhsm_card(sandbox.portal, holder=holder, pin=OLD)
        process = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLES / "async_web_backend.py"),
                "--portal",
                sandbox.url,
                "--module",
                card.module_path,
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            first = process.stdout.readline() if process.stdout else ""
            assert first.startswith("listening on http://127.0.0.1:"), first
            url = first.split()[-1]
            code = new_code(sandbox, holder)
            with httpx.Client(base_url=url, timeout=30) as client:
                digits = code.reveal()
                steps = [
                    client.post(
                        "/api/reset", json={"verification_code": digits, "card_serial": card.serial}
                    ),
                    client.post("/api/reset/pin", json={"new_pin": NEW, "confirmation": NEW}),
                    client.post("/api/reset/challenge", json={}),
                ]
                sms = sandbox.last_sms_code(holder.phone).reveal()
                steps.append(client.post("/api/reset/confirm", json={"answer": sms}))
                steps.append(client.post("/api/reset/finish", json={}))
            for response in steps:
                assert response.status_code in (200, 201), response.text
            assert steps[-1].json()["reported"] is True
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    # Checked from a process of its own: SoftHSM2 keeps what it read of a token per process,
    # and the PIN was changed by the server's process.
    check = run_example(
        "dys_check_before_signing",
        *("--module", card.module_path, "--serial", card.serial, "--pin-stdin"),
        stdin=NEW + "\n",
    )
    assert check.returncode == 0, check.stdout
    old = run_example(
        "dys_check_before_signing",
        *("--module", card.module_path, "--serial", card.serial, "--pin-stdin"),
        stdin=OLD + "\n",
    )
    assert old.returncode == 6, old.stdout
    answers = "\n".join(r.text + json.dumps(dict(r.headers)) for r in steps)
    assert_no_secret(first + out + err + answers, OLD, NEW, code, sms, card.so_pin)
    for run in (check, old):
        assert_no_secret(run.stdout + run.stderr, OLD, NEW)
    assert "PIN reset started for card" in err  # its own log, at INFO
