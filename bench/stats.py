"""Sharing statistics at scale on PostgreSQL: a yearly figure set for 500 labs over
1,000,000 usage records, and the streamed exports' peak memory.

    .venv/bin/python -m bench.stats                                  # full size, a few minutes
    .venv/bin/python -m bench.stats --usage 20000 --listings 1000    # smoke run, < 1 minute

Starts a throwaway PostgreSQL cluster, migrates a fresh database, seeds the reference data
and writes (bench/catalog_data.py) --labs labs with --listings listings (one unit each),
then with INSERT … SELECT … FROM generate_series (setseed, so reproducible):
--enterprises enterprises with one user each (a third SMEs, half in a cluster);
--bookings finished bookings over the year (completed 70 %, cancelled 12 %, declined 8 %,
no-show 5 %, expired 5 %; they hold no slot, so the exclusion constraint does not apply);
a usage record for each completed booking plus unbooked use up to --usage records in all
(40 % of it the lab's own), spread from 20 December of the year before to 10 January
after so that records cross both bounds; an invoice for every completed external booking;
ratings for 40 % of completed bookings; --outages outages. Then VACUUM ANALYZE and:

1. The yearly round: `lab_metrics(1 Jan, 1 Jan next year, all lab ids)` --reps times in a
   fresh session (median, min, max), then the assessment round of part B through
   `assessment_round()` below when the `sharehub.assessment` package provides it, and the
   per-query time of the metrics (which of the SQL statements dominates).
2. The exports: the national report (per instrument) and the unit-level table of every lab,
   as CSV (generator written to a file) and XLSX (xlsxwriter constant_memory), with the
   peak of Python allocations (tracemalloc) and of the process (ru_maxrss), next to the
   peak of building the same rows as one list — what streaming saves.

Writes bench/out/stats.md and prints it. Times are reported, never asserted.
The cluster listens on 127.0.0.1 and is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "stats.md"
TARGET_S = 10.0


def assessment_round(start: date, end: date, lab_ids: list[int]):
    """Part B (assessment): compute a round over the same period (bench/assessment_round.py)."""
    from bench.assessment_round import run_round

    return run_round(start, end, lab_ids)


# --- data ----------------------------------------------------------------------------------

ENTERPRISES_SQL = """
INSERT INTO organisation (kind, status, name, name_en, credit_code, region_id, cluster_id,
    contact_name, contact_phone, contact_email, address, is_sme, cnas_number, cma_number,
    host_name, vat_rate_bp, bank_name, bank_account, status_reason, created_dt)
SELECT 'enterprise', 'active', '测试企业' || n, 'Enterprise ' || n,
    '91' || lpad(n::text, 16, '0'),
    (SELECT id FROM region WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1 OFFSET n % 300),
    CASE WHEN random() < 0.5 THEN (SELECT id FROM cluster ORDER BY id LIMIT 1 OFFSET n % 6) END,
    '联系人', '0512-0000000', 'firm' || n || '@example.cn', '', random() < 0.33, '', '', '',
    600, '', '', '', now()
FROM generate_series(1, :n) AS n
"""

USERS_SQL = """
INSERT INTO "user" (email, password_hash, name, phone, locale, timezone, disabled,
    created_dt, session_version)
SELECT 'buyer-' || o.id || '@example.cn', 'x', '用户' || o.id, '', 'zh_CN', 'Asia/Shanghai',
    false, now(), 1
FROM organisation o WHERE o.kind = 'enterprise'
"""

ARRAYS_SQL = """
CREATE TEMP TABLE pick AS
SELECT (SELECT array_agg(u.id ORDER BY u.id) FROM unit u) AS units,
       (SELECT array_agg(l.lab_id ORDER BY u.id) FROM unit u JOIN listing l ON l.id = u.listing_id)
           AS unit_labs,
       (SELECT array_agg(l.id ORDER BY u.id) FROM unit u JOIN listing l ON l.id = u.listing_id)
           AS unit_listings,
       (SELECT array_agg(o.id ORDER BY o.id) FROM organisation o WHERE o.kind = 'enterprise')
           AS firms,
       (SELECT array_agg(us.id ORDER BY us.email) FROM "user" us
           WHERE us.email LIKE 'buyer-%') AS buyers
"""

BOOKINGS_SQL = """
INSERT INTO booking (uid, listing_id, unit_id, customer_org_id, customer_user_id, starts_dt,
    ends_dt, blocked_until_dt, status, purpose, sample_description, sample_count, contact_name,
    contact_phone, price_tier, net_amount, vat_rate_bp, vat_amount, gross_amount, cancel_fee,
    sequence, reason, declined_for_capacity, decided_dt, created_dt, updated_dt)
