"""The core's layout: parts that say what they are, import only the parts below them, no circles.

Read from the source, lazy imports (inside functions, under ``TYPE_CHECKING``) included, so a
circle that only closes at run time is found as well.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core" / "mlgym"

# a part may import the parts on lower floors, never one on its own floor or above
FLOORS = {
    "errors": 0, "locations": 0,
    "specs": 1,
    "plugins": 2,
    "sandbox": 3,
    "player": 4,
    "episode": 5,
    "agents": 6, "scoring": 6,
    "bench": 7,
    "view": 8, "export": 8, "serve": 8, "testing": 8,
    "cli": 9,
    "__main__": 10,
}
FACE = "mlgym"  # mlgym/__init__.py: sets __version__ first, then re-exports from the parts


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    names: tuple[str, ...]
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in CORE.rglob("*.py")}


def _resolve(source: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source if MODULES[source].name == "__init__.py" else source.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(source: str) -> list[Import]:
    """Every import of a core module by ``source``; ``from package import module`` counts as
    importing the module."""
    found = []
    for node in ast.walk(ast.parse(MODULES[source].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(source, a.name, (), node.lineno) for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(source, node)
            if target not in MODULES:
                continue
            names = []
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append(Import(source, f"{target}.{alias.name}", (), node.lineno))
                else:
                    names.append(alias.name)
            if names:
                found.append(Import(source, target, tuple(names), node.lineno))
    return found


GRAPH = {source: imports_of(source) for source in MODULES}


def part_of(module: str) -> str:
    return module.split(".")[1] if module != FACE else FACE


def cycles() -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        for edge in GRAPH[module]:
            if edge.target not in index:
                visit(edge.target)
                low[module] = min(low[module], low[edge.target])
            elif edge.target in stack:
                low[module] = min(low[module], index[edge.target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or any(e.target == module for e in GRAPH[module]):
                found.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    return found


def test_no_import_circle_in_the_core():
    circles = cycles()
    described = []
    for component in circles:
        members = set(component)
        edges = [f"    {e.source} -> {e.target} (line {e.line})"
                 for m in component for e in GRAPH[m] if e.target in members]
        described.append("\n".join(edges))
    assert not circles, "import circles:\n" + "\n\n".join(described)


def test_every_part_imports_only_lower_floors():
    unknown = sorted({part_of(m) for m in MODULES} - set(FLOORS) - {FACE})
    assert not unknown, f"new parts {unknown}: give each a floor in FLOORS (and its __init__ a Layer:)"
    wrong = []
    for edges in GRAPH.values():
        for e in edges:
            source, target = part_of(e.source), part_of(e.target)
            if source == target or source == FACE:
                continue
            if target == FACE:
                if set(e.names) != {"__version__"}:  # the face re-exports; import from the part
                    wrong.append(f"{e.source}:{e.line} imports {e.names} from mlgym itself")
            elif FLOORS[target] >= FLOORS[source]:
                wrong.append(f"{e.source}:{e.line} imports {e.target} (floor {FLOORS[target]}, "
                             f"{source} is on floor {FLOORS[source]})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_production_code_does_not_import_the_test_aids():
    users = sorted(e.source for edges in GRAPH.values() for e in edges
                   if e.target == "mlgym.testing" and e.source != "mlgym.testing")
    assert not users, f"mlgym.testing is for tests and task authors, yet imported by {users}"


PARTS = sorted(p.parent.name for p in CORE.glob("*/__init__.py"))


def test_the_top_level_shows_the_parts():
    assert {"plugins", "specs", "sandbox", "episode", "agents", "scoring", "cli"} <= set(PARTS)
    loose = sorted(p.name for p in CORE.glob("*.py"))
    assert len(loose) <= 6, f"core/mlgym has loose modules {loose}; group new modules in a part"
    folders = sorted(p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == PARTS, f"folders of core/mlgym that are no part: {set(folders) - set(PARTS)}"


@pytest.mark.parametrize("part", PARTS)
def test_each_part_says_what_it_is_and_what_it_may_import(part):
    doc = ast.get_docstring(ast.parse((CORE / part / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"mlgym/{part}/__init__.py has no docstring saying what the part is"
    assert "Layer:" in doc, f"mlgym/{part}/__init__.py does not say what it may import (Layer: ...)"


@pytest.mark.parametrize("part", PARTS)
def test_each_name_a_part_exports_can_be_imported(part):
    module = importlib.import_module(f"mlgym.{part}")
    missing = [name for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
    assert not missing, f"mlgym.{part}.__all__ names what it does not have: {missing}"
