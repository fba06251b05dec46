"""The ``kamusm`` command run as a process (``python -m kamusm``), on real parts: SoftHSM2
cards in this process's store (opened by the command through ``SOFTHSM2_CONF``), the
opencryptoki token for real PIN counting, the sandbox portal over HTTP on 127.0.0.1.

The interactive commands in a terminal are in ``test_cli_terminal.py``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kamusm import Pin, PinIncorrectError, PinStatus, Tckn, errors
from kamusm._cli import _fast_tokens
from kamusm._cli._exit import ExitCode, exit_code_for
from kamusm.portal import PortalClient
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.opencryptoki import (
    OpencryptokiToken,
    fresh_opencryptoki_token,
    opencryptoki_unavailable_reason,
)
from kamusm.testing.sandbox import running_sandbox
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token, find_softhsm_module
from tests.cli_parts import pin_verifies

PIN = "123456"
HOLDER = "AYŞE YILMAZ"
TCKN = Tckn("17291716060")
TIMEOUT = 120


def kamusm(
    *args: str,
    card: SoftHsmToken | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kamusm ARGS`` (stdin not a terminal unless given)."""
    environment = dict(os.environ, **(env or {}))
    environment.pop("KAMUSM_LANG", None)
    if card is not None:
        environment["SOFTHSM2_CONF"] = str(card.store.conf_path)
    return subprocess.run(
        [sys.executable, "-m", "kamusm", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=TIMEOUT,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's single line on stderr (no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory()


@pytest.fixture
def card(factory: CertificateFactory) -> SoftHsmToken:
    """A SoftHSM2 card with one NES certificate of AYŞE YILMAZ, valid for about a year."""
    return create_softhsm_token(
        pin=PIN,
        certificates=[c.as_token_object() for c in factory.nes_card(name=HOLDER, tckn=TCKN)],
    )


def serial_of(token: SoftHsmToken) -> list[str]:
    return ["--module", token.module_path, "--serial", token.serial]


# ---- tokens ---------------------------------------------------------------------------------


def test_tokens_lists_the_card_with_pin_state_and_holder(card: SoftHsmToken) -> None:
    result = kamusm("tokens", "--module", card.module_path, card=card)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split()[:2] == ["Seri", "No"] and "PIN durumu" in header
    row = next(r for r in rows if card.serial in r)
    assert "tamam" in row and f"{HOLDER} ({TCKN.masked})" in row
    assert TCKN.value not in result.stdout  # the T.C. Kimlik No is shown masked only


def test_tokens_json_parses_and_names_the_fields(card: SoftHsmToken) -> None:
    result = kamusm("--lang", "en", "tokens", "--json", "--module", card.module_path, card=card)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["schema_version"] == 1
    listed = {entry["serial"]: entry for entry in body["cards"]}
    entry = listed[card.serial]
    assert entry["label"] == card.label
    assert entry["pin_status"] == "ok" and entry["pin"]["locked"] is False
    assert entry["holder"] == {"name": HOLDER, "tckn_masked": TCKN.masked}
    assert entry["products"] == ["nes"] and entry["certificates"] == 1
    assert entry["min_pin_length"] <= 6 <= entry["max_pin_length"]
    assert TCKN.value not in result.stdout


def test_tokens_without_a_loadable_module_is_one_line_and_exit_4(tmp_path: Path) -> None:
    missing = str(tmp_path / "libakisp11.so")
    result = kamusm("tokens", "--module", missing)
    assert result.returncode == 4
    assert one_line(result).startswith("kamusm: hata: PKCS#11 kütüphanesi bulunamadı")
    assert missing in result.stderr and result.stdout == ""
    with_debug = kamusm("tokens", "--module", missing, "--debug", "--lang", "en")
    assert with_debug.returncode == 4
    assert "Traceback" in with_debug.stderr
    assert "kamusm: error: No PKCS#11 module could be found" in with_debug.stderr


def test_no_card_is_exit_5_for_tokens_and_certs(tmp_path: Path) -> None:
    """A helpdesk script branches on the code: 5 when no card is present (an empty SoftHSM2
    store), with one line, or with the empty listing as JSON."""
    conf = tmp_path / "softhsm2.conf"
    (tmp_path / "tokens").mkdir()
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    module = find_softhsm_module()
    assert module is not None
    for command in ("tokens", "certs"):
        table = kamusm(command, "--module", module, env=env)
        assert table.returncode == 5, table.stderr
        assert (
            one_line(table)
            == "kamusm: hata: Kart bulunamadı. Kartınızın takılı olduğundan emin olun."
        )
        listed = kamusm(command, "--json", "--module", module, env=env)
        assert listed.returncode == 5 and json.loads(listed.stdout)["cards"] == []


def test_fast_tokens_path_takes_only_plain_tokens_calls() -> None:
    """``kamusm tokens`` runs without click; anything else goes to click."""
    assert _fast_tokens(["tokens"]) == {}
    assert _fast_tokens(["--lang", "en", "tokens", "--json", "--module=/m.so"]) == {
        "--lang": "en",
        "--json": True,
        "--module": "/m.so",
    }
    for other in (
        ["tokens", "--help"],
        ["--json", "tokens"],
        ["tokens", "--lang", "de"],
        ["certs"],
        ["--module", "tokens"],
        ["tokens", "tokens"],
        [],
    ):
        assert _fast_tokens(other) is None, other


# ---- certs ----------------------------------------------------------------------------------


def test_certs_shows_kind_holder_expiry_and_qualified(factory: CertificateFactory) -> None:
    now = datetime.now(UTC)
    soon = factory.nes(name=HOLDER, tckn=TCKN, not_after=now + timedelta(days=10, hours=12))
    card = create_softhsm_token(pin=PIN, certificates=[soon.as_token_object()])
    table = kamusm("certs", *serial_of(card), card=card)
    assert table.returncode == 0, table.stderr
    assert card.serial in table.stdout and "Nitelikli elektronik sertifika (NES)" in table.stdout
    assert f"{HOLDER} ({TCKN.masked})" in table.stdout and "evet" in table.stdout
    assert soon.info().not_after.strftime("%d.%m.%Y") in table.stdout  # as the portal writes it
    english = kamusm("--lang", "en", "certs", *serial_of(card), card=card)
    assert soon.info().not_after.date().isoformat() in english.stdout
    as_json = kamusm("certs", "--json", *serial_of(card), card=card)
    (listed,) = json.loads(as_json.stdout)["cards"]
    (cert,) = listed["certificates"]
    assert cert["kind"] == "nes" and cert["qualified"] is True and cert["expired"] is False
    assert cert["days_left"] == 10 and cert["tckn_masked"] == TCKN.masked
    assert cert["serial_number"] == soon.info().serial_hex


def test_certs_of_an_unknown_serial_is_a_card_problem(card: SoftHsmToken) -> None:
    result = kamusm("certs", "--module", card.module_path, "--serial", "nope", card=card)
    assert result.returncode == 5
    assert (
        one_line(result) == "kamusm: hata: Kart bulunamadı. Kartınızın takılı olduğundan emin olun."
    )


# ---- what a card says reaches the terminal as text only ------------------------------------

ESCAPES = "\x1b[2J\x1b]0;x\x07"  # clear the screen; set the window title


def test_a_label_and_a_certificate_name_cannot_send_terminal_escapes(
    factory: CertificateFactory,
) -> None:
    """A real SoftHSM2 token whose label carries escape sequences, with a certificate whose
    holder name carries them too: tokens, certs and doctor print no control character (the
    rest of the text stays readable); --json keeps the exact values, escaped by JSON."""
    name = f"AYŞE{ESCAPES} YILMAZ"
    certs = [c.as_token_object() for c in factory.nes_card(name=name, tckn=TCKN)]
    card = create_softhsm_token(label=f"{ESCAPES}EVIL", pin=PIN, certificates=certs)
    for args in (
        ["tokens", "--module", card.module_path],
        ["certs", *serial_of(card)],
        ["doctor", *serial_of(card)],
    ):
        result = kamusm(*args, card=card)
        shown = result.stdout + result.stderr
        assert result.returncode in (0, 13), shown
        assert not [ch for ch in shown if not ch.isprintable() and ch not in "\n "], args
        assert "AYŞE[2J]0;x YILMAZ" in shown, args
        if args[0] != "doctor":  # doctor names the card by its holder
            assert "[2J]0;xEVIL" in shown, args
    listed = kamusm("tokens", "--json", "--module", card.module_path, card=card)
    entry = next(e for e in json.loads(listed.stdout)["cards"] if e["serial"] == card.serial)
    assert entry["label"] == f"{ESCAPES}EVIL" and entry["holder"]["name"] == name
    assert "\x1b" not in listed.stdout  # JSON writes it as \u001b


# ---- JSON output ----------------------------------------------------------------------------


def json_paths(value: object, prefix: str = "") -> set[str]:
    """``{"cards[]", "cards[].pin", "cards[].pin.locked", ...}``: every field of a JSON answer
    (a list of objects as ``name[]``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, list) and any(isinstance(i, dict) for i in item):
                found.add(f"{path}[]")
                for element in item:
                    found |= json_paths(element, f"{path}[]")
            else:
                found |= {path} | json_paths(item, path)
    return found


def documented_fields(command: str) -> set[str]:
    """The "JSON field" table of the command's section in docs/cli.md."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    section = page.split(f"## `kamusm {command}`", 1)[1].split("\n## ", 1)[0]
    table = section.split("| JSON field | meaning |", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE))


def test_every_json_answer_has_its_schema_version_and_its_documented_fields(
    card: SoftHsmToken,
) -> None:
    """The fields of tokens, certs and doctor --json are exactly the documented ones."""
    for command in ("tokens", "certs", "doctor"):
        result = kamusm(command, "--json", *serial_of(card), card=card)
        if command == "tokens":  # takes no --serial
            result = kamusm(command, "--json", "--module", card.module_path, card=card)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        assert next(iter(body)) == "schema_version" and body["schema_version"] == 1
        found, documented = json_paths(body), documented_fields(command)
        # A documented list that is empty in an answer (``readers[]`` without a reader
        # service, a card without certificates) shows as its bare name; when it is empty
        # everywhere, the fields of its elements cannot appear.
        for listed in sorted(d for d in documented if d.endswith("[]")):
            if listed[:-2] in found:
                found.discard(listed[:-2])
                if listed not in found:
                    found.add(listed)
                    documented = {d for d in documented if not d.startswith(listed + ".")}
        assert found == documented, command


def test_certs_by_holder_name_with_turkish_case_rules(factory: CertificateFactory) -> None:
    """--holder takes part of the name in any case by Turkish rules: "ışıklı" finds IŞIKLI,
    "ISIKLI" (dotted i) does not; no card of that holder is exit 5."""
    theirs = create_softhsm_token(
        pin=PIN,
        certificates=[
            c.as_token_object() for c in factory.nes_card(name="İLKER IŞIKLI", tckn=TCKN)
        ],
    )
    module = theirs.module_path
    found = kamusm("certs", "--json", "--module", module, "--holder", "ışıklı", card=theirs)
    assert found.returncode == 0, found.stderr
    cards = json.loads(found.stdout)["cards"]  # the store may hold this holder's cards of
    assert theirs.serial in {c["serial"] for c in cards}  # other tests too, and no one else's
    assert {cert["holder"] for c in cards for cert in c["certificates"]} == {"İLKER IŞIKLI"}
    for query in ("ISIKLI", "ılker"):
        missing = kamusm("certs", "--module", theirs.module_path, "--holder", query, card=theirs)
        assert missing.returncode == 5, query
        # cards are inserted: the holder is what is missing, not a card
        assert f'adı "{query}" içeren bir kart sahibi yok' in one_line(missing)
        assert "Kart bulunamadı" not in missing.stdout + missing.stderr
    english = kamusm("certs", "--lang", "en", "--module", module, "--holder", "ISIKLI", card=theirs)
    assert english.returncode == 5
    assert 'No inserted card\'s holder has "ISIKLI" in their name' in one_line(english)
    stdin_change = kamusm(
        "change-pin", "--pin-stdin", "--module", module, "--holder", "ISIKLI", card=theirs
    )
    assert stdin_change.returncode == 5
    assert 'adı "ISIKLI" içeren bir kart sahibi yok' in one_line(stdin_change)


# ---- doctor ---------------------------------------------------------------------------------


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    body = json.loads(result.stdout)
    return {c["check"].split(":")[0]: c for c in body["checks"]}


def test_doctor_passes_a_good_card_and_a_reachable_portal(card: SoftHsmToken) -> None:
    with running_sandbox() as sandbox:
        result = kamusm("doctor", "--json", *serial_of(card), "--portal", sandbox.url, card=card)
    assert result.returncode == 0, result.stdout + result.stderr
    found = checks(result)
    assert found["module"]["status"] == "ok" and found["portal"]["status"] == "ok"
    assert found["service"]["status"] == "skip"  # SoftHSM2 needs no reader service
    assert found["card"]["status"] == "ok" and found["certificates"]["status"] == "ok"
    english = kamusm("doctor", "--lang", "en", *serial_of(card), card=card)
    assert re.search(r"\b1 card found\.", english.stdout), english.stdout
    assert "(s)" not in english.stdout


def test_doctor_explains_expired_and_expiring_certificates_and_a_dead_portal(
    factory: CertificateFactory,
) -> None:
    now = datetime.now(UTC)
    old = factory.nes(name=HOLDER, tckn=TCKN, not_after=now - timedelta(days=3))
    soon = factory.nes(
        name=HOLDER, tckn=TCKN, index=1, not_after=now + timedelta(days=20, hours=12)
    )
    card = create_softhsm_token(
        pin=PIN, certificates=[old.as_token_object(), soon.as_token_object()]
    )
    with running_sandbox() as sandbox:
        url = sandbox.url  # stopped when the block ends: nothing listens there any more
    result = kamusm("doctor", *serial_of(card), "--portal", url, card=card)
    assert result.returncode == 13
    out = result.stdout
    assert "sertifikasının süresi dolmuş" in out and "20 gün içinde doluyor" in out
    assert "Kamu SM portalına bağlanılamadı" in out
    assert out.count("Çözüm:") >= 3 and "sertifika yenileme" in out
    english = kamusm("doctor", "--json", "--lang", "en", *serial_of(card), card=card)
    statuses = [c["status"] for c in json.loads(english.stdout)["checks"]]
    assert "fail" in statuses and "warn" in statuses
    assert "has expired" in english.stdout


def test_doctor_counts_a_certificate_expiring_soon_as_a_problem(
    factory: CertificateFactory,
) -> None:
    soon = factory.nes(name=HOLDER, tckn=TCKN, not_after=datetime.now(UTC) + timedelta(days=25))
    card = create_softhsm_token(pin=PIN, certificates=[soon.as_token_object()])
    result = kamusm("doctor", "--json", *serial_of(card), card=card)
    assert result.returncode == 13
    body = json.loads(result.stdout)
    assert body["ok"] is False and checks(result)["certificates"]["status"] == "warn"


def test_doctor_without_a_module_says_how_to_fix_it(tmp_path: Path) -> None:
    result = kamusm("doctor", "--json", "--module", str(tmp_path / "none.so"))
    assert result.returncode == 13
    module = checks(result)["module"]
    assert module["status"] == "fail" and "AKİS" in module["fix"]


needs_opencryptoki = pytest.mark.skipif(
    opencryptoki_unavailable_reason() is not None,
    reason=f"opencryptoki token unavailable: {opencryptoki_unavailable_reason()}",
)


def wrong_tries(token: OpencryptokiToken, count: int) -> None:
    kamusm_token = token.token()
    for _ in range(count):
        with pytest.raises(PinIncorrectError):
            kamusm_token.verify_pin(Pin("000000"), acknowledge_final_try=True)


@pytest.mark.opencryptoki
@needs_opencryptoki
def test_final_try_and_locked_pins_are_listed_and_diagnosed() -> None:
    """On opencryptoki (which really counts): two wrong PINs show "son deneme", three
    "kilitli"; doctor fails both with the reset-pin route, and change-pin on the locked card
    ends with exit 6 without touching it."""
    token = fresh_opencryptoki_token(pin=PIN)
    wrong_tries(token, 2)
    listed = kamusm("tokens", "--json", "--module", token.module_path)
    entry = next(e for e in json.loads(listed.stdout)["cards"] if e["label"] == token.label)
    assert entry["pin_status"] == "final_try" and entry["pin"]["final_try"] is True
    table = kamusm("tokens", "--module", token.module_path)
    assert "son deneme" in table.stdout
    doctor = kamusm("doctor", "--json", "--module", token.module_path)
    assert doctor.returncode == 13
    pin_check = checks(doctor)["pin"]
    assert pin_check["status"] == "fail" and "reset-pin" in pin_check["fix"]

    wrong_tries(token, 1)
    listed = kamusm("tokens", "--json", "--module", token.module_path)
    entry = next(e for e in json.loads(listed.stdout)["cards"] if e["label"] == token.label)
    assert entry["pin_status"] == "locked"
    doctor = kamusm("doctor", "--module", token.module_path)
    assert "PIN kilitli" in doctor.stdout and "PUK kullanmayın" in doctor.stdout
    change = kamusm(
        "change-pin",
        "--pin-stdin",
        "--module",
        token.module_path,
        "--label",
        token.label,
        stdin=f"{PIN}\n654321\n654321\n",
    )
    assert change.returncode == 6
    assert one_line(change).startswith("kamusm: hata: PIN kilitli; değiştirilemez.")


# ---- change-pin (scripted) ------------------------------------------------------------------


def test_change_pin_from_stdin_changes_the_pin(card: SoftHsmToken) -> None:
    result = kamusm(
        "change-pin", "--pin-stdin", *serial_of(card), card=card, stdin=f"{PIN}\n739264\n739264\n"
    )
    assert result.returncode == 0, result.stderr
    assert "PIN değiştirildi" in result.stdout
    assert pin_verifies(card, "739264") and not pin_verifies(card, PIN)
    for secret in (PIN, "739264"):
        assert secret not in result.stdout + result.stderr


def test_change_pin_from_stdin_refusals_have_their_own_exit_codes(card: SoftHsmToken) -> None:
    """A wrong old PIN ends with 7, a weak new PIN with 3, too few lines with 2; the PIN
    stays as it was."""
    wrong = kamusm(
        "change-pin", "--pin-stdin", *serial_of(card), card=card, stdin="999999\n739264\n739264\n"
    )
    assert wrong.returncode == 7 and one_line(wrong) == "kamusm: hata: Hatalı PIN."
    weak = kamusm(
        "change-pin", "--pin-stdin", *serial_of(card), card=card, stdin=f"{PIN}\n111111\n111111\n"
    )
    assert weak.returncode == 3 and "tek bir rakamın tekrarı" in one_line(weak)
    short = kamusm("change-pin", "--pin-stdin", *serial_of(card), card=card, stdin=f"{PIN}\n")
    assert short.returncode == 2 and "üç satır" in one_line(short)
    assert pin_verifies(card, PIN)
    for result in (wrong, weak, short):
        assert "999999" not in result.stderr and "739264" not in result.stderr


def test_change_pin_from_a_closed_stdin_is_one_line_and_exit_2(card: SoftHsmToken) -> None:
    """Standard input closed (``<&-``), not merely empty: one clear line, exit 2."""
    command = [sys.executable, "-m", "kamusm", "change-pin", "--pin-stdin", *serial_of(card)]
    environment = dict(os.environ, SOFTHSM2_CONF=str(card.store.conf_path))
    environment.pop("KAMUSM_LANG", None)
    result = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *command],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert one_line(result) == (
        "kamusm: hata: Standart girdi kapalı; PIN'ler okunamadı (--pin-stdin üç satır bekler)."
    )
    assert pin_verifies(card, PIN)