SELECT 'bench-' || n, p.unit_listings[k], p.units[k], p.firms[f], NULL, s, s + d, s + d,
    st, '', '', 0, '', '', 'external', 50000, 600, 3000, 53000, 0, 0, '',
    st = 'declined' AND random() < 0.5,
    CASE WHEN st IN ('completed', 'no_show', 'declined', 'cancelled')
         THEN s - interval '3 days' + random() * interval '30 hours' END,
    s - interval '3 days', s
FROM (
    SELECT n, 1 + floor(random() * cardinality(p.units))::int AS k,
           1 + floor(random() * cardinality(p.firms))::int AS f,
           timestamptz '2026-01-01 00:00+08' + random() * interval '365 days' AS s,
           (60 + 30 * floor(random() * 7)) * interval '1 minute' AS d,
           random() AS r
    FROM generate_series(1, :n) AS n, pick p
) g, pick p,
LATERAL (SELECT CASE WHEN g.r < 0.70 THEN 'completed' WHEN g.r < 0.82 THEN 'cancelled'
                     WHEN g.r < 0.90 THEN 'declined' WHEN g.r < 0.95 THEN 'no_show'
                     ELSE 'expired' END AS st) x
"""

BOOKING_USERS_SQL = """
UPDATE booking b SET customer_user_id = u.id
FROM "user" u WHERE u.email = 'buyer-' || b.customer_org_id || '@example.cn'
"""

BOOKED_USAGE_SQL = """
INSERT INTO usage_record (unit_id, booking_id, user_org_id, started_dt, ended_dt,
    prep_minutes, run_minutes, post_minutes, samples, service_way, notes, recorded_by_id,
    created_dt, updated_dt)
SELECT b.unit_id, b.id, b.customer_org_id, b.starts_dt, b.ends_dt,
    15, (extract(epoch FROM b.ends_dt - b.starts_dt) / 60)::int - 15, 10, 2, 'on_site', '',
    NULL, b.ends_dt, b.ends_dt
FROM booking b WHERE b.status = 'completed'
"""

FREE_USAGE_SQL = """
INSERT INTO usage_record (unit_id, booking_id, user_org_id, started_dt, ended_dt,
    prep_minutes, run_minutes, post_minutes, samples, service_way, notes, recorded_by_id,
    created_dt, updated_dt)
SELECT p.units[k], NULL, CASE WHEN r < 0.4 THEN p.unit_labs[k] ELSE p.firms[f] END,
    s, s + d * interval '1 minute', d / 10, d - d / 5, d / 10, 1,
    CASE WHEN r < 0.9 THEN 'on_site' ELSE 'samples_sent' END, '', NULL, s, s
FROM (
    SELECT 1 + floor(random() * cardinality(p.units))::int AS k,
           1 + floor(random() * cardinality(p.firms))::int AS f,
           timestamptz '2025-12-20 00:00+08' + random() * interval '386 days' AS s,
           (30 + floor(random() * 330))::int AS d, random() AS r
    FROM generate_series(1, :n) AS n, pick p
) g, pick p
"""

INVOICES_SQL = """
INSERT INTO invoice (lab_id, customer_org_id, booking_id, is_credit_note, status, year,
    sequence, number, currency, net_total, vat_total, gross_total, seller, buyer, note,
    issued_dt, created_dt)
SELECT l.lab_id, b.customer_org_id, b.id, false, 'issued', 2026,
    row_number() OVER (PARTITION BY l.lab_id ORDER BY b.id),
    'B' || l.lab_id || '-' || row_number() OVER (PARTITION BY l.lab_id ORDER BY b.id),
    'CNY', b.net_amount, b.vat_amount, b.gross_amount, '{}', '{}', '',
    b.ends_dt + interval '1 hour', b.ends_dt
FROM booking b JOIN listing l ON l.id = b.listing_id
WHERE b.status = 'completed' AND b.customer_org_id <> l.lab_id
"""

RATINGS_SQL = """
INSERT INTO rating (booking_id, listing_id, customer_org_id, author_id, score, comment,
    reply, replied_by_id, replied_dt, created_dt)
SELECT b.id, b.listing_id, b.customer_org_id, b.customer_user_id,
    3 + floor(random() * 3)::int, '', '', NULL, NULL, b.ends_dt + interval '2 days'
