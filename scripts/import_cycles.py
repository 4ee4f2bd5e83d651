"""Report import circles among the package's modules and its longest functions (ast only).

Usage: ``python scripts/import_cycles.py [package folder]``. Every ``import`` counts, at module
level and inside functions; circles are reported twice, with and without the imports under
``if TYPE_CHECKING:`` (which never run: they only name types). Importing the package itself
(``from . import __version__``) counts as importing ``__init__``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DEFAULT_PACKAGE = Path(__file__).resolve().parents[1] / "src" / "napari_noise2inpaint"


def module_names(package: Path) -> dict[str, Path]:
    """Dotted names (relative to the package, "" for ``__init__``) of every module file."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(name: str, path: Path, known: set[str], types: bool = True) -> set[str]:
    """Return the package modules ``name`` imports; ``types``: with TYPE_CHECKING imports."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if name else []
    package = here if is_package else here[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if types else _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            target = _absolute_target(node, package)
            for alias in node.names if target is not None else ():
                candidate = ".".join([*target, alias.name])
                found.add(candidate if candidate in known else ".".join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == DEFAULT_PACKAGE.name:
                    found.add(".".join(parts[1:]))
    return {module for module in found if module in known and module != name}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Return the ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def _absolute_target(node: ast.ImportFrom, package: list[str]) -> list[str] | None:
    """Return the imported module's parts relative to the package, or None outside the package."""
    module = node.module.split(".") if node.module else []
    if node.level:
        return [*package[: len(package) - (node.level - 1)], *module]
    if module and module[0] == DEFAULT_PACKAGE.name:
        return module[1:]
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def floors(graph: dict[str, set[str]]) -> list[str]:
    """Return the longest chain of imports (each circle taken as one module), top first."""
    group = {node: node for node in graph}
    for component in cycles(graph):
        for member in component:
            group[member] = component[0]
    chains: dict[str, list[str]] = {}

    def chain(node: str) -> list[str]:
        if node not in chains:
            below = {group[c] for m in graph if group[m] == node for c in graph[m]} - {node}
            chains[node] = [node, *max((chain(b) for b in sorted(below)), key=len, default=[])]
        return chains[node]

    return max((chain(group[node]) for node in sorted(graph)), key=len)


def longest_functions(names: dict[str, Path], count: int = 5) -> list[tuple[int, str]]:
    """Return the ``count`` longest functions as (lines, name), docstrings included."""
    lengths = []
    for name, path in names.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                lengths.append((lines, f"{name or '__init__'}.{node.name}"))
    return sorted(lengths, reverse=True)[:count]


def main() -> None:
    """Print the modules in import circles and the longest functions."""
    package = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PACKAGE
    names = module_names(package)
    entries = [p for p in package.iterdir() if not p.name.startswith((".", "__pycache__"))]
    print(f"modules: {len(names)}; top-level entries: {len(entries)}")
    for types, label in ((True, "all imports"), (False, "without TYPE_CHECKING imports")):
        graph = {
            name: imported_modules(name, path, set(names), types) for name, path in names.items()
        }
        found = cycles(graph)
        members = sorted({module for component in found for module in component})
        print(f"{label}: {len(members)} modules in an import circle")
        for component in found:
            print("  circle:", " <-> ".join(module or "__init__" for module in component))
    run_time = {n: imported_modules(n, p, set(names), False) for n, p in names.items()}
    longest = floors(run_time)
    chain = " -> ".join(module or "__init__" for module in longest)
    print(f"floors (run-time imports): {len(longest)}: {chain}")
    print("longest functions:")
    for lines, name in longest_functions(names):
        print(f"  {lines:4d}  {name}")


if __name__ == "__main__":
    main()
