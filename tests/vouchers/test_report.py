"""The programme report: granted, used, voided and settled amounts by firm, lab and month,
with figures computed by hand."""

import pytest

from sharehub.vouchers import queries
from tests.support.vouchers import YEAR

pytestmark = pytest.mark.usefixtures("english")


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
