"""Rectification notices (整改通知): issued with a deadline, answered by the lab with
evidence, then closed or escalated by the supervisor."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus, Power, User
from sharehub.assessment.models import (
    FindingResult,
    NoticeStatus,
    RectificationEvidence,
    RectificationNotice,
    Scorecard,
    SpotCheckItem,
)
from sharehub.assessment.notify import lab_managers, tell
from sharehub.assessment.status import DENIED, change_lab_status, require_power
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_EVIDENCE_FILES = 10


def _tell_lab(notice: RectificationNotice, subject) -> None:
    for manager in lab_managers(notice.lab):
        tell(
            manager,
            subject,
            "assessment/mail/notice.txt",
            "assessment.notice",
            url_notice_id=notice.id,
            notice=notice,
        )


def issue_notice(
    actor: User,
    lab: Organisation,
    *,
    findings: str,
    requirements: str,
    deadline: date | None,
    item: SpotCheckItem | None = None,
    scorecard: Scorecard | None = None,
    place_under_rectification: bool = True,
) -> RectificationNotice:
    """Issue a notice; an active lab is placed under rectification with it unless told not
    to (a minor finding may be rectified without changing the lab's status). Inspectors
    issue notices; placing the lab under rectification is a change of status, for those
    who may change it."""
    require_power(actor, lab, Power.NOTICE)
    if (
        place_under_rectification
        and lab.status == OrgStatus.ACTIVE
        and not actor.can_supervise(lab, Power.STATUS)
    ):
        raise PermissionDenied(DENIED[Power.STATUS])
    if lab.kind != OrgKind.LAB:
        raise ValidationError(_l("Rectification notices go to laboratories."))
    if lab.status not in (OrgStatus.ACTIVE, OrgStatus.RECTIFYING, OrgStatus.SUSPENDED):
        raise Conflict(_l("This laboratory is not admitted; it cannot be asked to rectify."))
    findings = (findings or "").strip()
    if not findings:
        raise ValidationError(_l("Describe what must be rectified."), field="findings")
    if deadline is None:
        raise ValidationError(_l("Set a deadline."), field="deadline")
    if deadline <= local_today():
        raise ValidationError(_l("The deadline must be after today."), field="deadline")
    if item is not None:
        if item.lab_id != lab.id:
            raise ValidationError(_l("This finding concerns another laboratory."))
        if item.result != FindingResult.FAILED:
            raise Conflict(_l("Only a finding with a problem leads to a notice."))
    if scorecard is not None and scorecard.lab_id != lab.id:
        raise ValidationError(_l("This scorecard belongs to another laboratory."))
    notice = RectificationNotice(
        lab=lab,
        spot_check_item=item,
        scorecard=scorecard,
        findings=findings,
        requirements=(requirements or "").strip(),
        deadline_date=deadline,
        issued_by=actor,
    )
    db.session.add(notice)
    db.session.flush()
    audit.record(
        actor,
        "rectification.issued",
        notice,
        organisation=lab,
        deadline=deadline.isoformat(),
        item=item.id if item else None,
        scorecard=scorecard.id if scorecard else None,
    )
    if place_under_rectification and lab.status == OrgStatus.ACTIVE:
        change_lab_status(
            actor,
            lab,
            OrgStatus.RECTIFYING,
            str(_l("Rectification notice #%(id)s", id=notice.id)) + ": " + findings[:400],
        )
    _tell_lab(notice, _l("Rectification notice #%(id)s from ShareHub", id=notice.id))
    db.session.flush()
    return notice


def add_evidence(
    actor: User, notice: RectificationNotice, data: bytes, filename: str
) -> RectificationEvidence:
    if not notice.can_answer(actor):
        raise PermissionDenied(_l("Only managers of this laboratory may answer."))
    if notice.status not in (NoticeStatus.OPEN, NoticeStatus.ANSWERED):
        raise Conflict(_l("This notice is decided; nothing more can be added."))
    if len(notice.evidence) >= MAX_EVIDENCE_FILES:
        raise Conflict(_l("A notice takes at most %(n)s files.", n=MAX_EVIDENCE_FILES))
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ValidationError(_l("A document may be at most 20 MB."), field="evidence")
    content_type = sniff_document(data)
    stored = store_bytes(data, filename, content_type)
    evidence = RectificationEvidence(
        notice=notice,
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=actor.id,
    )
    db.session.add(evidence)
    db.session.flush()
    audit.record(
        actor,
        "rectification.evidence_added",
        notice,
        organisation=notice.lab_id,
        file=stored.original_name,
        sha256=stored.sha256,
    )
    db.session.flush()
    return evidence


def answer(
    actor: User, notice: RectificationNotice, response: str, files: list[tuple[bytes, str]] = ()
) -> None:
    """The lab's answer: what it did, with its evidence; it may answer again until decided."""
    if not notice.can_answer(actor):
        raise PermissionDenied(_l("Only managers of this laboratory may answer."))
    if notice.status not in (NoticeStatus.OPEN, NoticeStatus.ANSWERED):
        raise Conflict(_l("This notice is decided; it takes no more answers."))
    response = (response or "").strip()
    if not response:
        raise ValidationError(_l("Describe what the laboratory did."), field="response")
    for data, filename in files:
        add_evidence(actor, notice, data, filename)
    if not notice.evidence:
        raise ValidationError(_l("Attach at least one document as evidence."), field="evidence")
    notice.response = response
    notice.status = NoticeStatus.ANSWERED
    notice.responded_by, notice.responded_dt = actor, utcnow()
    audit.record(
        actor,
        "rectification.answered",
        notice,
        organisation=notice.lab_id,
        files=len(notice.evidence),
        late=notice.deadline_date < local_today(),
    )
    for supervisor in filter(None, [notice.issued_by]):
        tell(
            supervisor,
            _l("%(lab)s answered rectification notice #%(id)s", lab=notice.lab.name, id=notice.id),
            "assessment/mail/notice_answered.txt",
            "assessment.notice",
            url_notice_id=notice.id,
            notice=notice,
        )
    db.session.flush()


def close(actor: User, notice: RectificationNotice, note: str) -> None:
    """Rectified: the notice closes; a lab under rectification with no other open notice
    becomes active again."""
    require_power(actor, notice.lab, Power.STATUS)
    if notice.status != NoticeStatus.ANSWERED:
        raise Conflict(_l("Only an answered notice can be closed."))
    _decide(actor, notice, NoticeStatus.CLOSED, note)
    lab = notice.lab
    others = [
        n
        for n in db.session.scalars(
            db.select(RectificationNotice).where(
                RectificationNotice.lab_id == lab.id,
                RectificationNotice.id != notice.id,
                RectificationNotice.status.in_([NoticeStatus.OPEN, NoticeStatus.ANSWERED]),
            )
        )
    ]
    if lab.status == OrgStatus.RECTIFYING and not others:
        change_lab_status(
            actor,
            lab,
            OrgStatus.ACTIVE,
            str(_l("Rectification notice #%(id)s closed", id=notice.id))
            + (": " + note.strip() if note.strip() else ""),
        )
    _tell_lab(notice, _l("Rectification notice #%(id)s is closed", id=notice.id))
    db.session.flush()


def escalate(actor: User, notice: RectificationNotice, note: str, target: OrgStatus) -> None:
    """Not rectified (or not in time): the notice is escalated and the lab moves on, to
    suspension or revocation."""
    require_power(actor, notice.lab, Power.STATUS)
    if notice.status not in (NoticeStatus.OPEN, NoticeStatus.ANSWERED):
        raise Conflict(_l("This notice is already decided."))
    if target not in (OrgStatus.SUSPENDED, OrgStatus.REVOKED):
        raise ValidationError(_l("Escalation suspends or revokes the laboratory."), field="target")
    if not (note or "").strip():
        raise ValidationError(_l("Give the reason for the escalation."), field="note")
    if notice.status == NoticeStatus.OPEN and notice.deadline_date >= local_today():
        raise Conflict(
            _l("The laboratory has until %(date)s to answer.", date=notice.deadline_date)
        )
    _decide(actor, notice, NoticeStatus.ESCALATED, note)
    if notice.lab.status != target:
        change_lab_status(
            actor,
            notice.lab,
            target,
            str(_l("Rectification notice #%(id)s escalated", id=notice.id)) + ": " + note.strip(),
        )
    _tell_lab(notice, _l("Rectification notice #%(id)s has been escalated", id=notice.id))
    db.session.flush()


def _decide(actor: User, notice: RectificationNotice, status: NoticeStatus, note: str) -> None:
    notice.status = status
    notice.decision_note = (note or "").strip()
    notice.decided_by, notice.decided_dt = actor, utcnow()
    audit.record(
        actor,
        f"rectification.{status.value}",
        notice,
        organisation=notice.lab_id,
        note=notice.decision_note,
    )


def send_reminders(today: date | None = None, ahead_days: int = 7) -> tuple[int, int]:
    """Remind labs of open notices due within `ahead_days`, and tell the supervisor who
    issued a notice when its deadline passed unanswered; once each. Every notice is claimed
    by a conditional UPDATE, so several machines running this at once send one message.
    Returns (reminders, overdue reports)."""
    today = today or local_today()
    now = utcnow()
    due = db.session.scalars(
        sa.select(RectificationNotice.id).where(
            RectificationNotice.status == NoticeStatus.OPEN,
            RectificationNotice.reminded_dt.is_(None),
            RectificationNotice.deadline_date >= today,
            RectificationNotice.deadline_date <= today + timedelta(days=ahead_days),
        )
    ).all()
    reminded = 0
    for notice_id in due:
        if _claim(notice_id, RectificationNotice.reminded_dt, now):
            notice = db.session.get(RectificationNotice, notice_id)
            _tell_lab(
                notice,
                _l(
                    "Reminder: rectification notice #%(id)s is due on %(date)s",
                    id=notice.id,
                    date=notice.deadline_date.isoformat(),
                ),
            )
            reminded += 1
    overdue = db.session.scalars(
        sa.select(RectificationNotice.id).where(
            RectificationNotice.status == NoticeStatus.OPEN,
            RectificationNotice.overdue_reported_dt.is_(None),
            RectificationNotice.deadline_date < today,
        )
    ).all()
    reported = 0
    for notice_id in overdue:
        if _claim(notice_id, RectificationNotice.overdue_reported_dt, now):
            notice = db.session.get(RectificationNotice, notice_id)
            if notice.issued_by is not None and not notice.issued_by.disabled:
                tell(
                    notice.issued_by,
                    _l(
                        "%(lab)s did not answer rectification notice #%(id)s in time",
                        lab=notice.lab.name,
                        id=notice.id,
                    ),
                    "assessment/mail/notice.txt",
                    "assessment.notice",
                    url_notice_id=notice.id,
                    notice=notice,
                )
                reported += 1
    db.session.flush()
    return reminded, reported


def _claim(notice_id: int, column, now) -> bool:
    return bool(
        db.session.execute(
            sa.update(RectificationNotice)
            .where(RectificationNotice.id == notice_id, column.is_(None))
            .values({column.key: now})
        ).rowcount
    )
