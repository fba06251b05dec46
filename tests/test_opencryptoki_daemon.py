"""The opencryptoki test machinery is a good neighbour: a process stops the pkcsslotd it
started when it ends, and never signals one it did not start (a daemon of the machine, or of
another run). Real pkcsslotd processes, real child processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kamusm.testing import opencryptoki as ock

_MISSING = ock.opencryptoki_unavailable_reason()
pytestmark = [
    pytest.mark.opencryptoki,
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]

#: A process that brings the test token up, uses it, and ends; it prints whether a daemon ran
#: before it and which daemon it started (``None``: it started none).
CHILD = """
from kamusm.testing import opencryptoki as ock
before = ock._daemon_pid()
ock.fresh_opencryptoki_token()
print(before, ock._started[0] if ock._started else None)
"""


def running_daemons() -> set[tuple[int, str]]:
    """Every pkcsslotd on the machine, as (pid, start time)."""
    found = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "pkcsslotd":
                continue
        except OSError:
            continue
        pid = int(comm.parent.name)
        start = ock._start_time(pid)
        if start is not None:
            found.add((pid, start))
    return found


def child() -> tuple[str, str]:
    """Run CHILD (sharing this process's hold on the test token) and return what it says."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    before, started = done.stdout.split()
    return before, started


def test_a_process_stops_the_daemon_it_started_and_no_other() -> None:
    ock.ensure_opencryptoki()  # holds the machine-wide lock; a daemon runs now
    running = running_daemons()
    assert running

    # A daemon runs already (this process's or another's): the child reuses it, and leaves it.
    before, started = child()
    assert before != "None"
    assert started == "None"
    assert running_daemons() == running

    # When the running daemon is this process's own, stop it: the child then starts one, and
    # stops it when it ends, so the machine is left as it was.
    mine = ock._started
    if mine is not None and mine in running:
        ock.stop_started_daemon()
        quiet = running_daemons()
        assert quiet == running - {mine}
        before, started = child()
        assert before == "None"
        assert started != "None"
        assert running_daemons() == quiet  # the child's daemon is gone, nothing else touched
        ock.ensure_opencryptoki()  # this process's own again, for the tests that follow
