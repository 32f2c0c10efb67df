"""Booking at scale on PostgreSQL: availability with 1,000,000 bookings, and booking throughput.

    .venv/bin/python -m bench.booking                                 # full size, ~2-3 minutes
    .venv/bin/python -m bench.booking --bookings 20000 --seconds 3    # smoke run, < 1 minute

Starts a throwaway PostgreSQL cluster, migrates a fresh database, seeds the reference data
and writes one lab with --listings published equipment listings (one unit each, weekday
opening hours 08:30-12:00 and 13:30-17:30) and --bookings bookings over two years (one
before today, one after), non-overlapping per unit, with one INSERT … SELECT … FROM
generate_series(…). A few units are busy (85 % of their time blocks booked), the others
share the rest evenly. Then VACUUM ANALYZE, and:

1. Availability: free_intervals() of a busy unit over next month and week_slots() of its
   listing over next week (inside a test_request_context), each in a fresh session, after
   warm-up; median and p95, the SQL/Python split and a cProfile. The bookings query of
   busy_intervals() is captured as the app sends it and shown with EXPLAIN ANALYZE, next
   to its generic plan and two rewrites (measurements only; the app is not changed).
2. Throughput: gunicorn with --workers workers serving ShareHub (tests.support.live) on
   the same database, --clients threads each signed in as its own customer and booking its
   own free slots through POST /catalog/<id>/book/review (CSRF token included, redirect
   not followed), for --seconds; then the same clients against bench/bare_app.py (one
   INSERT per POST) under the same gunicorn settings. Requests/s, ratio, status counts,
   latencies, and which processes used the CPU; then the SQL and a cProfile of booking
   POSTs in process (Flask test client), to show where a booking's time goes.

Another benchmark or test run on the machine skews every figure: the load average and the
CPU used by processes not ours are measured for each phase and printed in the report.

Writes bench/out/booking.md and prints it. Times are reported, never asserted.
Everything listens on 127.0.0.1; every server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "booking.md"
ZONE = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-booking-secret"
TARGET_MEDIAN_MS = 10.0
TARGET_RATIO = 0.5
HOLDING_SQL = "('pending', 'confirmed', 'in_progress')"
WORKDAY = ((510, 720), (810, 1050))  # opening hours Mon-Fri: 08:30-12:00, 13:30-17:30
# The bookable time blocks of a working day (start minute, minutes): 08:30-10:30,
# 10:30-11:30, 13:30-15:30, 15:30-17:30. Bookings of the history and of the throughput
# clients all sit on these blocks, so "one booking per (unit, block)" means no overlap.
BLOCKS = ((510, 120), (630, 60), (810, 120), (930, 120))
BLOCKS_SQL = "(VALUES " + ", ".join(f"({k}, {s}, {m})" for k, (s, m) in enumerate(BLOCKS)) + ")"
BUSY_SHARE = 0.85  # share of its blocks a busy unit has booked
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- statistics ---------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-95 * len(ordered) // 100))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


# --- machine load -------------------------------------------------------------------------


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


def calibrate(loops: int = 50_000) -> float:
    """ms for a fixed pure-Python loop: how fast the CPU is for us right now. On a shared
    virtual machine it varies (other guests, frequency) even when nothing else here runs."""
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i % 7
    return (time.perf_counter() - started) * 1000


def machine_busy(seconds: float = 1.0) -> float:
    """Cores busy over `seconds` (0 … os.cpu_count())."""
    b0, t0 = cpu_times()
    time.sleep(seconds)
    b1, t1 = cpu_times()
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


def proc_snapshot() -> dict[int, tuple[int, int]]:
    """{pid: (ppid, utime+stime jiffies)} of every process."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        close = text.rfind(")")
        fields = text[close + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def ancestors(pid: int, table: dict[int, tuple[int, int]]) -> list[int]:
    chain = []
    for _ in range(64):
        entry = table.get(pid)
        if entry is None or entry[0] in (0, pid):
            break
        pid = entry[0]
        chain.append(pid)
    return chain


def other_benchmarks() -> list[str]:
    """Benchmarks, test runs and servers on this machine that are not ours."""
    me = os.getpid()
    table = proc_snapshot()
    mine = {me, *ancestors(me, table)}
    found = []
    for pid in table:
        if pid in mine or me in ancestors(pid, table):
            continue
        line = cmdline(pid)
        if re.search(r"bench\.|pytest|gunicorn|locust|\bwrk\b|pgbench", line):
            found.append(f"pid {pid}: {line[:120]}")
    return found


class CpuWatch:
    """CPU used by groups of processes between start() and stop(), in cores."""

    def __init__(self, postgres_pid_getter: Callable[[], int | None]):
        self.postgres_pid = postgres_pid_getter

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.before = proc_snapshot()
        self.machine0 = cpu_times()

    def stop(self) -> dict[str, float]:
        after = proc_snapshot()
        machine1 = cpu_times()
        seconds = max(1e-6, time.perf_counter() - self.t0)
        me, pg = os.getpid(), self.postgres_pid()
        groups = Counter()
        for pid, (_, ticks) in after.items():
            delta = ticks - self.before.get(pid, (0, 0))[1]
            if delta <= 0:
                continue
            chain = ancestors(pid, after)
            if pid == me:
                group = "client"
            elif pg and (pid == pg or pg in chain):
                group = "postgres"
            elif me in chain:
                group = "gunicorn"
            else:
                group = "other"
            groups[group] += delta
        cores = {k: v / CLK_TCK / seconds for k, v in groups.items()}
        busy = (machine1[0] - self.machine0[0]) / max(1, machine1[1] - self.machine0[1])
        cores["machine"] = busy * (os.cpu_count() or 1)
        # Everything the machine did that our processes did not (processes that came and
        # went within the interval are invisible to the per-process counts).
        ours = sum(cores.get(k, 0.0) for k in ("client", "gunicorn", "postgres"))
        cores["other"] = max(0.0, cores["machine"] - ours)
        cores["seen"] = other_benchmarks()
        return cores


# --- data ---------------------------------------------------------------------------------


@dataclass
class World:
    lab_id: int
    listing_ids: list[int]
    unit_ids: list[int]
    client_emails: list[str]
    client_org_ids: list[int]
    client_user_ids: list[int]
    busy_units: int
    gen: dict[str, float] = field(default_factory=dict)
    plan: dict[str, int] = field(default_factory=dict)


def workdays_sql() -> str:
    """Working days (n from 0) between :first and :last, holidays and make-up days applied."""
    return (
        "SELECT (row_number() OVER (ORDER BY g) - 1)::int AS n, g::date AS day "
        "FROM generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), "
        "interval '1 day') AS g "
        "LEFT JOIN holiday AS h ON h.day = g::date "
        "WHERE COALESCE(h.is_workday, extract(isodow FROM g) < 6)"
    )


def make_world(n_listings: int, n_clients: int, busy_units: int) -> World:
    """One lab with its manager, the listings with one unit each, the client customers."""
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Region, Role, User
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.search import index_fields
    from sharehub.core.codes import make_credit_code
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    city = db.session.scalar(sa.select(Region).where(Region.code == "320500"))
    now = utcnow()
    template = User(email="x", name="x")
    template.set_password(PASSWORD)
    lab = Organisation(
        kind=OrgKind.LAB,
        name="基准检测实验室",
        name_en="Benchmark Testing Laboratory",
        credit_code=make_credit_code("12320500MB0000001"),
        region=city,
        status_changed_dt=now,
    )
    manager = User(
        email="lab-manager@bench.sharehub.cn",
        name="实验室管理员",
        password_hash=template.password_hash,
        email_verified_dt=now,
    )
    db.session.add_all([lab, manager, Membership(user=manager, organisation=lab, role=Role.OWNER)])
    listings = []
    for n in range(n_listings):
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name=f"{'繁忙' if n < busy_units else '基准'}测试仪器 {n + 1:04d}",
            name_en=f"{'Busy' if n < busy_units else 'Benchmark'} instrument {n + 1:04d}",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=50000,
            price_internal=30000,
            published_dt=now,
            approval_required=False,
        )
        listing.units.append(Unit(name="#1"))
        for weekday in range(5):
            for start, end in WORKDAY:
                listing.opening_hours.append(
                    OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
                )
        index_fields(listing)
        listings.append(listing)
    db.session.add_all(listings)
    clients = []
    for n in range(n_clients):
        org = Organisation(
            kind=OrgKind.ENTERPRISE,
            name=f"基准客户企业{n + 1:03d}",
            credit_code=make_credit_code(f"91320500MC{n + 1:07d}"),
            region=city,
            status_changed_dt=now,
        )
        user = User(
            email=f"client{n + 1:03d}@bench.sharehub.cn",
            name=f"客户{n + 1:03d}",
            password_hash=template.password_hash,
            email_verified_dt=now,
        )
        db.session.add_all([org, user, Membership(user=user, organisation=org, role=Role.OWNER)])
        clients.append((org, user))
    db.session.commit()
    return World(
        lab_id=lab.id,
        listing_ids=[listing.id for listing in listings],
        unit_ids=[listing.units[0].id for listing in listings],
        client_emails=[user.email for _, user in clients],
        client_org_ids=[org.id for org, _ in clients],
        client_user_ids=[user.id for _, user in clients],
        busy_units=busy_units,
    )


