"""Testing requests (委托单), their pricing and quotes, and the acceptance that makes them
orders (委托协议). Every change of a request's state goes through `transition`, which
checks it against testing.models.TRANSITIONS.

Money is integer fen, net of VAT. A line is quantity × unit price; an expedited request
adds, per service, a surcharge line of the service's percentage of that service's
amount (rounded half up to the fen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.catalog.pricing import tier_for
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db
from sharehub.testing import notify
from sharehub.testing.models import (
    TESTING_TAX_CODE,
    AfterTest,
    Quote,
    QuoteLine,
    QuoteStatus,
    ReportLanguage,
    RequestAttachment,
    RequestItem,
    RequestStatus,
    Sample,
    TestingRequest,
    TestingService,
)

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User

AUTO_QUOTE_VALID_DAYS = 30  # a standard price holds for thirty days
MAX_QUANTITY = 10_000
MAX_SAMPLES = 200
MAX_LINE_FEN = 100_000_000_00
MAX_ATTACHMENTS = 10

DEFAULT_TERMS = _l(
    "The laboratory tests the samples to the standards named above and issues the report "
    "in the language agreed. Turnaround counts working days from the receipt of "
    "acceptable samples. Samples are kept for the retention period, then returned or "
    "disposed of as agreed. The price is net of VAT, which is added at the laboratory's rate."
)


def transition(actor, request: TestingRequest, action: str, reason: str = "") -> None:
    """Take `action` of the state machine (actor None: the platform), audited."""
    refusal = request.refusal(action, actor)
    if refusal is not None:
        raise refusal
    from sharehub.testing.models import TRANSITIONS

    target = TRANSITIONS[action].target
    before = request.status
    if target is not None:
        request.status = target
    if reason:
        request.status_reason = reason
    if request.is_closed and request.closed_dt is None:
        request.closed_dt = utcnow()
    audit.record(
        actor,
        f"testing_request.{action}",
        request,
        organisation=request.lab_id,
        before=before.value,
        after=request.status.value,
        reason=reason or None,
    )
    if request.status != before:  # webhooks order.* (api.webhooks), in this transaction
        from sharehub.testing.report_signals import testing_event

        testing_event.send(request, event=f"order.{request.status.value}")


# --- writing a request ----------------------------------------------------------------


@dataclass
class SampleInput:
    name: str
    model_batch: str = ""
    quantity: int | None = 1
    hazards: str = ""
    storage_needs: str = ""
    after_test: str = AfterTest.RETURN.value


def _clean_samples(samples: list[SampleInput]) -> list[dict[str, Any]]:
    rows = [s for s in samples if (s.name or "").strip()]
    if not rows:
        raise ValidationError(_l("Describe at least one sample."), field="samples")
    if len(rows) > MAX_SAMPLES:
        raise ValidationError(_l("At most %(n)s samples a request.", n=MAX_SAMPLES))
    clean = []
    for s in rows:
        quantity = s.quantity
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_QUANTITY
        ):
            raise ValidationError(
                _l(
                    "The quantity of a sample is a whole number between 1 and %(n)s.",
                    n=MAX_QUANTITY,
                ),
                field="samples",
            )
        try:
            after = AfterTest(s.after_test or AfterTest.RETURN)
        except ValueError:
            raise ValidationError(
                _l("Choose whether the sample is returned or disposed of."), field="samples"
            ) from None
        clean.append(
            {
                "name": s.name.strip()[:200],
                "model_batch": (s.model_batch or "").strip()[:200],
                "quantity": quantity,
                "hazards": (s.hazards or "").strip()[:300],
                "storage_needs": (s.storage_needs or "").strip()[:300],
                "after_test": after,
            }
        )
    return clean


def create_request(
    actor: User,
    customer: Organisation,
    service_ids: list[int],
    samples: list[SampleInput],
    *,
    report_language: str = "zh",
    report_addressee: str = "",
    report_address: str = "",
    expedited: bool = False,
    title: str = "",
    notes: str = "",
    attachments: list[tuple[bytes, str]] | None = None,
) -> TestingRequest:
    """A draft request to one lab: its services (published, all of the same lab), its
    samples and the report's language and addressee. Submitting it is another step."""
    if not actor.is_authenticated or actor.membership_in(customer) is None:
        raise PermissionDenied(_l("You may only request testing for your own organisation."))
    ids = list(dict.fromkeys(service_ids))
    if not ids:
        raise ValidationError(_l("Choose at least one testing service."), field="service_ids")
    services = db.session.scalars(sa.select(TestingService).where(TestingService.id.in_(ids))).all()
    by_id = {s.id: s for s in services}
    if len(by_id) != len(ids) or any(not s.is_published or not s.lab.is_serving for s in services):
        raise NotFound(_l("This testing service is not offered."), field="service_ids")
    labs = {s.lab_id for s in services}
    if len(labs) != 1:
        raise ValidationError(
            _l("A request goes to one laboratory; make one request per laboratory."),
            field="service_ids",
        )
    lab = services[0].lab
    if customer.id == lab.id:
        raise ValidationError(_l("A laboratory does not order testing from itself."))
    try:
        language = ReportLanguage(report_language or ReportLanguage.ZH)
    except ValueError:
        raise ValidationError(
            _l("Choose the report's language."), field="report_language"
        ) from None
    if expedited:
        slow = [s for s in services if not s.has_expedited]
        if slow:
            raise ValidationError(
                _l(
                    "%(service)s has no expedited turnaround.",
                    service=slow[0].name,
                ),
                field="expedited",
            )
    clean_samples = _clean_samples(samples)
    request = TestingRequest(
        lab_id=lab.id,
        customer_org_id=customer.id,
        created_by_id=actor.id,
        status=RequestStatus.DRAFT,
        title=(title or "").strip()[:200] or services[0].name,
        notes=(notes or "").strip()[:20_000],
        report_language=language,
        report_addressee=(report_addressee or "").strip()[:200] or customer.name,
        report_address=(report_address or "").strip()[:300] or customer.address,
        expedited=bool(expedited),
    )
    db.session.add(request)
    for position, service_id in enumerate(ids):
        request.items.append(RequestItem(service_id=service_id, position=position))
    for position, row in enumerate(clean_samples):
        request.samples.append(Sample(lab_id=lab.id, position=position, **row))
    for data, name in (attachments or [])[:MAX_ATTACHMENTS]:
        content_type = sniff_document(data)
        stored = store_bytes(data, name, content_type)
        request.attachments.append(
            RequestAttachment(
                original_name=stored.original_name,
                stored_name=stored.stored_name,
                content_type=stored.content_type,
                size=stored.size,
            )
        )
    db.session.flush()
    audit.record(actor, "testing_request.created", request, organisation=lab.id)
    db.session.flush()
    return request


