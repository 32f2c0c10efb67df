"""A lab enters its own Alipay keys and tests the connection; an enterprise pays two
statements by scanning the Alipay QR code, in Chinese and in English: the stand-in gateway
(tests/support/alipay_gateway.py) plays the phone and sends the signed notification, and
the payment page turns "paid" by itself."""

import pytest

from tests.support.alipay import control
from tests.support.alipay_gateway import bare, private_pem
from tests.support.backend import BACKEND
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.live import live_server as serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def alipay_site(postgres, mailbox, tmp_path, alipay_server):
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database("sharehub_alipay_journey")
    else:
        url = f"sqlite:///{tmp_path / 'alipay.db'}"
    env = {"ALIPAY_SERVER_URL": alipay_server + "/gateway.do"}
    with serve(url, tmp_path, mail_port=mailbox.port, env=env) as base:
        yield base


def book_and_issue(page, base) -> str:
    """The buyer books a microscope; the lab approves it, drafts and issues the statement."""
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/catalog?q=场发射扫描电子显微镜")
    page.locator(".listing-card a", has_text="场发射扫描电子显微镜").first.click()
    page.click("#book-button")
    page.click("#next-week")
    page.wait_for_selector(".slot")
    page.locator(".slot").first.click()
    page.wait_for_selector("#quote")
    page.fill("#purpose", "断口形貌观察")
    page.click("#confirm-booking")
    page.wait_for_selector("#booking-status")
    booking_url = page.url
    sign_out(page)
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(booking_url)
    page.click("#approve-booking")
    page.wait_for_selector(".alert-success")
    page.click("#create-invoice")
    page.wait_for_selector("#issue-invoice")
    page.click("#issue-invoice")
    page.wait_for_selector("#payment-box")
    statement_url = page.url
    sign_out(page)
    return statement_url


def pay_by_qr(page, alipay_server, statement_url, shots, name: str, paid_text: str) -> None:
    page.goto(statement_url)
    shots(page, f"{name}-statement")
    page.locator("#pay-alipay button[value=qr]").click()
    page.wait_for_selector("#online-qr svg")
    assert page.locator("#online-status").get_attribute("class").endswith("text-bg-primary")
    shots(page, f"{name}-qr")
    # The customer scans and pays on the phone; Alipay notifies ShareHub.
    answer = control(alipay_server, "/_test/pay", notify="1")
    assert answer["answer"] == "success", answer
    page.wait_for_selector("#online-paid-note:not(.d-none)", timeout=20000)
    assert page.locator("#online-qr").count() == 0
    assert paid_text in page.inner_text("#online-payment")
    shots(page, f"{name}-paid")
    page.click("#back-to-statement")
    page.wait_for_selector("#invoice-status")
    assert "text-bg-success" in page.locator("#invoice-status").get_attribute("class")
    shots(page, f"{name}-statement-paid")


def test_lab_sets_up_alipay_and_customers_pay_by_qr_in_chinese_and_english(
    alipay_site, alipay_server, alipay_keys, page_in, shots
):
    base = alipay_site
    page, errors = page_in()
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    # The demo lab is a new app at the stand-in: register its key there.
    control(
        alipay_server,
        "/_test/apps",
        app_id="2021004100000099",
        public_key=alipay_keys["app_public_key"],
    )
    page.click("#lab-menu")
    page.click("#nav-payment-accounts")
    page.wait_for_selector("#account-alipay")
    page.fill("#alipay-merchant_id", "2021004100000099")
    page.fill("#alipay-app_private_key", bare(private_pem(alipay_keys["app_key"])))
    page.fill("#alipay-alipay_public_key", alipay_keys["alipay_public_key"])
    page.check("#alipay-enabled")
    page.locator("#account-alipay button[type=submit]").first.click()
    page.wait_for_selector(".alert-success")
    page.click("#test-alipay")
    page.wait_for_selector("#check-alipay")
    assert "支付宝已接受密钥" in page.inner_text("main")
    assert "已设置，末尾" in page.inner_text("#account-alipay")
    html = page.content()
    assert alipay_keys["app_private_key"][100:140] not in html
    shots(page, "lab-payment-accounts")
    sign_out(page)

    first = book_and_issue(page, base)
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    pay_by_qr(page, alipay_server, first, shots, "zh", "款项已到账")
    sign_out(page)

    second = book_and_issue(page, base)
    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(second)
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    pay_by_qr(page, alipay_server, second, shots, "en", "the payment has arrived")
    assert errors == [], errors
