"""Commissioned testing end to end, in Chinese then English: the firm finds the salt-spray
service by its standard number, sends a request with two samples, accepts the list-price
quote and ships by SF Express; the lab receives one sample and refuses the other, prints
the label sheet; the firm reads the chain of custody."""

import pytest

from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out

pytestmark = pytest.mark.e2e


def test_testing_request_from_search_to_received_samples(live_server, page_in, shots):
    base = live_server
    page, errors = page_in()

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#nav-testing")
    page.fill("input[name=q]", "10125")
    page.select_option("select[name=accr]", "cma")
    page.click("form[role=search] button[type=submit]")
    shots(page, "search-10125")
    page.locator("#testing-results a", has_text="中性盐雾试验").first.click()
    assert page.locator(".accreditation-mark", has_text="CMA").count() == 1
    shots(page, "service-page")
    page.click("#request-testing")
    page.fill("input[name=sample-0-name]", "热镀锌钢板")
    page.fill("input[name=sample-0-model_batch]", "DX51D+Z-2026-08")
    page.fill("input[name=sample-0-quantity]", "3")
    page.fill("input[name=sample-1-name]", "电镀锌钢板")
    page.fill("input[name=sample-1-quantity]", "3")
    page.select_option("#report_language", "bilingual")
    # a wrong quantity first: the page comes back with the message and what was typed
    page.fill("input[name=sample-1-quantity]", "三")
    page.click("#send-request")
    page.wait_for_selector(".alert-danger")
    assert page.input_value("input[name=sample-0-name]") == "热镀锌钢板"
    shots(page, "request-refused-quantity")
    page.fill("input[name=sample-1-quantity]", "3")
    page.click("#send-request")
    page.wait_for_selector("#order-status")
    order_url = page.url
    assert "¥1,400.00" in page.inner_text(".quote-total")  # the cluster price: 2 × 700.00
    shots(page, "request-quoted")
    page.click("#accept-quote")
    page.wait_for_selector("#record-shipment")
    page.select_option("#courier", "sf")
    page.fill("#tracking_number", "SF12345")
    page.click("#record-shipment")
    page.wait_for_selector(".alert-danger")
    assert "SF" in page.inner_text(".alert-danger")
    page.select_option("#courier", "sf")
    page.fill("#tracking_number", "SF1402837465999")
    page.click("#record-shipment")
    page.wait_for_selector("#custody li")
    shots(page, "samples-shipped")
    sign_out(page)

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#lab-menu")
    page.click("#nav-testing-requests")
    shots(page, "lab-requests")
    page.goto(order_url)
    page.click("#receive-button")
    fieldsets = page.locator("#receive-form fieldset")
    fieldsets.nth(0).locator("input[name$=place]").fill("样品间 A-01")
    fieldsets.nth(1).locator("input[value=refuse]").check()
    page.click("#record-receipt")
    page.wait_for_selector(".alert-danger")
    shots(page, "receipt-refused-without-reason")
    fieldsets = page.locator("#receive-form fieldset")
    fieldsets.nth(1).locator("input[value=refuse]").check()
    fieldsets.nth(1).locator("input[name$=reason]").fill("试样边缘锈蚀，不符合样品要求")
    page.click("#record-receipt")
    page.wait_for_selector("#labels-button")
    code = page.locator("#samples tbody tr").first.locator("td").first.inner_text()
    assert code.startswith("S")
    shots(page, "samples-received")
    with page.expect_response(lambda r: "labels.pdf" in r.url) as answer:
        page.evaluate("url => fetch(url)", order_url + "/labels.pdf")
    assert answer.value.status == 200
    assert answer.value.headers["content-type"] == "application/pdf"
    sign_out(page)

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(order_url)
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    custody = page.inner_text("#custody")
    assert "Received" in custody and "Refused at receipt" in custody and code in custody
    shots(page, "chain-of-custody-en")
    assert errors == [], errors