# --- prices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: int
    unit_price_fen: int
    kind: str = "service"
    service_id: int | None = None

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen


def surcharge_of(amount_fen: int, percent: int) -> int:
    """The expedited surcharge in fen, rounded half up (integer arithmetic)."""
    return (amount_fen * percent + 50) // 100


def standard_lines(request: TestingRequest) -> list[LineInput]:
    """The lines of a request at the services' list prices, for the customer's tier."""
    tier = tier_for(cast(Any, request.items[0].service), request.customer_org)
    n_samples = len(request.samples)
    lines: list[LineInput] = []
    for item in request.items:
        service = item.service
        unit_price = service.price_for(tier)
        if service.price_basis == "parameter":
            quantity = n_samples * max(1, len(item.parameters))
        else:
            quantity = n_samples
        line = LineInput(
            description=f"{service.standard_code} {service.name}",
            quantity=quantity,
            unit_price_fen=unit_price,
            service_id=service.id,
        )
        lines.append(line)
        if request.expedited and service.expedited_surcharge_percent:
            lines.append(
                LineInput(
                    description=str(_l("Expedited: %(service)s", service=service.name)),
                    quantity=1,
                    unit_price_fen=surcharge_of(
                        line.amount_fen, service.expedited_surcharge_percent
                    ),
                    kind="surcharge",
                    service_id=service.id,
                )
            )
    return lines


def standard_turnaround(request: TestingRequest) -> int:
    return max(
        (
            item.service.expedited_days
            if request.expedited and item.service.expedited_days
            else item.service.standard_days
        )
        for item in request.items
    )


def is_standard(request: TestingRequest) -> bool:
    """Priced at once: every service has a list price (none needs a quote)."""
    return all(not item.service.quote_required for item in request.items)


