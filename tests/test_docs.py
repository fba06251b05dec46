"""The documentation's code is true: the programs it marks run, its pytest examples pass.

A fenced Python block right after ``<!-- docs-test: run -->`` is run as a program in a fresh
interpreter; one after ``<!-- docs-test: pytest -->`` is collected by pytest with the kamusm
plugin, as a reader's own test suite would be. Both on real parts (SoftHSM2, opencryptoki, the
sandbox over HTTP), in child processes, so their SoftHSM2 stores are their own.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_BLOCK = re.compile(r"<!-- docs-test: (?P<kind>run|pytest) -->\n```python\n(?P<code>.*?)```", re.S)


def marked_blocks(kind: str) -> list[tuple[str, str]]:
    """``(id, code)`` of every block marked ``kind`` in the documentation."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for n, match in enumerate(_BLOCK.finditer(page.read_text(encoding="utf-8"))):
            if match["kind"] == kind:
                found.append((f"{page.relative_to(DOCS)}#{n}", match["code"]))
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for inherited in ("SOFTHSM2_CONF", "KAMUSM_PKCS11_MODULE"):
        env.pop(inherited, None)  # each child makes its own SoftHSM2 store
    return env


def test_the_documentation_marks_programs_and_tests() -> None:
    """The marks are there (a renamed mark would silently test nothing)."""
    assert {i.split("#")[0] for i, _ in marked_blocks("run")} >= {"quickstart.md", "guides/dys.md"}
    assert {i.split("#")[0] for i, _ in marked_blocks("pytest")} == {"guides/testing.md"}


@pytest.mark.parametrize(("block", "code"), marked_blocks("run"), ids=lambda v: str(v)[:40])
def test_documented_program_runs(block: str, code: str, tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(program)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=_env(),
    )
    assert result.returncode == 0, f"{block}:\n{result.stdout}\n{result.stderr}"


def test_documented_pytest_examples_pass(tmp_path: Path) -> None:
    """The testing guide's tests, as a reader would put them in their own suite (no conftest:
    the fixtures come from the plugin's entry point)."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    opencryptoki: needs the opencryptoki software token\n",
        encoding="utf-8",
    )
    blocks = marked_blocks("pytest")
    for n, (_, code) in enumerate(blocks):
        (tmp_path / f"test_guide_{n}.py").write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env=_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " failed" not in result.stdout
    assert re.search(r"\b[1-9]\d* passed", result.stdout), result.stdout


def _roles_extension() -> ModuleType:
    path = ROOT / "scripts" / "griffe_sphinx_roles.py"
    spec = importlib.util.spec_from_file_location("griffe_sphinx_roles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_roles_become_optional_links_for_the_reference() -> None:
    convert = _roles_extension().convert
    text = "Raises :class:`~kamusm.errors.PinLockedError`; see :meth:`kamusm.token.Token.unblock`."
    assert convert(text, None) == (
        'Raises <autoref identifier="kamusm.errors.PinLockedError" optional>'
        "<code>PinLockedError</code></autoref>; see "
        '<autoref identifier="kamusm.token.Token.unblock" optional>'
        "<code>kamusm.token.Token.unblock()</code></autoref>."
    )


def test_sphinx_literal_block_markers_become_markdown() -> None:
    convert = _roles_extension().convert
    assert convert("Typical use::\n\n    x = 1", None) == "Typical use:\n\n    x = 1"
    assert convert("Tree.\n\n::\n\n    A\n    └── B", None) == "Tree.\n\n\n    A\n    └── B"


def _cli_commands() -> dict[str, Any]:
    """``{"tokens": command, "sandbox serve": command, ...}`` of the ``kamusm`` command."""
    click = pytest.importorskip("click", reason="the cli extra is not installed")
    from kamusm._cli._app import cli

    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            if isinstance(command, click.Group):
                walk(command, f"{path} ")
            else:
                found[path] = command

    walk(cli, "")
    return found


def test_command_reference_has_every_command_and_option() -> None:
    """docs/cli.md is written by hand: it must follow the command as it is."""
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _cli_commands()
    assert {"tokens", "certs", "doctor", "change-pin", "reset-pin", "demo"} <= set(commands)
    for path, command in commands.items():
        assert f"## `kamusm {path}`" in page, path
        section = page.split(f"## `kamusm {path}`", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option not in {"--module", "--lang", "--debug"}:
                    assert f"`{option}" in section or option == "--help", (path, option)


def test_command_reference_lists_every_exit_code() -> None:
    pytest.importorskip("click", reason="the cli extra is not installed")
    from kamusm._cli._exit import ExitCode

    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    table = page.split("## Exit codes", 1)[1]
    assert {int(n) for n in re.findall(r"^\| (\d+) \|", table, re.M)} == {int(c) for c in ExitCode}
