"""Helpers for testing applications that embed kamusm: real test tokens and the sandbox.

Everything here is for tests and training only. It creates throw-away SoftHSM2 and
opencryptoki tokens with chosen PINs and SO PINs, issues test certificates, and runs the local
sandbox portal. Nothing in the library proper imports this package.

Install with the ``test`` extra (``pip install "kamusm[test]"``); a helper that needs it says
so with an ImportError when it is missing. The pytest fixtures of
:mod:`kamusm.testing.pytest_plugin` are registered with pytest through an entry point, so a
test suite of an application gets them without a ``conftest.py``.
"""
