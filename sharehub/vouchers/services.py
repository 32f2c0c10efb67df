"""Voucher programmes, quotas and their use at payment.

The voucher pays min(subsidy share × the invoice's amount, what is still due, the quota
left, the per-order cap), once per invoice. The invoice row and then the quota row are
locked while an amount is taken (FOR UPDATE on PostgreSQL; writes are serialized on
SQLite), so concurrent orders never exceed the cap and concurrent applications to one
invoice make one use; a check constraint keeps used ≤ granted and a partial unique index
one use in force per invoice in the database as well.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.billing.models import Invoice, InvoiceStatus, PaymentMethod
from sharehub.billing.payments import apply_payment
from sharehub.billing.refunds import reverse_voucher_payment
from sharehub.billing.services import lock as lock_invoice
from sharehub.billing.signals import invoice_annulled
from sharehub.booking.availability import LAB_TZ
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.money import format_fen
from sharehub.extensions import db
from sharehub.vouchers import notify
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse


def _locked_quota(quota: VoucherQuota) -> VoucherQuota:
    """The quota row read again under a lock: decisions and amounts taken at once queue
    here and each sees what the previous one wrote."""
    query = (
        sa.select(VoucherQuota)
        .where(VoucherQuota.id == quota.id)
        .execution_options(populate_existing=True)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.execute(query).scalar_one()


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
    notice_days: int = 7,
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
    if not 0 <= notice_days <= 90:
        raise ValidationError(
            _l("The notice period is between 0 and 90 days."), field="notice_days"
        )
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
        notice_days=notice_days,
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
    if year not in open_years(programme):
        raise ValidationError(
            _l("Apply for a year in which the programme is still open."), field="year"
        )
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
    try:  # the same application sent twice at once: the unique constraint keeps one
        with db.session.begin_nested():
            db.session.add(quota)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_l("You have already applied for this year.")) from exc
    audit.record(actor, "voucher.quota_applied", quota, organisation=firm.id, amount=amount)
    notify.managers(
        programme.authority,
        lambda: _l(
            "%(firm)s applies for a voucher quota of %(amount)s in %(programme)s",
            firm=firm.name,
            amount=format_fen(amount),
            programme=programme.name,
        ),
        url_for("vouchers.programme_page", programme_id=programme.id),
    )
    db.session.flush()
    return quota


def open_years(programme: VoucherProgramme, today: date | None = None) -> list[int]:
    """The years a firm may still apply for: within the programme, not before this one."""
    today = today or local_today()
    if programme.valid_to < today:
        return []
    return list(range(max(programme.valid_from.year, today.year), programme.valid_to.year + 1))


def grant_quota(actor: User, quota: VoucherQuota, amount: int) -> None:
    _require_authority(actor, quota.programme.authority)
    quota = _locked_quota(quota)  # granted and refused at once: the second is told
    if quota.status != "applied":
        raise Conflict(_l("This application has already been decided."))
    if not 0 < amount <= quota.programme.yearly_cap:
        raise ValidationError(_l("Grant an amount up to the programme's yearly cap."))
    quota.granted_amount, quota.status, quota.decided_dt = amount, "granted", utcnow()
    audit.record(actor, "voucher.quota_granted", quota, organisation=quota.firm_id, amount=amount)
    notify.members(
        quota.firm,
        lambda: _l(
            "Your voucher quota in %(programme)s for %(year)s is granted: %(amount)s",
            programme=quota.programme.name,
            year=quota.year,
            amount=format_fen(amount),
        ),
        url_for("vouchers.my_quotas"),
    )
    db.session.flush()


def reject_quota(actor: User, quota: VoucherQuota, reason: str) -> None:
    _require_authority(actor, quota.programme.authority)
    quota = _locked_quota(quota)
    if quota.status != "applied":
        raise Conflict(_l("This application has already been decided."))
    if not reason.strip():
        raise ValidationError(_l("Give the reason for the refusal."), field="reason")
    quota.status, quota.reason, quota.decided_dt = "rejected", reason.strip()[:2000], utcnow()
    audit.record(
        actor, "voucher.quota_rejected", quota, organisation=quota.firm_id, reason=quota.reason
    )
    notify.members(
        quota.firm,
        lambda: _l(
            "Your voucher quota application in %(programme)s was refused: %(reason)s",
            programme=quota.programme.name,
            reason=quota.reason,
        ),
        url_for("vouchers.my_quotas"),
    )
    db.session.flush()


def _eligible(programme: VoucherProgramme, invoice: Invoice) -> bool:
    lab = invoice.lab
    region = lab.region
    province = region.parent_id if region else None
    field = invoice.booking.listing.field.value if invoice.booking else invoice.field
    return (
        lab.id not in (programme.barred_lab_ids or [])
        and (
            not programme.region_ids
            or lab.region_id in programme.region_ids
            or province in programme.region_ids
        )
        and (not programme.cluster_ids or lab.cluster_id in programme.cluster_ids)
        and (not programme.fields or field in programme.fields)
        and (not programme.lab_ids or lab.id in programme.lab_ids)
    )


def applied_use(invoice: Invoice) -> VoucherUse | None:
    return db.session.scalar(
        sa.select(VoucherUse).where(
            VoucherUse.invoice_id == invoice.id, VoucherUse.status == "applied"
        )
    )


def voucher_amount(quota: VoucherQuota, invoice: Invoice) -> int:
    """What the voucher pays on this invoice: min(share × the invoice's amount, what is
    still due, quota left, per-order cap), once per invoice (a share of what is still due,
    taken again and again, would pay half, then a quarter...). Raises Conflict when it
    cannot be used. The checkout preview and `use_voucher` both call this, so the amount
    shown is the amount taken."""
    programme = quota.programme
    issued_day = invoice.issued_dt.astimezone(LAB_TZ).date() if invoice.issued_dt else None
    if quota.status != "granted":
        raise Conflict(_l("The quota has not been granted."))
    if invoice.status != InvoiceStatus.ISSUED or not invoice.outstanding:
        raise Conflict(_l("Only an issued, unpaid statement takes payments."))
    if applied_use(invoice) is not None:
        raise Conflict(_l("A voucher has already been applied to this statement."))
    if (
        issued_day is None
        or not programme.valid_from <= issued_day <= programme.valid_to
        or issued_day.year != quota.year
    ):
        raise Conflict(_l("The statement falls outside the programme's period."))
    if not _eligible(programme, invoice):
        raise Conflict(_l("This laboratory or service is not covered by the programme."))
    share = (invoice.effective_total * programme.subsidy_bp + 5000) // 10000
    amount = min(share, invoice.outstanding, quota.remaining, programme.order_cap)
    if amount <= 0:
        raise Conflict(_l("The quota is used up."))
    return amount


def checkout_options(actor: User, invoice: Invoice) -> list[tuple[VoucherQuota, int, str]]:
    """The customer's granted quotas with what each would pay on the invoice now, or why
    it cannot be used (amount 0 and the reason)."""
    if actor.membership_in(invoice.customer_org_id) is None:
        return []
    quotas = db.session.scalars(
        sa.select(VoucherQuota)
        .where(VoucherQuota.firm_id == invoice.customer_org_id, VoucherQuota.status == "granted")
        .order_by(VoucherQuota.year.desc(), VoucherQuota.id)
    ).all()
    options = []
    for quota in quotas:
        try:
            options.append((quota, voucher_amount(quota, invoice), ""))
        except Conflict as exc:
            options.append((quota, 0, str(exc.message)))
    return options


def use_voucher(actor: User, quota: VoucherQuota, invoice: Invoice) -> VoucherUse:
    """Pay part of an invoice with the firm's voucher quota; returns the use."""
    if actor.membership_in(quota.firm_id) is None or invoice.customer_org_id != quota.firm_id:
        raise PermissionDenied(_l("Only the firm that holds the quota uses it on its statements."))
    # Lock the invoice, then the quota, and read both fresh: applications to one invoice
    # and orders on one quota queue here.
    lock_invoice(invoice)
    quota = _locked_quota(quota)
    amount = voucher_amount(quota, invoice)
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


@invoice_annulled.connect
def give_back(invoice: Invoice, actor=None) -> int:
    """A voided invoice or a cancelled order: each voucher's payment comes off what the
    invoice received, and its amount goes back to the quota. Returns the fen given back."""
    for use in db.session.scalars(
        sa.select(VoucherUse).where(
            VoucherUse.invoice_id == invoice.id, VoucherUse.status == "applied"
        )
    ).all():
        reverse_voucher_payment(use, actor, str(_l("Voucher returned to the quota")))
    return release_for_invoice(invoice, actor)


def release_for_invoice(invoice: Invoice, actor=None) -> int:
    """A voided (cancelled) order gives its voucher amounts back to the quota (locked: an
    order using the same quota at that moment must not overwrite the amount returned)."""
    released = 0
    for use in db.session.scalars(
        sa.select(VoucherUse).where(
            VoucherUse.invoice_id == invoice.id, VoucherUse.status == "applied"
        )
    ).all():
        use.status = "cancelled"
        quota = _locked_quota(use.quota)
        quota.used_amount -= use.amount
        released += use.amount
        audit.record(
            actor, "voucher.released", use, organisation=use.quota.firm_id, amount=use.amount
        )
    db.session.flush()
    return released
