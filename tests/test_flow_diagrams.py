"""The documented state diagrams are the ones the transition tables draw."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kamusm.flows import RESET_TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent


def test_docs_flows_md_is_generated_from_the_tables() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "flow_diagrams.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_edge_is_in_the_document() -> None:
    text = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    for state, moves in RESET_TRANSITIONS.items():
        for event, target in moves.items():
            assert f"{state.name} --> {target.name}: {event.__name__}" in text
