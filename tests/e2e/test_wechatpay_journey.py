"""The lab manager enters the lab's WeChat Pay merchant keys and tests the connection; an
enterprise then pays statements by WeChat Pay on the local stand-in, in Chinese and in
English, on a desktop (Native QR code) and at a 390 px phone width (QR code, and H5 in the
phone's browser). The stand-in sends the signed, encrypted notification to ShareHub itself
and the payment page turns paid by itself. Screenshots under test-output/e2e/."""

from __future__ import annotations

import pytest

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

pytestmark = pytest.mark.e2e


def book_and_issue(page, base) -> str:
    """The buyer books the microscope; the lab approves, drafts and issues the statement."""
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    page.locator(".listing-card a", has_text="场发射扫描电子显微镜").first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    page.locator(".slot").first.click()
    page.wait_for_selector("#quote")
    page.fill("#purpose", "断口形貌观察")
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
    statement_url = page.url
    sign_out(page)
    return statement_url


def test_enterprise_pays_statements_by_wechat_pay(wechat_site, open_page, shots):
    base, standin = wechat_site
    page, errors = open_page()
    enter_the_keys(page, base, standin.merchant, shots)
    statements = [book_and_issue(page, base) for _ in range(4)]

    # Chinese, desktop: the Native QR code.
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    pay_by_qr(page, base, standin, statements[0], shots, "zh-desktop")
    # Chinese, a 390 px phone: the QR code fits the screen.
    phone, phone_errors = open_page(PHONE, phone=True)
    sign_in_on_phone(phone, base, "buyer@demo.sharehub.cn")
    pay_by_qr(phone, base, standin, statements[1], shots, "zh-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width

    # English, desktop.
    to_english(page, phone=False)
    pay_by_qr(page, base, standin, statements[2], shots, "en-desktop")
    # English, phone: H5 in the phone's browser, back to the statement when paid.
    phone.reload()
    phone.goto(statements[3])
    phone.wait_for_selector("html[lang=en]")
    shots(phone, "en-phone-statement")
    phone.click("#pay-wechat_pay button[value=h5]")
    phone.wait_for_selector("#h5-pay")
    shots(phone, "en-phone-h5-cashier")
    phone.click("#h5-pay")
    phone.wait_for_selector("#invoice-status")
    assert phone.url.startswith(statements[3])
    assert "text-bg-success" in phone.locator("#invoice-status").get_attribute("class")
    shots(phone, "en-phone-h5-paid")
    assert errors == [] and phone_errors == [], (errors, phone_errors)
