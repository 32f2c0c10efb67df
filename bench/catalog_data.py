"""Synthetic catalogue at scale: active labs, published listings, units, opening hours, photos.

The texts come from bench/vocab.py; the search columns are filled by the app's own
`index_fields` on transient `Listing` objects, so they are exactly what the app would store.
Listings, units, opening hours and photo rows are written with PostgreSQL COPY.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bench import vocab
from sharehub.accounts.models import Cluster, Organisation, OrgKind, OrgStatus, Region
from sharehub.catalog.models import Listing, ListingFile, OpeningInterval, Unit
from sharehub.catalog.search import index_fields
from sharehub.core.codes import make_credit_code
from sharehub.extensions import db

# The GIN index of migrations/versions/0002_catalogue.py, rebuilt after the bulk load.
BIGRAM_INDEX_SQL = (
    "CREATE INDEX ix_listing_bigrams ON listing USING gin (string_to_array(search_bigrams, ' '))"
)
TEXT_FIELDS = (
    "name",
    "name_en",
    "description",
    "description_en",
    "model",
    "manufacturer",
    "main_indicators",
    "test_fields",
    "instrument_number",
    "expert_name",
    "expert_title",
    "expert_fields",
    "qualifications",
    "data_format",
    "licence",
    "category_code",
)
WORKDAY = ((510, 720), (810, 1050))  # 08:30-12:00, 13:30-17:30 local time


@dataclass(frozen=True)
class Lab:
    id: int
    city: str  # short Chinese city name (苏州)
    city_en: str
    focus: str  # Field value
    cluster_id: int | None
    weight: float  # share of the listings


def seed_reference() -> None:
    from sharehub.catalog.reference import seed_categories, seed_holidays
    from sharehub.demo import seed_regions

    seed_regions()
    seed_categories()
    seed_holidays()
    db.session.commit()


def make_clusters() -> list[Cluster]:
    from sharehub.demo import CLUSTERS

    regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
    clusters = [
        Cluster(name=name, name_en=name_en, region=regions[city], description=description)
        for name, name_en, city, description in CLUSTERS
    ]
    db.session.add_all(clusters)
    db.session.commit()
    return clusters


def make_labs(rng: random.Random, count: int, clusters: list[Cluster]) -> list[Lab]:
    """`count` active laboratories over the cities; about a third belong to a cluster."""
    cities = db.session.scalars(
        sa.select(Region).where(Region.parent_id.is_not(None)).order_by(Region.code)
    ).all()
    cluster_weights = [5, 4, 3, 3, 3, 2][: len(clusters)] or [1] * len(clusters)
    now = datetime.now(UTC)
    orgs: list[tuple[Organisation, str, str, str]] = []
    names: set[str] = set()
    for n in range(1, count + 1):
        cluster = None
        if clusters and rng.random() < 0.35:
            cluster = rng.choices(clusters, cluster_weights)[0]
            city = cluster.region
        else:
            city = rng.choice(cities)
        topic, topic_en, focus = rng.choice(vocab.LAB_TOPICS)
        univ, univ_en = rng.choice(vocab.UNIVERSITIES)
        pattern, pattern_en = rng.choice(vocab.LAB_PATTERNS)
        short = city.name.removesuffix("市")
        fill = dict(topic=topic, topic_en=topic_en, city=short, city_en=city.name_en)
        name = pattern.format(univ=univ, univ_en=univ_en, **fill)
        name_en = pattern_en.format(univ=univ, univ_en=univ_en, **fill)
        if name in names:
            name, name_en = f"{name}（第{n}分部）", f"{name_en}, branch {n}"
        names.add(name)
        public = rng.random() < 0.7
        first17 = f"12{city.code}{n:09d}" if public else f"91{city.code}MA{n:07d}"
        org = Organisation(
            kind=OrgKind.LAB,
            status=OrgStatus.ACTIVE,
            status_changed_dt=now,
            name=name,
            name_en=name_en,
            credit_code=make_credit_code(first17),
            region_id=city.id,
            cluster_id=cluster.id if cluster else None,
            contact_name=_person(rng),
            contact_phone=f"0{rng.randint(10, 999)}-{rng.randint(20000000, 89999999)}",
            contact_email=f"lab{n}@example.cn",
            address=f"{city.name}{rng.choice('东南西北')}环路{rng.randint(1, 999)}号",
            cnas_number=f"CNAS L{rng.randint(1000, 19999)}" if rng.random() < 0.6 else "",
            cma_number=f"{rng.randint(150000, 240000)}{rng.randint(100000, 999999)}"
            if rng.random() < 0.7
            else "",
            host_name=univ if "{univ}" in pattern else "",
        )
        orgs.append((org, short, city.name_en, focus))
    db.session.add_all(o for o, *_ in orgs)
    db.session.commit()
    # A few big labs list most of the equipment, as on the real national platform.
    return [
        Lab(
            id=o.id,
            city=short,
            city_en=city_en,
            focus=focus,
            cluster_id=o.cluster_id,
            weight=min(rng.paretovariate(1.16), 60.0),
        )
        for o, short, city_en, focus in orgs
    ]


def _person(rng: random.Random) -> str:
    return rng.choice(vocab.SURNAMES) + rng.choice(vocab.GIVEN)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fen(rng: random.Random, low: int, high: int, step: int = 10) -> int:
    return rng.randrange(low // step, high // step + 1) * step * 100


def _equipment(rng: random.Random, lab: Lab, seq: int) -> dict:
    inst = rng.choices(
        vocab.INSTRUMENTS,
        [i.weight * (4 if lab.focus in i.fields else 1) for i in vocab.INSTRUMENTS],
    )[0]
    quals = []
    if inst.quals and rng.random() < 0.6:
        quals = rng.sample(inst.quals, min(len(inst.quals), 2 if rng.random() < 0.2 else 1))
    q_zh = "".join(q[0] for q in quals)
    q_en = " ".join(q[1] for q in quals)
    maker_key, models = rng.choice(inst.makers)
    maker_zh, maker_en, country = vocab.MAKERS[maker_key]
    model = rng.choice(models) if models else f"M-{rng.randint(100, 999)}"
    alias = rng.choice(inst.alias_zh)
    alias_en = rng.choice(inst.alias_en)
    en = f"{q_en} {inst.en}".strip()
    style = rng.random()
    if style < 0.45:
        name, name_en = f"{q_zh}{inst.zh}", _cap(en)
    elif style < 0.75:
        name = f"{q_zh}{inst.zh}（{maker_zh} {model}）"
        name_en = f"{_cap(en)} ({maker_en} {model})"
    elif style < 0.9:
        name, name_en = f"{maker_zh}{model}{q_zh}{inst.zh}", f"{maker_en} {model} {en}"
    else:
        name = f"{q_zh}{inst.zh}（{alias}）{rng.randint(1, 4)}号机"
        name_en = f"{_cap(en)} ({alias_en}) no. {rng.randint(1, 4)}"
    uses = rng.sample(range(len(inst.uses_zh)), len(inst.uses_zh))
    services = rng.sample(range(len(vocab.SERVICE_ZH)), 2)
    description = (
        f"本{alias}为{lab.city}{rng.choice(('中心', '实验室', '平台'))}"
        f"{rng.randint(2008, 2025)}年购置的{q_zh}{inst.zh}，"
        + "；".join(inst.uses_zh[i] for i in uses)
        + "。"
        + "，".join(vocab.SERVICE_ZH[i] for i in services)
        + "。"
    )
    description_en = (
        f"{_cap(en)} ({alias_en}) of the {lab.city_en} lab: "
        + "; ".join(inst.uses_en[i] for i in uses)
        + ". "
        + _cap("; ".join(vocab.SERVICE_EN[i] for i in services))
        + "."
    )
    external = _fen(rng, *inst.price)
    bought = date(rng.randint(2008, 2025), rng.randint(1, 12), rng.randint(1, 28))
    field = lab.focus if lab.focus in inst.fields and rng.random() < 0.7 else None
    return dict(
        kind="equipment",
        name=name,
        name_en=name_en,
        description=description,
        description_en=description_en,
        field=field or rng.choice(inst.fields),
        category_code=inst.code,
        model=model,
        manufacturer=f"{maker_zh}（{maker_en}）",
        country_of_origin=country,
        main_indicators="；".join(
            rng.sample(inst.indicators, min(len(inst.indicators), rng.randint(2, 4)))
        ),
        test_fields="、".join(rng.sample(inst.tests, min(len(inst.tests), rng.randint(2, 4)))),
        instrument_number=f"{bought.year}{lab.id:04d}{seq:05d}",
        original_value=rng.randint(20, 2000) * 1_000_000,
        commissioning_date=bought,
        location=f"{lab.city}{rng.choice('ABCDE')}栋{rng.randint(1, 6)}{rng.randint(1, 30):02d}室",
        price_unit=inst.unit,
        price_external=external,
        min_charge=external * 2 if rng.random() < 0.15 else 0,
        _unit=f"{alias_en}-{rng.randint(1, 3)}",
    )


def _expert(rng: random.Random, lab: Lab) -> dict:
    focused = [e for e in vocab.EXPERTISE if e[2] == lab.focus]
    area, area_en, field, code = rng.choice(
        focused if focused and rng.random() < 0.7 else vocab.EXPERTISE
    )
    person = _person(rng)
    title, title_en = rng.choice(vocab.TITLES)
    others = rng.sample(vocab.EXPERTISE, 2)
    return dict(
        kind="expert",
        name=f"{area}专家咨询（{person}{title}）",
        name_en=f"Expert consultation: {area_en} ({title_en})",
        description=(
            f"{person}{title}从事{area}工作{rng.randint(8, 30)}年，"
            f"可就{others[0][0]}、{others[1][0]}等问题提供现场或线上咨询，"
            f"协助企业制定检测方案、解读检测报告。"
        ),
        description_en=(
            f"{title_en} with {rng.randint(8, 30)} years in {area_en}; on-site or online "
            f"advice on {others[0][1]} and {others[1][1]}, test plans and report reading."
        ),
        field=field,
        category_code="080101",
        expert_name=person,
        expert_title=title,
        expert_fields="、".join((area, others[0][0], others[1][0])),
        qualifications=rng.choice(
            ("CNAS 技术评审员", "国家注册计量师", "全国标准化技术委员会委员", "高级检验师")
        ),
        languages=rng.choice(("中文", "中文、English", "中文、English、日本語")),
        price_unit="session",
        price_external=_fen(rng, 500, 3000, 100),
        _unit=person,
    )


def _dataset(rng: random.Random) -> dict:
    topic, topic_en, field = rng.choice(vocab.DATASET_TOPICS)
    region = rng.choice(vocab.DATA_REGIONS)
    first = rng.randint(2010, 2022)
    last = rng.randint(first + 1, 2025)
    fmt = rng.choice(vocab.DATA_FORMATS)
    return dict(
        kind="dataset",
        name=f"{region}{topic}集（{first}–{last}）",
        name_en=f"{topic_en[:1].upper()}{topic_en[1:]}, {first}–{last}",
        description=(
            f"{region}{first}至{last}年{topic}，经质量控制与统一编码，"
            f"提供{fmt}格式，附数据字典与采样方法说明。"
        ),
        description_en=(
            f"{_cap(topic_en)} from {first} to {last}, quality-controlled and consistently "
            f"coded; {fmt} with a data dictionary and sampling notes."
        ),
        field=field,
        category_code="070101",
        licence=rng.choice(vocab.LICENCES),
        data_format=fmt,
        data_size=f"{rng.randint(1, 900)} {rng.choice(('MB', 'GB'))}",
        access_mode=rng.choice(("download", "api")),
        access_days=rng.choice((30, 90, 365)),
        price_unit="period",
        price_external=_fen(rng, 1000, 20000, 100),
    )


class ListingTable:
    """Column order and Python-side defaults of the listing table, for COPY."""

    def __init__(self):
        table = Listing.__table__
        self.columns = [c.name for c in table.columns]
        self.defaults = {}
        for column in table.columns:
            default = column.default
            if default is not None and default.is_scalar:
                arg = default.arg
                self.defaults[column.name] = arg.value if hasattr(arg, "value") else arg
            else:
                self.defaults[column.name] = None

    def row(self, values: dict) -> tuple:
        return tuple(values.get(c, self.defaults[c]) for c in self.columns)


@dataclass
class Generated:
    listings: list[tuple]
    units: list[tuple]
    hours: list[tuple]
    files: list[tuple]
    columns: list[str]


def generate_listings(rng: random.Random, labs: list[Lab], count: int) -> Generated:
    """`count` published listings spread over `labs` (equipment 88 %, expert 8 %, dataset 4 %)."""
    table = ListingTable()
    now = datetime.now(UTC)
    owners = rng.choices(labs, [lab.weight for lab in labs], k=count)
    listings, units, hours, files = [], [], [], []
    for listing_id, lab in enumerate(owners, start=1):
        roll = rng.random()
        if roll < 0.88:
            values = _equipment(rng, lab, listing_id)
        elif roll < 0.96:
            values = _expert(rng, lab)
        else:
            values = _dataset(rng)
        unit_name = values.pop("_unit", None)
        # The app's own indexing, on a transient Listing holding the same texts.
        transient = Listing(**{k: values[k] for k in TEXT_FIELDS if k in values})
        index_fields(transient)
        published = now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        external = values["price_external"]
        values.update(
            id=listing_id,
            lab_id=lab.id,
            status="published",
            price_internal=external * rng.choice((50, 60, 70, 80)) // 100,
            price_cluster=external * 85 // 100 if lab.cluster_id and rng.random() < 0.6 else None,
            contact_name=_person(rng),
            contact_phone=f"1{rng.choice('35789')}{rng.randint(100000000, 999999999)}",
            contact_email=f"service{lab.id}@example.cn",
            search_text=transient.search_text,
            search_bigrams=transient.search_bigrams,
            rating_avg=round(rng.uniform(3.2, 5.0), 2) if rng.random() < 0.35 else None,
            created_dt=published - timedelta(days=rng.randint(1, 20)),
            updated_dt=published,
            published_dt=published,
        )
        if values["rating_avg"] is not None:
            values["rating_count"] = rng.randint(1, 80)
        listings.append(table.row(values))
        if unit_name is not None:  # one bookable unit for equipment and experts
            units.append((listing_id, unit_name, f"SN{listing_id:08d}", "", True))
            if rng.random() < 0.6:  # weekday opening hours for a share of them
                days = 6 if rng.random() < 0.15 else 5
                for weekday in range(days):
                    for start, end in WORKDAY:
                        hours.append((listing_id, weekday, start, end))
        if values["kind"] != "dataset" and rng.random() < 0.5:
            stored = f"{listing_id:016x}{rng.getrandbits(64):016x}"
            files.append(
                (
                    listing_id,
                    "photo",
                    "photo.jpg",
                    f"{stored}.webp",
                    f"{stored}-t.webp",
                    "image/webp",
                    rng.randint(40_000, 400_000),
                    0,
                    published,
                )
            )
    return Generated(listings, units, hours, files, table.columns)


def _copy(cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(engine: sa.Engine, data: Generated) -> dict[str, float]:
    """COPY the rows in, rebuild the bigram index, VACUUM ANALYZE; returns the step timings."""
    timings: dict[str, float] = {}
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            t = time.perf_counter()
            # Loading first and building the GIN index once is much faster than keeping it
            # up to date row by row; the index is the migration's, byte for byte.
            cur.execute("DROP INDEX ix_listing_bigrams")
            _copy(cur, "listing", data.columns, data.listings)
            _copy(
                cur,
                Unit.__tablename__,
                ["listing_id", "name", "serial_number", "location", "is_active"],
                data.units,
            )
            _copy(
                cur,
                OpeningInterval.__tablename__,
                ["listing_id", "weekday", "start_minute", "end_minute"],
                data.hours,
            )
            _copy(
                cur,
                ListingFile.__tablename__,
                [
                    "listing_id",
                    "role",
                    "original_name",
                    "stored_name",
                    "thumb_name",
                    "content_type",
                    "size",
                    "position",
                    "created_dt",
                ],
                data.files,
            )
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('listing', 'id'), "
                "(SELECT coalesce(max(id), 1) FROM listing))"
            )
            conn.commit()
            timings["copy"] = time.perf_counter() - t
            t = time.perf_counter()
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute(BIGRAM_INDEX_SQL)
            conn.commit()
            timings["gin_index"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.autocommit = True
        # VACUUM sets the visibility map and ANALYZE the statistics, so no autovacuum run
        # starts in the middle of the measurements.
        conn.execute("VACUUM (ANALYZE)")
        conn.autocommit = False
        timings["vacuum_analyze"] = time.perf_counter() - t
    finally:
        raw.close()
    return timings
