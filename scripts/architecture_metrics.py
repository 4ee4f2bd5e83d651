"""Measure the package's architecture: modules, floors of imports, circles, longest function.

Every import of one package module by another is an edge, also those inside functions (lazy)
and those only for type checkers (under ``if TYPE_CHECKING:``). Circles are the strongly
connected components with more than one module, counted with and without the type-only
edges; floors are the longest chain of imports once each circle is taken as one module.

    python scripts/architecture_metrics.py [--src src/napari_noise2inpaint] [--json out.json]
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

PACKAGE = "napari_noise2inpaint"


def module_name(path: Path, root: Path) -> str:
    """Return the dotted module name of ``path`` inside the package at ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def imports_of(tree: ast.Module, name: str, is_package: bool, modules: set[str]) -> dict:
    """Return the package modules ``tree`` imports, each with its kind: run, lazy or type.

    ``from package import submodule`` counts as an import of the submodule only.
    """
    found: dict[str, str] = {}
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node, kind in _walk(tree):
        targets = [t for t in _targets(node, base) if t in modules]
        if len(targets) > 1:
            targets = targets[1:] if isinstance(node, ast.ImportFrom) else targets
        for target in targets:
            if found.get(target) != "run":
                found[target] = kind if target not in found or kind == "run" else found[target]
    return found


def _walk(tree: ast.Module):
    """Yield every import node with its kind ("run", "lazy" inside functions, "type")."""

    def visit(node, kind):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, kind
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from visit(child, "type")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(child, "lazy" if kind == "run" else kind)
            else:
                yield from visit(child, kind)

    yield from visit(tree, "run")


def _targets(node, base: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        anchor = base[: len(base) - node.level + 1]
        module = ".".join(anchor + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [module] + [f"{module}.{alias.name}" for alias in node.names]


def graph(root: Path) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """Return the import graph of the package and the longest function of each module."""
    edges, longest = {}, {}
    files = sorted(root.rglob("*.py"))
    names = {module_name(p, root) for p in files}
    for path in files:
        name = module_name(path, root)
        tree = ast.parse(path.read_text())
        found = imports_of(tree, name, path.name == "__init__.py", names)
        edges[name] = {t: k for t, k in found.items() if t != name}
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        longest[name] = max((n.end_lineno - n.lineno + 1 for n in functions), default=0)
    return edges, longest


def circles(edges: dict[str, dict[str, str]], kinds: set[str]) -> list[list[str]]:
    """Strongly connected components (more than one module) over edges of ``kinds``."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, kind in edges[node].items():
            if kind not in kinds:
                continue
            if target not in index:
                connect(target)
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

    for node in edges:
        if node not in index:
            connect(node)
    return found


def floors(edges: dict[str, dict[str, str]], kinds: set[str]) -> int:
    """Longest chain of imports (circles count as one module)."""
    component = {m: m for m in edges}
    for members in circles(edges, kinds):
        for member in members:
            component[member] = members[0]
    depth: dict[str, int] = {}

    def height(node, seen=()):
        if node in depth:
            return depth[node]
        below = [
            component[t]
            for m in edges
            if component[m] == node
            for t, k in edges[m].items()
            if k in kinds and component[t] != node and component[t] not in seen
        ]
        depth[node] = 1 + max((height(t, (*seen, node)) for t in below), default=0)
        return depth[node]

    return max(height(component[m]) for m in edges)


def measure(root: Path) -> dict:
    """Return the architecture numbers of the package at ``root``."""
    edges, longest = graph(root)
    worst = max(longest, key=longest.get)
    top = [p.name for p in root.iterdir() if not p.name.startswith((".", "__pycache__"))]
    return {
        "modules": len(edges),
        "top_level_entries": len(top),
        "floors_run_time": floors(edges, {"run"}),
        "circles_run_time": circles(edges, {"run"}),
        "circles_with_lazy": circles(edges, {"run", "lazy"}),
        "circles_with_type_only": circles(edges, {"run", "lazy", "type"}),
        "longest_function_lines": longest[worst],
        "longest_function_module": worst,
    }


def main(argv=None) -> dict:
    """Print (and optionally save) the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=f"src/{PACKAGE}")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    numbers = measure(Path(args.src))
    text = json.dumps(numbers, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return numbers


if __name__ == "__main__":
    main()
