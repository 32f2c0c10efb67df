"""A year of activity for the demo labs, so the statistics pages have something to show:
completed bookings of the demo enterprises with their usage, invoices and ratings, no-shows
and cancellations, the labs' own use without booking, a few outages. Deterministic (a
fixed seed) and loaded once, after the demo listings."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Membership, Organisation, OrgKind, OrgStatus
from sharehub.billing.models import Invoice, InvoiceCounter, InvoiceStatus
from sharehub.booking import chain
from sharehub.booking.models import Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import Listing, ListingKind, Outage, OutageKind, Unit
from sharehub.core.clock import local_today
from sharehub.extensions import db
from sharehub.stats.models import Rating, SearchMiss
from sharehub.stats.ratings import _refresh_listing
from sharehub.stats.sql import LAB_TZ

SEARCHES = [
    ("扫描电镜", "new_materials"),
    ("透射电镜", "new_materials"),
    ("电磁兼容", "information_technology"),
    ("盐雾", "high_end_manufacturing"),
    ("液质", "biomedicine"),
    ("电池循环", "energy_electronics"),
]
COMMENTS = [
    (5, "数据准确，报告出得快，工程师讲解很耐心。"),
    (5, "预约方便，样品前处理很专业。"),
    (4, "整体满意，排队时间略长。"),
    (4, "测试结果可靠，价格合理。"),
    (3, "设备很好，但沟通可以更及时。"),
    (5, ""),
    (4, ""),
]


def seed_demo_activity(today: date | None = None, seed: int = 20261124) -> int:
    """Create the activity once (nothing if any usage record exists); returns the number of
    usage records made."""
    if db.session.scalar(sa.select(UsageRecord.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    today = today or local_today()
    first = date(today.year - 1, today.month, 1)
    firms = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrgKind.ENTERPRISE)
        .order_by(Organisation.id)
    ).all()
    units = db.session.execute(
        sa.select(Unit, Listing)
        .join(Listing, Listing.id == Unit.listing_id)
        .join(Organisation, Organisation.id == Listing.lab_id)
        .where(
            Listing.kind != ListingKind.DATASET,
            Organisation.status == OrgStatus.ACTIVE,
            Unit.is_active.is_(True),
        )
        .order_by(Unit.id)
    ).all()
    if not firms or not units:
        return 0
    buyers = {
        m.organisation_id: m.user_id
        for m in db.session.scalars(sa.select(Membership).order_by(Membership.id))
    }
    usage, invoices, ratings, touched = [], [], [], set()
    completed = []  # flushed together below, which gives them their ids
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    workdays = [d for d in days if d.weekday() < 5]
    for unit, listing in units:
        busy = rng.uniform(0.15, 0.6)  # share of working days with use
        for day in workdays:
            if rng.random() > busy:
                continue
            hour = rng.choice((9, 10, 14, 15))
            start = datetime.combine(day, time(hour), LAB_TZ)
            minutes = rng.choice((60, 90, 120, 180))
            end = start + timedelta(minutes=minutes)
            if rng.random() < 0.35:  # the lab's own use, never booked
                usage.append(_usage(unit, listing.lab_id, None, start, end, minutes))
                continue
            firm = firms[rng.randrange(len(firms))]
            status = rng.choices(
                (
                    BookingStatus.COMPLETED,
                    BookingStatus.CANCELLED,
                    BookingStatus.NO_SHOW,
                    BookingStatus.DECLINED,
                ),
                (0.84, 0.09, 0.05, 0.02),
            )[0]
            requested = start - timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8))
            booking = Booking(
                uid=f"{uuid.uuid4()}@demo.sharehub.cn",
                listing_id=listing.id,
                unit_id=unit.id,
                customer_org_id=firm.id,
                customer_user_id=buyers.get(firm.id),
                starts_dt=start,
                ends_dt=end,
                blocked_until_dt=end,
                status=status,
                price_tier="external",
                net_amount=listing.price_external * minutes // 60,
                vat_rate_bp=600,
                vat_amount=listing.price_external * minutes // 60 * 6 // 100,
                gross_amount=listing.price_external * minutes // 60 * 106 // 100,
                decided_dt=requested + timedelta(minutes=rng.choice((12, 35, 60, 150, 420))),
                declined_for_capacity=status == BookingStatus.DECLINED,
                reason="本周机时已满" if status == BookingStatus.DECLINED else "",
                created_dt=requested,
                updated_dt=end,
            )
            db.session.add(booking)
            if status != BookingStatus.COMPLETED:
                continue
            completed.append((booking, unit, listing, firm, start, end, minutes))
            rated = end + timedelta(days=2)
            if rng.random() < 0.45 and rated.date() < today:
                score, comment = rng.choice(COMMENTS)
                ratings.append(
                    (
                        booking,
                        dict(
                            listing_id=listing.id,
                            customer_org_id=firm.id,
                            author_id=buyers.get(firm.id),
                            score=score,
                            comment=comment,
                            created_dt=rated,
                        ),
                    )
                )
                touched.add(listing)
        if rng.random() < 0.3:
            day = rng.choice(workdays)
            start = datetime.combine(day, time(8), LAB_TZ)
            db.session.add(
                Outage(
                    unit_id=unit.id,
                    kind=OutageKind.MAINTENANCE,
                    starts_dt=start,
                    ends_dt=start + timedelta(days=rng.randint(1, 3)),
                    note="年度校准",
                )
            )
    for n in range(40):  # searches whose free-time filter found nothing
        day = first + timedelta(days=rng.randrange((today - first).days))
        query, field = rng.choice(SEARCHES)
        db.session.add(
            SearchMiss(
                query=query,
                field=field,
                wanted_from=day + timedelta(days=3),
                wanted_to=day + timedelta(days=5),
                hours=rng.choice((8, 16, 24, 40)),
                created_dt=datetime.combine(day, time(9 + n % 8), LAB_TZ),
            )
        )
    db.session.flush()
    for booking, unit, listing, firm, start, end, minutes in completed:
        usage.append(_usage(unit, firm.id, booking.id, start, end, minutes))
        invoices.append((end + timedelta(days=1), listing.lab_id, firm.id, booking))
    db.session.execute(sa.insert(UsageRecord), usage)
    chain.backfill()  # each lab's usage records form its hash chain
    # the usage just inserted, loaded onto the bookings in one query for their invoice lines
    db.session.scalars(
        sa.select(Booking)
        .where(Booking.id.in_([b.id for b, *_ in completed]))
        .options(so.selectinload(Booking.usage))
    ).all()
    with db.session.no_autoflush:
        _invoices(invoices, today)
    db.session.add_all(Rating(booking_id=booking.id, **fields) for booking, fields in ratings)
    db.session.flush()
    for listing in touched:
        _refresh_listing(listing)
    db.session.flush()
    return len(usage)


def _usage(unit, org_id, booking_id, start, end, minutes) -> dict:
    return {
        "unit_id": unit.id,
        "booking_id": booking_id,
        "user_org_id": org_id,
        "started_dt": start.astimezone(UTC),
        "ended_dt": end.astimezone(UTC),
        "prep_minutes": 15,
        "run_minutes": minutes - 15,
        "post_minutes": 20,
        "samples": 2,
        "service_way": "on_site",
        "notes": "",
        "created_dt": end.astimezone(UTC),
        "updated_dt": end.astimezone(UTC),
        # Most booked use is captured at the kiosk; internal use typed or imported.
        "source": (
            ("lab_staff" if start.day % 3 == 0 else "kiosk")
            if booking_id is not None
            else ("csv_import" if start.day % 2 else "lab_staff")
        ),
    }


def _invoices(items, today: date) -> None:
    """Issued invoices numbered without gaps per lab and year, in date order, with the
    lines the billing service makes for the booking (totals are their sums), so a demo
    invoice can be paid, voided and checked like any other."""
    from sharehub.billing.services import booking_lines, party

    counters: dict[tuple[int, int], int] = {}
    parties: dict[int, dict] = {}
    for issued, lab_id, firm_id, booking in sorted(items, key=lambda i: (i[0], i[3].id)):
        if issued.date() >= today:
            continue
        year = issued.year
        counters[(lab_id, year)] = sequence = counters.get((lab_id, year), 0) + 1
        for org_id in (lab_id, firm_id):
            if org_id not in parties:
                parties[org_id] = party(db.session.get(Organisation, org_id))
        lines = booking_lines(booking)
        net, vat = sum(line.net for line in lines), sum(line.vat for line in lines)
        db.session.add(
            Invoice(
                lab_id=lab_id,
                customer_org_id=firm_id,
                booking_id=booking.id,
                status=InvoiceStatus.ISSUED,
                year=year,
                sequence=sequence,
                number=f"SH{lab_id:04d}-{year}-{sequence:06d}",
                lines=lines,
                net_total=net,
                vat_total=vat,
                gross_total=net + vat,
                seller=parties[lab_id],
                buyer=parties[firm_id],
                issued_dt=issued,
                created_dt=issued,
            )
        )
    for (lab_id, year), last in counters.items():
        db.session.add(InvoiceCounter(lab_id=lab_id, year=year, last_number=last))
