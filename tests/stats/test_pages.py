"""The statistics pages and exports over HTTP, on the hand-computed week of
test_metrics.py (lab 实验室甲: 7.25 effective hours, 5.25 external, 71.5 available)."""

from __future__ import annotations

import csv
import io
from fractions import Fraction

import pytest

WEEK_ARGS = "period=range&from=2026-03-02&to=2026-03-08"


@pytest.fixture
def regulator(make_org, make_user):
    from sharehub.accounts.models import OrgKind

    return make_user(make_org(kind=OrgKind.AUTHORITY, name="市场监督管理局"))


def _csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_regulator_sees_labs_ranked_and_filters_by_cluster(
    client, login, regulator, week, make_org, make_listing, make_usage, cluster
):
    from sharehub.accounts.models import OrgKind

    other = make_org(kind=OrgKind.LAB, name="实验室乙")
    listing = make_listing(other)
    make_usage(listing.units[0], week["e1"], "2026-03-03 09:00", "2026-03-03 19:00", run=600)
    login(regulator)

    page = client.get(f"/stats/?{WEEK_ARGS}&level=lab")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 实验室乙 (10 h) ranks above 实验室甲 (7.25 h); totals 17.25 h of which 15.25 external.
    assert html.index("实验室乙") < html.index("实验室甲")
    assert 'id="kpi-effective_hours">17.2' in html
    assert 'id="kpi-external_hours">15.2' in html
    assert f'href="/stats/labs/{week["lab"].id}?period=range' in html
    assert "data-chart=" in html and "<script>" not in html

    filtered = client.get(f"/stats/?{WEEK_ARGS}&level=lab&cluster={cluster.id}")
    html = filtered.get_data(as_text=True)
    assert "实验室甲" in html and "实验室乙" not in html
    assert 'id="kpi-effective_hours">7.2' in html  # 7.25 shown with one decimal


def test_cluster_level_drills_down_to_labs(client, login, regulator, week, cluster):
    login(regulator)
    html = client.get(f"/stats/?{WEEK_ARGS}&level=cluster").get_data(as_text=True)
    assert cluster.name in html
    assert f"cluster={cluster.id}" in html and "level=lab" in html


def test_only_staff_see_the_overview(client, login, week, make_user):
    login(make_user(week["e1"]))
    assert client.get(f"/stats/?{WEEK_ARGS}").status_code == 403


def test_lab_sees_its_own_figures_and_units_but_not_another_lab(
    client, login, week, make_user, make_org
):
    from sharehub.accounts.models import OrgKind, Role

    manager = make_user(week["lab"], role=Role.MANAGER)
    login(manager)
    response = client.get(f"/stats/lab?{WEEK_ARGS}")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="kpi-effective_hours">7.25<' in html
    assert 'id="kpi-share_rate">72.41%<' in html  # 315 ÷ 435 = 0.724137…
    assert 'id="kpi-revenue_external_fen">CN¥2,000<' in html  # whole yuan on the cards
    assert "71.50" in html  # available hours

    units = client.get(f"/stats/labs/{week['lab'].id}?{WEEK_ARGS}&level=unit")
    html = units.get_data(as_text=True)
    assert f"/stats/units/{week['u1'].id}?" in html and "5.75" in html  # U1 5.75 h

    unit = client.get(f"/stats/units/{week['u2'].id}?{WEEK_ARGS}")
    html = unit.get_data(as_text=True)
    assert 'id="kpi-effective_hours">1.50<' in html
    assert "34" in html  # available hours of U2

    stranger_lab = make_org(kind=OrgKind.LAB, name="别的实验室")
    assert client.get(f"/stats/labs/{stranger_lab.id}").status_code == 404


def test_a_bad_period_is_reported_not_a_500(client, login, regulator, week):
    login(regulator)
    response = client.get("/stats/?period=range&from=2026-13-01&to=x")
    assert response.status_code == 200
    assert "Dates are written as YYYY-MM-DD." in response.get_data(as_text=True)
    response = client.get("/stats/?period=month&year=1800&month=14")
    assert response.status_code == 200


