"""The public surface: exactly ``__all__``, importable, and ``import kamusm`` stays light."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import subprocess
import sys

import kamusm

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
        _ = kamusm.DoesNotExist
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
    assert set(kamusm.__all__) == set(kamusm._EXPORTS) | {"__version__"}
    assert kamusm.__all__ == sorted(kamusm.__all__, key=str)


def test_the_pure_layers_import_no_io_library() -> None:
    """values, policy, errors, messages and the flow machines load no PKCS#11, HTTP or ASN.1
    library: the drivers import them only when they run."""
    modules = "kamusm.values, kamusm.policy, kamusm.errors, kamusm.messages, kamusm.flows"
    code = f"import sys, {modules}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
