"""Figures are exact and rounded once, half up, for display — the same figure on the
pages, in the API and in the exports; parts add up to their totals.

Hand-computed week (Mon 2 – Sun 8 March 2026) of one lab with one unit:
  internal use (the lab itself)  810 min = 13.5 h
  external use (E1)             1635 min = 27.25 h
  effective                     2445 min = 40.75 h; share rate 1635 ÷ 2445 = 66.871 %
Half-even rounding to one decimal showed 27.2, 13.5 and 40.8 (13.5 + 27.2 ≠ 40.8).
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.stats import WEEK

WEEK_ARGS = "period=range&from=2026-03-02&to=2026-03-08"


@pytest.fixture
def hours_lab(db, make_org, make_listing, make_usage):
    from sharehub.accounts.models import OrgKind

    lab = make_org(kind=OrgKind.LAB, name="舍入实验室")
    firm = make_org(name="舍入企业")
    unit = make_listing(lab).units[0]
    make_usage(unit, lab, "2026-03-02 08:00", "2026-03-02 21:30", run=810)
    make_usage(unit, firm, "2026-03-03 08:00", "2026-03-04 11:15", run=1635)
    return lab


def _kpi(html: str, key: str) -> str:
    marker = f'id="kpi-{key}">'
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


def test_hours_27_25_are_27_25_on_the_page_in_the_api_and_in_the_csv(
    client, login, make_user, hours_lab
):
    from sharehub.accounts.models import Role
    from sharehub.api.services import create_token
    from sharehub.extensions import db

    manager = make_user(hours_lab, role=Role.MANAGER)
    _token, plain = create_token(manager, hours_lab, "ERP", ["metrics:read"], 90)
    db.session.commit()
    login(manager)
    html = client.get(f"/stats/labs/{hours_lab.id}?{WEEK_ARGS}").get_data(as_text=True)
    assert _kpi(html, "external_hours") == "27.25"
    assert _kpi(html, "effective_hours") == "40.75"
    assert _kpi(html, "share_rate") == "66.87%"
    assert "13.50" in html  # of which internal

    response = client.get(
        f"/api/v1/metrics?level=lab&from=2026-03-02&to=2026-03-09&lab={hours_lab.id}",
        headers={"Authorization": f"Bearer {plain}"},
    )
    row = response.get_json()["items"][0]
    assert (row["external_hours"], row["internal_hours"], row["effective_hours"]) == (
        27.25,
        13.5,
        40.75,
    )
    assert row["share_rate"] == 0.6687

    text = client.get(f"/stats/labs/{hours_lab.id}/export.csv?{WEEK_ARGS}&level=unit")
    rows = list(csv.reader(io.StringIO(text.get_data(as_text=True)[1:])))
    figures = dict(zip(rows[0], rows[1], strict=True))
    assert figures["External service hours"] == "27.25"
    assert figures["Effective hours"] == "40.75"
    assert figures["Share rate"] == "0.6687"


def test_parts_add_up_to_their_total(client, login, make_org, make_user, make_listing, make_usage):
    """10 min internal + 10 min external = 20 min: 0.33 h effective, 0.17 h external, so
    0.16 h internal (rounding each part alone gave 0.17 + 0.17 ≠ 0.33)."""
    from sharehub.accounts.models import OrgKind, Role
    from sharehub.stats import queries
    from sharehub.stats.sql import Filters

    lab = make_org(kind=OrgKind.LAB, name="分项实验室")
    unit = make_listing(lab).units[0]
    make_usage(unit, lab, "2026-03-02 09:00", "2026-03-02 09:10", run=10)
    make_usage(unit, make_org(), "2026-03-02 10:00", "2026-03-02 10:10", run=10)
    choice = queries.PeriodChoice("range", *WEEK)
    totals = queries.totals(choice, Filters(lab_ids=[lab.id]))
    assert [str(totals[k]) for k in ("effective_hours", "external_hours", "internal_hours")] == [
        "0.33",
        "0.17",
        "0.16",
    ]
    login(make_user(lab, role=Role.MANAGER))
    html = client.get(f"/stats/labs/{lab.id}?{WEEK_ARGS}").get_data(as_text=True)
    assert _kpi(html, "effective_hours") == "0.33"
    assert ">0.16<" in html and ">0.17<" in html


def test_a_share_rate_of_1_852_percent_shows_as_1_85_not_1_8(
    client, login, make_org, make_user, make_listing, make_usage
):
    """60 min external of 54 h effective: 1 ÷ 54 = 1.852 %; rounded to 0.0185 first and
    then half-even to one decimal it showed 1.8 %."""
    from sharehub.accounts.models import OrgKind, Role

    lab = make_org(kind=OrgKind.LAB, name="比例实验室")
    unit = make_listing(lab).units[0]
    make_usage(unit, lab, "2026-03-02 00:00", "2026-03-05 00:00", run=53 * 60)
    make_usage(unit, make_org(), "2026-03-06 09:00", "2026-03-06 10:00", run=60)
    login(make_user(lab, role=Role.MANAGER))
    html = client.get(f"/stats/labs/{lab.id}?{WEEK_ARGS}").get_data(as_text=True)
    assert _kpi(html, "share_rate") == "1.85%"
