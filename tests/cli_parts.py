"""Shared parts of the command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys

from kamusm.testing.softhsm import SoftHsmToken

_VERIFY = """
import sys
from kamusm.errors import PinIncorrectError
from kamusm.token import Pkcs11Module
from kamusm.values import Pin
token = Pkcs11Module.open(sys.argv[1]).token(serial=sys.argv[2])
try:
    token.verify_pin(Pin(sys.stdin.readline().strip()))
except PinIncorrectError:
    sys.exit(1)
"""


def pin_verifies(card: SoftHsmToken, pin: str) -> bool:
    """Whether ``pin`` logs in to ``card``, asked by a fresh process (this one's SoftHSM2 keeps
    the token as it first read it, not as another process changed it). The PIN goes through
    stdin, never argv."""
    result = subprocess.run(
        [sys.executable, "-c", _VERIFY, card.module_path, card.serial],
        input=pin + "\n",
        env=dict(os.environ, SOFTHSM2_CONF=str(card.store.conf_path)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0
