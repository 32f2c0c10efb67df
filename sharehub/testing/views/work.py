"""The lab's pages for running an order: test runs on its units, the statement billed
from the order's lines, and the orders whose report is overdue."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.core.actions import perform
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ConfirmForm, csrf_refused, first_errors
from sharehub.testing import work
from sharehub.testing.blueprint import bp
from sharehub.testing.views.enterprise import render_order
from sharehub.testing.views.lab import _lab_order, my_lab
from sharehub.testing.views.work_panel import run_form


@bp.route("/orders/<int:request_id>/runs", methods=["POST"])
@login_required
def schedule_run(request_id: int):
    req = _lab_order(request_id)
    form = run_form(req)

    def again():
        return render_order(req, run_form=form)

    def do():
        if not form.validate_on_submit():
            if csrf_refused(form):
                abort(400)
            messages = first_errors(form)
            raise ValidationError(messages[0] if messages else _("Please check what you entered."))
        unit = next(u for u in work.order_units(req) if u.id == form.unit_id.data)
        starts = form.starts.data
        return work.schedule(
            current_user,
            req,
            unit,
            starts,
            starts + timedelta(hours=form.hours.data),
            note=form.note.data or "",
        )

    return perform(
        do,
        done=url_for("testing.order_page", request_id=request_id) + "#work",
        success=_("The run is on the unit's calendar."),
        again=again,
    )


@bp.route("/orders/<int:request_id>/runs/<int:run_id>/cancel", methods=["POST"])
@login_required
def unschedule_run(request_id: int, run_id: int):
    req = _lab_order(request_id)
    run = work.get_run(run_id, req)

    def do():
        if not ConfirmForm().validate_on_submit():
            abort(400)
        work.unschedule(current_user, run)

    return perform(
        do,
        done=url_for("testing.order_page", request_id=request_id) + "#work",
        success=_("The run is off the schedule; the unit is free again."),
        again=lambda: render_order(req),
    )


@bp.route("/orders/<int:request_id>/bill", methods=["POST"])
@login_required
def bill(request_id: int):
    req = _lab_order(request_id)

    def do():
        if not ConfirmForm().validate_on_submit():
            abort(400)
        return work.bill(current_user, req)

    return perform(
        do,
        done=lambda invoice: redirect(url_for("billing.invoice_page", invoice_id=invoice.id)),
        success=_("The statement is drafted from the order's lines; check and issue it."),
        again=lambda: render_order(req),
    )


@bp.route("/testing/lab/late")
@login_required
def late_orders():
    lab = my_lab()
    return render_template("testing/late_orders.html", rows=work.late_orders(lab.id))
