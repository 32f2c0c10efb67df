"""Catalogue search at scale on PostgreSQL: the full /catalog page against the bare indexed query.

    .venv/bin/python -m bench.catalog_search                     # 100,000 listings, 500 labs
    .venv/bin/python -m bench.catalog_search --listings 2000     # smoke run, well under a minute

Starts a throwaway PostgreSQL cluster, migrates a fresh database, fills it with synthetic
labs and published listings (bench/catalog_data.py), then times each search of SEARCHES two
ways, interleaved: (a) GET /catalog?… through the Flask test client (filters, COUNT for the
pager, four facet counts, rendering) and (b) the bare indexed SQL doing the same text match
and filters, returning one page of ids. Writes bench/out/catalog_search.md and prints it.
Times are reported, never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "catalog_search.md"
PER_PAGE = 20
TARGET_P95_MS = 50.0
TARGET_RATIO = 3.0


@dataclass
class Search:
    label: str
    args: dict
    extra: bool = False  # shown, but left out of the overall figures
    page_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    matches: int = 0
    bare_plan: str = ""
    breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "/catalog?" + urlencode(self.args) if self.args else "/catalog"

    @property
    def shown_url(self) -> str:
        """The URL as a person reads it (not percent-encoded)."""
        return "/catalog?" + "&".join(f"{k}={v}" for k, v in self.args.items())


def make_searches(cluster_id: int, deep_page: int, deep_page_en: int) -> list[Search]:
    return [
        Search("2 chars 光谱", {"q": "光谱"}),
        Search(f"2 chars 光谱, page {deep_page}", {"q": "光谱", "page": deep_page}),
        Search("2 chars 光谱 + cluster", {"q": "光谱", "cluster": cluster_id}),
        Search("2 chars 盐雾 + kind", {"q": "盐雾", "kind": "equipment"}),
        Search("2 chars 电镜", {"q": "电镜"}),
        Search(
            "2 chars 色谱 + price 100–500, price_asc",
            {"q": "色谱", "price_min": "100", "price_max": "500", "sort": "price_asc"},
        ),
        Search("3 chars 光谱仪 + field", {"q": "光谱仪", "field": "new_materials"}),
        Search(
            "3 chars 光谱仪 + category 0203, price_asc",
            {"q": "光谱仪", "category": "0203", "sort": "price_asc"},
        ),
        Search("7 chars 扫描电子显微镜", {"q": "扫描电子显微镜"}),
        Search("2 words 盐雾 试验箱", {"q": "盐雾 试验箱"}),
        Search("en spectro", {"q": "spectro"}),
        Search(
            f"en spectro, price_asc, page {deep_page_en}",
            {"q": "spectro", "sort": "price_asc", "page": deep_page_en},
        ),
        Search("en chamber + kind", {"q": "chamber", "kind": "equipment"}),
        Search("en EMC", {"q": "EMC"}),
        Search("browse: no text, kind, newest", {"kind": "equipment", "sort": "newest"}, True),
        Search("1 char 谱 (no index)", {"q": "谱"}, True),
    ]


# --- the bare indexed query -----------------------------------------------------------------


def bare_query(args: dict, count: bool = False) -> tuple[str, dict]:
    """The same text match and filters as the page, as one indexed SELECT of a page of ids.

    Text words are matched exactly as sharehub.catalog.search.text_condition does (bigram
    containment through ix_listing_bigrams, then LIKE on search_text). The order is that of
    the sort (published_dt DESC for relevance and newest). No facets, no COUNT, no join to
    organisation unless the cluster filter needs it.
    """
    from sharehub.catalog.search import bigrams, normalize

    where = ["listing.status = 'published'"]
    params: dict = {}
    join = ""
    for i, word in enumerate(normalize(args.get("q", "")).split()):
        grams = bigrams(word)
        if grams:
            where.append(f"string_to_array(listing.search_bigrams, ' ') @> CAST(:g{i} AS TEXT[])")
            params[f"g{i}"] = grams
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"listing.search_text LIKE :l{i} ESCAPE '\\'")
        params[f"l{i}"] = f"%{escaped}%"
    if args.get("kind"):
        where.append("listing.kind = :kind")
        params["kind"] = args["kind"]
    if args.get("field"):
        where.append("listing.field = :field")
        params["field"] = args["field"]
    if args.get("category"):
        where.append("listing.category_code LIKE :category")
        params["category"] = f"{args['category']}%"
    if args.get("price_min"):
        where.append("listing.price_external >= :price_min")
        params["price_min"] = int(float(args["price_min"]) * 100)
    if args.get("price_max"):
        where.append("listing.price_external <= :price_max")
        params["price_max"] = int(float(args["price_max"]) * 100)
    if args.get("cluster"):
        join = " JOIN organisation ON organisation.id = listing.lab_id"
        where.append("organisation.cluster_id = :cluster")
        params["cluster"] = int(args["cluster"])
    condition = " AND ".join(where)
    if count:
        return f"SELECT count(*) FROM listing{join} WHERE {condition}", params
    sort = args.get("sort", "relevance")
    order = {
        "price_asc": "listing.price_external ASC, listing.id DESC",
        "price_desc": "listing.price_external DESC, listing.id DESC",
    }.get(sort, "listing.published_dt DESC, listing.id DESC")
    params["offset"] = (int(args.get("page", 1)) - 1) * PER_PAGE
    sql = (
        f"SELECT listing.id FROM listing{join} WHERE {condition} "
        f"ORDER BY {order} LIMIT {PER_PAGE} OFFSET :offset"
    )
    return sql, params


# --- statistics ---------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    rank = max(1, -(-95 * len(ordered) // 100))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def plan_summary(plan: str) -> str:
    """How PostgreSQL answers a bare query: through the bigram index or an ordered walk."""
    if "ix_listing_bigrams" in plan:
        return "GIN bitmap"
    walk = re.search(r"Index Scan (?:Backward )?using (\w+)", plan)
    if walk:
        return f"walk {walk.group(1)}"
    return "seq scan" if "Seq Scan on listing" in plan else "other"


# --- measuring -----------------------------------------------------------------------------


def measure(app, engine: sa.Engine, searches: list[Search], reps: int, warmup: int, seed: int):
    """Time every search `reps` times both ways, interleaved, after `warmup` untimed rounds."""
    client = app.test_client()
    rng = random.Random(seed)
    prepared = [(s, sa.text(bare_query(s.args)[0]), bare_query(s.args)[1]) for s in searches]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Plan every execution with its real values, as EXPLAIN shows it: psycopg would
        # otherwise prepare the statement after 5 runs and PostgreSQL could switch to a
        # generic plan that knows neither the bigrams nor the LIKE pattern.
        conn.connection.driver_connection.prepare_threshold = None
        for search, _statement, params in prepared:
            sql, count_params = bare_query(search.args, count=True)
            search.matches = conn.execute(sa.text(sql), count_params).scalar_one()
            explain = sa.text("EXPLAIN " + bare_query(search.args)[0])
            search.bare_plan = plan_summary("\n".join(r[0] for r in conn.execute(explain, params)))

        def page(search: Search) -> float:
            started = time.perf_counter()
            response = client.get(search.url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{search.url} answered {response.status_code}")
            return elapsed

        def bare(statement, params) -> float:
            started = time.perf_counter()
            conn.execute(statement, params).all()
            return (time.perf_counter() - started) * 1000

        for _ in range(warmup):
            for search, statement, params in prepared:
                page(search)
                bare(statement, params)
        for rep in range(reps):
            order = prepared[:]
            rng.shuffle(order)
            for search, statement, params in order:
                if rep % 2:
                    search.bare_ms.append(bare(statement, params))
                    search.page_ms.append(page(search))
                else:
                    search.page_ms.append(page(search))
                    search.bare_ms.append(bare(statement, params))


KINDS = ("count_facets", "main", "files", "labels", "other")


def classify(statement: str) -> str:
    """What a statement of the search page is for (works for one COUNT and one statement per
    facet, or for one statement computing the total and all facets)."""
    text = " ".join(statement.split())
    if "FROM listing_file" in text:
        return "files"
    if text.startswith("SELECT count(*)") or "GROUP BY" in text:
        return "count_facets"
    if "FROM listing JOIN organisation" in text and "LIMIT" in text:
        return "main"
    if "FROM cluster" in text or "FROM region" in text:
        return "labels"
    return "other"


class Recorder:
    """SQL statements (and their time) and template rendering time of the requests it watches."""

    def __init__(self, app, engine: sa.Engine):
        from flask import before_render_template, template_rendered

        self.active = False
        self.statements: list[tuple[str, float, str, object]] = []
        self.render: list[tuple[float, float]] = []
        self._started: list[float] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        before_render_template.connect(self._render_start, app)
        template_rendered.connect(self._render_end, app)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and conn.info.get("bench_t0"):
            started = conn.info["bench_t0"].pop()
            end = time.perf_counter()
            self.statements.append((classify(statement), started, end, (statement, parameters)))

    def _render_start(self, sender, **extra):
        if self.active:
            self._started.append(time.perf_counter())

    def _render_end(self, sender, **extra):
        if self.active and self._started:
            self.render.append((self._started.pop(), time.perf_counter()))

    def reset(self):
        self.statements, self.render, self._started = [], [], []


def breakdown(app, recorder: Recorder, searches: list[Search], reps: int) -> None:
    """Split each page's time into SQL by kind, template rendering, and the rest."""
    client = app.test_client()
    for search in searches:
        samples: dict[str, list[float]] = {}
        for _ in range(reps):
            recorder.reset()
            recorder.active = True
            started = time.perf_counter()
            client.get(search.url)
            total = (time.perf_counter() - started) * 1000
            recorder.active = False
            parts = {k: 0.0 for k in KINDS}
            for kind, t0, t1, _ in recorder.statements:
                parts[kind] += (t1 - t0) * 1000
            sql = sum(parts.values())
            parts["n_count_facets"] = sum(
                1 for kind, *_ in recorder.statements if kind == "count_facets"
            )
            render = 0.0
            for r0, r1 in recorder.render:
                inside = sum(
                    (min(t1, r1) - max(t0, r0)) * 1000
                    for _, t0, t1, _ in recorder.statements
                    if t0 < r1 and t1 > r0
                )
                render += (r1 - r0) * 1000 - inside
            parts.update(
                total=total,
                sql=sql,
                statements=len(recorder.statements),
                render=render,
                rest=total - sql - render,
            )
            for key, value in parts.items():
                samples.setdefault(key, []).append(value)
        search.breakdown = {key: median(values) for key, values in samples.items()}


