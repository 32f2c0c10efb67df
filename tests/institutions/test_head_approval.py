"""The head's approval: a booking the group's rules catch waits (holding its slot) for the
head, who decides from the emailed link while signed in; the lab sees it waiting for the
customer and decides only after the head; a decline frees the slot and tells the booker."""

import re

import pytest
import sqlalchemy as sa

from sharehub.booking import services
from sharehub.booking.models import Booking, BookingStatus, HeadApproval
from sharehub.booking.services import BookingRequest, SlotTaken
from sharehub.core.errors import Conflict
from sharehub.core.models import OutboxMessage
from sharehub.institutions import services as groups
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


def book(campus, user=None, listing=None, start=(8, 30), end=(10, 30)):
    return services.create_booking(
        user or campus.student,
        campus.university,
        listing or campus.listing,
        BookingRequest(
            at(workday(), *start), at(workday(), *end), funding_account_id=campus.account.id
        ),
    )


@pytest.fixture
def rule(db, campus):
    """Bookings above 1,000.00 yuan need the head's approval."""
    groups.set_rules(campus.head, campus.group, approval_above=100_000, lab_ids=[])
    db.session.commit()
    return campus


def link_of(db, email: str) -> str:
    message = db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient == email)
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None, f"no mail to {email}"
    return re.search(r"https?://\S+/account/groups/approvals/\S+", message.body_text).group(0)


def path(link: str) -> str:
    return link[link.index("/account/") :]


def test_a_booking_above_the_amount_waits_for_the_head(db, rule, lab_manager):
    booking = book(rule)
    assert booking.status == BookingStatus.PENDING
    assert booking.head_approval == HeadApproval.AWAITING and booking.awaits_head
    assert booking.hold_expires_dt is not None
    assert str(booking.status_label) == "Waiting for the customer's approval"
    # The lab cannot decide yet and hears nothing until the head approves.
    with pytest.raises(Conflict, match="has not approved this booking yet"):
        services.approve(lab_manager, booking)
    recipients = set(db.session.scalars(sa.select(OutboxMessage.recipient)))
    assert rule.head.email in recipients and lab_manager.email not in recipients
    assert "/account/groups/approvals/" in link_of(db, rule.head.email)
    # It holds its slot meanwhile.
    with pytest.raises(SlotTaken):
        services.create_booking(
            rule.outsider,
            rule.outsider.memberships[0].organisation,
            rule.listing,
            BookingRequest(at(workday(), 8, 30), at(workday(), 10, 30)),
        )


def test_below_the_amount_and_the_heads_own_bookings_do_not_wait(db, rule):
    rule.account.chargers  # noqa: B018
    cheap = services.create_booking(
        rule.student,
        rule.university,
        rule.listing,
        BookingRequest(
            at(workday(), 8, 30), at(workday(), 9, 30), funding_account_id=rule.account.id
        ),
    )
    assert cheap.status == BookingStatus.CONFIRMED and cheap.head_approval is None
    own = book(rule, user=rule.head, start=(13, 30), end=(15, 30))
    assert own.status == BookingStatus.CONFIRMED and own.head_approval is None


def test_a_listed_lab_needs_approval_whatever_the_amount(db, campus):
    groups.set_rules(campus.head, campus.group, approval_above=None, lab_ids=[campus.lab.id])
    booking = services.create_booking(
        campus.student,
        campus.university,
        campus.listing,
        BookingRequest(
            at(workday(), 8, 30), at(workday(), 9, 30), funding_account_id=campus.account.id
        ),
    )
    assert booking.awaits_head


def test_the_head_approves_from_the_link_and_a_second_click_changes_nothing(
    db, client, login, rule
):
    booking = book(rule)
    db.session.commit()
    link = path(link_of(db, rule.head.email))
    login(rule.head)
    page = client.get(link)
    assert page.status_code == 200 and "GR-2026-001" in page.get_data(as_text=True)
    response = client.post(link + "/approve")
    assert response.status_code == 302
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.head_approval == HeadApproval.APPROVED
    assert booking.head_decided_by_id == rule.head.id
    shown = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "GR-2026-001 · 国家自然科学基金" in shown and "approved by the head" in shown
    again = client.post(link + "/approve")
    assert again.status_code == 302
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED


def test_after_the_head_the_lab_approves_when_the_listing_asks_for_it(
    db, rule, make_listing, lab_manager
):
    listing = make_listing(rule.lab, name="需审核的仪器", approval_required=True)
    booking = book(rule, listing=listing)
    services.head_approve(rule.head, booking)
    assert booking.status == BookingStatus.PENDING and not booking.awaits_head
    assert str(booking.status_label) == "Waiting for the laboratory"
    assert lab_manager.email in set(db.session.scalars(sa.select(OutboxMessage.recipient)))
    services.approve(lab_manager, booking)
    assert booking.status == BookingStatus.CONFIRMED


