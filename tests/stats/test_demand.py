"""Unmet demand: searches whose free-time filter found nothing, requests declined for lack
of capacity, and waiting lists — on the administrators' page and in its export."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.support import clock
from tests.support.stats import csv_rows

# a free-time search a month ahead (within the year a visitor may search), five days long
D0 = (clock.today() + timedelta(days=30)).isoformat()
D4 = (clock.today() + timedelta(days=34)).isoformat()


def test_unmet_demand_is_recorded_and_shown(
    client, login, db, lab, make_org, make_user, make_listing, make_booking, platform_admin
):
    from sharehub.accounts.models import Role
    from sharehub.booking.models import BookingStatus, WaitlistEntry
    from sharehub.catalog.models import Field
    from sharehub.core.db import utcnow
    from sharehub.stats.models import SearchMiss

    listing = make_listing(lab, name="扫描电镜", field=Field.NEW_MATERIALS)
    firm = make_org(name="等位企业")
    buyer = make_user(firm)
    pending = make_booking(
        listing.units[0], firm, f"{D0} 09:00", f"{D0} 10:00", BookingStatus.PENDING
    )
    now = utcnow()
    pending.created_dt = now  # requested today, for a day a month ahead
    db.session.add(
        WaitlistEntry(
            listing_id=listing.id,
            customer_org_id=firm.id,
            user_id=buyer.id,
            starts_dt=pending.starts_dt,
            ends_dt=pending.ends_dt,
        )
    )
    db.session.commit()

    # A search for 300 free hours in one piece finds nothing: it is kept (filters only).
    client.get(f"/catalog?q=电镜&field=new_materials&from={D0}&to={D4}&hours=300")
    client.get(f"/catalog?q=电镜&field=new_materials&from={D0}&to={D4}&hours=300&page=2")
    client.get("/catalog?q=电镜")  # no free-time filter: not demand
    misses = db.session.scalars(sa.select(SearchMiss)).all()
    assert [(m.query, m.field, m.hours, str(m.wanted_to)) for m in misses] == [
        ("电镜", "new_materials", 300, f"{D4}")
    ]

    login(make_user(lab, role=Role.MANAGER))
    client.post(
        f"/bookings/{pending.id}/decline",
        data={"reason": "本周机时已满", "for_capacity": "1"},
    )
    db.session.refresh(pending)
    assert pending.status == BookingStatus.DECLINED and pending.declined_for_capacity

    client.post("/account/signout")
    login(platform_admin)
    year = f"period=year&year={clock.today().year}"
    html = client.get(f"/stats/demand?{year}").get_data(as_text=True)
    assert 'id="demand-searches">1<' in html
    assert 'id="demand-declined">1<' in html
    assert 'id="demand-waiting">1<' in html
    assert "扫描电镜" in html

    rows = csv_rows(client.get(f"/stats/demand.csv?{year}"))
    assert rows[1][1:] == ["扫描电镜", lab.name, "1", "1"]


def test_an_ordinary_decline_is_not_unmet_demand(
    client, login, db, lab, make_org, make_listing, make_booking, make_user, english
):
    from datetime import date

    from sharehub.booking import services
    from sharehub.booking.models import BookingStatus
    from sharehub.core.db import utcnow
    from sharehub.stats.demand import unmet_demand

    listing = make_listing(lab)
    booking = make_booking(
        listing.units[0], make_org(), f"{D0} 09:00", f"{D0} 10:00", BookingStatus.PENDING
    )
    booking.created_dt = utcnow()
    services.decline(make_user(lab), booking, "样品不在检测范围")
    year = utcnow().year
    found = unmet_demand(date(year, 1, 1), date(year + 1, 1, 1))
    assert (found["declined"], found["waiting"], found["searches"]) == (0, 0, 0)


def test_searches_that_find_nothing_are_unmet_demand(
    client, login, db, lab, make_listing, platform_admin, english
):
    """Without a free-time filter too, on the catalogue page and in the API: the normalised
    text and the filters are kept once per search, nothing about who searched."""
    from sharehub.catalog.models import Field
    from sharehub.stats.models import SearchMiss

    make_listing(lab, name="扫描电镜", field=Field.NEW_MATERIALS)
    assert client.get("/catalog?q=扫描电镜").status_code == 200  # found: not demand
    client.get(
        "/catalog?q=%EF%BC%A8%EF%BC%B0%EF%BC%AC%EF%BC%A3++%E6%B6%B2%E7%9B%B8&field=biomedicine"
    )
    client.get("/catalog?q=hplc 液相&field=biomedicine&page=2")  # not the first page
    client.get("/catalog")  # no text, no filter: the whole catalogue, not a wish
    assert client.get("/api/v1/listings?q=HPLC%20%E6%B6%B2%E7%9B%B8").status_code == 200
    misses = db.session.scalars(sa.select(SearchMiss).order_by(SearchMiss.id)).all()
    assert [(m.query, m.field, m.hours, m.wanted_from) for m in misses] == [
        ("hplc 液相", "biomedicine", None, None),
        ("hplc 液相", "", None, None),
    ]

    login(platform_admin)
    html = client.get(f"/stats/demand?period=year&year={clock.today().year}").get_data(as_text=True)
    assert 'id="demand-searches">2<' in html
    assert "Searches that found nothing" in html and "no listing matched" in html
    top = html.split('id="top-misses-table"')[1].split("</table>")[0]
    assert "hplc 液相" in top and '<td class="text-end">2</td>' in top
