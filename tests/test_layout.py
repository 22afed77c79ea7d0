"""The layout is the architecture: checked, not hoped for.

- no import cycle between modules, nor between the concept packages (the allowed directions
  are the ones AGENTS.md draws: a package never imports one that imports it back);
- no module over 400 lines;
- no in-function import of our own modules (lazy imports are for the OpenHands SDK and other
  heavy third-party libraries only);
- a package's `__init__` only re-exports (its public face);
- collecting the tests imports neither the SDK nor litellm.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "sre_agent"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules imported at module level, in-function imports of ours as (line, module))."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top: set[str] = set()
    inner: list[tuple[int, str]] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        subs = [f"{base}.{alias.name}" for alias in node.names]
        # `from pkg import submodule` depends on the submodule; `from pkg import name`, on pkg
        names_only = any(sub not in MODULES for sub in subs)
        return [*([base] if names_only else []), *subs]

    def resolve(candidates: list[str]) -> set[str]:
        return {c for c in candidates if c in MODULES and c != name}

    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top |= resolve(targets(node))
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not imports at run
            continue
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    inner += [(node.lineno, m) for m in resolve(targets(node))]
    return top, inner


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_import_cycle_between_modules() -> None:
    edges = {name: top for name, (top, _) in GRAPH.items()}
    assert _cycles(edges) == []


def test_no_import_cycle_between_concept_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, (top, _) in GRAPH.items():
        for target in top:
            if _package(target) != _package(name):
                edges[_package(name)].add(_package(target))
    assert _cycles(edges) == []


def test_the_cycle_checker_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_in_function_import_of_our_own_modules() -> None:
    found = {name: inner for name, (_, inner) in GRAPH.items() if inner}
    assert found == {}


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_package_init_only_re_exports(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Expr):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign):  # __all__, and a lazy table
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":  # lazy re-export
            continue
        raise AssertionError(f"{name}: {type(node).__name__} at line {node.lineno}")


def test_collecting_the_tests_imported_no_sdk() -> None:
    from tests.conftest import HEAVY_AT_COLLECTION

    assert HEAVY_AT_COLLECTION == []
