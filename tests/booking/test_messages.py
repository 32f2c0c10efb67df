"""Message threads on a booking, through HTTP: writing with attachments, notifications and
mail to the other side, unread counts in the navigation and the lists, and who may read."""

import io

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking.messages import MessageAttachment, Thread, ThreadMessage
from sharehub.core.models import Notification
from tests.support.files import pdf_bytes, png_bytes

EN = {"Accept-Language": "en"}


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def buyer(booked):
    return booked.customer_user


def test_customer_writes_with_a_file_lab_is_told_reads_and_answers(
    client, db, booked, buyer, lab_manager, login, mailbox
):
    login(buyer)
    page = client.get(f"/messages/booking/{booked.id}", headers=EN)
    assert page.status_code == 200 and "No message yet." in page.get_data(as_text=True)
    response = client.post(
        f"/messages/booking/{booked.id}",
        data={"body": "样品何时送达？", "files": [(io.BytesIO(pdf_bytes()), "委托单.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    message = db.session.scalar(sa.select(ThreadMessage))
    assert message.side == "customer" and message.body == "样品何时送达？"
    assert [a.original_name for a in message.attachments] == ["委托单.pdf"]
    # the lab manager hears of it: in the app and by mail, and in the navigation count
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == lab_manager.id))
    assert note is not None and f"/messages/booking/{booked.id}" in note.link
    mail = mailbox.last_to(lab_manager.email)
    assert "New message about Booking" in mail["Subject"]
    assert "样品何时送达？" in mailbox.body(mail)
    # the writer is not told of their own message
    mine = sa.select(Notification).where(
        Notification.user_id == buyer.id, Notification.link.like("/messages/%")
    )
    assert db.session.scalar(mine) is None
    client.post("/account/signout")

    login(lab_manager)
    home = client.get("/catalog", headers=EN).get_data(as_text=True)
    assert 'id="unread-messages">1<' in home
    listing = client.get("/messages", headers=EN).get_data(as_text=True)
    assert 'data-unread="1"' in listing
    thread_page = client.get(f"/messages/booking/{booked.id}", headers=EN).get_data(as_text=True)
    assert "样品何时送达？" in thread_page and "委托单.pdf" in thread_page
    home = client.get("/catalog", headers=EN).get_data(as_text=True)
    assert 'id="unread-messages"' not in home  # read now
    attachment = message.attachments[0]
    download = client.get(f"/messages/files/{attachment.id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    download.close()
    client.post(
        f"/messages/booking/{booked.id}",
        data={"body": "明天上午送到即可。"},
        content_type="multipart/form-data",
    )
    client.post("/account/signout")

    login(buyer)
    assert "明天上午送到即可。" in mailbox.body(mailbox.last_to(buyer.email))
    bookings = client.get("/bookings", headers=EN).get_data(as_text=True)
    assert 'data-unread="1"' in bookings
    booking_page = client.get(f"/bookings/{booked.id}", headers=EN).get_data(as_text=True)
    assert 'id="booking-messages"' in booking_page


def test_a_colleague_of_the_customer_and_a_lab_member_take_part(
    client, db, booked, lab, make_user, login
):
    colleague = make_user(booked.customer_org, role=Role.MEMBER)
    technician = make_user(lab, role=Role.MEMBER)
    for user, text in ((colleague, "同事补充"), (technician, "检测员回复")):
        login(user)
        response = client.post(
            f"/messages/booking/{booked.id}",
            data={"body": text},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        client.post("/account/signout")
    sides = db.session.execute(sa.select(ThreadMessage.side, ThreadMessage.body)).all()
    assert sorted(sides) == [("customer", "同事补充"), ("lab", "检测员回复")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"body": "   "}, "Write a message or attach a file."),
        ({"body": "x" * 5001}, "at most 5000 characters"),
        (
            {"body": "见附件", "files": [(io.BytesIO(b"MZ\x90\x00not a document"), "a.exe")]},
            "not a PDF, JPEG, PNG or WebP",
        ),
        (
            {
                "body": "见附件",
                "files": [(io.BytesIO(b"%PDF-1.4\n" + b"0" * 2048), "big.pdf")],
            },
            "larger than 1 KB",
        ),
        (
            {"body": "多图", "files": [(io.BytesIO(png_bytes()), f"{n}.png") for n in range(6)]},
            "At most 5 files",
        ),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(
    client, db, booked, buyer, login, data, expected, monkeypatch
):
    from sharehub.booking import messages

    monkeypatch.setattr(messages, "MAX_ATTACHMENT_BYTES", 1024)
    notes = _count(db, Notification)
    login(buyer)
    response = client.post(
        f"/messages/booking/{booked.id}", data=data, content_type="multipart/form-data", headers=EN
    )
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    assert _count(db, ThreadMessage) == 0 and _count(db, MessageAttachment) == 0
    assert _count(db, Notification) == notes


@pytest.fixture
def outsiders(make_org, make_user):
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    regulator_org = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")
    admin_org = make_org(kind=OrgKind.PLATFORM, name="平台运营")
    return {
        "other lab staff": make_user(other_lab, role=Role.MANAGER),
        "other enterprise": make_user(make_org(name="别家企业")),
        "regulator": make_user(regulator_org, role=Role.OWNER),
        "platform admin": make_user(admin_org),
    }


@pytest.mark.parametrize(
    "who", ["other lab staff", "other enterprise", "regulator", "platform admin", "anonymous"]
)
def test_outsiders_neither_read_nor_write_nor_download(
    client, db, booked, buyer, login, outsiders, who
):
    from sharehub.booking import messages

    messages.post(buyer, "booking", booked, "保密内容", [(pdf_bytes(), "合同.pdf")])
    db.session.commit()
    attachment = db.session.scalar(sa.select(MessageAttachment))
    before = (_count(db, ThreadMessage), _count(db, Notification))
    if who != "anonymous":
        login(outsiders[who])
    pages = [
        client.get(f"/messages/booking/{booked.id}"),
        client.post(
            f"/messages/booking/{booked.id}",
            data={"body": "插话"},
            content_type="multipart/form-data",
        ),
        client.get(f"/messages/files/{attachment.id}"),
    ]
    for response in pages:
        if who == "anonymous":
            assert response.status_code == 302 and "/account/signin" in response.location
        else:
            assert response.status_code == 404
            assert "保密内容" not in response.get_data(as_text=True)
    if who != "anonymous":
        listing = client.get("/messages").get_data(as_text=True)
        assert f"/messages/booking/{booked.id}" not in listing
    db.session.expire_all()
    assert (_count(db, ThreadMessage), _count(db, Notification)) == before
    assert _count(db, Thread) == 1


def test_unknown_kind_or_subject_is_not_found(client, db, booked, buyer, login):
    login(buyer)
    assert client.get("/messages/invoice/1").status_code == 404
    assert client.get(f"/messages/booking/{booked.id + 1000}").status_code == 404
