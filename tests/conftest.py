"""Project-wide test settings.

- ``kamusm.testing.pytest_plugin``: the fixtures kamusm ships (test tokens, the sandbox).
- ``tests.leak_canary``: the ``leaks`` fixture (no secret in logs, output, errors).
- ``tests.ci_guard``: under ``KAMUSM_NO_SKIPS=1`` (``scripts/test`` sets it when run as root,
  which CI is) every skip is a failure and a run that deselects an opencryptoki test stops:
  where the test command installs every part, a test that does not run would hide a missing
  part instead of testing it.
"""

from __future__ import annotations

pytest_plugins = [
    "kamusm.testing.pytest_plugin",
    "tests.leak_canary",
    "tests.ci_guard",
    "pytester",
]
