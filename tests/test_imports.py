"""The package's import graph: no cycle, and the layering of docs/architecture.md.

Every ``import`` / ``from … import`` statement of every module counts, at module level and
inside functions alike (a function-level import that closes a cycle still ties the two modules
together); only imports under ``if TYPE_CHECKING:`` are left out (they never run). An import of
``cordsneuro.a.b`` is an edge to module ``cordsneuro.a.b``; ``from cordsneuro.a import b`` is an
edge to ``cordsneuro.a.b`` when that is a module, else to the package ``cordsneuro.a``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cordsneuro

ROOT = Path(cordsneuro.__file__).resolve().parent

#: Layers from the bottom: a module may import modules of its own layer or of layers below.
#: Package ``__init__`` files re-export names lazily or from their own layer.
LAYERS = (
    ("cordsneuro._atomic", "cordsneuro._util"),
    ("cordsneuro.dynamics",),
    ("cordsneuro.models",),
    ("cordsneuro.tasks",),
    ("cordsneuro.analyses",),
    ("cordsneuro.plotting",),
    ("cordsneuro.training",),
    ("cordsneuro.cli",),
)


def module_names() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    edges: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            edges.update(a.name for a in node.names if a.name.split(".")[0] == "cordsneuro")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "cordsneuro":
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    edges.discard(name)
    return {e for e in edges if e in modules}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def layer_of(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return -1  # the package root: lazy re-exports only


def test_the_walker_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_walker_reads_function_level_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import cordsneuro.plotting\n"
        "def f():\n    from cordsneuro.models import recurrent\n"
    )
    modules = {"cordsneuro.models.recurrent": src, "cordsneuro.plotting": src}
    assert imports_of("cordsneuro.x", src, modules) == {"cordsneuro.models.recurrent"}


def test_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 20
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_imports_follow_the_layers():
    graph = import_graph()
    assert all(layer_of(m) >= 0 for m in graph if m != "cordsneuro"), [
        m for m in graph if m != "cordsneuro" and layer_of(m) < 0
    ]
    upward = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if m != "cordsneuro" and layer_of(t) > layer_of(m)
    )
    assert upward == []


def test_no_private_model_method_outside_the_core():
    """Analyses, tasks, training, plotting and the CLI use only a model's public interface."""
    offenders = []
    for name, path in module_names().items():
        if not name.startswith(
            (
                "cordsneuro.analyses",
                "cordsneuro.tasks",
                "cordsneuro.training",
                "cordsneuro.plot",
                "cordsneuro.cli",
            )
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("model", "clone", "net", "network")
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offenders.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
