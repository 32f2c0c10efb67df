"""Message threads: the list of a reader's threads, one thread's page (reading it marks it
read), writing in it and its attachments. A thread's page exists for every subject kind
registered in `booking.messages` (bookings here, testing orders from their package)."""

from __future__ import annotations

from flask import abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.booking import messages
from sharehub.booking.blueprint import bp
from sharehub.booking.forms import MessageForm
from sharehub.core.actions import perform
from sharehub.core.forms import refuse_form
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload, send_stored
from sharehub.extensions import db


def _subject(kind: str, subject_id: int):
    """The subject, for a reader who takes part in its thread; 404 for anyone else (an
    outsider learns nothing, not even that the subject exists)."""
    subject = messages.subject_of(kind, subject_id)
    if subject is None or messages.side_of(current_user, kind, subject) is None:
        abort(404)
    return subject


@bp.route("/messages")
@login_required
def threads():
    rows = messages.threads_of(current_user)
    titles = {}
    for thread, _unread in rows:
        subject = messages.subject_of(thread.subject_kind, thread.subject_id)
        titles[thread.id] = messages.KINDS[thread.subject_kind].title(subject) if subject else "—"
    return render_template("booking/threads.html", rows=rows, titles=titles)


def _thread_page(kind: str, subject, form=None, status: int = 200):
    spec = messages.KINDS[kind]
    thread = messages.thread_of(kind, subject)
    return render_template(
        "booking/thread.html",
        kind=kind,
        subject=subject,
        title=spec.title(subject),
        subject_url=url_for(spec.endpoint, **spec.page_args(subject)),
        thread=thread,
        items=thread.messages if thread else [],
        form=form or MessageForm(),
        max_body=messages.MAX_BODY,
    ), status


@bp.route("/messages/<kind>/<int:subject_id>")
@login_required
def thread_page(kind: str, subject_id: int):
    subject = _subject(kind, subject_id)
    thread = messages.thread_of(kind, subject)
    if thread is not None:
        messages.mark_read(current_user, thread)
        commit()
    return _thread_page(kind, subject)


@bp.route("/messages/<kind>/<int:subject_id>", methods=["POST"])
@login_required
def post_message(kind: str, subject_id: int):
    subject = _subject(kind, subject_id)
    form = MessageForm()

    def again():
        return _thread_page(kind, messages.subject_of(kind, subject_id), form)

    if not form.validate_on_submit():
        return refuse_form(form, again)

    def work():
        files = [
            read_upload(f, messages.MAX_ATTACHMENT_BYTES)
            for f in form.files.data or []
            if f and f.filename
        ]
        return messages.post(current_user, kind, subject, form.body.data or "", files)

    return perform(
        work,
        done=url_for("booking.thread_page", kind=kind, subject_id=subject_id),
        success=_("Your message has been sent."),
        again=again,
        form=form,
    )


@bp.route("/messages/files/<int:attachment_id>")
@login_required
def message_file(attachment_id: int):
    attachment = db.session.get(messages.MessageAttachment, attachment_id)
    if attachment is None or attachment.message.thread.side_of(current_user) is None:
        abort(404)
    return send_stored(attachment)


@bp.app_template_global("unread_messages")
def unread_messages(kind: str | None = None, subject_id: int | None = None) -> int:
    """Unread messages of the signed-in reader: all of them (the navigation), or of one
    subject (a row of a list)."""
    if kind is None:
        return messages.unread_total(current_user)
    counts = messages.unread_counts(current_user, kind, [subject_id])
    return counts.get((kind, subject_id), 0)
