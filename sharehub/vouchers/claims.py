"""Settlement claims (申请兑付): the lab claims the voucher amounts it received, with a
contract, the invoice, the payment proof and the service report; the authority reviews,
publishes the claim for a notice period (公示), approves it after that period and marks it
paid, or rejects it. A fraudulent voucher use is voided, refuses its claim and bars the lab
from the programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.booking.models import Booking, BookingStatus
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.dates import format_day
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.money import format_fen
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db
from sharehub.vouchers import notify
from sharehub.vouchers.models import (
    ClaimDocument,
    ClaimStatus,
    DocumentKind,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)

OPEN_CLAIM = (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.PUBLICISED)


def today() -> date:
    return local_today()


def claimable_uses_query(lab_id: int, programme_id: int | None = None):
    """Voucher uses a lab may claim: applied, in no claim, the invoice paid and the booking
    completed."""
    query = (
        sa.select(VoucherUse)
        .join(Invoice, Invoice.id == VoucherUse.invoice_id)
        .join(Booking, Booking.id == Invoice.booking_id)
        .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
        .where(
            Invoice.lab_id == lab_id,
            Invoice.status == InvoiceStatus.PAID,
            Booking.status == BookingStatus.COMPLETED,
            VoucherUse.status == "applied",
            VoucherUse.claim_id.is_(None),
        )
        .order_by(VoucherUse.id)
    )
    if programme_id is not None:
        query = query.where(VoucherQuota.programme_id == programme_id)
    return query


def _require_lab_manager(actor: User, lab: Organisation) -> None:
    if lab.kind != OrgKind.LAB or not actor.can_manage(lab):
        raise PermissionDenied(_l("Only the laboratory's managers may do this."))


def _require_authority(actor: User, programme: VoucherProgramme) -> None:
    authority = programme.authority
    if authority.kind != OrgKind.AUTHORITY or not actor.can_manage(authority):
        raise PermissionDenied(_l("Only the authority's managers may do this."))


def _locked(model, obj):
    """Re-read the row under a lock (PostgreSQL; SQLite serializes writers), so two people
    deciding the same claim at once act one after the other on its fresh state."""
    query = sa.select(model).where(model.id == obj.id).execution_options(populate_existing=True)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query)


def _link(claim: SettlementClaim) -> str:
    return url_for("vouchers.claim_page", claim_id=claim.id)


def create_claim(
    actor: User, lab: Organisation, programme: VoucherProgramme, use_ids: list[int]
) -> SettlementClaim:
    """A draft claim holding the chosen uses; the lab attaches its evidence next."""
    _require_lab_manager(actor, lab)
    if lab.id in (programme.barred_lab_ids or []):
        raise Conflict(_l("Your laboratory is barred from this programme."))
    if not use_ids:
        raise ValidationError(_l("Choose the voucher uses to claim."), field="use_ids")
    query = claimable_uses_query(lab.id, programme.id).where(VoucherUse.id.in_(use_ids))
    if db.engine.dialect.name == "postgresql":
        # Two managers claiming the same use at once: the second waits here, then no longer
        # finds it unclaimed. (SQLite serializes writers from the start.)
        query = query.with_for_update(of=VoucherUse)
    uses = db.session.scalars(query.execution_options(populate_existing=True)).all()
    if len(uses) != len(set(use_ids)):
        raise Conflict(
            _l("Some of the chosen uses can no longer be claimed. Reload the page and try again.")
        )
    claim = SettlementClaim(
        programme=programme,
        lab=lab,
        status=ClaimStatus.DRAFT,
        amount=sum(u.amount for u in uses),
        created_by_id=actor.id,
    )
    db.session.add(claim)
    db.session.flush()
    for use in uses:
        use.claim_id = claim.id
    audit.record(
        actor,
        "voucher.claim_created",
        claim,
        organisation=lab.id,
        uses=[u.id for u in uses],
        amount=claim.amount,
    )
    db.session.flush()
    return claim


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


def add_document(
    actor: User, claim: SettlementClaim, kind: DocumentKind, upload: Upload
) -> ClaimDocument:
    """Attach one piece of evidence; a later file of the same kind replaces the earlier."""
    _require_lab_manager(actor, claim.lab)
    if claim.status != ClaimStatus.DRAFT:
        raise Conflict(_l("Evidence is attached before the claim is submitted."))
    content_type = sniff_document(upload.data)
    stored = store_bytes(upload.data, upload.filename, content_type)
    for old in [d for d in claim.documents if d.kind == kind]:
        claim.documents.remove(old)
    document = ClaimDocument(
        kind=kind,
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=actor.id,
    )
    claim.documents.append(document)
    db.session.flush()
    audit.record(
        actor,
        "voucher.claim_document",
        claim,
        organisation=claim.lab_id,
        kind=kind.value,
        sha256=stored.sha256,
    )
    db.session.flush()
    return document


def submit_claim(actor: User, claim: SettlementClaim) -> None:
    _require_lab_manager(actor, claim.lab)
    claim = _locked(SettlementClaim, claim)
    if claim.status != ClaimStatus.DRAFT:
        raise Conflict(_l("This claim has already been submitted."))
    if claim.missing_kinds:
        raise ValidationError(
            _l("Attach the contract, the fapiao, the payment proof and the service report.")
        )
    claim.status, claim.submitted_dt = ClaimStatus.SUBMITTED, utcnow()
    audit.record(actor, "voucher.claim_submitted", claim, organisation=claim.lab_id)
    notify.managers(
        claim.programme.authority,
        lambda: _l(
            "%(lab)s claims settlement of %(amount)s in %(programme)s",
            lab=claim.lab.name,
            amount=format_fen(claim.amount),
            programme=claim.programme.name,
        ),
        _link(claim),
    )
    db.session.flush()


def discard_claim(actor: User, claim: SettlementClaim) -> None:
    """A draft the lab gives up: its uses become claimable again."""
    _require_lab_manager(actor, claim.lab)
    claim = _locked(SettlementClaim, claim)
    if claim.status != ClaimStatus.DRAFT:
        raise Conflict(_l("Only a draft claim can be discarded."))
    for use in list(claim.uses):
        use.claim_id = None
    audit.record(actor, "voucher.claim_discarded", claim, organisation=claim.lab_id)
    db.session.delete(claim)
    db.session.flush()


def _tell_lab(claim: SettlementClaim, text) -> None:
    notify.managers(claim.lab, text, _link(claim))


def publish_claim(actor: User, claim: SettlementClaim) -> None:
    """The authority has reviewed the evidence and puts the claim under public notice."""
    _require_authority(actor, claim.programme)
    claim = _locked(SettlementClaim, claim)
    if claim.status != ClaimStatus.SUBMITTED:
        raise Conflict(_l("Only a submitted claim can be published."))
    claim.status = ClaimStatus.PUBLICISED
    claim.notice_until = today() + timedelta(days=claim.programme.notice_days)
    audit.record(
        actor,
        "voucher.claim_publicised",
        claim,
        organisation=claim.lab_id,
        notice_until=claim.notice_until.isoformat(),
    )
    _tell_lab(
        claim,
        lambda: _l(
            "Your claim #%(id)s is under public notice; the notice ends on %(day)s",
            id=claim.id,
            day=format_day(claim.notice_until),
        ),
    )
    db.session.flush()


def approve_claim(actor: User, claim: SettlementClaim) -> None:
    _require_authority(actor, claim.programme)
    claim = _locked(SettlementClaim, claim)
    if claim.status != ClaimStatus.PUBLICISED:
        raise Conflict(_l("A claim is approved after its public notice."))
    if today() < claim.notice_until:
        raise Conflict(
            _l(
                "The public notice ends on %(day)s; approve the claim from that day on.",
                day=format_day(claim.notice_until),
            )
        )
    claim.status, claim.decided_dt = ClaimStatus.APPROVED, utcnow()
    audit.record(actor, "voucher.claim_approved", claim, organisation=claim.lab_id)
    _tell_lab(claim, lambda: _l("Your claim #%(id)s is approved", id=claim.id))
    db.session.flush()


def mark_paid(actor: User, claim: SettlementClaim, paid_date: date, reference: str) -> None:
    _require_authority(actor, claim.programme)
    claim = _locked(SettlementClaim, claim)
    if claim.status != ClaimStatus.APPROVED:
        raise Conflict(_l("Only an approved claim is paid."))
    if paid_date > today():
        raise ValidationError(_l("The payment date is in the future."), field="paid_date")
    if not reference.strip():
        raise ValidationError(_l("Give the payment reference."), field="reference")
    claim.status, claim.paid_date = ClaimStatus.PAID, paid_date
    claim.payment_reference = reference.strip()[:100]
    audit.record(
        actor,
        "voucher.claim_paid",
        claim,
        organisation=claim.lab_id,
        paid_date=paid_date.isoformat(),
        reference=claim.payment_reference,
        amount=claim.amount,
    )
    _tell_lab(
        claim,
        lambda: _l(
            "Your claim #%(id)s has been paid: %(amount)s",
            id=claim.id,
            amount=format_fen(claim.amount),
        ),
    )
    db.session.flush()


def _refuse(claim: SettlementClaim, reason: str) -> None:
    """Reject and release the uses that are not void: they become claimable again."""
    claim.status, claim.reject_reason, claim.decided_dt = (
        ClaimStatus.REJECTED,
        reason,
        utcnow(),
    )
    for use in list(claim.uses):
        if use.status != "void":
            use.claim_id = None


def reject_claim(actor: User, claim: SettlementClaim, reason: str) -> None:
    _require_authority(actor, claim.programme)
    claim = _locked(SettlementClaim, claim)
    if claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.PUBLICISED, ClaimStatus.APPROVED):
        raise Conflict(_l("This claim cannot be rejected now."))
    if not reason.strip():
        raise ValidationError(_l("Give the reason for the refusal."), field="reason")
    _refuse(claim, reason.strip()[:2000])
    audit.record(
        actor, "voucher.claim_rejected", claim, organisation=claim.lab_id, reason=reason.strip()
    )
    _tell_lab(
        claim,
        lambda: _l(
            "Your claim #%(id)s was rejected: %(reason)s", id=claim.id, reason=claim.reject_reason
        ),
    )
    db.session.flush()


def mark_fraudulent(actor: User, use: VoucherUse, reason: str) -> None:
    """Void the use (its amount does not return to the firm's quota), refuse any claim not yet
    paid that contains it, and bar the lab from the programme.

    Unless the authority has already paid the claim, the voucher's payment is taken off the
    invoice, which is open again for that amount."""
    from sharehub.billing.services import lock as lock_invoice

    lock_invoice(use.invoice)  # the invoice first, as paying and voiding it lock it
    use = _locked(VoucherUse, use)
    programme = use.quota.programme
    _require_authority(actor, programme)
    if use.status == "void":
        raise Conflict(_l("This voucher use is already void."))
    if use.status != "applied":
        raise Conflict(_l("Only a voucher use in force can be voided."))
    if not reason.strip():
        raise ValidationError(_l("Give the reason."), field="reason")
    reason = reason.strip()[:2000]
    lab = use.invoice.lab
    use.status, use.void_reason = "void", reason
    claim = _locked(SettlementClaim, use.claim) if use.claim_id else None
    if claim is not None and claim.status != ClaimStatus.PAID:
        _refuse(claim, str(_l("Fraudulent voucher use: %(reason)s", reason=reason)))
        audit.record(
            actor, "voucher.claim_rejected", claim, organisation=claim.lab_id, reason=reason
        )
    if claim is None or claim.status != ClaimStatus.PAID:
        from sharehub.billing.refunds import reverse_voucher_payment

        reverse_voucher_payment(
            use, actor, str(_l("Fraudulent voucher use: %(reason)s", reason=reason))
        )
    if lab.id not in (programme.barred_lab_ids or []):
        # A new list so the JSON column sees the change.
        programme.barred_lab_ids = [*(programme.barred_lab_ids or []), lab.id]
    audit.record(
        actor,
        "voucher.use_voided",
        use,
        organisation=lab.id,
        invoice=use.invoice.number,
        amount=use.amount,
        reason=reason,
        programme=programme.id,
    )
    notify.managers(
        lab,
        lambda: _l(
            "A voucher use of %(amount)s (statement %(number)s) was found fraudulent and voided; "
            "your laboratory is barred from %(programme)s",
            amount=format_fen(use.amount),
            number=use.invoice.number,
            programme=programme.name,
        ),
        _link(claim) if claim is not None else url_for("vouchers.lab_claims"),
    )
    db.session.flush()
