"""The API books through the one booking service, so the competence rule holds there too:
a self-operated booking without an authorisation is refused (403, with the way to get
trained); an assisted one books a staff operator and carries its charge."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.booking.models import Booking
from tests.support.api import body
from tests.support.clock import workday

pytestmark = pytest.mark.usefixtures("english")


def test_a_self_operated_booking_without_authorisation_is_refused(
    api, db, competence_world, make_token
):
    world = competence_world
    token = make_token(world.buyer, world.firm)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Booking))
    response = api.post("/api/v1/bookings", body(world.instrument, workday()), token=token)
    assert response.status_code == 403, response.get_json()
    problem = response.get_json()
    assert "not authorised to operate" in problem["detail"]
    assert "ICP-OES 上机培训" in problem["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == before


def test_an_assisted_booking_books_the_operator_and_charges_the_rate(
    api, db, competence_world, make_token
):
    world = competence_world
    token = make_token(world.buyer, world.firm)
    response = api.post(
        "/api/v1/bookings", body(world.instrument, workday(), assisted=True), token=token
    )
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    assert booking["assisted"] is True and booking["assisted_amount"] == 24000
    assert booking["price"]["net_fen"] == 124000
    stored = db.session.get(Booking, booking["id"])
    assert [op.unit.listing_id for op in stored.operators] == [world.staff.id]
    listed = api.get("/api/v1/bookings", token=token).get_json()["items"]
    assert [item["id"] for item in listed] == [booking["id"]]  # not the operator's time


def test_an_authorised_user_books_alone_through_the_api(
    api, db, competence_world, authorise, make_token
):
    world = competence_world
    authorise(world, world.buyer)
    token = make_token(world.buyer, world.firm)
    response = api.post("/api/v1/bookings", body(world.instrument, workday()), token=token)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["assisted"] is False
