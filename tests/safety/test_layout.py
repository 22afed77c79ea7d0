"""The safety package's shape, beyond tests/test_layout.py: the engine never depends on a rule
module, no cycle even through package `__init__`s, lazy imports only for the SDK itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PKG = SRC / "sre_agent" / "safety"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _own_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sre_agent.safety"):
            found.add(node.module or "")
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sre_agent.safety")}
    return found


def test_no_import_cycle_inside_the_package() -> None:
    modules = _modules()

    def parents(name: str) -> list[str]:  # importing a.b.c runs a/__init__ and a/b/__init__
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(3, len(parts))]

    graph = {}
    for name, tree in modules.items():
        deps = _own_imports(tree)
        deps |= {p for d in deps for p in parents(d)}
        graph[name] = {d for d in deps if d in modules and d != name}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_in_function_imports_only_at_the_sdk_boundary() -> None:
    lazy = set()
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom):
                        lazy.add((name, (inner.module or "").split(".")[0]))
                    elif isinstance(inner, ast.Import):
                        lazy |= {(name, a.name.split(".")[0]) for a in inner.names}
    assert lazy == {("sre_agent.safety.analyzer", "openhands"),
                    ("sre_agent.safety.analyzer", "pydantic"),
                    ("sre_agent.safety.redact", "dotenv")}


def test_the_engine_and_the_shell_do_not_depend_on_rule_modules() -> None:
    for name, tree in _modules().items():
        if name.startswith(("sre_agent.safety.engine", "sre_agent.safety.shell",
                            "sre_agent.safety.call", "sre_agent.safety.registry")):
            assert not [m for m in _own_imports(tree) if ".rules" in m], name


def test_importing_the_face_is_cheap() -> None:
    code = ("import sys, sre_agent.safety as s; s.Risk; s.SecurityPolicy; s.Redactor; "
            "print(sorted(m for m in ('bashlex', 'openhands.sdk') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
