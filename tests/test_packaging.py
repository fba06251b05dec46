"""kamusm as a user installs it: from its wheel, into fresh virtual environments.

- Without any extra, the library imports, and every optional part refuses with an ImportError
  that names the extra to install (never a bare "No module named 'starlette'").
- With the ``test`` extra alone, the testing guide's examples pass, in a project that has no
  ``conftest.py``: the fixtures come from the ``pytest11`` entry point.

Each environment is made once per test session with the ordinary ``venv`` and ``pip``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.test_docs import marked_blocks

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "kamusm"

# The optional parts that exist today, and the extra each names. Parts that land later are
# found by their own require() call (see test_every_require_call_is_checked).
KNOWN_OPTIONAL = {
    "kamusm.sandbox": "sandbox",
    "kamusm.testing.certificates": "test",
    "kamusm.testing.sandbox": "test",
    "kamusm.testing.pytest_plugin": "test",
}


def _run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kamusm's wheel, built from this tree the way pip builds it."""
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT)
    (found,) = out.glob("kamusm-*.whl")
    return found


def _fresh_venv(path: Path, requirement: str) -> Path:
    """A new virtual environment at ``path`` with ``requirement`` installed; its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement)
    return python


@pytest.fixture(scope="session")
def core_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh environment with kamusm and no extra."""
    return _fresh_venv(tmp_path_factory.mktemp("core") / "venv", str(wheel))


@pytest.fixture(scope="session")
def test_extra_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh environment with ``kamusm[test]`` and nothing else."""
    return _fresh_venv(
        tmp_path_factory.mktemp("test-extra") / "venv", f"kamusm[test] @ {wheel.as_uri()}"
    )


def _required_extras() -> dict[str, str]:
    """``{module: extra}`` for every module of the package that calls ``require(extra, …)``
    at its top level."""
    found = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "require"
                and node.value.args
                and isinstance(node.value.args[0], ast.Constant)
            ):
                parts = path.relative_to(SRC.parent).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                found[name] = str(node.value.args[0].value)
    return found


def test_every_known_optional_part_checks_its_extra() -> None:
    assert _required_extras().items() >= KNOWN_OPTIONAL.items()


PROBE = """
import importlib, json, pkgutil, sys
import kamusm

report = {"version": kamusm.__version__, "names": [], "refused": {}, "broken": {}}
for name in kamusm.__all__:
    getattr(kamusm, name)
    report["names"].append(name)
for info in pkgutil.walk_packages(kamusm.__path__, "kamusm."):
    if info.name.startswith("kamusm._cli") or info.name.endswith("__main__"):
        continue  # the command line's own check is tested through the console script
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        target = "refused" if type(exc).__name__ == "MissingExtraError" else "broken"
        report[target][info.name] = [str(exc), getattr(exc, "extra", None), exc.name]
print(json.dumps(report))
"""


def test_without_extras_the_library_imports_and_optional_parts_name_their_extra(
    core_python: Path, tmp_path: Path
) -> None:
    report = json.loads(_run(core_python, "-c", PROBE, cwd=tmp_path))
    from importlib.metadata import version

    assert report["version"] == version("kamusm")
    import kamusm

    assert report["names"] == kamusm.__all__  # every public name loads without any extra
    assert report["broken"] == {}  # no optional part fails with a bare ImportError
    expected = {
        module: extra for module, extra in _required_extras().items() if module != "kamusm._cli"
    }
    refused = report["refused"]
    # A package that refuses refuses for its submodules too: count only the modules asked.
    assert {m: refused[m][1] for m in expected} == expected
    for module, (message, extra, missing) in refused.items():
        assert f'pip install "kamusm[{extra}]"' in message, module
        assert module.startswith(tuple(expected)), module
        assert missing and re.fullmatch(r"[a-z_][a-z0-9_.]*", missing), (module, missing)


def test_the_error_is_an_import_error_with_the_missing_module(core_python: Path) -> None:
    code = (
        "try:\n    import kamusm.sandbox\n"
        "except ModuleNotFoundError as exc:\n    print(exc.name, '|', exc)\n"
    )
    out = _run(core_python, "-c", code).strip()
    assert out == (
        'starlette | kamusm.sandbox needs the "sandbox" extra (starlette is not installed): '
        'pip install "kamusm[sandbox]"'
    )


def test_the_testing_guide_passes_with_the_test_extra_and_no_conftest(
    test_extra_python: Path, tmp_path: Path
) -> None:
    """The guide's examples, as a reader's own suite: ``kamusm[test]`` only, no conftest.py
    (the fixtures come from the pytest11 entry point)."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    opencryptoki: needs the opencryptoki software token\n",
        encoding="utf-8",
    )
    for n, (_, code) in enumerate(marked_blocks("pytest")):
        (tmp_path / f"test_guide_{n}.py").write_text(code, encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if k not in {"SOFTHSM2_CONF", "KAMUSM_PKCS11_MODULE"}
    }
    result = subprocess.run(
        [test_extra_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", tmp_path],
        capture_output=True,
        text=True,
        # The opencryptoki example waits for the machine-wide token lock other suites may hold.
        timeout=1200,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "conftest.py").exists()
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ skipped)? in .*", summary), result.stdout
    if os.environ.get("KAMUSM_NO_SKIPS") == "1":
        assert "skipped" not in summary, result.stdout


