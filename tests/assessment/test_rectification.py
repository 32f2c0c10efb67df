"""Rectification: a notice with a deadline, the lab's answer with evidence, closing or
escalating it, and what that does to the lab's status."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton

from sharehub.accounts.models import OrgStatus
from sharehub.assessment import rectification, spotchecks
from sharehub.assessment.models import (
    FindingResult,
    NoticeStatus,
    RectificationNotice,
    SpotCheckKind,
)
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.models import AuditEntry
from tests.support.files import pdf_bytes, png_bytes


def en_day(day):
    """A day as English pages and mail write it (Babel's medium date)."""
    return format_skeleton("yMMMd", day, locale="en")


pytestmark = pytest.mark.usefixtures("english")


def _notice(admin, lab, days=30, **kw):
    return rectification.issue_notice(
        admin,
        lab,
        findings="大型仪器开放机时记录不全",
        requirements="补齐 2026 年使用记录并提交说明",
        deadline=utcnow().date() + timedelta(days=days),
        **kw,
    )


def test_the_whole_way_through_http(
    client, db, lab, lab_manager, platform_admin, login, mailbox, storage_dir
):
    check = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 1, seed="s")
    spotchecks.record_finding(platform_admin, check.items[0], FindingResult.FAILED, "记录不全")
    db.session.commit()
    item = check.items[0]
    deadline = (utcnow().date() + timedelta(days=30)).isoformat()

    login(platform_admin)
    form = client.get(f"/supervision/labs/{lab.id}/notices/new?item={item.id}")
    assert "记录不全" in form.get_data(as_text=True)  # the finding is the starting text
    past = client.post(
        f"/supervision/labs/{lab.id}/notices/new?item={item.id}",
        data={"findings": "记录不全", "deadline": "2020-01-01"},
    )
    assert past.status_code == 400 and "after today" in past.get_data(as_text=True)
    assert "记录不全" in past.get_data(as_text=True)  # what was typed stays
    response = client.post(
        f"/supervision/labs/{lab.id}/notices/new?item={item.id}",
        data={
            "findings": "记录不全",
            "requirements": "补齐记录",
            "deadline": deadline,
            "place_under_rectification": "y",
        },
    )
    assert response.status_code == 302
    notice = db.session.scalar(sa.select(RectificationNotice))
    assert notice.spot_check_item_id == item.id and lab.status == OrgStatus.RECTIFYING
    mail = mailbox.last_to(lab_manager.email)
    assert f"Rectification notice #{notice.id}" in mail["Subject"]
    assert en_day(date.fromisoformat(deadline)) in mailbox.body(mail)
    client.post("/account/signout")

    login(lab_manager)
    assert "记录不全" in client.get("/supervision/our").get_data(as_text=True)
    empty = client.post(f"/supervision/notices/{notice.id}/answer", data={"response": "已补齐"})
    assert empty.status_code == 400 and "at least one document" in empty.get_data(as_text=True)
    assert "已补齐" in empty.get_data(as_text=True)
    bad = client.post(
        f"/supervision/notices/{notice.id}/answer",
        data={"response": "已补齐", "evidence": [(io.BytesIO(b"hello"), "x.pdf")]},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and notice.status == NoticeStatus.OPEN
    answered = client.post(
        f"/supervision/notices/{notice.id}/answer",
        data={
            "response": "已补齐 2026 年全部使用记录",
            "evidence": [
                (io.BytesIO(pdf_bytes()), "说明.pdf"),
                (io.BytesIO(png_bytes()), "记录截图.png"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302
    db.session.refresh(notice)
    assert notice.status == NoticeStatus.ANSWERED
    assert [e.original_name for e in notice.evidence] == ["说明.pdf", "记录截图.png"]
    assert [e.content_type for e in notice.evidence] == ["application/pdf", "image/png"]
    download = client.get(f"/supervision/evidence/{notice.evidence[0].id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    download.close()
    assert client.post(f"/supervision/notices/{notice.id}/close", data={}).status_code == 403
    client.post("/account/signout")

    login(platform_admin)
    assert "answered rectification notice" in mailbox.last_to(platform_admin.email)["Subject"]
    closed = client.post(f"/supervision/notices/{notice.id}/close", data={"note": "整改到位"})
    assert closed.status_code == 302
    db.session.refresh(notice)
    assert notice.status == NoticeStatus.CLOSED and lab.status == OrgStatus.ACTIVE
    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.object_type == "rectification_notice", AuditEntry.object_id == notice.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "rectification.issued",
        "rectification.evidence_added",
        "rectification.evidence_added",
        "rectification.answered",
        "rectification.closed",
    ]


def test_escalation_waits_for_the_deadline_then_suspends_and_can_revoke(
    db, lab, lab_manager, make_listing, platform_admin
):
    listing = make_listing(lab)
    notice = _notice(platform_admin, lab, days=10)
    assert lab.status == OrgStatus.RECTIFYING and listing.can_view(lab_manager)
    with pytest.raises(Conflict, match="has until"):
        rectification.escalate(platform_admin, notice, "逾期未整改", OrgStatus.SUSPENDED)
    notice.deadline_date = utcnow().date() - timedelta(days=1)
    assert notice.is_overdue
    with pytest.raises(ValidationError, match="reason"):
        rectification.escalate(platform_admin, notice, "", OrgStatus.SUSPENDED)
    rectification.escalate(platform_admin, notice, "逾期未整改", OrgStatus.SUSPENDED)
    assert notice.status == NoticeStatus.ESCALATED and lab.status == OrgStatus.SUSPENDED
    assert not lab.is_serving
    with pytest.raises(Conflict):
        rectification.answer(lab_manager, notice, "现在补", [(pdf_bytes(), "a.pdf")])

    second = _notice(platform_admin, lab, days=5)  # a suspended lab can still be asked
    rectification.answer(lab_manager, second, "已整改", [(pdf_bytes(), "b.pdf")])
    rectification.escalate(platform_admin, second, "整改材料不实", OrgStatus.REVOKED)
    assert lab.status == OrgStatus.REVOKED
    with pytest.raises(Conflict, match="not admitted"):
        _notice(platform_admin, lab)


def test_closing_one_of_two_notices_keeps_the_lab_under_rectification(
    db, lab, lab_manager, platform_admin
):
    first, second = _notice(platform_admin, lab), _notice(platform_admin, lab)
    for notice in (first, second):
        rectification.answer(lab_manager, notice, "已整改", [(pdf_bytes(), "a.pdf")])
    rectification.close(platform_admin, first, "")
    assert lab.status == OrgStatus.RECTIFYING
    rectification.close(platform_admin, second, "全部整改到位")
    assert lab.status == OrgStatus.ACTIVE
    minor = _notice(platform_admin, lab, place_under_rectification=False)
    assert lab.status == OrgStatus.ACTIVE and minor.status == NoticeStatus.OPEN


def test_other_labs_and_firms_cannot_see_or_answer(
    client, db, lab, platform_admin, make_org, make_user, login
):
    from sharehub.accounts.models import OrgKind

    notice = _notice(platform_admin, lab)
    other_lab = make_org(kind=OrgKind.LAB, name="别的实验室")
    outsider = make_user(other_lab)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        rectification.answer(outsider, notice, "冒充", [(pdf_bytes(), "a.pdf")])
    login(outsider)
    assert client.get(f"/supervision/notices/{notice.id}").status_code == 404
    assert client.get("/supervision/notices").status_code == 200
    assert "大型仪器" not in client.get("/supervision/notices").get_data(as_text=True)
    assert client.get(f"/supervision/labs/{lab.id}").status_code == 403


def test_deadline_reminders_and_overdue_reports_are_sent_once(
    db, lab, lab_manager, platform_admin, mailbox
):
    from sharehub.core.tx import commit

    today = utcnow().date()
    soon = _notice(platform_admin, lab, days=5)
    later = _notice(platform_admin, lab, days=20)
    late = _notice(platform_admin, lab, days=3)
    late.deadline_date = today - timedelta(days=1)
    answered = _notice(platform_admin, lab, days=2)
    rectification.answer(lab_manager, answered, "已整改", [(pdf_bytes(), "a.pdf")])
    commit()
    mailbox.clear()

    assert rectification.send_reminders(today) == (1, 1)
    commit()
    assert rectification.send_reminders(today) == (0, 0)
    assert soon.reminded_dt is not None and later.reminded_dt is None
    assert late.overdue_reported_dt is not None
    subjects = [m["Subject"] for m in mailbox.to(lab_manager.email)]
    assert subjects == [f"Reminder: rectification notice #{soon.id} is due on "
                        f"{soon.deadline_date.isoformat()}"]  # fmt: skip
    (report,) = mailbox.to(platform_admin.email)
    assert f"did not answer rectification notice #{late.id} in time" in report["Subject"]


def test_a_poor_grade_leads_to_a_notice_linked_to_the_scorecard(
    client, db, lab, lab_manager, platform_admin, login
):
    from datetime import date

    from sharehub.assessment import rounds

    round_ = rounds.create_round(
        platform_admin, rounds.ensure_default_scheme(), "2025年度", date(2025, 1, 1),
        date(2025, 12, 31),
    )  # fmt: skip
    rounds.compute(platform_admin, round_, metrics_fn=lambda start, end, ids: {})
    card = next(c for c in round_.scorecards if c.lab_id == lab.id)
    db.session.commit()
    assert (card.total, card.grade) == (0.0, "较差")
    login(platform_admin)
    page = client.get(f"/supervision/scorecards/{card.id}").get_data(as_text=True)
    assert f"scorecard={card.id}" in page
    form = client.get(f"/supervision/labs/{lab.id}/notices/new?scorecard={card.id}")
    assert "2025年度: 0.00 points, grade 较差." in form.get_data(as_text=True)
    deadline = (utcnow().date() + timedelta(days=365)).isoformat()
    response = client.post(
        f"/supervision/labs/{lab.id}/notices/new?scorecard={card.id}",
        data={"findings": "年度评价较差，限期一年整改", "deadline": deadline},
    )
    assert response.status_code == 302
    notice = db.session.scalar(sa.select(RectificationNotice))
    assert notice.scorecard_id == card.id
    assert lab.status == OrgStatus.ACTIVE  # the box was left unticked
