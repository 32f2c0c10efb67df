"""The lab renews an overdue (flagged) instrument's certificate and plans its next
calibration; a customer sees the status on the listing page and the warning when booking."""

from datetime import timedelta

import pytest

from tests.support import clock
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.e2e


def test_lab_renews_a_certificate_customer_sees_status(live_server, page_in, shots, tmp_path):
    base = live_server
    page, errors = page_in()
    pdf = tmp_path / "校准证书.pdf"
    pdf.write_bytes(pdf_bytes())

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/listings")
    # the demo lab's second instrument is overdue: find it through its listing pages
    links = [a.get_attribute("href") for a in page.locator("a[href^='/lab/listings/']").all()]
    unit_page = None
    for link in links:
        page.goto(f"{base}{link}")
        overdue = page.locator("a[data-status='overdue']")
        if overdue.count():
            shots(page, "lab-listing-overdue-unit")
            unit_page = overdue.first.get_attribute("href")
            break
    assert unit_page, "the demo has an overdue unit"
    page.goto(f"{base}{unit_page}")
    assert page.locator("#calibration-status").get_attribute("data-status") == "overdue"
    shots(page, "unit-overdue")

    # a certificate due before its issue is refused with the reason, in Chinese
    page.fill("#issuing_body", "江苏省计量科学研究院")
    page.fill("#number", "JL-E2E-0001")
    page.fill("#issued_date", "2026-01-10")
    page.fill("#due_date", "2025-01-10")
    page.set_input_files("#pdf", str(pdf))
    page.click("#certificate-form button[type=submit]")
    page.wait_for_selector(".invalid-feedback, .alert-danger")
    assert "早于出具日期" in page.content()
    shots(page, "refused-dates")

    page.fill("#issued_date", (clock.today() - timedelta(days=1)).isoformat())
    page.fill("#due_date", (clock.today() + timedelta(days=365)).isoformat())
    page.set_input_files("#pdf", str(pdf))
    page.click("#certificate-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.locator("#calibration-status").get_attribute("data-status") == "valid"
    shots(page, "unit-valid")
    page.select_option("#policy", "block")
    page.click("#policy-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    sign_out(page)

    # a visitor reading English sees the due-soon unit of the demo's first instrument, and
    # no PDF link (only the lab and customers who booked it download the certificate)
    visitor, more_errors = page_in()
    visitor.context.add_cookies([{"name": "sharehub_lang", "value": "en", "url": base}])
    visitor.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    visitor.locator(".listing-card a", has_text="Field-emission").first.click()
    visitor.wait_for_selector("#calibration")
    assert visitor.locator("#calibration [data-status='due_soon']").count() == 1
    assert "due within 30 days" in visitor.locator("#calibration").inner_text()
    assert visitor.locator("#calibration a[href$='.pdf']").count() == 0
    shots(visitor, "listing-due-soon-en")
    assert errors == [] and more_errors == [], errors + more_errors
