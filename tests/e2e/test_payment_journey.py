"""An enterprise books, the lab invoices, the enterprise applies its innovation voucher and
pays the rest by card on the local Stripe stand-in (the Checkout page in front of
localstripe) and downloads the invoice PDF, which is rendered to an image to be looked at."""

import urllib.parse
import urllib.request

import pytest

from tests.support.backend import BACKEND
from tests.support.e2e import DEMO_PASSWORD, sign_in, sign_out
from tests.support.live import live_server as serve
from tests.support.stripe_servers import checkout_server, localstripe_server

pytestmark = pytest.mark.e2e
SECRET = "whsec_journey"


@pytest.fixture
def stripe_site(postgres, mailbox, tmp_path):
    """ShareHub with online payment on, its Stripe calls going to the stand-in."""
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database("sharehub_payment_journey")
    else:
        url = f"sqlite:///{tmp_path / 'pay.db'}"
    with localstripe_server() as stripe_url, checkout_server(stripe_url, SECRET) as checkout:
        env = {
            "STRIPE_SECRET_KEY": "sk_test_local",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": checkout,
        }
        with serve(url, tmp_path, mail_port=mailbox.port, env=env) as base:
            hook = f"{base}/webhooks/stripe"
            for target, fields in (
                (f"{stripe_url}/_config/webhooks/sharehub", {"url": hook, "secret": SECRET}),
                (f"{checkout}/_config/webhook", {"url": hook}),
            ):
                data = urllib.parse.urlencode(fields).encode()
                urllib.request.urlopen(target, data=data, timeout=10).close()
            yield base


def book_and_invoice(page, base, shots) -> str:
    """The buyer books a microscope; the lab approves, drafts and issues the invoice."""
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
    shots(page, "lab-issued-invoice")
    invoice_url = page.url
    sign_out(page)
    return invoice_url


def test_enterprise_pays_by_card_and_downloads_the_invoice(stripe_site, page_in, shots):
    import pypdfium2

    base = stripe_site
    page, errors = page_in()
    invoice_url = book_and_invoice(page, base, shots)

    sign_in(page, base, "buyer@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(invoice_url)
    total = page.inner_text("#invoice-total")
    shots(page, "invoice-with-voucher-offer")
    # The demo programme pays 50 %: 254.40 of 508.80 by voucher, the rest by card.
    page.locator("#voucher-box button[id^=apply-voucher-]").first.click()
    page.wait_for_selector(".alert-success")
    assert "254.40" in page.inner_text("#payment-box")
    shots(page, "invoice-to-pay")
    page.locator("#online-payment button[value=card]").click()
    page.wait_for_selector("#pay")
    assert "Stripe Checkout" in page.inner_text("h1")
    page.fill("#number", "4000000000000341")  # a card the bank declines first
    page.fill("#exp", "12/35")
    page.fill("#cvc", "123")
    page.click("#pay")
    page.wait_for_selector("#error")
    shots(page, "card-declined")
    page.fill("#number", "4242424242424242")
    page.fill("#exp", "12/35")
    page.fill("#cvc", "123")
    shots(page, "checkout-card")
    page.click("#pay")
    page.wait_for_selector("#invoice-status")
    assert page.url.startswith(invoice_url)
    assert "text-bg-success" in page.locator("#invoice-status").get_attribute("class")
    payment_box = page.inner_text("#payment-box")
    assert "银行卡" in payment_box or "Card" in payment_box
    assert "创新券" in payment_box or "voucher" in payment_box
    shots(page, "invoice-paid")

    with page.expect_download() as download:
        page.click("#pdf-link")
    pdf_path = shots.folder / "invoice.pdf"
    download.value.save_as(pdf_path)
    document = pypdfium2.PdfDocument(str(pdf_path))
    text = document[0].get_textpage().get_text_range()
    for expected in ("场发射扫描电子显微镜", total.replace("¥", "").strip(), "254.40"):
        assert expected in text, expected
    image = document[0].render(scale=1.5).to_pil()
    image.save(shots.folder / "99-invoice-pdf.png")
    document.close()

    page.goto(f"{base}/invoices")
    page.click("#statement-link")
    if page.locator("#statement tbody a").count() == 0:  # the booking is next week:
        page.click("a.btn:has-text('›')")  # maybe next month
    assert total in page.inner_text("#statement")
    shots(page, "monthly-statement")
    sign_out(page)
    sign_in(page, base, "lab@demo.sharehub.cn", DEMO_PASSWORD)
    page.goto(f"{base}/lab/reconciliation")
    assert page.inner_text("#by-method").count("254.40") == 2  # card and voucher
    shots(page, "lab-reconciliation")
    assert errors == [], errors