def plan_counts(total: int, units: int, busy: int, blocks: int) -> list[int]:
    """Bookings per unit: `busy` units at BUSY_SHARE of their blocks, the rest evenly."""
    busy = min(busy, units)
    per_busy = min(int(BUSY_SHARE * blocks), total // max(1, 2 * busy))
    rest = total - busy * per_busy
    others = units - busy
    if others <= 0:
        raise SystemExit("--busy-units must leave some ordinary units")
    base, extra = divmod(rest, others)
    if base + 1 > 0.95 * blocks:
        raise SystemExit(
            f"{total:,} bookings do not fit: {units:,} units have {blocks:,} blocks each "
            "in two years; use more --listings or fewer --bookings"
        )
    return [per_busy] * busy + [base + (1 if n < extra else 0) for n in range(others)]


def insert_bookings(engine: sa.Engine, world: World, total: int, today: date, now: datetime):
    """The two-year history in one INSERT … SELECT: booking i of a unit with n bookings
    sits on a random block of the i-th of n equal slices of the unit's blocks, so bookings
    of a unit never overlap and spread evenly over the two years."""
    first, last = today - timedelta(days=365), today + timedelta(days=365)
    with engine.connect() as conn:
        days = conn.execute(
            sa.text(f"SELECT count(*) FROM ({workdays_sql()}) AS d"), {"first": first, "last": last}
        ).scalar_one()
    blocks = days * len(BLOCKS)
    counts = plan_counts(total, len(world.unit_ids), world.busy_units, blocks)
    world.plan = dict(
        workdays=days,
        blocks=blocks,
        busy_per_unit=counts[0],
        typical_per_unit=counts[world.busy_units],
    )
    sql = f"""
        WITH days AS ({workdays_sql()}),
        plan AS (
            SELECT * FROM unnest(CAST(:unit_ids AS int[]), CAST(:listing_ids AS int[]),
                                 CAST(:counts AS int[])) AS p(unit_id, listing_id, n)
            WHERE p.n > 0
        ),
        picks AS (
            SELECT p.unit_id, p.listing_id, i,
                   r.lo + floor(random() * (r.hi - r.lo))::int AS b
            FROM plan AS p
            CROSS JOIN LATERAL generate_series(0, p.n - 1) AS i
            CROSS JOIN LATERAL (
                SELECT floor(i * CAST(:blocks AS float8) / p.n)::int AS lo,
                       floor((i + 1) * CAST(:blocks AS float8) / p.n)::int AS hi
            ) AS r
        ),
        timed AS (
            SELECT pk.unit_id, pk.listing_id, pk.i, k.minutes, random() AS r,
                   (d.day + make_interval(mins => k.start_min)) AT TIME ZONE 'Asia/Shanghai'
                       AS starts,
                   (CAST(:org_ids AS int[]))[1 + (pk.i + pk.unit_id) % :n_orgs] AS org_id,
                   (CAST(:user_ids AS int[]))[1 + (pk.i + pk.unit_id) % :n_orgs] AS user_id
            FROM picks AS pk
            JOIN days AS d ON d.n = pk.b / {len(BLOCKS)}
            JOIN {BLOCKS_SQL} AS k(k, start_min, minutes) ON k.k = pk.b % {len(BLOCKS)}
        ),
        rows AS (
            SELECT timed.*,
                   CASE WHEN starts < :now THEN
                        CASE WHEN r < 0.88 THEN 'completed' WHEN r < 0.96 THEN 'cancelled'
                             ELSE 'no_show' END
                   ELSE CASE WHEN r < 0.85 THEN 'confirmed' WHEN r < 0.90 THEN 'pending'
                             ELSE 'cancelled' END
                   END AS status,
                   (minutes / 60.0 * 50000)::bigint AS net
            FROM timed
        )
        INSERT INTO booking (
            uid, listing_id, unit_id, customer_org_id, customer_user_id,
            starts_dt, ends_dt, blocked_until_dt, status, hold_expires_dt,
            purpose, sample_description, sample_count, contact_name, contact_phone,
            price_tier, net_amount, vat_rate_bp, vat_amount, gross_amount, cancel_fee,
            series_uid, sequence, reason, decided_dt, created_dt, updated_dt)
        SELECT 'bench-' || unit_id || '-' || i || '@sharehub.cn', listing_id, unit_id,
               org_id, user_id,
               starts, starts + make_interval(mins => minutes),
               starts + make_interval(mins => minutes),
               status,
               CASE WHEN status = 'pending' THEN LEAST(:now + interval '48 hours', starts) END,
               '', '', (i % 5), '', '',
               'external', net, 600, (net * 600 + 5000) / 10000,
               net + (net * 600 + 5000) / 10000, 0,
               NULL, 0, '',
               CASE WHEN status <> 'pending' THEN starts - interval '6 days' END,
               starts - interval '7 days', starts - interval '6 days'
        FROM rows
    """
    params = dict(
        first=first,
        last=last,
        unit_ids=world.unit_ids,
        listing_ids=world.listing_ids,
        counts=counts,
        blocks=blocks,
        org_ids=world.client_org_ids,
        user_ids=world.client_user_ids,
        n_orgs=len(world.client_org_ids),
        now=now,
    )
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setseed(0.20261124)"))
        conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        inserted = conn.execute(sa.text(sql), params).rowcount
    if inserted != total:
        raise RuntimeError(f"inserted {inserted:,} bookings, expected {total:,}")


def vacuum_analyze(engine: sa.Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


# --- part 1: availability -----------------------------------------------------------------


def classify(statement: str) -> str:
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    if re.fullmatch(r"(?i)select 1", text):
        return "ping"
    found = re.search(r"(?i)\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text)
    return f"{verb} {found.group(1)}" if found else verb


class Recorder:
    """SQL statements (kind, seconds, statement, parameters) sent while active."""

    def __init__(self, engine: sa.Engine):
        self.active = False
        self.statements: list[tuple[str, float, str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and conn.info.get("bench_t0"):
            elapsed = time.perf_counter() - conn.info["bench_t0"].pop()
            self.statements.append((classify(statement), elapsed, statement, parameters))

    @contextmanager
    def watching(self):
        self.statements = []
        self.active = True
        try:
            yield self
        finally:
            self.active = False


@dataclass
class Measure:
    label: str
    call: Callable[[], object]  # runs in a fresh session, returns the result
    prepare: Callable[[], None]  # untimed: loads the object as the request would
    samples: list[float] = field(default_factory=list)
    result_size: int = 0
    breakdown: dict[str, float] = field(default_factory=dict)
    statements: int = 0
    profile: str = ""


def availability(app, engine, world: World, args, today: date, cpu: CpuWatch) -> dict:
    from sharehub.booking.availability import free_intervals
    from sharehub.booking.views.bookings import week_slots
    from sharehub.catalog.models import Listing, Unit
    from sharehub.extensions import db

    month_start_day = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    month_end_day = (month_start_day + timedelta(days=32)).replace(day=1)
    month_start = datetime.combine(month_start_day, dtime(), ZONE)
    month_end = datetime.combine(month_end_day, dtime(), ZONE)
    week_start = today + timedelta(days=7 - today.weekday())
    busy_unit_id, busy_listing_id = world.unit_ids[0], world.listing_ids[0]
    typical_unit_id = world.unit_ids[world.busy_units]
    held: dict[str, object] = {}

    def load_unit(unit_id):
        def prepare():
            db.session.remove()
            held["obj"] = db.session.get(Unit, unit_id)

        return prepare

    def load_listing(listing_id):
        def prepare():
            db.session.remove()
            held["obj"] = db.session.get(Listing, listing_id)

        return prepare

    def month_free():
        return free_intervals(held["obj"], month_start, month_end)

    def week():
        return week_slots(held["obj"], week_start, ZONE)

    measures = [
        Measure(
            f"free_intervals, busy unit #{busy_unit_id}, {month_start_day:%B %Y}",
            month_free,
            load_unit(busy_unit_id),
        ),
        Measure(
            f"week_slots, busy listing #{busy_listing_id}, week of {week_start:%Y-%m-%d}",
            week,
            load_listing(busy_listing_id),
        ),
        Measure(
            f"free_intervals, typical unit #{typical_unit_id}, {month_start_day:%B %Y}",
            month_free,
            load_unit(typical_unit_id),
        ),
    ]
    recorder = Recorder(engine)
    calibration: list[float] = []
    cpu.start()
    # One request context around everything (week_slots needs it; pushing it is not timed).
    with app.test_request_context("/"):
        for rep in range(args.warmup + args.reps):
            if rep >= args.warmup:
                calibration.append(calibrate())
            for m in measures:
                m.prepare()
                started = time.perf_counter()
                result = m.call()
                elapsed = (time.perf_counter() - started) * 1000
                if rep >= args.warmup:
                    m.samples.append(elapsed)
                m.result_size = (
                    sum(len(v) for v in result.values())
                    if isinstance(result, dict)
                    else len(result)
                )
        cpu_timed = cpu.stop()
        # psycopg prepares a statement on its 5th run on a connection; PostgreSQL may then
        # switch to a generic plan. How the session's connection ran the bookings query:
        prepared = (
            db.session.connection()
            .exec_driver_sql(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT booking.starts_dt, booking.blocked_until_dt%%'"
            )
            .all()
        )
        # Where the time goes: SQL per statement kind, the rest is Python (interleaved too).
        runs: dict[str, list[dict[str, float]]] = {m.label: [] for m in measures}
        for _ in range(args.profile_reps):
            for m in measures:
                m.prepare()
                with recorder.watching():
                    started = time.perf_counter()
                    m.call()
                    total = (time.perf_counter() - started) * 1000
                parts: dict[str, float] = Counter()
                for kind, seconds, _, _ in recorder.statements:
                    parts[kind] += seconds * 1000
                parts["total"] = total
                parts["sql"] = sum(s for _, s, _, _ in recorder.statements) * 1000
                m.statements = len(recorder.statements)
                runs[m.label].append(parts)
        for n, m in enumerate(measures):
            own = runs[m.label]
            keys = {k for run in own for k in run}
            m.breakdown = {k: median([run.get(k, 0.0) for run in own]) for k in keys}
            if n == 0 or args.profile or median(m.samples) >= TARGET_MEDIAN_MS:
                m.profile = profile_calls(m, args.profile_reps)
        # The bookings query of busy_intervals, exactly as the app sends it.
        measures[0].prepare()
        with recorder.watching():
            measures[0].call()
        booking_sql = [s for s in recorder.statements if s[0] == "SELECT booking"]
        measures[1].prepare()
        with recorder.watching():
            measures[1].call()
        week_booking_sql = [s for s in recorder.statements if s[0] == "SELECT booking"]
        db.session.remove()
    plan = explain(engine, booking_sql[0][2], booking_sql[0][3]) if booking_sql else "(none)"
    week_plan = (
        explain(engine, week_booking_sql[0][2], week_booking_sql[0][3])
        if week_booking_sql
        else "(none)"
    )
    with engine.connect() as conn:
        longest = conn.execute(
            sa.text("SELECT max_minutes + buffer_minutes FROM listing WHERE id = :id"),
            {"id": busy_listing_id},
        ).scalar_one()
    forms = []
    if booking_sql:
        statement, parameters = booking_sql[0][2], booking_sql[0][3]
        forms = query_forms(
            engine,
            statement,
            parameters,
            busy_unit_id,
            month_start,
            month_end,
            timedelta(minutes=longest),
        )
    with engine.connect() as conn:
        counts = {}
        for key, unit_id in (("busy", busy_unit_id), ("typical", typical_unit_id)):
            counts[key] = conn.execute(
                sa.text(
                    "SELECT count(*), count(*) FILTER (WHERE status IN " + HOLDING_SQL + " "
                    "AND starts_dt < :end AND blocked_until_dt > :start) "
                    "FROM booking WHERE unit_id = :unit"
                ),
                {"unit": unit_id, "start": month_start, "end": month_end},
            ).one()
    return dict(
        measures=measures,
        plan=plan,
        week_plan=week_plan,
        sql=booking_sql[0][2] if booking_sql else "",
        params=booking_sql[0][3] if booking_sql else {},
        counts=counts,
        cpu=cpu_timed,
        calibration=calibration,
        prepared=prepared,
        forms=forms,
        month=(month_start_day, month_end_day),
        week_start=week_start,
    )


def profile_calls(m: Measure, reps: int) -> str:
    profiler = cProfile.Profile()
    for _ in range(reps):
        m.prepare()
        profiler.enable()
        m.call()
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(22)
    text = out.getvalue()
    text = text.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())[-6000:]


def explain(engine: sa.Engine, statement: str, parameters) -> str:
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cur.fetchall())
        raw.driver_connection.rollback()
    finally:
        raw.close()
    return plan


def query_forms(
    engine, statement: str, parameters: dict, unit_id, start, end, longest: timedelta
) -> list:
    """The bookings query as the app sends it (custom and generic plan) and two rewrites
    with the same result (the listing has no buffer): EXPLAIN ANALYZE and the median of 30
    round trips each. Returns [(form, plan, median ms, rows)]."""
    from psycopg import sql as psql

    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    generic = statement
    for n, name in enumerate(names, 1):
        generic = generic.replace(f"%({name})s", f"${n}")
    args = psql.SQL(", ").join(psql.Literal(parameters[name]) for name in names)
    holding = f"status IN {HOLDING_SQL}"
    # Typed as the app's statement is (psycopg would send a small int as smallint, which
    # btree_gist's int4 operator class cannot use).
    columns = (
        "SELECT starts_dt, blocked_until_dt FROM booking WHERE unit_id = CAST(%(unit)s AS integer)"
    )
    values = {"unit": unit_id, "start": start, "end": end, "lower": start - longest}
    forms = [
        ("as sent, custom plan", statement, parameters),
        ("as sent, generic plan (prepared, plan_cache_mode = force_generic_plan)", None, None),
        (
            "rewrite A: tstzrange(starts_dt, blocked_until_dt) && tstzrange(:start, :end), "
            "statuses as literals (the GiST index answers both conditions)",
            f"{columns} AND {holding} AND tstzrange(starts_dt, blocked_until_dt, '[)') "
            "&& tstzrange(CAST(%(start)s AS timestamptz), CAST(%(end)s AS timestamptz), '[)')",
            values,
        ),
        (
            "rewrite B: add starts_dt > :start - longest booking (max_minutes + buffer), "
            "a closed range on ix_booking_unit_time",
            f"{columns} AND {holding} AND starts_dt < CAST(%(end)s AS timestamptz) "
            "AND starts_dt > CAST(%(lower)s AS timestamptz) "
            "AND blocked_until_dt > CAST(%(start)s AS timestamptz)",
            values,
        ),
    ]
    results = []
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            for label, sql, params in forms:
                if sql is None:
                    cur.execute("PREPARE bench_generic AS " + generic)
                    cur.execute("SET plan_cache_mode = force_generic_plan")
                    query, params = psql.SQL("EXECUTE bench_generic({})").format(args), None
                else:
                    query = sql
                samples = []
                for _ in range(30):  # timed first, so that EXPLAIN sees a warm cache
                    t = time.perf_counter()
                    cur.execute(query, params, prepare=False)
                    rows = len(cur.fetchall())
                    samples.append((time.perf_counter() - t) * 1000)
                explain_query = (
                    psql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query
                    if sql is None
                    else "EXPLAIN (ANALYZE, BUFFERS) " + query
                )
                cur.execute(explain_query, params, prepare=False)
                plan = "\n".join(r[0] for r in cur.fetchall())
                if sql is None:
                    cur.execute("DEALLOCATE bench_generic")
                    cur.execute("RESET plan_cache_mode")
                results.append((label, plan, median(samples), rows))
        conn.rollback()
    finally:
        raw.close()
    return results


def indexes_used(plan: str) -> list[str]:
    return sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)", plan)))


# --- part 2: throughput ---------------------------------------------------------------------


def call(base: tuple[str, int], method: str, path: str, form=None, cookies=None):
    """One HTTP request on a new connection (gunicorn's sync workers close it anyway)."""
    conn = http.client.HTTPConnection(*base, timeout=60)
    try:
        headers = {}
        body = None
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, response.headers.get_all("Set-Cookie") or [], data
    finally:
        conn.close()


CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """A signed-in customer: cookies, the page's CSRF token, its own list of free slots."""

    def __init__(self, base: tuple[str, int], slots: list[tuple[int, datetime, int]]):
        self.base = base
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.slots = slots
        self.used = 0

    def request(self, method: str, path: str, form=None):
        status, set_cookies, body = call(self.base, method, path, form, self.cookies)
        for header in set_cookies:
            jar = SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                if morsel.value:
                    self.cookies[key] = morsel.value
                else:
                    self.cookies.pop(key, None)
        return status, body

    def sign_in(self, email: str) -> None:
        status, page = self.request("GET", "/account/signin")
        token = CSRF.search(page).group(1).decode()
        form = {"email": email, "password": PASSWORD, "csrf_token": token}
        status, _ = self.request("POST", "/account/signin", form)
        if status not in (302, 303):
            raise RuntimeError(f"sign-in of {email} answered {status}")
        listing_id, starts, minutes = self.slots[0]
        query = urlencode({"start": starts.isoformat(), "minutes": minutes})
        status, page = self.request("GET", f"/catalog/{listing_id}/book/review?{query}")
        if status != 200:
            raise RuntimeError(f"review page answered {status}")
        self.token = CSRF.search(page).group(1).decode()

    def next_booking(self):
        """The next POST of this client, or None when its slots are used up. The session
        cookie stays the one of sign-in: the redirect is not followed, so the flash
        messages the app stores in the cookie would otherwise pile up in it."""
        if self.used >= len(self.slots):
            return None
        listing_id, starts, minutes = self.slots[self.used]
        self.used += 1
        form = {"start": starts.isoformat(), "minutes": minutes, "csrf_token": self.token}
        return f"/catalog/{listing_id}/book/review", form, self.cookies


class BareClient:
    def __init__(self, number: int):
        self.number = number
        self.sent = 0

    def next_booking(self):
        self.sent += 1
        payload = f"client {self.number:03d} request {self.sent:06d} " + "x" * 80
        return "/insert", {"payload": payload}, None


@dataclass
class Run:
    label: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    exhausted: int = 0
    warmup_codes: Counter = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    speed: float = float("nan")  # calibrate() just before the run, ms

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.codes.items() if 200 <= code < 400)

    @property
    def conflicts(self) -> int:
        return self.codes.get(409, 0)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500)

    @property
    def other_4xx(self) -> int:
        return sum(n for code, n in self.codes.items() if 400 <= code < 500 and code != 409)

    @property
    def rps(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    @property
    def ok_rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def drive(label, base, clients, seconds: float, max_requests: int, warmup: int, cpu: CpuWatch):
    """Every client sends `warmup` untimed requests, then all start together and send
    requests back to back until `seconds` have passed, `max_requests` are sent, or their
    work is used up. Throughput = requests completed / time to the last completion."""
    run = Run(label, len(clients))
    per_thread: list[list[tuple[float, int | None]]] = [[] for _ in clients]
    ends = [0.0] * len(clients)
    errors: list[str] = []
    start = {}
    lock = threading.Lock()

    def begin():
        cpu.start()
        start["t0"] = time.perf_counter()

    barrier = threading.Barrier(len(clients), action=begin)

    def worker(i: int) -> None:
        client = clients[i]
        for _ in range(warmup):
            spec = client.next_booking()
            if spec is None:
                break
            try:
                status, _, _ = call(base, "POST", *spec)
                with lock:
                    run.warmup_codes[status] += 1
            except OSError as exc:
                errors.append(f"warm-up: {exc!r}")
        try:
            barrier.wait(timeout=300)
        except threading.BrokenBarrierError:
            return
        stop_at = start["t0"] + seconds
        record = per_thread[i]
        for _ in range(max_requests):
            if time.perf_counter() >= stop_at:
                break
            spec = client.next_booking()
            if spec is None:
                with lock:
                    run.exhausted += 1
                break
            t = time.perf_counter()
            try:
                status, _, _ = call(base, "POST", *spec)
            except OSError as exc:
                status = None
                errors.append(repr(exc))
            record.append(((time.perf_counter() - t) * 1000, status))
        ends[i] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds + 600
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        errors.append("some clients did not finish within the time bound")
    run.cpu = cpu.stop() if "t0" in start else {}
    run.elapsed = (max(ends) - start["t0"]) if "t0" in start and max(ends) else 0.0
    for record in per_thread:
        for ms, status in record:
            run.latencies.append(ms)
            if status is None:
                continue
            run.codes[status] += 1
    run.transport_errors = errors
    run.load_after = os.getloadavg()
    return run


def client_slots(engine: sa.Engine, world: World, clients: int, per_client_units: int, seed: int):
    """Free blocks (no holding booking) of ordinary units between now + 26 h and
    now + 89 days, each client on its own units, shuffled."""
    from sharehub.core.db import utcnow

    ordinary = list(zip(world.unit_ids, world.listing_ids, strict=True))[world.busy_units :]
    owners = {}
    for n, (unit_id, listing_id) in enumerate(ordinary):
        client = n % clients
        if n // clients < per_client_units:
            owners[unit_id] = (client, listing_id)
    now = utcnow()
    today = now.astimezone(ZONE).date()
    sql = f"""
        WITH days AS ({workdays_sql()}),
        candidates AS (
            SELECT u.unit_id, u.listing_id, u.client, k.minutes,
                   (d.day + make_interval(mins => k.start_min)) AT TIME ZONE 'Asia/Shanghai'
                       AS starts
            FROM unnest(CAST(:unit_ids AS int[]), CAST(:listing_ids AS int[]),
                        CAST(:clients AS int[])) AS u(unit_id, listing_id, client)
            CROSS JOIN days AS d
            CROSS JOIN {BLOCKS_SQL} AS k(k, start_min, minutes)
        )
        SELECT c.client, c.listing_id, c.starts, c.minutes FROM candidates AS c
        WHERE c.starts >= :earliest AND c.starts <= :latest
          AND NOT EXISTS (
              SELECT 1 FROM booking AS b
              WHERE b.unit_id = c.unit_id AND b.status IN {HOLDING_SQL}
                AND b.starts_dt < c.starts + make_interval(mins => c.minutes)
                AND b.blocked_until_dt > c.starts)
        ORDER BY c.client, c.starts, c.listing_id
    """
    params = dict(
        first=today,
        last=today + timedelta(days=92),
        unit_ids=list(owners),
        listing_ids=[v[1] for v in owners.values()],
        clients=[v[0] for v in owners.values()],
        earliest=now + timedelta(hours=26),
        latest=now + timedelta(days=89),
    )
    slots: list[list[tuple[int, datetime, int]]] = [[] for _ in range(clients)]
    with engine.connect() as conn:
        for client, listing_id, starts, minutes in conn.execute(sa.text(sql), params):
            slots[client].append((listing_id, starts.astimezone(ZONE), minutes))
    rng = random.Random(seed)
    for own in slots:
        rng.shuffle(own)
    return slots


@contextmanager
def bare_server(database_url: str, workdir: Path, workers: int):
    """gunicorn serving bench/bare_app.py on a loopback port, stopped by its PID."""
    from tests.support.live import gunicorn

    env = {**os.environ, "BENCH_DATABASE_URL": database_url}
    with gunicorn(
        "bench.bare_app:create_app()", env, workdir / "bare-gunicorn.log", workers
    ) as base:
        yield base


def host_port(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def log_status_counts(path: Path) -> tuple[Counter, int]:
    """Status codes of POSTs in a gunicorn access log, and the number of tracebacks."""
    if not path.exists():
        return Counter(), 0
    text = path.read_text(errors="replace")
    codes = Counter(int(c) for c in re.findall(r'"POST [^"]*" (\d{3}) ', text))
    return codes, text.count("Traceback")


def merge_runs(runs: list[Run]) -> Run:
    """All rounds of one server as one run (CPU averaged over the rounds' time)."""
    merged = Run(runs[0].label, runs[0].clients, warmup_codes=runs[0].warmup_codes)
    for run in runs:
        merged.latencies += run.latencies
        merged.codes += run.codes
        merged.transport_errors += run.transport_errors
        merged.elapsed += run.elapsed
        merged.exhausted += run.exhausted
    for key in ("machine", "client", "gunicorn", "postgres", "other"):
        merged.cpu[key] = sum(r.cpu.get(key, 0.0) * r.elapsed for r in runs) / max(
            1e-9, merged.elapsed
        )
    merged.cpu["seen"] = sorted({line for r in runs for line in r.cpu.get("seen", [])})
    merged.load_after = runs[-1].load_after
    return merged


def throughput(args, url: str, engine: sa.Engine, world: World, postgres) -> dict:
    """Both servers up (an idle sync worker costs nothing), then --rounds rounds of a
    ShareHub run followed by a bare run, so that a burst of load from elsewhere on the
    machine shows in one round instead of skewing one server only."""
    from tests.support.live import live_server

    slots = client_slots(engine, world, args.clients, args.units_per_client, args.seed)
    short = [n for n, own in enumerate(slots) if len(own) < 2]
    if short:
        raise RuntimeError(f"clients {short} have no free slots; use fewer --bookings")
    cpu = CpuWatch(lambda: postgres.pid)
    result: dict = {"slots": [len(s) for s in slots]}
    workdir = Path(tempfile.mkdtemp(prefix="sharehub-bench-live-"))
    sharehub_runs: list[Run] = []
    bare_runs: list[Run] = []
    try:
        with live_server(url, workdir, workers=args.workers, seed_demo=False) as base:
            address = host_port(base)
            browsers = [Browser(address, own) for own in slots]
            t = time.perf_counter()
            for email, browser in zip(world.client_emails, browsers, strict=True):
                browser.sign_in(email)
            result["sign_in"] = time.perf_counter() - t
            bare_clients = [BareClient(n + 1) for n in range(args.clients)]
            with bare_server(url, workdir, args.workers) as bare_base:
                with engine.connect() as conn:
                    before = conn.execute(sa.text("SELECT count(*) FROM booking")).scalar_one()
                for r in range(args.rounds):
                    warmup = args.warmup_requests if r == 0 else 0
                    print(f"Round {r + 1}: ShareHub at {base} …", flush=True)
                    speed = median([calibrate() for _ in range(5)])
                    run = drive(
                        f"ShareHub POST /catalog/<id>/book/review ({args.workers} workers)",
                        address,
                        browsers,
                        args.seconds,
                        args.max_requests,
                        warmup,
                        cpu,
                    )
                    run.speed = speed
                    sharehub_runs.append(run)
                    speed = median([calibrate() for _ in range(5)])
                    print(f"  {run.done} requests, {run.rps:.1f}/s; bare …", flush=True)
                    run = drive(
                        f"bench/bare_app.py POST /insert ({args.workers} workers)",
                        host_port(bare_base),
                        bare_clients,
                        args.seconds,
                        args.max_requests,
                        warmup,
                        cpu,
                    )
                    run.speed = speed
                    bare_runs.append(run)
                    print(f"  {run.done} requests, {run.rps:.1f}/s", flush=True)
                with engine.connect() as conn:
                    after = conn.execute(sa.text("SELECT count(*) FROM booking")).scalar_one()
                    result["bare_rows"] = conn.execute(
                        sa.text("SELECT count(*) FROM bench_insert")
                    ).scalar_one()
                result["written"] = after - before
        result["sharehub_log"] = log_status_counts(workdir / "gunicorn.log")
        result["bare_log"] = log_status_counts(workdir / "bare-gunicorn.log")
        result["rounds"] = list(zip(sharehub_runs, bare_runs, strict=True))
        result["sharehub"] = merge_runs(sharehub_runs)
        result["bare"] = merge_runs(bare_runs)
        result["leftover"] = [b.slots[b.used :] for b in browsers]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# (file, function, label) of the booking POST, in call order; nested ones are indented.
KEY_FUNCTIONS = (
    ("accounts/session.py", "load_user", "load_user (Flask-Login)"),
    ("booking/views.py", "review", "view `review`"),
    ("catalog/views.py", "get_listing", "· get_listing"),
    ("accounts/session.py", "current_org", "· current_org"),
    ("booking/pricing.py", "quote", "· quote (called twice)"),
    ("booking/services.py", "create_booking", "· create_booking"),
    ("booking/services.py", "check_rules", "· · check_rules (grid_starts)"),
    ("booking/services.py", "_is_free", "· · _is_free (free_intervals)"),
    ("core/audit.py", "record", "· · audit.record"),
    ("booking/notify.py", "booking_event", "· · notify.booking_event"),
    ("calendar/ics.py", "invite", "· · · ICS invite"),
    ("core/mail.py", "queue_mail", "· · · queue_mail (2 mails, Jinja)"),
    ("core/tx.py", "commit", "· commit"),
)


def booking_profile(app, engine, world: World, leftover, reps: int, warmup: int = 2) -> dict:
    """In-process view of one booking POST (Flask test client, CSRF off as in TestConfig):
    the SQL it sends and a cProfile of the whole request. Every request runs in its own
    app context (fresh session and `g`), as under gunicorn."""
    client_index = max(range(len(leftover)), key=lambda n: len(leftover[n]))
    own = leftover[client_index][: warmup + reps]
    recorder = Recorder(engine)
    runs = []
    profiler = cProfile.Profile()
    client = app.test_client()
    response = client.post(
        "/account/signin",
        data={"email": world.client_emails[client_index], "password": PASSWORD},
    )
    if response.status_code not in (302, 303):
        raise RuntimeError(f"in-process sign-in answered {response.status_code}")
    calibration = []
    for n, (listing_id, starts, minutes) in enumerate(own):
        calibration.append(calibrate())
        data = {"start": starts.isoformat(), "minutes": minutes}
        profiled = n >= warmup and n % 2 == 1
        with recorder.watching():
            if profiled:
                profiler.enable()
            started = time.perf_counter()
            cpu_started = time.process_time()
            response = client.post(f"/catalog/{listing_id}/book/review", data=data)
            cpu = (time.process_time() - cpu_started) * 1000
            total = (time.perf_counter() - started) * 1000
            if profiled:
                profiler.disable()
        if response.status_code not in (302, 303):
            raise RuntimeError(f"in-process booking answered {response.status_code}")
        parts: dict[str, float] = Counter()
        for kind, seconds, _, _ in recorder.statements:
            parts[kind] += seconds * 1000
        parts["sql"] = sum(s for _, s, _, _ in recorder.statements) * 1000
        parts["statements"] = len(recorder.statements)
        parts["total"] = total
        parts["cpu"] = cpu
        if n == len(own) - 1:
            last_kinds = Counter(kind for kind, _, _, _ in recorder.statements)
        if n >= warmup and not profiled:
            runs.append(parts)
    profiled_count = sum(1 for n in range(warmup, len(own)) if n % 2 == 1)
    keys = {k for run in runs for k in run}
    summary = {k: median([run.get(k, 0.0) for run in runs]) for k in keys}
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    parts = []
    for path, name, label in KEY_FUNCTIONS:
        seconds = sum(
            value[3]
            for (filename, _, funcname), value in stats.stats.items()
            if funcname == name and filename.endswith(path)
        )
        parts.append((label, seconds * 1000 / max(1, profiled_count)))
    stats.sort_stats("cumulative").print_stats(r"sharehub|flask_wtf|flask_login|jinja2", 30)
    text = out.getvalue().replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
    text = "\n".join(line.rstrip() for line in text.splitlines() if line.strip())
    return {
        "summary": summary,
        "runs": len(runs),
        "profile": text[-8000:],
        "parts": parts,
        "speed": median(calibration),
        "kinds": dict(last_kinds),
    }


# --- report ---------------------------------------------------------------------------------


def seen_text(cpu: dict) -> str:
    seen = cpu.get("seen") or []
    if not seen:
        return ""
    shown = "; ".join(f"`{line[:100]}`" for line in seen[:4])
    return f" **Not ours, running at the end of this phase:** {shown}."


def render_report(ctx: dict) -> str:
    av = ctx["availability"]
    measures: list[Measure] = av["measures"]
    tp = ctx.get("throughput")
    cores = os.cpu_count()
    load = ctx["load_start"]
    lines = [
        "# Booking benchmark (PostgreSQL)",
        "",
        f"Run {ctx['started']:%Y-%m-%d %H:%M} UTC · `{ctx['command']}`",
        "",
        "## Machine and load",
        "",
        f"- CPU cores (os.cpu_count()): **{cores}** · {platform.machine()} · "
        f"Python {platform.python_version()}",
        f"- {ctx['pg_version']} (throwaway cluster on 127.0.0.1, fsync off, "
        f"synchronous_commit off): shared_buffers {ctx['shared_buffers']}",
        f"- Load average at start (os.getloadavg()): **{load[0]:.2f}** / {load[1]:.2f} / "
        f"{load[2]:.2f} (1 / 5 / 15 min); machine busy over 1 s before starting: "
        f"{ctx['busy_start']:.2f} of {cores} cores",
    ]
    if ctx["others"]:
        lines.append(
            "- **Other benchmark / test / server processes were running at start**, so the "
            "figures below share the CPU with them:"
        )
        lines += [f"  - `{p}`" for p in ctx["others"][:10]]
    else:
        lines.append("- No other benchmark, test or gunicorn process was running at start.")
    phases = [("availability timing", ctx["availability"]["cpu"])]
    if tp:
        phases += [("ShareHub run", tp["sharehub"].cpu), ("bare run", tp["bare"].cpu)]
    contended = [(name, c["other"]) for name, c in phases if c.get("other", 0) >= 0.2]
    if contended:
        lines.append(
            "- **The machine was shared during the measurements**: busy time not ours, in "
            "cores of "
            f"{cores}: " + ", ".join(f"{name} {v:.2f}" for name, v in contended) + ". The "
            "figures of those phases are lower (throughput) or higher (times) than on an "
            "idle machine."
        )
    else:
        lines.append(
            "- During every timed phase the busy time not ours stayed under 0.2 cores: "
            + ", ".join(f"{name} {c.get('other', 0):.2f}" for name, c in phases)
            + "."
        )
    lines += [
        "",
        "## Data",
        "",
        f"- 1 lab · {len(ctx['world'].listing_ids):,} published equipment listings, one unit "
        f"each, opening hours Mon–Fri 08:30–12:00 and 13:30–17:30 (Asia/Shanghai) · "
        f"{len(ctx['world'].client_emails)} customer organisations with one user each",
        f"- **{ctx['bookings']:,} bookings** from {ctx['first']} to {ctx['last']} "
        f"({ctx['world'].plan['workdays']} working days × {len(BLOCKS)} blocks = "
        f"{ctx['world'].plan['blocks']:,} bookable blocks per unit): "
        f"{ctx['world'].busy_units} busy units with {ctx['world'].plan['busy_per_unit']:,} "
        f"bookings each ({ctx['world'].plan['busy_per_unit'] / ctx['world'].plan['blocks']:.0%} "
        f"of their blocks), the others ~{ctx['world'].plan['typical_per_unit']:,} each; "
        "statuses " + ", ".join(f"{s} {n:,}" for s, n in ctx["statuses"]),
        f"- booking table {ctx['sizes']['table']} with indexes; ix_booking_unit_time "
        f"{ctx['sizes']['unit_time']}, booking_no_overlap (GiST) {ctx['sizes']['gist']}",
        f"- Generation: {ctx['gen']['reference']:.1f} s migrate + reference data, "
        f"{ctx['gen']['objects']:.1f} s lab/listings/users (ORM), "
        f"{ctx['gen']['bookings']:.1f} s bookings INSERT … SELECT, "
        f"{ctx['gen']['vacuum']:.1f} s VACUUM ANALYZE",
        "",
        "## 1. Availability with the bookings in the database",
        "",
        f"Each call runs in a fresh SQLAlchemy session (the object it is given is loaded "
        f"untimed, as the request would have), {ctx['args'].warmup} warm-up rounds, then "
        f"{ctx['args'].reps} timed rounds, the three calls interleaved. time.perf_counter(); "
        "p95 nearest-rank. week_slots runs inside app.test_request_context() with "
        'ZoneInfo("Asia/Shanghai").',
        "",
        "CPU during the timed calls, in cores: "
        + ", ".join(
            f"{k} {av['cpu'].get(k, 0):.2f}"
            for k in ("machine", "client", "postgres", "gunicorn", "other")
        )
        + " (*client* = this process; *other* = the machine's busy time not used by the "
        "processes of this benchmark)."
        + seen_text(av["cpu"])
        + " CPU speed check, a fixed pure-Python loop timed once per round: median "
        f"{fmt(median(av['calibration']))} ms, p95 {fmt(p95(av['calibration']))} ms, min "
        f"{fmt(min(av['calibration']))} ms, so the rounds ran at "
        f"{min(av['calibration']) / median(av['calibration']):.0%} of the best speed seen "
        "(median; 100 % = steady). On this virtual machine that speed varies by up to "
        "~1.7× for seconds at a time with nothing else running; compare runs by *min* too.",
        "",
        "| call | bookings of the unit (holding in range) | result | median ms | p95 ms "
        "| min ms | aim: median < 10 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    busy_total, busy_month = av["counts"]["busy"]
    typical_total, typical_month = av["counts"]["typical"]
    rows = [
        (measures[0], f"{busy_total:,} ({busy_month} in the month)", "free intervals"),
        (measures[1], f"{busy_total:,}", "free starts"),
        (measures[2], f"{typical_total:,} ({typical_month} in the month)", "free intervals"),
    ]
    for m, bookings, what in rows:
        met = "met" if median(m.samples) < TARGET_MEDIAN_MS else "**not met**"
        lines.append(
            f"| {m.label} | {bookings} | {m.result_size} {what} | **{fmt(median(m.samples))}** "
            f"| {fmt(p95(m.samples))} | {fmt(min(m.samples))} | {met} |"
        )
    lines += [
        "",
        f"### Where the time goes (median of {ctx['args'].profile_reps} instrumented calls, ms)",
        "",
        "SQL is timed around each cursor execute (server time + transfer); *Python* is the "
        "rest (ORM, building statements, opening-hour and interval arithmetic).",
        "",
        "| call | total | SQL (statements) | per statement kind | Python |",
        "|---|---:|---:|---|---:|",
    ]
    for m in measures:
        b = m.breakdown
        kinds = sorted((k for k in b if k not in ("total", "sql")), key=lambda k: -b[k])
        per = ", ".join(f"{k} {fmt(b[k])}" for k in kinds)
        lines.append(
            f"| {m.label} | {fmt(b['total'])} | {fmt(b['sql'])} ({m.statements}) | {per} "
            f"| {fmt(b['total'] - b['sql'])} |"
        )
    for m in measures:
        if m.profile:
            lines += [
                "",
                f"<details><summary>cProfile: {m.label}</summary>",
                "",
                "```",
                m.profile,
                "```",
                "",
                "</details>",
            ]
    used = indexes_used(av["plan"])
    week_used = indexes_used(av["week_plan"])
    proof = ", ".join(f"**{u}**" for u in used) if used else "**no index (sequential scan)**"
    lines += [
        "",
        "### EXPLAIN of the bookings query of busy_intervals()",
        "",
        f"Captured from free_intervals() of the busy unit over the month, run with the same "
        f"parameters: index used {proof}. (The week's query in week_slots uses: "
        f"{', '.join(week_used) or 'no index'}.)",
        "",
        "```sql",
        " ".join(av["sql"].split()),
        "```",
        "",
        f"Parameters: `{av['params']}`",
        "",
        "```",
        av["plan"],
        "```",
    ]
    generic = sum(g for g, _ in av["prepared"])
    custom = sum(c for _, c in av["prepared"])
    lines += [
        "",
        "psycopg prepares a statement on its 5th execution on a connection, and PostgreSQL "
        "may then plan it once for all parameter values (a generic plan). On the session's "
        "connection, pg_prepared_statements listed the bookings query as planned "
        f"**{custom} times custom and {generic} times generic** by the end of the timed calls"
        + (
            " (not prepared at all: psycopg forgets statements prepared in a transaction "
            "that is rolled back, and each session here, like a GET request's, ends in a "
            "rollback; a booking POST commits, so on its path the query does get prepared "
            "and can run on the generic plan shown below)."
            if not av["prepared"]
            else "."
        ),
        "",
        "### The same query in other forms (busy unit, the month)",
        "",
        "EXPLAIN ANALYZE and the median of 30 round trips from Python (psycopg cursor, no ORM). "
        "Not app changes: measurements to choose one.",
        "",
        "| form | index | rows | rows removed by filter | heap blocks | execution ms "
        "| round trip ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, plan, ms, rows in av["forms"]:
        removed = sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan))
        heap = re.search(r"Heap Blocks: exact=(\d+)", plan)
        found = re.search(r"Execution Time: ([\d.]+) ms", plan)
        lines.append(
            f"| {label} | {', '.join(indexes_used(plan)) or 'none'} | {rows} | {removed} "
            f"| {heap.group(1) if heap else '–'} | {found.group(1) if found else '–'} "
            f"| {fmt(ms)} |"
        )
    for label, plan, _, _ in av["forms"][1:]:
        lines += [
            "",
            f"<details><summary>EXPLAIN ANALYZE: {label}</summary>",
            "",
            "```",
            plan,
            "```",
            "",
            "</details>",
        ]
    if tp:
        sh, bare = tp["sharehub"], tp["bare"]
        ratio = sh.rps / bare.rps if bare.rps else float("nan")
        met = "met" if ratio >= TARGET_RATIO else "**not met**"
        lines += [
            "",
            "## 2. Booking throughput over HTTP",
            "",
            f"Two gunicorn servers, {ctx['args'].workers} sync workers each, access log on, "
            f"on 127.0.0.1, on the same database (with the {ctx['bookings']:,} bookings), "
            f"both up for the whole part; {ctx['args'].rounds} rounds of a ShareHub run then "
            f"a bare run, {ctx['args'].seconds:g} s each. {ctx['args'].clients} "
            "client threads in this process, each with its own connection per request "
            "(http.client; gunicorn's sync workers close it), "
            f"{ctx['args'].warmup_requests} untimed warm-up requests per client before the "
            "first round, then all start together (at most "
            f"{ctx['args'].max_requests} requests per client and run). **ShareHub**: each "
            "client is a customer signed in over HTTP (its own organisation), posting "
            "`start`, `minutes` and its CSRF token to "
            "`/catalog/<id>/book/review` for its own free slots on its own units "
            f"(free blocks per client: {min(tp['slots'])}–{max(tp['slots'])}); success is "
            "the 302 to the booking page, which is not followed. **bare**: POST `/insert` of "
            "bench/bare_app.py, one INSERT into `bench_insert` per request. "
            "Throughput = requests completed / time until the last one completed; the table "
            "sums the rounds.",
            "",
            "| server | requests | ok | 409 | other 4xx | 5xx | transport errors | seconds "
            "| requests/s | median ms | p95 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for run in (sh, bare):
            lines.append(
                f"| {run.label} | {run.done:,} | {run.ok:,} | {run.conflicts} | "
                f"{run.other_4xx} | {run.server_errors} | {len(run.transport_errors)} | "
                f"{run.elapsed:.1f} | **{run.rps:.1f}** | {fmt(median(run.latencies))} | "
                f"{fmt(p95(run.latencies))} |"
            )
        lines += [
            "",
            f"**ShareHub / bare = {ratio:.0%}** (aim ≥ {TARGET_RATIO:.0%}: {met}).",
            "",
            "| round | ShareHub requests/s | bare requests/s | ratio | CPU not ours during "
            "ShareHub / bare (cores) | CPU speed check before ShareHub / bare (ms) |",
            "|---:|---:|---:|---:|---|---|",
        ]
        for n, (a, b) in enumerate(tp["rounds"], 1):
            lines.append(
                f"| {n} | {a.rps:.1f} | {b.rps:.1f} | {a.rps / b.rps if b.rps else 0:.0%} | "
                f"{a.cpu.get('other', 0):.2f} / {b.cpu.get('other', 0):.2f} | "
                f"{fmt(a.speed)} / {fmt(b.speed)} |"
            )
        lines += [
            "",
            f"Bookings written during the ShareHub runs (warm-up included): {tp['written']:,} "
            f"(= {sh.ok + sh.warmup_codes.get(302, 0):,} redirects); bench_insert rows: "
            f"{tp['bare_rows']:,}. Warm-up answers: ShareHub {dict(sh.warmup_codes)}, "
            f"bare {dict(bare.warmup_codes)}.",
            "",
            "CPU used during the timed runs (averaged over the rounds), in cores (of "
            f"{cores}), from /proc: *client* = these {ctx['args'].clients} threads, "
            "*gunicorn* = the servers' masters and workers, *postgres* = all backends, "
            "*other* = the machine's busy time not used by those (other processes, "
            "kernel).",
            "",
            "| server | machine | client | gunicorn | postgres | other | load avg after |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for run in (sh, bare):
            c = run.cpu
            lines.append(
                f"| {run.label.split(' ')[0]} | {c.get('machine', 0):.2f} | "
                f"{c.get('client', 0):.2f} | {c.get('gunicorn', 0):.2f} | "
                f"{c.get('postgres', 0):.2f} | {c.get('other', 0):.2f} | "
                f"{run.load_after[0]:.2f} |"
            )
        for run in (sh, bare):
            if run.cpu.get("seen"):
                lines += ["", f"{run.label.split(' ')[0]}:{seen_text(run.cpu)}"]
        for name, run, (codes, tracebacks) in (
            ("ShareHub", sh, tp["sharehub_log"]),
            ("bare", bare, tp["bare_log"]),
        ):
            server_5xx = sum(n for code, n in codes.items() if code >= 500)
            lines.append("")
            lines.append(
                f"{name} access log: POST status codes {dict(sorted(codes.items()))}, "
                f"{server_5xx} server errors, {tracebacks} tracebacks."
            )
            if run.transport_errors:
                lines.append(
                    f"{name} transport errors (first 5): "
                    + "; ".join(f"`{e[:150]}`" for e in run.transport_errors[:5])
                )
            if run.exhausted:
                lines.append(f"{name}: {run.exhausted} clients ran out of work before the end.")
        prof = ctx.get("booking_profile")
        if prof:
            s = prof["summary"]
            kinds = sorted(
                (k for k in s if k not in ("total", "sql", "statements", "cpu")),
                key=lambda k: -s[k],
            )
            lines += [
                "",
                f"### One booking POST in process (median of {prof['runs']} requests, ms)",
                "",
                "Flask test client, same database, CSRF off (TestConfig), no HTTP and no "
                f"gunicorn: total **{fmt(s['total'])}**, CPU of this process "
                f"**{fmt(s['cpu'])}**, SQL {fmt(s['sql'])} in "
                f"**{s['statements']:.0f} statements**, Python {fmt(s['total'] - s['sql'])}. "
                "Statements of the last request by kind: "
                + ", ".join(f"{k} ×{n}" for k, n in sorted(prof["kinds"].items()))
                + ". "
                "Statements: " + ", ".join(f"{k} {fmt(s[k])}" for k in kinds) + ". "
                f"CPU speed check during this phase: {fmt(prof['speed'])} ms (availability "
                f"phase: {fmt(median(av['calibration']))} ms; lower = faster).",
                "",
                "Under cProfile (so inflated, roughly 1.5×), per request, ms: "
                + "; ".join(f"{label} {fmt(ms)}" for label, ms in prof["parts"])
                + ".",
                "",
                "<details><summary>cProfile of the booking POSTs (cumulative, ShareHub and "
                "Flask extension frames)</summary>",
                "",
                "```",
                prof["profile"],
                "```",
                "",
                "</details>",
            ]
    lines += ["", f"Whole run: {ctx['wall']:.0f} s.", ""]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, default=2000, help="one unit each")
    parser.add_argument("--busy-units", type=int, default=10)
    parser.add_argument("--reps", type=int, default=40, help="timed calls (at least 30)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile-reps", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile availability always")
    parser.add_argument("--seconds", type=float, default=20.0, help="per throughput run")
    parser.add_argument(
        "--rounds", type=int, default=2, help="ShareHub run + bare run, this many times"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=5000, help="per client and run")
    parser.add_argument("--warmup-requests", type=int, default=2, help="per client and run")
    parser.add_argument("--units-per-client", type=int, default=16)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--shared-buffers",
        default="1GB",
        help="PostgreSQL shared_buffers, set by a restart after start "
        "('default' keeps the harness's 128MB)",
    )
    args = parser.parse_args(argv)
    if min(args.reps, args.clients, args.rounds) < 1 or args.seconds <= 0 or args.listings < 2:
        parser.error("--reps, --clients, --rounds, --seconds and --listings must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.catalog_search import set_shared_buffers
    from tests.support.postgres import ThrowawayPostgres, find_bindir

    wall = time.perf_counter()
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    others = other_benchmarks()
    busy_start = machine_busy(1.0)
    print(
        f"os.cpu_count() = {os.cpu_count()}; load average {load_start[0]:.2f} / "
        f"{load_start[1]:.2f} / {load_start[2]:.2f}; busy {busy_start:.2f} cores",
        flush=True,
    )
    for line in others:
        print(f"  also running: {line}", flush=True)
    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL server binaries not found (install postgresql)", file=sys.stderr)
        return 2
    server = ThrowawayPostgres(bindir)
    storage = tempfile.mkdtemp(prefix="sharehub-bench-storage-")
    try:
        server.start()
        if args.shared_buffers not in ("", "default"):
            set_shared_buffers(server, args.shared_buffers)
        print(
            f"PostgreSQL {bindir} on port {server.port} (pid {server.pid}), "
            f"shared_buffers {args.shared_buffers}",
            flush=True,
        )
        url = server.create_database("sharehub_bench_booking")
        ctx = dict(
            started=started,
            command="python -m bench.booking " + " ".join(sys.argv[1:] if argv is None else argv),
            args=args,
            load_start=load_start,
            busy_start=busy_start,
            others=others,
        )
        run(args, url, storage, server, ctx)
        ctx["wall"] = time.perf_counter() - wall
        report = render_report(ctx)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print()
        print(report)
        print(f"Report written to {args.out}")
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)
    return 0


def run(args, url: str, storage: str, server, ctx: dict) -> None:
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.catalog.reference import seed_categories, seed_holidays
    from sharehub.core.db import utcnow
    from sharehub.demo import seed_regions
    from sharehub.extensions import db

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = storage

    app = create_app(BenchConfig)
    gen = {}
    with app.app_context():
        t = time.perf_counter()
        upgrade()
        seed_regions()
        seed_categories()
        seed_holidays()
        db.session.commit()
        gen["reference"] = time.perf_counter() - t
        t = time.perf_counter()
        world = make_world(args.listings, args.clients, args.busy_units)
        gen["objects"] = time.perf_counter() - t
        print(f"{args.listings:,} listings and {args.clients} customers in {gen['objects']:.1f} s")
        engine = db.engine
        now = utcnow()
        today = now.astimezone(ZONE).date()
        t = time.perf_counter()
        insert_bookings(engine, world, args.bookings, today, now)
        gen["bookings"] = time.perf_counter() - t
        print(f"{args.bookings:,} bookings in {gen['bookings']:.1f} s", flush=True)
        t = time.perf_counter()
        vacuum_analyze(engine)
        gen["vacuum"] = time.perf_counter() - t
        db.session.remove()
    with engine.connect() as conn:
        ctx["pg_version"] = conn.execute(sa.text("SELECT version()")).scalar_one().split(",")[0]
        ctx["shared_buffers"] = conn.execute(sa.text("SHOW shared_buffers")).scalar_one()
        ctx["statuses"] = conn.execute(
            sa.text("SELECT status, count(*) FROM booking GROUP BY status ORDER BY 2 DESC")
        ).all()
        ctx["sizes"] = dict(
            zip(
                ("table", "unit_time", "gist"),
                conn.execute(
                    sa.text(
                        "SELECT pg_size_pretty(pg_total_relation_size('booking')), "
                        "pg_size_pretty(pg_relation_size('ix_booking_unit_time')), "
                        "pg_size_pretty(pg_relation_size('booking_no_overlap'))"
                    )
                ).one(),
                strict=True,
            )
        )
        first, last = conn.execute(
            sa.text("SELECT min(starts_dt), max(ends_dt) FROM booking")
        ).one()
    ctx.update(
        world=world,
        gen=gen,
        bookings=args.bookings,
        first=f"{first.astimezone(ZONE):%Y-%m-%d}",
        last=f"{last.astimezone(ZONE):%Y-%m-%d}",
    )
    print(f"Timing availability: {args.warmup} + {args.reps} rounds …", flush=True)
    cpu = CpuWatch(lambda: server.pid)
    ctx["availability"] = availability(app, engine, world, args, today, cpu)
    for m in ctx["availability"]["measures"]:
        print(f"  {m.label}: median {fmt(median(m.samples))} ms, p95 {fmt(p95(m.samples))} ms")
    if not args.skip_throughput:
        ctx["throughput"] = throughput(args, url, engine, world, server)
        print("Profiling booking POSTs in process …", flush=True)
        ctx["booking_profile"] = booking_profile(
            app, engine, world, ctx["throughput"]["leftover"], reps=40
        )
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