def test_interactive_commands_refuse_without_a_terminal(card: SoftHsmToken) -> None:
    """No terminal: exit 2 and a pointer to --pin-stdin; PINs are never read from argv."""
    change = kamusm("change-pin", *serial_of(card), card=card)
    assert change.returncode == 2 and "--pin-stdin" in one_line(change)
    reset = kamusm(
        "reset-pin", "--portal", "http://127.0.0.1:9", "--module", card.module_path, card=card
    )
    assert reset.returncode == 2 and "terminal" in one_line(reset)
    extra = kamusm("change-pin", "--pin", PIN, *serial_of(card), card=card)
    assert extra.returncode == 2 and "kullanım hatası" in one_line(extra)


# ---- help, usage, entry points --------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes_in_both_languages() -> None:
    turkish = kamusm("--help")
    english = kamusm("--lang", "en", "--help")
    assert turkish.returncode == english.returncode == 0
    for command in ("tokens", "certs", "doctor", "change-pin", "reset-pin", "sandbox", "demo"):
        assert command in turkish.stdout and command in english.stdout
    assert turkish.stdout.startswith("Kullanım: kamusm") and "Komutlar:" in turkish.stdout
    assert english.stdout.startswith("Usage: kamusm") and "Commands:" in english.stdout
    assert "Çıkış kodları:" in turkish.stdout and "PIN kilitli" in turkish.stdout
    assert "Exit codes:" in english.stdout and "130  interrupted by Ctrl-C" in english.stdout
    for sub in (["tokens"], ["reset-pin"], ["change-pin"], ["sandbox", "provision"]):
        shown = kamusm("--lang", "en", *sub, "--help")
        assert shown.returncode == 0 and "--lang" in shown.stdout, sub
    assert "--pin-stdin" in kamusm("change-pin", "--help").stdout


