"""A regulator reads the sharing statistics: the overview, filtered by an industrial
cluster, drilled down to a lab and one of its units; the lab manager reads the lab's own
figures. The demo data carries a year of activity (sharehub/demo/activity.py)."""

from datetime import timedelta

import pytest

from tests.e2e.test_lab_signup_journey import DEMO_PASSWORD, sign_in, sign_out
from tests.support import clock

pytestmark = pytest.mark.e2e

CLUSTER = "苏州工业园区纳米新材料产业集群"
LAB = "国家新材料质量标准实验室（苏州）"


def _charts_drawn(page) -> int:
    """Canvases Chart.js has drawn on (it attaches an instance to each)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".filter(c => window.Chart && Chart.getChart(c)).length"
    )


def test_regulator_filters_drills_down_and_lab_reads_its_figures(live_server, page_in, shots):
    base = live_server
    page, errors = page_in()

    sign_in(page, base, "regulator@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#nav-stats")
    page.wait_for_selector("#stats-table")
    rows = page.locator("#stats-table tbody tr")
    assert rows.count() >= 5  # the five active demo labs (other journeys may admit more)
    assert _charts_drawn(page) == 2
    effective = page.inner_text("#kpi-effective_hours")
    assert effective not in ("0", "—")
    shots(page, "overview")

    page.select_option("#cluster", label=CLUSTER)
    page.click("#apply-filters")
    page.wait_for_url("**cluster=**")
    page.wait_for_selector("#stats-table")
    assert LAB in page.inner_text("#stats-table")
    assert "国家新一代信息技术质量标准实验室（深圳）" not in page.inner_text("#stats-table")
    assert page.inner_text("#kpi-effective_hours") != effective
    shots(page, "overview-cluster")

    page.click(f"#stats-table a:has-text('{LAB}')")
    page.wait_for_selector("#hours-table")
    assert LAB in page.inner_text("h1")
    assert _charts_drawn(page) == 1
    shots(page, "lab")

    page.click("#by-unit")
    page.wait_for_url("**level=unit**")
    first_unit = page.locator("#stats-table tbody tr a").first
    unit_name = first_unit.inner_text()
    first_unit.click()
    page.wait_for_selector("#unit-trend-table")
    assert unit_name.split()[-1] in page.inner_text("h1")
    assert page.locator("#unit-trend-table tbody tr").count() == 12  # months of the year
    shots(page, "unit")

    # A search for 300 free hours in one piece finds nothing: it shows as unmet demand.
    wanted = (clock.today() + timedelta(days=30)).isoformat()
    page.goto(f"{base}/catalog?q=扫描电镜&from={wanted}&hours=300")
    page.wait_for_selector("#result-count")
    page.goto(f"{base}/stats/")
    page.click("#open-demand")
    page.wait_for_selector("#demand-table")
    latest = page.locator("#misses-table tbody tr").first.inner_text()
    assert "扫描电镜" in latest and "300" in latest and wanted in latest
    assert int(page.inner_text("#demand-declined")) > 0  # demo declines for capacity
    assert _charts_drawn(page) == 1
    shots(page, "demand")
    sign_out(page)

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.click("#lab-menu")
    page.click("#nav-lab-stats")
    page.wait_for_selector("#hours-table")
    assert LAB in page.inner_text("h1")
    assert page.inner_text("#kpi-effective_hours") not in ("0", "—")
    shots(page, "lab-manager")
    assert errors == []
