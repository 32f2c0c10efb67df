"""A yearly assessment round for 500 labs over 1,000,000 usage records, on PostgreSQL.

    .venv/bin/python -m bench.assessment                                # full size
    .venv/bin/python -m bench.assessment --labs 50 --usage 50000        # smoke run

Starts a throwaway PostgreSQL cluster, migrates a fresh database, seeds the reference data,
writes --labs active labs (bench/catalog_data.py) with --listings listings (equipment,
expert time and datasets, with units and weekday opening hours), 50 enterprises, and
--usage usage records over the year with one INSERT … SELECT … FROM generate_series(…):
spread over every unit and the whole year, a third internal use by the lab itself, the
rest by the enterprises, some crossing midnight. Then VACUUM ANALYZE, and times:

1. the sharing metrics of every lab for the year (sharehub.stats.metrics.lab_metrics);
2. the round: rounds.compute() — the same metrics, the scoring of each lab, the frozen
   scorecards and their lines written and flushed — then the commit;
3. the same compute again under tracemalloc, for the peak Python memory of a round.

Times are reported, never asserted; the aim is under 10 s for the round. Writes
bench/out/assessment.md and prints it. The server listens on 127.0.0.1 and is stopped by
its PID.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2026

USAGE_SQL = """
WITH units AS (
    SELECT unit.id AS unit_id, listing.lab_id,
           row_number() OVER (ORDER BY unit.id) - 1 AS n
    FROM unit JOIN listing ON listing.id = unit.listing_id
),
counts AS (SELECT count(*) AS k FROM units),
firms AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM organisation WHERE kind = 'enterprise'
)
INSERT INTO usage_record (unit_id, user_org_id, started_dt, ended_dt, prep_minutes,
                          run_minutes, post_minutes, samples, service_way, notes,
                          created_dt, updated_dt)
SELECT units.unit_id,
       CASE WHEN g % 3 = 0 THEN units.lab_id
            ELSE firms.ids[1 + (g / 3) % array_length(firms.ids, 1)] END,
       :start + make_interval(mins => ((g::bigint * 7919) % 524000)::int),
       :start + make_interval(mins => ((g::bigint * 7919) % 524000)::int + 60 + (g % 5) * 60),
       10 + g % 20, 40 + (g % 5) * 60, g % 15, g % 4, 'on_site', '', now(), now()
FROM generate_series(0, :n - 1) AS g
CROSS JOIN counts
CROSS JOIN firms
JOIN units ON units.n = g % counts.k
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labs", type=int, default=500)
    parser.add_argument("--listings", type=int, default=5000)
    parser.add_argument("--usage", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "assessment.md")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from tests.support.postgres import ThrowawayPostgres, find_bindir

    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL server binaries not found (install postgresql)", file=sys.stderr)
        return 2
    server = ThrowawayPostgres(bindir)
    storage = tempfile.mkdtemp(prefix="sharehub-bench-storage-")
    try:
        server.start()
        print(f"PostgreSQL on port {server.port} (pid {server.pid})", flush=True)
        url = server.create_database("sharehub_bench_assessment")
        report = run(args, url, storage)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print()
        print(report)
        print(f"Report written to {args.out}")
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)
    return 0


