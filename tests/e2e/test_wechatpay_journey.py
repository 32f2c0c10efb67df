"""The lab manager enters the lab's WeChat Pay merchant keys and tests the connection; an
enterprise then pays statements by WeChat Pay on the local stand-in, in Chinese and in
English, on a desktop (Native QR code) and at a 390 px phone width (QR code, and H5 in the
phone's browser). The stand-in sends the signed, encrypted notification to ShareHub itself
and the payment page turns paid by itself. Screenshots under test-output/e2e/."""

from __future__ import annotations

import pytest

from tests.support.backend import BACKEND
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.live import live_server as serve
from tests.support.wechatpay import make_merchant, wechatpay_standin

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def wechat_site(postgres, mailbox, tmp_path):
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database("sharehub_wechatpay_journey")
    else:
        url = f"sqlite:///{tmp_path / 'wechatpay.db'}"
    merchant = make_merchant(public_key_id="PUB_KEY_ID_0119000091912026061000000000000001")
    with wechatpay_standin(merchant, tmp_path) as standin:
        env = {"WECHATPAY_API_BASE": standin.url}
        with serve(url, tmp_path, mail_port=mailbox.port, env=env) as base:
            yield base, standin


@pytest.fixture
def open_page(browser):
    contexts = []

    def open_one(viewport=DESKTOP, phone=False):
        context = browser.new_context(
            locale="zh-CN", viewport=viewport, is_mobile=phone, has_touch=phone
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90000)  # a loaded two-core machine
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        page.on(  # ShareHub's own assets and answers only (not the stand-in's favicon)
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.url.startswith(base_of(r.url)) and "/static/" in r.url and r.status >= 400
                else None
            ),
        )
        return page, errors

    yield open_one
    for context in contexts:
        context.close()


def base_of(url: str) -> str:
    return url.split("/static/")[0]


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


def enter_the_keys(page, base, merchant, shots) -> None:
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(base + page.get_attribute("#nav-payment-accounts", "href"))
    card = page.locator("#account-wechat_pay")
    page.fill("#wechat_pay-merchant_id", merchant.mchid)
    for name, value in {
        "appid": merchant.appid,
        "apiv3_key": merchant.apiv3_key,
        "cert_serial_no": merchant.merchant_serial,
        "private_key": merchant.merchant_key,
        "platform_public_key_id": merchant.public_key_id,
        "platform_public_key": merchant.platform_public_key,
    }.items():
        page.fill(f"#wechat_pay-{name}", value)
    page.check("#wechat_pay-enabled")
    shots(page, "lab-enters-wechatpay-keys")
    card.locator("button[type=submit]", has_text="保存").click()
    page.wait_for_selector(".alert-success")
    page.click("#test-wechat_pay")
    page.wait_for_selector("#check-wechat_pay")
    flash = page.locator(".alert").first.inner_text()
    assert "微信支付已接受这些密钥。" in flash, flash
    page.wait_for_selector("#check-wechat_pay.text-bg-success")
    content = page.content()
    for secret in merchant.secret_texts():
        assert secret not in content
    assert f"…{merchant.apiv3_key[-4:]}" in content
    shots(page, "lab-wechatpay-connection-works")
    sign_out(page)


def sign_in_on_phone(page, base, email) -> None:
    """At 390 px the user menu is folded into the navigation toggler."""
    page.goto(f"{base}/account/signin")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#usermenu", state="attached")


def newest_unpaid(standin) -> str:
    orders = [o for o in standin.state()["orders"].values() if o["trade_state"] == "NOTPAY"]
    assert len(orders) == 1, orders
    return orders[0]["out_trade_no"]


def to_english(page, phone: bool) -> None:
    if phone:
        page.click(".navbar-toggler")
    page.click("button[name=lang][value=en]")
    page.wait_for_selector("html[lang=en]")


def pay_by_qr(page, base, standin, statement_url, shots, tag: str) -> None:
    page.goto(statement_url)
    shots(page, f"{tag}-statement")
    page.click("#pay-wechat_pay button[value=qr]")
    page.wait_for_selector("#online-qr svg")
    assert page.get_attribute("#online-payment", "data-status") == "pending"
    shots(page, f"{tag}-wechatpay-qr")
    delivered = standin.pay(newest_unpaid(standin))["deliveries"]
    assert [d["status"] for d in delivered] == [204], delivered
    page.wait_for_selector("#online-paid-note:not(.d-none)", timeout=15000)
    assert page.locator("#online-qr").count() == 0
    shots(page, f"{tag}-wechatpay-paid")
    page.click("#back-to-statement")
    page.wait_for_selector("#invoice-status")
    assert "text-bg-success" in page.locator("#invoice-status").get_attribute("class")


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
