"""Catalogue search: the same cases run on SQLite (FTS5) and PostgreSQL (GIN)."""

from datetime import date, timedelta

import pytest

from sharehub.accounts.models import OrgKind, OrgStatus
from sharehub.catalog.models import Field, ListingKind, ListingStatus, PriceUnit
from sharehub.catalog.search import bigrams
from tests.support import clock

EN = {"Accept-Language": "en"}


@pytest.fixture
def catalogue(db, make_org, make_listing, cluster):
    suzhou = make_org(
        kind=OrgKind.LAB,
        name="苏州材料实验室",
        name_en="Suzhou Materials Lab",
        cnas_number="CNAS L1",
        cluster_id=cluster.id,
    )
    other = make_org(
        kind=OrgKind.LAB,
        name="深圳电子实验室",
        name_en="Shenzhen EMC Lab",
        cma_number="201912345678",
    )
    hidden = make_org(kind=OrgKind.LAB, name="暂停实验室", status=OrgStatus.SUSPENDED)
    listings = {
        "icp": make_listing(
            suzhou,
            name="电感耦合等离子体发射光谱仪",
            name_en="ICP-OES spectrometer",
            price_external=60000,
        ),
        "xrf": make_listing(
            suzhou,
            name="X射线荧光光谱仪",
            name_en="XRF Spectrometer",
            category_code="020304",
            price_external=40000,
        ),
        "salt": make_listing(
            suzhou,
            name="中性盐雾试验箱",
            name_en="Salt spray chamber",
            category_code="030301",
            price_external=8000,
            field=Field.HIGH_END_MANUFACTURING,
        ),
        "emc": make_listing(
            other,
            name="电磁兼容测试系统",
            name_en="EMC test system",
            category_code="040201",
            field=Field.INFORMATION_TECHNOLOGY,
            price_external=150000,
        ),
        "expert": make_listing(
            other,
            name="电磁兼容整改咨询",
            name_en="EMC consulting",
            kind=ListingKind.EXPERT,
            category_code="080101",
            price_unit=PriceUnit.SESSION,
            expert_name="王工",
            field=Field.INFORMATION_TECHNOLOGY,
            price_external=200000,
        ),
        "data": make_listing(
            suzhou,
            name="光谱标准数据集",
            name_en="Reference spectra dataset",
            kind=ListingKind.DATASET,
            category_code="070101",
            price_unit=PriceUnit.PERIOD,
            price_external=500000,
        ),
        "draft": make_listing(suzhou, name="草稿光谱仪", status=ListingStatus.DRAFT),
        "suspended": make_listing(hidden, name="暂停实验室的光谱仪"),
    }
    return listings


def names(client, query: str) -> set[str]:
    html = client.get(f"/catalog?{query}", headers=EN).get_data(as_text=True)
    return {
        n
        for n in (
            "ICP-OES spectrometer",
            "XRF Spectrometer",
            "Salt spray chamber",
            "EMC test system",
            "EMC consulting",
            "Reference spectra dataset",
            "草稿光谱仪",
            "暂停实验室的光谱仪",
        )
        if n in html
    }


def test_bigrams():
    assert bigrams("光谱仪 ICP-OES") == ["光谱", "谱仪", "ic", "cp", "oe", "es"]
    assert bigrams("光") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=光谱", {"ICP-OES spectrometer", "XRF Spectrometer", "Reference spectra dataset"}),
        ("q=光谱仪", {"ICP-OES spectrometer", "XRF Spectrometer"}),
        ("q=spectro", {"ICP-OES spectrometer", "XRF Spectrometer"}),
        ("q=SPECTRO", {"ICP-OES spectrometer", "XRF Spectrometer"}),
        ("q=盐雾", {"Salt spray chamber"}),
        ("q=电磁兼容 咨询", {"EMC consulting"}),
        ("q=等离子体", {"ICP-OES spectrometer"}),
        ("q=谱", {"ICP-OES spectrometer", "XRF Spectrometer", "Reference spectra dataset"}),
        ("q=100%25_", set()),
        ("q=不存在的仪器", set()),
        ("kind=expert", {"EMC consulting"}),
        ("field=information_technology", {"EMC test system", "EMC consulting"}),
        ("category=0203", {"ICP-OES spectrometer", "XRF Spectrometer"}),
        ("accr=cma", {"EMC test system", "EMC consulting"}),
        (
            "price_min=100&price_max=1500",
            {"ICP-OES spectrometer", "XRF Spectrometer", "EMC test system"},
        ),
        ("price_max=100", {"Salt spray chamber"}),
        ("q=光谱&kind=equipment", {"ICP-OES spectrometer", "XRF Spectrometer"}),
    ],
)
def test_search_cases(client, catalogue, query, expected):
    assert names(client, query) == expected


