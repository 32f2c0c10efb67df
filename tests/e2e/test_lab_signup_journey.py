"""A laboratory signs up in Chinese, is admitted by the administrator, and signs in."""

import pytest

from tests.support.accounts import make_credit_code
from tests.support.e2e import DEMO_PASSWORD, path_of, sign_in, sign_out
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.e2e


def test_lab_signs_up_in_chinese_is_admitted_and_signs_in(
    live_server, page_in, mailbox, shots, tmp_path
):
    base = live_server
    page, errors = page_in()

    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shots(page, "home-zh")

    page.click("text=实验室注册")
    page.check("input[name=kind][value=lab]")
    assert page.locator("#cnas_number").is_visible()
    assert not page.locator("#is_sme").is_visible()
    page.fill("#org_name", "国家先进陶瓷材料质量标准实验室")
    page.fill("#org_name_en", "National Advanced Ceramics Quality Standard Laboratory")
    page.fill("#credit_code", "not-a-valid-code!!")
    page.select_option("#region_id", label="苏州市")
    page.fill("#host_name", "苏州材料研究院")
    page.fill("#cnas_number", "CNAS L9876")
    page.fill("#cma_number", "221012349999")
    certificate = tmp_path / "CNAS认可证书.pdf"
    certificate.write_bytes(pdf_bytes())
    page.set_input_files("#documents", str(certificate))
    page.fill("#contact_name", "陈静")
    page.fill("#contact_phone", "0512-65880000")
    page.fill("#name", "陈静")
    page.fill("#email", "chen.jing@ceramics-lab.cn")
    page.fill("#password", "ceramics-lab-2026")
    page.fill("#password2", "ceramics-lab-2026")
    page.click("#signup-form button[type=submit]")
    # a bad credit code is explained in Chinese and the other fields are kept
    assert page.locator(".invalid-feedback").first.is_visible()
    assert page.input_value("#org_name") == "国家先进陶瓷材料质量标准实验室"
    shots(page, "signup-invalid-credit-code")

    page.fill("#credit_code", make_credit_code(990001))
    page.set_input_files("#documents", str(certificate))
    page.fill("#password", "ceramics-lab-2026")
    page.fill("#password2", "ceramics-lab-2026")
    page.click("#signup-form button[type=submit]")
    page.wait_for_selector("text=chen.jing@ceramics-lab.cn")
    shots(page, "check-email")

    link = mailbox.link_in_last("chen.jing@ceramics-lab.cn", "/account/verify/")
    page.goto(base + path_of(link))
    sign_in(page, base, "chen.jing@ceramics-lab.cn", "ceramics-lab-2026")
    page.goto(base + "/account/organisation")
    assert page.locator(".alert-warning").is_visible()  # awaiting admission
    shots(page, "lab-awaiting-admission")
    sign_out(page)

    sign_in(page, base, "admin@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(base + "/admin/")
    page.click("text=国家先进陶瓷材料质量标准实验室")
    assert page.locator("text=CNAS认可证书.pdf").is_visible()
    shots(page, "admin-reviews-lab")
    page.click("#admit-button")
    page.wait_for_selector(".alert-success")
    shots(page, "admin-admitted-lab")
    sign_out(page)

    admitted = mailbox.last_to("chen.jing@ceramics-lab.cn")
    assert "国家先进陶瓷材料质量标准实验室" in mailbox.body(admitted)

    sign_in(page, base, "chen.jing@ceramics-lab.cn", "ceramics-lab-2026")
    page.goto(base + "/account/organisation")
    assert page.locator(".badge.text-bg-success").first.is_visible()
    assert page.locator(".alert-warning").count() == 0
    shots(page, "lab-active")

    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    shots(page, "lab-active-en")
    assert errors == [], errors
