"""Fapiao on statements: invoice profiles with checked 纳税人识别号, the request on a
statement (one per statement), the export for the tax software, the attached fapiao the
customer downloads, red fapiao, and the tax of a tax-inclusive amount."""

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from sharehub.core.errors import ValidationError
from sharehub.core.models import Notification
from sharehub.fapiao import services
from sharehub.fapiao.models import Fapiao, FapiaoRequest, InvoiceProfile, RequestStatus
from tests.support.accounts import make_credit_code
from tests.support.clock import today
from tests.support.fapiao import (
    NUMBER,
    RED_NUMBER,
    buyer_form,
    fapiao_ofd,
    fapiao_pdf,
    fapiao_xml,
    special_form,
    wrong_check_character,
)
from tests.support.files import png_bytes


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- the numbers ------------------------------------------------------------------------------


def test_tax_of_a_tax_inclusive_amount_is_rounded_once_to_the_fen():
    six = services.rate_of(600)
    assert six == Decimal("0.06") and services.rate_of(300) == Decimal("0.03")
    # 1,060.00 at 6 %: 1,060.00 × 0.06 / 1.06 = 60.00 exactly.
    assert services.tax_of_gross(106000, six) == 6000
    # 100.00: 10000 × 0.06 / 1.06 = 566.037… fen → 5.66.
    assert services.tax_of_gross(10000, six) == 566
    # 1,059.98 (two hours at 499.99 plus VAT): 105998 × 6 / 106 = 5999.886… → 60.00.
    assert services.tax_of_gross(105998, six) == 6000
    # Half a fen rounds up: 53 × 0.06 / 1.06 = 3.0 exactly; 9 × 0.06/1.06 = 0.509… → 1.
    assert services.tax_of_gross(9, six) == 1
    assert services.tax_of_gross(103, services.rate_of(300)) == 3


@pytest.mark.parametrize(
    ("tax_id", "ok"),
    [
        (make_credit_code(77), True),
        (wrong_check_character(make_credit_code(77)), False),
        ("320500123456789", True),  # 15 characters, the old number
        ("32050012345678901", True),  # 17
        ("32050012345678901234", True),  # 20
        ("3205001234567890", False),  # 16
        ("91320500MA00000I1X", False),  # I is not in the code's alphabet
    ],
)
def test_taxpayer_numbers_are_checked(tax_id, ok):
    if ok:
        assert services.normalize_tax_id(tax_id.lower()) == tax_id
    else:
        with pytest.raises(ValidationError):
            services.normalize_tax_id(tax_id)


def test_statement_lines_carry_tax_code_specification_and_unit(db, statement, booked):
    (line,) = statement.lines
    assert line.tax_code == "3040101000000000000" and len(line.tax_code) == 19
    assert line.spec == "Agilent 5110"
    assert line.unit == "小时"
    assert line.vat_rate_bp == 600


def test_a_listing_keeps_its_own_tax_code(db, booked, lab_manager):
    from sharehub.billing import services as billing

    booked.listing.tax_code = "3040104000000000000"
    invoice = billing.invoice_from_booking(lab_manager, booked)
    assert invoice.lines[0].tax_code == "3040104000000000000"


# --- invoice profiles through the pages -------------------------------------------------------


def test_enterprise_keeps_invoice_profiles(client, db, login, customer):
    login(customer)
    response = client.post("/fapiao/profiles", data=special_form(is_default="y"))
    assert response.status_code == 302
    profile = db.session.scalar(sa.select(InvoiceProfile))
    assert profile.kind == "special" and profile.is_default and profile.bank_account
    client.post("/fapiao/profiles", data=buyer_form(seed=8, is_default="y"))
    db.session.expire_all()
    defaults = db.session.scalars(sa.select(InvoiceProfile).where(InvoiceProfile.is_default))
    assert [p.tax_id for p in defaults] == [make_credit_code(8)]
    page = client.get("/fapiao/profiles").get_data(as_text=True)
    assert make_credit_code(8) in page and "苏州精密制造有限公司" in page


