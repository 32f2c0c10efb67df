"""Authorisation to operate, and usage captured at the instrument. A user without an
authorisation is refused a self-operated booking and books with a staff operator; the lab
records the passed training, which authorises them; they book alone, and the kiosk beside
the unit (a 390 px phone, English) starts the session from the code of their booking page
(Chinese, desktop) and ends it from the code shown on their 390 px phone (English); the
lab's usage page shows the record with its source "kiosk". Then the unit's calibration
falls overdue on a listing that blocks such units: the next booking is refused (English),
until the lab records the renewed certificate. The kiosk reads the code as a scanner
would: the code's text typed into its field (the QR image carries the same text, in the
page's data-code)."""

import re
from datetime import timedelta

import pytest

from tests.support import clock
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.files import pdf_bytes

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


USER = "buyer4@demo.sharehub.cn"  # not authorised in the demo; no other journey uses them
LISTING = "场发射扫描电子显微镜"  # under the demo lab's requirement 大型仪器上机资格


def _to_review(page, base) -> str:
    page.goto(f"{base}/catalog?q={LISTING}")
    page.locator(".listing-card a", has_text=LISTING).first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    page.locator(".slot").nth(3).click()
    page.wait_for_selector("#quote")
    return page.url


def _certificate(page, pdf, kind: str, number: str, issued, due) -> None:
    page.select_option("#kind", kind)
    page.fill("#issuing_body", "苏州市计量测试院")
    page.fill("#number", number)
    page.fill("#issued_date", issued.isoformat())
    page.fill("#due_date", due.isoformat())
    page.set_input_files("#pdf", str(pdf))
    page.click("#certificate-form button[type=submit]")
    page.wait_for_selector(".alert-success")


def test_an_authorised_user_s_session_is_captured_by_the_kiosk_until_calibration_blocks_it(
    browser, live_server, page_in, shots, tmp_path
):
    base = live_server
    page, errors = page_in()  # Chinese, desktop
    today = clock.today()
    pdf = tmp_path / "证书.pdf"
    pdf.write_bytes(pdf_bytes())

    # Not authorised: operating alone is refused; booked with a staff operator instead.
    sign_in(page, base, USER, DEMO_PASSWORD)
    _to_review(page, base)
    page.fill("#purpose", "陪同上机")
    page.click("#confirm-booking")
    page.wait_for_selector(".alert-danger")
    assert "没有独立操作" in page.locator(".alert-danger").inner_text()
    shots(page, "self-operation-refused-zh")
    page.check("#assisted")
    page.click("#confirm-booking")
    page.wait_for_selector("#booking-status")
    sign_out(page)

    # The lab records the passed training and test: the user is authorised at once.
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/competence")
    card = page.locator(".card", has_text="大型仪器上机资格").first
    record = card.locator("form[action$='/record']")
    record.locator("input[name=email]").fill(USER)
    record.locator("input[name=score]").fill("92")
    record.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    assert "郑欣怡" in page.locator("#lab-authorisations").inner_text()  # the user
    shots(page, "lab-recorded-training-zh")
    sign_out(page)

    # Authorised: booked alone.
    sign_in(page, base, USER, DEMO_PASSWORD)
    review_url = _to_review(page, base)
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
    option = page.locator("#unit_id option", has_text=f"{LISTING} · {unit_name} (#").first
    unit_id = option.get_attribute("value")
    page.select_option("#unit_id", value=unit_id)
    page.select_option("#kind", value="kiosk")
    page.fill("#name", "电镜室平板")
    page.click("#issue-device")
    page.wait_for_selector("#device-token")
    token = page.locator("#device-token").inner_text().strip()
    kiosk_path = page.locator("#device-token-shown a").get_attribute("href")
    sign_out(page)

    # The kiosk: a 390 px phone in English, opened once with the token.
    kiosk_context = browser.new_context(locale="en", viewport={"width": 390, "height": 844})
    kiosk = kiosk_context.new_page()
    kiosk.on("pageerror", lambda e: errors.append(str(e)))
    kiosk.goto(f"{base}{kiosk_path}")
    kiosk.fill("#kiosk-token", token)
    kiosk.click("#kiosk-open")
    kiosk.wait_for_selector("#kiosk-scan-code")
    width = kiosk.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone

    # The user shows the code of the booking page in Chinese on the desktop: it starts.
    sign_in(page, base, USER, DEMO_PASSWORD)
    page.goto(booking_url)
    assert re.fullmatch(r"\d{6}", page.locator("#kiosk-pin").inner_text())
    _scan(kiosk, _code(page))
    assert kiosk.locator("#kiosk-result").get_attribute("data-action") == "check_in"
    shots(kiosk, "kiosk-session-started-phone-en")
    sign_out(page)

    # On their 390 px phone (English from now on) they show the code again: it ends.
    phone_context = browser.new_context(locale="en", viewport={"width": 390, "height": 844})
    phone = phone_context.new_page()
    phone.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in_phone(phone, base, USER)
    phone.goto(booking_url)
    _language(phone, "en")
    assert phone.locator("html").get_attribute("lang") == "en"
    shots(phone, "booking-page-with-code-phone-en")
    code = _code(phone)
    _scan(kiosk, code)
    assert kiosk.locator("#kiosk-result").get_attribute("data-action") == "check_out"
    record_id = kiosk.locator("#kiosk-result").get_attribute("data-record")
    kiosk.fill("#kiosk-scan-code", code)  # once more: nothing to start or end
    kiosk.click("#kiosk-submit-code")
    kiosk.wait_for_selector(".alert-danger")

    # The lab sees the record with its source, in Chinese; then the unit's intermediate
    # check falls overdue and the lab blocks overdue units of the listing.
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/usage")
    source = page.locator(f"#usage-{record_id} .usage-source")
    assert source.get_attribute("data-source") == "kiosk"
    assert "自助终端" in source.inner_text()
    page.goto(f"{base}/lab/units/{unit_id}/calibration")
    _certificate(
        page, pdf, "check", "QH-E2E-1", today - timedelta(days=30), today - timedelta(days=1)
    )
    assert page.locator("#calibration-status").get_attribute("data-status") == "overdue"
    page.select_option("#policy", "block")
    page.click("#policy-form button[type=submit]")
    page.wait_for_selector(".alert-success")

    # The user's next booking of the unit is refused for its calibration (English).
    phone.goto(review_url)
    phone.click("#confirm-booking")
    phone.wait_for_selector(".alert-danger")
    assert "calibration certificate is overdue" in phone.locator(".alert-danger").inner_text()
    assert phone.locator("#booking-status").count() == 0
    shots(phone, "booking-blocked-by-calibration-phone-en")

    # The lab records the renewed certificate (the other journeys book this unit).
    _certificate(page, pdf, "calibration", "JL-E2E-RENEW", today, today + timedelta(days=365))
    assert page.locator("#calibration-status").get_attribute("data-status") == "valid"
    sign_out(page)
    for context in (kiosk_context, phone_context):
        context.close()
    assert errors == [], errors