FROM booking b WHERE b.status = 'completed' AND random() < 0.4
"""

OUTAGES_SQL = """
INSERT INTO outage (unit_id, kind, starts_dt, ends_dt, note)
SELECT p.units[1 + floor(random() * cardinality(p.units))::int],
    CASE WHEN random() < 0.5 THEN 'maintenance' ELSE 'breakdown' END, s,
    s + (1 + floor(random() * 48)) * interval '1 hour', ''
FROM (SELECT timestamptz '2026-01-01 00:00+08' + random() * interval '360 days' AS s
      FROM generate_series(1, :n)) g, pick p
"""


def build(engine: sa.Engine, args) -> dict[str, float]:
    timings = {}
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setseed(:s)"), {"s": (args.seed % 1000) / 1000})
        for name, sql, params in (
            ("enterprises", ENTERPRISES_SQL, {"n": args.enterprises}),
            ("users", USERS_SQL, {}),
            ("pick", ARRAYS_SQL, {}),
            ("bookings", BOOKINGS_SQL, {"n": args.bookings}),
            ("booking users", BOOKING_USERS_SQL, {}),
            ("booked usage", BOOKED_USAGE_SQL, {}),
        ):
            t = time.perf_counter()
            conn.execute(sa.text(sql), params)
            timings[name] = time.perf_counter() - t
        booked = conn.execute(sa.text("SELECT count(*) FROM usage_record")).scalar_one()
        for name, sql, params in (
            ("free usage", FREE_USAGE_SQL, {"n": max(0, args.usage - booked)}),
            ("invoices", INVOICES_SQL, {}),
            ("ratings", RATINGS_SQL, {}),
            ("outages", OUTAGES_SQL, {"n": args.outages}),
        ):
            t = time.perf_counter()
            conn.execute(sa.text(sql), params)
            timings[name] = time.perf_counter() - t
    t = time.perf_counter()
    with engine.begin() as conn:  # the daily usage rollup of the records loaded with SQL
        from sharehub.stats import rollups

        bounds = rollups.record_bounds(conn)
        if bounds is not None:
            rollups.rebuild(conn, *bounds)
    timings["usage rollup"] = time.perf_counter() - t
    t = time.perf_counter()
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM (ANALYZE)")
    finally:
        raw.close()
    timings["vacuum analyze"] = time.perf_counter() - t
    return timings


# --- measurements --------------------------------------------------------------------------


class StatementTimer:
    """Wall time per SQL statement of the metrics (grouped by the table it starts from)."""

    def __init__(self, engine):
        self.engine, self.times = engine, Counter()

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "after_cursor_execute", self.after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, *args):
        conn.info["t0"] = time.perf_counter()

    LABELS = (
        ("effective_min", "usage: hours and organisations"),
        ("per_user", "usage: users"),
        ("usage_day", "usage rollup: hours and organisations"),
        ("opening_s", "opening hours"),
        ("outage_s", "outages"),
        ("booked_s", "booked hours"),
        ("requested", "booking counts"),
        ("median_s", "median response"),
        ("ratings", "ratings"),
        ("rev_int", "revenue"),
        ("unit_count", "units"),
    )

    def after(self, conn, cursor, statement, *args):
        head = statement.split("\n SELECT ", 1)[-1][:600]
        label = next((name for key, name in self.LABELS if key in head), "other")
        self.times[label] += time.perf_counter() - conn.info.pop("t0")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds used so far by the PostgreSQL cluster: the live children of the
    postmaster (our backend) plus what its finished children used (parallel workers are
    reaped by the postmaster, so their time lands in its cutime/cstime)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == postmaster:
            total += int(fields[13]) + int(fields[14])  # cutime + cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def yearly_round(app, year: int, reps: int, postmaster: int | None = None) -> dict:
    from sharehub.extensions import db
    from sharehub.stats.metrics import lab_metrics
    from sharehub.stats.queries import lab_ids
    from sharehub.stats.sql import Filters

    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    times, round_times, result = [], [], {}
    with app.app_context():
        ids = lab_ids(Filters())
        db.session.remove()
        cpu = []
        for _ in range(reps):
            t, c, p = time.perf_counter(), time.process_time(), cluster_cpu(postmaster or -1)
            result = lab_metrics(start, end, ids)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c + cluster_cpu(postmaster or -1) - p)
            t = time.perf_counter()
            done = assessment_round(start, end, ids)
            if done is not None:
                round_times.append(time.perf_counter() - t)
            db.session.remove()
        with StatementTimer(db.engine) as timer:
            lab_metrics(start, end, ids)
        db.session.remove()
        t = time.perf_counter()  # the reference: usage figures from the records themselves
        lab_metrics(start, end, ids, raw=True)
        raw_time = time.perf_counter() - t
        db.session.remove()
    total = {
        k: sum(v[k] or 0 for v in result.values())
        for k in ("effective_hours", "external_hours", "unit_count")
    }
    return {
        "labs": len(ids),
        "times": times,
        "round_times": round_times,
        "raw_time": raw_time,
        "cpu": cpu,
        "per_query": timer.times,
        "totals": total,
        "sample": result[ids[0]] if ids else {},
    }


def peak(fn) -> tuple[float, int, float]:
    """(seconds, tracemalloc peak bytes, ru_maxrss growth in MB) of fn()."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return elapsed, top, (after - before) / 1024


