"""Message threads between a customer and a lab, one per subject (a booking, a testing
order): text and attachments, unread counts per reader, an in-app notification and a mail
for the other side.

One model serves every subject: a thread names its subject by kind and id, and each kind
registers (`register_kind`) how to load its subject and which lab and customer
organisation it belongs to. Bookings register here; testing (a higher layer) registers its
orders from its own package, so this module never imports it.

Who takes part: the members of the customer organisation and the staff (members) of the
lab. Nobody else reads a thread — not regulators, not platform administrators: it is the
parties' correspondence, and supervision reads the records (bookings, reports), not the
letters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Membership, Organisation, User
from sharehub.booking.models import Booking
from sharehub.core import audit
from sharehub.core.db import UTCDateTime, utcnow
from sharehub.core.errors import PermissionDenied, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.core.uploads import StoredFileMixin, human_size, sniff_document, store_bytes
from sharehub.extensions import Model, db

MAX_BODY = 5000
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class Thread(Model):
    """The correspondence about one subject; the lab and the customer are copied from the
    subject when the thread starts, so reading who may see it needs no subject loaded."""

    __tablename__ = "message_thread"
    __table_args__ = (sa.UniqueConstraint("subject_kind", "subject_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    subject_kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    subject_id: so.Mapped[int] = so.mapped_column(sa.Integer)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    lab: so.Mapped[Organisation] = so.relationship(foreign_keys=[lab_id])
    customer_org: so.Mapped[Organisation] = so.relationship(foreign_keys=[customer_org_id])
    messages: so.Mapped[list[ThreadMessage]] = so.relationship(
        back_populates="thread", order_by="ThreadMessage.id"
    )

    def side_of(self, user) -> str | None:
        """ "lab", "customer" or None (no part in this thread)."""
        if not getattr(user, "is_authenticated", False):
            return None
        if user.membership_in(self.lab_id) is not None:
            return "lab"
        if user.membership_in(self.customer_org_id) is not None:
            return "customer"
        return None


class ThreadMessage(Model):
    __tablename__ = "thread_message"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    thread_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("message_thread.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    side: so.Mapped[str] = so.mapped_column(sa.String(16))  # "lab" or "customer"
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    thread: so.Mapped[Thread] = so.relationship(back_populates="messages")
    author: so.Mapped[User | None] = so.relationship()
    attachments: so.Mapped[list[MessageAttachment]] = so.relationship(
        back_populates="message", order_by="MessageAttachment.id"
    )


class MessageAttachment(StoredFileMixin, Model):
    __tablename__ = "message_attachment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    message_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("thread_message.id", ondelete="CASCADE"), index=True
    )
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))

    message: so.Mapped[ThreadMessage] = so.relationship(back_populates="attachments")


class ThreadRead(Model):
    """How far a reader has read a thread: messages after `last_read_id` are unread."""

    __tablename__ = "thread_read"

    thread_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("message_thread.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: so.Mapped[int] = so.mapped_column(default=0)


# --- subjects ------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectKind:
    """How a kind of subject takes part in threads."""

    load: Callable[[int], Any]  # the subject by id, or None
    lab_id: Callable[[Any], int]
    customer_org_id: Callable[[Any], int]
    title: Callable[[Any], str]  # the subject's name in the reader's language
    endpoint: str  # the subject's page: url_for(endpoint, **page_args(subject))
    page_args: Callable[[Any], dict]
    # who hears of a new message when they have not written in the thread yet
    customer_contacts: Callable[[Any], list]


KINDS: dict[str, SubjectKind] = {}


def register_kind(kind: str, spec: SubjectKind) -> None:
    KINDS[kind] = spec


def _lab_managers(lab: Organisation) -> list[User]:
    return [m.user for m in lab.memberships if m.user.can_manage(lab)]


register_kind(
    "booking",
    SubjectKind(
        load=lambda subject_id: db.session.get(Booking, subject_id),
        lab_id=lambda b: b.listing.lab_id,
        customer_org_id=lambda b: b.customer_org_id,
        title=lambda b: _("Booking #%(id)s", id=b.id),
        endpoint="booking.booking_page",
        page_args=lambda b: {"booking_id": b.id},
        customer_contacts=lambda b: [b.customer_user] if b.customer_user else [],
    ),
)


def subject_of(kind: str, subject_id: int):
    spec = KINDS.get(kind)
    return None if spec is None else spec.load(subject_id)


def thread_of(kind: str, subject) -> Thread | None:
    return db.session.scalar(
        sa.select(Thread).where(Thread.subject_kind == kind, Thread.subject_id == subject.id)
    )


def _new_thread(kind: str, subject) -> Thread:
    spec = KINDS[kind]
    thread = Thread(
        subject_kind=kind,
        subject_id=subject.id,
        lab_id=spec.lab_id(subject),
        customer_org_id=spec.customer_org_id(subject),
    )
    db.session.add(thread)
    db.session.flush()
    return thread


def side_of(user, kind: str, subject) -> str | None:
    """The side `user` takes in the thread of `subject` (whether or not it exists yet)."""
    spec = KINDS[kind]
    if not getattr(user, "is_authenticated", False):
        return None
    if user.membership_in(spec.lab_id(subject)) is not None:
        return "lab"
    if user.membership_in(spec.customer_org_id(subject)) is not None:
        return "customer"
    return None


# --- operations ----------------------------------------------------------------------


def post(
    actor: User, kind: str, subject, body: str, files: list[tuple[bytes, str]] | None = None
) -> ThreadMessage:
    """Write a message (text, attachments or both) and tell the other side."""
    side = side_of(actor, kind, subject)
    if side is None:
        raise PermissionDenied(_l("Only the customer and the laboratory write in this thread."))
    body = (body or "").strip()
    files = files or []
    if not body and not files:
        raise ValidationError(_l("Write a message or attach a file."), field="body")
    if len(body) > MAX_BODY:
        raise ValidationError(
            _l("A message may be at most %(n)s characters long.", n=MAX_BODY), field="body"
        )
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError(
            _l("At most %(n)s files per message.", n=MAX_ATTACHMENTS), field="files"
        )
    checked = []
    for data, name in files:
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValidationError(
                _l("The file is larger than %(size)s.", size=human_size(MAX_ATTACHMENT_BYTES)),
                field="files",
            )
        checked.append((data, name, sniff_document(data)))
    thread = thread_of(kind, subject) or _new_thread(kind, subject)
    message = ThreadMessage(thread=thread, author_id=actor.id, side=side, body=body)
    db.session.add(message)
    for data, name, content_type in checked:
        stored = store_bytes(data, name, content_type)
        message.attachments.append(
            MessageAttachment(
                original_name=stored.original_name,
                stored_name=stored.stored_name,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    db.session.flush()
    _mark(actor.id, thread.id, message.id)
    audit.record(
        actor,
        "message.posted",
        message,
        organisation=thread.lab_id,
        subject=f"{kind}:{subject.id}",
        attachments=len(checked) or None,
    )
    _tell(actor, kind, subject, thread, message)
    db.session.flush()
    return message


def _readers(kind: str, subject, thread: Thread) -> dict[int, User]:
    """Who hears of a new message: the lab's managers, the customer contacts of the
    subject, and everyone who wrote in the thread and still takes part."""
    spec = KINDS[kind]
    people: dict[int, User] = {}
    for user in _lab_managers(thread.lab) + list(spec.customer_contacts(subject)):
        people[user.id] = user
    authors = db.session.scalars(
        sa.select(User)
        .join(ThreadMessage, ThreadMessage.author_id == User.id)
        .where(ThreadMessage.thread_id == thread.id)
        .distinct()
    )
    for user in authors:
        if thread.side_of(user) is not None:
            people[user.id] = user
    return people


def _tell(actor: User, kind: str, subject, thread: Thread, message: ThreadMessage) -> None:
    spec = KINDS[kind]
    link = url_for("booking.thread_page", kind=kind, subject_id=subject.id)
    for user in _readers(kind, subject, thread).values():
        if user.id == actor.id or user.disabled:
            continue
        with force_locale(user.locale):
            subject_line = _(
                "New message about %(subject)s from %(name)s",
                subject=spec.title(subject),
                name=actor.name,
            )
        db.session.add(Notification(user_id=user.id, text=subject_line[:500], link=link))
        queue_mail(
            user.email,
            subject_line,
            "mail/thread_message.txt",
            locale=user.locale,
            user=user,
            author=actor,
            message=message,
            link=url_for("booking.thread_page", kind=kind, subject_id=subject.id, _external=True),
        )


def _mark(user_id: int, thread_id: int, message_id: int) -> None:
    read = db.session.get(ThreadRead, (thread_id, user_id))
    if read is None:
        db.session.add(ThreadRead(thread_id=thread_id, user_id=user_id, last_read_id=message_id))
    elif read.last_read_id < message_id:
        read.last_read_id = message_id


def mark_read(user: User, thread: Thread) -> None:
    """The reader has seen every message of the thread (their notifications about it too)."""
    if thread.side_of(user) is None:
        raise PermissionDenied(_l("Only the customer and the laboratory read this thread."))
    last = db.session.scalar(
        sa.select(sa.func.max(ThreadMessage.id)).where(ThreadMessage.thread_id == thread.id)
    )
    if last is not None:
        _mark(user.id, thread.id, last)
        db.session.flush()


# --- reads ---------------------------------------------------------------------------


def _unread_query(user_id: int) -> sa.Select:
    """Messages of threads the user takes part in, written by others, not yet read."""
    orgs = sa.select(Membership.organisation_id).where(Membership.user_id == user_id)
    read = sa.select(ThreadRead.last_read_id).where(
        ThreadRead.thread_id == Thread.id, ThreadRead.user_id == user_id
    )
    return (
        sa.select(Thread.subject_kind, Thread.subject_id, sa.func.count(ThreadMessage.id))
        .join(ThreadMessage, ThreadMessage.thread_id == Thread.id)
        .where(
            sa.or_(Thread.lab_id.in_(orgs), Thread.customer_org_id.in_(orgs)),
            sa.or_(ThreadMessage.author_id.is_(None), ThreadMessage.author_id != user_id),
            ThreadMessage.id > sa.func.coalesce(read.scalar_subquery(), 0),
        )
        .group_by(Thread.subject_kind, Thread.subject_id)
    )


def unread_counts(user, kind: str | None = None, ids=None) -> dict[tuple[str, int], int]:
    """Unread messages per subject for `user` (optionally of one kind, some ids)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    query = _unread_query(user.id)
    if kind is not None:
        query = query.where(Thread.subject_kind == kind)
    if ids is not None:
        query = query.where(Thread.subject_id.in_(list(ids)))
    return {(k, i): n for k, i, n in db.session.execute(query)}


def unread_total(user) -> int:
    return sum(unread_counts(user).values())


def threads_of(user, limit: int = 100) -> list[tuple[Thread, int]]:
    """The threads the user takes part in, latest message first, with unread counts."""
    orgs = [m.organisation_id for m in user.memberships]
    latest = sa.func.max(ThreadMessage.id)
    rows = db.session.execute(
        sa.select(Thread, latest)
        .join(ThreadMessage, ThreadMessage.thread_id == Thread.id)
        .where(sa.or_(Thread.lab_id.in_(orgs), Thread.customer_org_id.in_(orgs)))
        .group_by(Thread.id)
        .order_by(latest.desc())
        .limit(limit)
    ).all()
    unread = unread_counts(user)
    return [(thread, unread.get((thread.subject_kind, thread.subject_id), 0)) for thread, _ in rows]
