"""``python -m kamusm.sandbox``: one command serves the sandbox and prints its URL and admin
token; ``provision`` registers a holder and a card through the admin API."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamusm.portal import PortalClient
from kamusm.sandbox import main
from kamusm.values import Product, Tckn


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    db = tmp_path / "cli.sqlite3"
    env = dict(os.environ, KAMUSM_SANDBOX_SECRET="ab" * 32)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamusm.sandbox", "serve", "--port", "0", "--database", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"(http://127\.0\.0\.1:\d+)/api/v1", lines[0])
        token = re.search(r"admin token:\s+(\S+)", lines[2])
        assert url and token, lines
        yield url.group(1), token.group(1), db
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server is killed
            proc.kill()
            proc.wait()


def test_serve_prints_url_and_token_and_provisioning_works(
    served: tuple[str, str, Path],
) -> None:
    url, token, db = served
    env = dict(
        os.environ,
        KAMUSM_HOLDER_PASSWORD="cli-password-1",
        KAMUSM_SECURITY_WORD="cli-word",
        KAMUSM_SO_CREDENTIAL="31415926",
    )
    base = [sys.executable, "-m", "kamusm.sandbox", "provision", "--url", url]
    holder = subprocess.run(
        [
            *base,
            "--admin-token",
            token,
            "holder",
            "--tckn",
            "17291716060",
            "--name",
            "CLI",
            "--birth-date",
            "1990-02-03",
            "--phone",
            "05001112233",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert holder.returncode == 0, holder.stdout + holder.stderr
    card = subprocess.run(
        [
            *base,
            "--admin-token",
            token,
            "card",
            "--serial",
            "AKIS0000CLI00001",
            "--holder",
            "17291716060",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert card.returncode == 0, card.stdout + card.stderr
    refused = subprocess.run(
        [
            *base,
            "--admin-token",
            "wrong",
            "card",
            "--serial",
            "AKIS0000CLI00002",
            "--holder",
            "17291716060",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert refused.returncode == 1 and "401" in refused.stdout
    fixed = subprocess.run(
        [
            *base,
            "--admin-token",
            token,
            "card",
            "--serial",
            "AKIS0000CLI00003",
            "--holder",
            "17291716060",
            "--no-so-rotation",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    with sqlite3.connect(db) as raw:
        rotation = dict(raw.execute("SELECT serial, so_rotation FROM cards").fetchall())
    assert rotation == {"AKIS0000CLI00001": 1, "AKIS0000CLI00003": 0}
    with PortalClient(url) as client:
        client.login_edevlet(Tckn("17291716060"), "cli-password-1")
        assert client.start_pin_reset(Product.NES).length == 15
    # The database file given on the command line holds the state, and no secret in clear.
    stored = b"".join(p.read_bytes() for p in db.parent.glob("cli.sqlite3*"))
    assert b"17291716060" in stored
    for secret in (b"cli-password-1", b"cli-word", b"31415926"):
        assert secret not in stored


def test_provision_without_a_secret_value_refuses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SO credential comes from an option or the environment; without it nothing is sent."""
    monkeypatch.delenv("KAMUSM_SO_CREDENTIAL", raising=False)
    code = main(
        [
            "provision",
            "--url",
            "http://127.0.0.1:9",
            "--admin-token",
            "t",
            "card",
            "--serial",
            "X1",
            "--holder",
            "17291716060",
        ]
    )
    assert code == 2
    assert "missing a value" in capsys.readouterr().out
