"""An enterprise books an approval-required slot; the lab approves, checks it in and out."""

import pytest

from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out

pytestmark = pytest.mark.e2e


def test_enterprise_books_lab_approves_checks_in_and_out(live_server, page_in, shots, mailbox):
    base = live_server
    page, errors = page_in()

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    page.locator(".listing-card a", has_text="场发射扫描电子显微镜").first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    shots(page, "week-calendar")
    page.locator(".slot").first.click()
    page.wait_for_selector("#quote")
    page.select_option("#minutes", index=1)  # the second duration reloads the quote
    page.wait_for_load_state()
    page.fill("#purpose", "断口形貌观察与能谱分析")
    page.fill("#sample_description", "铝合金断口试样，10 mm × 10 mm")
    page.fill("#sample_count", "3")
    shots(page, "review-with-quote")
    page.click("#confirm-booking")
    page.wait_for_selector("#booking-status")
    booking_url = page.url
    shots(page, "booking-requested")
    sign_out(page)

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/bookings")
    shots(page, "lab-calendar-pending")
    page.goto(booking_url)
    page.click("#approve-booking")
    page.wait_for_selector(".alert-success")
    page.click("#check-in")
    page.wait_for_selector("#check-out")
    page.fill("#prep_minutes", "20")
    page.fill("#post_minutes", "30")
    shots(page, "checked-in")
    page.click("#check-out")
    page.wait_for_selector(".alert-success")
    assert page.locator(".alert-danger").count() == 0
    assert "text-bg-secondary" in page.locator("#booking-status").get_attribute("class")
    shots(page, "completed")
    page.goto(f"{base}/lab/usage")
    shots(page, "usage-log")
    sign_out(page)

    invite = [p for p in mailbox.last_to("buyer@demo.sharehub.cn").iter_attachments()]
    assert errors == [], errors
    assert invite == [] or invite[0].get_content_type() == "text/calendar"
