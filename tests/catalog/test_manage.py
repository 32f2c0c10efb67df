"""Lab managers create, edit, submit and withdraw listings; administrators review them."""

import io

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, OrgStatus, Role
from sharehub.catalog.models import Listing, ListingRevision, ListingStatus, Outage, Unit
from tests.support.files import pdf_bytes, png_bytes

EQUIPMENT = {
    "name": "场发射扫描电子显微镜",
    "name_en": "Field emission SEM",
    "description": "高分辨形貌观察",
    "field": "new_materials",
    "category_code": "020601",
    "price_unit": "hour",
    "price_external": "800.00",
    "price_internal": "400",
    "price_cluster": "600",
    "min_charge": "",
    "slot_minutes": "30",
    "min_minutes": "60",
    "max_minutes": "480",
    "lead_hours": "24",
    "horizon_days": "60",
    "buffer_minutes": "15",
    "approval_required": "y",
    "free_cancel_hours": "48",
    "cancel_fee_percent": "20",
    "units": "2",
    "model": "ZEISS Sigma 300",
    "manufacturer": "ZEISS",
    "country_of_origin": "德国",
    "original_value": "2850000",
    "commissioning_date": "2021-06-01",
    "instrument_status": "normal",
}


def create(client, data=None, kind="equipment"):
    return client.post(f"/lab/listings/new?kind={kind}", data=data or EQUIPMENT)


