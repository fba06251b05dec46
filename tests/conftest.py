"""Project-wide test settings.

- ``kamusm.testing.pytest_plugin``: the fixtures kamusm ships (test tokens, the sandbox).
- ``tests.leak_canary``: the ``leaks`` fixture (no secret in logs, output, errors).
- ``tests.ci_guard``: under ``KAMUSM_NO_SKIPS=1`` (``scripts/test`` sets it when run as root,
  which CI is) every skip is a failure and a run that deselects an opencryptoki test stops:
  where the test command installs every part, a test that does not run would hide a missing
  part instead of testing it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile

from kamusm.testing.pcsc import socket_path_for

# The fixtures of kamusm.testing come from its pytest11 entry point (pyproject.toml), as in an
# embedder's suite (tests/test_packaging.py proves that in a fresh environment). Listed here as
# well for a checkout whose .venv was installed before the entry point existed; the entry point
# is named after the module, so pytest loads it once either way.
pytest_plugins = [
    "kamusm.testing.pytest_plugin",
    "tests.leak_canary",
    "tests.ci_guard",
    "pytester",
]

# A shell without job control starts a background command with Ctrl-C ignored, and an ignored
# signal stays ignored across exec: the commands the terminal tests start would then never see
# the Ctrl-C those tests send. A handler (unlike "ignore") is reset to the default at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Every PC/SC client of the test run (this process and the commands it starts) talks to the
# run's own pcscd (the pcsc_service fixture), never to one of the machine: the client library
# reads this once per process, so it is set before anything can talk to PC/SC.
_PCSC_DIR = tempfile.mkdtemp(prefix="kpcsc")
os.environ["PCSCLITE_CSOCK_NAME"] = socket_path_for(_PCSC_DIR)
atexit.register(shutil.rmtree, _PCSC_DIR, True)