def test_the_fixtures_are_registered_by_entry_point(
    test_extra_python: Path, tmp_path: Path
) -> None:
    out = _run(
        test_extra_python, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", cwd=tmp_path
    )
    for fixture in (
        "softhsm_token",
        "softhsm_token_factory",
        "opencryptoki_token",
        "kamusm_sandbox",
    ):
        assert re.search(rf"^{fixture}\b", out, re.M), fixture
    assert "kamusm/testing/pytest_plugin.py" in out


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["doctor"], ["-m", "kamusm"]],
    ids=" ".join,
)
def test_the_command_without_the_cli_extra_says_what_to_install(
    core_python: Path, tmp_path: Path, args: list[str]
) -> None:
    """No click, no rich: the console script (and ``python -m kamusm``) end with one line
    naming ``pip install "kamusm[cli]"`` and exit 4, not a ModuleNotFoundError traceback."""
    program = core_python if args[0] == "-m" else core_python.with_name("kamusm")
    command = [str(program), *args]
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["KAMUSM_LANG"] = "en"
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=tmp_path, env=env, timeout=120
    )
    assert result.returncode == 4, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == (
        'kamusm: error: This command needs the click package: pip install "kamusm[cli]"\n'
    )


# ---- the metadata PyPI shows ----------------------------------------------------------------


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return project


def test_the_readme_stands_alone_on_pypi() -> None:
    """Every link of the README is absolute (PyPI has no files to resolve a relative one
    against), and one into the project names a file that exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = _project()["urls"]["Source"]
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert links
    for link in links:
        assert link.startswith("https://"), link
        if link.startswith(f"{source}/blob/main/"):
            assert (ROOT / link.removeprefix(f"{source}/blob/main/")).is_file(), link
    # Up front: before the install instructions, the reader learns what the portal side is.
    intro = readme.split("\n## ", 1)[0]
    assert "no public API" in intro and "sandbox" in intro and "contract" in intro


def test_the_metadata_a_package_index_shows() -> None:
    project = _project()
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(project["urls"])
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in project["classifiers"]
    assert project["requires-python"] == ">=3.11"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert versions and versions[0] <= project["version"]
    assert "version" not in project.get("dynamic", [])


def test_async_tests_of_an_embedder_run_on_asyncio(tmp_path: Path) -> None:
    """The plugin's ``anyio_backend`` wins over anyio's own, which would run every async test
    on trio too wherever trio is installed (selenium brings it)."""
    (tmp_path / "test_async.py").write_text(
        "import pytest\n\n\n@pytest.mark.anyio\nasync def test_it():\n    pass\n", encoding="utf-8"
    )
    out = _run(
        sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", tmp_path
    )
    assert "test_async.py::test_it\n" in out, out
    assert "[trio]" not in out and "[asyncio]" not in out, out


def test_every_extra_is_explained_where_a_user_looks() -> None:
    """The README (PyPI's page) and the documentation's home list every extra a user installs."""
    extras = set(_project()["optional-dependencies"]) - {"dev", "all"}
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        listed = set(re.findall(r"^\| `(\w+)` \|", page.read_text("utf-8"), re.M))
        assert extras <= listed, (page.name, extras - listed)