def test_unknown_option_is_a_usage_error_in_one_line() -> None:
    result = kamusm("tokens", "--colour")
    assert result.returncode == 2
    assert one_line(result).startswith("kamusm: kullanım hatası:")


def test_help_and_usage_errors_follow_a_lang_given_anywhere_on_the_line() -> None:
    """The help is drawn once the whole line is read, so ``--lang`` may come after
    ``--help`` (and after a mistake); on the command or on the group."""
    for args in (["--help", "--lang", "en"], ["tokens", "--help", "--lang=en"]):
        shown = kamusm(*args)
        assert shown.returncode == 0 and shown.stdout.startswith("Usage: kamusm"), args
    assert kamusm("--lang", "en", "certs", "--help").stdout.startswith("Usage: kamusm certs")
    late = kamusm("tokens", "--colour", "--lang", "en")
    assert late.returncode == 2 and one_line(late).startswith("kamusm: usage error:")
    required = kamusm("sandbox", "provision", "--help")  # --url is required, --help still wins
    assert required.returncode == 0 and "--admin-token" in required.stdout


def test_a_usage_error_never_echoes_a_typed_value_even_after_an_equals_sign() -> None:
    for args in (["--lang=739264", "tokens"], ["reset-pin", "--product", "739264"]):
        result = kamusm(*args)
        assert result.returncode == 2 and "739264" not in result.stderr, args
        assert "…" in one_line(result)
    named = kamusm("reset-pin", "--method", "sms-code")  # the offered choices are shown
    assert "'sms'" in named.stderr and "'web-password'" in named.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("kamusm")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("kamusm ")


