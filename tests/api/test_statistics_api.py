"""Open statistics and sharing metrics through the API, against the hand-computed week of
tests/stats/test_metrics.py (Mon 2 – Sun 8 March 2026, see its docstring) plus a second
laboratory outside any cluster:

Lab A (实验室甲, in the cluster): ICP with U1 and U2, available 71.5 h, effective 435 min
= 7.25 h, external 315 min = 5.25 h, orgs served 2 (both external; the lab itself is
not served), ratings 5 and 4.
Lab B (测试实验室, no cluster, same province): one biomedicine instrument open Mon–Fri
08:30–12:00 and 13:30–17:30 = 37.5 h, used by E1 for 90 min = 1.5 h, all external.
Rated hours a week: 1,400 × 7 ÷ 365 per unit.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

WEEK_ARGS = "from=2026-03-02&to=2026-03-09"
RATED_UNIT = 1400 * 7 / 365


def _lab_a_week() -> dict:
    """Every figure of lab A in the week (tests/stats/test_metrics.py, by hand)."""
    rated = 2 * RATED_UNIT
    return {
        "units": 2,
        "available_hours": 71.5,
        "booked_hours": 8.5,
        "effective_hours": 7.25,
        "external_hours": 5.25,
        "internal_hours": 2.0,
        "rated_hours": round(rated, 2),
        "share_rate": 0.7241,  # 315 / 435
        "utilisation_rated": 0.135,  # 7.25 / 53.70
        "utilisation_available": 0.1014,  # 7.25 / 71.5
        "orgs_served": 2,
        "external_orgs_served": 2,
        "sme_served": 1,
        "users_served": 2,
        "revenue_internal_fen": 20_000,
        "revenue_external_fen": 200_000,
        "revenue_rate": 0.0016,  # (20,000 + 1.5 × 200,000) / 200,000,000
        "satisfaction": 4.5,
        "rating_count": 2,
        "median_response_minutes": 60.0,
        "bookings": 5,
        "cancelled": 1,
        "no_shows": 1,
        "cancellation_rate": 0.2,
        "no_show_rate": 0.3333,
        "original_value_fen": 200_000_000,
    }


OPEN_KEYS = (
    "id field name name_en rank units available_hours effective_hours external_hours "
    "share_rate utilisation_available utilisation_rated orgs_served external_orgs_served "
    "satisfaction rating_count"
).split()


def _public(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k in OPEN_KEYS}


# --- public statistics -------------------------------------------------------------------------


def test_statistics_by_cluster_are_the_week_figures(api, two_labs, cluster):
    response = api.get(f"/api/v1/statistics?level=cluster&{WEEK_ARGS}")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["level"] == "cluster"
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-09"}
    assert body["meta"] == {"page": 1, "per_page": 50, "total": 2, "pages": 1}
    first, second = body["items"]
    assert first == {
        "id": cluster.id,
        "field": None,
        "name": cluster.name,
        "name_en": "Test cluster",
        "rank": 1,
        **_public(_lab_a_week()),
    }
    assert second == {
        "id": None,
        "field": None,
        "name": "Outside any cluster",
        "name_en": "",
        "rank": 2,
        "units": 1,
        "available_hours": 37.5,
        "effective_hours": 1.5,
        "external_hours": 1.5,
        "share_rate": 1.0,
        "utilisation_available": 0.04,  # 1.5 / 37.5
        "utilisation_rated": 0.0559,  # 1.5 / 26.85
        "orgs_served": 1,
        "external_orgs_served": 1,
        "satisfaction": None,
        "rating_count": 0,
    }
    # Only aggregates: no figure of money, no customer, lab or instrument named.
    text = response.get_data(as_text=True)
    for secret in ("revenue", "企业一", "企业二", "实验室甲", "测试实验室", "users_served"):
        assert secret not in text


def test_statistics_by_region_and_field(api, two_labs):
    region = api.get(f"/api/v1/statistics?level=region&{WEEK_ARGS}").json
    province = two_labs["lab"].region.parent
    [item] = region["items"]
    assert (item["id"], item["name"], item["rank"]) == (province.id, province.name, 1)
    assert item["units"] == 3
    assert item["available_hours"] == 109.0  # 71.5 + 37.5
    assert item["effective_hours"] == 8.75  # 525 min
    assert item["external_hours"] == 6.75  # 405 min
    assert item["share_rate"] == 0.7714  # 405 / 525
    assert item["orgs_served"] == 2  # E1 (both labs, once), E2; never lab A itself
    assert item["external_orgs_served"] == 2
    assert item["satisfaction"] == 4.5

    field = api.get(f"/api/v1/statistics?level=field&{WEEK_ARGS}").json
    assert [(i["field"], i["id"], i["rank"]) for i in field["items"]] == [
        ("new_materials", None, 1),
        ("biomedicine", None, 2),
    ]
    materials, bio = field["items"]
    assert materials["name"] == "New materials"
    assert {k: materials[k] for k in OPEN_KEYS[5:]} == _public(_lab_a_week())
    assert (bio["available_hours"], bio["effective_hours"], bio["units"]) == (37.5, 1.5, 1)


def test_statistics_pages(api, two_labs):
    first = api.get(f"/api/v1/statistics?{WEEK_ARGS}&per_page=1").json
    second = api.get(f"/api/v1/statistics?{WEEK_ARGS}&per_page=1&page=2").json
    assert first["meta"] == {"page": 1, "per_page": 1, "total": 2, "pages": 2}
    assert [i["effective_hours"] for i in first["items"] + second["items"]] == [7.25, 1.5]
    assert [i["rank"] for i in first["items"] + second["items"]] == [1, 2]


def test_statistics_default_to_this_year_so_far(api, two_labs):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    body = api.get("/api/v1/statistics").json
    assert body["level"] == "cluster"
    assert body["period"] == {
        "from": date(today.year, 1, 1).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }


def test_a_first_day_alone_asks_for_one_year_or_up_to_today(api, db):
    """Without `to`, one calendar year from `from`, or up to today when that comes first:
    a day long ago alone is not a three-year computation; a day after today alone is an
    empty period, refused."""
    from tests.support import clock

    today = clock.today()
    long_ago = api.get("/api/v1/statistics?from=2000-01-01").json
    assert long_ago["period"] == {"from": "2000-01-01", "to": "2001-01-01"}
    leap = api.get("/api/v1/statistics?from=2024-02-29").json
    assert leap["period"] == {"from": "2024-02-29", "to": "2025-03-01"}
    recent = (today - timedelta(days=40)).isoformat()
    assert api.get(f"/api/v1/statistics?from={recent}").json["period"] == {
        "from": recent,
        "to": (today + timedelta(days=1)).isoformat(),
    }
    later = api.get(f"/api/v1/statistics?from={today + timedelta(days=1)}")
    assert later.status_code == 422
    assert "to" in later.json["errors"]


def test_a_later_period_has_only_the_record_of_10_march(api, two_labs):
    body = api.get("/api/v1/statistics?level=cluster&from=2026-03-09&to=2026-03-11").json
    a = body["items"][0]
    # R4's second half (30 min, Mon 9 00:00–00:30) and R7 (120 min, Tue 10) = 2.5 h.
    assert (a["effective_hours"], a["external_hours"], a["orgs_served"]) == (2.5, 2.5, 2)
    assert a["satisfaction"] == 1.0  # the rating given on 10 March


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=lab", "level"),
        ("level=unit", "level"),
        ("from=2026-02-30", "from"),
        ("from=yesterday", "from"),
        ("from=1999-12-31", "from"),
        ("from=2026-03-09&to=2026-03-02", "to"),
        ("from=2026-03-09&to=2026-03-09", "to"),
        ("from=2020-01-01&to=2023-01-02", "to"),
        ("from=2020-01-01&page=0", "page"),
        ("cluster=3", "cluster"),
    ],
)
def test_bad_statistics_parameters_are_422_problems(api, db, query, field):
    response = api.get(f"/api/v1/statistics?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["type"] == "urn:sharehub:problem:invalid-input"
    assert field in response.json["errors"]


def test_three_years_exactly_are_allowed(api, two_labs):
    body = api.get("/api/v1/statistics?from=2024-02-29&to=2027-03-01").json
    assert body["period"] == {"from": "2024-02-29", "to": "2027-03-01"}
    # R1 180 + R2 120 + R3 120 + R4 60 + R6 45 + R7 120 = 645 min, every one whole
    assert body["items"][0]["effective_hours"] == 10.75


# --- metrics with a token ----------------------------------------------------------------------


def test_lab_manager_reads_the_lab_figures(api, two_labs, tokens):
    lab_a = two_labs["lab"]
    response = api.get(f"/api/v1/metrics?{WEEK_ARGS}", token=tokens["lab_a"])
    assert response.status_code == 200, response.json
    [item] = response.json["items"]
    assert item == {
        "id": lab_a.id,
        "field": None,
        "name": "实验室甲",
        "name_en": lab_a.name_en,
        "rank": 1,
        **_lab_a_week(),
    }
    same = api.get(f"/api/v1/metrics?level=lab&lab={lab_a.id}&{WEEK_ARGS}", token=tokens["lab_a"])
    assert same.json["items"] == [item]


def test_lab_manager_reads_units_and_listings(api, two_labs, tokens):
    u1, u2 = two_labs["u1"], two_labs["u2"]
    units = api.get(f"/api/v1/metrics?level=unit&{WEEK_ARGS}", token=tokens["lab_a"]).json
    assert [i["id"] for i in units["items"]] == [u1.id, u2.id]  # ranked by effective hours
    one, two = units["items"]
    assert (one["available_hours"], two["available_hours"]) == (37.5, 34.0)
    assert (one["effective_hours"], two["effective_hours"]) == (5.75, 1.5)
    assert (one["external_hours"], two["external_hours"]) == (3.75, 1.5)
    assert (one["booked_hours"], two["booked_hours"]) == (7.0, 1.5)
    assert (one["revenue_external_fen"], two["revenue_external_fen"]) == (150_000, 50_000)
    assert (one["median_response_minutes"], two["median_response_minutes"]) == (20.0, 90.0)
    assert one["name"] == f"{two_labs['listing'].name} {u1.name}"

    listings = api.get(f"/api/v1/metrics?level=listing&{WEEK_ARGS}", token=tokens["lab_a"]).json
    [listing] = listings["items"]
    assert listing["id"] == two_labs["listing"].id
    assert (listing["effective_hours"], listing["available_hours"]) == (7.25, 71.5)
    # Below lab level only invoices of a booking count: the internal 20,000 stays out.
    assert (listing["revenue_external_fen"], listing["revenue_internal_fen"]) == (200_000, 0)


def test_regulator_reads_every_lab_and_level(api, two_labs, tokens, cluster):
    lab_a, lab_b = two_labs["lab"], two_labs["other"]
    labs = api.get(f"/api/v1/metrics?level=lab&{WEEK_ARGS}", token=tokens["regulator"]).json
    assert [i["id"] for i in labs["items"]] == [lab_a.id, lab_b.id]
    assert {k: labs["items"][0][k] for k in _lab_a_week()} == _lab_a_week()
    b = labs["items"][1]
    assert (b["effective_hours"], b["revenue_external_fen"], b["users_served"]) == (1.5, 0, 0)

    only_b = api.get(
        f"/api/v1/metrics?level=unit&lab={lab_b.id}&{WEEK_ARGS}", token=tokens["regulator"]
    ).json
    assert [i["id"] for i in only_b["items"]] == [two_labs["bio"].units[0].id]

    clusters = api.get(f"/api/v1/metrics?level=cluster&{WEEK_ARGS}", token=tokens["regulator"])
    assert [(i["id"], i["effective_hours"]) for i in clusters.json["items"]] == [
        (cluster.id, 7.25),
        (None, 1.5),
    ]
    assert clusters.json["items"][0]["revenue_external_fen"] == 200_000
    field = api.get(
        f"/api/v1/metrics?level=field&lab={lab_a.id}&{WEEK_ARGS}", token=tokens["regulator"]
    )
    assert [i["field"] for i in field.json["items"]] == ["new_materials"]


def _assert_problem(response, status: int, slug: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["type"] == f"urn:sharehub:problem:{slug}"
    text = response.get_data(as_text=True)
    for figure in ("effective_hours", "7.25", "1.5", "流式细胞仪", "测试实验室", "实验室甲"):
        assert figure not in text


def test_another_labs_figures_are_not_found(api, two_labs, tokens):
    lab_a, lab_b = two_labs["lab"], two_labs["other"]
    for path in (
        f"/api/v1/metrics?lab={lab_b.id}&{WEEK_ARGS}",
        f"/api/v1/metrics?level=unit&lab={lab_b.id}&{WEEK_ARGS}",
        f"/api/v1/metrics/national-report?year=2026&lab={lab_b.id}",
        f"/api/v1/metrics/national-report?year=2026&lab={lab_b.id}&format=csv",
    ):
        _assert_problem(api.get(path, token=tokens["lab_a"]), 404, "not-found")
    # Lab B's manager does not see lab A either; an unknown id looks the same.
    _assert_problem(
        api.get(f"/api/v1/metrics?lab={lab_a.id}", token=tokens["lab_b"]), 404, "not-found"
    )
    _assert_problem(
        api.get("/api/v1/metrics?lab=999999", token=tokens["regulator"]), 404, "not-found"
    )


def test_who_may_not_read_metrics(api, two_labs, tokens):
    lab_a = two_labs["lab"]
    for path in (f"/api/v1/metrics?{WEEK_ARGS}", "/api/v1/metrics/national-report?year=2026"):
        _assert_problem(api.get(path, token=tokens["firm"]), 403, "forbidden")
        _assert_problem(api.get(path, token=tokens["member_a"]), 403, "forbidden")
        _assert_problem(api.get(path, token=tokens["no_scope"]), 403, "insufficient-scope")
        _assert_problem(api.get(path), 401, "unauthorized")
        _assert_problem(api.get(path, token="shr_not-a-token"), 401, "invalid-token")
    # An enterprise token naming a lab learns nothing of it either.
    _assert_problem(
        api.get(f"/api/v1/metrics?lab={lab_a.id}", token=tokens["firm"]), 403, "forbidden"
    )
    # A lab's token reads its own lab, not the cluster, province or field tables.
    for level in ("cluster", "region", "field"):
        _assert_problem(
            api.get(f"/api/v1/metrics?level={level}&{WEEK_ARGS}", token=tokens["lab_a"]),
            403,
            "forbidden",
        )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=province", "level"),
        ("from=2026-03-09&to=2026-03-01", "to"),
        ("from=2026-1-1x", "from"),
        ("from=2020-01-01&to=2023-06-01", "to"),
        ("lab=0", "lab"),
        ("lab=abc", "lab"),
        ("sort=effective_hours", "sort"),
    ],
)
def test_bad_metrics_parameters_are_422_problems(api, two_labs, tokens, query, field):
    response = api.get(f"/api/v1/metrics?{query}", token=tokens["regulator"])
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


# --- national report ---------------------------------------------------------------------------

# The year 2026 of lab A, per instrument (unit), every record whole:
# U1: R1 180 + R2 120 (lab) + R6 45 + R7 120 = 465 min = 7.75 h, external 345 min = 5.75 h;
#     orgs E1, lab A, E2; users: B1's user; invoices of its bookings: I1 150,000, I3
#     200,000 voided by −200,000 → 1,500 CNY.
# U2: R3 120 + R4 60 = 3.0 h, all external; orgs E2, E1; B4's user; I6 50,000 + 70,000.


def _national_a(two_labs) -> list[dict]:
    listing, u1, u2 = two_labs["listing"], two_labs["u1"], two_labs["u2"]
    common = {
        "instrument_number": listing.instrument_number,
        "category_code": "020303",
        "name": listing.name,
        "name_en": listing.name_en,
        "model": listing.model,
        "lab": "实验室甲",
        "original_value_wan": 100.0,
    }
    return [
        {
            **common,
            "unit": u1.name,
            "serial_number": u1.serial_number,
            "effective_hours": 7.75,
            "external_hours": 5.75,
            "external_income_yuan": 1500.0,
            "orgs_served": 2,
            "users_served": 1,
        },
        {
            **common,
            "unit": u2.name,
            "serial_number": u2.serial_number,
            "effective_hours": 3.0,
            "external_hours": 3.0,
            "external_income_yuan": 1200.0,
            "orgs_served": 2,
            "users_served": 1,
        },
    ]


def test_national_report_of_the_own_lab(api, two_labs, tokens):
    response = api.get("/api/v1/metrics/national-report?year=2026", token=tokens["lab_a"])
    assert response.status_code == 200, response.json
    assert response.json == {
        "year": 2026,
        "items": _national_a(two_labs),
        "meta": {"page": 1, "per_page": 50, "total": 2, "pages": 1},
    }
    second = api.get(
        "/api/v1/metrics/national-report?year=2026&per_page=1&page=2", token=tokens["lab_a"]
    ).json
    assert second["items"] == _national_a(two_labs)[1:]
    assert second["meta"] == {"page": 2, "per_page": 1, "total": 2, "pages": 2}
    empty = api.get("/api/v1/metrics/national-report?year=2025", token=tokens["lab_a"]).json
    assert [i["effective_hours"] for i in empty["items"]] == [0.0, 0.0]


def test_national_report_of_every_lab_for_a_regulator(api, two_labs, tokens):
    body = api.get("/api/v1/metrics/national-report?year=2026", token=tokens["regulator"]).json
    assert body["meta"]["total"] == 3
    assert body["items"][:2] == _national_a(two_labs)
    bio = body["items"][2]
    assert (bio["name"], bio["lab"], bio["effective_hours"], bio["orgs_served"]) == (
        "流式细胞仪",
        "测试实验室",
        1.5,
        1,
    )
    only_b = api.get(
        f"/api/v1/metrics/national-report?year=2026&lab={two_labs['other'].id}",
        token=tokens["regulator"],
    ).json
    assert only_b["items"] == [bio]


def test_national_report_as_csv(api, two_labs, tokens):
    response = api.get(
        "/api/v1/metrics/national-report?year=2026&format=csv", token=tokens["lab_a"]
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lab_id = two_labs["lab"].id
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=sharehub-national-lab{lab_id}-2026.csv"
    )
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffInstrument number,Category code,Name,English name,Unit,")
    header, *rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(header) == 15 and len(rows) == 2
    # The figures as the JSON gives them, written with their decimals (hours 2, yuan 2);
    # the last column, the testing orders served, is 0 (no commissioned testing here).
    assert [r[9:] for r in rows] == [
        ["7.75", "5.75", "1500.00", "2", "1", "0"],
        ["3.00", "3.00", "1200.00", "2", "1", "0"],
    ]
    assert rows[0][7] == "实验室甲" and rows[0][8] == "100"


@pytest.mark.parametrize(
    ("query", "field"),
    [("year=1999", "year"), ("year=20x6", "year"), ("format=xlsx", "format"), ("lab=-1", "lab")],
)
def test_bad_national_parameters_are_422(api, two_labs, tokens, query, field):
    response = api.get(f"/api/v1/metrics/national-report?{query}", token=tokens["lab_a"])
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_period_errors_speak_the_callers_language(client):
    answer = client.get(
        "/api/v1/statistics?from=2026-05-01&to=2026-04-01", headers={"Accept-Language": "zh-CN"}
    )
    assert answer.status_code == 422
    assert "必须晚于" in str(answer.get_json()["errors"])
    answer = client.get(
        "/api/v1/statistics?from=2020-01-01&to=2026-01-01", headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 422
    assert "at most three years" in str(answer.get_json()["errors"])
