"""The layers hold: no import cycles, and the lower layers never import aiohttp.

Imports are read from the source (``ast``), function-level ones included, so a
cycle hidden inside a function body fails here too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "folionaut"
#: Layers that must not import aiohttp at all (storage talks SQL, content holds rules, core is for all).
WITHOUT_AIOHTTP = ("folionaut.storage", "folionaut.content", "folionaut.core")
#: Modules that must not import aiohttp's server side (the runtime is transport-free).
WITHOUT_AIOHTTP_SERVER = ("folionaut.runtime",)
AIOHTTP_SERVER_MODULES = ("aiohttp.web", "aiohttp.web_")


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module name imported anywhere in the file (``from x import y`` yields x and x.y), with its line."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module, node.lineno
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def internal_graph() -> dict[str, set[str]]:
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for imported, _ in imports_of(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "folionaut":
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    """The top-level part a module belongs to: folionaut.http.routes.content -> folionaut.http."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_modules() -> None:
    found = cycles(internal_graph())
    assert not found, "import cycles (break them by moving the shared part down a layer):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in found)


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in internal_graph().items():
        source = package_of(module)
        packages.setdefault(source, set()).update(package_of(t) for t in targets if package_of(t) != source)
    found = cycles(packages)
    assert not found, "packages that import each other:\n" + "\n".join(" <-> ".join(cycle) for cycle in found)


def test_lower_layers_never_import_aiohttp() -> None:
    offences = []
    for name, path in module_files().items():
        for imported, line in imports_of(name, path):
            root = imported.split(".")[0]
            if name.startswith(WITHOUT_AIOHTTP) and root == "aiohttp":
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
            if name in WITHOUT_AIOHTTP_SERVER and imported.startswith(AIOHTTP_SERVER_MODULES):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported} (server side)")
    assert not offences, "\n".join(offences)


def test_the_checks_see_what_they_look_for() -> None:
    """The graph really holds function-level imports, and a planted cycle is found."""
    graph = internal_graph()
    assert "folionaut.http.server" in graph["folionaut.cli.serving"]  # imported inside a command's function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_500_lines() -> None:
    long = {str(path.relative_to(PACKAGE.parent)): count for path in PACKAGE.rglob("*.py")
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"split these by what they hold: {long}"