def exports(app, year: int, workdir: Path) -> list[dict]:
    from sharehub.extensions import db
    from sharehub.stats import exports as ex
    from sharehub.stats.queries import PeriodChoice, iter_table
    from sharehub.stats.sql import Filters

    choice = PeriodChoice("year", date(year, 1, 1), date(year + 1, 1, 1))
    unit_columns = ex.table_columns("Unit")
    jobs = [
        ("national report, CSV", lambda: ex.national_rows(year), ex.NATIONAL_COLUMNS, "csv"),
        ("national report, XLSX", lambda: ex.national_rows(year), ex.NATIONAL_COLUMNS, "xlsx"),
        ("unit table, CSV", lambda: iter_table(choice, "unit", Filters()), unit_columns, "csv"),
        ("unit table, XLSX", lambda: iter_table(choice, "unit", Filters()), unit_columns, "xlsx"),
        ("national report, as one list", lambda: ex.national_rows(year), None, "list"),
    ]
    results = []
    with app.app_context():
        for label, rows, columns, fmt in jobs:
            size = [0, 0]

            def job(rows=rows, columns=columns, fmt=fmt, size=size):
                if fmt == "csv":
                    path = workdir / "export.csv"
                    with open(path, "w", encoding="utf-8") as out:
                        for chunk in ex.csv_stream(columns, rows()):
                            out.write(chunk)
                            size[1] += 1
                    size[0] = path.stat().st_size
                elif fmt == "xlsx":

                    def counted(items):
                        for item in items:
                            size[1] += 1
                            yield item

                    path = ex.xlsx_file(columns, counted(rows()))
                    size[0] = os.path.getsize(path)
                    os.remove(path)
                else:
                    everything = list(rows())
                    size[1] = len(everything)

            seconds, top, rss = peak(job)
            db.session.remove()
            results.append(
                {
                    "label": label,
                    "seconds": seconds,
                    "peak": top,
                    "rss": rss,
                    "bytes": size[0],
                    "rows": size[1],
                }
            )
            print(f"  {label}: {seconds:.1f} s, peak {top / 2**20:.1f} MB", flush=True)
    return results


# --- report --------------------------------------------------------------------------------


