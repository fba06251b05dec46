"""The layers drawn in docs/ARCHITECTURE.md are the layers of the code.

The page's table gives each module its layer; this test reads every ``import`` of the package
(at module level and inside functions alike) and fails when a module imports one of a higher
layer, or when a pure module imports a library other than attrs (imports under
``if TYPE_CHECKING:`` are for the type checker only and do not count). Every module of the
package (but the package itself, whose names are lazy re-exports) has a layer in the table, and
the table names no module that does not exist: a new module cannot escape the check.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PAGE = ROOT / "docs" / "ARCHITECTURE.md"


def _layers() -> dict[str, int]:
    """``{module prefix: layer}`` from the table of the page."""
    layers: dict[str, int] = {}
    for row in re.findall(r"^\| (\d)\. [^|]+ \| ([^|]+) \|", PAGE.read_text("utf-8"), re.M):
        for module in re.findall(r"`(kamusm[\w.]*)`", row[1]):
            layers[module] = int(row[0])
    return layers


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    """The layer of ``module``: that of its longest listed prefix."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in layers:
            return layers[prefix]
    return None


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "kamusm").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (names for the type
    checker only: no import happens when the code runs)."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``path`` imports when it runs (``from kamusm import x`` counts as
    ``kamusm.x`` when ``x`` is a module, else as the package's lazy re-export, which is not a
    layer)."""
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if f"{node.module}.{a.name}" in modules
            )
    return found


def test_the_table_names_the_modules_that_exist() -> None:
    layers, modules = _layers(), _modules()
    assert {1, 2, 3, 4, 5, 6} == set(layers.values())
    for listed in layers:
        assert listed in modules, f"docs/ARCHITECTURE.md names {listed}, which does not exist"
    unplaced = [m for m in sorted(modules) if m != "kamusm" and _layer_of(m, layers) is None]
    assert unplaced == [], f"docs/ARCHITECTURE.md gives no layer to {unplaced}"


def test_no_module_imports_a_higher_layer() -> None:
    layers, modules = _layers(), _modules()
    wrong = []
    for name, path in sorted(modules.items()):
        mine = _layer_of(name, layers)
        if mine is None or name == "kamusm":
            continue
        for imported in sorted(_imports(path, modules)):
            if imported == "kamusm" or not imported.startswith("kamusm."):
                continue
            theirs = _layer_of(imported, layers)
            if theirs is not None and theirs > mine:
                wrong.append(f"{name} (layer {mine}) imports {imported} (layer {theirs})")
    assert wrong == []


def test_the_pure_layer_imports_only_the_standard_library_and_attrs() -> None:
    layers, modules = _layers(), _modules()
    wrong = []
    for name, path in sorted(modules.items()):
        if _layer_of(name, layers) != 1:
            continue
        for imported in sorted(_imports(path, modules)):
            top = imported.split(".")[0]
            if top not in {"kamusm", "attrs", "__future__"} and top not in sys.stdlib_module_names:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []
