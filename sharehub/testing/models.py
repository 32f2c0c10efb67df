"""Commissioned testing (委托检测): testing services by standard, accreditation scopes,
testing requests that become orders, quotes, samples and their chain of custody.

One table, `testing_request`, holds the request (委托单) and, once the customer accepts a
quote, the order (委托协议): there is no separate TestingOrder table. `TestingOrder` is an
alias of `TestingRequest` for code that speaks of orders; an order is a request whose
status is in ORDER_STATUSES. Its lines are the accepted quote's lines (`order.lines`)
and its net total is `order.total_fen`, which always equals their sum (checked by
`flask sharehub check-consistency`). VAT is not part of a quote: it is added by
whatever bills the order, at the lab's rate.

A standard request (every line a priced, published service) is priced at once by the
platform: its first quote is written on submission (`Quote.is_automatic`). Anything else
waits for the lab's quote.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.catalog.models import Field, ListingStatus
from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.errors import Conflict, DomainError, PermissionDenied
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User
    from sharehub.catalog.models import Unit


# --- services -------------------------------------------------------------------------

# A service goes through the same review as a listing: draft → pending → published, or
# rejected / withdrawn; the statuses and their labels are the catalogue's.
ServiceStatus = ListingStatus

# 商品和服务税收分类编码 of testing on the fapiao unless the service sets its own:
# 3040105000000000000 专业技术服务 (现代服务 › 研发和技术服务), under which inspection and
# testing (检验检测) is invoiced at the 6 % of modern services, as "*研发和技术服务*检测费".
# Source: the State Taxation Administration's 商品和服务税收分类编码表 (SAT announcement
# 2017 No. 45 and its later versions; the 30401 研发和技术服务 section), as public
# e-invoice API examples use it (spbm 3040105000000000000). The lab's tax adviser confirms
# it; a service keeps its own code.
TESTING_TAX_CODE = "3040105000000000000"
# The unit (单位) a fapiao line names for a service's price basis.
TESTING_UNITS = {"sample": "样品", "parameter": "项"}


class PriceBasis(enum.StrEnum):
    SAMPLE = "sample"  # the price is per sample
    PARAMETER = "parameter"  # the price is per parameter and sample


PRICE_BASIS_LABELS = {
    PriceBasis.SAMPLE: _l("per sample"),
    PriceBasis.PARAMETER: _l("per parameter"),
}


def normalize_standard(code: str) -> str:
    """A standard's code as compared and searched: upper case, without spaces, slashes,
    dots and dashes ("GB/T 10125-2021" → "GBT101252021"). See `standard_parts`."""
    return re.sub(r"[\s/．。.\-—–_]", "", code or "").upper()


_STANDARD = re.compile(r"^\s*(?P<number>.*?)(?:\s*[-—–:]\s*(?P<year>(19|20)\d\d))?\s*$")


def standard_parts(code: str) -> tuple[str, str]:
    """The standard's number without its year, normalized, and its year ("" if none):
    "GB/T 10125-2021" → ("GBT10125", "2021"); "ISO 9227:2022" → ("ISO9227", "2022")."""
    match = _STANDARD.match(code or "")
    assert match is not None  # the pattern matches any string
    return normalize_standard(match.group("number")), match.group("year") or ""


testing_service_unit = sa.Table(
    "testing_service_unit",
    Model.metadata,
    sa.Column(
        "service_id",
        sa.ForeignKey("testing_service.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("unit_id", sa.ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class TestingService(Model):
    """A test a lab offers to a standard and method, with its parameters, sample
    requirements, turnaround and prices (the catalogue's three tiers: internal, cluster
    member, external; in fen, per sample or per parameter and sample)."""

    __tablename__ = "testing_service"
    __test__ = False  # not a pytest class

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    status: so.Mapped[ListingStatus] = so.mapped_column(
        str_enum(ListingStatus, 16), default=ListingStatus.DRAFT, index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # The standard as written ("GB/T 10125-2021") and its method (中性盐雾试验 NSS)
    standard_code: so.Mapped[str] = so.mapped_column(sa.String(100))
    standard_key: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)  # normalized
    method: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    method_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    description_en: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    field: so.Mapped[Field] = so.mapped_column(str_enum(Field, 32), index=True)

    # Sample requirements
    sample_quantity: so.Mapped[int] = so.mapped_column(default=1)  # pieces per sample
    sample_size: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    sample_condition: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    # Turnaround in working days from receipt to report; expedited at a surcharge
    standard_days: so.Mapped[int] = so.mapped_column(default=7)
    expedited_days: so.Mapped[int | None] = so.mapped_column()
    expedited_surcharge_percent: so.Mapped[int] = so.mapped_column(default=0)

    # Prices in fen (net of VAT), as a listing's: the cluster price for firms of the lab's
    # own cluster, the internal price for the lab's host organisation and its units.
    price_basis: so.Mapped[PriceBasis] = so.mapped_column(
        str_enum(PriceBasis, 16), default=PriceBasis.SAMPLE
    )
    price_internal: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    price_external: so.Mapped[int] = so.mapped_column(sa.BigInteger, index=True)
    price_cluster: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # A service priced case by case (non-standard work) is always quoted by the lab.
    quote_required: so.Mapped[bool] = so.mapped_column(default=False)
    # Cancellation policy: free until the samples are received; from their receipt until
    # the testing starts, a fixed fee (fen, once per order) plus a whole percent of this
    # service's lines in the order. Fixed at acceptance (TestingRequest.cancel_fee_fen).
    cancel_fee_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    cancel_fee_percent: so.Mapped[int] = so.mapped_column(default=0)
    # What its fapiao lines carry: 税收分类编码, 规格型号 and 单位; empty: the defaults
    # (TESTING_TAX_CODE, the standard, the unit of its price basis).
    tax_code: so.Mapped[str] = so.mapped_column(sa.String(19), default="", server_default="")
    line_spec: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    line_unit: so.Mapped[str] = so.mapped_column(sa.String(20), default="", server_default="")

    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    search_bigrams: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    review_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    published_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)

    lab: so.Mapped[Organisation] = so.relationship()
    parameters: so.Mapped[list[ServiceParameter]] = so.relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        order_by="(ServiceParameter.position, ServiceParameter.id)",
    )
    units: so.Mapped[list[Unit]] = so.relationship(secondary=testing_service_unit)

    __table_args__ = (
        sa.CheckConstraint(
            "price_internal >= 0 AND price_external >= 0 AND "
            "(price_cluster IS NULL OR price_cluster >= 0)",
            name="price_positive",
        ),
        sa.CheckConstraint(
            "standard_days > 0 AND sample_quantity > 0 AND expedited_surcharge_percent >= 0",
            name="positive_terms",
        ),
        sa.Index("ix_testing_service_status_field", "status", "field"),
    )

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def status_label(self):
        from sharehub.catalog.models import STATUS_LABELS

        return STATUS_LABELS[self.status]

    @property
    def price_basis_label(self):
        return PRICE_BASIS_LABELS[self.price_basis]

    @property
    def has_expedited(self) -> bool:
        return self.expedited_days is not None

    @property
    def has_cancel_fee(self) -> bool:
        return bool(self.cancel_fee_fen or self.cancel_fee_percent)

    @property
    def fapiao_tax_code(self) -> str:
        return self.tax_code or TESTING_TAX_CODE

    @property
    def fapiao_spec(self) -> str:
        return (self.line_spec or self.standard_code or "")[:200]

    @property
    def fapiao_unit(self) -> str:
        return self.line_unit or TESTING_UNITS.get(self.price_basis, "项")

    def fapiao_fields(self) -> dict[str, str]:
        """The fapiao columns of a line of this service (quote, then statement)."""
        return {
            "tax_code": self.fapiao_tax_code,
            "spec": self.fapiao_spec,
            "unit": self.fapiao_unit,
        }

    def price_for(self, tier: str) -> int:
        """The unit price at a tier of catalog.pricing's tiers (internal, cluster,
        external); a service without a cluster price charges cluster firms the external one."""
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


class ServiceParameter(Model):
    """A parameter (检测参数/项目) a service reports, with its unit and, where the standard
    gives one, its limit (as the standard words it: "≤ 0.1 %", "≥ 96 h 无红锈")."""

    __tablename__ = "service_parameter"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    service_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_service.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    unit: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    limit_text: so.Mapped[str] = so.mapped_column(sa.String(200), default="")

    service: so.Mapped[TestingService] = so.relationship(back_populates="parameters")


# --- accreditation --------------------------------------------------------------------


class AccreditationKind(enum.StrEnum):
    CMA = "cma"  # 检验检测机构资质认定
    CNAS = "cnas"  # 中国合格评定国家认可委员会 (ISO/IEC 17025)


ACCREDITATION_LABELS = {AccreditationKind.CMA: "CMA", AccreditationKind.CNAS: "CNAS"}


class AccreditationCertificate(Model):
    """A lab's CMA or CNAS certificate: number, validity and scope (the standards, and
    optionally the parameters of a standard, it covers)."""

    __tablename__ = "accreditation_certificate"
    __table_args__ = (
        sa.UniqueConstraint("kind", "number", name="uq_accreditation_kind_number"),
        sa.CheckConstraint("issued_date <= valid_until", name="valid_period"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[AccreditationKind] = so.mapped_column(str_enum(AccreditationKind, 8))
    number: so.Mapped[str] = so.mapped_column(sa.String(64))
    issuer: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    issued_date: so.Mapped[date] = so.mapped_column(sa.Date)
    valid_until: so.Mapped[date] = so.mapped_column(sa.Date)
    # A certificate suspended or withdrawn by its body covers nothing, whatever its dates.
    suspended: so.Mapped[bool] = so.mapped_column(default=False)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    lab: so.Mapped[Organisation] = so.relationship()
    scope: so.Mapped[list[AccreditationScope]] = so.relationship(
        back_populates="certificate",
        cascade="all, delete-orphan",
        order_by="AccreditationScope.id",
    )
    documents: so.Mapped[list[CertificateDocument]] = so.relationship(
        back_populates="certificate",
        cascade="all, delete-orphan",
        order_by="CertificateDocument.id",
    )

    @property
    def kind_label(self) -> str:
        return ACCREDITATION_LABELS[self.kind]

    def is_valid_on(self, day: date) -> bool:
        return not self.suspended and self.issued_date <= day <= self.valid_until


class AccreditationScope(Model):
    """One standard in a certificate's scope; `parameter` names the one parameter covered
    ("" covers the whole standard). `standard_number` and `standard_year` are the
    normalized parts of `standard_code`; a scope entry without a year covers every year."""

    __tablename__ = "accreditation_scope"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    certificate_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accreditation_certificate.id", ondelete="CASCADE"), index=True
    )
    standard_code: so.Mapped[str] = so.mapped_column(sa.String(100))
    standard_number: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    standard_year: so.Mapped[str] = so.mapped_column(sa.String(4), default="")
    parameter: so.Mapped[str] = so.mapped_column(sa.String(200), default="")

    certificate: so.Mapped[AccreditationCertificate] = so.relationship(back_populates="scope")

    def covers(self, standard_code: str, parameter: str | None = None) -> bool:
        number, year = standard_parts(standard_code)
        if number != self.standard_number:
            return False
        if self.standard_year and year != self.standard_year:
            return False
        if self.parameter and (parameter is None or parameter.strip() != self.parameter):
            return False
        return True


class CertificateDocument(StoredFileMixin, Model):
    """The certificate's PDF (and its scope annex), as uploaded by the lab."""

    __tablename__ = "certificate_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    certificate_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accreditation_certificate.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    certificate: so.Mapped[AccreditationCertificate] = so.relationship(back_populates="documents")


