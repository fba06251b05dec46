"""A C_Finalize of opencryptoki leaves the process's other files open.

opencryptoki 3.8's API layer opens its cross-process lock file (``LCK..APIlock``) once per
process, at the first ``C_Initialize``; every ``C_Finalize`` closes that fd number again, though
only the first one held the lock file. Without the token layer's guard, a file the process opens
after one finalise at that number (seen: the sandbox's SQLite WAL) is closed by the next: the
bug this file pins down, on the real opencryptoki module and daemon.

The steps run in a new Python process: the lock file is opened only by the process's first
``C_Initialize``, which in this one happened long before the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kamusm.testing.opencryptoki import OpencryptokiToken

pytestmark = pytest.mark.opencryptoki

_STEPS = r"""
import json, os, sys
from pathlib import Path
from kamusm import _token_seam
from kamusm.testing import opencryptoki

def lock_fds():
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if Path(target).name == "LCK..APIlock":
            found.append(int(name))
    return found

module_path = opencryptoki.ensure_opencryptoki()  # the first C_Initialize of this process
(number,) = lock_fds()
_token_seam.finalize_loaded(module_path)
# Files opened now take the lowest free numbers: open them up to past the lock's number, so
# that one of them has it if the finalise left it free.
probes = {}
while not probes or max(probes) < number:
    path = Path(sys.argv[1]) / f"probe{len(probes)}"
    path.write_bytes(b"probe")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    probes[fd] = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
card = opencryptoki.fresh_opencryptoki_token()  # finalises and initialises again
card.token().verify_pin(card.pin)
_token_seam.finalize_loaded(module_path)
closed = []
for fd, identity in probes.items():
    try:
        same = (os.fstat(fd).st_dev, os.fstat(fd).st_ino) == identity
    except OSError:
        same = False
    if not same:
        closed.append(fd)
print(json.dumps({"number": number, "probes": sorted(probes), "closed": closed,
                  "lock_fds": lock_fds()}))
"""


def test_a_file_opened_after_a_finalize_survives_the_next_finalize(
    opencryptoki_token: OpencryptokiToken, tmp_path: Path
) -> None:
    """The fixture brings the daemon and token up and holds the test token's lock, which the
    new process inherits."""
    done = subprocess.run(
        [sys.executable, "-c", _STEPS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["closed"] == [], seen  # the module closed a file it never opened
    # The number the module takes for its lock still holds its lock file.
    assert seen["number"] in seen["lock_fds"], seen
