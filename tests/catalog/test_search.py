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
