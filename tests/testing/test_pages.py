"""Commissioned testing through HTTP: the customer's request, the lab's quote and
receipt, the label sheet, and refusals that keep nothing."""

from datetime import timedelta
from io import BytesIO

import pytest
import time_machine

from sharehub.testing.models import (
    RequestStatus,
    Sample,
    SampleEvent,
    SampleStatus,
    TestingRequest,
)
from tests.support import clock
from tests.support.files import pdf_bytes, png_bytes


@pytest.fixture
def salt(lab, make_service):
    return make_service(lab, expedited_days=5, expedited_surcharge_percent=50)


def _request_form(service, **extra):
    data = {
        "service_id": str(service.id),
        "report_language": "bilingual",
        "report_addressee": "苏州精密材料有限公司",
        "sample-0-name": "镀锌板",
        "sample-0-model_batch": "ZN-2026-01",
        "sample-0-quantity": "3",
        "sample-0-after_test": "return",
        "sample-1-name": "",
        "sample-1-quantity": "1",
    }
    data.update(extra)
    return data


def test_search_shows_services_with_their_marks(client, lab, salt, make_certificate):
    from sharehub.testing.models import AccreditationKind

    make_certificate(lab, AccreditationKind.CNAS)
    page = client.get("/testing?q=GB/T+10125&accr=cnas").get_data(as_text=True)
    assert "中性盐雾试验" in page and "CNAS" in page
    page = client.get("/testing?days=abc").get_data(as_text=True)
    assert "whole number" in page or "整数" in page


def test_a_draft_service_is_not_found_for_others(client, lab, make_service):
    from sharehub.catalog.models import ListingStatus

    draft = make_service(lab, status=ListingStatus.DRAFT)
    assert client.get(f"/testing/services/{draft.id}").status_code == 404


def test_a_customer_requests_accepts_and_ships(db, client, login, salt, firm, firm_user):
    login(firm_user)
    response = client.post(f"/testing/services/{salt.id}/request", data=_request_form(salt))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    req = db.session.query(TestingRequest).one()
    assert req.status == RequestStatus.QUOTED
    assert [s.name for s in req.samples] == ["镀锌板"] and req.samples[0].quantity == 3
    page = client.get(f"/orders/{req.id}").get_data(as_text=True)
    assert "¥800.00" in page or "800.00" in page
    quote = req.open_quote
    assert client.post(f"/orders/{req.id}/accept", data={"quote_id": quote.id}).status_code == 302
    assert req.status == RequestStatus.ACCEPTED and req.total_fen == 80000
    bad = client.post(
        f"/orders/{req.id}/ship",
        data={"delivery": "courier", "courier": "sf", "tracking_number": "SF12"},
    )
    assert bad.status_code == 400
    assert "SF followed by 12 to 15 digits" in bad.get_data(as_text=True)
    assert req.status == RequestStatus.ACCEPTED and db.session.query(SampleEvent).count() == 0
    good = client.post(
        f"/orders/{req.id}/ship",
        data={"delivery": "courier", "courier": "sf", "tracking_number": "SF1234567890123"},
    )
    assert good.status_code == 302
    assert req.status == RequestStatus.SAMPLES_IN_TRANSIT and req.tracking_number
    assert "SF1234567890123" in client.get(f"/orders/{req.id}").get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["three", "-1", "1.5", "0"])
def test_a_non_numeric_quantity_stores_nothing(db, client, login, salt, firm_user, quantity):
    login(firm_user)
    response = client.post(
        f"/testing/services/{salt.id}/request",
        data=_request_form(salt, **{"sample-0-quantity": quantity}),
    )
    assert response.status_code == 400
    assert "quantity of a sample is a whole number" in response.get_data(as_text=True)
    assert db.session.query(TestingRequest).count() == 0


