"""Helpers for testing applications that embed kamusm: real test tokens and the sandbox.

Everything here is for tests and training only. It creates throw-away SoftHSM2 and
opencryptoki tokens with chosen PINs and SO PINs, issues test certificates, and runs the local
sandbox portal. Nothing in the library proper imports this package.

Use the pytest fixtures by adding ``pytest_plugins = ["kamusm.testing.pytest_plugin"]`` to your
``conftest.py``.
"""
