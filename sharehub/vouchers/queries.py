"""Reads for the voucher pages, and the programme report: granted, used, voided and settled
amounts by firm, by lab and by month, summed by the database."""

from __future__ import annotations

import io

import sqlalchemy as sa

from sharehub.accounts.models import Organisation
from sharehub.billing.models import Invoice
from sharehub.core import csvfile
from sharehub.extensions import db
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)

FIGURES = ("granted", "used", "voided", "settled")


def _sum(column):
    return sa.func.coalesce(sa.func.sum(column), 0)


def _merge(rows: dict, key, name, figure: str, amount) -> None:
    row = rows.setdefault(key, {"key": key, "name": name, **dict.fromkeys(FIGURES, 0)})
    row[figure] = int(amount)


def _uses(programme_id: int):
    return (
        sa.select(VoucherUse)
        .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
        .where(VoucherQuota.programme_id == programme_id)
    )


def by_firm(programme: VoucherProgramme) -> list[dict]:
    rows: dict = {}
    granted = (
        sa.select(Organisation.id, Organisation.name, _sum(VoucherQuota.granted_amount))
        .join(VoucherQuota, VoucherQuota.firm_id == Organisation.id)
        .where(VoucherQuota.programme_id == programme.id, VoucherQuota.status == "granted")
        .group_by(Organisation.id, Organisation.name)
    )
    for org_id, name, amount in db.session.execute(granted):
        _merge(rows, org_id, name, "granted", amount)
    for figure, condition in _use_figures():
        query = (
            sa.select(Organisation.id, Organisation.name, _sum(VoucherUse.amount))
            .join(VoucherQuota, VoucherQuota.firm_id == Organisation.id)
            .join(VoucherUse, VoucherUse.quota_id == VoucherQuota.id)
            .outerjoin(SettlementClaim, SettlementClaim.id == VoucherUse.claim_id)
            .where(VoucherQuota.programme_id == programme.id, condition)
            .group_by(Organisation.id, Organisation.name)
        )
        for org_id, name, amount in db.session.execute(query):
            _merge(rows, org_id, name, figure, amount)
    return sorted(rows.values(), key=lambda r: r["name"])


def _use_figures():
    return (
        ("used", VoucherUse.status == "applied"),
        ("voided", VoucherUse.status == "void"),
        ("settled", SettlementClaim.status == ClaimStatus.PAID),
    )


def by_lab(programme: VoucherProgramme) -> list[dict]:
    rows: dict = {}
    for figure, condition in _use_figures():
        query = (
            sa.select(Organisation.id, Organisation.name, _sum(VoucherUse.amount))
            .select_from(VoucherUse)
            .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
            .join(Invoice, Invoice.id == VoucherUse.invoice_id)
            .join(Organisation, Organisation.id == Invoice.lab_id)
            .outerjoin(SettlementClaim, SettlementClaim.id == VoucherUse.claim_id)
            .where(VoucherQuota.programme_id == programme.id, condition)
            .group_by(Organisation.id, Organisation.name)
        )
        for org_id, name, amount in db.session.execute(query):
            _merge(rows, org_id, name, figure, amount)
    return sorted(rows.values(), key=lambda r: r["name"])


def by_month(programme: VoucherProgramme) -> list[dict]:
    """Granted when decided, used when applied to the invoice, settled when the claim was
    paid (months of the UTC timestamps; the payment date for settlements)."""
    rows: dict = {}

    def month_of(column):
        return sa.extract("year", column).label("y"), sa.extract("month", column).label("m")

    granted = (
        sa.select(*month_of(VoucherQuota.decided_dt), _sum(VoucherQuota.granted_amount))
        .where(VoucherQuota.programme_id == programme.id, VoucherQuota.status == "granted")
        .group_by("y", "m")
    )
    queries = [("granted", granted)]
    for figure, condition in _use_figures():
        column = SettlementClaim.paid_date if figure == "settled" else VoucherUse.created_dt
        queries.append(
            (
                figure,
                sa.select(*month_of(column), _sum(VoucherUse.amount))
                .select_from(VoucherUse)
                .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
                .outerjoin(SettlementClaim, SettlementClaim.id == VoucherUse.claim_id)
                .where(VoucherQuota.programme_id == programme.id, condition)
                .group_by("y", "m"),
            )
        )
    for figure, query in queries:
        for year, month, amount in db.session.execute(query):
            key = f"{int(year):04d}-{int(month):02d}"
            _merge(rows, key, key, figure, amount)
    return sorted(rows.values(), key=lambda r: r["key"])


def totals(rows: list[dict]) -> dict:
    return {figure: sum(r[figure] for r in rows) for figure in FIGURES}


def report(programme: VoucherProgramme) -> dict:
    return {
        "firms": by_firm(programme),
        "labs": by_lab(programme),
        "months": by_month(programme),
    }


def report_csv(programme: VoucherProgramme) -> str:
    """One table: section, name, then the amounts in yuan with two decimals."""
    data = report(programme)
    out = io.StringIO()
    writer = csvfile.writer(out)
    writer.writerow(["section", "name", "granted_cny", "used_cny", "voided_cny", "settled_cny"])
    for section in ("firms", "labs", "months"):
        for row in data[section]:
            writer.writerow([section[:-1], row["name"], *(f"{row[f] / 100:.2f}" for f in FIGURES)])
    return out.getvalue()
