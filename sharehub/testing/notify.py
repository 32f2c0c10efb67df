"""Mail and in-app messages of testing requests and orders, in each reader's language:
the lab's staff hear of a new request, an accepted quote and a cancellation by the
customer; the customer hears of the lab's quote, the receipt of the samples (with those
refused and why) and a stopped order. Queued in the change's transaction through the
outbox (core.mail) and delivered after the commit. The issued report's mail is
testing.reports._tell_customer."""

from __future__ import annotations

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.extensions import db
from sharehub.testing.models import Quote, SampleStatus, TestingRequest

SUBJECTS = {
    "submitted": lambda o: _(
        "New testing request %(ref)s from %(firm)s", ref=o.reference, firm=o.customer_org.name
    ),
    "accepted": lambda o: _(
        "Testing order %(ref)s placed by %(firm)s", ref=o.reference, firm=o.customer_org.name
    ),
    "quoted": lambda o: _("Quote for your testing request %(ref)s", ref=o.reference),
    "received": lambda o: _("Samples of your testing order %(ref)s received", ref=o.reference),
    "cancelled": lambda o: _("Testing order %(ref)s cancelled by the customer", ref=o.reference),
    "stopped": lambda o: _("Testing order %(ref)s stopped by the laboratory", ref=o.reference),
}


def lab_staff(order: TestingRequest) -> list:
    """The lab's members with an active account (the people who quote, receive, test)."""
    return [m.user for m in order.lab.memberships if m.user.is_active and m.user.email]


def customer_people(order: TestingRequest) -> list:
    user = order.created_by
    return [user] if user is not None and user.is_active and user.email else []


def _send(order: TestingRequest, people: list, event: str, **context) -> None:
    link = url_for("testing.order_page", request_id=order.id)
    seen = set()
    for user in people:
        if user.id in seen:
            continue
        seen.add(user.id)
        with force_locale(user.locale):
            subject = SUBJECTS[event](order)
        db.session.add(Notification(user_id=user.id, text=subject[:500], link=link))
        queue_mail(
            user.email,
            subject,
            "mail/testing_event.txt",
            locale=user.locale,
            user=user,
            order=order,
            event=event,
            link=url_for("testing.order_page", request_id=order.id, _external=True),
            **context,
        )


def request_submitted(order: TestingRequest) -> None:
    _send(order, lab_staff(order), "submitted")


def order_accepted(order: TestingRequest) -> None:
    _send(order, lab_staff(order), "accepted")


def quote_sent(order: TestingRequest, quote: Quote) -> None:
    _send(order, customer_people(order), "quoted", quote=quote)


def samples_received(order: TestingRequest) -> None:
    received = [s for s in order.samples if s.status == SampleStatus.RECEIVED]
    refused = [s for s in order.samples if s.status == SampleStatus.REFUSED]
    _send(order, customer_people(order), "received", received=received, refused=refused)


def cancelled(order: TestingRequest) -> None:
    """The other side hears of it: the lab of the customer's cancellation (once the
    request was submitted), the customer of the lab's stop."""
    if order.cancelled_by == "lab":
        _send(order, customer_people(order), "stopped")
    elif order.submitted_dt is not None:
        _send(order, lab_staff(order), "cancelled")