def estimate_fen(request: TestingRequest) -> int | None:
    return (
        sum(line.amount_fen for line in standard_lines(request)) if is_standard(request) else None
    )


def _write_quote(
    request: TestingRequest,
    lines: list[LineInput],
    *,
    valid_until: date,
    turnaround_days: int,
    issued_by: User | None,
    note: str = "",
    terms: str = "",
) -> Quote:
    for previous in request.quotes:
        if previous.status == QuoteStatus.OFFERED:
            previous.status = QuoteStatus.SUPERSEDED
            previous.decided_dt = utcnow()
    quote = Quote(
        status=QuoteStatus.OFFERED,
        is_automatic=issued_by is None,
        issued_by_id=getattr(issued_by, "id", None),
        valid_until=valid_until,
        turnaround_days=turnaround_days,
        note=note,
        terms=terms,
    )
    for position, line in enumerate(lines):
        row = QuoteLine(
            position=position,
            kind=line.kind,
            service_id=line.service_id,
            description=line.description[:300],
            quantity=line.quantity,
            unit_price_fen=line.unit_price_fen,
            amount_fen=line.amount_fen,
        )
        service = db.session.get(TestingService, line.service_id) if line.service_id else None
        if service is not None and service.lab_id == request.lab_id:
            fields = service.fapiao_fields()
            if line.kind == "surcharge":
                fields["unit"] = "项"
        else:
            fields = {"tax_code": TESTING_TAX_CODE, "spec": "", "unit": "项"}
        row.tax_code, row.spec, row.unit = fields["tax_code"], fields["spec"], fields["unit"]
        quote.lines.append(row)
    quote.total_fen = sum(line.amount_fen for line in lines)
    request.quotes.append(quote)
    request.turnaround_days = turnaround_days
    return quote


def submit(actor: User, request: TestingRequest) -> TestingRequest:
    """Send the request to the lab. A standard request is priced at once (an automatic
    quote the customer accepts); anything else waits for the lab's quote."""
    transition(actor, request, "submit")
    request.submitted_dt = utcnow()
    request.price_tier = tier_for(cast(Any, request.items[0].service), request.customer_org)
    if is_standard(request):
        _write_quote(
            request,
            standard_lines(request),
            valid_until=local_today() + timedelta(days=AUTO_QUOTE_VALID_DAYS),
            turnaround_days=standard_turnaround(request),
            issued_by=None,
        )
        transition(None, request, "price")
    db.session.flush()
    notify.request_submitted(request)
    return request


def quote(
    actor: User,
    request: TestingRequest,
    lines: list[LineInput],
    *,
    valid_until: date | None,
    turnaround_days: int | None,
    note: str = "",
    terms: str = "",
) -> Quote:
    """The lab's quote: its lines, turnaround and last day of validity (Asia/Shanghai)."""
    refusal = request.refusal("quote", actor)
    if refusal is not None:
        raise refusal
    if not lines:
        raise ValidationError(_l("A quote has at least one line."), field="lines")
    for line in lines:
        if not line.description.strip():
            raise ValidationError(_l("Describe every line of the quote."), field="lines")
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationError(
                _l("A quantity is a whole number between 1 and %(n)s.", n=MAX_QUANTITY),
                field="lines",
            )
        if not 0 <= line.unit_price_fen <= MAX_LINE_FEN:
            raise ValidationError(
                _l("A unit price is between 0 and 100 million yuan."), field="lines"
            )
    if valid_until is None or valid_until < local_today():
        raise ValidationError(
            _l("A quote is valid until today or a later day."), field="valid_until"
        )
    if turnaround_days is None or not 1 <= turnaround_days <= 365:
        raise ValidationError(
            _l("The turnaround is a whole number of working days between 1 and 365."),
            field="turnaround_days",
        )
    transition(actor, request, "quote")
    result = _write_quote(
        request,
        lines,
        valid_until=valid_until,
        turnaround_days=turnaround_days,
        issued_by=actor,
        note=(note or "").strip()[:20_000],
        terms=(terms or "").strip()[:20_000],
    )
    db.session.flush()
    notify.quote_sent(request, result)
    return result


