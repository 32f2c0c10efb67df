"""Testing orders take part in message threads (booking.messages) like bookings: the
customer's members and the lab's staff write about an order."""

from __future__ import annotations

from flask_babel import gettext as _

from sharehub.booking.messages import SubjectKind, register_kind
from sharehub.extensions import db
from sharehub.testing.models import TestingRequest

register_kind(
    "order",
    SubjectKind(
        load=lambda order_id: db.session.get(TestingRequest, order_id),
        lab_id=lambda order: order.lab_id,
        customer_org_id=lambda order: order.customer_org_id,
        title=lambda order: _("Testing order %(ref)s", ref=order.reference),
        endpoint="testing.order_page",
        page_args=lambda order: {"request_id": order.id},
        customer_contacts=lambda order: [order.created_by] if order.created_by else [],
    ),
)
