"""A Griffe extension for the documentation build: Sphinx markup in docstrings, as Markdown.

kamusm's docstrings cross-reference with Sphinx roles (``:class:`~kamusm.errors.PinLockedError```)
and introduce literal blocks with ``::``, as Python docstrings have long done. mkdocstrings
renders docstrings as Markdown, where both would show as written. This extension rewrites them
when Griffe loads the package for ``mkdocs build``:

- a role becomes a link to the object's entry in the API reference when the reference has one
  (an *optional* autoref: a name with no entry, such as a private helper, stays plain code, so
  ``mkdocs build --strict`` never fails on it). Names are resolved like Python names, in the
  scope of the documented object; ``~`` shows only the last component, as in Sphinx;
- a paragraph ending in ``::`` ends in ``:`` and a lone ``::`` disappears (the indented block
  that follows is already a Markdown code block).

Loaded by ``mkdocs.yml`` (``handlers.python.options.extensions``); nothing in kamusm imports it.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

__all__ = ["SphinxRoles", "convert"]

_ROLE = re.compile(
    r":(?:py:)?(?P<role>class|meth|func|attr|data|const|mod|exc|obj|type):`(?P<tilde>~?)(?P<target>[^`<>]+)`"
)
_CALLABLE_ROLES = frozenset({"meth", "func"})


def _qualify(target: str, scope: griffe.Object | None) -> str:
    """The full dotted path of ``target`` as seen from ``scope`` (as written when it cannot be
    resolved: the autoref is optional, so an unknown name renders as plain code)."""
    target = target.lstrip(".")
    if target.startswith("kamusm.") or scope is None:
        return target
    head, _, rest = target.partition(".")
    try:
        found = scope.resolve(head)
    except griffe.NameResolutionError:
        return target
    return f"{found}.{rest}" if rest else found


def convert(text: str, scope: griffe.Object | None) -> str:
    """``text`` with Sphinx roles as optional autorefs and ``::`` blocks as Markdown."""

    def role(match: re.Match[str]) -> str:
        target = match["target"].strip()
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if match["role"] in _CALLABLE_ROLES and not shown.endswith(")"):
            shown += "()"
        identifier = html.escape(_qualify(target, scope), quote=True)
        code = f"<code>{html.escape(shown)}</code>"
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'

    lines = []
    for line in _ROLE.sub(role, text).split("\n"):
        stripped = line.rstrip()
        if stripped.strip() == "::":
            continue
        lines.append(stripped[:-1] if stripped.endswith("::") else line)
    return "\n".join(lines)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring once the package is loaded (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        scope = obj if obj.is_module or obj.is_class else obj.parent
        obj.docstring.value = convert(obj.docstring.value, scope)