def accept(actor: User, request: TestingRequest, quote_id: int | None = None) -> TestingRequest:
    """The customer accepts the open quote: the request becomes an order with the quote's
    lines, total and terms. A quote past its validity is refused (nothing changes); the
    lapse itself is recorded by `lapse_due` (command and order page)."""
    refusal = request.refusal("accept", actor)
    if refusal is not None:
        raise refusal
    offered = request.open_quote
    if offered is None or (quote_id is not None and offered.id != quote_id):
        raise Conflict(_l("This quote is no longer open; look at the latest one."))
    if local_today() > offered.valid_until:
        raise Conflict(
            _l(
                "This quote was valid until %(day)s; it can no longer be accepted. "
                "Ask the laboratory for a new quote.",
                day=offered.valid_until.isoformat(),
            )
        )
    transition(actor, request, "accept")
    offered.status = QuoteStatus.ACCEPTED
    offered.decided_dt = utcnow()
    request.total_fen = offered.total_fen
    request.turnaround_days = offered.turnaround_days
    request.cancel_fee_fen = cancellation_fee_of(request, offered)
    request.terms = "\n\n".join(
        t
        for t in (
            str(DEFAULT_TERMS),
            str(cancellation_terms(request.cancel_fee_fen)),
            offered.terms,
        )
        if t
    )
    request.accepted_by_id = actor.id
    request.accepted_dt = utcnow()
    db.session.flush()
    notify.order_accepted(request)
    return request


def cancellation_fee_of(request: TestingRequest, offered: Quote) -> int:
    """The fee (fen, net) a cancellation costs once the samples are received, by the
    services' policies: each service's fixed fee plus its percent of that service's lines
    (surcharges included), rounded half up; never more than the order's total."""
    fee = 0
    services = {item.service_id: item.service for item in request.items}
    for service_id, service in services.items():
        if not service.has_cancel_fee:
            continue
        amount = sum(line.amount_fen for line in offered.lines if line.service_id == service_id)
        fee += service.cancel_fee_fen + surcharge_of(amount, service.cancel_fee_percent)
    return min(fee, offered.total_fen)


def cancellation_terms(fee_fen: int | None):
    """The order's cancellation terms, as its agreement states them."""
    from sharehub.core.money import format_fen

    if not fee_fen:
        return _l(
            "Cancellation: free until the testing starts (the first run checked in or the "
            "first result recorded); after that the order can no longer be cancelled."
        )
    return _l(
        "Cancellation: free until the samples are received; from their receipt until the "
        "testing starts (the first run checked in or the first result recorded), a fee of "
        "%(fee)s (net of VAT) is billed; after that the order can no longer be cancelled.",
        fee=format_fen(fee_fen),
    )


def lapse_due(today: date | None = None, request: TestingRequest | None = None) -> int:
    """Mark the open quotes past their validity lapsed, and their requests (all, or one).
    Returns how many requests lapsed. Run by `flask sharehub lapse-quotes` and on opening
    an order page."""
    today = today or local_today()
    query = (
        sa.select(Quote)
        .join(TestingRequest)
        .where(
            Quote.status == QuoteStatus.OFFERED,
            Quote.valid_until < today,
            TestingRequest.status == RequestStatus.QUOTED,
        )
        .with_for_update(of=TestingRequest)
    )
    if request is not None:
        query = query.where(Quote.request_id == request.id)
    count = 0
    for quote_row in db.session.scalars(query).all():
        quote_row.status = QuoteStatus.LAPSED
        quote_row.decided_dt = utcnow()
        transition(None, quote_row.request, "lapse")
        count += 1
    db.session.flush()
    return count


def _close_quotes(request: TestingRequest) -> None:
    for q in request.quotes:
        if q.status == QuoteStatus.OFFERED:
            q.status = QuoteStatus.WITHDRAWN
            q.decided_dt = utcnow()


def refuse(actor: User, request: TestingRequest, reason: str) -> None:
    """The lab declines a request (it cannot do the work); the reason is required."""
    reason = (reason or "").strip()
    if request.refusal("refuse", actor) is None and not reason:
        raise ValidationError(_l("Give the reason for the refusal."), field="reason")
    transition(actor, request, "refuse", reason[:2000])
    _close_quotes(request)
    db.session.flush()


# Cancelling a request or an order: testing.cancellation.