def test_the_documented_exit_codes_are_the_codes() -> None:
    """The table in kamusm._cli's docstring (and so in the docs) lists exactly the codes."""
    import kamusm._cli

    doc = kamusm._cli.__doc__ or ""
    documented = {int(n) for n in re.findall(r"^(\d+)\s{2,}\S", doc, flags=re.MULTILINE)}
    assert documented == {code.value for code in ExitCode}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.Pkcs11ModuleNotFoundError(tried=[]), 4),
        (errors.TokenNotFoundError(), 5),
        (errors.TokenBusyError(), 5),
        (errors.AmbiguousTokenError(candidates=["a", "b"]), 5),
        (errors.PinLockedError(), 6),
        (errors.PinLockedUseResetError(), 6),
        (errors.PinIncorrectError(status=PinStatus(locked=True)), 6),
        (errors.PinIncorrectError(status=PinStatus(final_try=True)), 7),
        (errors.PortalConnectionError(), 8),
        (errors.PortalTlsError(), 8),
        (errors.PortalTimeoutError(), 8),
        (errors.RateLimitedError(retry_after=3), 9),
        (errors.FlowCancelledError(), 10),
        (errors.TooManyAttemptsError(attempts=3), 10),
        (errors.FinalTryNotAcknowledgedError(), 10),
        (errors.VerificationCodeExpiredError(), 11),
        (errors.FlowCodeExpiredError(), 11),
        (errors.PinEntryTimeoutError(), 11),
        (errors.WrongHolderError(), 12),
        (errors.InvalidPinFormatError(), 3),
        (errors.KamusmError(), 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_error_ends_with_its_exit_code(error: errors.KamusmError, code: int) -> None:
    assert exit_code_for(error) == code


def test_readme_starts_with_the_demo_then_the_tests() -> None:
    """The README's first code block is ./scripts/demo then ./scripts/test, both runnable."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    title, *rest = [line for line in readme.splitlines() if line.strip()]
    assert title.startswith("# ") and rest[0] == "```sh"  # the title, then the commands
    block = re.search(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    for script in ("demo", "test"):
        assert os.access(root / "scripts" / script, os.X_OK), script
    assert 'kamusm" demo' in (root / "scripts" / "demo").read_text()


# ---- the sandbox commands -------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``kamusm sandbox serve --port 0`` running; its URL and admin token."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamusm", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"(http://127\.0\.0\.1:\d+)/api/v1", lines[0])
        token = re.search(r"yönetici anahtarı:\s+(\S+)", lines[2])  # Turkish by default
        assert url and token, lines
        yield url.group(1), token.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "Yerel portal durduruldu." in out


def test_sandbox_provision_makes_a_card_the_other_commands_see(
    served: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = served
    store = tmp_path / "store"
    result = kamusm(
        "sandbox",
        "provision",
        "--url",
        url,
        "--store",
        str(store),
        env={"KAMUSM_SANDBOX_ADMIN_TOKEN": admin, "KAMUSM_HOLDER_PASSWORD": "egitim-parola-1"},
    )
    assert result.returncode == 0, result.stderr
    serial = re.search(r"seri no (\S+),", result.stdout)
    assert serial and f"SOFTHSM2_CONF={store / 'softhsm2.conf'}" in result.stdout
    assert "reset-pin" in result.stdout and "egitim-parola-1" not in result.stdout
    listed = kamusm("tokens", "--json", env={"SOFTHSM2_CONF": str(store / "softhsm2.conf")})
    (entry,) = json.loads(listed.stdout)["cards"]
    assert entry["serial"] == serial.group(1)
    assert entry["holder"]["tckn_masked"] == "100******46"
    again = kamusm(
        "sandbox",
        "provision",
        "--url",
        url,
        "--store",
        str(store),
        "--admin-token",
        "wrong",
        env={"KAMUSM_HOLDER_PASSWORD": "egitim-parola-1"},
    )
    assert again.returncode == 9 and "HTTP 401" in one_line(again)


def test_sandbox_provision_tells_the_security_word_or_takes_the_trainers(
    served: tuple[str, str], tmp_path: Path
) -> None:
    """Şifreli Giriş needs the holder's security word: ``provision`` prints the one it made,
    or takes the trainer's from KAMUSM_SECURITY_WORD (never from the command line) and does
    not print it back; either one logs the holder in on the sandbox over HTTP."""
    url, admin = served
    env = {"KAMUSM_SANDBOX_ADMIN_TOKEN": admin, "KAMUSM_HOLDER_PASSWORD": "egitim-parola-2"}
    made = kamusm(
        "sandbox", "provision", "--url", url, "--store", str(tmp_path / "a"),
        "--tckn", "17291716060", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    told = re.search(r"Şifreli Giriş için Güvenlik Sözcüğü: (\S+)", made.stdout)
    assert told, made.stdout
    given = kamusm(
        "sandbox", "provision", "--url", url, "--store", str(tmp_path / "b"),
        "--tckn", "10000000146", "--lang", "en",
        env={**env, "KAMUSM_SECURITY_WORD": "mavi-kalem-42"},
    )  # fmt: skip
    assert given.returncode == 0, given.stderr
    assert "registered as given" in given.stdout and "mavi-kalem-42" not in given.stdout
    for tckn, word in (("17291716060", told.group(1)), ("10000000146", "mavi-kalem-42")):
        with PortalClient(url) as client:
            for typed in (word + "x", word):  # a wrong word is refused, the right one not
                captcha = client.get_captcha()
                attempt = functools.partial(
                    client.login_sifreli_giris,
                    Tckn(tckn),
                    captcha=captcha,
                    captcha_answer=captcha.text.lower(),
                    security_word=typed,
                )
                if typed != word:
                    with pytest.raises(errors.LoginFailedError):
                        attempt()
                else:
                    assert attempt() is not None  # the SMS step of Şifreli Giriş follows


# ---- the demo -------------------------------------------------------------------------------


DEMO_STEPS_TR = (
    "Yerel portal başlatıldı",
    "SoftHSM2 kartı ve sahibi hazırlandı",
    "e-Devlet ile portala giriş yaptı",
    "Doğrulama kodu alındı (gösterilmiyor)",
    "kart seçildi",
    "Doğrulama kodu portalda kullanıldı",
    "Kart denetlendi",
    "Yeni PIN rastgele seçildi",
    "SMS onay kodu istendi",
    "SMS onay kodu portalın giden kutusundan okundu",
    "Kilit çözme yetkisi alındı",
    "Yeni PIN karta yazıldı",
    "Sonuç portala bildirildi",
    "Yeni PIN kartta doğrulandı",
    "yeni PIN ayarlandı (gösterilmiyor)",
)


def test_demo_runs_the_whole_reset_and_prints_every_step_with_its_time() -> None:
    result = kamusm("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    positions = [out.find(step) for step in DEMO_STEPS_TR]
    assert -1 not in positions and positions == sorted(positions), out
    timed = re.findall(r"^\s+\d+\.\d ms  ", out, flags=re.MULTILINE)
    assert len(timed) == len(DEMO_STEPS_TR) - 1
    # No secret: the PINs, codes and credentials the demo handles are all six digits or more;
    # the only long digit runs the output may hold are in the card serial it names.
    serial = re.search(r"kart ([0-9a-f]{16})", out)
    assert serial is not None
    assert re.findall(r"\d{6,}", out.replace(serial.group(1), "<serial>")) == []


def test_demo_in_english_with_debug_records() -> None:
    result = kamusm("demo", "--lang", "en", "--debug")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo complete: new PIN set (not shown)." in result.stdout
    assert "SMS confirmation code read from the portal's outbox" in result.stdout
    assert "DEBUG kamusm." in result.stderr  # --debug shows the library's debug records


@contextmanager
def serving(*options: str) -> Iterator[str]:
    """``kamusm sandbox serve --port 0 OPTIONS`` running in its own process; its base URL.
    Stopped with Ctrl-C (SIGINT) by its own pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamusm", "sandbox", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/api/v1", first)
        assert url, first
        yield url.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 0


