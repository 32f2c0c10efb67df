"""Helpers of the browser journeys: the demo password, signing in and out in Chromium (also
at a phone's width), and paying a statement by WeChat Pay on the stand-in."""

import re

DEMO_PASSWORD = "sharehub-demo"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def sign_in(page, base, email, password):
    page.goto(f"{base}/account/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#usermenu")


def sign_out(page):
    page.click("#usermenu")
    page.click("text=退出登录")
    page.wait_for_selector("text=登录")


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
