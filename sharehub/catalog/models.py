"""What labs share: listings of equipment, expert time and datasets, their units,
prices, booking rules, opening hours, outages, photos and the review of changes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation


class ListingKind(enum.StrEnum):
    EQUIPMENT = "equipment"
    EXPERT = "expert"
    DATASET = "dataset"


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending"  # submitted, waiting for an administrator
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Field(enum.StrEnum):
    HIGH_END_MANUFACTURING = "high_end_manufacturing"
    NEW_MATERIALS = "new_materials"
    INFORMATION_TECHNOLOGY = "information_technology"
    ENERGY_ELECTRONICS = "energy_electronics"
    BIOMEDICINE = "biomedicine"
    FOOD_AGRICULTURE = "food_agriculture"
    ENVIRONMENT = "environment"
    CONSUMER_GOODS = "consumer_goods"
    CONSTRUCTION = "construction"


class PriceUnit(enum.StrEnum):
    HOUR = "hour"
    HALF_DAY = "half_day"
    DAY = "day"
    SESSION = "session"
    SAMPLE = "sample"
    PERIOD = "period"


class OutageKind(enum.StrEnum):
    MAINTENANCE = "maintenance"
    BREAKDOWN = "breakdown"
    CALIBRATION = "calibration"  # planned from a certificate (sharehub/calibration)


class AccessMode(enum.StrEnum):
    DOWNLOAD = "download"
    API = "api"


KIND_LABELS = {
    ListingKind.EQUIPMENT: _l("Equipment"),
    ListingKind.EXPERT: _l("Expert time"),
    ListingKind.DATASET: _l("Dataset"),
}
STATUS_LABELS = {
    ListingStatus.DRAFT: _l("Draft"),
    ListingStatus.PENDING: _l("Waiting for review"),
    ListingStatus.PUBLISHED: _l("Published"),
    ListingStatus.REJECTED: _l("Rejected"),
    ListingStatus.WITHDRAWN: _l("Withdrawn"),
}
FIELD_LABELS = {
    Field.HIGH_END_MANUFACTURING: _l("High-end manufacturing"),
    Field.NEW_MATERIALS: _l("New materials"),
    Field.INFORMATION_TECHNOLOGY: _l("Information technology"),
    Field.ENERGY_ELECTRONICS: _l("Energy electronics"),
    Field.BIOMEDICINE: _l("Biomedicine"),
    Field.FOOD_AGRICULTURE: _l("Food and agriculture"),
    Field.ENVIRONMENT: _l("Environment and safety"),
    Field.CONSUMER_GOODS: _l("Consumer goods"),
    Field.CONSTRUCTION: _l("Construction materials"),
}
PRICE_UNIT_LABELS = {
    PriceUnit.HOUR: _l("per hour"),
    PriceUnit.HALF_DAY: _l("per half day"),
    PriceUnit.DAY: _l("per day"),
    PriceUnit.SESSION: _l("per session"),
    PriceUnit.SAMPLE: _l("per sample"),
    PriceUnit.PERIOD: _l("per access period"),
}
# 商品和服务税收分类编码 (19 digits) a listing's lines carry on the fapiao unless the lab sets
# its own: 现代服务 › 研发和技术服务 › 研发服务 for instrument time and data, 现代服务 ›
# 鉴证咨询服务 › 咨询服务 for expert consultations. Defaults only: the lab's tax adviser
# confirms them (a testing lab may prefer its 检验检测 code), and the listing keeps its own.
DEFAULT_TAX_CODES = {
    ListingKind.EQUIPMENT: "3040101000000000000",
    ListingKind.EXPERT: "3040603000000000000",
    ListingKind.DATASET: "3040101000000000000",
}
# The unit (单位) a fapiao line names for a price unit.
FAPIAO_UNITS = {
    PriceUnit.HOUR: "小时",
    PriceUnit.HALF_DAY: "半天",
    PriceUnit.DAY: "天",
    PriceUnit.SESSION: "次",
    PriceUnit.SAMPLE: "样品",
    PriceUnit.PERIOD: "期",
}
OUTAGE_LABELS = {
    OutageKind.MAINTENANCE: _l("Maintenance"),
    OutageKind.BREAKDOWN: _l("Breakdown"),
    OutageKind.CALIBRATION: _l("Calibration"),
}
ACCESS_LABELS = {AccessMode.DOWNLOAD: _l("Download"), AccessMode.API: _l("API")}


class InstrumentCategory(Model):
    """The 6-digit instrument category code (仪器分类编码) of the national instrument network."""

    __tablename__ = "instrument_category"

    code: so.Mapped[str] = so.mapped_column(sa.String(6), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(150), default="")


class Listing(Model):
    __tablename__ = "listing"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[ListingKind] = so.mapped_column(str_enum(ListingKind, 16), index=True)
    status: so.Mapped[ListingStatus] = so.mapped_column(
        str_enum(ListingStatus, 16), default=ListingStatus.DRAFT, index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    description_en: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    field: so.Mapped[Field] = so.mapped_column(str_enum(Field, 32), index=True)
    category_code: so.Mapped[str | None] = so.mapped_column(
        sa.ForeignKey("instrument_category.code", ondelete="RESTRICT"), index=True
    )
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    contact_phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")

    # Prices in fen; the cluster price applies to firms of the lab's own cluster.
    price_unit: so.Mapped[PriceUnit] = so.mapped_column(str_enum(PriceUnit, 16))
    price_internal: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    price_external: so.Mapped[int] = so.mapped_column(sa.BigInteger, index=True)
    price_cluster: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    min_charge: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # A staff operator's time on a booking made with assistance, per hour (fen, before VAT).
    assisted_rate: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, server_default="0")

    # Booking rules (minutes and hours as named)
    slot_minutes: so.Mapped[int] = so.mapped_column(default=60)
    min_minutes: so.Mapped[int] = so.mapped_column(default=60)
    max_minutes: so.Mapped[int] = so.mapped_column(default=480)
    lead_hours: so.Mapped[int] = so.mapped_column(default=24)
    horizon_days: so.Mapped[int] = so.mapped_column(default=90)
    buffer_minutes: so.Mapped[int] = so.mapped_column(default=0)
    approval_required: so.Mapped[bool] = so.mapped_column(default=True)
    free_cancel_hours: so.Mapped[int] = so.mapped_column(default=48)
    cancel_fee_percent: so.Mapped[int] = so.mapped_column(default=0)
    training_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    # Equipment: fields of the national instrument registry
    instrument_number: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    model: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # 税收分类编码 of the listing's fapiao lines; empty: the default of its kind.
    tax_code: so.Mapped[str] = so.mapped_column(sa.String(19), default="", server_default="")
    main_indicators: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    test_fields: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    manufacturer: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    country_of_origin: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    original_value: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)  # fen
    commissioning_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    location: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    instrument_status: so.Mapped[str] = so.mapped_column(sa.String(32), default="normal")
    # Class of use for the rated hours a year (stats.models.RatedHours): general | special
    usage_class: so.Mapped[str] = so.mapped_column(
        sa.String(16), default="general", server_default="general"
    )

    # Expert time
    expert_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    expert_title: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    expert_fields: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    qualifications: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    languages: so.Mapped[str] = so.mapped_column(sa.String(200), default="")

    # Dataset
    licence: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    data_format: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    data_size: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    access_mode: so.Mapped[AccessMode | None] = so.mapped_column(str_enum(AccessMode, 16))
    access_days: so.Mapped[int | None] = so.mapped_column()

    # Search support, kept in sync on every write (see catalog/search.py)
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    search_bigrams: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    rating_avg: so.Mapped[float | None] = so.mapped_column(sa.Float, index=True)
    rating_count: so.Mapped[int] = so.mapped_column(default=0)
    review_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    published_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)

    lab: so.Mapped[Organisation] = so.relationship()
    category: so.Mapped[InstrumentCategory | None] = so.relationship()
    units: so.Mapped[list[Unit]] = so.relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="Unit.id"
    )
    files: so.Mapped[list[ListingFile]] = so.relationship(
        back_populates="listing",
        cascade="all, delete-orphan",
        order_by="(ListingFile.position, ListingFile.id)",
    )
    opening_hours: so.Mapped[list[OpeningInterval]] = so.relationship(
        back_populates="listing",
        cascade="all, delete-orphan",
        order_by="(OpeningInterval.weekday, OpeningInterval.start_minute)",
    )

    __table_args__ = (
        sa.CheckConstraint("price_internal >= 0 AND price_external >= 0", name="price_positive"),
        sa.Index("ix_listing_status_kind", "status", "kind"),
    )

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def field_label(self):
        return FIELD_LABELS[self.field]

    @property
    def fapiao_tax_code(self) -> str:
        return self.tax_code or DEFAULT_TAX_CODES[self.kind]

    @property
    def fapiao_unit(self) -> str:
        return FAPIAO_UNITS[self.price_unit]

    @property
    def price_unit_label(self):
        return PRICE_UNIT_LABELS[self.price_unit]

    @property
    def photos(self) -> list[ListingFile]:
        return [f for f in self.files if f.role == "photo"]

    @property
    def documents(self) -> list[ListingFile]:
        """Public documents: specifications and dataset samples (not the dataset itself)."""
        return [f for f in self.files if f.role in ("spec", "sample")]

    @property
    def data_files(self) -> list[ListingFile]:
        return [f for f in self.files if f.role == "data"]

    def price_for(self, tier: str) -> int:
        """The unit price at a tier of catalog.pricing.tier_for(), which gives the cluster
        tier only to listings that have a cluster price (else the external price holds)."""
        if tier == "internal":
            return self.price_internal
        if tier == "cluster" and self.price_cluster is not None:
            return self.price_cluster
        return self.price_external

    def can_edit(self, user) -> bool:
        return user.is_authenticated and user.can_manage(self.lab)

    def can_view(self, user) -> bool:
        if self.is_published and self.lab.is_serving:
            return True
        if not user.is_authenticated:
            return False
        return (
            user.membership_in(self.lab_id) is not None
            or user.is_platform_admin
            or user.is_regulator
        )


class Unit(Model):
    """One bookable thing: an instrument of a listing, or the expert of an expert listing."""

    __tablename__ = "unit"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    serial_number: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    location: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    is_active: so.Mapped[bool] = so.mapped_column(default=True)

    listing: so.Mapped[Listing] = so.relationship(back_populates="units")
    outages: so.Mapped[list[Outage]] = so.relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="Outage.starts_dt"
    )


class ListingFile(StoredFileMixin, Model):
    """A photo (with thumbnail), specification PDF or dataset sample of a listing."""

    __tablename__ = "listing_file"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(16))  # photo | spec | sample
    thumb_name: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    position: so.Mapped[int] = so.mapped_column(default=0)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    listing: so.Mapped[Listing] = so.relationship(back_populates="files")


class OpeningInterval(Model):
    """Opening hours: weekday 0 = Monday; minutes since local midnight (Asia/Shanghai)."""

    __tablename__ = "opening_interval"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    weekday: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    start_minute: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    end_minute: so.Mapped[int] = so.mapped_column(sa.SmallInteger)

    listing: so.Mapped[Listing] = so.relationship(back_populates="opening_hours")

    __table_args__ = (
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6 AND start_minute >= 0 AND end_minute <= 1440 "
            "AND start_minute < end_minute",
            name="valid_interval",
        ),
    )


class Holiday(Model):
    """A day of the State Council schedule: a day off, or a make-up working day (调休)."""

    __tablename__ = "holiday"

    day: so.Mapped[date] = so.mapped_column(sa.Date, primary_key=True)
    is_workday: so.Mapped[bool] = so.mapped_column(default=False)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")


class Outage(Model):
    __tablename__ = "outage"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[OutageKind] = so.mapped_column(str_enum(OutageKind, 16))
    starts_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    note: so.Mapped[str] = so.mapped_column(sa.String(300), default="")

    unit: so.Mapped[Unit] = so.relationship(back_populates="outages")

    @property
    def kind_label(self):
        return OUTAGE_LABELS[self.kind]


class ListingRevision(Model):
    """A change to a published listing, waiting for review; the listing stays as it was."""

    __tablename__ = "listing_revision"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    data: so.Mapped[dict] = so.mapped_column(sa.JSON)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending", index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    decided_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    listing: so.Mapped[Listing] = so.relationship()


class Favourite(Model):
    __tablename__ = "favourite"
    __table_args__ = (sa.UniqueConstraint("user_id", "listing_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