# --- requests and orders --------------------------------------------------------------


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the lab's quote
    QUOTED = "quoted"  # a quote is open for the customer
    ACCEPTED = "accepted"  # the order (委托协议): waiting for the samples
    SAMPLES_IN_TRANSIT = "samples_in_transit"
    RECEIVED = "received"
    IN_TESTING = "in_testing"
    REPORTED = "reported"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"  # the quote's validity passed without acceptance
    REFUSED = "refused"  # the lab declined the request, or refused every sample


STATUS_LABELS = {
    RequestStatus.DRAFT: _l("Draft"),
    RequestStatus.SUBMITTED: _l("Waiting for a quote"),
    RequestStatus.QUOTED: _l("Quoted"),
    RequestStatus.ACCEPTED: _l("Ordered, waiting for samples"),
    RequestStatus.SAMPLES_IN_TRANSIT: _l("Samples on their way"),
    RequestStatus.RECEIVED: _l("Samples received"),
    RequestStatus.IN_TESTING: _l("In testing"),
    RequestStatus.REPORTED: _l("Reported"),
    RequestStatus.COMPLETED: _l("Completed"),
    RequestStatus.CANCELLED: _l("Cancelled"),
    RequestStatus.LAPSED: _l("Quote lapsed"),
    RequestStatus.REFUSED: _l("Refused"),
}