def run(args, url: str, storage: str) -> str:
    import sqlalchemy as sa
    from flask_babel import force_locale
    from flask_migrate import upgrade

    from bench import catalog_data
    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.assessment import rounds
    from sharehub.assessment.models import ReviewerScore
    from sharehub.core.codes import make_credit_code
    from sharehub.extensions import db

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = storage
        MAIL_SERVER = ""

    app = create_app(BenchConfig)
    rng = random.Random(args.seed)
    figures: dict[str, float | int | str] = {}
    with app.app_context(), app.test_request_context(), force_locale("en"):
        upgrade()
        catalog_data.seed_reference()
        t = time.perf_counter()
        clusters = catalog_data.make_clusters()
        labs = catalog_data.make_labs(rng, args.labs, clusters)
        data = catalog_data.generate_listings(rng, labs, args.listings)
        catalog_data.load(db.engine, data)
        del data
        platform = Organisation(
            kind=OrgKind.PLATFORM, name="平台", credit_code=make_credit_code("91110000MA0000001")
        )
        admin = User(email="bench-admin@example.cn", name="评价管理员")
        admin.set_password("bench-password-1")
        db.session.add_all([platform, admin, Membership(user=admin, organisation=platform,
                                                        role=Role.OWNER)])  # fmt: skip
        for n in range(50):
            db.session.add(
                Organisation(
                    kind=OrgKind.ENTERPRISE,
                    name=f"企业{n}",
                    credit_code=make_credit_code(f"91320000MB{n:07d}"),
                    is_sme=n % 2 == 0,
                )
            )
        db.session.commit()
        figures["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(USAGE_SQL),
                {"start": datetime(YEAR, 1, 1, tzinfo=UTC), "n": args.usage},
            )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        figures["usage_s"] = time.perf_counter() - t
        counts = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM organisation WHERE kind = 'lab'),"
                " (SELECT count(*) FROM unit), (SELECT count(*) FROM usage_record)"
            )
        ).one()
        figures.update(labs=counts[0], units=counts[1], usage=counts[2])
        print(f"Data: {counts[0]} labs, {counts[1]} units, {counts[2]:,} usage records", flush=True)

        from sharehub.stats.metrics import lab_metrics

        lab_ids = db.session.scalars(
            sa.select(Organisation.id).where(Organisation.kind == OrgKind.LAB)
        ).all()
        t = time.perf_counter()
        metrics = lab_metrics(date(YEAR, 1, 1), date(YEAR + 1, 1, 1), lab_ids=lab_ids)
        figures["metrics_s"] = time.perf_counter() - t
        figures["effective_hours"] = round(sum(m["effective_hours"] for m in metrics.values()))
        db.session.remove()

        admin = db.session.scalar(sa.select(User).where(User.email == "bench-admin@example.cn"))
        scheme = rounds.ensure_default_scheme()
        round_ = rounds.create_round(
            admin, scheme, f"{YEAR}年度评价", date(YEAR, 1, 1), date(YEAR, 12, 31)
        )
        reviewers = [admin]
        for n in range(2):
            reviewer = User(email=f"reviewer{n}@example.cn", name=f"评审专家{n}")
            reviewer.password_hash = admin.password_hash
            platform_org = admin.memberships[0].organisation
            member = Membership(user=reviewer, organisation=platform_org, role=Role.MEMBER)
            db.session.add_all([reviewer, member])
            reviewers.append(reviewer)
        db.session.flush()
        # two named reviewers score both qualitative indicators of every lab (8-20 points)
        db.session.execute(
            sa.insert(ReviewerScore),
            [
                dict(round_id=round_.id, lab_id=lab_id, indicator_code=code,
                     reviewer_id=reviewer.id, points=rng.randint(8, 20), comment="评审意见")
                for lab_id in lab_ids
                for code in ("org_management", "org_staff_platform")
                for reviewer in reviewers[1:]
            ],
        )  # fmt: skip
        db.session.commit()
        t = time.perf_counter()
        cards = rounds.compute(admin, round_)
        figures["compute_s"] = time.perf_counter() - t
        db.session.commit()
        figures["round_s"] = time.perf_counter() - t
        figures["scorecards"] = cards
        grades = db.session.execute(
            sa.text(
                "SELECT grade, count(*) FROM scorecard WHERE round_id = :r GROUP BY grade "
                "ORDER BY min(rank)"
            ),
            {"r": round_.id},
        ).all()
        figures["grades"] = ", ".join(f"{g} {n}" for g, n in grades)
        round_id, admin_id, round_type = round_.id, admin.id, type(round_)
        db.session.remove()

        # the round's own work, with the metrics already computed above
        round_ = db.session.get(round_type, round_id)
        admin = db.session.get(User, admin_id)
        profile = cProfile.Profile()
        t = time.perf_counter()
        with profile:
            rounds.compute(admin, round_, metrics_fn=lambda start, end, ids: metrics)
            db.session.commit()
        figures["own_s"] = time.perf_counter() - t
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(18)
        figures["profile"] = out.getvalue()
        db.session.remove()

        round_ = db.session.get(round_type, round_id)
        admin = db.session.get(User, admin_id)
        tracemalloc.start()
        rounds.compute(admin, round_)
        db.session.commit()
        figures["peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        figures["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        db.session.remove()
        db.engine.dispose()
    return report(figures)


def report(f: dict) -> str:
    load = os.getloadavg()
    return "\n".join(
        [
            "# Assessment round benchmark",
            "",
            f"- {f['labs']} labs, {f['units']:,} units, {f['usage']:,} usage records "
            f"in {YEAR}; {f['effective_hours']:,} effective hours in all",
            f"- data: catalogue built and loaded in {f['build_s']:.1f} s, usage records "
            f"inserted and analysed in {f['usage_s']:.1f} s",
            f"- machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f}",
            "",
            "| step | seconds |",
            "| --- | ---: |",
            f"| sharing metrics of every lab for the year | {f['metrics_s']:.2f} |",
            f"| round: compute ({f['scorecards']} scorecards, lines, flush) "
            f"| {f['compute_s']:.2f} |",
            f"| round: compute and commit | {f['round_s']:.2f} |",
            f"| round without the metrics: reviews, scoring, scorecards written again "
            f"| {f['own_s']:.2f} |",
            "",
            f"Grades: {f['grades']}.",
            "",
            f"Peak Python memory of one round (tracemalloc): {f['peak_mib']:.1f} MiB; "
            f"peak resident size of the whole process: {f['maxrss_mib']:.0f} MiB.",
            "",
            "Profile of the round without the metrics (cumulative, top entries):",
            "",
            "```",
            f["profile"].strip(),
            "```",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