@pytest.mark.parametrize(
    ("data", "message", "message_zh"),
    [
        (
            buyer_form(tax_id=wrong_check_character(make_credit_code(9))),
            "its check character does not match",
            "校验码不符",
        ),
        (buyer_form(tax_id="12345"), "15, 17 or 20", "15、17 或 20"),
        (special_form(bank_name="", bank_account=""), "needs the buyer", "专票"),
        (buyer_form(title=""), "Give the buyer", "购买方名称"),
    ],
)
def test_bad_profiles_are_refused_with_a_message_and_nothing_stored(
    client, db, login, customer, data, message, message_zh
):
    login(customer)
    response = client.post("/fapiao/profiles", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    customer.locale = "zh_CN"
    db.session.commit()
    response = client.post("/fapiao/profiles", data=data)
    assert response.status_code == 400
    assert message_zh in response.get_data(as_text=True)
    assert count(db, InvoiceProfile) == 0


# --- the request --------------------------------------------------------------------------------


def test_customer_asks_for_the_fapiao_on_the_statement_page(
    client, db, login, customer, statement, profile, lab_manager
):
    login(customer)
    page = client.get(f"/invoices/{statement.id}").get_data(as_text=True)
    assert 'id="fapiao-request-form"' in page and profile.tax_id in page
    response = client.post(
        f"/fapiao/statements/{statement.id}/request", data={"profile_id": profile.id}
    )
    assert response.status_code == 302
    request = db.session.scalar(sa.select(FapiaoRequest))
    assert request.invoice_id == statement.id and request.amount == statement.gross_total
    assert request.buyer["tax_id"] == profile.tax_id and request.status == RequestStatus.REQUESTED
    told = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == lab_manager.id)
    ).all()
    assert any(statement.number in n.text for n in told)
    again = client.post(
        f"/fapiao/statements/{statement.id}/request", data={"profile_id": profile.id}
    )
    assert again.status_code == 409
    assert "already been asked" in again.get_data(as_text=True)
    assert count(db, FapiaoRequest) == 1


def test_a_draft_or_voided_statement_takes_no_request(db, booked, lab_manager, customer, profile):
    from sharehub.billing import services as billing
    from sharehub.core.errors import Conflict

    draft = billing.invoice_from_booking(lab_manager, booked)
    with pytest.raises(Conflict):
        services.request_fapiao(customer, draft, profile)
    billing.issue(lab_manager, draft)
    billing.void(lab_manager, draft, "wrong customer")
    with pytest.raises(Conflict):
        services.request_fapiao(customer, draft, profile)


def test_voiding_the_statement_cancels_a_request_not_yet_issued(
    db, fapiao_request, statement, lab_manager
):
    from sharehub.billing import services as billing

    billing.void(lab_manager, statement, "wrong customer")
    assert fapiao_request.status == RequestStatus.CANCELLED


# --- the export -------------------------------------------------------------------------------