# A request is an order from the customer's acceptance on.
ORDER_STATUSES = frozenset(
    {
        RequestStatus.ACCEPTED,
        RequestStatus.SAMPLES_IN_TRANSIT,
        RequestStatus.RECEIVED,
        RequestStatus.IN_TESTING,
        RequestStatus.REPORTED,
        RequestStatus.COMPLETED,
    }
)
CLOSED_STATUSES = frozenset(
    {
        RequestStatus.COMPLETED,
        RequestStatus.CANCELLED,
        RequestStatus.LAPSED,
        RequestStatus.REFUSED,
    }
)


class ReportLanguage(enum.StrEnum):
    ZH = "zh"
    EN = "en"
    BILINGUAL = "bilingual"


REPORT_LANGUAGE_LABELS = {
    ReportLanguage.ZH: _l("Chinese"),
    ReportLanguage.EN: _l("English"),
    ReportLanguage.BILINGUAL: _l("Chinese and English"),
}


class Side(enum.StrEnum):
    """Who acts on a request: the managers of its lab, the members of the customer
    organisation, or the platform itself (cron jobs, automatic pricing: no user)."""

    LAB = "lab"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    """One action of the request/order state machine: the states it starts from, the
    state it leads to (None: the request keeps its state), who may take it, and the
    messages of a refusal where they are more precise than the general ones."""

    sources: frozenset[RequestStatus]
    target: RequestStatus | None
    by: frozenset[Side]
    denied: object = None
    too_late: object = None


