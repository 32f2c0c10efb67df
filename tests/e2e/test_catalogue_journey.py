"""A lab lists an instrument with a photo, the administrator approves it, and an enterprise
finds it with a Chinese query and a filter."""

import io

import pytest
from PIL import Image, ImageDraw

from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out

pytestmark = pytest.mark.e2e


def photo_file(tmp_path):
    image = Image.new("RGB", (800, 600), (24, 70, 110))
    draw = ImageDraw.Draw(image)
    draw.rectangle((220, 140, 580, 470), fill=(225, 230, 235))
    draw.rectangle((260, 180, 420, 280), fill=(40, 160, 200))
    draw.ellipse((470, 330, 540, 400), fill=(90, 90, 90))
    path = tmp_path / "raman.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_lab_lists_admin_approves_enterprise_finds(live_server, page_in, shots, tmp_path):
    base = live_server
    page, errors = page_in()

    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/listings/new?kind=equipment")
    page.fill("#name", "低波数显微拉曼光谱仪")
    page.fill("#name_en", "Low-wavenumber Raman microscope")
    page.fill("#description", "用于材料分子结构、应力与晶型分析，空间分辨率优于1微米。")
    page.select_option("#field", "new_materials")
    page.fill("#category_code", "020306")
    page.fill("#price_external", "680")
    page.fill("#price_internal", "400")
    page.fill("#price_cluster", "550")
    page.fill("#model", "HORIBA LabRAM HR Evolution")
    page.fill("#manufacturer", "HORIBA")
    page.fill("#country_of_origin", "法国")
    page.fill("#original_value", "2380000")
    page.fill("#main_indicators", "光谱分辨率 ≤0.3 cm⁻¹；激光 532/633/785 nm")
    shots(page, "new-listing-form")
    page.click("#save-listing")
    page.wait_for_load_state()
    shots(page, "after-save")
    page.wait_for_selector("#listing-status")
    page.select_option("#role", "photo")
    page.set_input_files("#file", str(photo_file(tmp_path)))
    page.click("#upload-file")
    page.wait_for_selector("img.file-thumb")
    page.click("#submit-listing")
    page.wait_for_selector(".alert-success")
    shots(page, "listing-submitted")
    sign_out(page)

    sign_in(page, base, "admin@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/admin/reviews")
    page.click("text=低波数显微拉曼光谱仪")
    page.wait_for_selector("#approve-button")
    shots(page, "admin-review")
    page.click("#approve-button")
    page.wait_for_selector(".alert-success")
    sign_out(page)

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(base + "/")
    page.fill("#q", "拉曼")
    page.press("#q", "Enter")
    page.wait_for_selector("#result-count")
    page.click("aside a:has-text('仪器设备'), aside a:has-text('Equipment')")
    page.wait_for_url("**kind=equipment**")
    assert "q=%E6%8B%89%E6%9B%BC" in page.url or "q=拉曼" in page.url
    card = page.locator(".listing-card", has_text="低波数显微拉曼光谱仪")
    assert card.count() == 1
    assert card.locator("img").count() == 1
    shots(page, "search-results")
    card.locator("a").first.click()
    page.wait_for_selector("#price")
    assert "HORIBA" in page.content()
    shots(page, "listing-page")
    assert errors == [], errors
