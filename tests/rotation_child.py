"""A child process that runs one PIN reset against the sandbox and stops for good at a chosen
step of ``Token.unblock``: the parent test kills it there with SIGKILL, as a crash would.

``python -m tests.rotation_child URL MODULE SERIAL NOW STEP``; the secrets come on stdin, one a
line, when asked for (the verification code first, the new PIN, then the SMS code after the
child printed ``sms?``), never on the command line. At ``STEP`` the child prints
``at STEP`` and waits on stdin for a line that never comes.
"""

from __future__ import annotations

import sys
from datetime import datetime

from kamusm import ManualClock, PortalClient, _token_seam, reset_pin
from kamusm.testing.prompts import ScriptedResetPrompts
from kamusm.token import Pkcs11Module


def _line() -> str:
    return sys.stdin.readline().strip()


def main() -> None:
    url, module_path, serial, now, stop_at = sys.argv[1:6]
    clock = ManualClock(datetime.fromisoformat(now))
    code = _line()
    new_pin = _line()

    def sms() -> str:
        print("sms?", flush=True)
        return _line()

    def hook(step: str) -> None:
        if step == stop_at:
            print(f"at {step}", flush=True)
            sys.stdin.readline()  # the parent kills the process while it waits here

    prompts = ScriptedResetPrompts(
        codes=[code], card=serial, pins=[(new_pin, new_pin)], confirmations=[sms]
    )
    with (
        PortalClient(url, clock=clock, timeout=10.0) as client,
        _token_seam.unblock_fault(hook),
    ):
        reset_pin(Pkcs11Module.open(module_path), client, prompts, clock=clock)
    print("done", flush=True)


if __name__ == "__main__":
    main()
