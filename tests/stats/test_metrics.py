"""Sharing metrics against a hand-computed week (Mon 2 – Sun 8 March 2026, no holidays).

Lab A, listing "ICP" with units U1 and U2, open Mon–Fri 08:30–12:00 and 13:30–17:30
(450 min a day): 5 × 450 min = 37.5 h per unit. U2 is out of order Tue 10:00–15:00,
which takes 120 + 90 min = 3.5 h of opening time: available 37.5 + 34.0 = 71.5 h.

Usage (minutes counted inside the week):
  R1 U1 E1 (SME, booking B1)      Mon 09:00–12:00, 30 + 150 + 0      180
  R2 U1 lab itself, no booking     Tue 14:00–16:00, run 120            120
  R3 U2 E2, no booking             Sun 1 Mar 23:00 – Mon 01:00, 120    60 (half inside)
  R4 U2 E1 (booking B4, user 2)    Sun 8 Mar 23:30 – Mon 9 00:30, 60   30 (half inside)
  R5 U1 E1                         Wed 10:00, still running            left out
  R6 U1 E2, samples, no duration   Wed 10:00, post 45                  45
  R7 U1 E2                         Tue 10 Mar                          left out
Effective 435 min = 7.25 h; external 315 min = 5.25 h; internal 2.0 h.

Bookings (booked hours, clipped): B1 3 h completed, B4 0.5 h completed, B6 2 h no-show,
B8 1 h confirmed, B9 (Sun 22:00 – Mon 02:00) 2 h completed = 8.5 h; B5 cancelled and
B7 declined hold nothing. Starting in the week and not declined/expired: B1 B4 B5 B6 B8
= 5, one cancelled (0.2); came: B1 B4 B6, one no-show (1/3).
Responses (minutes): B1 30, B4 90, B6 10, B7 240, B8 60 → median 60 (B9 asked earlier).
Ratings in the week: B1 5, B9 4 → 4.5 (a 1 given on 10 March is outside).
Invoices issued in the week: I1 150,000 (E1, B1); I2 20,000 (lab itself, no booking);
I3 200,000 voided by its credit note −200,000 (B9); I6 50,000 at 23:30 Sun 8 (B4);
a draft and one at 00:30 Mon 9 are outside → external 200,000, internal 20,000.
Original value 1,000,000 CNY per unit × 2; rated 2 × 1,400 × 7 ÷ 365 h.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction as F

from tests.support import clock
from tests.support.stats import WEEK


def test_lab_figures_of_the_week(week):
    from sharehub.stats.metrics import lab_metrics

    figures = lab_metrics(*WEEK, [week["lab"].id])[week["lab"].id]
    rated = F(2 * 1400 * 7, 365)
    assert figures == {
        "available_hours": F("71.5"),
        "booked_hours": F("8.5"),
        "effective_hours": F("7.25"),
        "external_hours": F("5.25"),
        "internal_hours": 2,
        "rated_hours": rated,
        "share_rate": F(315, 435),
        "utilisation_rated": F("7.25") / rated,
        "utilisation_available": F("7.25") / F("71.5"),
        "orgs_served": 2,  # E1 and E2; the lab itself is not served
        "external_orgs_served": 2,
        "sme_served": 1,
        "users_served": 2,
        "revenue_internal_fen": 20_000,
        "revenue_external_fen": 200_000,
        "revenue_rate": F(20_000 + 300_000, 200_000_000),
        "satisfaction": F("4.5"),
        "rating_count": 2,
        "median_response_minutes": 60,
        "bookings": 5,
        "cancelled": 1,
        "no_shows": 1,
        "cancellation_rate": F(1, 5),
        "no_show_rate": F(1, 3),
        "original_value_fen": 200_000_000,
        "unit_count": 2,
        # no commissioned testing that week
        "orders": 0,
        "samples_received": 0,
        "reports_issued": 0,
        "reports_on_time": 0,
        "on_time_rate": None,
        "median_turnaround_days": None,
        "testing_revenue_fen": 0,
    }


def test_unit_figures_split_the_lab(week):
    from sharehub.stats.metrics import metrics
    from sharehub.stats.sql import Filters

    by_unit = metrics(*WEEK, "unit", Filters(lab_ids=[week["lab"].id]))
    u1, u2 = by_unit[week["u1"].id], by_unit[week["u2"].id]
    assert (u1["available_hours"], u2["available_hours"]) == (37.5, 34.0)
    assert (u1["effective_hours"], u2["effective_hours"]) == (5.75, 1.5)
    assert (u1["external_hours"], u2["external_hours"]) == (3.75, 1.5)
    assert (u1["booked_hours"], u2["booked_hours"]) == (7.0, 1.5)
    # Only invoices of a booking belong to a unit: the internal 20,000 stays with the lab.
    assert (u1["revenue_external_fen"], u2["revenue_external_fen"]) == (150_000, 50_000)
    assert u1["revenue_internal_fen"] == u2["revenue_internal_fen"] == 0
    # U1 answered in 30 and 10 min (median 20); U2 in 90, 240 and 60 (median 90).
    assert (u1["median_response_minutes"], u2["median_response_minutes"]) == (20.0, 90.0)
    assert (u1["orgs_served"], u2["orgs_served"]) == (2, 2)  # never the lab itself


def test_groups_by_cluster_region_and_field(week, make_org, make_listing, make_usage, cluster):
    from sharehub.accounts.models import OrgKind
    from sharehub.catalog.models import Field
    from sharehub.stats.metrics import metrics
    from sharehub.stats.sql import Filters

    other = make_org(kind=OrgKind.LAB, name="实验室乙")  # no cluster
    bio = make_listing(other, field=Field.BIOMEDICINE)
    make_usage(bio.units[0], week["e1"], "2026-03-03 09:00", "2026-03-03 10:30", run=90)
    ids = [week["lab"].id, other.id]

    by_cluster = metrics(*WEEK, "cluster", Filters(lab_ids=ids))
    assert by_cluster[cluster.id]["effective_hours"] == 7.25
    assert by_cluster[None]["effective_hours"] == 1.5
    assert by_cluster[None]["share_rate"] == 1.0

    by_region = metrics(*WEEK, "region", Filters(lab_ids=ids))
    province = week["lab"].region.parent_id
    assert list(by_region) == [province]
    assert by_region[province]["effective_hours"] == 8.75
    assert by_region[province]["external_orgs_served"] == 2  # E1 counted once
    assert by_region[province]["unit_count"] == 3

    by_field = metrics(*WEEK, "field", Filters(lab_ids=ids))
    assert by_field[Field.NEW_MATERIALS]["effective_hours"] == 7.25
    assert by_field[Field.BIOMEDICINE]["available_hours"] == 37.5

    only_cluster = metrics(*WEEK, "lab", Filters(cluster_id=cluster.id))
    assert list(only_cluster) == [week["lab"].id]


def test_holidays_close_and_make_up_days_open(db, lab, make_listing, make_usage):
    """Thu 1 – Wed 7 January 2026: 1 and 2 January off, Saturday 3 closed, Sunday 4 a
    make-up working day on Monday's hours: 4 days × 450 min = 30 h (not 37.5)."""
    from sharehub.stats.metrics import lab_metrics

    make_listing(lab)
    figures = lab_metrics(date(2026, 1, 1), date(2026, 1, 8), [lab.id])[lab.id]
    assert figures["available_hours"] == 30.0
    assert figures["effective_hours"] == 0
    assert figures["share_rate"] is None
    assert figures["utilisation_available"] == 0