def test_cluster_and_region_and_lab_filters(client, catalogue, cluster):
    lab_id = catalogue["icp"].lab_id
    assert names(client, f"cluster={cluster.id}") == {
        "ICP-OES spectrometer",
        "XRF Spectrometer",
        "Salt spray chamber",
        "Reference spectra dataset",
    }
    assert names(client, f"lab={lab_id}&kind=dataset") == {"Reference spectra dataset"}
    province = catalogue["icp"].lab.region.parent_id
    assert len(names(client, f"region={province}")) == 6  # every test lab is in Suzhou


def test_facet_counts_ignore_their_own_filter(client, catalogue):
    from werkzeug.datastructures import MultiDict

    from sharehub.catalog.queries import SearchParams, search

    result = search(SearchParams.from_args(MultiDict({"q": "光谱", "kind": "equipment"})))
    assert result.total == 2
    assert result.facets["kind"] == {ListingKind.EQUIPMENT: 2, ListingKind.DATASET: 1}
    assert result.facets["field"] == {Field.NEW_MATERIALS: 2}


def test_facet_counts_are_shown(client, catalogue):
    html = client.get("/catalog?q=光谱", headers=EN).get_data(as_text=True)
    assert "3 results" in html
    assert '>Equipment</span><span class="badge rounded-pill text-bg-secondary">2<' in html


def test_sorting_and_pagination(client, catalogue, monkeypatch):
    from sharehub.catalog import queries

    monkeypatch.setattr(queries, "PER_PAGE", 2)
    html = client.get("/catalog?sort=price_asc", headers=EN).get_data(as_text=True)
    assert html.index("Salt spray chamber") < html.index("XRF Spectrometer")
    assert "page=2" in html
    page3 = client.get("/catalog?sort=price_asc&page=3", headers=EN).get_data(as_text=True)
    assert "Reference spectra dataset" in page3 and "Salt spray" not in page3
    assert client.get("/catalog?page=999").status_code == 200
    assert client.get("/catalog?page=10001").status_code == 400


