"""``kamusm reset-pin`` and ``kamusm change-pin`` in a real terminal (a pseudo-terminal driven
by pexpect), typed into as a person would, against real parts: the sandbox portal served over
HTTP on 127.0.0.1 by this test process, on a manual clock the test moves while the command
waits at a prompt; SoftHSM2 cards from ``provision_softhsm_card`` in this process's store,
which the command opens through ``SOFTHSM2_CONF``; opencryptoki for the final try.

Every transcript is checked for every secret the test knows: PINs, verification codes, SMS
codes, the SO PIN. Nothing typed is echoed, and nothing secret is printed.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pexpect  # type: ignore[import-untyped]  # pexpect ships no type information
import pytest

from kamusm import (
    ManualClock,
    Pin,
    PinIncorrectError,
    PortalClient,
    Product,
    SmsCode,
    Tckn,
    VerificationCode,
)
from kamusm.sandbox import SandboxSettings
from kamusm.testing.opencryptoki import fresh_opencryptoki_token, opencryptoki_unavailable_reason
from kamusm.testing.sandbox import (
    RunningSandbox,
    TestHolder,
    provision_softhsm_card,
    running_sandbox,
)
from kamusm.testing.softhsm import SoftHsmToken
from tests.cli_parts import pin_verifies

OLD = "123456"
NEW = "48291537"
TIMEOUT = 30


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """The sandbox on a manual clock that starts at the real time: the command's own clock
    (the real one) and the portal agree until the test moves the portal's clock on."""
    with running_sandbox(clock=ManualClock(datetime.now(UTC))) as running:
        yield running


@pytest.fixture
def holder(sandbox: RunningSandbox) -> TestHolder:
    person = TestHolder.default()
    person.register(sandbox.portal)
    return person


@pytest.fixture
def card(sandbox: RunningSandbox, holder: TestHolder) -> SoftHsmToken:
    return provision_softhsm_card(sandbox.portal, holder=holder, pin=OLD)


#: Run a program as root without any capability: then only a process's own dumpable flag
#: decides whether another such process may read its memory and /proc files.
NO_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"]


