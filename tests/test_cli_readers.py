"""The card readers on the command line, on the run's own pcscd with the vpcd virtual reader
and the virtual AKİS card (see test_pcsc.py): ``kamusm readers``, the doctor's reader section
and its ``--json`` report, waiting for a card and a busy card in ``change-pin`` and
``reset-pin``. The commands run as processes and reach the test pcscd through
``PCSCLITE_CSOCK_NAME`` (set for the whole run in conftest)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect  # type: ignore[import-untyped]  # pexpect ships no type information
import pytest

from kamusm import Tckn
from kamusm.testing.certificates import CertificateFactory
from kamusm.testing.pcsc import AKIS_TEST_ATR, VIRTUAL_READER, VirtualCard, VirtualReaderService
from kamusm.testing.softhsm import SoftHsmToken, create_softhsm_token

OPENSC = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "123456"
SO_PIN = "12345678"
TCKN = Tckn("17291716060")
HOLDER = "AYŞE YILMAZ"
TIMEOUT = 120


def empty_store(tmp_path: Path) -> dict[str, str]:
    """A SoftHSM2 configuration of its own with no token in it, for a command's process."""
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    return {"SOFTHSM2_CONF": str(conf)}


def kamusm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, **(env or {}))
    environment.pop("KAMUSM_LANG", None)
    return subprocess.run(
        [sys.executable, "-m", "kamusm", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=TIMEOUT,
    )


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in json.loads(result.stdout)["checks"]}


def test_readers_lists_the_virtual_reader_and_its_akis_card(virtual_card: VirtualCard) -> None:
    result = kamusm("readers", "--json")
    assert result.returncode == 0, result.stderr
    reader = next(r for r in json.loads(result.stdout)["readers"] if r["name"] == VIRTUAL_READER)
    assert reader["card_present"] and reader["atr"] == AKIS_TEST_ATR
    assert reader["akis"] and reader["family"] == "akis_uekae" and reader["known_atr"]
    assert not reader["busy"]
    table = kamusm("readers")
    assert table.returncode == 0
    assert "Okuyucu" in table.stdout and 'AKİS (eski seri, "UEKAE")' in table.stdout


def test_readers_shows_a_card_held_by_another_program_with_the_advice(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard
) -> None:
    with pcsc_service.hold_exclusive() as holder:
        data = json.loads(kamusm("readers", "--json").stdout)["readers"]
        table = kamusm("readers", "--lang", "en")
    reader = next(r for r in data if r["name"] == VIRTUAL_READER)
    assert reader["busy"]
    assert any(f"pid {holder.pid}" in p for p in reader["programs"])
    assert "held by another program" in table.stdout
    assert "Close the document management system (DYS/EBYS)" in table.stdout


def test_doctor_reports_a_busy_card_with_its_fix(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard, softhsm_token: SoftHsmToken
) -> None:
    env = {"SOFTHSM2_CONF": str(softhsm_token.store.conf_path)}
    with pcsc_service.hold_exclusive():
        result = kamusm("doctor", "--json", "--module", softhsm_token.module_path, env=env)
        text_result = kamusm("doctor", "--module", softhsm_token.module_path, env=env)
    assert result.returncode == 13
    found = checks(result)
    busy = found[f"reader:{VIRTUAL_READER}"]
    assert busy["status"] == "fail" and "DYS" in busy["fix"]
    assert found["reader-service"]["status"] == "ok"
    assert "kart başka bir program tarafından tutuluyor" in text_result.stdout
    assert "Çözüm: DYS'yi ve kartı kullanan diğer programları kapatın" in text_result.stdout


def test_doctor_names_the_family_of_an_inserted_card(
    virtual_card: VirtualCard, softhsm_token: SoftHsmToken
) -> None:
    env = {"SOFTHSM2_CONF": str(softhsm_token.store.conf_path)}
    result = kamusm("doctor", "--json", "--module", softhsm_token.module_path, env=env)
    check = checks(result)[f"reader:{VIRTUAL_READER}"]
    assert check["status"] == "ok" and "AKİS (eski seri" in check["message"]


def test_doctor_for_a_card_driver_flags_an_empty_reader_and_the_report_matches_slots_to_readers(
    pcsc_service: VirtualReaderService,
) -> None:
    """OpenSC's module, over the same pcscd, names each reader in its slot description: the
    report matches each slot to its reader. With a card driver as the module, an empty reader
    is a problem with its fix ("Kartınızı takınız")."""
    result = kamusm("doctor", "--json", "--module", OPENSC)
    found = checks(result)
    empty = found[f"reader:{VIRTUAL_READER}"]
    assert empty["status"] == "warn" and empty["fix"] == "Kartınızı takınız."
    slots = json.loads(result.stdout)["report"]["module"]["slots"]
    matched = {s["description"]: s["reader"] for s in slots}
    assert matched[VIRTUAL_READER] == VIRTUAL_READER


