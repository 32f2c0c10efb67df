"""The test suite's own layout: test modules import shared fixtures and helpers from
tests.support only, never from another test module or conftest (fixtures reach them through
the plugins the root conftest lists in `pytest_plugins`)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ALLOWED = "tests.support"


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                if node.module is None:  # `from . import x`: x is a module of that package
                    found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
                    continue
            else:
                module = node.module or ""
            if module == "tests":  # `from tests import conftest`
                found += [(node.lineno, f"tests.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, module))
    return found


def cross_test_imports(root: Path = TESTS) -> list[str]:
    """Every import of a module under tests/ that is not tests.support, as 'path:line: name'."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        package = ".".join(relative.parent.parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imported_modules(tree, package):
            if module != "tests" and not module.startswith("tests."):
                continue
            if module == ALLOWED or module.startswith(ALLOWED + "."):
                continue
            bad.append(f"{relative}:{line}: {module}")
    return bad


def test_test_modules_import_helpers_from_tests_support_only():
    assert cross_test_imports() == []


def test_the_check_sees_every_form_of_a_cross_test_import(tmp_path):
    root = tmp_path / "tests"
    (root / "support").mkdir(parents=True)
    (root / "stats").mkdir()
    (root / "support" / "clock.py").write_text("from tests.stats import conftest\n")
    (root / "stats" / "test_a.py").write_text(
        "from tests.support.clock import at\n"
        "from tests.stats.conftest import WEEK\n"
        "import tests.api.test_bookings\n"
        "from tests import conftest\n"
        "from .conftest import local\n"
        "from . import test_b\n"
        "def f():\n"
        "    from tests.conftest import PASSWORD\n"
    )
    assert cross_test_imports(root) == [
        "tests/stats/test_a.py:2: tests.stats.conftest",
        "tests/stats/test_a.py:3: tests.api.test_bookings",
        "tests/stats/test_a.py:4: tests.conftest",
        "tests/stats/test_a.py:5: tests.stats.conftest",
        "tests/stats/test_a.py:6: tests.stats.test_b",
        "tests/stats/test_a.py:8: tests.conftest",
        "tests/support/clock.py:1: tests.stats",
    ]