class Session:
    """A command in a pseudo-terminal, with everything it wrote kept for the secret check."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        shell_pipe: bool = False,
        prefix: list[str] | None = None,
        python: tuple[str, ...] = ("-m", "kamusm"),
    ) -> None:
        self.log = io.StringIO()
        if prefix or python != ("-m", "kamusm"):  # exec'd by the prefix: the same pid
            run = [*(prefix or []), sys.executable, *python, *args]
            self.child = pexpect.spawn(
                run[0],
                run[1:],
                env=env,
                encoding="utf-8",
                timeout=TIMEOUT,
                dimensions=(50, 250),
            )
        elif shell_pipe:  # stdout into a pipe, stdin still the terminal
            command = shlex.join([sys.executable, "-m", "kamusm", *args]) + " | cat"
            self.child = pexpect.spawn(
                "/bin/sh", ["-c", command], env=env, encoding="utf-8", timeout=TIMEOUT
            )
        else:
            self.child = pexpect.spawn(
                sys.executable,
                ["-m", "kamusm", *args],
                env=env,
                encoding="utf-8",
                timeout=TIMEOUT,
                dimensions=(50, 250),
            )
        self.child.logfile_read = self.log

    def expect(self, pattern: str) -> re.Match[str]:
        self.child.expect(pattern)
        match = self.child.match
        assert isinstance(match, re.Match)
        return match

    def type(self, line: str) -> None:
        self.child.sendline(line)

    def pick(self, serial: str) -> str:
        """Read the card list up to the question, type the number of the card ``serial`` (the
        store holds the cards of earlier tests too, all of the same holder) and return how the
        list showed it."""
        # With stdout into a pipe the list travels through another process (``cat``) while the
        # question goes to the terminal directly: either may arrive first. Wait for the card's
        # own line, then make sure the question was shown too.
        match = self.expect(rf"(\d+)\) ([^\r\n]*{re.escape(serial)}[^\r\n]*)")
        number, shown = match.group(1), match.group(2)
        if not re.search("Kart numarası: |Card number: ", self.transcript):
            self.expect("Kart numarası: |Card number: ")
        self.type(number)
        return shown

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        status = self.child.exitstatus
        assert isinstance(status, int)
        return status

    @property
    def transcript(self) -> str:
        return self.log.getvalue()


def env_for(card: SoftHsmToken | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1", TERM="xterm", **extra)
    env.pop("KAMUSM_LANG", None)
    if card is not None:
        env["SOFTHSM2_CONF"] = str(card.store.conf_path)
    return env


def new_code(sandbox: RunningSandbox, holder: TestHolder) -> VerificationCode:
    """The holder logs in and presses "PIN Oluşturma/Kilit Çözme" (or "Tekrar Kod Al")."""
    with PortalClient(sandbox.url, clock=sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        return client.start_pin_reset(Product.NES)


def assert_no_secret(transcript: str, *secrets: str | Pin | VerificationCode | SmsCode) -> None:
    for secret in secrets:
        value = secret if isinstance(secret, str) else secret.reveal()
        assert value not in transcript, "a secret reached the terminal"


def reset_args(sandbox: RunningSandbox, card: SoftHsmToken, *more: str) -> list[str]:
    return ["reset-pin", "--portal", sandbox.url, "--module", card.module_path, *more]


def test_guided_reset_in_turkish_with_a_wrong_sms_code_first(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The seeds' flow: code, card picked by holder name, new PIN twice with a live countdown,
    a wrong SMS code (told, asked again), the right one; the card then takes the new PIN."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu \\(15 hane\\): ")
    term.type(code.reveal())
    term.expect("Kart Seçiniz:")
    listed = term.pick(card.serial)
    assert "IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK" in listed and "100******46" in listed
    assert "[PIN: tamam]" in listed
    first = int(term.expect(r"Yeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
    # The countdown is live: the prompt is redrawn with less time while nobody types.
    later = int(term.expect(r"Yeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
    assert 0 < later < first <= 300
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\) \[Kalan süre: \d+ saniye\]: ")
    term.type(NEW)
    term.expect(r"SMS onay kodu gönderildi")
    term.expect(r"SMS Onay Kodu \[Kalan süre: \d+ saniye\]: ")
    real_sms = sandbox.last_sms_code(holder.phone)
    wrong = f"{(int(real_sms.reveal()) + 1) % 10**6:06d}"
    term.type(wrong)
    term.expect("SMS onay kodu hatalı. Kalan deneme hakkı: 2.")
    term.expect(r"SMS Onay Kodu \[Kalan süre: \d+ saniye\]: ")
    term.type(real_sms.reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0
    assert pin_verifies(card, NEW)
    assert_no_secret(term.transcript, code, NEW, OLD, real_sms, wrong, card.so_pin)


def test_an_expired_code_asks_for_a_new_one_and_the_reset_goes_on(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The portal's clock passes the code's 300 s while the person is at the card picker: the
    command says the code expired and asks for a new one ("Tekrar Kod Al"), then finishes."""
    first = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu \\(15 hane\\): ")
    term.type(first.reveal())
    term.expect("Kart Seçiniz:")
    sandbox.advance(301)
    term.pick(card.serial)
    term.expect("Doğrulama kodunun süresi doldu")
    term.expect("Yeni Doğrulama Kodu \\(15 hane")
    second = new_code(sandbox, holder)
    term.type(second.reveal())
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[")
    sms = sandbox.last_sms_code(holder.phone)
    term.type(sms.reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0
    assert pin_verifies(card, NEW)
    assert_no_secret(term.transcript, first, second, sms, NEW, OLD, card.so_pin)


def test_english_with_stdout_into_a_pipe(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """``--lang en`` and stdout not a terminal: the questions still reach the person, the time
    left is written once per question, and the reset completes."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card, "--lang", "en"), env=env_for(card), shell_pipe=True)
    term.expect("Verification code \\(15 digits\\): ")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"New PIN \[Time left: \d+ s\]: ")
    term.type(NEW)
    term.expect(r"New PIN \(again\) \[Time left: \d+ s\]: ")
    term.type(NEW)
    term.expect(r"SMS confirmation code \[Time left: \d+ s\]: ")
    sms = sandbox.last_sms_code(holder.phone)
    term.type(sms.reveal())
    term.expect("Your card's PIN has been changed.")
    assert term.finish() == 0
    assert pin_verifies(card, NEW)
    assert "\x1b[2K" not in term.transcript  # no redrawing into a pipe
    assert_no_secret(term.transcript, code, sms, NEW, OLD, card.so_pin)


def test_a_policy_breaking_pin_is_explained_and_asked_again(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """A sequential PIN and a mismatched confirmation are both refused with the reasons; the
    next good PIN goes through."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[")
    term.type("123456")
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type("123457")
    term.expect("Yeni PIN kabul edilmedi")
    term.expect("ardışık")
    term.expect(r"Yeni PIN Kodu \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[")
    term.type(sandbox.last_sms_code(holder.phone).reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0


def test_ctrl_d_at_the_first_question_cancels_and_changes_nothing(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.child.sendeof()
    term.expect("İşlem iptal edildi. Kartınızda bir değişiklik yapılmadı.")
    assert term.finish() == 10
    assert pin_verifies(card, OLD)


@pytest.mark.parametrize(
    ("product", "route"),
    [("nes", "NES İşlemleri"), ("mali-muhur", "Mali Mühür PIN Oluşturma/Değiştirme")],
)
def test_the_reset_introduction_names_the_products_own_route(
    sandbox: RunningSandbox, card: SoftHsmToken, product: str, route: str
) -> None:
    """The introduction sends the holder to the route of the product being reset (seed 003):
    a Mali Mühür reset never names the NES menu, and the other way round."""
    term = Session(reset_args(sandbox, card, "--product", product), env=env_for(card))
    term.expect("Doğrulama Kodu")
    shown = str(term.child.before)
    assert route in shown
    other = "NES İşlemleri" if product == "mali-muhur" else "Mali Mühür PIN"
    assert other not in shown
    term.child.sendeof()
    assert term.finish() == 10
    assert pin_verifies(card, OLD)


def test_ctrl_c_at_the_sms_question_cancels_and_tells_the_portal(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """Ctrl-C at a question cancels: the card keeps its PIN, the portal hears that the
    redeemed operation ended without a new PIN, and the command ends with 130, the code the
    exit-code table gives Ctrl-C."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[")
    term.child.sendintr()
    term.expect("İşlem iptal edildi. Kartınızda bir değişiklik yapılmadı.")
    assert term.finish() == 130
    events = [e["event"] for e in sandbox.portal.audit_log() if e["card_serial"] == card.serial]
    assert events[-1] == "operation.failed"
    assert pin_verifies(card, OLD)


def readable_by_a_peer(pid: int) -> bool:
    """Whether a process of the same user, without privileges, may read ``pid``'s memory map
    (what a debugger or a core dump tool needs)."""
    peek = subprocess.run(
        [*NO_CAPABILITIES, "head", "-c", "1", f"/proc/{pid}/maps"],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    assert peek.returncode == 0 or "Permission denied" in peek.stderr, peek.stderr
    return peek.returncode == 0


def core_size_limit(pid: int) -> str:
    limits = Path(f"/proc/{pid}/limits").read_text()
    return next(line for line in limits.splitlines() if line.startswith("Max core file size"))


def test_change_pin_and_reset_pin_are_not_dumpable_while_they_ask(
    sandbox: RunningSandbox, card: SoftHsmToken
) -> None:
    """At the first question (before any secret is typed) the process is non-dumpable and its
    core size limit is zero: no core dump holds a PIN, and no peer process reads its memory.
    A process of the same kind that did not ask for this stays readable (the check can
    fail)."""
    peer = subprocess.Popen(
        [*NO_CAPABILITIES, sys.executable, "-c", "print('ready', flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout is not None and peer.stdout.readline() == "ready\n"
        assert readable_by_a_peer(peer.pid)
    finally:
        assert peer.stdin is not None
        peer.stdin.close()
        peer.wait(timeout=TIMEOUT)
    for args, question in (
        (
            ["change-pin", "--module", card.module_path, "--serial", card.serial],
            "Mevcut PIN Kodu: ",
        ),
        (reset_args(sandbox, card), "Doğrulama Kodu \\(15 hane\\): "),
    ):
        term = Session(args, env=env_for(card), prefix=NO_CAPABILITIES)
        term.expect(question)
        pid = term.child.pid
        assert pid is not None
        assert not readable_by_a_peer(pid), args[0]
        assert core_size_limit(pid).split()[4:6] == ["0", "0"], core_size_limit(pid)
        term.child.sendeof()
        assert term.finish() == 10


def test_change_pin_with_several_cards_shows_the_card_picker(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """Two cards (or more: the store keeps earlier tests' cards) and no --serial: "Kart
    Seçiniz" by holder, then the change on the card chosen, and only on it."""
    other = provision_softhsm_card(sandbox.portal, holder=holder, pin=OLD)
    term = Session(["change-pin", "--module", card.module_path], env=env_for(card))
    term.expect("Kart Seçiniz:")
    listed = term.pick(card.serial)
    assert "IŞIL ÇAĞRI ÖZGÜR ŞİMŞEK" in listed and "[PIN: tamam]" in listed
    term.expect("Mevcut PIN Kodu: ")
    term.type(OLD)
    term.expect("Yeni PIN Kodu: ")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\): ")
    term.type(NEW)
    term.expect("PIN değiştirildi")
    assert term.finish() == 0
    assert pin_verifies(card, NEW) and pin_verifies(other, OLD)
    assert_no_secret(term.transcript, OLD, NEW, card.so_pin)


def test_holder_chooses_the_card_by_name_in_change_pin_and_reset_pin(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """Cards of two holders in the store: --holder with part of a name, in another case,
    picks that holder's one card without a picker, in change-pin and in reset-pin."""
    stranger = TestHolder.make(Tckn("17291716060"), name="NİLAY IŞIKÇI")
    stranger.register(sandbox.portal)
    theirs = provision_softhsm_card(sandbox.portal, holder=stranger, pin=OLD)
    args = ["change-pin", "--module", card.module_path, "--holder", "ışıkçı"]
    term = Session(args, env=env_for(card))
    term.expect(f"seri no {theirs.serial}")
    term.expect("Mevcut PIN Kodu: ")
    term.child.sendeof()
    assert term.finish() == 10
    assert "Kart Seçiniz" not in term.transcript
    code = new_code(sandbox, stranger)
    term = Session(reset_args(sandbox, card, "--holder", "nilay"), env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.expect("Kart: NİLAY IŞIKÇI")
    term.expect(r"Yeni PIN Kodu \[Kalan süre: \d+ saniye\]: ")  # the question itself
    term.child.sendeof()
    assert term.finish() == 10
    assert "Kart Seçiniz" not in term.transcript
    assert pin_verifies(theirs, OLD)


def test_change_pin_with_no_card_of_that_holder_says_so_and_offers_every_card(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """--holder naming nobody on the inserted cards: the command says no card's holder has
    that name (not that no card is inserted) and offers the cards in the picker, as
    reset-pin does; Ctrl-D there cancels, the card unchanged."""
    args = ["change-pin", "--module", card.module_path, "--holder", "zzzyok"]
    term = Session(args, env=env_for(card))
    term.expect('adı "zzzyok" içeren bir kart sahibi yok; kartı listeden seçin')
    term.expect("Kart Seçiniz")
    term.expect(f"{card.serial}  \\[PIN: tamam\\]")  # the inserted card is offered
    term.expect("Kart numarası: ")
    term.child.sendeof()
    assert term.finish() == 10
    assert "Kart bulunamadı" not in term.transcript
    assert pin_verifies(card, OLD)


def test_reset_pin_asks_again_when_the_card_is_not_the_code_holders(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The holder picks someone else's card: the portal refuses the code for it without
    spending it, the command says so and shows the picker again (the code is not asked
    again), and the reset goes on with the holder's own card."""
    stranger = TestHolder.make(Tckn("17291716060"), name="AYŞE YILMAZ")
    stranger.register(sandbox.portal)
    theirs = provision_softhsm_card(sandbox.portal, holder=stranger, pin=OLD)
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu \\(15 hane\\): ")
    term.type(code.reveal())
    assert "AYŞE YILMAZ" in term.pick(theirs.serial)
    term.expect("Bu kart doğrulama kodunu alan kişiye ait değil.")
    term.expect("Kart Seçiniz:")
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[")
    sms = sandbox.last_sms_code(holder.phone)
    term.type(sms.reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0
    assert term.transcript.count("Doğrulama Kodu (15 hane)") == 1
    assert pin_verifies(card, NEW) and pin_verifies(theirs, OLD)
    assert_no_secret(term.transcript, code, sms, NEW, OLD, card.so_pin, theirs.so_pin)


def test_when_the_pin_entry_time_runs_out_the_command_stops_asking_and_says_so(
    holder: TestHolder,
) -> None:
    """A portal that allows 12 s for the PIN: the countdown runs to zero while nobody types,
    the question ends by itself with the reason, exit 11; the card keeps its PIN and the
    portal hears that the operation ended without one."""
    settings = SandboxSettings(pin_entry_limit=timedelta(seconds=12))
    with running_sandbox(clock=ManualClock(datetime.now(UTC)), settings=settings) as quick:
        holder.register(quick.portal)
        card = provision_softhsm_card(quick.portal, holder=holder, pin=OLD)
        code = new_code(quick, holder)
        term = Session(reset_args(quick, card), env=env_for(card))
        term.expect("Doğrulama Kodu")
        term.type(code.reveal())
        term.pick(card.serial)
        left = int(term.expect(r"Yeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
        assert left <= 12
        term.expect("PIN girişi için verilen süre doldu.")
        assert term.finish() == 11
        events = [e["event"] for e in quick.portal.audit_log() if e["card_serial"] == card.serial]
        assert events[-1] == "operation.failed"
    assert "Yeni PIN Kodu (Tekrar)" not in term.transcript  # nothing more was asked
    assert pin_verifies(card, OLD)


def insert(card: SoftHsmToken, store: Path) -> None:
    """Put ``card`` into another SoftHSM2 store, as a card goes into a reader: its token
    directory is copied there (SoftHSM2 keeps one directory per token)."""
    for child in card.store.directory.joinpath("tokens").iterdir():
        token_file = child / "token.object"
        if token_file.exists() and card.serial.encode() in token_file.read_bytes():
            shutil.copytree(child, store / "tokens" / child.name)
            return
    raise AssertionError("the card's token directory was not found")


def test_change_pin_waits_for_the_card_and_goes_on_once_it_is_inserted(
    card: SoftHsmToken, tmp_path: Path
) -> None:
    """No card in the command's store: it asks for the card with the time left; the card is
    inserted meanwhile; the command sees it (the module is scanned afresh) and asks for the
    PIN of that card."""
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = dict(env_for(), SOFTHSM2_CONF=str(conf))
    term = Session(["change-pin", "--module", card.module_path, "--wait", "120"], env=env)
    term.expect(r"Kartınızı takınız \(kalan süre: \d+ saniye\)")
    insert(card, tmp_path)
    term.expect(f"seri no {card.serial}")
    term.expect("Mevcut PIN Kodu: ")
    term.child.sendeof()
    assert term.finish() == 10


#: ``python -m kamusm`` as it runs where termios does not exist (Windows): the module is made
#: unimportable before kamusm loads. Only termios is faked; the terminal is real.
WITHOUT_TERMIOS = (
    "import sys; sys.modules['termios'] = None; "
    "from kamusm._cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_without_termios_every_timed_question_still_shows_the_time_left(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The fallback where termios is missing: each question with a time limit is written
    once with the time left at that moment (no redrawing), and Ctrl-C still ends as the
    table says."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card), python=("-c", WITHOUT_TERMIOS))
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    left = int(term.expect(r"Yeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
    assert 0 < left <= 300
    term.child.sendintr()
    term.expect("İşlem iptal edildi.")
    assert term.finish() == 130
    assert "\x1b[2K" not in term.transcript  # written once, never redrawn
    assert pin_verifies(card, OLD)


#: ``python -m kamusm`` as on Windows: no termios, and an ``msvcrt`` with its two console calls
#: (``kbhit``, ``getwch``). Windows' console cannot run here, so these two stand in for it,
#: reading the keys the test types into the real terminal; everything else is real.
AS_ON_WINDOWS = """
import os, select, sys, types
sys.modules["termios"] = None
pending = []
def kbhit():
    if not pending and select.select([0], [], [], 0)[0]:
        pending.extend(os.read(0, 1024).decode())
    return bool(pending)
def getwch():
    while not kbhit():
        select.select([0], [], [], None)
    return pending.pop(0)
console = types.ModuleType("msvcrt")
console.kbhit, console.getwch = kbhit, getwch
sys.modules["msvcrt"] = console
from kamusm._cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_termios_the_console_countdown_is_live_and_the_reset_completes(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """On a console without termios (Windows' msvcrt standing in): the PIN question is
    rewritten in place with less time left while nobody types, without escape sequences,
    and the whole reset goes through with nothing echoed."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card), python=("-c", AS_ON_WINDOWS))
    term.child.setecho(False)  # the console shows no key (msvcrt.getwch does not echo)
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    first = int(term.expect(r"Yeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
    later = int(term.expect(r"\rYeni PIN Kodu \[Kalan süre: (\d+) saniye\]: ").group(1))
    assert 0 < later < first <= 300
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\) \[Kalan süre: \d+ saniye\]: ")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[Kalan süre: \d+ saniye\]: ")
    sms = sandbox.last_sms_code(holder.phone)
    term.type(sms.reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0
    assert pin_verifies(card, NEW)
    assert "\x1b[2K" not in term.transcript
    assert_no_secret(term.transcript, code, sms, NEW, OLD, card.so_pin)


def test_a_plain_http_portal_off_loopback_is_refused_before_anything_is_asked(
    card: SoftHsmToken, tmp_path: Path
) -> None:
    """TLS is not optional: http:// only for the local portal; a CA file must be one."""
    term = Session(
        ["reset-pin", "--portal", "http://portal.example", "--module", card.module_path],
        env=env_for(card),
    )
    term.expect("kamusm: hata: Portal adresi geçersiz")
    assert term.finish() == 2
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    args = ["reset-pin", "--lang", "en", "--portal", "https://portal.example"]
    term = Session([*args, "--ca-bundle", str(not_pem)], env=env_for(card))
    term.expect("kamusm: error: The CA file could not be read")
    assert term.finish() == 2


def test_an_unreachable_portal_ends_with_one_line_and_exit_8(card: SoftHsmToken) -> None:
    """Nothing listens at the portal address: after the code and the card, one line, exit 8."""
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code = "123456789012345"
    term = Session(["reset-pin", "--portal", url, "--module", card.module_path], env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.type(code)
    term.pick(card.serial)
    term.expect("kamusm: hata: Kamu SM portalına bağlanılamadı.")
    assert term.finish() == 8
    assert "Traceback" not in term.transcript
    assert_no_secret(term.transcript, code, OLD)


@pytest.mark.opencryptoki
@pytest.mark.skipif(
    opencryptoki_unavailable_reason() is not None,
    reason=f"opencryptoki token unavailable: {opencryptoki_unavailable_reason()}",
)
def test_change_pin_on_the_final_try_needs_the_word_evet() -> None:
    """On opencryptoki after two wrong PINs: anything but the word stops without spending the
    try; typing "evet" goes on, and the right old PIN changes the PIN and clears the count."""
    token = fresh_opencryptoki_token(pin=OLD)
    kamusm_token = token.token()
    for _ in range(2):
        with pytest.raises(PinIncorrectError):
            kamusm_token.verify_pin(Pin("000000"), acknowledge_final_try=True)
    assert kamusm_token.pin_status().final_try
    args = ["change-pin", "--module", token.module_path, "--label", token.label]

    refused = Session(args, env=env_for())
    refused.expect("son deneme hakkınız")
    refused.expect("Devam etmek için EVET yazın")
    refused.type("tamam")
    refused.expect("İşlem iptal edildi")
    assert refused.finish() == 10
    assert kamusm_token.pin_status().final_try  # no try was spent

    agreed = Session(args, env=env_for())
    agreed.expect("Devam etmek için EVET yazın")
    agreed.type("evet")
    agreed.expect("Mevcut PIN Kodu: ")
    agreed.type(OLD)
    agreed.expect("Yeni PIN Kodu: ")
    agreed.type("7392")  # opencryptoki takes 4 to 8: refused by the policy (6 at least)
    agreed.expect(r"Yeni PIN Kodu \(Tekrar\): ")
    agreed.type("7392")
    agreed.expect("en az 6 haneli")
    agreed.expect("Mevcut PIN Kodu: ")
    agreed.type(OLD)
    agreed.expect("Yeni PIN Kodu: ")
    agreed.type("739264")
    agreed.expect(r"Yeni PIN Kodu \(Tekrar\): ")
    agreed.type("739264")
    agreed.expect("PIN değiştirildi")
    assert agreed.finish() == 0
    status = kamusm_token.pin_status()
    assert not status.final_try and not status.count_low
    kamusm_token.verify_pin(Pin("739264"))
    assert_no_secret(refused.transcript + agreed.transcript, OLD, "739264", "7392", token.so_pin)


def age_over_http(sandbox: RunningSandbox, seconds: float) -> None:
    """Move the sandbox's clock through its admin API (``POST /api/v1/admin/clock``), over
    HTTP, as a trainer does."""
    answer = httpx.post(
        f"{sandbox.url}/api/v1/admin/clock",
        json={"advance_seconds": seconds},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        trust_env=False,
    )
    assert answer.status_code == 200, answer.text


def test_an_expired_sms_code_is_offered_again_and_the_reset_goes_on(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The portal's clock, moved through its admin API, passes the SMS code's 180 s (not the
    verification code's 300 s) while the person is at the SMS question: the command says the
    SMS code expired, how many new ones are left, and asks "Yeni SMS onay kodu gönderilsin
    mi? (e/h)"; an answer that is neither is asked again, "E" sends a new SMS, and its code
    finishes the reset."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card), env=env_for(card))
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)")
    term.type(NEW)
    term.expect(r"SMS Onay Kodu \[Kalan süre: \d+ saniye\]: ")
    first = sandbox.last_sms_code(holder.phone)
    age_over_http(sandbox, sandbox.portal.settings.sms_validity.total_seconds() + 1)
    term.type(first.reveal())
    term.expect("SMS onay kodunun süresi doldu")
    term.expect("Bu işlemde, şimdi önerilen dahil, en çok 2 yeni SMS onay kodu istenebilir.")
    term.expect(r"Yeni SMS onay kodu gönderilsin mi\? \(e/h\) \[Kalan süre: \d+ saniye\]: ")
    term.type("belki")
    term.expect("Evet için e, hayır için h yazın.")
    term.expect(r"Yeni SMS onay kodu gönderilsin mi\? \(e/h\)")
    term.type("E")
    term.expect(r"SMS onay kodu gönderildi")
    term.expect(r"SMS Onay Kodu \[Kalan süre: \d+ saniye\]: ")
    second = sandbox.last_sms_code(holder.phone)
    term.type(second.reveal())
    term.expect("Kartınızın PIN'i değiştirildi.")
    assert term.finish() == 0
    assert pin_verifies(card, NEW)
    challenged = [
        e for e in sandbox.portal.audit_log()
        if e["card_serial"] == card.serial and e["event"] == "operation.challenged"
    ]  # fmt: skip
    assert len(challenged) == 2
    assert_no_secret(term.transcript, code, first, second, NEW, OLD, card.so_pin)


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_a_timed_out_web_password_is_told_as_a_web_password_not_an_sms(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken, lang: str
) -> None:
    """``--method web-password``: the portal's time for the web password ("WEB Parola")
    runs out. The command says the web password's time ran out, how many more times it can
    be asked for, offers to ask again, and a no ends with the web password's own text; no
    word of an SMS anywhere, exit 10, the card unchanged."""
    tr = lang == "tr"
    code = new_code(sandbox, holder)
    term = Session(
        reset_args(sandbox, card, "--method", "web-password", "--lang", lang), env=env_for(card)
    )
    term.expect("Doğrulama Kodu" if tr else "Verification code")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"Yeni PIN Kodu \[" if tr else r"New PIN \[")
    term.type(NEW)
    term.expect(r"Yeni PIN Kodu \(Tekrar\)" if tr else r"New PIN \(again\)")
    term.type(NEW)
    term.expect(r"WEB Parola \[Kalan süre: " if tr else r"Web password \[Time left: ")
    age_over_http(sandbox, sandbox.portal.settings.sms_validity.total_seconds() + 1)
    term.type(holder.password)
    if tr:
        term.expect("WEB Parola için verilen süre doldu.")
        term.expect("Bu işlemde WEB Parola, şimdi önerilen dahil, en çok 2 kez daha sorulabilir.")
        term.expect(r"WEB Parola yeniden sorulsun mu\? \(e/h\)")
        term.type("h")
        term.expect("WEB Parola yeniden sorulmadı; işlem sonlandırıldı.")
    else:
        term.expect("The time for entering the web password ran out.")
        term.expect("This operation can ask for the web password 2 more times, counting the one")
        term.expect(r"Ask for the web password again\? \(y/n\)")
        term.type("n")
        term.expect("The web password was not to be asked for again, so the operation has ended.")
    assert term.finish() == 10
    after_question = term.transcript.split("WEB Parola [" if tr else "Web password [", 1)[1]
    assert "SMS" not in after_question, after_question
    assert pin_verifies(card, OLD)
    assert_no_secret(term.transcript, code, NEW, OLD, card.so_pin, holder.password)


def test_declining_the_new_sms_in_english_ends_cleanly_with_the_card_unchanged(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """``--lang en``: "Send a new SMS confirmation code? (y/n)", "n" ends the reset with its
    own message and exit 10 (cancelled); no second SMS, the card keeps its PIN, the portal is
    told the operation ended without one."""
    code = new_code(sandbox, holder)
    term = Session(reset_args(sandbox, card, "--lang", "en"), env=env_for(card))
    term.expect("Verification code")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect(r"New PIN \[")
    term.type(NEW)
    term.expect(r"New PIN \(again\)")
    term.type(NEW)
    term.expect(r"SMS confirmation code \[Time left: \d+ s\]: ")
    first = sandbox.last_sms_code(holder.phone)
    sandbox.advance(sandbox.portal.settings.sms_validity.total_seconds() + 1)
    term.type(first.reveal())
    term.expect("The SMS confirmation code has expired")
    term.expect(r"Send a new SMS confirmation code\? \(y/n\) \[Time left: \d+ s\]: ")
    term.type("n")
    term.expect("No new SMS confirmation code was wanted, so the operation has ended.")
    assert term.finish() == 10
    assert pin_verifies(card, OLD)
    seen = [e["event"] for e in sandbox.portal.audit_log() if e["card_serial"] == card.serial]
    assert seen.count("operation.challenged") == 1
    assert seen[-1] == "operation.failed"
    assert_no_secret(term.transcript, code, first, NEW, OLD, card.so_pin)


def test_a_notice_is_not_printed_as_a_failure(
    sandbox: RunningSandbox, holder: TestHolder, card: SoftHsmToken
) -> None:
    """The card's certificate is suspended: the reset goes on, so the command tells it as a
    notice ("!", not red) and not as a failure ("✗", bold red); colours on, as a holder's
    terminal has them."""
    with PortalClient(sandbox.url, clock=sandbox.clock) as client:
        client.login_edevlet(holder.tckn, holder.password)
        for cert in client.list_certificates():
            if cert.card_serial == card.serial:
                client.suspend_certificate(cert.serial_number)
    code = new_code(sandbox, holder)
    env = env_for(card)
    env.pop("NO_COLOR")
    term = Session(reset_args(sandbox, card), env=env)
    term.expect("Doğrulama Kodu")
    term.type(code.reveal())
    term.pick(card.serial)
    term.expect("askıda")
    term.expect(r"Yeni PIN Kodu \[")
    term.child.sendeof()
    assert term.finish() == 10
    plain = re.sub(r"\x1b\[[0-9;]*m", "", term.transcript)
    assert re.search(r"! Kartınızdaki NES .* sertifikası askıda", plain), plain
    assert "✗ Kartınızdaki" not in plain
    (line,) = [ln for ln in term.transcript.splitlines() if "askıda" in ln]
    assert "\x1b[1;31m" not in line and "\x1b[31m" not in line, repr(line)  # not red
    assert pin_verifies(card, OLD)
