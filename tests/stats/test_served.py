"""Use logged without a booking names the person and organisation served; they count
among the users and organisations served, and the lab itself never does."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.stats import WEEK

EN = {"Accept-Language": "en"}


def _log(client, unit, day, **served):
    return client.post(
        "/lab/usage",
        data={
            "unit_id": unit.id,
            "started": f"2026-03-0{day}T09:00",
            "ended": f"2026-03-0{day}T11:00",
            "run_minutes": 120,
            **served,
        },
        headers=EN,
    )


def test_usage_logged_without_a_booking_names_who_was_served(
    client, db, lab, lab_manager, login, make_org, make_user, make_listing
):
    """By hand, week of 2 March 2026: the lab's own use (nobody named); 企业甲 with its
    engineer named; 企业乙 named by credit code only; 企业甲's engineer again (named
    alone, so for 企业甲). Users served 1 (the engineer), organisations 2, never the lab."""
    from sharehub.booking.models import UsageRecord
    from sharehub.stats.metrics import lab_metrics

    firm, other = make_org(name="企业甲"), make_org(name="企业乙")
    engineer = make_user(firm, email="engineer@firm.cn")
    unit = make_listing(lab).units[0]
    login(lab_manager)
    assert _log(client, unit, 2).status_code == 302
    served = {"served_org": firm.credit_code, "served_user": "Engineer@Firm.cn"}
    assert _log(client, unit, 3, **served).status_code == 302
    assert _log(client, unit, 4, served_org=other.credit_code).status_code == 302
    assert _log(client, unit, 5, served_user=engineer.email).status_code == 302

    records = db.session.scalars(sa.select(UsageRecord).order_by(UsageRecord.started_dt)).all()
    assert [(r.user_org_id, r.user_id) for r in records] == [
        (lab.id, None),
        (firm.id, engineer.id),
        (other.id, None),
        (firm.id, engineer.id),
    ]
    figures = lab_metrics(*WEEK, [lab.id])[lab.id]
    assert (figures["users_served"], figures["orgs_served"]) == (1, 2)
    assert figures["external_orgs_served"] == 2
    page = client.get("/lab/usage").get_data(as_text=True)
    assert engineer.name in page

    # Named wrongly: a clear message and nothing recorded.
    stranger = make_user(make_org(), email="someone@else.cn")
    for bad, message in (
        ({"served_org": "91320500MA1X00000X"}, "No organisation on the platform"),
        ({"served_user": "nobody@nowhere.cn"}, "No user of the platform"),
        (
            {"served_org": firm.credit_code, "served_user": stranger.email},
            "does not belong to the organisation served",
        ),
    ):
        response = _log(client, unit, 6, **bad)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 4


def test_the_national_report_never_counts_the_lab_itself(
    client, login, lab, make_org, make_user, make_listing, make_usage
):
    """One instrument used in 2026 by the lab itself and by one firm: one organisation
    served (the lab's own use counted itself before)."""
    import csv
    import io

    from sharehub.accounts.models import OrgKind

    unit = make_listing(lab).units[0]
    make_usage(unit, lab, "2026-03-02 09:00", "2026-03-02 10:00", run=60)
    make_usage(unit, make_org(), "2026-03-03 09:00", "2026-03-03 10:00", run=60)
    login(make_user(make_org(kind=OrgKind.AUTHORITY)))
    text = client.get("/stats/national.csv?year=2026").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    [row] = [r for r in rows if r["Laboratory"] == lab.name]
    assert row["Organisations served"] == "1"
    assert row["Effective hours"] == "2.00"
