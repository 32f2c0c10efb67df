"""Commissioned testing from received samples to a paid statement: the lab (in Chinese)
schedules the salt-spray run on its chamber, checks it in and out, enters the results,
three people sign the report off and it is issued, and the statement is drafted from the
order's lines and issued; the firm (in English) downloads the report, verifies it on the
public page by the link of its QR code, and pays part of the statement with its innovation
voucher; the lab records the bank transfer of the rest."""

import re

import pytest

from tests.support import clock
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out

pytestmark = pytest.mark.e2e
ORDER = "镀锌钢板中性盐雾 96 h"


def _sign(page, base, email, role, report_url):
    sign_in(page, base, email, DEMO_PASSWORD)
    page.goto(report_url)
    page.click(f"#sign-{role}")
    page.wait_for_selector(".alert-success")
    sign_out(page)


def test_from_received_samples_to_a_verified_report_and_a_paid_statement(
    live_server, page_in, shots
):
    base = live_server
    page, errors = page_in()

    # the lab schedules the run on the salt-spray chamber, from 09:00 for 96 hours
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/testing/lab/requests")
    page.locator("tr", has_text=ORDER).locator("a").first.click()
    page.wait_for_selector("#run-form")
    order_url = page.url.split("#")[0]
    page.fill("#run-hours", "九十六")
    page.fill("#run-starts", f"{clock.today().isoformat()}T09:00")
    page.click("#schedule-run")
    page.wait_for_selector(".alert-danger")
    assert page.input_value("#run-starts") == f"{clock.today().isoformat()}T09:00"
    shots(page, "run-refused-hours")
    page.fill("#run-hours", "96")
    page.click("#schedule-run")
    page.wait_for_selector("#runs")
    assert "中性盐雾试验箱" in page.inner_text("#runs")
    shots(page, "run-scheduled")

    # it runs: checked in and out on its booking (usage served to the firm)
    page.locator("#runs a", has_text="上机").first.click()
    page.wait_for_selector("#check-in")
    page.click("#check-in")
    page.wait_for_selector("#check-out")
    # the run has only begun at the suite's fixed time: record the hour it has run so far
    page.fill("#run_minutes", "60")
    page.click("#check-out")
    page.wait_for_selector(".alert-success, .alert-danger")
    shots(page, "run-checked-out")
    assert page.locator(".alert-danger").count() == 0, page.inner_text(".alert-danger")

    # results, then three signatures by three people, then the issue
    page.goto(order_url)
    page.click("#start-report")
    page.wait_for_selector("#results-form")
    report_url = page.url
    rows = page.locator("#results-form tbody tr")
    for n in range(rows.count()):
        row = rows.nth(n)
        text = row.inner_text()
        # corrosion rate in g/(m²·h); appearance rated to GB/T 6461 (10 is no corrosion)
        row.locator("input[name^=value-]").fill("0.32" if "腐蚀速率" in text else "10")
        row.locator("select[name^=verdict-]").select_option("pass")
    page.fill("#conclusion", "所检项目符合 GB/T 10125-2021 规定。")
    page.click("#results-form button[type=submit]")
    page.wait_for_selector(".alert-success, .alert-danger")
    shots(page, "results-entered")
    assert page.locator(".alert-danger").count() == 0, page.inner_text(".alert-danger")
    sign_out(page)
    _sign(page, base, "tech@demo.sharehub.cn", "prepared", report_url)
    sign_in(page, base, "tech@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(report_url)
    page.click("#sign-reviewed")  # nobody signs twice: refused with the reason
    page.wait_for_selector(".alert-danger")
    shots(page, "second-signature-refused")
    sign_out(page)
    _sign(page, base, "reviewer@demo.sharehub.cn", "reviewed", report_url)
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(report_url)
    page.click("#sign-approved")
    page.wait_for_selector("#issue-report")
    page.click("#issue-report")
    page.wait_for_selector("#download-report")
    assert "CMA" in page.inner_text("#report-marks")
    shots(page, "report-issued")

    # the statement from the order's lines, issued
    page.goto(order_url)
    page.click("#bill-order")
    page.wait_for_selector("#issue-invoice")
    page.click("#issue-invoice")
    page.wait_for_selector("#payment-box")
    statement_url = page.url
    shots(page, "statement-issued")
    sign_out(page)

    # the firm, in English: the report, its verification, the voucher
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(order_url)
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "On time" in page.inner_text("#turnaround")
    shots(page, "order-reported-en")
    page.goto(report_url)
    with page.expect_response(lambda r: r.url.endswith("/pdf")) as answer:
        page.evaluate("url => fetch(url)", report_url + "/pdf")
    assert answer.value.status == 200
    assert answer.value.headers["content-type"] == "application/pdf"
    verify_link = page.locator("a[href*='/reports/verify']").first.get_attribute("href")
    page.goto(verify_link if verify_link.startswith("http") else base + verify_link)
    page.wait_for_selector("#verified")
    assert re.search(r"[Vv]alid", page.inner_text("#verified-status"))
    shots(page, "report-verified-en")
    page.goto(statement_url)
    option = page.locator("#voucher-box li").first
    shots(page, "statement-with-voucher-en")
    option.locator("button").click()
    page.wait_for_selector(".alert-success")
    shots(page, "voucher-applied-en")
    page.click("button[value=zh_CN]")
    page.wait_for_selector("html[lang=zh-CN]")
    sign_out(page)

    # the lab records the bank transfer of the rest: the statement is paid
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(statement_url)
    page.fill("#paid_date", clock.today().isoformat())
    page.click("#record-payment")
    page.wait_for_selector(".alert-success")
    shots(page, "statement-paid")
    assert errors == [], errors
