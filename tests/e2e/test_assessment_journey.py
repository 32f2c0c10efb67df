"""A regulator filters the labs by cluster and opens a lab; the platform administrator runs
an assessment round (the regulator reviews its labs in it); the regulator draws a spot check
of its region and issues a rectification notice; the lab answers with evidence; the notice
is closed."""

from datetime import timedelta

import pytest

from tests.support import clock
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.e2e

CLUSTER = "苏州工业园区纳米新材料产业集群"
LAB = "国家新材料质量标准实验室（苏州）"


def test_regulator_assesses_spot_checks_and_the_lab_rectifies(
    live_server, page_in, shots, mailbox, tmp_path
):
    base = live_server
    page, errors = page_in()

    sign_in(page, base, "regulator@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#nav-stats")
    page.wait_for_selector("#filter-form")
    shots(page, "statistics-dashboard")
    page.select_option("#filter-form #cluster", label=CLUSTER)
    page.click("#filter-form button[type=submit]")
    page.wait_for_load_state()
    shots(page, "statistics-of-cluster")
    page.locator("main table a", has_text=LAB).first.click()
    page.wait_for_load_state()
    lab_id = int(page.url.split("/stats/labs/")[1].split("?")[0])
    shots(page, "lab-figures")
    page.goto(f"{base}/supervision/labs/{lab_id}")
    page.wait_for_selector("#status-form")
    shots(page, "lab-supervision")

    # an assessment round: rounds assess every lab, so the platform administrator opens them
    sign_out(page)
    sign_in(page, base, "admin@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/supervision/rounds")
    page.fill("#name", "2026年度开放共享评价")
    page.fill("#start", "2026-01-01")
    page.fill("#end", "2026-10-31")
    page.click("#round-form button[type=submit]")
    page.wait_for_selector("#review-form")
    page.select_option("#review-form #lab", label=LAB)
    page.fill("#review-form #points", "18")
    page.fill("#review-form #comment", "管理制度健全，开放共享协调机制运行有效")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("#reviews-table >> text=管理制度健全")
    page.click("#compute-button")
    page.wait_for_selector("#scorecards-table")
    shots(page, "round-computed")
    row = page.locator("#scorecards-table tbody tr", has_text=LAB)
    assert float(row.locator("td").nth(2).inner_text()) >= 18  # at least the reviewed points
    row.locator("a[href*='/scorecards/']").click()
    page.wait_for_selector("#lines-table")
    assert "18" in page.locator("#lines-table").inner_text()
    shots(page, "scorecard")

    # a spot check of the cluster's labs, by the regulator of their region
    sign_out(page)
    sign_in(page, base, "regulator@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/supervision/spot-checks")
    page.fill("#title", "2026年第四季度随机抽查")
    page.select_option("#kind", value="lab")
    page.fill("#sample_size", "5")
    page.select_option("#cluster", label=CLUSTER)
    page.fill("#seed", "2026-苏州-Q4")
    page.click("#draw-form button[type=submit]")
    page.wait_for_selector("#items")
    assert page.locator("#seed").inner_text() == "2026-苏州-Q4"
    item = page.locator("#items .list-group-item", has_text=LAB)
    item.locator("select").select_option(value="failed")
    item.locator("textarea").fill("2026年大型仪器使用记录缺少样品信息，开放机时公示不及时")
    item.locator("button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    shots(page, "spot-check-finding")
    page.locator("#items .list-group-item", has_text=LAB).locator("a.btn-warning").click()

    # the rectification notice
    page.wait_for_selector("#notice-form")
    page.fill("#requirements", "补齐样品信息并提交整改说明与记录截图")
    page.fill("#deadline", (clock.today() + timedelta(days=30)).isoformat())
    shots(page, "notice-form")
    page.click("#notice-form button[type=submit]")
    page.wait_for_selector("#notice-status")
    notice_url = page.url
    shots(page, "notice-issued")
    sign_out(page)
    assert "整改通知" in mailbox.last_to("lab@demo.sharehub.cn")["Subject"]

    # the lab answers with evidence
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.wait_for_load_state("load")  # the dropdown needs Bootstrap's script
    page.click("#lab-menu")
    page.locator("a[href='/supervision/our']").wait_for(state="visible")
    page.click("a[href='/supervision/our']")
    page.wait_for_selector("#our-notices")
    shots(page, "lab-supervision-overview")
    page.locator("#our-notices a").first.click()
    evidence = tmp_path / "整改说明.pdf"
    evidence.write_bytes(pdf_bytes())
    page.fill("#response", "已补齐全部使用记录的样品信息，开放机时改为每周一公示。")
    page.set_input_files("#evidence", str(evidence))
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector("#evidence-list")
    assert "整改说明.pdf" in page.locator("#evidence-list").inner_text()
    shots(page, "lab-answered")
    sign_out(page)

    # the regulator closes it; the lab is active again
    sign_in(page, base, "regulator@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(notice_url)
    page.fill("#close-form #note", "整改材料核实无误")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "text-bg-success" in page.locator("#notice-status").get_attribute("class")
    shots(page, "notice-closed")
    page.goto(f"{base}/labs")
    assert page.locator("#register-table tr", has_text=LAB).count() == 1
    shots(page, "public-register")
    assert errors == [], errors
