"""The head's decision on a booking of their group, from the emailed link: the page shows
the booking; approving or declining needs the head signed in, and deciding twice changes
nothing."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.booking import funding, services
from sharehub.booking.models import HeadApproval
from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError
from sharehub.core.forms import refuse_form
from sharehub.institutions.blueprint import bp
from sharehub.institutions.forms import DecisionForm


def _booking_for_head(token: str):
    try:
        booking = funding.booking_of_token(token)
    except DomainError as exc:
        return None, exc
    if not booking.is_head(current_user):
        abort(403)
    return booking, None


@bp.route("/approvals/<token>")
@login_required
def head_decision(token: str, status: int = 200):
    booking, error = _booking_for_head(token)
    if booking is None:
        return refused(error)
    return render_template(
        "institutions/decision.html", booking=booking, token=token, form=DecisionForm()
    ), status


@bp.route("/approvals/<token>/<any(approve, decline):action>", methods=["POST"])
@login_required
def decide(token: str, action: str):
    booking, error = _booking_for_head(token)
    if booking is None:
        return refused(error)
    form = DecisionForm()
    if not form.validate():
        return refuse_form(form, lambda: head_decision(token))
    decided = HeadApproval.APPROVED if action == "approve" else HeadApproval.DECLINED
    if funding.is_decided(booking, decided):
        flash(_("You have already decided on this booking."), "info")
        return redirect(url_for("booking.booking_page", booking_id=booking.id))
    return perform(
        lambda: (
            services.head_approve(current_user, booking)
            if action == "approve"
            else services.head_decline(current_user, booking, form.reason.data)
        ),
        done=url_for("booking.booking_page", booking_id=booking.id),
        success=_("The booking has been approved.")
        if action == "approve"
        else _("The booking has been declined; its time is free again."),
        again=lambda: head_decision(token),
    )
