"""Turkish means Turkish on the command line: click's own words ("Usage:", "No such option",
"[required]", "TEXT") are Turkish in Turkish mode, in every command's help and in the usage
errors, and stay click's English in English mode.

The commands run in this process through :func:`kamusm._cli._app.run`, the function the
``kamusm`` command calls (``test_cli.py`` runs the same as processes).
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("click", reason="the cli extra is not installed")

import click

from kamusm._cli import _app
from kamusm._cli._click_texts import (
    CLICK_MODULES,
    METAVARS_TR,
    PLURALS_TR,
    TEXTS_TR,
)
from kamusm._cli._texts import TEXTS
from kamusm.messages import MESSAGES
from kamusm.sandbox._server import BANNER

#: Words the English texts share with the Turkish ones without being the same text's: names
#: of products, standards and programs, and words Turkish has too ("test", "portal", "var").
SHARED = frozenset(
    {
        "pin", "puk", "sms", "nes", "json", "pkcs", "softhsm", "opencryptoki", "kamu", "sm",
        "kimlik", "no", "ca", "tls", "http", "https", "so", "pcscd", "pkcsslotd", "uuid",
        "kamusm", "apt", "get", "pip", "install", "ms", "ctrl", "test", "portal", "port", "var",
        "sqlite", "pem", "demo", "yyyy", "enter", "program",
    }
)  # fmt: skip


def words(text: str) -> set[str]:
    """The ASCII words of ``text`` (lower case), without its ``{fields}``."""
    found = re.findall(r"[^\W\d_]+", re.sub(r"{.*?}", " ", text))
    return {w.lower() for w in found if w.isascii() and len(w) > 1}


def english_words() -> frozenset[str]:
    """Every word of every English text the command can show that its Turkish text does not
    have too (Turkish names quoted in English, "Kilit Çözme", are the same in both)."""
    pairs = [*TEXTS_TR.items(), *METAVARS_TR.items()]
    pairs += [(" ".join(en), " ".join(tr)) for en, tr in PLURALS_TR.items()]
    pairs += [(t["en"], t["tr"]) for table in (TEXTS, MESSAGES, BANNER) for t in table.values()]
    english: set[str] = set()
    for en, tr in pairs:
        english |= words(en) - words(tr)
    return frozenset(english - SHARED)


def english_in(shown: str) -> set[str]:
    """The English words in ``shown``, once what a person types is taken out: option names,
    environment variables, command names and choices, paths."""
    # Shell commands to type ("sudo systemctl start pcscd", "sc start SCardSvr") are typed too.
    shown = re.sub(r"\b(?:sudo [^(.;]*|sc start \w+)", " ", shown)
    kept = re.sub(r"--?[\w-]+|KAMUSM_\w+|\S*/\S*", " ", shown)
    typed = {w for word in _app._command_words() for w in words(word.replace("-", " "))}
    return (words(kept) - typed) & english_words()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = _app.run(args)
    out, err = capsys.readouterr()
    return code, out + err


def every_command() -> list[list[str]]:
    found: list[list[str]] = [[]]

    def walk(group: click.Group, path: list[str]) -> None:
        for name, command in group.commands.items():
            found.append([*path, name])
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    walk(_app.cli, [])
    return found


#: Usage mistakes, each one kind of click error.
MISTAKES = (
    ["tokens", "--colour"],  # no such option
    ["change-pin", "--pin", "1"],  # no such option, did you mean
    ["tokns"],  # no such command, did you mean
    ["--lang", "de", "tokens"],  # not one of the choices
    ["sandbox", "serve", "--port", "abc"],  # not a number
    ["reset-pin", "--ca-bundle", "/no/such/file.pem"],  # no such file
    ["reset-pin", "--ca-bundle", "/"],  # a directory
    ["tokens", "extra"],  # an extra argument
    ["tokens", "--module"],  # an option without its value
    ["tokens", "--json=yes"],  # a flag given a value
    ["sandbox", "provision", "--admin-token", "x"],  # a required option missing
)


@pytest.fixture(autouse=True)
def _no_language_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAMUSM_LANG", raising=False)


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "kamusm")
def test_every_help_is_turkish(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = run([*command, "--help"], capsys)
    assert code == 0
    assert shown.startswith(f"Kullanım: {' '.join(['kamusm', *command])} [SEÇENEKLER]")
    assert "Seçenekler:" in shown and "Bu yardımı gösterir." in shown
    assert english_in(shown) == set(), shown


def test_the_help_shows_required_and_defaults_in_turkish(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, shown = run(["sandbox", "provision", "--help"], capsys)
    assert "[zorunlu]" in shown and "[varsayılan: 10000000146]" in shown
    assert "--url ADRES" in shown and "--birth-date YYYY-AA-GG" in shown
    _, main = run(["--help"], capsys)
    assert "KOMUT [DEĞERLER]..." in main and "Komutlar:" in main


@pytest.mark.parametrize("mistake", MISTAKES, ids=" ".join)
def test_every_usage_error_is_turkish(
    mistake: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown = run(mistake, capsys)
    assert code == 2
    assert shown.startswith("kamusm: kullanım hatası: ") and shown.count("\n") == 1
    assert english_in(shown) == set(), shown


@pytest.mark.parametrize("mistake", MISTAKES, ids=" ".join)
def test_english_mode_keeps_clicks_words(
    mistake: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same mistakes in English: with ``--lang en`` before the mistake, after it (where the
    mistake leaves the rest of the line readable) or from ``KAMUSM_LANG``."""
    tries = [["--lang", "en", *mistake], [*mistake, "--lang", "en"]]
    if mistake[0] == "--lang" or mistake[-1] in ("--module", "--json=yes"):
        monkeypatch.setenv("KAMUSM_LANG", "en")  # the mistake is --lang itself, or stops the
        tries = [mistake]  # reading of the line (--module would take "--lang" as its value)
    for args in tries:
        code, shown = run(args, capsys)
        assert code == 2 and shown.startswith("kamusm: usage error: "), args
        assert not re.search("[çğıöşüÇĞİÖŞÜ]", shown), shown