def test_manager_creates_submits_and_admin_publishes(
    client, db, lab, lab_manager, login, platform_admin, mailbox
):
    login(lab_manager)
    response = create(client)
    assert response.status_code == 302
    listing = db.session.scalar(sa.select(Listing).where(Listing.name == "场发射扫描电子显微镜"))
    assert listing.status == ListingStatus.DRAFT
    assert (listing.price_external, listing.price_internal, listing.price_cluster) == (
        80000,
        40000,
        60000,
    )
    assert listing.original_value == 285000000
    assert [u.name for u in listing.units] == ["#1", "#2"]
    assert len(listing.opening_hours) == 10  # default weekday hours
    assert "扫描电子" in listing.search_text
    # drafts are invisible to the public
    client.post("/account/signout")
    assert client.get(f"/catalog/{listing.id}").status_code == 404
    login(lab_manager)
    assert client.post(f"/lab/listings/{listing.id}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == ListingStatus.PENDING

    client.post("/account/signout")
    login(platform_admin)
    assert "Field emission SEM" in client.get("/admin/reviews").get_data(as_text=True)
    client.post(f"/admin/reviews/listings/{listing.id}", data={"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == ListingStatus.PUBLISHED
    assert "approved" in mailbox.body(mailbox.last_to(lab_manager.email))
    client.post("/account/signout")
    page = client.get(f"/catalog/{listing.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Field emission SEM" in page.get_data(as_text=True)


def test_rejection_needs_a_reason_the_lab_sees(
    client, db, lab, lab_manager, login, make_listing, platform_admin
):
    listing = make_listing(lab, status=ListingStatus.PENDING)
    login(platform_admin)
    response = client.post(
        f"/admin/reviews/listings/{listing.id}", data={"decision": "reject", "reason": ""}
    )
    assert response.status_code == 400
    client.post(
        f"/admin/reviews/listings/{listing.id}",
        data={"decision": "reject", "reason": "请补充主要技术指标"},
    )
    client.post("/account/signout")
    login(lab_manager)
    page = client.get(f"/lab/listings/{listing.id}").get_data(as_text=True)
    assert "请补充主要技术指标" in page


def test_change_to_published_listing_waits_for_review(
    client, db, lab, lab_manager, login, make_listing, platform_admin
):
    listing = make_listing(lab, name="原名称")
    login(lab_manager)
    data = dict(EQUIPMENT, name="新名称", price_external="999")
    assert client.post(f"/lab/listings/{listing.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    listing = db.session.get(Listing, listing.id)
    assert listing.name == "原名称" and listing.price_external == 50000
    revision = db.session.scalar(sa.select(ListingRevision))
    assert revision.status == "pending"
    client.post("/account/signout")
    login(platform_admin)
    page = client.get(f"/admin/reviews/revisions/{revision.id}").get_data(as_text=True)
    assert "新名称" in page
    client.post(f"/admin/reviews/revisions/{revision.id}", data={"decision": "approve"})
    db.session.expire_all()
    listing = db.session.get(Listing, listing.id)
    assert listing.name == "新名称" and listing.price_external == 99900
    assert "新名称" in listing.search_text and "原名称" not in listing.search_text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price_external": "-1"}, "cannot be negative"),
        ({"category_code": "999999"}, "Unknown instrument category code"),
        ({"category_code": "12ab"}, "Six digits"),
        ({"category_code": ""}, "category code"),
        ({"name": ""}, "This field is required"),
        ({"description": "很" * 20_001}, "20000"),
        ({"slot_minutes": "7"}, "divide a day"),
        ({"min_minutes": "90", "max_minutes": "60"}, "whole slots"),
        ({"cancel_fee_percent": "150"}, "100"),
        ({"tax_code": "304010500000000000"}, "has 19 digits"),
        ({"tax_code": "30401050000000000AB"}, "has 19 digits"),
    ],
)
def test_bad_listing_input_is_refused_and_changes_nothing(
    client, db, lab, lab_manager, login, changes, message
):
    login(lab_manager)
    response = create(client, dict(EQUIPMENT, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Listing.id))) == 0


def test_suspended_or_pending_lab_cannot_publish(client, db, lab, lab_manager, login, make_listing):
    listing = make_listing(lab, status=ListingStatus.DRAFT)
    for status in (OrgStatus.PENDING, OrgStatus.SUSPENDED):
        lab.status = status
        db.session.commit()
        login(lab_manager)
        response = client.post(f"/lab/listings/{listing.id}/submit")
        assert response.status_code == 409  # the listing's page, with the reason
        assert "must be admitted" in response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Listing, listing.id).status == ListingStatus.DRAFT
        client.post("/account/signout")


def test_listings_of_a_suspended_lab_leave_the_catalogue(client, db, lab, make_listing):
    listing = make_listing(lab)
    assert client.get(f"/catalog/{listing.id}").status_code == 200
    lab.status = OrgStatus.SUSPENDED
    db.session.commit()
    assert client.get(f"/catalog/{listing.id}").status_code == 404


def test_opening_hours_validation(client, db, lab, lab_manager, login, make_listing):
    listing = make_listing(lab)
    login(lab_manager)
    days = {f"day{d}": "" for d in range(7)}
    response = client.post(
        f"/lab/listings/{listing.id}/hours", data={**days, "day0": "08:00-12:00, 11:00-13:00"}
    )
    assert response.status_code == 400 and "must not overlap" in response.get_data(as_text=True)
    response = client.post(f"/lab/listings/{listing.id}/hours", data={**days, "day1": "9-5"})
    assert response.status_code == 400 and "08:30-12:00" in response.get_data(as_text=True)
    response = client.post(
        f"/lab/listings/{listing.id}/hours", data={**days, "day2": "17:00-09:00"}
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert len(db.session.get(Listing, listing.id).opening_hours) == 10
    client.post(
        f"/lab/listings/{listing.id}/hours",
        data={**days, "day5": "09:00-12:00", "day6": "00:00-24:00"},
    )
    db.session.expire_all()
    hours = [
        (i.weekday, i.start_minute, i.end_minute)
        for i in db.session.get(Listing, listing.id).opening_hours
    ]
    assert hours == [(5, 540, 720), (6, 0, 1440)]


def test_units_and_outages(client, db, lab, lab_manager, login, make_listing):
    listing = make_listing(lab)
    login(lab_manager)
    client.post(f"/lab/listings/{listing.id}/units", data={"name": "#2", "serial_number": "SN9"})
    db.session.expire_all()
    unit = db.session.scalar(sa.select(Unit).where(Unit.name == "#2"))
    data = {
        "unit_id": unit.id,
        "kind": "breakdown",
        "starts": "2026-12-01T09:00",
        "ends": "2026-12-01T08:00",
        "note": "激光器故障",
    }
    assert client.post(f"/lab/listings/{listing.id}/outages", data=data).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Outage.id))) == 0
    client.post(f"/lab/listings/{listing.id}/outages", data=dict(data, ends="2026-12-03T17:00"))
    outage = db.session.scalar(sa.select(Outage))
    assert outage.starts_dt.isoformat() == "2026-12-01T01:00:00+00:00"  # 09:00 in Shanghai