def render(ctx: dict) -> str:
    r, args = ctx["round"], ctx["args"]
    times = r["times"]
    lines = [
        "# Sharing statistics benchmark",
        "",
        f"Run {ctx['started']:%Y-%m-%d %H:%M} UTC, `{ctx['command']}`, {ctx['pg']}, "
        f"{os.cpu_count()} CPUs, load average at start {ctx['load'][0]:.2f}.",
        "",
        "## Data",
        "",
        "| table | rows |",
        "| --- | ---: |",
        *[f"| {k} | {v:,} |" for k, v in ctx["counts"].items()],
        "",
        "Generation: " + ", ".join(f"{k} {v:.1f} s" for k, v in ctx["timings"].items()) + ".",
        "",
        f"## Yearly figures of all {r['labs']} labs ({args.year})",
        "",
        f"`lab_metrics(date({args.year}, 1, 1), date({args.year + 1}, 1, 1), all lab ids)`, "
        f"{len(times)} runs, each in a fresh session:",
        "",
        f"- median **{statistics.median(times):.2f} s** (min {min(times):.2f}, "
        f"max {max(times):.2f}); target {TARGET_S:.0f} s including the round",
        f"- CPU time (this process + the PostgreSQL cluster) per run: median "
        f"**{statistics.median(r['cpu']):.2f} s** — the wall time less the waiting for CPU"
        f" on a shared machine (load average {ctx['load_end'][0]:.2f} at the end on"
        f" {os.cpu_count()} CPUs)",
    ]
    if r["round_times"]:
        both = statistics.median(times) + statistics.median(r["round_times"])
        lines.append(
            f"- assessment round (part B hook): median {statistics.median(r['round_times']):.2f} s;"
            f" together {both:.2f} s"
        )
    else:
        lines.append(
            "- assessment round: not measured — `bench.assessment_round.run_round` is not"
            " there yet (hook `assessment_round()` in bench/stats.py)"
        )
    lines.append(
        f"- the same with the usage figures read from the records themselves (`raw=True`, "
        f"the reference the daily rollup is tested against), one run: {r['raw_time']:.2f} s"
    )
    lines += [
        "- time per statement kind (one run): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in r["per_query"].most_common()),
        f"- totals: {float(r['totals']['effective_hours']):,.0f} effective hours, "
        f"{float(r['totals']['external_hours']):,.0f} external, "
        f"{r['totals']['unit_count']:,} units",
        "",
        "## Exports (whole year, every lab)",
        "",
        "| export | rows | size | time | peak Python allocations | process RSS growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for e in ctx["exports"]:
        lines.append(
            f"| {e['label']} | {e['rows']:,} | {e['bytes'] / 2**20:.1f} MB | "
            f"{e['seconds']:.1f} s | {e['peak'] / 2**20:.1f} MB | {e['rss']:.0f} MB |"
        )
    lines += [
        "",
        "Peaks are measured under tracemalloc (which slows Python down; the times include it).",
        "RSS growth is the rise of the process's maximum resident size during the export (0",
        "when an earlier step had already reached a higher peak).",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", type=int, default=500)
    parser.add_argument("--listings", type=int, default=10_000, help="one unit each")
    parser.add_argument("--enterprises", type=int, default=3_000)
    parser.add_argument("--bookings", type=int, default=300_000)
    parser.add_argument("--usage", type=int, default=1_000_000, help="usage records in all")
    parser.add_argument("--outages", type=int, default=5_000)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--shared-buffers", default="1GB")
    parser.add_argument("--skip-exports", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from bench.catalog_search import set_shared_buffers
    from tests.support.postgres import ThrowawayPostgres, find_bindir

    args = parse_args(argv)
    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL server binaries not found (install postgresql)", file=sys.stderr)
        return 2
    ctx = {
        "args": args,
        "started": datetime.now(UTC),
        "load": os.getloadavg(),
        "command": "python -m bench.stats " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    server = ThrowawayPostgres(bindir)
    workdir = Path(tempfile.mkdtemp(prefix="sharehub-bench-stats-"))
    try:
        server.start()
        if args.shared_buffers not in ("", "default"):
            set_shared_buffers(server, args.shared_buffers)
        print(f"PostgreSQL on port {server.port} (pid {server.pid})", flush=True)
        url = server.create_database("sharehub_bench_stats")
        ctx["postmaster"] = server.pid
        run(args, url, workdir, ctx)
        report = render(ctx)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print()
        print(report)
        print(f"Report written to {args.out}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run(args, url: str, workdir: Path, ctx: dict) -> None:
    from flask_migrate import upgrade

    from bench.catalog_data import generate_listings, load, make_clusters, make_labs
    from config import TestConfig
    from sharehub import create_app
    from sharehub.extensions import db

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = str(workdir)

    app = create_app(BenchConfig)
    rng = random.Random(args.seed)
    with app.app_context():
        t = time.perf_counter()
        upgrade()
        from bench.catalog_data import seed_reference

        seed_reference()
        labs = make_labs(rng, args.labs, make_clusters())
        data = generate_listings(rng, labs, args.listings)
        timings = {"labs and listings": time.perf_counter() - t}
        timings.update({f"listings {k}": v for k, v in load(db.engine, data).items()})
        timings.update(build(db.engine, args))
        print("data: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()), flush=True)
        with db.engine.connect() as conn:
            ctx["pg"] = conn.execute(sa.text("SELECT version()")).scalar_one().split(",")[0]
            ctx["counts"] = {
                table: conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in (
                    "organisation",
                    "listing",
                    "unit",
                    "opening_interval",
                    "booking",
                    "usage_record",
                    "invoice",
                    "rating",
                    "outage",
                )
            }
        db.session.remove()
    ctx["timings"] = timings
    print(f"usage records: {ctx['counts']['usage_record']:,}", flush=True)
    ctx["round"] = yearly_round(app, args.year, args.reps, ctx.get("postmaster"))
    print(
        "yearly lab_metrics: " + ", ".join(f"{s:.2f}" for s in ctx["round"]["times"]) + " s"
        f" (from the records themselves: {ctx['round']['raw_time']:.2f} s)",
        flush=True,
    )
    ctx["load_end"] = os.getloadavg()
    ctx["exports"] = [] if args.skip_exports else exports(app, args.year, workdir)


if __name__ == "__main__":
    sys.exit(main())