_S = RequestStatus
_LAB, _CUSTOMER, _SYSTEM = (
    frozenset({Side.LAB}),
    frozenset({Side.CUSTOMER}),
    frozenset({Side.SYSTEM}),
)

# The one table of the request/order state machine; testing.services.transition() checks
# every change against it. Later work (testing on instruments, reports) adds its actions
# here: e.g. "start_testing" received → in_testing, "issue_report" in_testing → reported.
TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(frozenset({_S.DRAFT}), _S.SUBMITTED, _CUSTOMER),
    "price": Transition(frozenset({_S.SUBMITTED}), _S.QUOTED, _SYSTEM),
    "quote": Transition(
        frozenset({_S.SUBMITTED, _S.QUOTED}),
        _S.QUOTED,
        _LAB,
        denied=_l("Only the laboratory quotes."),
    ),
    "accept": Transition(
        frozenset({_S.QUOTED}),
        _S.ACCEPTED,
        _CUSTOMER,
        denied=_l("Only the customer accepts a quote."),
        too_late=_l("There is no open quote to accept."),
    ),
    "lapse": Transition(frozenset({_S.QUOTED}), _S.LAPSED, _SYSTEM),
    "refuse": Transition(
        frozenset({_S.SUBMITTED, _S.QUOTED}),
        _S.REFUSED,
        _LAB,
        denied=_l("Only the laboratory refuses a request."),
    ),
    # The customer cancels until the testing starts (testing.cancellation checks that no
    # run is checked in and no result recorded): free until the samples are received, then
    # at the fee the order's terms name.
    "cancel": Transition(
        frozenset(
            {
                _S.DRAFT,
                _S.SUBMITTED,
                _S.QUOTED,
                _S.ACCEPTED,
                _S.SAMPLES_IN_TRANSIT,
                _S.RECEIVED,
                _S.IN_TESTING,
            }
        ),
        _S.CANCELLED,
        _CUSTOMER,
        too_late=_l(
            "The testing of this order has started; it can no longer be cancelled. "
            "Contact the laboratory."
        ),
    ),
    # The lab stops an order (with its reason) until the report is issued; no fee.
    "stop": Transition(
        frozenset({_S.ACCEPTED, _S.SAMPLES_IN_TRANSIT, _S.RECEIVED, _S.IN_TESTING}),
        _S.CANCELLED,
        _LAB,
        denied=_l("Only the laboratory's managers stop an order."),
        too_late=_l("This order can no longer be stopped: its report is issued or it is closed."),
    ),
    "ship": Transition(
        frozenset({_S.ACCEPTED, _S.SAMPLES_IN_TRANSIT}),
        _S.SAMPLES_IN_TRANSIT,
        _CUSTOMER,
        denied=_l("Only the customer sends the samples."),
    ),
    "receive": Transition(
        frozenset({_S.ACCEPTED, _S.SAMPLES_IN_TRANSIT}),
        _S.RECEIVED,
        _LAB,
        denied=_l("Only the laboratory records the receipt of samples."),
        too_late=_l("The samples of this order cannot be received now."),
    ),
    # Every sample refused at receipt: the order ends there.
    "refuse_samples": Transition(frozenset({_S.ACCEPTED, _S.SAMPLES_IN_TRANSIT}), _S.REFUSED, _LAB),
    # Reporting (testing.reports): a draft report starts the testing, its issue reports
    # the order, and the lab closes the order once the report is out.
    "start_testing": Transition(frozenset({_S.RECEIVED}), _S.IN_TESTING, _LAB),
    "issue_report": Transition(frozenset({_S.IN_TESTING}), _S.REPORTED, _LAB),
    "complete": Transition(frozenset({_S.REPORTED}), _S.COMPLETED, _LAB),
}


