"""Who may see and manage an invoice: Invoice.can_view/can_manage give the answers the
invoice pages gave inline (the lab; the customer once issued; platform administrators)."""

import pytest

from sharehub.accounts.models import OrgKind, Role
from sharehub.billing import services


def old_rule(user, invoice) -> bool:
    """billing/views.py::_invoice before the predicate."""
    is_lab = user.can_manage(invoice.lab)
    is_customer = user.membership_in(invoice.customer_org_id) is not None
    return is_lab or is_customer and not invoice.is_draft or user.is_platform_admin


@pytest.mark.parametrize("issued", [False, True])
def test_predicates_answer_as_the_page_did(
    client, db, booked, lab, lab_manager, make_org, make_user, platform_admin, login, issued
):
    invoice = services.invoice_from_booking(lab_manager, booked)
    if issued:
        services.issue(lab_manager, invoice)
    db.session.commit()
    people = {
        "lab manager": (lab_manager, True, True),
        "lab member": (make_user(lab, role=Role.MEMBER), False, False),
        "customer": (booked.customer_user, issued, False),
        "stranger": (make_user(make_org()), False, False),
        "platform admin": (platform_admin, True, False),
        "regulator": (make_user(make_org(kind=OrgKind.AUTHORITY)), False, False),
    }
    for name, (user, may_view, may_manage) in people.items():
        assert invoice.can_view(user) == old_rule(user, invoice) == may_view, name
        assert invoice.can_manage(user) == (user.can_manage(invoice.lab)) == may_manage, name
        client.post("/account/signout")
        login(user)
        assert client.get(f"/invoices/{invoice.id}").status_code == (200 if may_view else 404), name