def test_lab_exports_requests_in_the_bulk_issue_layout(
    client, db, login, lab_manager, fapiao_request, statement
):
    statement.lab.bank_name, statement.lab.bank_account = "中国银行苏州分行", "5301000012345678"
    db.session.commit()
    login(lab_manager)
    response = client.post("/fapiao/lab/export", data={})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["1-发票基本信息", "2-发票明细信息"]
    basic, detail = book["1-发票基本信息"], book["2-发票明细信息"]
    headers = {cell.column_letter: cell.value for cell in basic[3]}
    assert headers["A"] == "发票流水号" and headers["B"] == "发票类型"
    assert headers["D"] == "是否含税" and headers["F"] == "购买方名称"
    assert headers["G"] == "购买方纳税人识别号" and headers["AE"] == "购买方邮箱"
    row = {cell.column_letter: cell.value for cell in basic[4]}
    assert row["B"] == "普通发票" and row["D"] == "是"
    assert row["F"] == "苏州精密制造有限公司" and row["G"] == fapiao_request.buyer["tax_id"]
    assert row["AB"] == "中国银行苏州分行" and row["AC"] == "5301000012345678"
    assert row["AE"] == "fapiao@example.cn"
    # The template's 39 columns (A–AM): the note in W; the 报废产品 region columns L–P and
    # AD (a choice of the template's own) stay empty.
    assert basic.max_column == 39 and headers["AM"] == "复核人"
    assert headers["W"] == "备注" and row["W"] == f"结算单号 {statement.number}"
    assert headers["Q"] == "购买方电话" and headers["AB"] == "销售方开户行"
    assert headers["T"] == "是否展示购买方地址电话银行账号"
    assert all(row.get(col) is None for col in ("L", "M", "N", "O", "P", "AD"))
    assert basic.max_row == 4
    detail_headers = [cell.value for cell in detail[3]]
    assert detail_headers[:9] == [
        "发票流水号",
        "项目名称",
        "商品和服务税收编码",
        "规格型号",
        "单位",
        "数量",
        "单价",
        "金额",
        "税率",
    ]
    line = [cell.value for cell in detail[4]]
    gross = statement.gross_total
    assert line[0] == row["A"]
    assert line[2] == "3040101000000000000" and line[3] == "Agilent 5110" and line[4] == "小时"
    assert line[5] == "2" and Decimal(line[6]) * 2 == Decimal(gross) / 100
    assert line[7] == f"{gross // 100}.{gross % 100:02d}" and line[8] == "0.06"
    db.session.expire_all()
    assert fapiao_request.status == RequestStatus.EXPORTED
    # Nothing left to export: a message, no file.
    response = client.post("/fapiao/lab/export", data={})
    assert response.status_code == 400
    assert "No fapiao request is waiting" in response.get_data(as_text=True)