def test_table_exports_as_csv_and_xlsx(client, login, regulator, week):
    import openpyxl

    login(regulator)
    rows = _csv(client.get(f"/stats/export.csv?{WEEK_ARGS}&level=lab&cluster="))
    header, lab_row = rows[0], next(r for r in rows[1:] if r[1] == "实验室甲")
    figures = dict(zip(header, lab_row, strict=True))
    assert figures["Effective hours"] == "7.25"
    assert figures["External service hours"] == "5.25"
    assert figures["Available hours"] == "71.50"
    assert figures["External revenue"] == "200000"

    response = client.get(f"/stats/export.xlsx?{WEEK_ARGS}&level=lab")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = list(book.active.iter_rows(values_only=True))
    row = next(r for r in sheet[1:] if r[1] == "实验室甲")
    assert dict(zip(sheet[0], row, strict=True))["Effective hours"] == 7.25


def test_national_report_per_instrument(client, login, regulator, week):
    login(regulator)
    rows = _csv(client.get(f"/stats/national.csv?year=2026&cluster={week['lab'].cluster_id}"))
    header = rows[0]
    by_unit = {r[header.index("Unit")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    # The whole year: all seven usage records count in full (R5 is still open).
    # U1: R1 180 + R2 120 + R6 45 + R7 120 = 465 min; external 180 + 45 + 120 = 345 min.
    assert by_unit["#1"]["Effective hours"] == "7.75"
    assert by_unit["#1"]["External service hours"] == "5.75"
    assert by_unit["#1"]["External income (CNY)"] == "1500.00"
    assert by_unit["#1"]["Original value (10,000 CNY)"] == "100"
    # U2: R3 120 + R4 60, both external; income I6 500 + I5 700 (issued 9 March).
    assert by_unit["#2"]["Effective hours"] == "3.00"
    assert by_unit["#2"]["External income (CNY)"] == "1200.00"
    assert by_unit["#2"]["Organisations served"] == "2"


def test_lab_exports_its_own_tables(client, login, week, make_user):
    from sharehub.accounts.models import Role

    login(make_user(week["lab"], role=Role.MANAGER))
    rows = _csv(client.get(f"/stats/labs/{week['lab'].id}/export.csv?{WEEK_ARGS}&level=unit"))
    assert [r[0] for r in rows[1:]] == [str(week["u1"].id), str(week["u2"].id)]
    other = client.get(f"/stats/labs/{week['e1'].id}/export.csv")
    assert other.status_code == 404


def test_administrator_sets_rated_hours_per_class(
    client, login, db, platform_admin, regulator, lab, make_listing, make_usage
):
    from datetime import date

    from sharehub.stats.metrics import lab_metrics
    from sharehub.stats.models import RatedHours

    listing = make_listing(lab, usage_class="special")
    make_usage(listing.units[0], lab, "2026-03-02 09:00", "2026-03-02 18:00", run=540)
    login(regulator)
    assert client.get("/stats/rated-hours").status_code == 403
    client.post("/account/signout")

    login(platform_admin)
    bad = client.post(
        "/stats/rated-hours", data={"general": "1400", "special": "abc", "extended": "1600"}
    )
    assert bad.status_code == 400
    assert "Rated hours are 1 to 8,760 a year." in bad.get_data(as_text=True)
    assert db.session.get(RatedHours, "special").hours == 800
    client.post(
        "/stats/rated-hours", data={"general": "1400", "special": "900", "extended": "1600"}
    )
    db.session.expire_all()
    assert db.session.get(RatedHours, "special").hours == 900
    figures = lab_metrics(date(2026, 1, 1), date(2027, 1, 1), [lab.id])[lab.id]
    assert (figures["rated_hours"], figures["utilisation_rated"]) == (900, Fraction(1, 100))


def test_trend_and_served_tables_export(client, login, week, make_user, cluster):
    from sharehub.accounts.models import Role

    login(make_user(week["lab"], role=Role.MANAGER))
    lab_id, u2 = week["lab"].id, week["u2"].id
    rows = _csv(client.get(f"/stats/labs/{lab_id}/trend.csv?{WEEK_ARGS}&unit={u2}"))
    header = rows[0]
    assert [r[0] for r in rows[1:]] == ["2026-03-02"]  # one week, one step
    assert dict(zip(header, rows[1], strict=True))["Effective hours"] == "1.50"
    served = _csv(client.get(f"/stats/labs/{lab_id}/served.csv?{WEEK_ARGS}"))
    assert sorted(served[1:]) == sorted(
        [[cluster.name, "0", "0", "0", "2.00"], ["", "2", "2", "1", "5.25"]]
    )
    other = make_user(week["e1"])
    client.post("/account/signout")
    login(other)
    assert client.get(f"/stats/labs/{lab_id}/trend.csv?unit={u2}").status_code == 404
