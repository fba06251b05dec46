"""pytest fixtures for applications that test against real test tokens and the sandbox.

Enable with ``pytest_plugins = ["kamusm.testing.pytest_plugin"]`` in ``conftest.py``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"