def wrong_redeems(url: str, senders: int) -> list[int]:
    """One wrong verification code from each of ``senders`` clients behind a proxy at
    127.0.0.1 (each named by ``X-Forwarded-For``): the statuses."""
    with httpx.Client(base_url=url, trust_env=False) as http:
        return [
            http.post(
                "/api/v1/operations",
                json={"verification_code": f"{n + 1:015d}", "card_serial": "CARD-1"},
                headers={"X-Forwarded-For": f"10.0.{n}.1"},
            ).status_code
            for n in range(senders)
        ]


def test_sandbox_serve_takes_a_trusted_proxy_and_allowed_hosts_over_http() -> None:
    """``kamusm sandbox serve`` has the options ``python -m kamusm.sandbox serve`` has: a
    named proxy's ``X-Forwarded-For`` names the client (twelve clients, one wrong code each,
    no 429; without it the same twelve are one client, limited after ten), and an allowed
    host name is served while any other is refused with 421."""
    with serving("--trusted-proxy", "127.0.0.1", "--allowed-host", "portal.egitim.test") as url:
        assert set(wrong_redeems(url, 12)) == {401}
        with httpx.Client(base_url=url, trust_env=False) as http:
            assert (
                http.get("/api/v1/health", headers={"Host": "portal.egitim.test"}).status_code
                == 200
            )
            assert http.get("/api/v1/health", headers={"Host": "evil.test"}).status_code == 421
    with serving() as url:
        statuses = wrong_redeems(url, 12)
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
        with httpx.Client(base_url=url, trust_env=False) as http:
            assert (
                http.get("/api/v1/health", headers={"Host": "portal.egitim.test"}).status_code
                == 421
            )


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("--trusted-proxy", "not-an-address", "IP adresi ya da ağı değil"),
        ("--allowed-host", "bad host/name", "bir sunucu adı değil"),
    ],
)
def test_sandbox_serve_refuses_a_bad_proxy_or_host_in_one_turkish_line(
    option: str, value: str, shown: str
) -> None:
    result = kamusm("sandbox", "serve", "--port", "0", option, value)
    assert result.returncode == ExitCode.USAGE
    assert shown in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_sandbox_serve_mistakes_are_one_clear_line_before_any_banner(tmp_path: Path) -> None:
    """A port already in use, a --database in a directory that does not exist, a TLS file
    that is no certificate: one line each (Turkish, or English with --lang en), exit 2, no
    exception name, and nothing announced as listening."""
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = str(busy.getsockname()[1])
    not_pem = tmp_path / "cert.pem"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    cases = [
        (["--port", port], f"{port} numaralı bağlantı noktasını dinleyemiyor", "port " + port),
        (
            ["--port", "0", "--database", str(tmp_path / "yok" / "portal.db")],
            "--database ile verilen dosya açılamıyor",
            "The file given with --database cannot be opened",
        ),
        (
            ["--port", "0", "--ssl-certfile", str(not_pem)],
            "sertifika ya da anahtar yüklenemiyor",
            "The certificate or key given with --ssl-certfile",
        ),
    ]
    try:
        for options, turkish, english in cases:
            for lang, shown in (("tr", turkish), ("en", english)):
                result = kamusm("sandbox", "serve", "--lang", lang, *options)
                assert result.returncode == ExitCode.USAGE, (options, result.stderr)
                assert shown in one_line(result), (options, result.stderr)
                assert "Error" not in result.stderr and "Traceback" not in result.stderr
                assert "127.0.0.1" not in result.stdout  # no banner: it never listened
    finally:
        busy.close()


@pytest.mark.parametrize(
    ("args", "helped"),
    [
        (["reset-pin", "--bogus"], "kamusm reset-pin --help"),
        (["sandbox", "serve", "--port", "abc"], "kamusm sandbox serve --help"),
        (["change-pin", "--lang", "en", "--bogus"], "kamusm change-pin --help"),
        (["--bogus"], "kamusm --help"),
    ],
)
def test_a_usage_error_points_to_the_mistyped_commands_own_help(
    args: list[str], helped: str
) -> None:
    result = kamusm(*args)
    assert result.returncode == ExitCode.USAGE
    assert one_line(result).endswith(f"{helped})"), result.stderr
