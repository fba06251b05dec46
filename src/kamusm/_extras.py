"""Optional parts fail by naming the extra that brings them.

kamusm's optional parts (``cli``, ``sandbox``, ``test``, ``pdf``, ``pcsc``, ``app``) each live in
a module of their own, which starts with::

    from kamusm._extras import require

    require("pcsc", "smartcard")

Without the libraries of that extra, importing the module raises :class:`MissingExtraError`
(a :class:`ModuleNotFoundError`, so existing ``except ImportError`` code keeps working) whose
message says what to install: ``pip install "kamusm[pcsc]"``. Nothing is imported here; the
check only looks the modules up, so it costs next to nothing when they are installed.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(ModuleNotFoundError):
    """An optional part of kamusm was imported without the extra that it needs.

    ``extra`` is the extra to install, ``name`` the first missing module (as on any
    :class:`ModuleNotFoundError`), ``part`` the kamusm module that needed it.
    """

    def __init__(self, extra: str, missing: str, part: str | None = None) -> None:
        needed_by = f"{part} needs" if part else "this part of kamusm needs"
        super().__init__(
            f'{needed_by} the "{extra}" extra ({missing} is not installed): '
            f'pip install "kamusm[{extra}]"',
            name=missing,
        )
        self.extra = extra
        self.part = part


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        # A parent package that is missing or broken: not usable either way.
        return False


def require(extra: str, *modules: str, part: str | None = None) -> None:
    """Raise :class:`MissingExtraError` naming ``extra`` unless every one of ``modules``
    (top-level import names, such as ``"smartcard"``) can be imported.

    ``part`` is the kamusm module asking, for the message; by default the caller's module
    (``require`` is called at the top of the optional module).
    """
    for module in modules:
        if not _installed(module):
            if part is None:
                part = sys._getframe(1).f_globals.get("__name__")
            raise MissingExtraError(extra, module, part)
