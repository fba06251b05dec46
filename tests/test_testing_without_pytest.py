"""The test helpers that the demo and the sandbox use work in a process without pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from kamusm.testing.softhsm import find_softhsm_module


def run_without_pytest(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import pytest`` fails."""
    blocked = "import sys\nsys.modules['pytest'] = None  # import pytest -> ImportError\n"
    return subprocess.run(
        [sys.executable, "-c", blocked + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_helper_modules_import_with_pytest_blocked() -> None:
    """kamusm.testing.softhsm, .opencryptoki and .sandbox import when pytest cannot."""
    result = run_without_pytest(
        """
        import kamusm.testing.softhsm, kamusm.testing.opencryptoki, kamusm.testing.sandbox
        try:
            import pytest
        except ImportError:
            print("pytest blocked")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pytest blocked"


@pytest.mark.skipif(find_softhsm_module() is None, reason="SoftHSM2 is not installed")
def test_a_sandbox_card_is_provisioned_without_pytest() -> None:
    """provision_softhsm_card makes a real SoftHSM2 token and registers it, pytest blocked."""
    result = run_without_pytest(
        """
        from kamusm.testing.sandbox import TestHolder, provision_softhsm_card, running_sandbox
        with running_sandbox() as sb:
            card = provision_softhsm_card(sb.portal, holder=TestHolder.default())
            found = card.token().serial == card.serial
            print(found, sys.modules.get("pytest") is not None)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


def test_the_fixtures_still_come_from_the_plugin() -> None:
    """The token fixtures moved to kamusm.testing.pytest_plugin keep their names."""
    from kamusm.testing import pytest_plugin

    for name in ("softhsm_token", "softhsm_token_factory", "opencryptoki_token"):
        assert callable(getattr(pytest_plugin, name)), name
