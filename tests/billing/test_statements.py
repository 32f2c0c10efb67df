"""The enterprise's monthly statement and the lab's reconciliation with a bank statement,
with exact figures."""

import io
from datetime import timedelta

import sqlalchemy as sa

from sharehub.billing import payments, queries
from sharehub.billing.models import Payment, PaymentMethod
from sharehub.booking import services as booking_services
from sharehub.booking.availability import LAB_TZ
from tests.support import clock
from tests.support.billing import issued_for
from tests.support.clock import at


def book(user, org, listing, day, hour):
    booking = booking_services.create_booking(
        user,
        org,
        listing,
        booking_services.BookingRequest(starts_dt=at(day, hour, 30), ends_dt=at(day, hour + 2, 30)),
    )
    return booking


def test_statement_of_a_month_with_exact_figures(db, booked, lab_manager, make_listing):
    customer, user = booked.customer_org, booked.customer_user
    day = booked.starts_dt.astimezone(LAB_TZ).date()
    # 1) booked: 1,059.98 invoiced; 400.00 by voucher and 659.98 by transfer.
    first = issued_for(lab_manager, booked)
    payments.apply_payment(first, PaymentMethod.VOUCHER, 40000)
    payments.record_bank_transfer(lab_manager, first, 65998, clock.today(), "t1")
    # 2) a second booking the same day, invoiced and paid, then cancelled late with a
    #    50 % fee: 529.99 kept, the other 529.99 credited and refunded.
    second = book(user, customer, booked.listing, day, 13)
    second_invoice = issued_for(lab_manager, second)
    payments.record_bank_transfer(lab_manager, second_invoice, 105998, clock.today(), "t2")
    second.listing.free_cancel_hours, second.listing.cancel_fee_percent = 24 * 365, 50
    booking_services.cancel(user, second, "")
    second.listing.free_cancel_hours, second.listing.cancel_fee_percent = 48, 0
    # 3) a third booking, invoiced and unpaid; 4) one in the freed slot, not invoiced yet.
    third = book(user, customer, booked.listing, day, 15)
    issued_for(lab_manager, third)
    book(user, customer, booked.listing, day, 13)
    db.session.commit()

    rows = queries.statement(customer.id, day.year, day.month)
    got = [(r["invoiced"], r["voucher"], r["paid"], r["open"]) for r in rows]
    assert got == [
        (105998, 40000, 65998, 0),
        (52999, 0, 52999, 0),
        (0, 0, 0, 0),
        (105998, 0, 0, 105998),
    ]
    assert rows[1]["cancel_fee"] == 52999
    assert [r["invoice_number"] != "" for r in rows] == [True, True, False, True]
    # Another month, another firm: nothing.
    other = day.replace(day=1) - timedelta(days=1)
    assert queries.statement(customer.id, other.year, other.month) == []
    assert queries.statement(lab_manager.memberships[0].organisation_id, day.year, day.month) == []


def test_statement_page_and_csv_show_only_the_firms_orders(
    client, db, booked, lab_manager, login, make_org, make_user
):
    issued_for(lab_manager, booked)
    db.session.commit()
    day = booked.starts_dt.astimezone(LAB_TZ).date()
    month = f"{day.year}-{day.month:02d}"
    login(booked.customer_user)
    page = client.get(f"/invoices/statement?month={month}").get_data(as_text=True)
    assert f"#{booked.id}" in page and "1,059.98" in page
    csv_text = client.get(f"/invoices/statement?month={month}&format=csv").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 2 and lines[1].endswith("1059.98,0.00,0.00,1059.98")
    assert client.get("/invoices/statement?month=nonsense").status_code == 200

    stranger = make_user(make_org(name="别的企业"), email="stranger@example.cn")
    client.post("/account/signout")
    login(stranger)
    assert f"#{booked.id}" not in client.get(f"/invoices/statement?month={month}").get_data(
        as_text=True
    )


def gbk_statement(*lines: str) -> io.BytesIO:
    return io.BytesIO(
        ("交易日期,收入金额,附言,对方户名\n" + "\n".join(lines) + "\n").encode("gb18030")
    )


def test_a_bank_statement_is_matched_and_recorded_once(
    client, db, booked, lab_manager, login, english
):
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    today = clock.today().isoformat()
    login(lab_manager)
    upload = gbk_statement(
        f"{today},1059.98,货款 {invoice.payment_reference},苏州精密制造有限公司",
        f"{today},20.00,没有编号,某公司",
        f"{today},9999.00,{invoice.payment_reference} 多付,某公司",
    )
    page = client.post(
        "/lab/reconciliation/statement",
        data={"statement": (upload, "statement.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert page.count('name="line"') == 1
    for outcome in ("Matches an open statement", "No statement reference", "More than is open"):
        assert outcome in page
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0

    form = {
        "line": "2",
        "invoice-2": str(invoice.id),
        "amount-2": "105998",
        "date-2": today,
        "reference-2": f"货款 {invoice.payment_reference}",
    }
    done = client.post("/lab/reconciliation/record", data=form, follow_redirects=True)
    assert "1 receipts recorded" in done.get_data(as_text=True)
    db.session.expire_all()
    assert invoice.status.value == "paid"

    again = client.post(
        "/lab/reconciliation/statement",
        data={
            "statement": (
                gbk_statement(f"{today},1059.98,货款 {invoice.payment_reference},苏州精密"),
                "s.csv",
            )
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Already recorded" in again and 'name="line"' not in again
    replay = client.post("/lab/reconciliation/record", data=form, follow_redirects=True)
    assert "Only an issued, unpaid statement takes payments." in replay.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_a_bad_statement_is_refused_whole_with_the_line_named(
    client, db, booked, lab_manager, login, english
):
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    login(lab_manager)
    bad = gbk_statement(
        f"{clock.today()},1059.98,{invoice.payment_reference},甲", "昨天,12.00,SH00000001,乙"
    )
    answer = client.post(
        "/lab/reconciliation/statement",
        data={"statement": (bad, "s.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Line 3: give the date as YYYY-MM-DD" in answer
    no_columns = io.BytesIO(b"a,b\n1,2\n")
    answer = client.post(
        "/lab/reconciliation/statement",
        data={"statement": (no_columns, "s.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The file needs a column named" in answer
    binary = io.BytesIO(b"\xff\xfe\x00\x00garbage\x81")
    answer = client.post(
        "/lab/reconciliation/statement",
        data={"statement": (binary, "s.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "neither UTF-8 nor GBK" in answer or "The file needs a column" in answer
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_another_lab_cannot_record_against_this_labs_invoice(
    client, db, booked, lab_manager, login, make_org, make_user
):
    from sharehub.accounts.models import OrgKind, OrgStatus, Role

    invoice = issued_for(lab_manager, booked)
    other_lab = make_org(name="另一实验室", kind=OrgKind.LAB, status=OrgStatus.ACTIVE)
    other = make_user(other_lab, email="other-lab@example.cn", role=Role.MANAGER)
    db.session.commit()
    login(other)
    client.post(
        "/lab/reconciliation/record",
        data={
            "line": "2",
            "invoice-2": str(invoice.id),
            "amount-2": "105998",
            "date-2": clock.today().isoformat(),
            "reference-2": "x",
        },
    )
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    assert client.get("/lab/reconciliation").status_code == 200
    assert invoice.number not in client.get("/lab/reconciliation").get_data(as_text=True)
