"""The layering rules of docs/architecture.md, read from the code's own imports (every
`import`, also those inside functions): domain logic imports only its own package and the
layers below it; pages (views, forms, blueprints) use the logic of any domain, the pages of
their own package and core's page helpers; no module imports itself back through others."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sharehub"

# Domain logic, from the bottom up; a package may import those on its own line or below
# (packages on one line must not import each other).
LAYERS: list[tuple[str, ...]] = [
    ("extensions",),
    ("core",),
    ("accounts",),
    ("catalog", "institutions"),
    ("calendar",),
    ("competence", "calibration"),
    ("booking",),
    ("billing",),
    ("vouchers", "fapiao"),
    ("testing",),
    ("stats",),
    ("assessment",),
    ("admin", "api"),
    ("demo",),
    ("cli",),
    ("__init__",),  # create_app(): the one place that assembles every domain's pages
]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}

# Imports that still run against the rules, each to be removed; the test fails when one
# goes away without leaving this list, so the list stays exact.
KNOWN: set[tuple[str, str]] = set()

# Import circles that still stand (each a sorted list of modules), same rule.
KNOWN_CYCLES: list[list[str]] = []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_page(module: str) -> bool:
    """Views, their forms and blueprints: the edge that speaks HTTP."""
    parts = module.split(".")
    return any(
        part in ("views", "pages", "forms", "blueprint")
        or part.endswith("_views")
        or part.startswith("views_")
        for part in parts[2:]
    )


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from package import module` uses the module, not the package's own code
                names = [f"{node.module}.{a.name}" for a in node.names]
                if any(name not in modules for name in names):
                    names.append(node.module)
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name in modules and name != module:
                    graph[module].add(name)
    return graph


def _violations() -> set[tuple[str, str]]:
    found = set()
    for module, targets in _imports().items():
        source_pkg = _package(module)
        if module == "sharehub":
            continue  # the app factory registers every blueprint
        for target in targets:
            target_pkg = _package(target)
            if target_pkg == source_pkg:
                # logic never reaches up into pages; a package's __init__ may gather them
                if _is_page(target) and not _is_page(module) and module != f"sharehub.{source_pkg}":
                    found.add((module, target))
                continue
            if _is_page(target) and target_pkg != "core":
                found.add((module, target))  # another package's pages (core's are shared)
            elif not _is_page(module) and LEVEL[target_pkg] >= LEVEL[source_pkg]:
                found.add((module, target))  # logic importing a layer above or beside it
    return found


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    graph = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_package_has_a_layer():
    packages = {_package(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert packages <= set(LEVEL), sorted(packages - set(LEVEL))


def test_imports_follow_the_layers():
    found = _violations()
    assert found - KNOWN == set(), "imports against the layers:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in sorted(found - KNOWN)
    )
    assert KNOWN - found == set(), "no longer found, remove from KNOWN: " + repr(KNOWN - found)


def test_no_module_imports_itself_back():
    found = _cycles()
    assert [g for g in found if g not in KNOWN_CYCLES] == []
    assert [g for g in KNOWN_CYCLES if g not in found] == [], "gone, remove from KNOWN_CYCLES"