def test_an_oversize_or_foreign_attachment_stores_nothing(
    db, client, login, salt, firm_user, monkeypatch
):
    from sharehub.testing.views import enterprise

    login(firm_user)
    data = _request_form(salt)
    data["attachments"] = (BytesIO(b"MZ\x90\x00 not a document"), "virus.exe")
    response = client.post(
        f"/testing/services/{salt.id}/request", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "not a PDF, JPEG, PNG or WebP" in response.get_data(as_text=True)
    monkeypatch.setattr(enterprise, "MAX_ATTACHMENT_BYTES", 10)
    data = _request_form(salt)
    data["attachments"] = (BytesIO(pdf_bytes()), "spec.pdf")
    response = client.post(
        f"/testing/services/{salt.id}/request", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "larger than" in response.get_data(as_text=True)
    assert db.session.query(TestingRequest).count() == 0


def test_a_quote_accepted_after_its_validity_is_refused(
    db, client, login, salt, firm, firm_user, make_request
):
    req = make_request(firm_user, firm, [salt], state="quoted")
    last_day = req.open_quote.valid_until
    login(firm_user)
    with time_machine.travel(clock.at(last_day + timedelta(days=1), 9)):
        response = client.post(f"/orders/{req.id}/accept", data={"quote_id": req.open_quote.id})
        assert response.status_code == 409
        assert "can no longer be accepted" in response.get_data(as_text=True)
        db.session.expire_all()
        assert req.status == RequestStatus.QUOTED and req.total_fen is None
        # Opening the order page records the lapse.
        client.get(f"/orders/{req.id}")
        db.session.expire_all()
        assert req.status == RequestStatus.LAPSED


def test_the_lab_quotes_receives_and_prints_labels(
    db, client, login, lab, lab_manager, make_service, firm, firm_user, make_request
):
    service = make_service(lab, quote_required=True)
    req = make_request(firm_user, firm, [service], state="quoted")
    assert req.status == RequestStatus.SUBMITTED
    login(lab_manager)
    assert "中性盐雾试验" in client.get(f"/orders/{req.id}/quote").get_data(as_text=True)
    response = client.post(
        f"/orders/{req.id}/quote",
        data={
            "line-0-description": "盐雾 480 h",
            "line-0-quantity": "2",
            "line-0-price": "1500.50",
            "line-1-description": "",
            "valid_until": (clock.today() + timedelta(days=10)).isoformat(),
            "turnaround_days": "20",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert req.status == RequestStatus.QUOTED and req.open_quote.total_fen == 300100
    client.post("/account/signout")
    login(firm_user)
    client.post(f"/orders/{req.id}/accept", data={"quote_id": req.open_quote.id})
    client.post(f"/orders/{req.id}/ship", data={"delivery": "drop_off"})
    client.post("/account/signout")
    login(lab_manager)
    first, second = req.samples
    refused_without_reason = client.post(
        f"/orders/{req.id}/receive",
        data={f"s{first.id}-decision": "accept", f"s{second.id}-decision": "refuse"},
    )
    assert refused_without_reason.status_code == 400
    assert "reason for refusing" in refused_without_reason.get_data(as_text=True)
    assert first.status == SampleStatus.EXPECTED and first.code is None
    wrong_photo = client.post(
        f"/orders/{req.id}/receive",
        data={
            f"s{first.id}-decision": "accept",
            f"s{first.id}-photo": (BytesIO(pdf_bytes()), "photo.pdf"),
            f"s{second.id}-decision": "accept",
        },
        content_type="multipart/form-data",
    )
    assert wrong_photo.status_code == 400
    assert "JPEG, PNG or WebP image" in wrong_photo.get_data(as_text=True)
    response = client.post(
        f"/orders/{req.id}/receive",
        data={
            f"s{first.id}-decision": "accept",
            f"s{first.id}-place": "样品间 A-3",
            f"s{first.id}-photo": (BytesIO(png_bytes()), "photo.png"),
            f"s{second.id}-decision": "refuse",
            f"s{second.id}-reason": "包装破损",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert req.status == RequestStatus.RECEIVED and first.code and second.code is None
    page = client.get(f"/orders/{req.id}").get_data(as_text=True)
    assert first.code in page and "包装破损" in page and "样品间 A-3" in page
    pdf = client.get(f"/orders/{req.id}/labels.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    photo = first.photos[0]
    shown = client.get(f"/orders/{req.id}/samples/{first.id}/photos/{photo.id}")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    shown.close()


def test_label_qr_codes_hold_the_sample_id():
    from sharehub.testing.labels import qr_data_uri

    uri = qr_data_uri("S0001-2026-00001")
    assert uri.startswith("data:image/svg+xml")


@pytest.fixture
def other_lab_manager(make_org, make_user):
    from sharehub.accounts.models import OrgKind, Role

    return make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER)


@pytest.fixture
def other_firm_user(make_org, make_user):
    return make_user(make_org())


@pytest.fixture
def regulator(make_org, make_user):
    from sharehub.accounts.models import OrgKind

    return make_user(make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局"))


ORDER_POSTS = [
    ("accept", {}),
    ("cancel", {"reason": "x"}),
    ("ship", {"delivery": "drop_off"}),
    ("quote", {"line-0-description": "x", "line-0-quantity": "1", "line-0-price": "1"}),
    ("refuse", {"reason": "x"}),
    ("receive", {}),
]


@pytest.mark.parametrize("who", ["anonymous", "other_lab", "other_firm", "regulator"])
def test_strangers_cannot_touch_an_order(
    db,
    client,
    login,
    lab,
    lab_manager,
    salt,
    firm,
    firm_user,
    make_request,
    other_lab_manager,
    other_firm_user,
    regulator,
    who,
):
    req = make_request(firm_user, firm, [salt], state="quoted")
    user = {"other_lab": other_lab_manager, "other_firm": other_firm_user, "regulator": regulator}
    if who != "anonymous":
        login(user[who])
    page = client.get(f"/orders/{req.id}")
    if who == "anonymous":
        assert page.status_code == 302 and "/account/signin" in page.location
    elif who == "regulator":
        assert page.status_code == 200  # overseeing regulators read, read only
        assert 'id="accept-quote"' not in page.get_data(as_text=True)
    else:
        assert page.status_code == 404
    for action, data in ORDER_POSTS:
        response = client.post(f"/orders/{req.id}/{action}", data=data)
        assert response.status_code in (302, 403, 404) if who == "anonymous" else (403, 404), (
            action,
            response.status_code,
        )
        if who == "anonymous":
            assert response.status_code == 302 and "/account/signin" in response.location
    for path in (
        f"/orders/{req.id}/quote",
        f"/orders/{req.id}/receive",
        f"/orders/{req.id}/labels.pdf",
    ):
        assert client.get(path).status_code in ((302,) if who == "anonymous" else (403, 404))
    db.session.expire_all()
    assert req.status == RequestStatus.QUOTED and req.total_fen is None
    assert db.session.query(SampleEvent).count() == 0
    assert db.session.query(Sample).filter(Sample.code.is_not(None)).count() == 0


@pytest.mark.parametrize("who", ["anonymous", "other_lab", "firm", "regulator"])
def test_strangers_cannot_touch_a_labs_services_and_certificates(
    db, client, login, lab, salt, firm_user, other_lab_manager, regulator, who
):
    user = {"other_lab": other_lab_manager, "firm": firm_user, "regulator": regulator}
    if who != "anonymous":
        login(user[who])
    expected = (302,) if who == "anonymous" else (403, 404)
    for path in ("/testing/lab/services", "/testing/lab/requests", "/testing/lab/certificates"):
        response = client.get(path)
        if who == "other_lab":  # their own lab's pages, without this lab's service
            assert response.status_code == 200 and "中性盐雾试验" not in response.get_data(True)
        else:
            assert response.status_code in expected, path
    assert client.get(f"/testing/lab/services/{salt.id}/edit").status_code in expected
    for path in (
        f"/testing/lab/services/{salt.id}/withdraw",
        f"/testing/lab/services/{salt.id}/edit",
    ):
        assert client.post(path, data={"name": "改名"}).status_code in expected, path
    db.session.expire_all()
    assert salt.is_published and salt.name == "中性盐雾试验"


def test_the_lab_writes_a_service_and_the_administrator_publishes_it(
    db, client, login, lab, lab_manager, platform_admin
):
    from sharehub.testing.models import TestingService

    login(lab_manager)
    data = {
        "name": "锂离子电池安全试验",
        "standard_code": "GB 31241-2022",
        "field": "energy_electronics",
        "sample_quantity": "5",
        "standard_days": "15",
        "price_basis": "sample",
        "price_external": "abc",
        "price_internal": "3000",
        "parameters": "过充电 | | 不起火、不爆炸\n短路 | |",
    }
    bad = client.post("/testing/lab/services/new", data=data)
    assert bad.status_code == 400 and "yuan" in bad.get_data(as_text=True)
    assert db.session.query(TestingService).count() == 0
    data["price_external"] = "4500"
    assert client.post("/testing/lab/services/new", data=data).status_code == 302
    service = db.session.query(TestingService).one()
    assert service.price_external == 450000 and len(service.parameters) == 2
    client.post(f"/testing/lab/services/{service.id}/submit")
    client.post("/account/signout")
    login(platform_admin)
    assert "GB 31241-2022" in client.get("/admin/reviews").get_data(as_text=True)
    response = client.post(
        f"/admin/reviews/testing-services/{service.id}", data={"decision": "approve"}
    )
    assert response.status_code == 302
    assert service.is_published


def test_certificates_take_a_pdf_only(db, client, login, lab, lab_manager, storage_dir):
    from sharehub.testing.models import AccreditationCertificate

    login(lab_manager)
    data = {
        "kind": "cma",
        "number": "231012340567",
        "issued_date": "2024-01-01",
        "valid_until": "2029-12-31",
        "scope": "GB/T 10125-2021\nGB/T 228.1-2021 | 抗拉强度",
    }
    wrong = client.post(
        "/testing/lab/certificates",
        data={**data, "document": (BytesIO(png_bytes()), "cert.png")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and "as a PDF" in wrong.get_data(as_text=True)
    assert db.session.query(AccreditationCertificate).count() == 0
    bad_dates = client.post("/testing/lab/certificates", data={**data, "valid_until": "2023-01-01"})
    assert bad_dates.status_code == 400
    ok = client.post(
        "/testing/lab/certificates",
        data={**data, "document": (BytesIO(pdf_bytes()), "cert.pdf")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    certificate = db.session.query(AccreditationCertificate).one()
    assert [(e.standard_number, e.parameter) for e in certificate.scope] == [
        ("GBT10125", ""),
        ("GBT2281", "抗拉强度"),
    ]
    document = certificate.documents[0]
    got = client.get(f"/testing/certificates/{certificate.id}/documents/{document.id}")
    assert got.status_code == 200 and got.data.startswith(b"%PDF")
    got.close()


def test_pages_in_chinese(db, client, login, salt, firm, firm_user, make_request):
    req = make_request(firm_user, firm, [salt], state="quoted")
    firm_user.locale = "zh_CN"
    db.session.commit()
    login(firm_user)
    page = client.get(f"/orders/{req.id}").get_data(as_text=True)
    assert "保管链" in page and "接受报价并下单" in page
    assert "检测服务" in client.get("/testing").get_data(as_text=True)


def test_the_edit_form_shows_prices_in_yuan_and_keeps_them(
    db, client, login, lab, lab_manager, salt, make_listing
):
    unit = make_listing(lab).units[0]
    login(lab_manager)
    page = client.get(f"/testing/lab/services/{salt.id}/edit").get_data(as_text=True)
    assert 'value="800.00"' in page and f'value="{unit.id}"' in page
    data = {
        "name": salt.name,
        "standard_code": salt.standard_code,
        "field": salt.field.value,
        "sample_quantity": "1",
        "standard_days": "10",
        "price_basis": "sample",
        "price_external": "800.00",
        "price_internal": "500.00",
        "parameters": "外观评级",
        "unit_ids": [str(unit.id)],
    }
    assert client.post(f"/testing/lab/services/{salt.id}/edit", data=data).status_code == 302
    assert salt.price_external == 80000 and salt.units == [unit]
    assert salt.status.value == "pending"  # a published service's change goes to review


def test_a_service_names_the_tax_code_spec_and_unit_of_its_fapiao_lines(
    db, client, login, lab, lab_manager
):
    """Left blank: 检验检测 under 专业技术服务, the standard, the unit of the price basis.
    A code that is not 19 digits is refused with a message and stores nothing."""
    from sharehub.testing.models import TESTING_TAX_CODE, TestingService

    login(lab_manager)
    data = {
        "name": "邵氏硬度",
        "standard_code": "GB/T 531.1-2008",
        "field": "new_materials",
        "sample_quantity": "1",
        "standard_days": "5",
        "price_basis": "parameter",
        "price_external": "200",
        "price_internal": "100",
        "tax_code": "30401050",
    }
    bad = client.post("/testing/lab/services/new", data=data)
    assert bad.status_code == 400 and "has 19 digits" in bad.get_data(as_text=True)
    assert db.session.query(TestingService).count() == 0
    data["tax_code"] = ""
    assert client.post("/testing/lab/services/new", data=data).status_code == 302
    service = db.session.query(TestingService).one()
    assert service.fapiao_fields() == {
        "tax_code": TESTING_TAX_CODE,
        "spec": "GB/T 531.1-2008",
        "unit": "项",
    }
    page = client.get(f"/testing/lab/services/{service.id}/edit").get_data(as_text=True)
    assert TESTING_TAX_CODE in page
    data |= {"tax_code": "3040105000000000000", "line_spec": "邵氏A型", "line_unit": "点"}
    edit = client.post(f"/testing/lab/services/{service.id}/edit", data=data)
    assert edit.status_code == 302
    db.session.expire_all()
    assert service.fapiao_fields() == {
        "tax_code": "3040105000000000000",
        "spec": "邵氏A型",
        "unit": "点",
    }
