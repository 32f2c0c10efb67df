"""How to pay a statement: the bank details carry the account holder (户名, the lab's own
name unless the lab gives another), on the page and in the PDF; with no bank details and no
online payment, the page says whom to contact."""

import io

from sharehub.accounts.models import Organisation
from sharehub.billing.pdf import invoice_pdf
from tests.support.billing import issued_for


def _pdf_text(invoice) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    return "".join(page.extract_text() for page in reader.pages)


def test_the_lab_names_the_account_holder_and_the_statement_shows_it(
    client, db, booked, lab, lab_manager, login
):
    login(lab_manager)
    response = client.post(
        "/lab/settings",
        data={
            "vat_rate_bp": 600,
            "bank_holder": "苏州市检验检测中心（财务专户）",
            "bank_name": "工商银行苏州分行",
            "bank_account": "1102 0200 0000 0001",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, lab.id).bank_holder == "苏州市检验检测中心（财务专户）"
    assert "苏州市检验检测中心（财务专户）" in client.get("/lab/settings").get_data(as_text=True)
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    assert invoice.seller["bank_holder"] == "苏州市检验检测中心（财务专户）"
    client.post("/account/signout")

    login(booked.customer_user)
    html = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert (
        '<dd class="col-7 col-sm-8 mb-0" id="bank-holder">苏州市检验检测中心（财务专户）</dd>'
        in html
    )
    assert "1102 0200 0000 0001" in html and "工商银行苏州分行" in html
    assert invoice.payment_reference in html and invoice.number in html
    text = _pdf_text(invoice)
    assert "苏州市检验检测中心（财务专户）" in text and "1102 0200 0000 0001" in text


def test_the_holder_is_the_labs_name_when_left_empty(client, db, booked, lab, lab_manager, login):
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    assert lab.bank_holder == "" and invoice.seller["bank_holder"] == lab.name
    login(booked.customer_user)
    html = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert f'id="bank-holder">{lab.name}</dd>' in html
    assert lab.name in _pdf_text(invoice)


def test_without_bank_details_or_online_payment_the_page_says_whom_to_contact(
    client, db, booked, lab, lab_manager, login
):
    lab.bank_name, lab.bank_account = "", ""
    lab.contact_name, lab.contact_phone = "王老师", "0512-6666 8888"
    lab.contact_email = "pay@lab.example.cn"
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    login(booked.customer_user)
    html = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert 'id="online-payment"' not in html and 'id="merchant-payment"' not in html
    assert 'id="bank-details"' not in html
    contact = html[html.index('id="contact-lab"') :]
    contact = contact[: contact.index("</p>")]
    for expected in ("王老师", "0512-6666 8888", "mailto:pay@lab.example.cn"):
        assert expected in contact
    assert invoice.payment_reference in html