def test_bad_parameters_are_explained_not_500(client, catalogue):
    response = client.get(
        "/catalog?price_min=abc&from=2026-13-45&rating=9&kind=x&region=y", headers=EN
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A price is a number of yuan" in html and "YYYY-MM-DD" in html


def next_weekday(weekday: int) -> date:
    day = clock.today() + timedelta(days=7)
    while day.weekday() != weekday or not is_plain_workday(day):
        day += timedelta(days=1)
    return day


def is_plain_workday(day):
    import holidays

    return day not in holidays.China(years=day.year)


def test_free_between_dates_for_hours(client, db, catalogue):
    from datetime import datetime, time

    from sharehub.booking.availability import LAB_TZ
    from sharehub.catalog.models import Outage, OutageKind

    monday = next_weekday(0)
    base = f"from={monday.isoformat()}&to={monday.isoformat()}"
    # 3.5 h in the morning, 4 h in the afternoon
    assert "ICP-OES spectrometer" in names(client, f"{base}&hours=4")
    assert "ICP-OES spectrometer" not in names(client, f"{base}&hours=5")
    assert "Reference spectra dataset" in names(client, f"{base}&hours=5")  # no slots
    unit = catalogue["icp"].units[0]
    db.session.add(
        Outage(
            unit=unit,
            kind=OutageKind.BREAKDOWN,
            starts_dt=datetime.combine(monday, time(13, 0), LAB_TZ),
            ends_dt=datetime.combine(monday, time(16, 0), LAB_TZ),
        )
    )
    db.session.commit()
    assert "ICP-OES spectrometer" not in names(client, f"{base}&hours=4")
    assert "ICP-OES spectrometer" in names(client, f"{base}&hours=3")
    sunday = monday + timedelta(days=6)
    assert "XRF Spectrometer" not in names(client, f"from={sunday}&to={sunday}&hours=1")


def test_text_search_uses_the_index(db, catalogue):
    """The bigram lookup is served by the GIN index (PostgreSQL) or FTS5 (SQLite)."""
    import sqlalchemy as sa

    from sharehub.catalog.models import Listing
    from sharehub.catalog.search import text_condition

    dialect = db.engine.dialect.name
    query = sa.select(Listing.id).where(text_condition("光谱", dialect))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    connection = db.session.connection()
    if dialect == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
        assert "ix_listing_bigrams" in plan
    else:
        plan = "\n".join(
            str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        )
        assert "listing_fts VIRTUAL TABLE" in plan


def run_search(**args):
    from werkzeug.datastructures import MultiDict

    from sharehub.catalog.queries import SearchParams, search

    return search(SearchParams.from_args(MultiDict(args)))


def test_counts_stop_at_the_cap(client, catalogue, monkeypatch):
    """Totals and facet counts read no more than COUNT_CAP + 1 matches: beyond that the
    total says "more than" and the facet counts are lower bounds."""
    from sharehub.catalog import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    exact = run_search(q="光谱")  # 3 matches: all counted
    assert (exact.total, exact.total_exact, exact.facets_exact) == (3, True, True)
    assert exact.facets["kind"] == {ListingKind.EQUIPMENT: 2, ListingKind.DATASET: 1}

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    capped = run_search(q="光谱")
    assert (capped.total, capped.total_exact, capped.facets_exact) == (2, False, False)
    assert capped.page.pages == 1 and len(capped.page.items) == 3  # the page is not capped
    # A facet filter: the facets stay lower bounds, the total is counted apart (2 ≤ cap).
    kind = run_search(q="光谱", kind="equipment")
    assert (kind.total, kind.total_exact, kind.facets_exact) == (2, True, False)
    assert sum(kind.facets["kind"].values()) <= 3
    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    kind = run_search(q="光谱", kind="equipment")
    assert (kind.total, kind.total_exact) == (1, False)
    assert not run_search(q="不存在的仪器").total  # nothing found is still exact: 0

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    html = client.get("/catalog?q=光谱", headers=EN).get_data(as_text=True)
    assert "More than 2 results" in html
    assert 'text-bg-secondary">2+<' in html  # Equipment: at least 2
    zh = client.get("/catalog?q=光谱", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "超过 2 条结果" in zh
    body = client.get("/api/v1/listings?q=光谱").get_json()
    assert body["meta"]["total"] == 2 and not body["total_exact"] and not body["facets_exact"]


def test_pager_goes_on_past_a_capped_total(client, catalogue, monkeypatch):
    """With a capped total the pager offers the next page while a row follows this one,
    and every listing is reached exactly once, in the order of the sort."""
    from sharehub.catalog import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    seen, page = [], 1
    while True:
        result = run_search(sort="price_asc", page=str(page))
        assert not result.total_exact
        assert result.page.pages >= page
        seen += [listing.id for listing in result.page.items]
        if not result.page.has_next:
            break
        assert result.page.pages > page  # the pager links the next page
        page += 1
    visible = [v for k, v in catalogue.items() if k not in ("draft", "suspended")]
    by_price = sorted(visible, key=lambda li: (li.price_external, -li.id))
    assert seen == [li.id for li in by_price] and page == 3
    html = client.get("/catalog?sort=price_asc&page=2", headers=EN).get_data(as_text=True)
    assert "page=3" in html and "page=1" in html
    last = client.get("/catalog?sort=price_asc&page=3", headers=EN).get_data(as_text=True)
    assert "page=4" not in last
    assert not run_search(sort="price_asc", page="9").page.items


@pytest.mark.parametrize("per_page", [1, 2, 3, 5])
def test_best_match_pages_follow_one_order(db, catalogue, make_listing, monkeypatch, per_page):
    """Sorted by best match (named with the query first, then newest first), the pages
    read with one row past each, walked with has_next, give every match once, in order."""
    from sharehub.catalog import queries
    from sharehub.catalog.search import text_condition

    lab = catalogue["icp"].lab
    make_listing(lab, name="原子吸收分析仪", description="用于光谱分析的样品前处理")
    make_listing(
        lab, name="荧光分析仪", name_en="Fluorescence analyser", main_indicators="光谱范围"
    )
    make_listing(lab, name="紫外可见光谱仪")
    params = queries.SearchParams(q="光谱")
    everything = db.session.scalars(
        queries.base_query()
        .with_only_columns(queries.Listing.id)
        .where(text_condition("光谱", db.engine.dialect.name))
        .order_by(*queries._order(params))
    ).all()
    assert len(everything) == 6
    monkeypatch.setattr(queries, "PER_PAGE", per_page)
    seen, page = [], 1
    while True:
        result = run_search(q="光谱", page=str(page))
        seen += [listing.id for listing in result.page.items]
        if not result.page.has_next:
            break
        page += 1
    assert seen == everything


def test_counting_through_the_index_does_not_leak(db, catalogue, monkeypatch):
    """The first matches are counted with sequential scans discouraged (PostgreSQL), for
    that statement only: the rest of the request plans as usual."""
    import sqlalchemy as sa

    from sharehub.catalog import queries

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = run_search(q="光谱", kind="equipment")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert (result.total, result.total_exact) == (1, False)
    assert sum("enable_seqscan = off" in s for s in seen) == 2  # the facets, the total
    assert db.session.execute(sa.text("SHOW enable_seqscan")).scalar_one() == "on"
