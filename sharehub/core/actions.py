"""A request that changes something, in one shape: parse → service → one commit → answer.

A view parses what it was sent, then hands the service call to `perform`:

    return perform(
        lambda: services.cancel(current_user, booking, form.reason.data),
        done=url_for("booking.booking_page", booking_id=booking.id),
        success=_("The booking has been cancelled."),
        again=page("booking.booking_page", booking_id=booking.id),
    )

On success the request's one commit runs (mail, webhooks and refunds queued by the service
follow it, see `sharehub.core.tx`), `success` is flashed and `done` answers: a URL is
redirected to; a callable gets the service's result and returns the whole answer. When the
service refuses (a `DomainError`), nothing it wrote is kept and the answer carries the
refusal's status (400, 403, 404, 409): `again()` renders the page the user was on with the
message on it (beside its field when `form=` is the form shown again), or, without `again`,
the error page shows the message with a link back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, flash, redirect

from sharehub.core.errors import DomainError
from sharehub.core.tx import commit
from sharehub.extensions import db

T = TypeVar("T")


def perform(
    work: Callable[[], T],
    *,
    done: str | Callable[[T], Any],
    success: str | None = None,
    again: Callable[[], Any] | None = None,
    form=None,
):
    try:
        result = work()
    except DomainError as exc:
        return refused(exc, again, form=form)
    commit()
    if success:
        flash(str(success), "success")
    return done(result) if callable(done) else redirect(done)


def refused(exc: DomainError, again: Callable[[], Any] | None = None, *, form=None):
    """The answer to a refusal: nothing is kept; the page again with the message and the
    refusal's status, or the error page (the application's DomainError handler). On a
    `form` shown again, a message about one field stands beside that field."""
    db.session.rollback()
    if again is None:
        raise exc
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc.message)]
    else:
        flash(str(exc.message), "danger")
    return with_status(again(), exc.status)


def page(endpoint: str, **values) -> Callable[[], Any]:
    """The page a GET endpoint shows for `values`, as `again`: the page the success
    redirect leads to, shown at once with the refusal's message. Only for endpoints that
    answer GET alone (a view that also handles POST would run the change again)."""
    return lambda: current_app.view_functions[endpoint](**values)


def with_status(answer, status: int):
    """A view's answer (a body, or a (body, status) pair) with another status."""
    if isinstance(answer, tuple):
        answer = answer[0]
    return answer, status
