"""Every audit action has words: the audit log shows a translated label (the code beside it),
and a new `audit.record(..., "thing.done")` without a label fails here."""

import ast
from pathlib import Path

import sharehub
from sharehub.core.audit_labels import ACTION_LABELS

ROOT = Path(sharehub.__file__).parent


def _constant_codes(node) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):  # "unit.activated" if active else "unit.deactivated"
        return _constant_codes(node.body) + _constant_codes(node.orelse)
    return []


def recorded_actions() -> dict[str, str]:
    """Each constant action code passed to audit.record / audit.record_many, with where."""
    found: dict[str, str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            func = node.func
            if func.attr not in ("record", "record_many"):
                continue
            if not (isinstance(func.value, ast.Name) and func.value.id == "audit"):
                continue
            action = node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "action":
                    action = keyword.value
            for code in _constant_codes(action):
                found.setdefault(code, f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return found


def test_every_recorded_action_has_a_label():
    found = recorded_actions()
    assert len(found) > 100  # the walk finds the calls
    missing = {code: where for code, where in found.items() if code not in ACTION_LABELS}
    assert not missing, (
        f"give these audit actions a label in sharehub/core/audit_labels.py: {missing}"
    )


def test_every_state_machine_action_has_a_label():
    """Transitions are audited as `booking.<action>` / `testing_request.<action>` (or the
    transition's own code): names the AST walk cannot see."""
    from sharehub.booking.models import TRANSITIONS as BOOKING
    from sharehub.testing.models import TRANSITIONS as TESTING

    codes = {rule.audit or f"booking.{name}" for name, rule in BOOKING.items()}
    codes |= {f"testing_request.{name}" for name in TESTING}
    assert not codes - set(ACTION_LABELS), sorted(codes - set(ACTION_LABELS))
