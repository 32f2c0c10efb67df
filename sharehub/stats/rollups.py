"""The daily rollup of usage records (`usage_day`), which the sharing metrics read.

Grain: unit × local day of the start (Asia/Shanghai) × organisation served × person served
(the person a record names, or else its booking's customer), with the effective minutes and
the number of current, complete records (a corrected record gives way to its latest
correction, as in `metrics._usage_in`). Everything whether a use was internal or external,
by an SME, in a cluster, is read through the organisation when the figures are asked, so a
change of host or of cluster needs no refresh. A record crossing a local midnight keeps a row
of its own with its start and end, so a period counts the part inside it exactly, as the
raw figures do; all sums are integers.

Kept current on write: a flush that adds, changes or deletes usage records, and a bulk
INSERT of usage records through the session, rebuild the rows of the (unit, day)s they touch
in the same transaction (on PostgreSQL under a transaction-level advisory lock per unit, so
two transactions writing usage of one unit rebuild one after the other). `flask sharehub
refresh-rollups` rebuilds a range of days (after a restore, or data loaded with SQL outside
the application); it takes the same locks, so it is safe on several machines at once.
`flask sharehub check-consistency` compares the rollup with the records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.booking.models import Booking, UsageRecord
from sharehub.core.clock import LAB_TZ
from sharehub.stats.models import UsageDay

LOCK_SPACE = 7_301  # the first key of the advisory locks: usage_day, per unit
_PENDING = "usage_day_pending"
_WRITTEN = "usage_day_written"
# the columns of a usage record the rollup depends on
COUNTED = (
    "unit_id",
    "started_dt",
    "ended_dt",
    "prep_minutes",
    "run_minutes",
    "post_minutes",
    "user_org_id",
    "user_id",
    "booking_id",
    "corrects_id",
)


def local_day(moment: datetime) -> date:
    return moment.astimezone(LAB_TZ).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), LAB_TZ).astimezone(UTC)


def last_day(started: datetime, ended: datetime) -> date:
    """The last local day a use touches ([start, end), so an end at midnight stays the day
    before; a use of no duration touches its start day)."""
    if ended <= started:
        return local_day(started)
    return local_day(ended - timedelta(microseconds=1))


def rows_of(records: Iterable) -> list[dict]:
    """Rollup rows of records (unit_id, user_org_id, person_id, started_dt, ended_dt,
    minutes): one row per crossing record, the others summed per key."""
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    rows = []
    for r in records:
        first, last = local_day(r.started_dt), last_day(r.started_dt, r.ended_dt)
        if last != first:
            rows.append(
                {
                    "unit_id": r.unit_id,
                    "day": first,
                    "last_day": last,
                    "user_org_id": r.user_org_id,
                    "person_id": r.person_id,
                    "minutes": int(r.minutes),
                    "records": 1,
                    "started_dt": r.started_dt,
                    "ended_dt": r.ended_dt,
                }
            )
            continue
        sums = summed[(r.unit_id, first, r.user_org_id, r.person_id)]
        sums[0] += int(r.minutes)
        sums[1] += 1
    for (unit_id, day, org_id, person_id), (minutes, count) in summed.items():
        rows.append(
            {
                "unit_id": unit_id,
                "day": day,
                "last_day": day,
                "user_org_id": org_id,
                "person_id": person_id,
                "minutes": minutes,
                "records": count,
                "started_dt": None,
                "ended_dt": None,
            }
        )
    rows.sort(key=lambda row: (row["unit_id"], row["day"], row["user_org_id"]))
    return rows


def raw_records(conn, start: date, end: date, unit_ids: Iterable[int] | None = None):
    """The current, complete records starting on local days [start, end), with the person
    served, as the rollup counts them."""
    minutes = UsageRecord.prep_minutes + UsageRecord.run_minutes + UsageRecord.post_minutes
    query = (
        sa.select(
            UsageRecord.unit_id,
            UsageRecord.user_org_id,
            sa.func.coalesce(UsageRecord.user_id, Booking.customer_user_id).label("person_id"),
            UsageRecord.started_dt,
            UsageRecord.ended_dt,
            minutes.label("minutes"),
        )
        .outerjoin(Booking, Booking.id == UsageRecord.booking_id)
        .where(
            UsageRecord.is_current(),
            UsageRecord.ended_dt.is_not(None),
            UsageRecord.started_dt >= day_start(start),
            UsageRecord.started_dt < day_start(end),
        )
    )
    if unit_ids is not None:
        query = query.where(UsageRecord.unit_id.in_(list(unit_ids)))
    return conn.execute(query).all()


def _lock(conn, unit_ids: Iterable[int]) -> None:
    """PostgreSQL: wait for other transactions rebuilding these units (in id order, so two
    never wait for each other); SQLite serialises writers already."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        sa.text(
            "SELECT count(pg_advisory_xact_lock(:space, id)) "
            "FROM (SELECT unnest(CAST(:ids AS integer[])) AS id ORDER BY 1) AS units"
        ),
        {"space": LOCK_SPACE, "ids": sorted(set(unit_ids))},
    )


