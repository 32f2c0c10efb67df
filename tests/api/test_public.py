"""Public API: catalogue search with the page's filters, listing detail, free time, the lab
directory; errors as problem+json; the OpenAPI document and the documentation page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sharehub.accounts.models import OrgKind, OrgStatus
from sharehub.catalog.models import Field, ListingKind, ListingStatus
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


def test_search_uses_the_catalogue_filters_and_pages(api, lab, make_org, make_listing):
    make_listing(lab, name="电感耦合等离子体发射光谱仪", price_external=50000)
    make_listing(lab, name="扫描电子显微镜", price_external=80000, field=Field.BIOMEDICINE)
    make_listing(lab, name="材料数据集", kind=ListingKind.DATASET, price_external=20000)
    make_listing(lab, name="草稿设备", status=ListingStatus.DRAFT)
    closed = make_org(kind=OrgKind.LAB, status=OrgStatus.SUSPENDED)
    make_listing(closed, name="停牌实验室的光谱仪")

    everything = api.get("/api/v1/listings").get_json()
    assert everything["meta"] == {"page": 1, "per_page": 20, "total": 3, "pages": 1}
    assert everything["facets"]["kind"] == {"equipment": 2, "dataset": 1}

    spectro = api.get("/api/v1/listings?q=光谱").get_json()
    assert [i["name"] for i in spectro["items"]] == ["电感耦合等离子体发射光谱仪"]
    item = spectro["items"][0]
    assert item["price"] == {
        "unit": "hour",
        "external_fen": 50000,
        "cluster_fen": None,
        "currency": "CNY",
    }
    assert item["lab"]["id"] == lab.id

    cheap = api.get("/api/v1/listings?kind=equipment&price_max=600&sort=price_desc").get_json()
    assert [i["name"] for i in cheap["items"]] == ["电感耦合等离子体发射光谱仪"]
    bio = api.get("/api/v1/listings?field=biomedicine").get_json()
    assert [i["name"] for i in bio["items"]] == ["扫描电子显微镜"]
    assert bio["facets"]["field"] == {"new_materials": 2, "biomedicine": 1}


def test_bad_filters_are_problems_not_errors(api):
    response = api.get("/api/v1/listings?kind=spaceship&page=0")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "urn:sharehub:problem:invalid-input"
    assert set(body["errors"]) == {"kind", "page"}
    bad_dates = api.get("/api/v1/listings?from=2026-02-10&to=2026-02-01&hours=2")
    assert bad_dates.status_code == 400
    assert bad_dates.get_json()["detail"] == "The end date is before the start date."


def test_listing_detail_and_unknown_listing(api, lab, make_listing):
    listing = make_listing(lab, units=2, approval_required=False, model="Agilent 5110")
    body = api.get(f"/api/v1/listings/{listing.id}").get_json()
    assert body["instrument"]["model"] == "Agilent 5110"
    assert body["rules"]["approval_required"] is False
    assert [u["name"] for u in body["units"]] == ["#1", "#2"]
    draft = make_listing(lab, name="草稿", status=ListingStatus.DRAFT)
    for path in (f"/api/v1/listings/{draft.id}", "/api/v1/listings/2147483647"):
        missing = api.get(path)
        assert missing.status_code == 404
        assert missing.get_json()["type"] == "urn:sharehub:problem:not-found"
    assert api.get("/api/v1/listings/2147483648").status_code == 404


def test_availability_subtracts_bookings(api, db, lab, make_listing, firm):
    from sharehub.booking import services

    listing = make_listing(lab, approval_required=False)
    org, user = firm
    day = workday()
    services.create_booking(
        user,
        org,
        listing,
        services.BookingRequest(starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30)),
    )
    db.session.commit()
    body = api.get(
        f"/api/v1/listings/{listing.id}/availability?from={day}&days=1&minutes=120"
    ).get_json()
    # Open 08:30-12:00 and 13:30-17:30 with 08:30-10:30 taken: 10:30-12:00 is too short
    # for two hours, so two-hour bookings start at 13:30, 14:30 or 15:30.
    expected = [at(day, 13, 30), at(day, 14, 30), at(day, 15, 30)]
    starts = [datetime.fromisoformat(s) for s in body["starts"]]
    assert starts == expected
    free = [
        (datetime.fromisoformat(i["starts_at"]), datetime.fromisoformat(i["ends_at"]))
        for i in body["units"][0]["free"]
    ]
    assert free == [(at(day, 10, 30), at(day, 12)), (at(day, 13, 30), at(day, 17, 30))]
    assert body["minutes"] == 120 and (free[0][1] - free[0][0]) == timedelta(minutes=90)


def test_lab_directory_shows_status(api, lab, make_org, make_listing):
    make_listing(lab)
    rectifying = make_org(kind=OrgKind.LAB, status=OrgStatus.RECTIFYING, name="整改中实验室")
    make_org(kind=OrgKind.LAB, status=OrgStatus.PENDING, name="待审核实验室")
    make_org(name="一家企业")
    body = api.get("/api/v1/labs").get_json()
    rows = {row["name"]: (row["status"], row["listings"]) for row in body["items"]}
    assert rows == {"测试实验室": ("active", 1), "整改中实验室": ("rectifying", 0)}
    only = api.get("/api/v1/labs?status=rectifying").get_json()
    assert [r["id"] for r in only["items"]] == [rectifying.id]
    assert api.get(f"/api/v1/labs/{lab.id}").get_json()["cnas_number"] == "CNAS L0001"


def test_rate_limit_headers_and_429(app, api):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [
            api.get("/api/v1/labs", environ_base={"REMOTE_ADDR": "10.9.9.9"}) for _ in range(4)
        ]
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert int(answers[3].headers["Retry-After"]) > 0
    assert answers[3].get_json()["type"] == "urn:sharehub:problem:rate-limited"


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    methods = {"get", "post", "put", "patch", "delete"}
    assert len([op for path in spec["paths"].values() for op in path if op in methods]) == 40
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(problem) == ["application/problem+json"]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html and "<script>" not in html
    assert " style=" not in html
    # Swagger UI runs under the site's strict policy (the browser journey checks that no
    # violation is reported).
    assert (
        page.headers["Content-Security-Policy"]
        == client.get("/").headers["Content-Security-Policy"]
    )
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_site_errors_stay_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    api_missing = client.get("/api/v1/no-such-thing")
    assert api_missing.status_code == 404
    assert api_missing.mimetype == "application/problem+json"


def test_unknown_query_parameters_are_refused(api):
    response = api.get("/api/v1/listings?kindd=equipment")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"kindd": ["Unknown field."]}


def test_the_document_states_the_bounds_the_code_keeps(client, api):
    """Dates and times in the years the platform keeps, text without control characters,
    amounts with two decimals up to one hundred million yuan, printable idempotency keys:
    what the document allows is what the code accepts, and nothing else."""
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    time_pattern = schemas["BookingCreate"]["properties"]["starts_at"]["pattern"]
    assert re.search(time_pattern, "2026-06-10T09:00:00+08:00")
    assert not re.search(time_pattern, "0557-12-14T13:18:15Z")
    text_pattern = schemas["BookingCancel"]["properties"]["reason"]["pattern"]
    assert re.search(text_pattern, "计划变更\n") and not re.search(text_pattern, "a\x1ab")
    listings = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/v1/listings"]["get"]["parameters"]
    }
    assert not re.search(listings["from"]["pattern"], "0223-12-05")
    assert re.search(listings["price_max"]["pattern"], "100000000.00")
    assert not re.search(listings["price_max"]["pattern"], "100000000.5")
    approve = spec["paths"]["/api/v1/bookings/{booking_id}/approve"]["post"]
    key = next(p for p in approve["parameters"] if p["name"] == "Idempotency-Key")["schema"]
    assert key["minLength"] == 1 and not re.search(key["pattern"], "a\tb")
    # From a day alone, the period runs one year on, or up to today if earlier.
    assert api.get("/api/v1/statistics?from=2000-01-01").status_code == 200


def test_the_free_time_window_is_written_in_the_document(client, api, lab, make_listing):
    """The free-time search looks from today up to 365 days ahead over at most 31 days:
    a rule relative to today that a JSON schema cannot state, so the parameters'
    descriptions state it, and the code answers exactly that."""
    from tests.support import clock

    today = clock.today()
    spec = client.get("/api/v1/openapi.json").get_json()

    def described(path: str) -> dict:
        parameters = spec["paths"][path]["get"]["parameters"]
        return {p["name"]: p.get("description", "") for p in parameters}

    search = described("/api/v1/listings")
    assert "from today up to 365 days after today" in search["from"]
    assert "at most 30 days after it (31 days in all)" in search["to"]
    free = described("/api/v1/listings/{listing_id}/availability")
    assert "At most 365 days after today" in free["from"]

    def listings(first, last=None):
        query = f"from={first}&hours=1" + (f"&to={last}" if last else "")
        return api.get(f"/api/v1/listings?{query}")

    last_start = today + timedelta(days=365)
    assert listings(today, today + timedelta(days=30)).status_code == 200
    assert listings(last_start).status_code == 200
    for refused, detail in (
        (listings(today - timedelta(days=1)), "starts today or later, at most a year ahead"),
        (listings(last_start + timedelta(days=1)), "starts today or later, at most a year"),
        (listings(today, today + timedelta(days=31)), "covers at most 31 days"),
    ):
        assert refused.status_code == 400
        assert detail in refused.get_json()["detail"]
    listing = make_listing(lab)
    path = f"/api/v1/listings/{listing.id}/availability"
    assert api.get(f"{path}?from={last_start}&days=31").status_code == 200
    assert api.get(f"{path}?from={today - timedelta(days=10)}").status_code == 200
    late = api.get(f"{path}?from={last_start + timedelta(days=1)}")
    assert late.status_code == 400
    assert "at most a year ahead" in late.get_json()["detail"]


def test_a_datasets_free_time_is_a_conflict_with_its_kind(api, lab, make_listing):
    """A dataset is not booked by time: the request is well formed, the listing cannot
    serve it, 409 with the message."""
    dataset = make_listing(lab, kind=ListingKind.DATASET)
    response = api.get(f"/api/v1/listings/{dataset.id}/availability")
    assert response.status_code == 409
    assert response.get_json()["detail"] == "Datasets are not booked by time."
