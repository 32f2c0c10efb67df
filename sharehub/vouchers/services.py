"""Voucher programmes, quotas and their use at payment.

The voucher pays min(subsidy share × amount due, the quota left, the per-order cap). The
quota row is locked while an amount is taken (FOR UPDATE on PostgreSQL; writes are
serialized on SQLite), so concurrent orders never exceed the cap; a check constraint keeps
used ≤ granted in the database as well.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.billing.models import Invoice, InvoiceStatus, PaymentMethod
from sharehub.billing.payments import apply_payment
from sharehub.booking.availability import LAB_TZ
from sharehub.core import audit
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.extensions import db
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse


def _require_authority(actor: User, org: Organisation) -> None:
    if org.kind != OrgKind.AUTHORITY or not actor.can_manage(org):
        raise PermissionDenied(_l("Only the authority's managers may do this."))


def create_programme(
    actor: User,
    authority: Organisation,
    *,
    name: str,
    subsidy_bp: int,
    yearly_cap: int,
    order_cap: int,
    valid_from: date,
    valid_to: date,
    region_ids=(),
    cluster_ids=(),
    fields=(),
    lab_ids=(),
) -> VoucherProgramme:
    _require_authority(actor, authority)
    if not name.strip():
        raise ValidationError(_l("Name the programme."), field="name")
    if not 0 < subsidy_bp <= 10000 or yearly_cap < 0 or order_cap < 0:
        raise ValidationError(
            _l("The share is between 1 and 100 percent, and the caps are not negative.")
        )
    if valid_to < valid_from:
        raise ValidationError(_l("The programme ends after it starts."), field="valid_to")
    programme = VoucherProgramme(
        authority_id=authority.id,
        name=name.strip()[:200],
        subsidy_bp=subsidy_bp,
        yearly_cap=yearly_cap,
        order_cap=order_cap,
        valid_from=valid_from,
        valid_to=valid_to,
        region_ids=list(region_ids),
        cluster_ids=list(cluster_ids),
        fields=list(fields),
        lab_ids=list(lab_ids),
    )
    db.session.add(programme)
    db.session.flush()
    audit.record(
        actor,
        "voucher.programme_created",
        programme,
        organisation=authority.id,
        name=programme.name,
    )
    db.session.flush()
    return programme


def apply_for_quota(
    actor: User, firm: Organisation, programme: VoucherProgramme, year: int, amount: int
) -> VoucherQuota:
    if actor.membership_in(firm) is None or firm.kind != OrgKind.ENTERPRISE:
        raise PermissionDenied(_l("An enterprise applies for its own quota."))
    if not 0 < amount <= programme.yearly_cap:
        raise ValidationError(
            _l("Ask for an amount up to the programme's yearly cap."), field="amount"
        )
    if db.session.scalar(
        sa.select(VoucherQuota.id).where(
            VoucherQuota.programme_id == programme.id,
            VoucherQuota.firm_id == firm.id,
            VoucherQuota.year == year,
        )
    ):
        raise Conflict(_l("You have already applied for this year."))
    quota = VoucherQuota(programme=programme, firm=firm, year=year, requested_amount=amount)
    db.session.add(quota)
    db.session.flush()
    audit.record(actor, "voucher.quota_applied", quota, organisation=firm.id, amount=amount)
    db.session.flush()
    return quota


def grant_quota(actor: User, quota: VoucherQuota, amount: int) -> None:
    _require_authority(actor, quota.programme.authority)
    if quota.status != "applied":
        raise Conflict(_l("This application has already been decided."))
    if not 0 < amount <= quota.programme.yearly_cap:
        raise ValidationError(_l("Grant an amount up to the programme's yearly cap."))
    quota.granted_amount, quota.status = amount, "granted"
    audit.record(actor, "voucher.quota_granted", quota, organisation=quota.firm_id, amount=amount)
    db.session.flush()


def _eligible(programme: VoucherProgramme, invoice: Invoice) -> bool:
    lab = invoice.lab
    region = lab.region
    province = region.parent_id if region else None
    field = invoice.booking.listing.field.value if invoice.booking else None
    return (
        (
            not programme.region_ids
            or lab.region_id in programme.region_ids
            or province in programme.region_ids
        )
        and (not programme.cluster_ids or lab.cluster_id in programme.cluster_ids)
        and (not programme.fields or field in programme.fields)
        and (not programme.lab_ids or lab.id in programme.lab_ids)
    )


def use_voucher(actor: User, quota: VoucherQuota, invoice: Invoice) -> VoucherUse:
    """Pay part of an invoice with the firm's voucher quota; returns the use."""
    if actor.membership_in(quota.firm_id) is None or invoice.customer_org_id != quota.firm_id:
        raise PermissionDenied(_l("Only the firm that holds the quota uses it on its invoices."))
    # Lock the quota row and read it fresh: concurrent orders queue here.
    query = (
        sa.select(VoucherQuota)
        .where(VoucherQuota.id == quota.id)
        .execution_options(populate_existing=True)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    quota = db.session.scalar(query)
    programme = quota.programme
    issued_day = invoice.issued_dt.astimezone(LAB_TZ).date() if invoice.issued_dt else None
    if quota.status != "granted":
        raise Conflict(_l("The quota has not been granted."))
    if invoice.status != InvoiceStatus.ISSUED or not invoice.outstanding:
        raise Conflict(_l("Only an issued, unpaid invoice takes payments."))
    if (
        issued_day is None
        or not programme.valid_from <= issued_day <= programme.valid_to
        or issued_day.year != quota.year
    ):
        raise Conflict(_l("The invoice falls outside the programme's period."))
    if not _eligible(programme, invoice):
        raise Conflict(_l("This laboratory or service is not covered by the programme."))
    share = (invoice.outstanding * programme.subsidy_bp + 5000) // 10000
    amount = min(share, quota.remaining, programme.order_cap)
    if amount <= 0:
        raise Conflict(_l("The quota is used up."))
    quota.used_amount += amount
    payment = apply_payment(
        invoice,
        PaymentMethod.VOUCHER,
        amount,
        actor=actor,
        payer_reference=f"voucher quota #{quota.id}",
    )
    use = VoucherUse(quota=quota, invoice_id=invoice.id, payment_id=payment.id, amount=amount)
    db.session.add(use)
    db.session.flush()
    audit.record(
        actor,
        "voucher.used",
        use,
        organisation=quota.firm_id,
        invoice=invoice.number,
        amount=amount,
    )
    db.session.flush()
    return use


def release_for_invoice(invoice: Invoice, actor=None) -> int:
    """A voided (cancelled) order gives its voucher amounts back to the quota."""
    released = 0
    for use in db.session.scalars(
        sa.select(VoucherUse).where(
            VoucherUse.invoice_id == invoice.id, VoucherUse.status == "applied"
        )
    ):
        use.status = "cancelled"
        use.quota.used_amount -= use.amount
        released += use.amount
        audit.record(
            actor, "voucher.released", use, organisation=use.quota.firm_id, amount=use.amount
        )
    db.session.flush()
    return released