def rebuild_days(conn, unit_days: dict[int, set[date]]) -> None:
    """Rebuild the rows of the given units from the first to the last of the given start
    days (usually one day), in three statements whatever the number of units."""
    if not unit_days:
        return
    _lock(conn, unit_days)
    table = UsageDay.__table__
    units = sorted(unit_days)
    first = min(min(days) for days in unit_days.values())
    last = max(max(days) for days in unit_days.values()) + timedelta(days=1)
    conn.execute(
        sa.delete(table).where(table.c.unit_id.in_(units), table.c.day >= first, table.c.day < last)
    )
    rows = rows_of(raw_records(conn, first, last, units))
    if rows:
        conn.execute(sa.insert(table), rows)


def rebuild(conn, start: date, end: date, chunk_days: int = 31) -> int:
    """Rebuild every unit's rows of the local days [start, end), a month at a time; the
    number of rows written."""
    table = UsageDay.__table__
    if conn.dialect.name == "postgresql":
        # every unit at once: one lock on the whole table's writers for the range
        conn.execute(sa.text("LOCK TABLE usage_day IN SHARE ROW EXCLUSIVE MODE"))
    written = 0
    cursor = start
    while cursor < end:
        following = min(cursor + timedelta(days=chunk_days), end)
        conn.execute(sa.delete(table).where(table.c.day >= cursor, table.c.day < following))
        if conn.dialect.name == "postgresql":
            written += conn.execute(
                sa.text(REBUILD_PG), {"a": day_start(cursor), "b": day_start(following)}
            ).rowcount
            cursor = following
            continue
        rows = rows_of(raw_records(conn, cursor, following))
        for n in range(0, len(rows), 5000):
            conn.execute(sa.insert(table), rows[n : n + 5000])
        written += len(rows)
        cursor = following
    return written


# What `rows_of(raw_records(...))` gives, in one statement (PostgreSQL: a million records
# in seconds rather than minutes through Python).
REBUILD_PG = """
INSERT INTO usage_day (unit_id, day, last_day, user_org_id, person_id, minutes, records,
    started_dt, ended_dt)
WITH r AS (
    SELECT u.unit_id, u.user_org_id, coalesce(u.user_id, b.customer_user_id) AS person_id,
        u.started_dt, u.ended_dt, u.prep_minutes + u.run_minutes + u.post_minutes AS m,
        (u.started_dt AT TIME ZONE 'Asia/Shanghai')::date AS day,
        CASE WHEN u.ended_dt > u.started_dt
            THEN ((u.ended_dt - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date
            ELSE (u.started_dt AT TIME ZONE 'Asia/Shanghai')::date END AS last_day
    FROM usage_record u LEFT JOIN booking b ON b.id = u.booking_id
    WHERE u.ended_dt IS NOT NULL AND u.started_dt >= :a AND u.started_dt < :b
        AND NOT EXISTS (SELECT 1 FROM usage_record l WHERE l.corrects_id = u.id)
)
SELECT unit_id, day, day, user_org_id, person_id, sum(m), count(*), NULL, NULL
FROM r WHERE last_day = day GROUP BY unit_id, day, user_org_id, person_id
UNION ALL
SELECT unit_id, day, last_day, user_org_id, person_id, m, 1, started_dt, ended_dt
FROM r WHERE last_day <> day
"""


def record_bounds(conn) -> tuple[date, date] | None:
    """The local days [first, last + 1) of the recorded usage, or None."""
    low, high = conn.execute(
        sa.select(sa.func.min(UsageRecord.started_dt), sa.func.max(UsageRecord.started_dt))
    ).one()
    if low is None:
        return None
    if low.tzinfo is None:  # SQLite gives the naive UTC text back through func.min
        low, high = low.replace(tzinfo=UTC), high.replace(tzinfo=UTC)
    return local_day(low), local_day(high) + timedelta(days=1)


