"""Usage captured at the instrument: the buyer shows the QR code of their booking page
(Chinese on a desktop, English on a 390 px phone), the kiosk beside the unit (a tablet, and
a 390 px phone) starts and ends the session, and the lab's usage page shows the record with
its source "kiosk". The kiosk reads the code as a scanner would: the code's text typed into
its field (the QR image carries the same text, in the page's data-code)."""

import re

import pytest

from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out

pytestmark = pytest.mark.e2e


def _code(page) -> str:
    page.wait_for_selector("#kiosk-code svg")
    return page.locator("#kiosk-code .kiosk-qr").get_attribute("data-code")


def _sign_in_phone(page, base, email) -> None:
    """Signing in on a phone: the menu holding the user's name is folded away there."""
    page.goto(f"{base}/account/signin")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/account/signin" not in url)


def _language(page, lang: str) -> None:
    """Choose the language from the folded menu of a phone."""
    page.click(".navbar-toggler")
    button = "button[name=lang][value=en]" if lang == "en" else "button[name=lang]:not([value=en])"
    page.locator(button).click()
    page.wait_for_load_state()


def _scan(kiosk, code: str) -> None:
    kiosk.fill("#kiosk-scan-code", code)
    kiosk.click("#kiosk-submit-code")
    kiosk.wait_for_selector("#kiosk-result")


def test_the_kiosk_starts_and_ends_the_session_from_the_booking_pages_code(
    browser, live_server, page_in, shots
):
    base = live_server
    page, errors = page_in()  # Chinese, desktop

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    page.locator(".listing-card a", has_text="场发射扫描电子显微镜").first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    page.locator(".slot").nth(3).click()
    page.wait_for_selector("#quote")
    page.fill("#purpose", "现场签到测试")
    page.click("#confirm-booking")
    page.wait_for_selector("#booking-status")
    booking_url = page.url
    sign_out(page)

    # The lab approves and issues a kiosk token for the booked unit.
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(booking_url)
    unit_name = page.locator("main .text-body-secondary").first.inner_text().split(" · ")[1]
    page.click("#approve-booking")
    page.wait_for_selector(".alert-success")
    page.goto(f"{base}/lab/devices")
    option = page.locator("#unit_id option", has_text=f"场发射扫描电子显微镜 · {unit_name} (#")
    page.select_option("#unit_id", value=option.first.get_attribute("value"))
    page.select_option("#kind", value="kiosk")
    page.fill("#name", "电镜室平板")
    page.click("#issue-device")
    page.wait_for_selector("#device-token")
    token = page.locator("#device-token").inner_text().strip()
    kiosk_path = page.locator("#device-token-shown a").get_attribute("href")
    shots(page, "lab-issued-kiosk-token")
    sign_out(page)

    # The tablet (English) opens the kiosk once with the token.
    tablet_context = browser.new_context(locale="en", viewport={"width": 1024, "height": 768})
    kiosk = tablet_context.new_page()
    kiosk.on("pageerror", lambda e: errors.append(str(e)))
    kiosk.goto(f"{base}{kiosk_path}")
    kiosk.fill("#kiosk-token", token)
    kiosk.click("#kiosk-open")
    kiosk.wait_for_selector("#kiosk-scan-code")
    shots(kiosk, "kiosk-waiting-tablet-en")

    # The buyer shows the code in Chinese on the desktop: the session starts.
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(booking_url)
    assert re.fullmatch(r"\d{6}", page.locator("#kiosk-pin").inner_text())
    shots(page, "booking-page-with-code-zh")
    _scan(kiosk, _code(page))
    assert kiosk.locator("#kiosk-result").get_attribute("data-action") == "check_in"
    shots(kiosk, "kiosk-session-started-en")

    # The buyer on a 390 px phone (English) shows the code again: the session ends. A
    # 390 px phone serves as the kiosk here, in Chinese.
    phone_context = browser.new_context(locale="en", viewport={"width": 390, "height": 844})
    phone = phone_context.new_page()
    phone.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in_phone(phone, base, "buyer@demo.sharehub.cn")
    phone.goto(booking_url)
    _language(phone, "en")  # the buyer's profile says Chinese; English for this phone
    assert phone.locator("html").get_attribute("lang") == "en"
    shots(phone, "booking-page-with-code-phone-en")
    code = _code(phone)
    _language(phone, "zh")  # back to the profile's Chinese, which the other journeys read
    kiosk_phone_context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    kiosk_phone = kiosk_phone_context.new_page()
    kiosk_phone.on("pageerror", lambda e: errors.append(str(e)))
    kiosk_phone.goto(f"{base}{kiosk_path}")
    kiosk_phone.fill("#kiosk-token", token)
    kiosk_phone.click("#kiosk-open")
    kiosk_phone.wait_for_selector("#kiosk-scan-code")
    width = kiosk_phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    _scan(kiosk_phone, code)
    assert kiosk_phone.locator("#kiosk-result").get_attribute("data-action") == "check_out"
    record_id = kiosk_phone.locator("#kiosk-result").get_attribute("data-record")
    shots(kiosk_phone, "kiosk-session-ended-phone-zh")
    # the same code once more: nothing to start or end
    kiosk_phone.fill("#kiosk-scan-code", code)
    kiosk_phone.click("#kiosk-submit-code")
    kiosk_phone.wait_for_selector(".alert-danger")
    shots(kiosk_phone, "kiosk-refuses-a-finished-booking-phone-zh")

    page.goto(booking_url)
    assert "text-bg-secondary" in page.locator("#booking-status").get_attribute("class")
    sign_out(page)

    # The lab sees the record with its source, in Chinese on the desktop.
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/usage")
    source = page.locator(f"#usage-{record_id} .usage-source")
    assert source.get_attribute("data-source") == "kiosk"
    assert "自助终端" in source.inner_text()
    shots(page, "lab-usage-source-kiosk-zh")
    sign_out(page)
    for context in (tablet_context, phone_context, kiosk_phone_context):
        context.close()
    assert errors == [], errors