def test_photo_upload_makes_a_thumbnail_and_refuses_fakes(
    client, db, lab, lab_manager, login, make_listing, storage_dir
):
    listing = make_listing(lab)
    login(lab_manager)
    client.post(
        f"/lab/listings/{listing.id}/files",
        content_type="multipart/form-data",
        data={"role": "photo", "file": (io.BytesIO(png_bytes()), "sem.png")},
    )
    db.session.expire_all()
    photo = db.session.get(Listing, listing.id).photos[0]
    assert (storage_dir / photo.thumb_name).exists()
    response = client.get(f"/catalog/files/{photo.id}/thumb")
    assert response.headers["Content-Type"] == "image/webp"
    response.close()
    for payload, name in ((pdf_bytes(), "fake.png"), (b"<svg onload=alert(1)>", "x.svg")):
        response = client.post(
            f"/lab/listings/{listing.id}/files",
            content_type="multipart/form-data",
            follow_redirects=True,
            data={"role": "photo", "file": (io.BytesIO(payload), name)},
        )
        assert "JPEG, PNG" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Listing, listing.id).files) == 1


def test_another_labs_manager_cannot_touch_drafts_or_listings(
    client, db, lab, make_org, make_user, login, make_listing
):
    listing = make_listing(lab, status=ListingStatus.DRAFT, name="别人的草稿")
    unit = listing.units[0]
    other_lab = make_org(kind=OrgKind.LAB)
    login(make_user(other_lab, role=Role.MANAGER))
    days = {f"day{d}": "" for d in range(7)}
    routes = [
        ("get", f"/catalog/{listing.id}", None),
        ("get", f"/lab/listings/{listing.id}", None),
        ("get", f"/lab/listings/{listing.id}/edit", None),
        ("post", f"/lab/listings/{listing.id}/edit", EQUIPMENT),
        ("post", f"/lab/listings/{listing.id}/submit", {}),
        ("post", f"/lab/listings/{listing.id}/withdraw", {}),
        ("post", f"/lab/listings/{listing.id}/units", {"name": "#9"}),
        ("post", f"/lab/units/{unit.id}/toggle", {}),
        ("post", f"/lab/listings/{listing.id}/hours", days),
        (
            "post",
            f"/lab/listings/{listing.id}/outages",
            {
                "unit_id": unit.id,
                "kind": "maintenance",
                "starts": "2026-12-01T09:00",
                "ends": "2026-12-01T10:00",
            },
        ),
        (
            "post",
            f"/lab/listings/{listing.id}/files",
            {"role": "photo", "file": (io.BytesIO(png_bytes()), "x.png")},
        ),
    ]
    for method, path, data in routes:
        response = getattr(client, method)(path, data=data)
        assert response.status_code == 404, (path, response.status_code)
    db.session.expire_all()
    listing = db.session.get(Listing, listing.id)
    assert listing.status == ListingStatus.DRAFT and listing.name == "别人的草稿"
    assert len(listing.units) == 1 and listing.units[0].is_active and not listing.files
    assert len(listing.opening_hours) == 10


def test_published_listing_of_another_lab_cannot_be_withdrawn(
    client, db, lab, make_org, make_user, login, make_listing
):
    listing = make_listing(lab)
    login(make_user(make_org(kind=OrgKind.LAB), role=Role.OWNER))
    assert client.post(f"/lab/listings/{listing.id}/withdraw").status_code == 404
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == ListingStatus.PUBLISHED


