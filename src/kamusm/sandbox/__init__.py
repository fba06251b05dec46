"""The local sandbox of the Kamu SM portal: the portal contract served by Starlette on
uvicorn, with its state in SQLite (extra ``sandbox``).

Run it with ``python -m kamusm.sandbox`` (prints its URL and admin token), on a background
thread with :class:`SandboxServer`, or embed :func:`create_app` in another ASGI server.
Holders and cards are provisioned through :class:`SandboxPortal` or the admin API; SMS
messages go to an outbox that only the admin side reads. See ``docs/portal-api.md``.
"""

from __future__ import annotations

from kamusm._extras import require

require("sandbox", "starlette", "uvicorn", "cryptography")

from kamusm.sandbox._app import create_app
from kamusm.sandbox._portal import (
    ApiError,
    CertificateRecord,
    SandboxPortal,
    SandboxSecretError,
    SmsMessage,
    master_secret_from_hex,
)
from kamusm.sandbox._server import SandboxServer, main, serve
from kamusm.sandbox._settings import SandboxSettings

__all__ = [
    "ApiError",
    "CertificateRecord",
    "SandboxPortal",
    "SandboxSecretError",
    "SandboxServer",
    "SandboxSettings",
    "SmsMessage",
    "create_app",
    "main",
    "master_secret_from_hex",
    "serve",
]