def test_english_help_is_clicks_own(capsys: pytest.CaptureFixture[str]) -> None:
    _, shown = run(["sandbox", "provision", "--help", "--lang", "en"], capsys)
    assert shown.startswith("Usage: kamusm sandbox provision [OPTIONS]")
    assert "[required]" in shown and "--url URL" in shown and "Options:" in shown
    assert {"usage", "options", "show", "help", "required"} <= english_in(shown)  # it finds them


def test_clicks_words_stay_english_outside_a_kamusm_command() -> None:
    """Another click program in the same process keeps click's English."""

    def never(count: int) -> None:
        raise AssertionError("not reached")

    other = click.Command("other", callback=never, params=[click.Option(["--count"], type=int)])

    with pytest.raises(click.UsageError) as caught:
        other.main(["--count", "x"], standalone_mode=False)
    assert "is not a valid integer" in caught.value.format_message()
    assert other.get_help(click.Context(other)).startswith("Usage:")


def test_every_text_click_asks_for_has_a_turkish_one() -> None:
    """Read from click's source: a click upgrade that adds a text fails here."""
    root = Path(click.__file__).parent
    single: set[str] = set()
    plural: set[tuple[str, str]] = set()
    for name in CLICK_MODULES:
        for node in ast.walk(ast.parse((root / f"{name}.py").read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if node.func.id == "_" and texts:
                single.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) == 2:
                plural.add((texts[0], texts[1]))
    assert single and plural
    assert single - set(TEXTS_TR) == set()
    assert plural - set(PLURALS_TR) == set()


def test_every_turkish_text_of_the_command_line_has_no_english_word() -> None:
    """The command line's own texts (its table, not only its help): each Turkish one, with
    the words a person types taken out (options, commands, choices), holds no English word."""
    from kamusm._cli._texts import TEXTS as ALL  # the reader texts are merged in, if any

    found = {key: english_in(by_lang["tr"]) for key, by_lang in ALL.items()}
    assert {key: words for key, words in found.items() if words} == {}


def served_banner(*options: str) -> tuple[list[str], str]:
    """The first lines ``kamusm sandbox serve --port 0 --training OPTIONS`` prints, and what it
    prints when Ctrl-C (SIGINT, to its own pid) stops it."""
    env = dict(os.environ)
    env.pop("KAMUSM_LANG", None)
    command = [sys.executable, "-m", "kamusm", "sandbox", "serve", "--port", "0", "--training"]
    proc = subprocess.Popen(
        [*command, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(5)]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return lines, rest


def test_the_sandbox_banner_is_turkish_in_turkish() -> None:
    """``kamusm sandbox serve`` in Turkish mode (the default) starts with its banner in
    Turkish, every line (the address, the OpenAPI document, the training pages, the admin
    token, the database), with no English word; ``--lang en`` gives the English one."""
    lines, rest = served_banner()
    assert [line.split(":")[0] for line in lines] == [
        "kamusm yerel portalı",
        "OpenAPI belgesi",
        "eğitim sayfaları",
        "yönetici anahtarı",
        "veritabanı",
    ]
    english = english_words()
    for line in [*lines, *rest.splitlines()]:
        label = line.split(": ")[0]
        assert not words(label) & english, (line, words(label) & english)
    assert "Yerel portal durduruldu." in rest
    english_lines, _ = served_banner("--lang", "en")
    assert english_lines[0].startswith("kamusm sandbox portal: http://127.0.0.1:")
    assert english_lines[3].startswith("admin token:")
