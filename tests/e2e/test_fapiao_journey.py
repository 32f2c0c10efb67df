"""The fapiao of a statement, in Chinese on a desktop and in English at a phone's width: the
lab issues a statement of charges; the enterprise keeps an invoice profile (a wrong 税号 is
refused), picks it on the statement and asks for the fapiao, then pays by WeChat Pay's QR
code on the stand-in and the page turns paid by itself; the lab exports the request in the
bulk-issue layout, issues it (outside ShareHub) and attaches the issued fapiao; the
enterprise, in English on its phone, is told and downloads it."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.e2e import (
    DEMO_PASSWORD,
    PHONE,
    enter_the_keys,
    pay_by_qr,
    sign_in,
    sign_in_on_phone,
    sign_out,
    to_english,
)
from tests.support.fapiao import NUMBER, fapiao_pdf, wrong_check_character

pytestmark = pytest.mark.e2e


def issued_statement(page, base, shots) -> str:
    """The buyer books a microscope; the lab approves, drafts and issues the statement."""
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    page.locator(".listing-card a", has_text="场发射扫描电子显微镜").first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    page.locator(".slot").nth(2).click()
    page.wait_for_selector("#quote")
    page.fill("#purpose", "镀层厚度测量")
    page.click("#confirm-booking")
    page.wait_for_selector("#booking-status")
    booking_url = page.url
    sign_out(page)

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(booking_url)
    page.click("#approve-booking")
    page.wait_for_selector(".alert-success")
    page.click("#create-invoice")
    page.wait_for_selector("#issue-invoice")
    page.click("#issue-invoice")
    page.wait_for_selector("#payment-box")
    assert "结算单" in page.inner_text("h1")
    shots(page, "lab-issued-statement")
    statement_url = page.url
    sign_out(page)
    return statement_url


def test_enterprise_asks_for_the_fapiao_pays_and_downloads_it(wechat_site, open_page, shots):
    base, standin = wechat_site
    page, errors = open_page()
    enter_the_keys(page, base, standin.merchant, shots)
    statement_url = issued_statement(page, base, shots)

    # The enterprise (Chinese): adds a 专票 profile beside the demo's; a wrong 税号 is refused.
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(statement_url)
    assert "本结算单不是税务发票" in page.inner_text("#fapiao-box")
    page.goto(f"{base}/fapiao/profiles")
    tax_id = make_credit_code(8_123_456)
    page.select_option("#kind", "special")
    page.fill("#title", "苏州精密制造有限公司")
    page.fill("#tax_id", wrong_check_character(tax_id))
    page.fill("#address", "苏州工业园区星湖街 328 号")
    page.fill("#phone", "0512-62880000")
    page.fill("#email", "fapiao@example.cn")
    page.click("#save-profile")
    assert "校验码不符" in page.inner_text("main")
    shots(page, "profile-wrong-tax-id")
    page.fill("#tax_id", tax_id)
    page.click("#save-profile")
    assert "开户银行" in page.inner_text("main")  # a 专票 needs the bank details
    page.fill("#bank_name", "中国工商银行苏州工业园区支行")
    page.fill("#bank_account", "1102020309000123456")
    page.click("#save-profile")
    page.wait_for_selector("#profiles")
    assert tax_id in page.inner_text("#profiles")
    shots(page, "profile-saved")

    # It picks that profile on the statement and asks; then pays by QR, the page turns paid.
    page.goto(statement_url)
    choice = page.locator("#profile_id option", has_text=tax_id).get_attribute("value")
    page.select_option("#profile_id", choice)
    shots(page, "statement-pick-profile")
    page.click("#ask-fapiao")
    page.wait_for_selector("#request-status")
    assert "已申请" in page.inner_text("#request-status")
    shots(page, "fapiao-requested")
    pay_by_qr(page, base, standin, statement_url, shots, "zh-desktop")
    sign_out(page)

    # The lab (Chinese): exports the request for its tax software, then attaches the fapiao.
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/fapiao/lab")
    assert "苏州精密制造有限公司" in page.inner_text("#lab-fapiao-requests")
    shots(page, "lab-fapiao-requests")
    with page.expect_download() as download:
        page.click("#export-requests")
    data = Path(download.value.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["1-发票基本信息", "2-发票明细信息"]
    # The demo's request waiting at the lab is in the same file: ours is the row of our 税号.
    rows = [[c.value for c in r] for r in book["1-发票基本信息"].iter_rows(min_row=4)]
    row = next(r for r in rows if r[6] == tax_id)
    assert row[1] == "增值税专用发票" and row[5] == "苏州精密制造有限公司"
    assert row[22].startswith("结算单号 ")  # 备注, column W
    lines = [[c.value for c in r] for r in book["2-发票明细信息"].iter_rows(min_row=4)]
    line = next(x for x in lines if x[0] == row[0])
    assert line[2] == "3040101000000000000" and line[4] == "小时" and line[8] == "0.06"
    page.goto(f"{base}/fapiao/lab")
    page.locator("#lab-fapiao-requests a").first.click()
    page.fill("#number", NUMBER[:19])
    page.fill("#issued_date", clock.today().isoformat())  # the server runs on the suite clock
    pdf = shots.folder / "fapiao.pdf"
    pdf.write_bytes(fapiao_pdf())
    page.set_input_files("#file", str(pdf))
    page.click("#attach-fapiao")
    assert "发票号码为 20 位数字" in page.inner_text("main")
    shots(page, "lab-wrong-number")
    page.fill("#number", NUMBER)
    page.set_input_files("#file", str(pdf))
    page.click("#attach-fapiao")
    page.wait_for_selector("#fapiaos")
    assert NUMBER in page.inner_text("#fapiaos")
    shots(page, "lab-fapiao-attached")
    sign_out(page)

    # The enterprise, in English on a 390 px phone: the statement, paid, leads to the
    # fapiao; it downloads it.
    phone, phone_errors = open_page(PHONE, phone=True)
    sign_in_on_phone(phone, base, "buyer@demo.sharehub.cn")
    to_english(phone, phone=True)
    phone.goto(statement_url)
    assert "text-bg-success" in phone.locator("#invoice-status").get_attribute("class")
    assert "Fapiao issued" in phone.inner_text("#fapiao-box")
    assert "Statement" in phone.inner_text("h1")
    shots(phone, "en-phone-statement")
    phone.locator("#fapiao-box a").first.click()
    phone.wait_for_selector("#fapiaos")
    assert NUMBER in phone.inner_text("#fapiaos")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shots(phone, "en-phone-fapiao-request")
    with phone.expect_download() as download:
        phone.locator("#fapiaos a[id^=download-]").first.click()
    assert Path(download.value.path()).read_bytes() == fapiao_pdf()
    phone.goto(f"{base}/fapiao/requests")
    shots(phone, "en-phone-our-fapiao-requests")
    assert errors == [] and phone_errors == [], (errors, phone_errors)
