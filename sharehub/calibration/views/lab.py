"""The lab's calibration pages: a unit's certificates and status, recording a certificate,
planning a calibration (an outage) and the listing's block-or-flag choice."""

from __future__ import annotations

from flask import abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.calibration import queries, services
from sharehub.calibration.blueprint import bp
from sharehub.calibration.forms import CertificateForm, PlanForm, PolicyForm
from sharehub.calibration.models import Certificate
from sharehub.catalog.models import Listing, Unit
from sharehub.core.actions import page, perform
from sharehub.core.forms import refuse_form
from sharehub.core.uploads import read_upload
from sharehub.extensions import db


def _unit(unit_id: int) -> Unit:
    """A unit of the viewer's own lab; another lab's units are not even acknowledged."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or current_user.membership_in(unit.listing.lab_id) is None:
        abort(404)
    return unit


def _managed_unit(unit_id: int) -> Unit:
    unit = _unit(unit_id)
    if not current_user.can_manage(unit.listing.lab):
        abort(403)
    return unit


@bp.route("/lab/units/<int:unit_id>/calibration")
@login_required
def unit_page(unit_id: int):
    return _unit_page(_unit(unit_id))


def _unit_page(unit: Unit, form=None, plan_form=None, policy_form=None):
    policy_form = policy_form or PolicyForm(
        policy="block" if queries.blocks_unfit(unit.listing) else "flag"
    )
    return render_template(
        "calibration/unit.html",
        unit=unit,
        listing=unit.listing,
        status=queries.unit_status(unit),
        certificates=list(reversed(queries.certificates_of(unit))),
        outages=[o for o in unit.outages if o.kind.value == "calibration"],
        form=form or CertificateForm(),
        plan_form=plan_form or PlanForm(),
        policy_form=policy_form,
        can_manage=current_user.can_manage(unit.listing.lab),
    )


@bp.route("/lab/units/<int:unit_id>/certificates", methods=["POST"])
@login_required
def record_certificate(unit_id: int):
    unit = _managed_unit(unit_id)
    form = CertificateForm()

    def again():
        return _unit_page(unit, form=form)

    if not form.validate_on_submit():
        return refuse_form(form, again)

    def record():
        pdf, name = read_upload(form.pdf.data, services.MAX_PDF_BYTES)
        return services.record_certificate(current_user, unit, form.certificate_data(), pdf, name)

    return perform(
        record,
        done=url_for("calibration.unit_page", unit_id=unit.id),
        success=_("The certificate has been recorded."),
        again=again,
        form=form,
    )


@bp.route("/lab/certificates/<int:certificate_id>/plan", methods=["POST"])
@login_required
def plan_calibration(certificate_id: int):
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        abort(404)
    unit = _managed_unit(certificate.unit_id)
    form = PlanForm()

    def again():
        return _unit_page(unit, plan_form=form)

    if not form.validate_on_submit():
        return refuse_form(form, again)
    return perform(
        lambda: services.plan_calibration(
            current_user, certificate, form.starts.data, form.ends.data, form.note.data or ""
        ),
        done=url_for("calibration.unit_page", unit_id=unit.id),
        success=_("The calibration is planned; the unit takes no bookings in that time."),
        again=again,
        form=form,
    )


@bp.route("/lab/listings/<int:listing_id>/calibration-policy", methods=["POST"])
@login_required
def set_policy(listing_id: int):
    listing = db.session.get(Listing, listing_id)
    if listing is None or current_user.membership_in(listing.lab_id) is None:
        abort(404)
    if not current_user.can_manage(listing.lab):
        abort(403)
    form = PolicyForm()
    first = next((u for u in listing.units), None)
    if first is None:
        abort(404)
    if not form.validate_on_submit():
        return refuse_form(form, page("calibration.unit_page", unit_id=first.id))
    return perform(
        lambda: services.set_policy(current_user, listing, form.policy.data == "block"),
        done=url_for("calibration.unit_page", unit_id=first.id),
        success=_("The choice for overdue units has been saved."),
        again=page("calibration.unit_page", unit_id=first.id),
    )