def test_members_and_enterprises_cannot_manage(
    client, db, lab, make_user, make_org, login, make_listing
):
    listing = make_listing(lab)
    login(make_user(lab, role=Role.MEMBER))
    assert client.get("/lab/listings").status_code == 403
    assert client.post(f"/lab/listings/{listing.id}/withdraw").status_code == 404
    client.post("/account/signout")
    login(make_user(make_org()))
    assert client.get("/lab/listings/new").status_code == 403


def test_only_admins_review(client, db, lab, lab_manager, login, make_listing):
    listing = make_listing(lab, status=ListingStatus.PENDING)
    login(lab_manager)
    response = client.post(f"/admin/reviews/listings/{listing.id}", data={"decision": "approve"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == ListingStatus.PENDING


def test_dataset_sample_upload_is_checked(client, db, lab, lab_manager, login, make_listing):
    from sharehub.catalog.models import ListingKind

    listing = make_listing(lab, kind=ListingKind.DATASET, category_code="070101")
    login(lab_manager)
    ok = "样品编号,元素,含量\nS1,Fe,12.5\n".encode()
    client.post(
        f"/lab/listings/{listing.id}/files",
        content_type="multipart/form-data",
        data={"role": "sample", "file": (io.BytesIO(ok), "sample.csv")},
    )
    response = client.post(
        f"/lab/listings/{listing.id}/files",
        content_type="multipart/form-data",
        follow_redirects=True,
        data={"role": "sample", "file": (io.BytesIO(b"\xff\xfe\x00bin"), "x.csv")},
    )
    assert "UTF-8" in response.get_data(as_text=True)
    db.session.expire_all()
    files = db.session.get(Listing, listing.id).files
    assert [(f.role, f.content_type) for f in files] == [("sample", "text/csv")]
    client.post("/account/signout")
    response = client.get(f"/catalog/files/{files[0].id}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    response.close()


def test_admin_edits_the_holiday_calendar(client, db, platform_admin, login):
    from sharehub.catalog.models import Holiday
    from sharehub.core.models import AuditEntry

    login(platform_admin)
    html = client.get("/admin/holidays?year=2026").get_data(as_text=True)
    assert "2026-10-01" in html and "2026-09-20" in html  # National Day; make-up Sunday
    client.post("/admin/holidays", data={"day": "2028-01-01", "name": "元旦", "action": "off"})
    client.post("/admin/holidays", data={"day": "2028-01-08", "name": "", "action": "workday"})
    assert (
        client.post(
            "/admin/holidays", data={"day": "nonsense", "action": "off"}, follow_redirects=True
        ).status_code
        == 200
    )
    from datetime import date

    assert db.session.get(Holiday, date(2028, 1, 1)).is_workday is False
    assert db.session.get(Holiday, date(2028, 1, 8)).is_workday is True
    client.post("/admin/holidays", data={"day": "2028-01-08", "action": "delete"})
    assert db.session.get(Holiday, date(2028, 1, 8)) is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action.startswith("holiday."))
        )
        == 3
    )


def test_the_listing_keeps_its_tax_classification_code(client, db, lab, lab_manager, login):
    """The 税收分类编码 its fapiao lines carry: the default of the kind when left blank,
    the lab's own when typed (spaces dropped), shown again on the edit page."""
    login(lab_manager)
    page = client.get("/lab/listings/new?kind=equipment").get_data(as_text=True)
    assert "3040101000000000000" in page
    assert create(client).status_code == 302
    listing = db.session.scalar(sa.select(Listing))
    assert listing.tax_code == "" and listing.fapiao_tax_code == "3040101000000000000"
    data = dict(EQUIPMENT, tax_code="3040105000 000000000")
    assert client.post(f"/lab/listings/{listing.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert listing.tax_code == listing.fapiao_tax_code == "3040105000000000000"
    page = client.get(f"/lab/listings/{listing.id}/edit").get_data(as_text=True)
    assert 'value="3040105000000000000"' in page
