"""The public surface: exactly ``__all__``, importable, and ``import kamusm`` stays light."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import kamusm

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("httpx", "pkcs11", "asn1crypto", "starlette", "click", "rich", "uvicorn", "cryptography")


def test_import_kamusm_loads_no_heavy_dependency() -> None:
    """A fresh interpreter that imports kamusm has none of the I/O libraries loaded."""
    code = f"import sys, kamusm; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_every_name_in_all_resolves() -> None:
    for name in kamusm.__all__:
        assert getattr(kamusm, name) is not None, name


def test_all_is_exactly_the_public_names() -> None:
    """Every public name of a public kamusm module is in kamusm.__all__, and nothing else."""
    public_modules = ["kamusm.errors", "kamusm.values", "kamusm.policy"]
    for optional in (
        "kamusm.token",
        "kamusm.certs",
        "kamusm.portal",
        "kamusm.flows",
        "kamusm.readiness",
    ):
        if importlib.util.find_spec(optional) is not None:
            public_modules.append(optional)
    expected = {"__version__", "Language"}
    for module_name in public_modules:
        module = importlib.import_module(module_name)
        expected |= {n for n in module.__all__ if not n.isupper()}
    assert set(kamusm.__all__) == expected


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        _ = getattr(kamusm, "DoesNotExist")  # noqa: B009 (the type checker rejects the name)
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_every_submodule_imports() -> None:
    """No module of the package is broken at import time."""
    for info in pkgutil.walk_packages(kamusm.__path__, "kamusm."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def test_all_matches_the_lazy_export_table() -> None:
    """Each name is in the table once, under the module that defines it."""
    listed = [name for names in kamusm._EXPORTS.values() for name in names]
    assert len(listed) == len(set(listed))
    assert set(kamusm.__all__) == set(listed) | {"__version__"}
    assert kamusm.__all__ == sorted(kamusm.__all__, key=str)
    for module, names in kamusm._EXPORTS.items():
        defined = set(importlib.import_module(module).__all__)
        assert set(names) <= defined, (module, set(names) - defined)


def test_version_comes_from_the_installed_metadata() -> None:
    from importlib.metadata import version

    assert kamusm.__version__ == version("kamusm")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", kamusm.__version__)


def test_the_type_stub_is_the_table() -> None:
    """``__init__.pyi`` (what type checkers read) is written from ``_EXPORTS``."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "public_api.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


CONSUMER = """\
import kamusm
from kamusm import NoSuchThing, Pin, PinIncorrectError, Token

pin: Pin = Pin("123456")
status: kamusm.PinStatus | None = PinIncorrectError(status=None).status
token_type: type[Token] = kamusm.Token
wrong: int = kamusm.Pin("123456")
kamusm.AlsoMissing
tries = PinIncorrectError().status.attempts_remaining
"""


def test_mypy_sees_the_real_public_names(tmp_path: Path) -> None:
    """A consumer script type-checked with mypy: a name kamusm lacks is an error (the lazy
    ``__getattr__`` would accept anything), and a public name has its real type."""
    (tmp_path / "consumer.py").write_text(CONSUMER, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--cache-dir",
            str(tmp_path / "cache"),
            "consumer.py",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    errors = sorted(line for line in result.stdout.splitlines() if ": error:" in line)
    assert result.returncode == 1, result.stdout + result.stderr
    assert errors == [
        'consumer.py:2: error: Module "kamusm" has no attribute "NoSuchThing"  [attr-defined]',
        'consumer.py:7: error: Incompatible types in assignment (expression has type "Pin", '
        'variable has type "int")  [assignment]',
        'consumer.py:8: error: Module has no attribute "AlsoMissing"  [attr-defined]',
        'consumer.py:9: error: Item "None" of "PinStatus | None" has no attribute '
        '"attempts_remaining"  [union-attr]',
    ], result.stdout


def test_the_pure_layers_import_no_io_library() -> None:
    """values, policy, errors, messages and the flow machines load no PKCS#11, HTTP or ASN.1
    library: the drivers import them only when they run."""
    modules = "kamusm.values, kamusm.policy, kamusm.errors, kamusm.messages, kamusm.flows"
    code = f"import sys, {modules}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