def test_a_head_approval_before_the_worker_ran_tells_the_lab_once(
    db, rule, make_listing, lab_manager
):
    """The booking's stored "created" is told as it was when the booking was made (waiting
    for the head: not to the lab), even when the head approved before the worker ran."""
    from tests.support.outbox import run_outbox

    listing = make_listing(rule.lab, name="需审核的仪器", approval_required=True)
    booking = book(rule, listing=listing)
    db.session.commit()  # a plain commit: the event waits for the worker
    services.head_approve(rule.head, booking)
    db.session.commit()
    run_outbox()
    to_lab = db.session.scalars(
        sa.select(OutboxMessage.subject).where(OutboxMessage.recipient == lab_manager.email)
    ).all()
    assert len(to_lab) == 1, to_lab


def test_the_head_declines_the_slot_is_freed_and_the_booker_told(db, client, login, rule):
    booking = book(rule)
    db.session.commit()
    link = path(link_of(db, rule.head.email))
    login(rule.head)
    response = client.post(link + "/decline", data={"reason": "经费不足"})
    assert response.status_code == 302
    db.session.refresh(booking)
    assert booking.status == BookingStatus.DECLINED and booking.reason == "经费不足"
    assert booking.head_approval == HeadApproval.DECLINED
    told = db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.recipient == rule.student.email)
        .order_by(OutboxMessage.id.desc())
    )
    assert f"#{booking.id} declined" in told.subject
    other = services.create_booking(
        rule.outsider,
        rule.outsider.memberships[0].organisation,
        rule.listing,
        BookingRequest(at(workday(), 8, 30), at(workday(), 10, 30)),
    )
    assert other.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("who", ["student", "bystander", "owner", "outsider", "regulator"])
def test_nobody_but_the_head_decides(db, client, login, rule, who):
    """A plain member acting as head, the organisation's owner, another firm's user and a
    regulator are refused (403) and nothing changes; the page itself is refused too."""
    booking = book(rule)
    db.session.commit()
    link = path(link_of(db, rule.head.email))
    login(getattr(rule, who))
    assert client.get(link).status_code == 403
    for action in ("approve", "decline"):
        assert client.post(link + f"/{action}").status_code == 403
    db.session.refresh(booking)
    assert booking.awaits_head and booking.status == BookingStatus.PENDING


def test_anonymous_is_sent_to_sign_in_and_a_forged_link_is_refused(db, client, login, rule):
    booking = book(rule)
    db.session.commit()
    link = path(link_of(db, rule.head.email))
    for response in (client.get(link), client.post(link + "/approve")):
        assert response.status_code == 302 and "/account/signin" in response.location
    login(rule.head)
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.get(forged).status_code == 404
    assert client.post(forged + "/approve").status_code == 404
    db.session.refresh(booking)
    assert booking.awaits_head


def test_the_service_refuses_a_head_decision_by_someone_else(db, rule):
    from sharehub.core.errors import PermissionDenied

    booking = book(rule)
    with pytest.raises(PermissionDenied, match="Only the head of the group"):
        services.head_approve(rule.student, booking)
    with pytest.raises(PermissionDenied, match="Only the head of the group"):
        services.head_decline(rule.owner, booking, "")
    assert booking.awaits_head
    assert db.session.get(Booking, booking.id).status == BookingStatus.PENDING


def test_the_lab_sees_it_waiting_for_the_customer_and_cannot_approve_it(
    db, client, login, rule, lab_manager
):
    booking = book(rule)
    db.session.commit()
    login(lab_manager)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Waiting for the customer's approval" in page
    assert f"/bookings/{booking.id}/approve" not in page
    response = client.post(f"/bookings/{booking.id}/approve")
    assert response.status_code == 409
    db.session.refresh(booking)
    assert booking.awaits_head and booking.status == BookingStatus.PENDING


def test_a_decided_booking_cannot_be_decided_otherwise_and_old_links_lapse(db, client, login, rule):
    from datetime import timedelta

    from tests.support import clock

    booking = book(rule)
    db.session.commit()
    link = path(link_of(db, rule.head.email))
    login(rule.head)
    assert client.post(link + "/approve").status_code == 302
    response = client.post(link + "/decline", data={"reason": "改主意"})
    assert response.status_code == 409
    assert "does not wait for the head" in response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    with clock.travel(clock.suite_now() + timedelta(days=15)):
        assert client.get(link).status_code == 404