def explain_app_statements(app, recorder: Recorder, engine: sa.Engine, search: Search) -> list:
    """EXPLAIN ANALYZE every statement one page request of `search` sends, as it sent it."""
    client = app.test_client()
    recorder.reset()
    recorder.active = True
    client.get(search.url)
    recorder.active = False
    captured = list(recorder.statements)
    results = []
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            for kind, t0, t1, (statement, parameters) in captured:
                if statement.lstrip().upper().startswith("SET "):
                    cur.execute(statement, parameters)  # a planner setting the app made
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cur.fetchall())
                found = re.search(r"Execution Time: ([\d.]+) ms", plan)
                results.append(
                    (kind, (t1 - t0) * 1000, float(found.group(1)) if found else None, plan)
                )
        raw.driver_connection.rollback()
    finally:
        raw.close()
    return results


def explain_bare(engine: sa.Engine, args: dict) -> str:
    sql, params = bare_query(args)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).all()
    return "\n".join(r[0] for r in rows)


# --- report --------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def render_report(ctx: dict, searches: list[Search]) -> str:
    main = [s for s in searches if not s.extra]
    all_pages = [ms for s in main for ms in s.page_ms]
    all_with_extra = [ms for s in searches for ms in s.page_ms]
    ratios = [median(s.page_ms) / median(s.bare_ms) for s in main]
    overall_p95 = p95(all_pages)
    overall_ratio = median(ratios)
    lines = [
        "# Catalogue search benchmark (PostgreSQL)",
        "",
        f"Run {ctx['started']:%Y-%m-%d %H:%M} UTC · `{ctx['command']}`",
        "",
        "## Machine and data",
        "",
        f"- CPU cores (os.cpu_count()): **{os.cpu_count()}** · {platform.machine()} · "
        f"Python {platform.python_version()}",
        f"- {ctx['pg_version']} (throwaway cluster, fsync off): shared_buffers "
        f"{ctx['shared_buffers']}, work_mem {ctx['work_mem']}, {ctx['sb_note']}",
        f"- {ctx['labs']:,} active labs · {ctx['listings']:,} published listings "
        f"({ctx['kinds']}) · {ctx['units']:,} units · {ctx['hours']:,} opening intervals · "
        f"{ctx['files']:,} photo rows",
        f"- search_text {ctx['avg_text']:.0f} characters and {ctx['avg_grams']:.0f} "
        f"bigrams per listing on average; listing table {ctx['table_size']}, "
        f"ix_listing_bigrams {ctx['index_size']}",
        f"- Generation: {ctx['gen']['python']:.1f} s building rows (index_fields included), "
        f"{ctx['gen']['copy']:.1f} s COPY, {ctx['gen']['gin_index']:.1f} s GIN index, "
        f"{ctx['gen']['vacuum_analyze']:.1f} s VACUUM ANALYZE; "
        f"**{ctx['gen']['total']:.1f} s** from empty database to ready",
        "",
        "## Method",
        "",
        f"Each search ran {ctx['warmup']} untimed warm-up rounds, then {ctx['reps']} timed "
        "rounds; within a round the searches run in a shuffled order and each search's page "
        "and bare query run back to back (alternating which goes first). "
        "**page** = `app.test_client().get('/catalog?…')`: parameters, text match, filters, "
        "the total for the pager and the four facet counts, the page of listings with their "
        "lab and photos, rendering. **bare** = one indexed "
        "`SELECT listing.id … LIMIT 20 OFFSET …` with the same text match (bigram "
        "containment on ix_listing_bigrams + LIKE) and filters on a held connection, planned "
        "with its real values each time; *bare plan* says whether PostgreSQL answered it "
        "through the bigram index or by walking an ordered index until 20 rows matched. "
        "time.perf_counter(); p95 is nearest-rank; ratio = page median / bare median.",
        "",
        "## Results (ms)",
        "",
        "| # | search | URL | matches | page median | page p95 | bare median | bare p95 "
        "| page/bare | bare plan |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, s in enumerate(searches, 1):
        ratio = median(s.page_ms) / median(s.bare_ms)
        label = f"{s.label} *(extra)*" if s.extra else s.label
        lines.append(
            f"| {n} | {label} | `{s.shown_url}` | {s.matches:,} | {fmt(median(s.page_ms))} "
            f"| {fmt(p95(s.page_ms))} | {fmt(median(s.bare_ms))} | {fmt(p95(s.bare_ms))} "
            f"| {ratio:.1f}× | {s.bare_plan} |"
        )
    met_p95 = "met" if overall_p95 < TARGET_P95_MS else "**not met**"
    met_ratio = "met" if overall_ratio <= TARGET_RATIO else "**not met**"
    lines += [
        "",
        f"**Overall** ({len(main)} searches, extras left out): p95 of all "
        f"{len(all_pages)} page requests **{fmt(overall_p95)} ms** "
        f"(target < {TARGET_P95_MS:.0f} ms: {met_p95}); median of the page/bare ratios "
        f"**{overall_ratio:.1f}×** (target ≤ {TARGET_RATIO:.0f}×: {met_ratio}); "
        f"page median of medians {fmt(median([median(s.page_ms) for s in main]))} ms, "
        f"bare median of medians {fmt(median([median(s.bare_ms) for s in main]))} ms.",
        f"With the extras: page p95 {fmt(p95(all_with_extra))} ms.",
        "",
        f"## Where the page time goes (median of {ctx['profile_reps']} instrumented requests, ms)",
        "",
        "SQL is timed around each cursor execute (server time + transfer); *render* is the "
        "Jinja rendering without SQL issued from inside it; *rest* is everything else "
        "(Werkzeug/Flask, parameter parsing, building statements, ORM row hydration, "
        "session and connection handling).",
        "",
        "| # | search | page | SQL (stmts) | total + facets (stmts) | page SELECT | photos "
        "| other SQL | render | rest |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, s in enumerate(searches, 1):
        b = s.breakdown
        lines.append(
            f"| {n} | {s.label} | {fmt(b['total'])} | {fmt(b['sql'])} ({b['statements']:.0f}) "
            f"| {fmt(b['count_facets'])} ({b['n_count_facets']:.0f}) | {fmt(b['main'])} "
            f"| {fmt(b['files'])} "
            f"| {fmt(b['labels'] + b['other'])} | {fmt(b['render'])} | {fmt(b['rest'])} |"
        )
    label, plans = ctx["app_plans"]
    lines += [
        "",
        f"### The statements of one page request: {label}",
        "",
        "| statement | time in app (ms) | EXPLAIN ANALYZE execution (ms) | plan top |",
        "|---|---:|---:|---|",
    ]
    for kind, app_ms, exec_ms, plan in plans:
        top = plan.splitlines()[0].strip().replace("|", "\\|")
        shown = fmt(exec_ms) if exec_ms is not None else "–"
        lines.append(f"| {kind} | {fmt(app_ms)} | {shown} | `{top[:90]}` |")
    shown_kinds: set[str] = set()
    for kind, _, _, plan in plans:
        if kind in ("count_facets", "main") and kind not in shown_kinds:
            shown_kinds.add(kind)
            summary = f"EXPLAIN ANALYZE: {kind}"
            if sum(1 for k, *_ in plans if k == kind) > 1:
                summary += " (the first of them)"
            lines += ["", f"<details><summary>{summary}</summary>", "", "```", plan, "```"]
            lines += ["", "</details>"]
    lines += ["", "## EXPLAIN of the bare query, 2-character searches", ""]
    for label, plan in ctx["bare_plans"]:
        used = "uses" if "ix_listing_bigrams" in plan else "does **not** use"
        lines += [f"{label}: {used} ix_listing_bigrams", "", "```", plan, "```", ""]
    lines += [f"Whole run: {ctx['wall']:.0f} s.", ""]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--labs", type=int, default=500)
    parser.add_argument("--reps", type=int, default=20, help="timed rounds (at least 15)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile-reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--shared-buffers",
        default="1GB",
        help="PostgreSQL shared_buffers, set by a restart after start "
        "('default' keeps the harness's 128MB)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from tests.support.postgres import ThrowawayPostgres, find_bindir

    wall = time.perf_counter()
    started = datetime.now(UTC)
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
        url = server.create_database("sharehub_bench")
        report = run(args, url, storage, started, wall)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print()
        print(report)
        print(f"Report written to {args.out}")
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)
    return 0


def set_shared_buffers(server, value: str) -> None:
    """ALTER SYSTEM SET shared_buffers and restart the cluster (pg_ctl reuses the original
    options), then record the new postmaster PID so that stop() still stops it by PID."""
    import psycopg

    if not re.fullmatch(r"\d+(kB|MB|GB)", value):
        raise SystemExit(f"--shared-buffers: expected e.g. 512MB or 1GB, got {value!r}")
    dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{value}'")
    server.restart()


def run(args, url: str, storage: str, started: datetime, wall: float) -> str:
    from flask_migrate import upgrade

    from bench import catalog_data
    from config import TestConfig
    from sharehub import create_app
    from sharehub.extensions import db

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = storage

    app = create_app(BenchConfig)
    rng = random.Random(args.seed)
    with app.app_context():
        upgrade()
        catalog_data.seed_reference()
        t = time.perf_counter()
        clusters = catalog_data.make_clusters()
        labs = catalog_data.make_labs(rng, args.labs, clusters)
        data = catalog_data.generate_listings(rng, labs, args.listings)
        python_s = time.perf_counter() - t
        print(
            f"Built {len(data.listings):,} listings for {len(labs)} labs in {python_s:.1f} s",
            flush=True,
        )
        engine = db.engine
        gen = catalog_data.load(engine, data)
        gen["python"] = python_s
        gen["total"] = time.perf_counter() - t
        print(
            "Loaded: COPY {copy:.1f} s, GIN index {gin_index:.1f} s, VACUUM ANALYZE "
            "{vacuum_analyze:.1f} s; generation total {total:.1f} s".format(**gen),
            flush=True,
        )
        cluster_id = clusters[0].id
        del data
        db.session.remove()
    ctx = dict(
        started=started,
        command="python -m bench.catalog_search " + " ".join(sys.argv[1:]),
        labs=args.labs,
        listings=args.listings,
        gen=gen,
        reps=args.reps,
        warmup=args.warmup,
        profile_reps=args.profile_reps,
    )
    with engine.connect() as conn:
        ctx["pg_version"] = conn.execute(sa.text("SELECT version()")).scalar_one().split(",")[0]
        ctx["shared_buffers"] = conn.execute(sa.text("SHOW shared_buffers")).scalar_one()
        ctx["work_mem"] = conn.execute(sa.text("SHOW work_mem")).scalar_one()
        ctx["sb_note"] = (
            "the harness default"
            if args.shared_buffers in ("", "default")
            else "set by --shared-buffers (the harness default is 128MB)"
        )
        kinds = conn.execute(
            sa.text("SELECT kind, count(*) FROM listing GROUP BY kind ORDER BY 2 DESC")
        ).all()
        ctx["kinds"] = ", ".join(f"{k} {n:,}" for k, n in kinds)
        for key, table in (
            ("units", "unit"),
            ("hours", "opening_interval"),
            ("files", "listing_file"),
        ):
            ctx[key] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        ctx["avg_text"], ctx["avg_grams"] = conn.execute(
            sa.text(
                "SELECT avg(length(search_text)), "
                "avg(array_length(string_to_array(search_bigrams, ' '), 1)) FROM listing"
            )
        ).one()
        ctx["table_size"], ctx["index_size"] = conn.execute(
            sa.text(
                "SELECT pg_size_pretty(pg_total_relation_size('listing')), "
                "pg_size_pretty(pg_relation_size('ix_listing_bigrams'))"
            )
        ).one()
    spectro_matches = _count(engine, {"q": "spectro"})
    guang_matches = _count(engine, {"q": "光谱"})
    deep = max(1, min(25, guang_matches // PER_PAGE))
    deep_en = max(1, min(10, spectro_matches // PER_PAGE))
    searches = make_searches(cluster_id, deep, deep_en)
    print(f"Timing {len(searches)} searches × {args.reps} rounds …", flush=True)
    t = time.perf_counter()
    measure(app, engine, searches, args.reps, args.warmup, args.seed)
    print(f"… done in {time.perf_counter() - t:.0f} s; profiling", flush=True)
    recorder = Recorder(app, engine)
    breakdown(app, recorder, searches, args.profile_reps)
    ctx["app_plans"] = (
        searches[0].label,
        explain_app_statements(app, recorder, engine, searches[0]),
    )
    ctx["bare_plans"] = [
        (f"`{s.label}`", explain_bare(engine, s.args))
        for s in searches
        if s.args.get("q") in ("盐雾", "光谱") and "page" not in s.args and "cluster" not in s.args
    ]
    ctx["wall"] = time.perf_counter() - wall
    engine.dispose()
    return render_report(ctx, searches)


def _count(engine: sa.Engine, args: dict) -> int:
    sql, params = bare_query(args, count=True)
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


if __name__ == "__main__":
    sys.exit(main())
