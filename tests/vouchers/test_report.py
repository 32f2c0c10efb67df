"""The programme report: granted, used, voided and settled amounts by firm, lab and month,
with figures computed by hand."""

from datetime import UTC, date, datetime

import pytest

from sharehub.accounts.models import OrgKind
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.vouchers import queries
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)
from tests.vouchers.conftest import YEAR

pytestmark = pytest.mark.usefixtures("english")


def noon(month: int, day: int) -> datetime:
    return datetime(YEAR, month, day, 4, 0, tzinfo=UTC)  # 12:00 in Suzhou


@pytest.fixture
def history(db, authority, make_org):
    authority_org = authority[0]
    firm_a = make_org(name="甲精密制造有限公司", name_en="A Precision")
    firm_b = make_org(name="乙新材料有限公司", name_en="B Materials")
    firm_c = make_org(name="丙电子有限公司", name_en="C Electronics")
    lab_x = make_org(kind=OrgKind.LAB, name="X检测实验室", name_en="X Lab")
    lab_y = make_org(kind=OrgKind.LAB, name="Y计量实验室", name_en="Y Lab")

    def programme(name):
        p = VoucherProgramme(
            authority=authority_org,
            name=name,
            subsidy_bp=5000,
            yearly_cap=50_000_00,
            order_cap=5_000_00,
            valid_from=date(YEAR, 1, 1),
            valid_to=date(YEAR, 12, 31),
        )
        db.session.add(p)
        return p

    p, other = programme("本计划"), programme("另一计划")
    numbers = iter(range(1, 100))

    def invoice(lab, firm):
        n = next(numbers)
        inv = Invoice(
            lab=lab,
            customer_org=firm,
            status=InvoiceStatus.PAID,
            year=YEAR,
            sequence=n,
            number=f"RPT-{lab.id}-{n:03d}",
            net_total=100_000_00,
            vat_total=0,
            gross_total=100_000_00,
            issued_dt=noon(1, 5),
        )
        db.session.add(inv)
        return inv

    def quota(prog, firm, granted, decided, status="granted"):
        q = VoucherQuota(
            programme=prog,
            firm=firm,
            year=YEAR,
            requested_amount=granted,
            granted_amount=granted if status == "granted" else 0,
            status=status,
            decided_dt=decided,
        )
        db.session.add(q)
        return q

    qa = quota(p, firm_a, 10_000_00, noon(2, 10))
    qb = quota(p, firm_b, 5_000_00, noon(3, 5))
    quota(p, firm_c, 3_000_00, None, status="applied")  # not granted: not counted
    qa_other = quota(other, firm_a, 9_999_00, noon(2, 11))  # another programme
    paid = SettlementClaim(
        programme=p,
        lab=lab_x,
        status=ClaimStatus.PAID,
        amount=700_00,
        paid_date=date(YEAR, 5, 20),
        payment_reference="兑付-01",
    )
    noticed = SettlementClaim(programme=p, lab=lab_y, status=ClaimStatus.PUBLICISED, amount=250_00)
    db.session.add_all([paid, noticed])

    def use(q, lab, amount, created, status="applied", claim=None):
        u = VoucherUse(
            quota=q,
            invoice=invoice(lab, q.firm),
            amount=amount,
            status=status,
            created_dt=created,
            claim=claim,
        )
        db.session.add(u)
        q.used_amount += amount if status != "cancelled" else 0

    use(qa, lab_x, 400_00, noon(3, 15), claim=paid)
    use(qa, lab_y, 250_00, noon(4, 2), claim=noticed)
    use(qb, lab_x, 300_00, noon(4, 20), claim=paid)
    use(qb, lab_y, 120_00, noon(4, 25), status="void")
    use(qa, lab_x, 80_00, noon(3, 20), status="cancelled")  # returned: not counted
    use(qa_other, lab_x, 999_00, noon(3, 21))  # another programme
    db.session.commit()
    return p


def figures(rows):
    return {r["name"]: (r["granted"], r["used"], r["voided"], r["settled"]) for r in rows}


def test_report_sums_by_firm_lab_and_month(db, history):
    data = queries.report(history)
    assert figures(data["firms"]) == {
        "甲精密制造有限公司": (10_000_00, 650_00, 0, 400_00),
        "乙新材料有限公司": (5_000_00, 300_00, 120_00, 300_00),
    }
    assert figures(data["labs"]) == {
        "X检测实验室": (0, 700_00, 0, 700_00),
        "Y计量实验室": (0, 250_00, 120_00, 0),
    }
    assert figures(data["months"]) == {
        f"{YEAR}-02": (10_000_00, 0, 0, 0),
        f"{YEAR}-03": (5_000_00, 400_00, 0, 0),
        f"{YEAR}-04": (0, 550_00, 120_00, 0),
        f"{YEAR}-05": (0, 0, 0, 700_00),
    }
    assert queries.totals(data["firms"]) == {
        "granted": 15_000_00,
        "used": 950_00,
        "voided": 120_00,
        "settled": 700_00,
    }


def test_report_page_and_csv(client, db, history, officer, login_as, make_org, make_user):
    login_as(officer)
    page = client.get(f"/vouchers/programmes/{history.id}/report").get_data(as_text=True)
    by_firm = page[page.index('id="by-firm"') : page.index('id="by-lab"')]
    assert "CN¥15,000.00" in by_firm and "CN¥950.00" in by_firm and "CN¥700.00" in by_firm
    by_month = page[page.index('id="by-month"') :]
    assert f"{YEAR}-04" in by_month and "CN¥550.00" in by_month
    response = client.get(f"/vouchers/programmes/{history.id}/report.csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines == [
        "section,name,granted_cny,used_cny,voided_cny,settled_cny",
        "firm,乙新材料有限公司,5000.00,300.00,120.00,300.00",
        "firm,甲精密制造有限公司,10000.00,650.00,0.00,400.00",
        "lab,X检测实验室,0.00,700.00,0.00,700.00",
        "lab,Y计量实验室,0.00,250.00,120.00,0.00",
        f"month,{YEAR}-02,10000.00,0.00,0.00,0.00",
        f"month,{YEAR}-03,5000.00,400.00,0.00,0.00",
        f"month,{YEAR}-04,0.00,550.00,120.00,0.00",
        f"month,{YEAR}-05,0.00,0.00,0.00,700.00",
    ]
