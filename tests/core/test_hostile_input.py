"""NUL and other control characters in any field, and text-direction overrides in names,
are refused with a clear 400 on every form, public or signed in, before they reach the
database (PostgreSQL cannot store NUL: it used to answer 500)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import User
from sharehub.booking.models import Booking, UsageRecord
from sharehub.calendar.models import ExternalCalendar
from sharehub.catalog.models import Listing, Outage
from tests.accounts.test_signup import signup_data
from tests.support import clock
from tests.support.clock import at, workday

# usage is logged after it happened
WEEK_AGO = (clock.today() - timedelta(days=7)).isoformat()

EN = {"Accept-Language": "en"}
CONTROL = "contains control characters (such as NUL) that cannot be saved"
BIDI = "Names cannot contain text-direction control characters"
HOSTILE = ["\x00", "a\x00b", "\x01", "\x08", "\x1b[2J", "x\x0b", "\x1f"]
BIDI_NAMES = ["\u202eevil", "a\u202ab", "\u2066x\u2069", "\u202d"]


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def setting(db, city, lab, lab_manager, make_listing, make_org, make_user):
    listing = make_listing(lab, approval_required=False)
    buyer = make_user(make_org(name="采购企业"), email="hostile-buyer@example.cn")
    return {"city": city, "listing": listing, "manager": lab_manager, "buyer": buyer}


def listing_form(value: str) -> dict:
    return {
        "kind": "equipment",
        "name": "扫描电镜" + value,
        "name_en": "SEM",
        "field": "new_materials",
        "category_code": "020303",
        "price_unit": "hour",
        "price_external": "500.00",
        "price_internal": "300.00",
    }


# (who signs in, method, address, form builder, what must stay uncreated)
CASES = {
    "signup": (
        None,
        "post",
        lambda s: "/account/signup",
        lambda s, v: signup_data(s["city"], name="李" + v, email="hostile@example.cn"),
        User,
    ),
    "signup-org": (
        None,
        "post",
        lambda s: "/account/signup",
        lambda s, v: signup_data(s["city"], org_name="公司" + v, email="hostile@example.cn"),
        User,
    ),
    "signin": (
        None,
        "post",
        lambda s: "/account/signin",
        lambda s, v: {"email": "a" + v + "@example.cn", "password": "x"},
        None,
    ),
    "catalog-search": (None, "get", lambda s: "/catalog", lambda s, v: {"q": v}, None),
    "catalog-search-key": (None, "get", lambda s: "/catalog", lambda s, v: {v: "1"}, None),
    "booking-purpose": (
        "buyer",
        "post",
        lambda s: f"/catalog/{s['listing'].id}/book/review",
        lambda s, v: {
            "start": at(workday(), 8, 30).isoformat(),
            "minutes": 120,
            "purpose": "检测" + v,
            "confirm": "1",
        },
        Booking,
    ),
    "profile-name": (
        "buyer",
        "post",
        lambda s: "/account/",
        lambda s, v: {"name": "王" + v, "locale": "en", "timezone": "Asia/Shanghai"},
        None,
    ),
    "listing-fields": (
        "manager",
        "post",
        lambda s: "/lab/listings/new",
        lambda s, v: listing_form(v),
        Listing,
    ),
    "usage-form": (
        "manager",
        "post",
        lambda s: "/lab/usage",
        lambda s, v: {
            "unit_id": s["listing"].units[0].id,
            "started": f"{WEEK_AGO}T09:00",
            "ended": f"{WEEK_AGO}T11:00",
            "run_minutes": 60,
            "notes": "备注" + v,
        },
        UsageRecord,
    ),
    "calendar-name": (
        "manager",
        "post",
        lambda s: "/lab/calendars",
        lambda s, v: {
            "unit_id": s["listing"].units[0].id,
            "name": "日历" + v,
            "url": "http://127.0.0.1:9/c.ics",
        },
        ExternalCalendar,
    ),
    "outage-note": (
        "manager",
        "post",
        lambda s: f"/lab/listings/{s['listing'].id}/outages",
        lambda s, v: {
            "unit_id": s["listing"].units[0].id,
            "kind": "maintenance",
            "starts": "2026-11-02T09:00",
            "ends": "2026-11-02T11:00",
            "note": "维护" + v,
        },
        Outage,
    ),
}


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("case", sorted(CASES))
def test_control_characters_are_refused_with_a_clear_400(client, db, setting, login, case, value):
    who, method, address, build, model = CASES[case]
    if who:
        login(setting[who])
    before = count(db, model) if model else 0
    data = build(setting, value)
    if method == "get":
        response = client.get(address(setting), query_string=data, headers=EN)
    else:
        response = client.post(address(setting), data=data, headers=EN)
    assert response.status_code == 400
    assert CONTROL in response.get_data(as_text=True)
    if model:
        assert count(db, model) == before


def test_the_message_is_in_the_users_language(client, db):
    response = client.get(
        "/catalog", query_string={"q": "\x00"}, headers={"Accept-Language": "zh-CN"}
    )
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_the_api_answers_a_problem(client, db):
    response = client.get("/api/v1/listings", query_string={"q": "\x00"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("value", BIDI_NAMES, ids=repr)
@pytest.mark.parametrize("field", ["name", "org_name", "contact_name"])
def test_text_direction_overrides_are_refused_in_names(client, db, city, field, value):
    data = signup_data(city, email="bidi@example.cn", **{field: "李娜" + value})
    response = client.post("/account/signup", data=data, headers=EN)
    assert response.status_code == 400
    assert BIDI in response.get_data(as_text=True)
    assert count(db, User) == 0


def test_tabs_newlines_and_direction_marks_outside_names_are_kept(client, db, setting, login):
    login(setting["manager"])
    response = client.post(
        "/lab/usage",
        data={
            "unit_id": setting["listing"].units[0].id,
            "started": f"{WEEK_AGO}T09:00",
            "ended": f"{WEEK_AGO}T11:00",
            "run_minutes": 60,
            "notes": "第一行\r\n第二行\t制表 \u202e",
        },
    )
    assert response.status_code == 302
    record = db.session.scalar(sa.select(UsageRecord))
    assert record.notes == "第一行\r\n第二行\t制表 \u202e"


def test_profile_form_validator_refuses_names_it_is_given(app, db, english):
    from werkzeug.datastructures import MultiDict

    from sharehub.accounts.forms import ProfileForm

    with app.test_request_context():
        form = ProfileForm(
            formdata=MultiDict({"name": "王\u202e五", "locale": "en", "timezone": "UTC"}),
            meta={"csrf": False},
        )
        form.locale.choices = [("en", "English")]
        assert not form.validate()
        assert any("text-direction" in e for e in form.name.errors)


@pytest.mark.parametrize("value", ["\x00", "\x01"], ids=repr)
def test_usage_csv_with_control_characters_is_refused(client, db, setting, login, value):
    login(setting["manager"])
    unit = setting["listing"].units[0]
    text = (
        "unit_id,started,ended,prep_minutes,run_minutes,post_minutes,samples,service_way,notes\n"
        f"{unit.id},{WEEK_AGO} 09:00,{WEEK_AGO} 10:00,0,60,0,2,remote,备注{value}\n"
    )
    response = client.post(
        "/lab/usage/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(text.encode()), "u.csv")},
        follow_redirects=True,
        headers=EN,
    )
    assert CONTROL in response.get_data(as_text=True)
    assert count(db, UsageRecord) == 0


def test_json_bodies_with_nul_answer_a_problem(client, db):
    response = client.post(
        "/api/v1/bookings", json={"purpose": "检测\u0000", "listing_id": 1}, headers=EN
    )
    assert response.status_code == 422  # an unprocessable body, like every malformed body
    assert response.mimetype == "application/problem+json"
    assert "control characters" in response.get_data(as_text=True)
