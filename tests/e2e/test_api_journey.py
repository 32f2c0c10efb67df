"""A lab manager makes an API token and a webhook endpoint in the account pages, uses the
token against the live API, and reads the API documentation page (Swagger UI, served
from static/vendor)."""

import json
import urllib.request

import pytest

from tests.support.e2e import DEMO_PASSWORD, sign_in

pytestmark = pytest.mark.e2e


def test_lab_manager_makes_a_token_and_reads_the_docs(live_server, page_in, shots):
    base = live_server
    page, errors = page_in()
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#usermenu")
    page.click("a.dropdown-item[href='/account/api-tokens']")
    page.wait_for_selector("#name")
    page.fill("#name", "产业集群门户")
    page.check("input[name=scopes][value='usage:read']")
    page.check("input[name=scopes][value='bookings:read']")
    shots(page, "token-form")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#token-value")
    shots(page, "token-shown-once")
    token = page.input_value("#token-value")
    assert token.startswith("shr_")

    request = urllib.request.Request(
        f"{base}/api/v1/usage-records?per_page=5", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
        assert response.headers["X-RateLimit-Limit"]
    assert body["meta"]["per_page"] == 5 and len(body["items"]) == min(5, body["meta"]["total"])

    page.goto(f"{base}/account/api-tokens")
    assert page.locator("#token-value").count() == 0  # shown once only
    assert page.locator("td", has_text="产业集群门户").count() == 1

    page.goto(f"{base}/account/webhooks")
    page.fill("#url", "https://erp.example.cn/sharehub/events")
    page.check("input[name=events][value='booking.created']")
    page.check("input[name=events][value='invoice.paid']")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#secret-value")
    assert page.input_value("#secret-value").startswith("whsec_")
    shots(page, "webhook-added")

    page.goto(f"{base}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    assert page.locator(".opblock").count() == 40
    shots(page, "api-docs")
    page.locator(".opblock-summary", has_text="/api/v1/bookings/{booking_id}/reschedule").click()
    page.wait_for_selector(".opblock.is-open")
    shots(page, "api-docs-operation")
    assert errors == []