def test_a_lab_without_anything_has_zeros(db, lab):
    from sharehub.stats.metrics import lab_metrics

    figures = lab_metrics(*WEEK, [lab.id])[lab.id]
    assert figures["effective_hours"] == 0 and figures["unit_count"] == 0
    assert figures["satisfaction"] is None and figures["median_response_minutes"] is None
    assert figures["revenue_rate"] is None and figures["utilisation_rated"] is None


def test_special_purpose_instruments_have_800_rated_hours(db, lab, make_listing, make_usage):
    from sharehub.stats.metrics import lab_metrics

    listing = make_listing(lab, usage_class="special")
    make_usage(listing.units[0], lab, "2026-03-02 09:00", "2026-03-02 17:00", run=480)
    figures = lab_metrics(date(2026, 1, 1), date(2027, 1, 1), [lab.id])[lab.id]
    assert figures["rated_hours"] == 800.0
    assert figures["utilisation_rated"] == F(1, 100)
    assert figures["share_rate"] == 0.0


def test_make_up_day_with_own_hours_and_an_outage_over_the_holiday(db, lab, make_listing):
    """Thu 1 – Wed 7 January 2026 for a listing also open Sundays 09:00–12:00: Sunday 4
    (make-up day) keeps its own Sunday hours (180 min), Mon–Wed 3 × 450 → 1,530 min.
    An outage from Fri 2 10:00 (holiday) to Mon 5 10:00 takes Sunday's 180 min and Monday
    08:30–10:00 (90 min): 1,260 min = 21 h."""
    from sharehub.catalog.models import Outage, OutageKind
    from sharehub.stats.metrics import lab_metrics
    from tests.support.catalog import WEEKDAY_HOURS
    from tests.support.stats import local

    listing = make_listing(lab, hours=[*WEEKDAY_HOURS, (6, 540, 720)])
    first = lab_metrics(date(2026, 1, 1), date(2026, 1, 8), [lab.id])[lab.id]
    assert first["available_hours"] == 25.5
    db.session.add(
        Outage(
            unit_id=listing.units[0].id,
            kind=OutageKind.MAINTENANCE,
            starts_dt=local("2026-01-02 10:00"),
            ends_dt=local("2026-01-05 10:00"),
        )
    )
    db.session.commit()
    figures = lab_metrics(date(2026, 1, 1), date(2026, 1, 8), [lab.id])[lab.id]
    assert figures["available_hours"] == 21.0


def test_organisations_served_by_cluster_of_the_customer(week, cluster):
    """The lab (in `cluster`) used its own unit 120 min; E1 (SME) and E2, outside any
    cluster, 315 min between them."""
    from sharehub.stats.metrics import served_by_cluster
    from sharehub.stats.sql import Filters

    rows = {
        r.cluster_id: (r.orgs, r.external_orgs, r.smes, r.minutes)
        for r in served_by_cluster(*WEEK, Filters(lab_ids=[week["lab"].id]))
    }
    # The lab's own use counts in hours, but the lab is not an organisation it serves.
    assert rows == {cluster.id: (0, 0, 0, 120), None: (2, 2, 1, 315)}


def test_trend_of_a_month_goes_by_week(week):
    from werkzeug.datastructures import MultiDict

    from sharehub.stats.queries import PeriodChoice, trend
    from sharehub.stats.sql import Filters

    choice = PeriodChoice.from_args(
        MultiDict({"period": "month", "year": "2026", "month": "3"}), clock.today()
    )
    points = trend(choice, Filters(lab_ids=[week["lab"].id]))
    starts = [p["start"].isoformat() for p in points]
    assert starts == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]
    # Sunday 1 March holds the other 60 minutes of R3; the week of 2 March is the
    # hand-computed 435; the week of 9 March has R4's last 30 minutes and R7's 120.
    assert [p["effective_hours"] for p in points[:3]] == [1.0, 7.25, 2.5]