def test_the_doctor_report_holds_nothing_secret_or_personal(
    virtual_card: VirtualCard, factory: CertificateFactory
) -> None:
    """Module, slots, flags, mechanisms, readers and ATRs, each certificate's kind and expiry,
    the T.C. Kimlik No masked: and no PIN, no SO PIN, no full T.C. Kimlik No, no name."""
    cert = factory.nes(name=HOLDER, tckn=TCKN)
    card = create_softhsm_token(pin=PIN, so_pin=SO_PIN, certificates=[cert.as_token_object()])
    env = {"SOFTHSM2_CONF": str(card.store.conf_path)}
    result = kamusm(
        "doctor", "--json", "--serial", card.serial, "--module", card.module_path, env=env
    )
    out = result.stdout
    report = json.loads(out)["report"]
    assert report["module"]["path"].endswith("libsofthsm2.so")
    assert report["module"]["architectures"] == [report["module"]["host_architecture"]]
    slot = next(
        s for s in report["module"]["slots"] if (s["token"] or {}).get("serial") == card.serial
    )
    assert "LOGIN_REQUIRED" in slot["token"]["flags"] and slot["mechanisms"]
    ours = next(c for c in report["cards"] if c["serial"] == card.serial)
    [entry] = ours["certificates"]
    assert entry["kind"] and entry["not_after"] == cert.not_after.isoformat()
    assert entry["tckn_masked"] == TCKN.masked
    reader = next(r for r in report["readers"] if r["name"] == VIRTUAL_READER)
    assert reader["atr"] == AKIS_TEST_ATR
    # nothing secret or personal, in any form
    for secret in (PIN, SO_PIN, TCKN.value):
        assert secret not in out
    assert HOLDER not in out and "YILMAZ" not in out
    assert f"{cert.serial_number:x}" not in out.lower()


def test_without_the_extra_doctor_says_what_it_would_add(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['smartcard'] = None\n"  # pyscard not installed, as far as kamusm can tell
        "from kamusm._cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = dict(os.environ, **empty_store(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code, "doctor", "--json", "--module", SOFTHSM],
        capture_output=True, text=True, env=env, check=False, timeout=TIMEOUT,
    )  # fmt: skip
    found = checks(result)
    assert found["readers"]["status"] == "skip"
    assert "kamusm[pcsc]" in found["readers"]["message"] and "AKİS" in found["readers"]["message"]
    assert found["module"]["status"] == "ok"  # the PKCS#11 side is as it was
    readers = subprocess.run(
        [sys.executable, "-c", code, "readers"],
        capture_output=True, text=True, env=env, check=False, timeout=TIMEOUT,
    )  # fmt: skip
    assert readers.returncode == 4 and "pip install 'kamusm[pcsc]'" in readers.stderr


def spawn(args: list[str], env: dict[str, str]) -> Any:
    environment = dict(os.environ, NO_COLOR="1", TERM="xterm", **env)
    environment.pop("KAMUSM_LANG", None)
    return pexpect.spawn(
        sys.executable, ["-m", "kamusm", *args], env=environment, encoding="utf-8", timeout=60
    )


def test_change_pin_waits_for_a_card_showing_the_time_left(tmp_path: Path) -> None:
    child = spawn(
        ["change-pin", "--module", SOFTHSM, "--wait", "3"],
        empty_store(tmp_path),
    )
    child.expect(r"Kartınızı takınız \(kalan süre: (\d) saniye\)")
    first = int(child.match.group(1))
    child.expect(r"Kartınızı takınız \(kalan süre: (\d) saniye\)")
    assert int(child.match.group(1)) < first
    child.expect("Kart takılmadı; bekleme süresi doldu")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5


def test_reset_pin_reports_a_busy_card_instead_of_waiting(
    pcsc_service: VirtualReaderService, virtual_card: VirtualCard, tmp_path: Path
) -> None:
    """No token in the module while a reader's card is held by another program: reset-pin says
    the card is busy and how to free it (close the DYS), names the program, and exits 5."""
    with pcsc_service.hold_exclusive() as holder:
        child = spawn(
            ["reset-pin", "--portal", "http://127.0.0.1:9", "--module", SOFTHSM],
            empty_store(tmp_path),
        )  # fmt: skip
        log = io.StringIO()
        child.logfile_read = log
        child.expect("kamusm: hata: Kart başka bir uygulama tarafından kullanılıyor")
        child.expect(pexpect.EOF)
        child.close()
        transcript = " ".join(log.getvalue().split())
    assert child.exitstatus == 5
    assert "DYS" in transcript and f"pid {holder.pid}" in transcript
    assert "Kartınızı takınız" not in transcript


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory()
