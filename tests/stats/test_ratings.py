"""Ratings: the customer rates a completed booking once; the lab replies once; the listing
shows them and its average; satisfaction follows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support import clock


@pytest.fixture
def done(db, lab, make_org, make_user, make_listing, make_booking):
    from sharehub.accounts.models import Role

    firm = make_org(name="客户企业")
    customer = make_user(firm)
    manager = make_user(lab, role=Role.MANAGER)
    listing = make_listing(lab)
    booking = make_booking(listing.units[0], firm, "2026-03-02 09:00", "2026-03-02 11:00")
    booking.customer_user_id = customer.id
    db.session.commit()
    return {"booking": booking, "customer": customer, "manager": manager, "listing": listing}


def _ratings(db):
    from sharehub.stats.models import Rating

    return db.session.scalars(sa.select(Rating)).all()


def test_customer_rates_once_and_the_listing_shows_it(client, login, db, done):
    booking, listing = done["booking"], done["listing"]
    login(done["customer"])
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="send-rating"' in page

    response = client.post(
        f"/bookings/{booking.id}/rating", data={"score": "4", "comment": "数据准确，出报告快"}
    )
    assert response.status_code == 302
    db.session.refresh(listing)
    assert (listing.rating_avg, listing.rating_count) == (4.0, 1)
    html = client.get(f"/catalog/{listing.id}").get_data(as_text=True)
    assert "数据准确，出报告快" in html and "★★★★☆" in html

    again = client.post(f"/bookings/{booking.id}/rating", data={"score": "1"})
    assert again.status_code == 409  # a conflict, shown on the booking page
    page = again.get_data(as_text=True)
    assert "This booking has already been rated." in page
    assert 'id="booking-status"' in page and 'id="booking-rating"' in page
    assert [r.score for r in _ratings(db)] == [4]


@pytest.mark.parametrize("score", ["0", "6", "x", ""])
def test_a_score_outside_one_to_five_is_refused(client, login, db, done, score):
    login(done["customer"])
    response = client.post(
        f"/bookings/{done['booking'].id}/rating", data={"score": score, "comment": "留着"}
    )
    assert response.status_code == 400  # the booking page again, with the reason
    page = response.get_data(as_text=True)
    assert "Choose from 1 to 5 stars." in page
    assert _ratings(db) == []


def test_only_completed_bookings_of_the_customer_are_rated(
    client, login, db, done, make_user, make_org, english
):
    from sharehub.booking.models import BookingStatus
    from sharehub.core.errors import Conflict, PermissionDenied
    from sharehub.stats import ratings

    with pytest.raises(PermissionDenied):
        ratings.rate(done["manager"], done["booking"], 5)
    done["booking"].status = BookingStatus.CONFIRMED
    with pytest.raises(Conflict):
        ratings.rate(done["customer"], done["booking"], 5)
    login(make_user(make_org(name="旁人")))
    assert (
        client.post(f"/bookings/{done['booking'].id}/rating", data={"score": "5"}).status_code
        == 404
    )


def test_lab_replies_once_and_satisfaction_counts_the_rating(client, login, db, done, english):
    from datetime import date

    from sharehub.core.errors import Conflict, PermissionDenied
    from sharehub.stats import ratings
    from sharehub.stats.metrics import lab_metrics

    rating = ratings.rate(done["customer"], done["booking"], 2, "样品等了一周")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        ratings.reply(done["customer"], rating, "我来回复")

    login(done["manager"])
    client.post(f"/ratings/{rating.id}/reply", data={"reply": "已改进样品流转"})
    db.session.refresh(rating)
    assert rating.reply == "已改进样品流转" and rating.replied_by_id == done["manager"].id
    with pytest.raises(Conflict):
        ratings.reply(done["manager"], rating, "再说一次")
    html = client.get(f"/catalog/{done['listing'].id}").get_data(as_text=True)
    assert "已改进样品流转" in html

    today = clock.today()
    lab_id = done["listing"].lab_id
    figures = lab_metrics(date(today.year, 1, 1), date(today.year + 1, 1, 1), [lab_id])[lab_id]
    assert (figures["satisfaction"], figures["rating_count"]) == (2.0, 1)
