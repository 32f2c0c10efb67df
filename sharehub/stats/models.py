"""Ratings of completed bookings and the record of unmet demand (searches that found no
free time); together with bookings and usage records they feed the sharing statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User
    from sharehub.booking.models import Booking
    from sharehub.catalog.models import Listing


class Rating(Model):
    """An enterprise's rating of one completed booking (1–5 and a comment), and the lab's
    one reply. The listing is kept beside the booking so listing pages read it directly."""

    __tablename__ = "rating"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    booking_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), unique=True
    )
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    score: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    reply: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    replied_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    replied_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)

    booking: so.Mapped[Booking] = so.relationship()
    listing: so.Mapped[Listing] = so.relationship()
    customer_org: so.Mapped[Organisation] = so.relationship()
    author: so.Mapped[User | None] = so.relationship(foreign_keys=[author_id])

    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    @property
    def has_reply(self) -> bool:
        return self.replied_dt is not None


class SearchMiss(Model):
    """A catalogue search with a free-time filter that found nothing: demand the labs
    could not meet. Only the filters are kept, not who searched."""

    __tablename__ = "search_miss"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    query: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    field: so.Mapped[str] = so.mapped_column(sa.String(32), default="", index=True)
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("region.id", ondelete="SET NULL"), index=True
    )
    cluster_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("cluster.id", ondelete="SET NULL"), index=True
    )
    wanted_from: so.Mapped[date | None] = so.mapped_column(sa.Date)
    wanted_to: so.Mapped[date | None] = so.mapped_column(sa.Date)
    hours: so.Mapped[int | None] = so.mapped_column()
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)


class RatedHours(Model):
    """Rated (quota) hours a year of one class of instrument (定额机时): 1,400 for
    general-purpose, 800 for special-purpose, 1,600 where a platform counts longer
    weeks. Administrators change the figures; listings name their class."""

    __tablename__ = "rated_hours"

    usage_class: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)
    hours: so.Mapped[int]

    __table_args__ = (sa.CheckConstraint("hours > 0", name="positive"),)


class UsageDay(Model):
    """The daily rollup of usage records (stats/rollups.py): per unit, local day
    (Asia/Shanghai) of the start, organisation and person served, the effective minutes
    and the number of current, complete records. A record that crosses a local midnight has
    a row of its own with its start and end, so a period counts the part inside it exactly;
    `last_day` is the last local day a row's records touch. Kept current on write, in the
    transaction that writes the usage; rebuilt by `flask sharehub refresh-rollups`."""

    __tablename__ = "usage_day"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("unit.id", ondelete="CASCADE"))
    day: so.Mapped[date] = so.mapped_column(sa.Date)
    last_day: so.Mapped[date] = so.mapped_column(sa.Date)
    user_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    # The person a record names, or else its booking's customer (no key: a figure only).
    person_id: so.Mapped[int | None] = so.mapped_column()
    minutes: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    records: so.Mapped[int] = so.mapped_column(default=0)
    started_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    ended_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_usage_day_day", "day", "last_day"),
        sa.Index("ix_usage_day_unit_day", "unit_id", "day"),
    )
