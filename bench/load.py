"""Load test: locust (headless) against ShareHub under gunicorn with several workers on
PostgreSQL, loopback only, then a consistency check of everything the load wrote.

    make load                                   # the default size, about three minutes
    .venv/bin/python -m bench.load --help       # options (size, users, time, faults)
    .venv/bin/python -m bench.load --restart-postgres-after 30   # PostgreSQL restarted mid-run

The data set is the catalogue benchmark's generator (bench/catalog_data.py) at a smaller
default size, plus a manager for each of the busiest labs and the customer firms. Every
process started here (PostgreSQL, gunicorn, locust, the SMTP server) listens on 127.0.0.1
and is stopped by its PID. The report goes to bench/out/load.md (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "load.md"
PASSWORD = "sharehub-demo"
WEBHOOK_SECRET = "whsec_load_local"
BLOCKS = ((510, 120), (630, 60), (810, 120), (930, 120))  # 08:30-10:30 … 15:30-17:30
TERMS = ("光谱", "盐雾", "电镜", "色谱", "光谱仪", "扫描电子显微镜", "spectro", "chamber", "EMC")
ACCESS = re.compile(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d{3}) ')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", type=int, default=40, help="laboratories in the catalogue")
    parser.add_argument("--listings", type=int, default=4000, help="published listings")
    parser.add_argument("--busy-labs", type=int, default=6, help="labs whose listings are booked")
    parser.add_argument("--customers", type=int, default=60, help="customer firms (one user each)")
    parser.add_argument("--users", type=int, default=30, help="concurrent locust users")
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=int, default=90, help="duration of the load")
    parser.add_argument("--max-requests", type=int, default=40000, help="stop after this many")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--restart-postgres-after",
        type=float,
        default=0,
        help="restart PostgreSQL (fast mode) this many seconds into the load; 0: never",
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def working_days(first: date, count: int) -> list[date]:
    """Monday–Friday days that are not State Council holidays, from `first` on."""
    import holidays

    cn = holidays.China(years=[first.year, first.year + 1])
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5 and day not in cn:
            days.append(day)
        day += timedelta(days=1)
    return days


def build(app, args) -> tuple[dict, dict]:
    """The catalogue, lab managers and customers; returns the world for the locustfile."""
    import random

    from flask_migrate import upgrade

    from bench import catalog_data
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Listing, OpeningInterval, Unit
    from sharehub.core.codes import make_credit_code
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    rng = random.Random(args.seed)
    timings = {}
    with app.app_context():
        upgrade()
        catalog_data.seed_reference()
        t = time.perf_counter()
        clusters = catalog_data.make_clusters()
        labs = catalog_data.make_labs(rng, args.labs, clusters)
        data = catalog_data.generate_listings(rng, labs, args.listings)
        timings.update(catalog_data.load(db.engine, data))
        timings["catalogue"] = time.perf_counter() - t
        del data
        # Bookable: hourly equipment with a unit and opening hours, of the busiest labs.
        bookable = db.session.execute(
            sa.select(Listing.id, Listing.lab_id, Unit.id)
            .join(Unit, Unit.listing_id == Listing.id)
            .where(
                Listing.kind == "equipment",
                Listing.price_unit == "hour",
                sa.exists().where(OpeningInterval.listing_id == Listing.id),
            )
            .order_by(Listing.id)
        ).all()
        per_lab = Counter(lab_id for _, lab_id, _ in bookable)
        busy = [lab_id for lab_id, _ in per_lab.most_common(args.busy_labs)]
        listings = [{"id": lid, "lab_id": lab_id} for lid, lab_id, _ in bookable if lab_id in busy]
        lab_units: dict[str, list[int]] = {}
        for _, lab_id, unit_id in bookable:
            if lab_id in busy:
                lab_units.setdefault(str(lab_id), []).append(unit_id)
        # A quarter of them need the lab's approval; the rest confirm at once.
        db.session.execute(
            sa.update(Listing)
            .where(Listing.id.in_([row["id"] for row in listings]))
            .values(approval_required=sa.text("(id % 4 = 0)"))
        )
        template = User(email="x", name="x")
        template.set_password(PASSWORD)
        now = utcnow()
        managers = []
        for n, lab_id in enumerate(busy, start=1):
            lab = db.session.get(Organisation, lab_id)
            lab.bank_name, lab.bank_account = "中国银行苏州分行", f"5301 0000 {n:04d} 5678"
            user = User(
                email=f"lab{n}@load.sharehub.cn",
                name=f"实验室管理员{n}",
                password_hash=template.password_hash,
                email_verified_dt=now,
            )
            db.session.add_all([user, Membership(user=user, organisation=lab, role=Role.OWNER)])
            managers.append((lab_id, user.email))
        region = lab.region_id
        customers = []
        for n in range(1, args.customers + 1):
            org = Organisation(
                kind=OrgKind.ENTERPRISE,
                name=f"负载测试客户企业{n:03d}",
                credit_code=make_credit_code(f"91320500ML{n:07d}"),
                region_id=region,
                cluster_id=clusters[n % len(clusters)].id if n % 3 == 0 else None,
                status_changed_dt=now,
            )
            user = User(
                email=f"buyer{n:03d}@load.sharehub.cn",
                name=f"采购{n:03d}",
                password_hash=template.password_hash,
                email_verified_dt=now,
                locale="en" if n % 4 == 0 else "zh_CN",
            )
            db.session.add_all(
                [org, user, Membership(user=user, organisation=org, role=Role.OWNER)]
            )
            customers.append((org, user))
        db.session.commit()
        world = {
            "password": PASSWORD,
            "webhook_secret": WEBHOOK_SECRET,
            "customers": [(user.email, org.id) for org, user in customers],
            "labs": managers,
            "lab_units": lab_units,
            "listings": listings,
            "days": [d.isoformat() for d in working_days(date.today() + timedelta(days=3), 40)],
            "blocks": BLOCKS,
            "terms": TERMS,
        }
        db.session.remove()
    return world, timings


def access_log_counts(path: Path) -> tuple[Counter, dict]:
    """Status codes in gunicorn's access log; worker timeouts or deaths, and tracebacks
    the app logged (e.g. a mail delivery after a commit that met the restarting database:
    logged, rolled back, retried later)."""
    codes: Counter = Counter()
    problems = {"workers": 0, "tracebacks": 0}
    for line in path.read_text(errors="replace").splitlines():
        match = ACCESS.search(line)
        if match:
            codes[match.group(3)] += 1
        elif "WORKER TIMEOUT" in line or "Worker exited" in line:
            problems["workers"] += 1
        elif line.startswith("Traceback"):
            problems["tracebacks"] += 1
    return codes, problems


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def outcome(app) -> dict:
    """What the database holds after the load, and the consistency check."""
    from sharehub.admin.consistency import violations
    from sharehub.billing.models import GatewayEvent, Invoice, Payment
    from sharehub.booking.models import Booking, UsageRecord
    from sharehub.core.models import OutboxMessage
    from sharehub.extensions import db

    with app.app_context():
        grouped = lambda column: dict(  # noqa: E731
            db.session.execute(sa.select(column, sa.func.count()).group_by(column)).all()
        )
        result = {
            "bookings": {str(k): v for k, v in grouped(Booking.status).items()},
            "invoices": {str(k): v for k, v in grouped(Invoice.status).items()},
            "payments": {str(k): v for k, v in grouped(Payment.method).items()},
            "gateway_events": {str(k): v for k, v in grouped(GatewayEvent.outcome).items()},
            "usage_records": db.session.scalar(sa.select(sa.func.count(UsageRecord.id))),
            "mail_unsent": db.session.scalar(
                sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.sent_dt.is_(None))
            ),
            "mail_sent": db.session.scalar(
                sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.sent_dt.is_not(None))
            ),
            "violations": violations(),
        }
        db.session.remove()
    return result


def run_locust(base: str, args, workdir: Path, world_path: Path) -> tuple[dict, list, float]:
    prefix = workdir / "locust"
    summary = workdir / "summary.json"
    env = {
        **os.environ,
        "LOAD_WORLD": str(world_path),
        "LOAD_SUMMARY": str(summary),
        "LOAD_MAX_REQUESTS": str(args.max_requests),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "load_locustfile.py"),
        "--headless",
        "--host",
        base,
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.seconds}s",
        "--stop-timeout",
        "15",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    log = open(workdir / "locust.log", "wb")  # noqa: SIM115 (closed below)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        process.wait(timeout=args.seconds + 120)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        log.close()
    wall = time.perf_counter() - started
    if not summary.exists():
        raise RuntimeError((workdir / "locust.log").read_text()[-3000:])
    return json.loads(summary.read_text()), read_stats(prefix), wall


def render(ctx: dict) -> str:
    stats, counts, db_after = ctx["stats"], ctx["summary"]["counts"], ctx["db"]
    total = next(row for row in stats if row["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    codes = ctx["access_codes"]
    server_errors = sum(v for k, v in codes.items() if k.startswith("5"))
    errors_503 = codes.get("503", 0)
    made = counts.get("bookings_made", 0)
    violations = db_after["violations"]
    n_violations = sum(len(v) for v in violations.values())
    lines = [
        "# Load test",
        "",
        f"Run {ctx['started']:%Y-%m-%d %H:%M} UTC, `{ctx['command']}`.",
        "",
        "## Machine and set-up",
        "",
        f"- Cores: {os.cpu_count()} (load average at start {ctx['loadavg']}).",
        f"- PostgreSQL: {ctx['pg_version']} on 127.0.0.1 (throwaway cluster, fsync off).",
        f"- gunicorn: {ctx['workers']} sync workers on 127.0.0.1; SMTP server on loopback.",
        f"- Data: {ctx['labs']} labs, {ctx['listings']:,} listings (catalogue generator), "
        f"{ctx['bookable']} bookable listings of {ctx['busy_labs']} labs with a manager each, "
        f"{ctx['customers']} customer firms; built in {ctx['build_s']:.0f} s.",
        f"- Load: {ctx['users']} locust users ({ctx['busy_labs']} lab managers, the rest "
        f"customers), spawn rate {ctx['spawn_rate']}/s, {ctx['seconds']} s or "
        f"{ctx['max_requests']:,} requests; ran {ctx['wall']:.0f} s.",
    ]
    if ctx["restart_at"]:
        lines.append(
            f"- Fault: PostgreSQL restarted (fast mode) {ctx['restart_at']:.0f} s into the load; "
            f"the restart took {ctx['restart_s']:.1f} s."
        )
    lines += [
        "",
        "## Result",
        "",
        f"- Requests: **{requests:,}** ({float(total['Requests/s']):.1f}/s), "
        f"failures as locust sees them: {failures} "
        f"(error rate {100 * failures / max(requests, 1):.2f} %).",
        f"- Server errors (5xx in gunicorn's access log): **{server_errors}**"
        + (f", of them 503 (database unavailable): {errors_503}" if errors_503 else "")
        + f"; connection errors: {counts.get('connection_errors', 0)}; "
        f"worker timeouts or deaths: {ctx['log_problems']['workers']}; tracebacks logged: "
        f"{ctx['log_problems']['tracebacks']}.",
        f"- Bookings made: **{made}** (slot already taken: {counts.get('slot_taken', 0)}, "
        f"answered 409 with alternatives); approved by labs: {counts.get('approved', 0)}; "
        f"cancellations: {counts.get('cancel_attempts', 0)}.",
        f"- Invoices issued: {counts.get('invoices_issued', 0)}; paid by bank transfer: "
        f"{counts.get('paid_by_transfer', 0)}; paid online (signed webhooks): "
        f"{counts.get('paid_online', 0)}; internal use logged: {counts.get('usage_logged', 0)}.",
        f"- Database after the run: bookings {db_after['bookings']}, invoices "
        f"{db_after['invoices']}, payments {db_after['payments']}, webhook events "
        f"{db_after['gateway_events']}, usage records {db_after['usage_records']}, mail sent "
        f"{db_after['mail_sent']} / still queued {db_after['mail_unsent']}.",
        f"- Consistency violations: **{n_violations}**"
        + "".join(f"; {name}: {len(items)}" for name, items in violations.items()),
        "",
        "## Per step (milliseconds, locust's figures)",
        "",
        "| step | requests | failures | median | p95 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in stats:
        if row["Name"] == "Aggregated":
            continue
        lines.append(
            f"| {row['Type']} {row['Name']} | {int(row['Request Count']):,} | "
            f"{row['Failure Count']} | {row['50%']} | {row['95%']} | "
            f"{float(row['Max Response Time']):.0f} |"
        )
    lines.append(
        f"| **all** | {requests:,} | {failures} | {total['50%']} | {total['95%']} | "
        f"{float(total['Max Response Time']):.0f} |"
    )
    statuses = ctx["summary"]["statuses"]
    lines += [
        "",
        "## Status codes per step (as the clients saw them)",
        "",
        "| step | codes |",
        "| --- | --- |",
    ]
    for name in sorted(statuses):
        lines.append(
            f"| {name} | "
            + ", ".join(f"{k}: {v}" for k, v in sorted(statuses[name].items()))
            + " |"
        )
    lines += [
        "",
        "Access log: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(codes.items())) + ".",
        "",
        "**Verdict**: "
        + (
            "zero server errors and zero consistency violations."
            if server_errors == 0 and n_violations == 0
            else f"{server_errors} server errors, {n_violations} consistency violations."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    from config import TestConfig
    from sharehub import create_app
    from tests.support.live import live_server
    from tests.support.postgres import ThrowawayPostgres, find_bindir
    from tests.support.smtp import MailBox

    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL server binaries not found (install postgresql)", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    loadavg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    workdir = Path(tempfile.mkdtemp(prefix="sharehub-load-"))
    server = ThrowawayPostgres(bindir)
    mailbox = MailBox()
    mail_started = False
    try:
        server.start()
        url = server.create_database("sharehub_load")
        print(f"PostgreSQL on 127.0.0.1:{server.port} (pid {server.pid})", flush=True)

        class LoadConfig(TestConfig):
            SQLALCHEMY_DATABASE_URI = url
            STORAGE_DIR = str(workdir / "storage")

        app = create_app(LoadConfig)
        t = time.perf_counter()
        world, _ = build(app, args)
        build_s = time.perf_counter() - t
        world_path = workdir / "world.json"
        world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
        print(
            f"Built {args.listings:,} listings, {len(world['listings'])} bookable, "
            f"in {build_s:.0f} s",
            flush=True,
        )
        mailbox.start()
        mail_started = True
        env = {"STRIPE_SECRET_KEY": "sk_test_local", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
        restart = {"at": 0.0, "took": 0.0}
        with live_server(
            url, workdir, mail_port=mailbox.port, workers=args.workers, seed_demo=False, env=env
        ) as base:
            print(f"gunicorn on {base}; load for {args.seconds} s", flush=True)
            timer = None
            if args.restart_postgres_after:

                def restart_postgres():
                    t0 = time.perf_counter()
                    server.restart()
                    restart.update(at=args.restart_postgres_after, took=time.perf_counter() - t0)
                    print(f"PostgreSQL restarted (pid {server.pid})", flush=True)

                timer = threading.Timer(args.restart_postgres_after, restart_postgres)
                timer.start()
            summary, stats, wall = run_locust(base, args, workdir, world_path)
            if timer is not None:
                timer.join()
        # Mail queued while the SMTP server was busy or the database away goes out now.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "sharehub",
                "send-mail",
                "--limit",
                "100000",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": url,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(mailbox.port),
                "SHAREHUB_INSTANCE": str(workdir),
            },
            check=True,
            capture_output=True,
        )
        codes, problems = access_log_counts(workdir / "gunicorn.log")
        with app.app_context():
            from sharehub.extensions import db

            pg_version = db.session.scalar(sa.text("SELECT version()")).split(",")[0]
            db.session.remove()
        ctx = {
            "started": started,
            "command": "python -m bench.load " + " ".join(sys.argv[1:] if argv is None else argv),
            "loadavg": loadavg,
            "pg_version": pg_version,
            "workers": args.workers,
            "labs": args.labs,
            "listings": args.listings,
            "bookable": len(world["listings"]),
            "busy_labs": len(world["labs"]),
            "customers": args.customers,
            "build_s": build_s,
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "seconds": args.seconds,
            "max_requests": args.max_requests,
            "wall": wall,
            "restart_at": restart["at"],
            "restart_s": restart["took"],
            "summary": summary,
            "stats": stats,
            "access_codes": codes,
            "log_problems": problems,
            "db": outcome(app),
        }
        with app.app_context():
            from sharehub.extensions import db

            db.engine.dispose()
        report = render(ctx)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print(report)
        print(f"Report written to {args.out}")
        violations = sum(len(v) for v in ctx["db"]["violations"].values())
        server_errors = sum(v for k, v in codes.items() if k.startswith("5"))
        expected_503 = codes.get("503", 0) if args.restart_postgres_after else 0
        return 1 if violations or server_errors - expected_503 else 0
    finally:
        if mail_started:
            mailbox.stop()
        server.stop()
        for name in ("gunicorn.log", "locust.log"):
            if (workdir / name).exists():
                OUT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(workdir / name, OUT.parent / f"load-{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
