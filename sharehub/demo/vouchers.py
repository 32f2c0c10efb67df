"""Demo vouchers: the demo authority's programme for this year and a granted quota for the
demo buyer's firm, so `make run` shows the voucher at checkout."""

from __future__ import annotations

from datetime import date

from sharehub.accounts.models import Organisation
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.extensions import db
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota


def seed_demo_vouchers(authority: Organisation, firm: Organisation) -> VoucherProgramme:
    year = local_today().year
    programme = VoucherProgramme(
        authority=authority,
        name=f"{year}年苏州市科技创新券",
        subsidy_bp=5000,
        yearly_cap=500_000_00,
        order_cap=20_000_00,
        valid_from=date(year, 1, 1),
        valid_to=date(year, 12, 31),
        notice_days=7,
    )
    quota = VoucherQuota(
        programme=programme,
        firm=firm,
        year=year,
        requested_amount=100_000_00,
        granted_amount=100_000_00,
        status="granted",
        decided_dt=utcnow(),
    )
    db.session.add_all([programme, quota])
    db.session.flush()
    audit.record(None, "voucher.programme_created", programme, organisation=authority.id)
    audit.record(None, "voucher.quota_granted", quota, organisation=firm.id, amount=100_000_00)
    return programme
