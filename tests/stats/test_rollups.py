"""The daily usage rollup (sharehub/stats/rollups.py) against the usage records themselves.

Random usage (seeded, so a failure replays) of two labs sharing a host: records by the lab,
its host, the host's school, a sister lab and outside firms, named persons and booking
customers, records of no duration, records crossing one or several local midnights and
ending on one, open records, corrections, moved and deleted records, and a bulk insert.
Over random periods and at every level the figures read from the rollup equal the figures
read from the records (`raw=True`, the reference SQL).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from tests.support.stats import SH

BASE = date(2026, 3, 2)  # a Monday; the data span 3 weeks around it


def _usage_world(db, make_org, make_user, make_listing, make_booking, seed: int):
    from sharehub.accounts.models import OrgKind
    from sharehub.booking.models import UsageRecord

    rng = random.Random(seed)
    university = make_org(name="苏州理工大学")
    lab = make_org(kind=OrgKind.LAB, host_org=university)
    sister = make_org(kind=OrgKind.LAB, host_org=university)
    school = make_org(host_org=university)
    firms = [make_org(is_sme=True), make_org(), make_org(is_sme=True)]
    users = [make_user(f) for f in firms[:2]]
    units = [*make_listing(lab, units=2).units, *make_listing(sister, units=1).units]
    orgs = [lab, sister, university, school, *firms]

    def moment():
        minutes = rng.randrange(-7 * 24 * 60, 21 * 24 * 60)
        if rng.random() < 0.15:  # on a local midnight
            minutes -= minutes % (24 * 60)
        return _local(BASE, minutes)

    def fields():
        started = moment()
        kind = rng.random()
        if kind < 0.1:
            ended = started  # no duration
        elif kind < 0.15:
            ended = None  # still running
        else:
            ended = started + timedelta(minutes=rng.choice((30, 90, 240, 600, 1500, 3000)))
            if rng.random() < 0.15:  # ends on a local midnight
                ended = ended.replace(hour=0, minute=0) + timedelta(days=1)
        org = rng.choice(orgs)
        return {
            "unit_id": rng.choice(units).id,
            "user_org_id": org.id,
            "user_id": rng.choice(users).id if org in firms[:2] and rng.random() < 0.5 else None,
            "started_dt": started,
            "ended_dt": ended,
            "prep_minutes": rng.randrange(0, 40),
            "run_minutes": rng.randrange(0, 400),
            "post_minutes": rng.randrange(0, 20),
        }

    booked = [
        make_booking(
            units[0], firms[1], "2026-03-03 09:00", "2026-03-03 12:00", customer_user_id=users[1].id
        ),
        make_booking(units[1], firms[0], "2026-03-09 23:00", "2026-03-10 02:00"),
    ]
    records = []
    for n in range(45):
        record = UsageRecord(**fields())
        if n % 9 == 0:
            record.booking_id = rng.choice(booked).id
        db.session.add(record)
        records.append(record)
    db.session.commit()
    for record in rng.sample(records, 6):  # corrections: the latest of each line counts
        correction = UsageRecord(**fields(), corrects_id=record.id)
        db.session.add(correction)
        db.session.commit()
        records.remove(record)
    for record in rng.sample(records, 5):  # moved to another day, unit or organisation
        new = fields()
        record.started_dt, record.ended_dt = new["started_dt"], new["ended_dt"]
        record.unit_id, record.user_org_id = new["unit_id"], new["user_org_id"]
    db.session.commit()
    for record in rng.sample([r for r in records if r.corrects_id is None], 3):
        if db.session.scalar(sa.select(UsageRecord.id).where(UsageRecord.corrects_id == record.id)):
            continue
        db.session.delete(record)
    db.session.commit()
    # a bulk insert, as the CSV import and the demo write usage
    db.session.execute(sa.insert(UsageRecord), [fields() for _ in range(12)])
    db.session.commit()
    return lab, sister, units


def _local(day: date, minutes: int):
    from datetime import datetime, time

    return datetime.combine(day, time(), SH) + timedelta(minutes=minutes)


def _periods(rng: random.Random, count: int):
    for _ in range(count):
        start = BASE + timedelta(days=rng.randrange(-9, 22))
        yield start, start + timedelta(days=rng.choice((1, 1, 2, 3, 7, 10, 31)))


def test_rollup_figures_equal_the_raw_figures_over_random_periods(
    db, make_org, make_user, make_listing, make_booking
):
    from sharehub.stats import rollups
    from sharehub.stats.metrics import metrics
    from sharehub.stats.sql import Filters

    for seed in (1, 2):
        lab, sister, units = _usage_world(db, make_org, make_user, make_listing, make_booking, seed)
        rng = random.Random(seed)
        scope = Filters(lab_ids=[lab.id, sister.id])
        compared = 0
        for start, end in _periods(rng, 6):
            for level in ("unit", "lab", "all"):
                rolled = metrics(start, end, level, scope)
                raw = metrics(start, end, level, scope, raw=True)
                assert rolled == raw, (seed, start, end, level)
                compared += sum(1 for v in raw.values() if v["effective_hours"])
        assert compared > 5  # the periods met usage, not only empty days
        conn = db.session.connection()
        assert rollups.differences(conn, BASE - timedelta(days=10), BASE + timedelta(days=40)) == []


def test_check_consistency_reports_stale_days_and_the_refresh_rebuilds_them(
    app, db, make_org, make_user, make_listing, make_booking
):
    from sharehub.admin.consistency import usage_rollup_days_differ
    from sharehub.stats.metrics import metrics
    from sharehub.stats.models import UsageDay
    from sharehub.stats.sql import Filters

    lab, sister, units = _usage_world(db, make_org, make_user, make_listing, make_booking, 3)
    assert usage_rollup_days_differ() == []
    # usage loaded with SQL outside the application leaves the rollup behind
    stale = db.session.scalars(sa.select(UsageDay.day).distinct().order_by(UsageDay.day)).all()
    db.session.execute(sa.delete(UsageDay).where(UsageDay.day.in_(stale[:3])))
    assert usage_rollup_days_differ() == [str(d) for d in stale[:3]]
    scope = Filters(lab_ids=[lab.id, sister.id])
    period = (BASE - timedelta(days=8), BASE + timedelta(days=22))
    assert metrics(*period, "lab", scope) != metrics(*period, "lab", scope, raw=True)

    result = app.test_cli_runner().invoke(
        args=["sharehub", "refresh-rollups", "--from", str(stale[0]), "--to", str(stale[2])]
    )
    assert result.exit_code == 0, result.output
    assert "Rebuilt the usage rollup" in result.output
    assert usage_rollup_days_differ() == []
    assert metrics(*period, "lab", scope) == metrics(*period, "lab", scope, raw=True)


def test_refresh_refuses_bad_dates(app, db):
    result = app.test_cli_runner().invoke(
        args=["sharehub", "refresh-rollups", "--from", "2026-13-01"]
    )
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.output


def test_the_chart_trend_is_the_trend_of_the_whole_figures(
    db, make_org, make_user, make_listing, make_booking, week
):
    """The trend charts read a few statements for all steps; each step's figures are
    those of the step measured alone (weeks of a month, months of a quarter, a range)."""
    from sharehub.stats.queries import PeriodChoice, chart_trend, trend
    from sharehub.stats.sql import Filters

    lab, sister, units = _usage_world(db, make_org, make_user, make_listing, make_booking, 4)
    keys = ("effective_hours", "external_hours", "available_hours", "utilisation_available")
    choices = [
        PeriodChoice("month", date(2026, 3, 1), date(2026, 4, 1)),
        PeriodChoice("quarter", date(2026, 1, 1), date(2026, 4, 1)),  # steps of a month
        PeriodChoice("range", date(2026, 2, 20), date(2026, 3, 13)),
    ]
    ours = Filters(lab_ids=[lab.id, sister.id])
    scopes = {0: [Filters(), Filters(lab_ids=[week["lab"].id]), ours], 1: [ours], 2: [ours]}
    for n, choice in enumerate(choices):
        for scope in scopes[n]:
            full = trend(choice, scope)
            light = chart_trend(choice, scope)
            assert [(p["start"], p["end"], *(p[k] for k in keys)) for p in light] == [
                (p["start"], p["end"], *(p[k] for k in keys)) for p in full
            ]
    assert any(p["effective_hours"] for p in light)
