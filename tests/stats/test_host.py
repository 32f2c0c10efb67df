"""The lab's host organisation (依托单位) and the host's other units are internal: in every
figure and at the internal price (DOMAIN.md, "Who counts as internal").

Hand-computed week (Mon 2 – Sun 8 March 2026), lab 依托实验室 hosted by 苏州理工大学:
  the lab itself        60 min   internal
  the university (host) 120 min  internal
  its 材料学院 (names the host)  180 min  internal
  another lab of the same host   30 min  internal
  企业甲 (no host)       90 min  external
  企业乙 (names another host) 60 min  external
Effective 540 min = 9 h; external 150 min = 2.5 h; internal 6.5 h; share rate 150 ÷ 540.
Organisations served: all but the lab itself = 5; external 2.
Invoices: the school 40,000 fen (internal), 企业甲 10,000 fen (external).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from tests.support.stats import WEEK


@pytest.fixture
def hosted(db, make_org, make_listing, make_usage, make_invoice):
    from sharehub.accounts.models import OrgKind

    university = make_org(name="苏州理工大学")
    other_host = make_org(name="别的大学")
    lab = make_org(
        kind=OrgKind.LAB, name="依托实验室", host_org=university, host_name="苏州理工大学"
    )
    school = make_org(name="苏州理工大学材料学院", host_org=university)
    sister = make_org(kind=OrgKind.LAB, name="兄弟实验室", host_org=university)
    firm = make_org(name="企业甲")
    stranger = make_org(name="企业乙", host_org=other_host)
    unit = make_listing(lab).units[0]
    for org, minutes, day in (
        (lab, 60, 2),
        (university, 120, 3),
        (school, 180, 4),
        (sister, 30, 5),
        (firm, 90, 6),
        (stranger, 60, 6),
    ):
        start = f"2026-03-0{day} {'09' if org is not stranger else '14'}:00"
        end = f"2026-03-0{day} {'12' if org is not stranger else '15'}:30"
        make_usage(unit, org, start, end, run=minutes)
    make_invoice(lab, school, 40_000, "2026-03-04 13:00")
    make_invoice(lab, firm, 10_000, "2026-03-06 13:00")
    return {
        "lab": lab,
        "university": university,
        "school": school,
        "sister": sister,
        "firm": firm,
        "stranger": stranger,
        "listing": unit.listing,
    }


def test_the_host_and_its_units_are_internal_in_every_figure(hosted):
    from sharehub.stats.metrics import lab_metrics, served_by_cluster
    from sharehub.stats.sql import Filters

    lab = hosted["lab"]
    figures = lab_metrics(*WEEK, [lab.id])[lab.id]
    assert figures["effective_hours"] == 9
    assert figures["external_hours"] == Fraction(5, 2)
    assert figures["internal_hours"] == Fraction(13, 2)
    assert figures["share_rate"] == Fraction(150, 540)
    assert (figures["orgs_served"], figures["external_orgs_served"]) == (5, 2)
    assert (figures["revenue_internal_fen"], figures["revenue_external_fen"]) == (40_000, 10_000)
    [row] = served_by_cluster(*WEEK, Filters(lab_ids=[lab.id]))
    assert (row.orgs, row.external_orgs, row.hours) == (5, 2, Decimal("9.00"))


def test_the_host_side_books_at_the_internal_price(hosted):
    from sharehub.booking.pricing import quote
    from sharehub.catalog.pricing import tier_for

    listing = hosted["listing"]
    tiers = {
        name: tier_for(listing, hosted[name])
        for name in ("lab", "university", "school", "sister", "firm", "stranger")
    }
    assert tiers == {
        "lab": "internal",
        "university": "internal",
        "school": "internal",
        "sister": "internal",
        "firm": "external",
        "stranger": "external",
    }
    assert quote(listing, hosted["school"], 60).unit_price == listing.price_internal


def test_a_lab_without_a_host_has_only_itself_inside(db, make_org, make_listing, make_usage):
    from sharehub.accounts.models import OrgKind
    from sharehub.stats.metrics import lab_metrics

    lab = make_org(kind=OrgKind.LAB, host_name="某大学")  # free text only
    unit = make_listing(lab).units[0]
    make_usage(unit, lab, "2026-03-02 09:00", "2026-03-02 10:00", run=60)
    make_usage(unit, make_org(), "2026-03-03 09:00", "2026-03-03 10:00", run=60)
    figures = lab_metrics(*WEEK, [lab.id])[lab.id]
    assert (figures["external_hours"], figures["orgs_served"]) == (1, 1)


def test_the_lab_chooses_its_host_on_its_profile(client, db, login, make_org, make_user):
    from sharehub.accounts.models import OrgKind, Role

    university = make_org(name="苏州理工大学")
    lab = make_org(kind=OrgKind.LAB, name="选依托实验室")
    other_lab = make_org(kind=OrgKind.LAB)
    login(make_user(lab, role=Role.MANAGER))
    data = {
        "name": lab.name,
        "region_id": lab.region_id,
        "contact_name": "周杰",
        "contact_phone": "0512-1111111",
        "host_credit_code": university.credit_code.lower(),
    }
    assert client.post("/account/organisation/edit", data=data).status_code == 302
    db.session.expire_all()
    assert (lab.host_org_id, lab.host_name) == (university.id, "苏州理工大学")
    assert university.credit_code in client.get("/account/organisation/edit").get_data(as_text=True)

    for code, message in (
        ("91320500MA1X00000X", "No organisation on the platform has this credit code."),
        (other_lab.credit_code, "Choose the university, institute or firm"),
        (lab.credit_code, "Choose the university, institute or firm"),
    ):
        response = client.post(
            "/account/organisation/edit",
            data={**data, "host_credit_code": code},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert lab.host_org_id == university.id

    assert client.post("/account/organisation/edit", data={**data, "host_credit_code": ""})
    db.session.expire_all()
    assert lab.host_org_id is None


def test_the_lab_revenue_statement_counts_the_host_side_as_internal(hosted):
    from sharehub.billing.payments import revenue_by_month

    march = revenue_by_month(hosted["lab"].id, 2026)[2]
    assert (march["internal_invoiced"], march["external_invoiced"]) == (40_000, 10_000)
