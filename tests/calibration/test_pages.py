"""The calibration pages through HTTP: the lab records certificates, plans calibrations and
chooses block or flag; customers see the status and metadata, and the PDF only once they
have booked the listing. Another lab's staff, another enterprise, anonymous visitors and a
regulator are refused, and nothing changes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking.models import BookingStatus
from sharehub.calibration import queries, services
from sharehub.calibration.models import (
    CalibrationPolicy,
    Certificate,
    CertificateKind,
    CertificateResult,
)
from sharehub.calibration.services import CertificateData
from sharehub.catalog.models import Outage
from tests.support import clock
from tests.support.clock import at, workday
from tests.support.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def listing(lab, make_listing):
    return make_listing(lab, approval_required=False)


@pytest.fixture
def certificate(db, listing, lab_manager):
    today = clock.today()
    made = services.record_certificate(
        lab_manager,
        listing.units[0],
        CertificateData(
            kind=CertificateKind.CALIBRATION,
            issuing_body="中国计量科学研究院",
            number="JLJ-2026-0417",
            issued_date=today - timedelta(days=340),
            due_date=today + timedelta(days=20),
            result=CertificateResult.PASS,
        ),
        pdf_bytes(),
        "校准证书.pdf",
    )
    db.session.commit()
    return made


@pytest.fixture
def outsiders(make_org, make_user):
    """Another lab's manager, another enterprise's owner, a regulator."""
    other_lab = make_user(make_org(kind=OrgKind.LAB, name="别的实验室"), role=Role.MANAGER)
    firm = make_user(make_org(name="另一家企业", name_en="Other Firm"))
    regulator = make_user(make_org(kind=OrgKind.AUTHORITY, name="某市市场监督管理局"))
    return {"other_lab": other_lab, "other_firm": firm, "regulator": regulator}


def form(issued, due, number="JLJ-2026-0999", content=None, **extra):
    return {
        "kind": "verification",
        "issuing_body": "苏州市计量测试院",
        "number": number,
        "issued_date": issued.isoformat(),
        "due_date": due.isoformat(),
        "result": "pass",
        "pdf": (io.BytesIO(content if content is not None else pdf_bytes()), "cert.pdf"),
        **extra,
    }


def certificates(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Certificate.id)))


def test_the_lab_records_a_certificate_and_sees_the_status(client, db, login, lab_manager, listing):
    today = clock.today()
    unit = listing.units[0]
    login(lab_manager)
    answer = client.post(
        f"/lab/units/{unit.id}/certificates",
        data=form(today - timedelta(days=400), today - timedelta(days=2)),
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    assert certificates(db) == 1
    page = client.get(f"/lab/units/{unit.id}/calibration").get_data(as_text=True)
    assert 'data-status="overdue"' in page and "JLJ-2026-0999" in page
    manage = client.get(f"/lab/listings/{listing.id}").get_data(as_text=True)
    assert f"/lab/units/{unit.id}/calibration" in manage and 'data-status="overdue"' in manage


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"due": -1}, "before it was issued"),
        ({"content": png_bytes()}, "must be a PDF"),
        ({"content": b"hello"}, "not a PDF"),
        ({"issued_text": "2026-13-45"}, ""),
    ],
)
def test_bad_certificates_get_a_message_and_400_and_store_nothing(
    client, db, login, lab_manager, listing, change, message
):
    today = clock.today()
    issued = today - timedelta(days=10)
    data = form(
        issued, issued + timedelta(days=change.get("due", 365)), content=change.get("content")
    )
    if "issued_text" in change:
        data["issued_date"] = change["issued_text"]
    login(lab_manager)
    answer = client.post(f"/lab/units/{listing.units[0].id}/certificates", data=data)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert certificates(db) == 0


def test_customers_see_the_metadata_and_download_the_pdf_only_once_they_booked(
    client, db, login, listing, certificate, make_org, make_user, make_booking
):
    customer_org = make_org(name="客户企业", name_en="Customer Co")
    customer = make_user(customer_org)
    login(customer)
    page = client.get(f"/catalog/{listing.id}").get_data(as_text=True)
    assert "JLJ-2026-0417" in page and "中国计量科学研究院" in page
    assert 'data-status="due_soon"' in page
    pdf_link = f"/certificates/{certificate.id}.pdf"
    assert pdf_link not in page
    refused = client.get(pdf_link)
    assert refused.status_code == 403
    assert "once your organisation has booked" in refused.get_data(as_text=True)

    day = workday()
    make_booking(
        listing.units[0],
        customer_org,
        f"{day} 08:30",
        f"{day} 10:30",
        status=BookingStatus.CONFIRMED,
    )
    assert pdf_link in client.get(f"/catalog/{listing.id}").get_data(as_text=True)
    answer = client.get(pdf_link)
    assert answer.status_code == 200
    assert answer.data == pdf_bytes() and answer.mimetype == "application/pdf"
    answer.close()


def test_a_declined_booking_gives_no_right_to_the_pdf(
    client, db, login, listing, certificate, make_org, make_user, make_booking
):
    customer_org = make_org(name="被拒企业")
    customer = make_user(customer_org)
    day = workday()
    make_booking(
        listing.units[0],
        customer_org,
        f"{day} 08:30",
        f"{day} 10:30",
        status=BookingStatus.DECLINED,
    )
    login(customer)
    assert client.get(f"/certificates/{certificate.id}.pdf").status_code == 403


def test_anonymous_visitors_see_the_status_but_never_the_pdf(client, db, listing, certificate):
    page = client.get(f"/catalog/{listing.id}").get_data(as_text=True)
    assert 'data-status="due_soon"' in page
    answer = client.get(f"/certificates/{certificate.id}.pdf")
    assert answer.status_code == 302 and "/account/signin" in answer.location
    assert answer.data != pdf_bytes()


@pytest.mark.parametrize("who", ["other_lab", "other_firm", "regulator"])
def test_outsiders_cannot_record_plan_choose_or_download(
    client, db, login, listing, certificate, outsiders, who
):
    today = clock.today()
    unit = listing.units[0]
    login(outsiders[who])
    assert client.get(f"/certificates/{certificate.id}.pdf").status_code == 403
    assert client.get(f"/lab/units/{unit.id}/calibration").status_code == 404
    posted = client.post(
        f"/lab/units/{unit.id}/certificates", data=form(today, today + timedelta(days=300))
    )
    assert posted.status_code == 404
    day = workday()
    planned = client.post(
        f"/lab/certificates/{certificate.id}/plan",
        data={"starts": f"{day} 08:00", "ends": f"{day} 18:00"},
    )
    assert planned.status_code == 404
    chosen = client.post(f"/lab/listings/{listing.id}/calibration-policy", data={"policy": "block"})
    assert chosen.status_code == 404
    assert certificates(db) == 1
    assert db.session.scalar(sa.select(sa.func.count(Outage.id))) == 0
    assert db.session.get(CalibrationPolicy, listing.id) is None


def test_anonymous_posts_change_nothing(client, db, listing, certificate):
    today = clock.today()
    unit = listing.units[0]
    answer = client.post(
        f"/lab/units/{unit.id}/certificates", data=form(today, today + timedelta(days=300))
    )
    assert answer.status_code == 302 and "/account/signin" in answer.location
    assert (
        client.post(
            f"/lab/listings/{listing.id}/calibration-policy", data={"policy": "block"}
        ).status_code
        == 302
    )
    assert certificates(db) == 1
    assert db.session.get(CalibrationPolicy, listing.id) is None


def test_a_lab_member_who_is_not_a_manager_sees_but_does_not_record(
    client, db, login, lab, listing, certificate, make_user
):
    member = make_user(lab, role=Role.MEMBER)
    login(member)
    unit = listing.units[0]
    page = client.get(f"/lab/units/{unit.id}/calibration").get_data(as_text=True)
    assert "JLJ-2026-0417" in page and 'id="certificate-form"' not in page
    answer = client.get(f"/certificates/{certificate.id}.pdf")
    assert answer.status_code == 200 and answer.data == pdf_bytes()
    answer.close()
    today = clock.today()
    posted = client.post(
        f"/lab/units/{unit.id}/certificates", data=form(today, today + timedelta(days=300))
    )
    assert posted.status_code == 403
    assert certificates(db) == 1


def test_the_lab_plans_a_calibration_and_chooses_to_block(
    client, db, login, lab_manager, listing, certificate
):
    login(lab_manager)
    day = workday()
    answer = client.post(
        f"/lab/certificates/{certificate.id}/plan",
        data={"starts": f"{day} 08:00", "ends": f"{day} 18:00", "note": "送检"},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:1500]
    outage = db.session.scalar(sa.select(Outage))
    assert outage.kind.value == "calibration" and outage.starts_dt == at(day, 8)
    bad = client.post(
        f"/lab/certificates/{certificate.id}/plan",
        data={"starts": f"{day} 18:00", "ends": f"{day} 08:00"},
    )
    assert bad.status_code == 400 and "ends after it starts" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Outage.id))) == 1
    chosen = client.post(f"/lab/listings/{listing.id}/calibration-policy", data={"policy": "block"})
    assert chosen.status_code == 302
    assert queries.blocks_unfit(listing)