def differences(conn, start: date, end: date) -> list[date]:
    """Local days of [start, end) whose rollup rows differ from the records'."""

    def key(row):
        return (
            row["unit_id"],
            row["day"],
            row["last_day"],
            row["user_org_id"],
            row["person_id"],
            row["minutes"],
            row["records"],
            _utc(row["started_dt"]),
            _utc(row["ended_dt"]),
        )

    expected = defaultdict(list)
    for row in rows_of(raw_records(conn, start, end)):
        expected[row["day"]].append(key(row))
    table = UsageDay.__table__
    stored = defaultdict(list)
    for row in conn.execute(
        sa.select(table).where(table.c.day >= start, table.c.day < end)
    ).mappings():
        stored[row["day"]].append(key(row))
    days = set(expected) | set(stored)
    return sorted(d for d in days if sorted(expected[d]) != sorted(stored[d]))


def _utc(value):
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- kept current on write ------------------------------------------------------------------


def _touch(pending: dict, unit_id, started) -> None:
    if unit_id is not None and started is not None:
        pending.setdefault(unit_id, set()).add(local_day(_utc(started)))


def _before_flush(session, _context, _instances) -> None:
    """Note the stored (unit, day)s of usage records about to change or go, and the
    records being written (their new values are known once flushed)."""
    pending = session.info.setdefault(_PENDING, {})
    written = session.info.setdefault(_WRITTEN, [])
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, UsageRecord):
            continue
        if obj in session.dirty:
            state = sa.inspect(obj)
            if not any(state.attrs[name].history.has_changes() for name in COUNTED):
                continue
        if obj not in session.deleted:
            written.append(obj)
        if obj not in session.new:
            # the stored unit and start (an expired object's history does not have them)
            stored = (
                session.connection()
                .execute(
                    sa.select(UsageRecord.unit_id, UsageRecord.started_dt).where(
                        UsageRecord.id == obj.id
                    )
                )
                .first()
            )
            if stored is not None:
                _touch(pending, stored.unit_id, stored.started_dt)


def _after_flush(session, _context) -> None:
    pending = session.info.pop(_PENDING, None) or {}
    written = session.info.pop(_WRITTEN, None) or []
    conn = session.connection()
    corrected = []
    for obj in written:
        _touch(pending, obj.unit_id, obj.started_dt)
        if obj.corrects_id is not None:
            corrected.append(obj.corrects_id)
    if corrected:
        for row in conn.execute(
            sa.select(UsageRecord.unit_id, UsageRecord.started_dt).where(
                UsageRecord.id.in_(corrected)
            )
        ):
            _touch(pending, row.unit_id, row.started_dt)
    if pending:
        rebuild_days(conn, pending)


def _bulk_insert(state) -> sa.Result | None:
    """A bulk INSERT of usage records through the session: run it, then rebuild the
    (unit, day)s of its rows."""
    if not state.is_insert:
        return None
    table = getattr(state.statement, "table", None)
    if table is None or table.name != UsageRecord.__tablename__:
        return None
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    result = state.invoke_statement()
    try:  # the rows it returns (RETURNING), kept while the rollup is rebuilt
        frozen = result.freeze()
    except (sa.exc.ResourceClosedError, NotImplementedError):  # no rows to keep
        frozen = None
    pending: dict = {}
    for row in rows:
        _touch(pending, row.get("unit_id"), row.get("started_dt"))
        corrects = row.get("corrects_id")
        if corrects is not None:
            old = state.session.execute(
                sa.select(UsageRecord.unit_id, UsageRecord.started_dt).where(
                    UsageRecord.id == corrects
                )
            ).first()
            if old is not None:
                _touch(pending, old.unit_id, old.started_dt)
    rebuild_days(state.session.connection(), pending)
    return frozen() if frozen is not None else result


def install() -> None:
    """Listen to every session's flushes and bulk inserts (once)."""
    if sa.event.contains(so.Session, "after_flush", _after_flush):
        return
    sa.event.listen(so.Session, "before_flush", _before_flush)
    sa.event.listen(so.Session, "after_flush", _after_flush)
    sa.event.listen(so.Session, "do_orm_execute", _bulk_insert)
