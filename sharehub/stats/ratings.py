"""Ratings: the customer of a completed booking rates it once (1–5 and a comment); a
manager of the lab replies once. Each rating updates the listing's average, which the
catalogue shows and sorts by, and the satisfaction figure of the statistics."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.booking.models import Booking, BookingStatus
from sharehub.catalog.models import Listing
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.extensions import db
from sharehub.stats.models import Rating

MAX_COMMENT = 2000


def rating_of(booking: Booking) -> Rating | None:
    return db.session.scalar(sa.select(Rating).where(Rating.booking_id == booking.id))


def can_rate(user, booking: Booking) -> bool:
    return (
        booking.status == BookingStatus.COMPLETED
        and booking.is_customer(user)
        and rating_of(booking) is None
    )


def rate(actor: User, booking: Booking, score, comment: str = "") -> Rating:
    if not booking.is_customer(actor):
        raise PermissionDenied(_l("Only the customer of this booking rates it."))
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(_l("A booking is rated once it is completed."))
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError(_l("Choose from 1 to 5 stars."), field="score")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            _l("The comment is longer than %(n)s characters.", n=MAX_COMMENT), field="comment"
        )
    if rating_of(booking) is not None:
        raise Conflict(_l("This booking has already been rated."))
    rating = Rating(
        booking_id=booking.id,
        listing_id=booking.listing_id,
        customer_org_id=booking.customer_org_id,
        author_id=actor.id,
        score=score,
        comment=comment,
    )
    db.session.add(rating)
    db.session.flush()
    _refresh_listing(booking.listing)
    audit.record(actor, "rating.created", rating, organisation=booking.listing.lab_id, score=score)
    db.session.flush()
    return rating


def reply(actor: User, rating: Rating, text: str) -> None:
    if not actor.can_manage(rating.listing.lab):
        raise PermissionDenied(_l("Only managers of the laboratory reply to its ratings."))
    if rating.has_reply:
        raise Conflict(_l("The laboratory has already replied to this rating."))
    text = (text or "").strip()
    if not text:
        raise ValidationError(_l("Write the reply."), field="reply")
    if len(text) > MAX_COMMENT:
        raise ValidationError(
            _l("The reply is longer than %(n)s characters.", n=MAX_COMMENT), field="reply"
        )
    rating.reply, rating.replied_by_id, rating.replied_dt = text, actor.id, utcnow()
    audit.record(actor, "rating.replied", rating, organisation=rating.listing.lab_id)
    db.session.flush()


def _refresh_listing(listing: Listing) -> None:
    """Average and count from the ratings themselves (one aggregate, never drifting)."""
    average, count = db.session.execute(
        sa.select(sa.func.avg(Rating.score * 1.0), sa.func.count()).where(
            Rating.listing_id == listing.id
        )
    ).one()
    listing.rating_avg = round(float(average), 2) if average is not None else None
    listing.rating_count = count


def listing_ratings(listing: Listing, limit: int = 20) -> list[Rating]:
    return list(
        db.session.scalars(
            sa.select(Rating)
            .where(Rating.listing_id == listing.id)
            .order_by(Rating.created_dt.desc(), Rating.id.desc())
            .limit(limit)
        )
    )


def lab_ratings(lab, limit: int = 10) -> list[Rating]:
    return list(
        db.session.scalars(
            sa.select(Rating)
            .join(Listing, Listing.id == Rating.listing_id)
            .where(Listing.lab_id == lab.id)
            .order_by(Rating.created_dt.desc(), Rating.id.desc())
            .limit(limit)
        )
    )