class TestingRequest(Model):
    """A testing request (委托单) and, once a quote is accepted, the order (委托协议)."""

    __tablename__ = "testing_request"
    __test__ = False
    __table_args__ = (
        sa.CheckConstraint("total_fen IS NULL OR total_fen >= 0", name="total_positive"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    status: so.Mapped[RequestStatus] = so.mapped_column(
        str_enum(RequestStatus, 24), default=RequestStatus.DRAFT, index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    report_language: so.Mapped[ReportLanguage] = so.mapped_column(
        str_enum(ReportLanguage, 16), default=ReportLanguage.ZH
    )
    # The report's addressee (报告抬头 and where it goes)
    report_addressee: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    report_address: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    expedited: so.Mapped[bool] = so.mapped_column(default=False)
    # The price tier of the customer at the lab when priced (internal, cluster, external)
    price_tier: so.Mapped[str] = so.mapped_column(sa.String(16), default="external")

    # The order: the accepted quote, its terms and total (net of VAT, fen)
    total_fen: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    turnaround_days: so.Mapped[int | None] = so.mapped_column()
    terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    accepted_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    # The fee (fen, net) a cancellation costs from the samples' receipt until the testing
    # starts, fixed at acceptance from the services' policies (None: an order accepted
    # before policies existed, which cancels free).
    cancel_fee_fen: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    # Who cancelled an order ("customer" | "lab"), and the fee charged (None: not
    # cancelled as an order; 0: free). A fee is billed on one statement of its own.
    cancelled_by: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    cancel_fee_charged_fen: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)

    # Samples on their way: by courier (company, tracking number) or dropped off
    delivery: so.Mapped[str] = so.mapped_column(sa.String(16), default="")  # courier | drop_off
    courier: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    tracking_number: so.Mapped[str] = so.mapped_column(sa.String(40), default="")

    status_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    submitted_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    accepted_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    shipped_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    received_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    closed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    lab: so.Mapped[Organisation] = so.relationship(foreign_keys=[lab_id])
    customer_org: so.Mapped[Organisation] = so.relationship(foreign_keys=[customer_org_id])
    created_by: so.Mapped[User | None] = so.relationship(foreign_keys=[created_by_id])
    items: so.Mapped[list[RequestItem]] = so.relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="(RequestItem.position, RequestItem.id)",
    )
    samples: so.Mapped[list[Sample]] = so.relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="(Sample.position, Sample.id)",
    )
    quotes: so.Mapped[list[Quote]] = so.relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="Quote.id",
    )
    attachments: so.Mapped[list[RequestAttachment]] = so.relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestAttachment.id"
    )
    events: so.Mapped[list[SampleEvent]] = so.relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="(SampleEvent.at_dt, SampleEvent.id)",
    )

    @property
    def reference(self) -> str:
        """The number the customer and the lab quote (委托编号)."""
        return f"WT{self.id:06d}"

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def report_language_label(self):
        return REPORT_LANGUAGE_LABELS[self.report_language]

    @property
    def is_order(self) -> bool:
        return self.status in ORDER_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def lines(self) -> list[QuoteLine]:
        """The order's lines: the accepted quote's ([] before acceptance)."""
        return list(self.accepted_quote.lines) if self.accepted_quote is not None else []

    @property
    def accepted_quote(self) -> Quote | None:
        """The quote the customer accepted (at most one: a unique index keeps it so)."""
        return next((q for q in self.quotes if q.status == QuoteStatus.ACCEPTED), None)

    @property
    def open_quote(self) -> Quote | None:
        return next((q for q in reversed(self.quotes) if q.status == QuoteStatus.OFFERED), None)

    # --- permissions --------------------------------------------------------------

    def is_lab_manager(self, user) -> bool:
        return bool(user and user.is_authenticated and user.can_manage(self.lab))

    def is_lab_member(self, user) -> bool:
        return bool(user and user.is_authenticated and user.membership_in(self.lab_id))

    def is_customer(self, user) -> bool:
        return bool(user and user.is_authenticated and user.membership_in(self.customer_org_id))

    def can_view(self, user) -> bool:
        """The customer's members, the lab's members, platform administrators and the
        regulators overseeing the lab's region (read only)."""
        if not (user and user.is_authenticated):
            return False
        return (
            self.is_customer(user)
            or self.is_lab_member(user)
            or user.is_platform_admin
            or user.can_oversee(self.lab)
        )

    # --- the state machine (TRANSITIONS) ----------------------------------------------

    def sides(self, user) -> frozenset[Side]:
        if user is None:
            return _SYSTEM
        return frozenset(
            side
            for side, holds in ((Side.LAB, self.is_lab_manager), (Side.CUSTOMER, self.is_customer))
            if holds(user)
        )

    def refusal(self, action: str, user) -> DomainError | None:
        """Why `user` (None: the platform) may not take `action` now: 403 for the wrong
        side, 409 for the wrong state; None if they may."""
        rule = TRANSITIONS[action]
        if not self.sides(user) & rule.by:
            return PermissionDenied(rule.denied or _l("You may not change this request."))
        if self.status not in rule.sources:
            return Conflict(
                rule.too_late
                or _l(
                    "This request is %(status)s; that is not possible now.",
                    status=self.status_label,
                )
            )
        return None

    def can(self, action: str, user) -> bool:
        return self.refusal(action, user) is None

    def allowed_actions(self, user) -> list[str]:
        return [action for action in TRANSITIONS if self.can(action, user)]


