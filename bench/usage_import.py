"""Usage CSV import: how long one request takes for 1,000, 5,000 and 20,000 rows.

    .venv/bin/python -m bench.usage_import                        # PostgreSQL, 5 runs per size
    .venv/bin/python -m bench.usage_import --database sqlite      # the embedded default
    .venv/bin/python -m bench.usage_import --sizes 1000 --reps 3  # smoke run

Starts a throwaway PostgreSQL cluster (or a SQLite file in a temporary directory), migrates
a fresh database, seeds the reference data and writes one lab with --listings published
equipment listings (two units each) and a manager. Then, for each size, builds one valid
CSV file (rows spread over every unit of the lab, each use one or two hours on a past
working day before the moment the benchmark started, minutes and samples filled in,
service ways mixed, a note on every third row) and POSTs it --reps times to
/lab/usage/import through Flask's test client, signed in as the manager — everything the
manager waits for on the server: reading the upload, decoding, the checks, the inserts,
the audit entries, the commit. Between runs the imported records and their audit entries
are deleted (not timed). The SQL statements sent per run are counted with a cursor event.
Last, the largest file is imported once more under cProfile.

Times are reported, never asserted. Writes bench/out/usage_import.md and prints it. The
server listens on 127.0.0.1 and is stopped by its PID.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-usage-import-1"
WAYS = ("on_site", "remote", "samples_sent")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--listings", type=int, default=8)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "usage_import.md")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    storage = tempfile.mkdtemp(prefix="sharehub-bench-storage-")
    server = None
    try:
        if args.database == "sqlite":
            url = f"sqlite:///{storage}/bench.sqlite"
        else:
            from tests.support.postgres import ThrowawayPostgres, find_bindir

            bindir = find_bindir()
            if bindir is None:
                print("PostgreSQL server binaries not found (install postgresql)", file=sys.stderr)
                return 2
            server = ThrowawayPostgres(bindir)
            server.start()
            print(f"PostgreSQL on port {server.port} (pid {server.pid})", flush=True)
            url = server.create_database("sharehub_bench_usage_import")
        report = run(args, url, storage)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print()
        print(report)
        print(f"Report written to {args.out}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(storage, ignore_errors=True)
    return 0


def make_csv(unit_ids: list[int], rows: int, before: datetime) -> bytes:
    """`rows` valid uses, newest first from the working day before `before`, spread over
    the units (each unit busy at most once per half day, so uses never pile up)."""
    lines = [
        "unit_id,started,ended,prep_minutes,run_minutes,post_minutes,samples,service_way,notes"
    ]
    day = before.astimezone(ZONE).date() - timedelta(days=1)
    slot = 0
    for n in range(rows):
        unit = unit_ids[n % len(unit_ids)]
        if n and n % len(unit_ids) == 0:
            slot += 1
        if slot == 2:
            slot = 0
            day -= timedelta(days=1)
            while day.weekday() >= 5:
                day -= timedelta(days=1)
        hour = 9 if slot == 0 else 14
        length = 60 + 60 * (n % 2)
        start = datetime(day.year, day.month, day.day, hour, 0)
        end = start + timedelta(minutes=length)
        note = f"批次{n}" if n % 3 == 0 else ""
        lines.append(
            f"{unit},{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{n % 15},{length - 15},"
            f"{n % 10},{n % 4},{WAYS[n % 3]},{note}"
        )
    return ("\n".join(lines) + "\n").encode()


def run(args, url: str, storage: str) -> str:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from bench import catalog_data
    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Field, Listing, ListingKind, ListingStatus, PriceUnit, Unit
    from sharehub.catalog.search import index_fields
    from sharehub.core.codes import make_credit_code
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = storage
        MAIL_SERVER = ""

    app = create_app(BenchConfig)
    started = datetime.now(UTC)
    with app.app_context():
        upgrade()
        catalog_data.seed_reference()
        lab = Organisation(
            kind=OrgKind.LAB,
            name="材料测试实验室",
            name_en="Materials Testing Lab",
            credit_code=make_credit_code("12320000MB0000001"),
        )
        manager = User(email="bench-manager@example.cn", name="实验室管理员", locale="en")
        manager.set_password(PASSWORD)
        manager.email_verified_dt = utcnow()
        db.session.add_all([lab, manager, Membership(user=manager, organisation=lab,
                                                     role=Role.MANAGER)])  # fmt: skip
        for n in range(args.listings):
            listing = Listing(
                lab=lab,
                kind=ListingKind.EQUIPMENT,
                status=ListingStatus.PUBLISHED,
                name=f"扫描电子显微镜 {n + 1}",
                field=Field.NEW_MATERIALS,
                category_code="020303",
                price_unit=PriceUnit.HOUR,
                price_external=50000,
                price_internal=30000,
                published_dt=utcnow(),
            )
            listing.units.extend([Unit(name="#1"), Unit(name="#2")])
            index_fields(listing)
            db.session.add(listing)
        db.session.commit()
        unit_ids = db.session.scalars(
            sa.select(Unit.id).join(Unit.listing).where(Listing.lab_id == lab.id).order_by(Unit.id)
        ).all()
        db.session.remove()
        engine = db.engine

    # Requests run outside this app context, as in production: each pushes its own and
    # removes its session at the end.
    statements = [0]

    def count(*_args, **_kwargs):
        statements[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)

    def clean() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM usage_record"))
            conn.execute(sa.text("DELETE FROM audit_entry WHERE action = 'usage.logged'"))

    def stored() -> int:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM usage_record"))

    client = app.test_client()
    response = client.post(
        "/account/signin", data={"email": "bench-manager@example.cn", "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code

    def post(data: bytes):
        return client.post(
            "/lab/usage/import",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(data), "usage.csv")},
            headers={"Accept-Language": "en"},
        )

    results = []
    files = {size: make_csv(unit_ids, size, started) for size in args.sizes}
    # warm-up: templates, the first connection, imports
    clean()
    post(make_csv(unit_ids, 10, started))
    for size in args.sizes:
        times, sent = [], []
        for _ in range(args.reps):
            clean()
            statements[0] = 0
            t = time.perf_counter()
            response = post(files[size])
            times.append(time.perf_counter() - t)
            sent.append(statements[0])
            if response.status_code != 302 or stored() != size:
                text = response.get_data(as_text=True)
                raise SystemExit(f"{size} rows: status {response.status_code}, {stored()} "
                                 f"stored\n{text[:2000]}")  # fmt: skip
        results.append(
            dict(size=size, kib=len(files[size]) / 1024, median=statistics.median(times),
                 low=min(times), high=max(times), statements=statistics.median(sent))
        )  # fmt: skip
        print(f"{size} rows: median {statistics.median(times):.2f} s", flush=True)
    profile_text = ""
    if not args.no_profile:
        size = max(args.sizes)
        clean()
        profile = cProfile.Profile()
        with profile:
            post(files[size])
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        profile_text = out.getvalue()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        profile_text += "\n" + out.getvalue()
    clean()
    engine.dispose()
    return report(args, results, profile_text)


def report(args, results: list[dict], profile_text: str) -> str:
    load = os.getloadavg()
    lines = [
        "# Usage CSV import benchmark",
        "",
        f"- database: {args.database}; one lab, {args.listings} listings × 2 units; "
        f"{args.reps} runs per size (POST /lab/usage/import, test client, signed in)",
        f"- machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} at the end",
        "",
        "| rows | file | median | min–max | per 1,000 rows | SQL statements per request |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['kib']:.0f} KiB | {r['median']:.2f} s | "
            f"{r['low']:.2f}–{r['high']:.2f} s | {r['median'] / r['size'] * 1000:.3f} s | "
            f"{r['statements']:,.0f} |"
        )
    if profile_text:
        lines += ["", "Profile of one import of the largest file:", "", "```"]
        lines += [line.rstrip() for line in profile_text.strip().splitlines()]
        lines += ["```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
