"""What the order page shows of an order's work: its runs, turnaround and statement, and
the form that schedules a run (shown again with what was typed after a refusal)."""

from __future__ import annotations

from sharehub.testing import work
from sharehub.testing.forms import RunForm


def run_form(req) -> RunForm:
    form = RunForm(prefix="run")
    form.unit_id.choices = [(u.id, f"{u.listing.name} · {u.name}") for u in work.order_units(req)]
    return form


def work_context(req, user, form: RunForm | None = None) -> dict:
    is_lab = req.is_lab_manager(user)
    statement = work.live_statement(req) if is_lab or req.is_customer(user) else None
    schedulable = is_lab and req.status in work.SCHEDULABLE
    return dict(
        runs=work.runs_of(req),
        turnaround=work.turnaround(req),
        statement=statement,
        run_form=(form or run_form(req)) if schedulable else None,
        can_bill=is_lab and req.status in work.BILLABLE and statement is None,
    )