TestingOrder = TestingRequest  # an order is a request from its acceptance on (see above)


class RequestItem(Model):
    """A service line of a request: which service, and for a service priced per
    parameter, which of its parameters (all when `parameter_ids` is empty). Every item
    is tested on every sample of the request."""

    __tablename__ = "request_item"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    service_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_service.id", ondelete="RESTRICT"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    parameter_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    request: so.Mapped[TestingRequest] = so.relationship(back_populates="items")
    service: so.Mapped[TestingService] = so.relationship()

    @property
    def parameters(self) -> list[ServiceParameter]:
        chosen = set(self.parameter_ids or [])
        params = self.service.parameters
        return [p for p in params if p.id in chosen] if chosen else list(params)


class RequestAttachment(StoredFileMixin, Model):
    """A document the customer attaches to a request (drawings, specifications)."""

    __tablename__ = "request_attachment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    request: so.Mapped[TestingRequest] = so.relationship(back_populates="attachments")


# --- quotes ---------------------------------------------------------------------------


class QuoteStatus(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"  # a newer quote replaced it
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"  # the request was cancelled or refused while it was open


QUOTE_STATUS_LABELS = {
    QuoteStatus.OFFERED: _l("Open"),
    QuoteStatus.ACCEPTED: _l("Accepted"),
    QuoteStatus.SUPERSEDED: _l("Replaced"),
    QuoteStatus.LAPSED: _l("Lapsed"),
    QuoteStatus.WITHDRAWN: _l("Withdrawn"),
}


class Quote(Model):
    """A price offer for a request: lines, turnaround and the last day (Asia/Shanghai)
    it may be accepted. `total_fen` is the sum of its lines' amounts (net of VAT)."""

    __tablename__ = "quote"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_positive"),
        # One accepted quote per request: the order's terms and lines.
        sa.Index(
            "uq_quote_accepted_request",
            "request_id",
            unique=True,
            postgresql_where=sa.text("status = 'accepted'"),
            sqlite_where=sa.text("status = 'accepted'"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    status: so.Mapped[QuoteStatus] = so.mapped_column(
        str_enum(QuoteStatus, 16), default=QuoteStatus.OFFERED, index=True
    )
    is_automatic: so.Mapped[bool] = so.mapped_column(default=False)  # priced by the platform
    issued_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    valid_until: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    turnaround_days: so.Mapped[int] = so.mapped_column()
    total_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    request: so.Mapped[TestingRequest] = so.relationship(back_populates="quotes")
    lines: so.Mapped[list[QuoteLine]] = so.relationship(
        back_populates="quote",
        cascade="all, delete-orphan",
        order_by="(QuoteLine.position, QuoteLine.id)",
    )

    @property
    def status_label(self):
        return QUOTE_STATUS_LABELS[self.status]

    def is_open_on(self, day: date) -> bool:
        return self.status == QuoteStatus.OFFERED and day <= self.valid_until


class QuoteLine(Model):
    """quantity × unit price = amount, in fen; a surcharge (expedited) is a line of its own."""

    __tablename__ = "quote_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0 AND unit_price_fen >= 0", name="positive"),
        sa.CheckConstraint("amount_fen = quantity * unit_price_fen", name="amount_adds_up"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    quote_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("quote.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="service")  # | surcharge | other
    service_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("testing_service.id", ondelete="SET NULL"), index=True
    )
    description: so.Mapped[str] = so.mapped_column(sa.String(300))
    quantity: so.Mapped[int] = so.mapped_column()
    unit_price_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    amount_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    # The fapiao columns, from the service when the line was written (see TestingService).
    tax_code: so.Mapped[str] = so.mapped_column(sa.String(19), default="", server_default="")
    spec: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    unit: so.Mapped[str] = so.mapped_column(sa.String(20), default="", server_default="")

    quote: so.Mapped[Quote] = so.relationship(back_populates="lines")
    service: so.Mapped[TestingService | None] = so.relationship()

    def fapiao_fields(self) -> dict[str, str]:
        """Its fapiao columns; a line written before it had them takes its service's, or
        the testing defaults (a line of the lab's own with no service)."""
        fields = {"tax_code": self.tax_code, "spec": self.spec, "unit": self.unit}
        if all(fields.values()):
            return fields
        base = (
            self.service.fapiao_fields()
            if self.service is not None
            else {"tax_code": TESTING_TAX_CODE, "spec": "", "unit": "项"}
        )
        return {key: value or base[key] for key, value in fields.items()}


# --- samples --------------------------------------------------------------------------


class SampleStatus(enum.StrEnum):
    EXPECTED = "expected"  # announced on the request, not yet at the lab
    RECEIVED = "received"  # accepted at receipt, in the lab's custody
    REFUSED = "refused"  # refused at receipt (reason given); goes back to the customer
    RETURNED = "returned"
    DISPOSED = "disposed"


SAMPLE_STATUS_LABELS = {
    SampleStatus.EXPECTED: _l("Expected"),
    SampleStatus.RECEIVED: _l("Received"),
    SampleStatus.REFUSED: _l("Refused"),
    SampleStatus.RETURNED: _l("Returned"),
    SampleStatus.DISPOSED: _l("Disposed of"),
}


class AfterTest(enum.StrEnum):
    RETURN = "return"
    DISPOSE = "dispose"


AFTER_TEST_LABELS = {
    AfterTest.RETURN: _l("Return to the customer"),
    AfterTest.DISPOSE: _l("Dispose of at the laboratory"),
}


class SampleCounter(Model):
    """The last sample number used by a lab in a year; locked while a number is taken
    (as billing.models.InvoiceCounter), so sample IDs are gapless per lab and year."""

    __tablename__ = "sample_counter"

    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    year: so.Mapped[int] = so.mapped_column(primary_key=True)
    last_number: so.Mapped[int] = so.mapped_column(default=0)


class Sample(Model):
    """A sample of a request, as the customer describes it; numbered by the lab at
    receipt (`code`: lab, year and a gapless sequence)."""

    __tablename__ = "sample"
    __table_args__ = (
        sa.UniqueConstraint("lab_id", "year", "sequence", name="uq_sample_lab_year_sequence"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    model_batch: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    quantity: so.Mapped[int] = so.mapped_column(default=1)
    hazards: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    storage_needs: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    after_test: so.Mapped[AfterTest] = so.mapped_column(
        str_enum(AfterTest, 16), default=AfterTest.RETURN
    )
    status: so.Mapped[SampleStatus] = so.mapped_column(
        str_enum(SampleStatus, 16), default=SampleStatus.EXPECTED, index=True
    )
    # Numbered at receipt
    year: so.Mapped[int | None] = so.mapped_column()
    sequence: so.Mapped[int | None] = so.mapped_column()
    code: so.Mapped[str | None] = so.mapped_column(sa.String(32), unique=True)
    condition_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    refusal_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    storage_place: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    retain_until: so.Mapped[date | None] = so.mapped_column(sa.Date)
    received_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    received_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    closed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # returned/disposed

    request: so.Mapped[TestingRequest] = so.relationship(back_populates="samples")
    photos: so.Mapped[list[SamplePhoto]] = so.relationship(
        back_populates="sample", cascade="all, delete-orphan", order_by="SamplePhoto.id"
    )

    @property
    def status_label(self):
        return SAMPLE_STATUS_LABELS[self.status]

    @property
    def after_test_label(self):
        return AFTER_TEST_LABELS[self.after_test]

    @property
    def in_custody(self) -> bool:
        return self.status == SampleStatus.RECEIVED


class SamplePhoto(StoredFileMixin, Model):
    """A photo of a sample taken at receipt (its condition), an image only."""

    __tablename__ = "sample_photo"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sample_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("sample.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    sample: so.Mapped[Sample] = so.relationship(back_populates="photos")


class SampleEventKind(enum.StrEnum):
    SHIPPED = "shipped"  # handed to a courier by the customer
    DROPPED_OFF = "dropped_off"  # brought to the lab by the customer
    RECEIVED = "received"  # accepted into the lab's custody
    REFUSED = "refused"  # refused at receipt
    STORED = "stored"  # put in (or moved to) a storage place
    RETURNED = "returned"  # handed back to the customer
    DISPOSED = "disposed"  # disposed of by the lab
    CANCELLED = "cancelled"  # the customer cancelled the order (whole shipment)
    STOPPED = "stopped"  # the lab stopped the order (whole shipment)


SAMPLE_EVENT_LABELS = {
    SampleEventKind.SHIPPED: _l("Sent by courier"),
    SampleEventKind.DROPPED_OFF: _l("To be dropped off"),
    SampleEventKind.RECEIVED: _l("Received"),
    SampleEventKind.REFUSED: _l("Refused at receipt"),
    SampleEventKind.STORED: _l("Stored"),
    SampleEventKind.RETURNED: _l("Returned"),
    SampleEventKind.DISPOSED: _l("Disposed of"),
    SampleEventKind.CANCELLED: _l("Order cancelled by the customer"),
    SampleEventKind.STOPPED: _l("Order stopped by the laboratory"),
}


class SampleEvent(Model):
    """One hand-over or move in the chain of custody of an order's samples: who, when,
    from whom to whom, where. `sample_id` is empty for an event of the whole shipment.
    The kind is a plain string so later work (testing, reports) adds its own kinds."""

    __tablename__ = "sample_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    sample_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("sample.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    at_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    from_party: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    to_party: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    place: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    request: so.Mapped[TestingRequest] = so.relationship(back_populates="events")
    sample: so.Mapped[Sample | None] = so.relationship()
    actor: so.Mapped[User | None] = so.relationship()

    @property
    def kind_label(self):
        try:
            return SAMPLE_EVENT_LABELS[SampleEventKind(self.kind)]
        except ValueError:
            return self.kind