# --- attaching, downloading, reversing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (fapiao_pdf, "application/pdf"),
        (fapiao_ofd, "application/ofd"),
        (fapiao_xml, "application/xml"),
    ],
)
def test_lab_attaches_the_issued_fapiao_and_the_customer_downloads_it(
    client,
    db,
    login,
    lab_manager,
    customer,
    fapiao_request,
    statement,
    storage_dir,
    mailbox,
    content,
    content_type,
):
    login(lab_manager)
    response = client.post(
        f"/fapiao/requests/{fapiao_request.id}/attach",
        data={
            "number": NUMBER,
            "issued_date": today().isoformat(),
            "file": (io.BytesIO(content()), "fapiao.bin"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    fapiao = db.session.scalar(sa.select(Fapiao))
    assert fapiao.number == NUMBER and fapiao.amount == statement.gross_total
    assert fapiao.content_type == content_type
    db.session.expire_all()
    assert fapiao_request.status == RequestStatus.ISSUED
    told = db.session.scalars(sa.select(Notification).where(Notification.user_id == customer.id))
    assert any(NUMBER in n.text for n in told)
    from sharehub.core.models import OutboxMessage

    assert db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.recipient == customer.email, OutboxMessage.subject.contains(NUMBER)
        )
    )
    client.post("/account/signout")
    login(customer)
    page = client.get(f"/fapiao/requests/{fapiao_request.id}").get_data(as_text=True)
    assert NUMBER in page
    download = client.get(f"/fapiao/documents/{fapiao.id}")
    body = download.data
    download.close()
    assert download.status_code == 200 and body == content()


@pytest.mark.parametrize(
    ("number", "file", "message"),
    [
        ("2632200000001234567", fapiao_pdf, "A fapiao number has 20 digits."),
        ("2632200000001234567X", fapiao_pdf, "A fapiao number has 20 digits."),
        (NUMBER, png_bytes, "not a PDF, OFD or XML file"),
        (NUMBER, lambda: b"PK\x03\x04not really a zip", "not a PDF, OFD or XML file"),
    ],
)
def test_bad_fapiao_is_refused_and_nothing_stored(
    client, db, login, lab_manager, fapiao_request, storage_dir, number, file, message
):
    before = set(storage_dir.iterdir()) if storage_dir.exists() else set()
    login(lab_manager)
    response = client.post(
        f"/fapiao/requests/{fapiao_request.id}/attach",
        data={
            "number": number,
            "issued_date": today().isoformat(),
            "file": (io.BytesIO(file()), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db, Fapiao) == 0
    assert (set(storage_dir.iterdir()) if storage_dir.exists() else set()) == before
    db.session.expire_all()
    assert fapiao_request.status == RequestStatus.REQUESTED


def test_bad_fapiao_message_is_translated(client, db, login, lab_manager, fapiao_request):
    lab_manager.locale = "zh_CN"
    db.session.commit()
    login(lab_manager)
    response = client.post(
        f"/fapiao/requests/{fapiao_request.id}/attach",
        data={
            "number": "123",
            "issued_date": today().isoformat(),
            "file": (io.BytesIO(fapiao_pdf()), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "发票号码为 20 位数字" in response.get_data(as_text=True)


def test_red_fapiao_reverses_the_issued_one(
    client, db, login, lab_manager, customer, issued_fapiao, fapiao_request, statement, profile
):
    login(lab_manager)
    form = {
        "confirmation_no": "32050026110000012345",
        "reason": "error",
        "number": RED_NUMBER,
        "issued_date": today().isoformat(),
        "file": (io.BytesIO(fapiao_pdf()), "red.pdf"),
    }
    missing = dict(form, reason="", file=(io.BytesIO(fapiao_pdf()), "red.pdf"))
    response = client.post(
        f"/fapiao/documents/{issued_fapiao.id}/reverse",
        data=missing,
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and count(db, Fapiao) == 1
    response = client.post(
        f"/fapiao/documents/{issued_fapiao.id}/reverse",
        data=form,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    red = db.session.scalar(sa.select(Fapiao).where(Fapiao.is_red))
    assert red.original_id == issued_fapiao.id and red.amount == -issued_fapiao.amount
    assert red.red_reason == "error" and red.red_confirmation_no == "32050026110000012345"
    db.session.expire_all()
    assert fapiao_request.status == RequestStatus.REVERSED
    # The customer may ask again (for a corrected fapiao).
    again = services.request_fapiao(customer, statement, profile)
    assert again.status == RequestStatus.REQUESTED


@pytest.mark.parametrize("reason", ["error", "return", "terminated", "allowance"])
def test_the_four_red_reasons(db, lab_manager, issued_fapiao, reason, storage_dir):
    red = services.reverse_fapiao(
        lab_manager, issued_fapiao, "R123", reason, fapiao_pdf(), "r.pdf", RED_NUMBER, today()
    )
    assert red.red_reason_label


# --- consistency ------------------------------------------------------------------------------


def test_consistency_sees_a_fapiao_that_no_longer_matches_its_statement(
    db, lab_manager, issued_fapiao, statement
):
    from sharehub.admin.consistency import violations
    from sharehub.billing import services as billing

    found = violations()
    assert found["statements_with_several_open_fapiao_requests"] == []
    assert found["fapiao_amounts_off_statement"] == []
    billing.void(lab_manager, statement, "service not delivered")
    assert violations()["fapiao_amounts_off_statement"] == [
        {
            "request": issued_fapiao.request_id,
            "invoice": statement.id,
            "fapiao": statement.gross_total,
            "statement": 0,
        }
    ]
    services.reverse_fapiao(
        lab_manager,
        issued_fapiao,
        "R1",
        "terminated",
        fapiao_pdf(),
        "r.pdf",
        RED_NUMBER,
        today(),
    )
    assert violations()["fapiao_amounts_off_statement"] == []


def test_the_database_keeps_one_open_request_per_statement(db, fapiao_request):
    from sqlalchemy.exc import IntegrityError

    second = FapiaoRequest(
        invoice_id=fapiao_request.invoice_id,
        lab_id=fapiao_request.lab_id,
        customer_org_id=fapiao_request.customer_org_id,
        buyer={},
        amount=1,
    )
    savepoint = db.session.begin_nested()
    db.session.add(second)
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_consistency_sees_a_waiting_statement_line_without_its_tax_code(
    db, fapiao_request, statement
):
    from sharehub.admin.consistency import violations

    assert violations()["fapiao_lines_without_tax_code"] == []
    line = statement.lines[0]
    line.tax_code = ""
    db.session.flush()
    assert violations()["fapiao_lines_without_tax_code"] == [
        {"request": fapiao_request.id, "line": line.id, "tax_code": ""}
    ]
