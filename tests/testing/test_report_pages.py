"""Report pages through HTTP: the lab enters results, three people sign, the manager
issues; the customer downloads from the order; the public verifies; who may not, may not."""

import io

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking.messages import ThreadMessage
from sharehub.core.models import AuditEntry
from sharehub.testing.report_models import Report, ReportResult, ReportStatus
from tests.support.files import pdf_bytes, png_bytes
from tests.support.reports import issued_report


def en_day(day):
    """A day as English pages and mail write it (Babel's medium date)."""
    return format_skeleton("yMMMd", day, locale="en")


EN = {"Accept-Language": "en"}


def _grid(order, rate="0.32"):
    sample = order.samples[0]
    service = order.items[0].service
    rate_param, look_param = service.parameters
    key = f"{sample.id}-{service.id}"
    return {
        f"value-{key}-{rate_param.id}": rate,
        f"verdict-{key}-{rate_param.id}": "pass",
        f"value-{key}-{look_param.id}": "无红锈",
        f"verdict-{key}-{look_param.id}": "pass",
        "conclusion": "所检项目符合标准要求。",
    }


def test_lab_writes_signs_and_issues_customer_downloads(
    client, db, order, signers, cma, login, mailbox
):
    preparer, reviewer, approver = signers
    login(preparer)
    response = client.post(f"/orders/{order.id}/reports")
    assert response.status_code == 302
    report = db.session.scalar(sa.select(Report))
    page = client.get(f"/reports/{report.id}", headers=EN).get_data(as_text=True)
    assert 'id="results-form"' in page
    assert client.post(f"/reports/{report.id}/results", data=_grid(order)).status_code == 302
    assert client.post(f"/reports/{report.id}/sign/prepared").status_code == 302
    # the preparer cannot review their own report
    twice = client.post(f"/reports/{report.id}/sign/reviewed", headers=EN)
    assert twice.status_code == 409
    assert "You have signed this report already" in twice.get_data(as_text=True)
    client.post("/account/signout")
    for person, role in ((reviewer, "reviewed"), (approver, "approved")):
        login(person)
        assert client.post(f"/reports/{report.id}/sign/{role}").status_code == 302
        client.post("/account/signout")
    login(approver)
    assert client.post(f"/reports/{report.id}/issue").status_code == 302
    db.session.expire_all()
    report = db.session.get(Report, report.id)
    assert report.status == ReportStatus.ISSUED and report.number
    client.post("/account/signout")

    login(order.created_by)
    assert report.number in mailbox.last_to(order.created_by.email)["Subject"]
    order_page = client.get(f"/orders/{order.id}", headers=EN).get_data(as_text=True)
    assert report.number in order_page and f"/reports/{report.id}/pdf" in order_page
    listing = client.get(f"/orders/{order.id}/reports", headers=EN).get_data(as_text=True)
    assert report.number in listing and f"/reports/{report.id}/pdf" in listing
    download = client.get(f"/reports/{report.id}/pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    download.close()
    page = client.get(f"/reports/{report.id}", headers=EN).get_data(as_text=True)
    assert report.verification_code in page and 'id="results-form"' not in page


def test_customer_sees_no_draft(client, db, order, signers, login):
    from sharehub.testing import reports

    report = reports.start_report(signers[0], order)
    db.session.commit()
    login(order.created_by)
    assert client.get(f"/reports/{report.id}").status_code == 404
    listing = client.get(f"/orders/{order.id}/reports").get_data(as_text=True)
    assert f"/reports/{report.id}" not in listing


def test_bad_grid_and_csv_rows_are_listed_and_nothing_is_stored(client, db, order, signers, login):
    from sharehub.testing import reports

    report = reports.start_report(signers[0], order)
    db.session.commit()
    login(signers[0])
    response = client.post(
        f"/reports/{report.id}/results", data=_grid(order, rate="abc"), headers=EN
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "abc is not a number" in html and 'value="abc"' in html  # typed value kept
    code = order.samples[0].code
    csv = (
        "sample,parameter,value,verdict\n"
        f"{code},腐蚀速率,0.3,pass\nNOPE,外观,无红锈,pass\n{code},外观,无红锈,perhaps\n"
    )
    response = client.post(
        f"/reports/{report.id}/import",
        data={"file": (io.BytesIO(csv.encode()), "results.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 3" in html and "Unknown sample: NOPE" in html
    assert "Line 4" in html and "not perhaps" in html
    assert db.session.scalar(sa.select(sa.func.count(ReportResult.id))) == 0
    good = f"sample,parameter,value,verdict\n{code},腐蚀速率,0.3,pass\n{code},外观,无红锈,合格\n"
    response = client.post(
        f"/reports/{report.id}/import",
        data={"file": (io.BytesIO(good.encode()), "results.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ReportResult.id))) == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png_bytes(), "The report must be a PDF file."),
        (b"%PDF-1.4\n" + b"0" * 3000, "incomplete or damaged"),
        (b"%PDF-1.4\n" + b"0" * 5000 + b"\n%%EOF\n", "larger than 4 KB"),
    ],
)
def test_an_uploaded_report_must_be_a_small_enough_pdf(
    client, db, order, signers, login, monkeypatch, data, expected
):
    from sharehub.testing import reports

    monkeypatch.setattr(reports, "MAX_REPORT_PDF_BYTES", 4096)
    report = reports.start_report(signers[0], order)
    db.session.commit()
    login(signers[0])
    response = client.post(
        f"/reports/{report.id}/upload",
        data={"file": (io.BytesIO(data), "report.pdf")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 400 and expected in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Report, report.id).documents == []


def test_an_uploaded_pdf_is_issued_as_it_is(client, db, order, signers, login):
    from sharehub.core.uploads import stored_path
    from sharehub.testing import reports
    from sharehub.testing.report_models import SIGN_ORDER

    report = reports.start_report(signers[0], order)
    db.session.commit()
    login(signers[0])
    client.post(
        f"/reports/{report.id}/upload",
        data={"file": (io.BytesIO(pdf_bytes()), "外部报告.pdf")},
        content_type="multipart/form-data",
    )
    for person, role in zip(signers, SIGN_ORDER, strict=True):
        reports.sign(person, report, role)
    reports.issue(signers[2], report)
    db.session.commit()
    assert stored_path(report.issued_pdf.stored_name).read_bytes() == pdf_bytes()


def test_amend_and_withdraw_through_the_pages(client, db, order, signers, login):
    report = issued_report(db, order, signers)
    login(signers[2])
    assert client.post(f"/reports/{report.id}/amend", data={"reason": ""}).status_code == 400
    response = client.post(f"/reports/{report.id}/amend", data={"reason": "样品型号更正"})
    assert response.status_code == 302
    draft = db.session.scalar(sa.select(Report).where(Report.supersedes_id == report.id))
    assert response.location.endswith(f"/reports/{draft.id}") and draft.version == 2
    response = client.post(f"/reports/{report.id}/withdraw", data={"reason": "委托撤销"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == ReportStatus.WITHDRAWN


def test_public_verification_shows_only_what_is_public(client, db, order, signers, cma):
    report = issued_report(db, order, signers)
    response = client.get(
        "/reports/verify",
        query_string={"no": report.number, "code": report.verification_code},
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="verified"' in html
    assert "Test Lab" in html and en_day(report.issue_date) in html
    assert "涂层钢板A" in html and "Pass" in html and "Valid" in html
    for secret in ("0.32", "委托企业", "Customer Co", order.created_by.email, "编制人"):
        assert secret not in html
    wrong = client.get(
        "/reports/verify", query_string={"no": report.number, "code": "AAAAAAAAAA"}, headers=EN
    )
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 404 and 'id="verified"' not in text
    assert "涂层钢板A" not in text and "Test Lab" not in text


def test_amended_report_points_to_its_successor(client, db, order, signers):
    from sharehub.testing import reports
    from sharehub.testing.report_models import SIGN_ORDER

    first = issued_report(db, order, signers)
    draft = reports.amend(signers[0], first, "更正")
    for person, role in zip(signers, SIGN_ORDER, strict=True):
        reports.sign(person, draft, role)
    reports.issue(signers[2], draft)
    db.session.commit()
    html = client.get(
        "/reports/verify",
        query_string={"no": first.number, "code": first.verification_code},
        headers=EN,
    ).get_data(as_text=True)
    assert "Amended" in html and f"replaced by {draft.number}" in html


@pytest.fixture
def real_limits(app, monkeypatch):
    from config import Config
    from sharehub.extensions import limiter

    monkeypatch.setitem(app.config, "SIGNIN_RATE_LIMIT", Config.SIGNIN_RATE_LIMIT)
    limiter.reset()
    yield
    limiter.reset()


def test_guessing_codes_is_rate_limited_as_sign_in_is(client, db, order, signers, real_limits):
    report = issued_report(db, order, signers)
    codes = [
        client.get(
            "/reports/verify", query_string={"no": report.number, "code": f"GUESS{n:05d}"}
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [404] * 10 and codes[10] == 429
    right = client.get(
        "/reports/verify", query_string={"no": report.number, "code": report.verification_code}
    )
    assert right.status_code == 429  # even the right code waits: guessing gains nothing


# --- who may not --------------------------------------------------------------------


@pytest.fixture
def outsiders(make_org, make_user):
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    authority = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")  # the lab's region
    return {
        "other lab staff": make_user(other_lab, role=Role.MANAGER),
        "other enterprise": make_user(make_org(name="别家企业")),
        "regulator": make_user(authority, role=Role.OWNER),
    }


WRITES = [
    ("post", "/orders/{order}/reports", {}),
    ("post", "/reports/{report}/results", {}),
    ("post", "/reports/{report}/sign/prepared", {}),
    ("post", "/reports/{report}/issue", {}),
    ("post", "/reports/{report}/amend", {"reason": "x"}),
    ("post", "/reports/{report}/withdraw", {"reason": "x"}),
]


@pytest.mark.parametrize("who", ["other lab staff", "other enterprise", "regulator", "anonymous"])
def test_outsiders_change_nothing(client, db, make_order, signers, login, outsiders, who):
    from sharehub.testing import reports

    order = make_order()
    issued = issued_report(db, order, signers)
    draft = reports.start_report(signers[0], make_order())
    db.session.commit()
    audit_before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    if who != "anonymous":
        login(outsiders[who])
    # reading: the regulator of the lab's region reads the issued report (not the draft)
    read = client.get(f"/reports/{issued.id}")
    pdf = client.get(f"/reports/{issued.id}/pdf")
    pdf.close()
    if who == "regulator":
        assert read.status_code == 200 and pdf.status_code == 200
    elif who == "anonymous":
        assert read.status_code == 302 and "/account/signin" in read.location
    else:
        assert read.status_code == 404 and pdf.status_code == 404
    assert client.get(f"/reports/{draft.id}").status_code in (302, 404)
    assert client.get(f"/orders/{draft.order_id}/reports").status_code in (
        (200,) if who == "regulator" else (302, 404)
    )
    for target in (issued, draft):
        for method, url, data in WRITES:
            response = getattr(client, method)(
                url.format(order=target.order_id, report=target.id), data=data
            )
            if who == "anonymous":
                assert response.status_code == 302, url
            elif who == "regulator" and target is issued:
                assert response.status_code in (403, 409), url
            else:
                assert response.status_code in (403, 404), (url, response.status_code)
    db.session.expire_all()
    assert db.session.get(Report, issued.id).status == ReportStatus.ISSUED
    assert db.session.get(Report, draft.id).results == []
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 2
    audit_after = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    assert audit_after == audit_before + (1 if who != "anonymous" else 0)  # the sign-in only


@pytest.mark.parametrize("who", ["other lab staff", "other enterprise", "regulator"])
def test_order_threads_are_the_parties_only(client, db, order, signers, login, outsiders, who):
    login(order.created_by)
    response = client.post(
        f"/messages/order/{order.id}",
        data={"body": "报告请寄两份"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    client.post("/account/signout")
    login(signers[0])
    assert "报告请寄两份" in client.get(f"/messages/order/{order.id}").get_data(as_text=True)
    client.post("/account/signout")
    login(outsiders[who])
    assert client.get(f"/messages/order/{order.id}").status_code == 404
    response = client.post(
        f"/messages/order/{order.id}", data={"body": "插话"}, content_type="multipart/form-data"
    )
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(ThreadMessage.id))) == 1


def test_verification_and_refusals_in_chinese(client, db, order, signers, login):
    report = issued_report(db, order, signers)
    zh = {"Accept-Language": "zh-CN"}
    html = client.get(
        "/reports/verify",
        query_string={"no": report.number, "code": report.verification_code},
        headers=zh,
    ).get_data(as_text=True)
    assert "检测报告真伪查询" in html and "签发实验室" in html and "合格" in html
    signers[0].locale = "zh_CN"  # a signed-in user reads their own language
    db.session.commit()
    login(signers[0])
    refused = client.post(f"/reports/{report.id}/sign/prepared", headers=zh)
    assert refused.status_code == 409 and "已签发的报告不可更改" in refused.get_data(as_text=True)
