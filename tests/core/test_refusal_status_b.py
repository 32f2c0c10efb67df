"""A refusal decided inside a service answers with the status that says what happened
(403 not allowed, 404 not found, 409 not possible in the current state, 400 bad input),
shows the message on the page the user was on, and changes nothing: the lab's listing
pages and settings, ratings, rated hours, API tokens, webhooks and calendar links."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import Role
from sharehub.api.models import ApiToken, WebhookEndpoint
from sharehub.booking.models import Booking, BookingStatus, CalendarFeed
from sharehub.catalog.models import Listing, ListingStatus, OpeningInterval, Outage, Unit
from sharehub.core.models import AuditEntry
from sharehub.stats.models import RatedHours, Rating
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}
DAYS = {f"day{d}": "" for d in range(7)}

MANAGE = 'id="listing-status"'  # the lab's page of the listing
FORM = 'id="listing-form"'
BOOKING = 'id="booking-status"'
RATED = 'id="rated-hours-form"'
TOKENS = ">API tokens</h1>"
WEBHOOKS = ">Webhooks</h1>"
FEEDS = ">Calendar subscriptions</h1>"
SETTINGS = ">Laboratory settings</h1>"


@pytest.fixture
def world(db, lab, lab_manager, make_org, make_user, make_listing):
    """A published listing with one unit, a draft, a completed booking already rated, and
    a token of someone else."""
    from sharehub.api import services as api_services
    from sharehub.stats import ratings

    firm = make_org(name="客户企业", name_en="Customer Co")
    customer = make_user(firm)
    listing = make_listing(lab, name_en="ICP-OES")
    draft = make_listing(lab, name="草稿仪器", status=ListingStatus.DRAFT)
    start = at(workday(-3), 9, 0)
    booking = Booking(
        uid=f"{uuid.uuid4()}@test",
        listing_id=listing.id,
        unit_id=listing.units[0].id,
        customer_org_id=firm.id,
        customer_user_id=customer.id,
        starts_dt=start,
        ends_dt=start + timedelta(hours=2),
        blocked_until_dt=start + timedelta(hours=2),
        status=BookingStatus.COMPLETED,
        price_tier="external",
        net_amount=10000,
        vat_rate_bp=600,
        vat_amount=600,
        gross_amount=10600,
        created_dt=start - timedelta(days=3),
    )
    db.session.add(booking)
    db.session.flush()
    rating = ratings.rate(customer, booking, 4, "数据准确")
    other = make_user(make_org(name="旁人企业"))
    token, _plain = api_services.create_token(
        other, other.memberships[0].organisation, "别人的", ["bookings:read"], 30
    )
    db.session.commit()
    return {
        "manager": lab_manager,
        "customer": customer,
        "listing": listing,
        "draft": draft,
        "unit": listing.units[0],
        "booking": booking,
        "rating": rating,
        "token": token,
    }


def _state(db) -> dict:
    """Everything the refused requests could have changed."""

    def count(model) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    db.session.expire_all()
    return {
        "audit": count(AuditEntry),
        "statuses": db.session.execute(
            sa.select(Listing.id, Listing.status).order_by(Listing.id)
        ).all(),
        "units": db.session.execute(
            sa.select(Unit.id, Unit.name, Unit.is_active).order_by(Unit.id)
        ).all(),
        "hours": count(OpeningInterval),
        "outages": count(Outage),
        "ratings": db.session.execute(
            sa.select(Rating.id, Rating.score, Rating.reply).order_by(Rating.id)
        ).all(),
        "rated_hours": db.session.execute(
            sa.select(RatedHours.usage_class, RatedHours.hours).order_by(RatedHours.usage_class)
        ).all(),
        "tokens": db.session.execute(
            sa.select(ApiToken.id, ApiToken.revoked_dt).order_by(ApiToken.id)
        ).all(),
        "webhooks": count(WebhookEndpoint),
        "feeds": count(CalendarFeed),
    }


# (who, path, form data, status, message, the page shown); paths name objects of `world`.
CASES = {
    "submit a published listing": (
        "manager", "/lab/listings/{listing}/submit", {}, 409,
        "Only drafts, rejected or withdrawn listings can be submitted.", MANAGE,
    ),
    "withdraw a draft": (
        "manager", "/lab/listings/{draft}/withdraw", {}, 409,
        "Only published or submitted listings can be withdrawn.", MANAGE,
    ),
    "switch off the only unit": (
        "manager", "/lab/units/{unit}/toggle", {}, 409,
        "A listing keeps at least one active unit.", MANAGE,
    ),
    "add a unit twice": (
        "manager", "/lab/listings/{listing}/units", {"name": "#1"}, 409,
        "A unit with this name exists already.", MANAGE,
    ),
    "add a unit without a name": (
        "manager", "/lab/listings/{listing}/units", {"name": ""}, 400, "Name the unit.", MANAGE,
    ),
    "opening hours not understood": (
        "manager", "/lab/listings/{listing}/hours", {**DAYS, "day0": "8-12"}, 400,
        "Write opening hours like 08:30-12:00", MANAGE,
    ),
    "an outage without its times": (
        "manager", "/lab/listings/{listing}/outages", {"note": "坏了"}, 400,
        "Give the unit, the start and the end of the outage.", MANAGE,
    ),
    "a file not chosen": (
        "manager", "/lab/listings/{listing}/files", {"role": "photo"}, 400,
        "Choose a file to upload.", MANAGE,
    ),
    "an unknown category code": (
        "manager", "/lab/listings/new?kind=equipment",
        {"name": "离子色谱仪", "field": "new_materials", "category_code": "999999",
         "price_unit": "hour", "price_external": "100", "units": "1", "slot_minutes": "30",
         "min_minutes": "60", "max_minutes": "480", "lead_hours": "24", "horizon_days": "60",
         "buffer_minutes": "0", "free_cancel_hours": "48", "cancel_fee_percent": "0",
         "instrument_status": "normal"},
        400, "Unknown instrument category code.", FORM,
    ),
    "a VAT rate not offered": (
        "manager", "/lab/settings", {"vat_rate_bp": "700"}, 400,
        "Choose one of the VAT rates.", SETTINGS,
    ),
    "rate a booking twice": (
        "customer", "/bookings/{booking}/rating", {"score": "1"}, 409,
        "This booking has already been rated.", BOOKING,
    ),
    "the customer replies to the rating": (
        "customer", "/ratings/{rating}/reply", {"reply": "我来回复"}, 403,
        "Only managers of the laboratory reply to its ratings.", BOOKING,
    ),
    "an empty reply": (
        "manager", "/ratings/{rating}/reply", {"reply": " "}, 400, "Write the reply.", BOOKING,
    ),
    "rated hours out of range": (
        "admin", "/stats/rated-hours", {"general": "1500", "special": "0", "extended": "1600"},
        400, "Rated hours are 1 to 8,760 a year.", RATED,
    ),
    "revoke someone else's token": (
        "customer", "/account/api-tokens/{token}/revoke", {}, 404, "No such token.", TOKENS,
    ),
    "a token without permissions": (
        "customer", "/account/api-tokens", {"name": "ERP", "days": "30"}, 400,
        "Choose at least one permission.", TOKENS,
    ),
    "a webhook address that is not http": (
        "customer", "/account/webhooks",
        {"url": "ftp://erp.example.cn/hook", "events": ["booking.created"]}, 400,
        "Give the full address, starting with https://", WEBHOOKS,
    ),
    "a lab calendar link asked by a customer": (
        "customer", "/account/calendar", {"scope": "lab", "action": "create"}, 403,
        "Only managers of a laboratory change its calendar link.", FEEDS,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_answers_its_status_on_the_page_the_user_was_on(
    client, db, login, platform_admin, world, case
):
    who, path, data, status, message, shown = CASES[case]
    login(platform_admin if who == "admin" else world[who])
    ids = {name: getattr(obj, "id", None) for name, obj in world.items()}
    before = _state(db)
    answer = client.post(path.format(**ids), data=data, headers=EN)
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert message in page
    assert shown in page  # the page the form was on, not a bare error page
    assert _state(db) == before


def test_a_refused_form_keeps_what_was_typed(client, db, login, world, platform_admin):
    login(world["manager"])
    answer = client.post(
        f"/lab/listings/{world['listing'].id}/hours", data={**DAYS, "day3": "9点-12点"}
    )
    assert answer.status_code == 400 and 'value="9点-12点"' in answer.get_data(as_text=True)
    client.post("/account/signout")
    login(platform_admin)
    answer = client.post("/stats/rated-hours", data={"general": "1500", "special": "99999"})
    assert answer.status_code == 400 and 'value="99999"' in answer.get_data(as_text=True)


def test_a_listing_action_by_a_member_who_does_not_manage_is_not_found(
    client, db, lab, login, make_user, world
):
    login(make_user(lab, role=Role.MEMBER))
    before = _state(db)
    assert client.post(f"/lab/listings/{world['draft'].id}/submit").status_code == 404
    assert client.post(f"/lab/units/{world['unit'].id}/toggle").status_code == 404
    assert _state(db) == before
