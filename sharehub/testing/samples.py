"""Samples: sent or dropped off by the customer, received (or refused) by the lab and
numbered, stored, then returned or disposed of. Each hand-over is a SampleEvent: the
chain of custody shown on the order page.

Sample IDs are gapless per lab and year (the Asia/Shanghai year of receipt): the number
is taken from a counter row locked in the receiving transaction, as invoice numbers are
(billing.services._next_number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.core import audit
from sharehub.core.clock import local_date, local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.uploads import IMAGE_FORMATS, sniff_document, store_bytes
from sharehub.extensions import db
from sharehub.testing import notify
from sharehub.testing.couriers import COURIERS, check_tracking
from sharehub.testing.models import (
    AfterTest,
    RequestStatus,
    Sample,
    SampleCounter,
    SampleEvent,
    SampleEventKind,
    SamplePhoto,
    SampleStatus,
    TestingRequest,
)
from sharehub.testing.orders import transition

if TYPE_CHECKING:
    from sharehub.accounts.models import User

DEFAULT_RETENTION_DAYS = 90  # at least three months unless the standard says otherwise


def _event(request: TestingRequest, kind: SampleEventKind, actor, sample=None, **fields) -> None:
    request.events.append(
        SampleEvent(
            kind=kind.value,
            sample=sample,
            actor_id=getattr(actor, "id", None),
            at_dt=utcnow(),
            **fields,
        )
    )


def ship(
    actor: User,
    request: TestingRequest,
    *,
    delivery: str,
    courier: str = "",
    tracking_number: str = "",
    note: str = "",
) -> None:
    """The customer sends the samples by courier (checked tracking number) or says they
    will drop them off; may be given again to correct the tracking number."""
    if delivery == "courier":
        courier_code, number = check_tracking(courier, tracking_number)
        transition(actor, request, "ship")
        request.delivery, request.courier, request.tracking_number = "courier", courier_code, number
        _event(
            request,
            SampleEventKind.SHIPPED,
            actor,
            from_party=request.customer_org.name,
            to_party=f"{COURIERS[courier_code].name} {number}",
            note=(note or "").strip()[:2000],
        )
    elif delivery == "drop_off":
        transition(actor, request, "ship")
        request.delivery, request.courier, request.tracking_number = "drop_off", "", ""
        _event(
            request,
            SampleEventKind.DROPPED_OFF,
            actor,
            from_party=request.customer_org.name,
            to_party=request.lab.name,
            note=(note or "").strip()[:2000],
        )
    else:
        raise ValidationError(_l("Choose how the samples travel."), field="delivery")
    request.shipped_dt = utcnow()
    db.session.flush()


def next_sample_number(lab_id: int, year: int) -> int:
    """Lock the lab's counter row for the year (creating it once) and take the next number."""
    query = (
        sa.select(SampleCounter)
        .where(SampleCounter.lab_id == lab_id, SampleCounter.year == year)
        .execution_options(populate_existing=True)
    )
    counter: SampleCounter | None
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        db.session.execute(
            insert(SampleCounter)
            .values(lab_id=lab_id, year=year, last_number=0)
            .on_conflict_do_nothing()
        )
        counter = db.session.execute(query.with_for_update()).scalar_one()
    else:  # SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE)
        counter = db.session.scalar(query)
        if counter is None:
            counter = SampleCounter(lab_id=lab_id, year=year, last_number=0)
            db.session.add(counter)
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def sample_code(lab_id: int, year: int, sequence: int) -> str:
    return f"S{lab_id:04d}-{year}-{sequence:05d}"


@dataclass
class ReceiptInput:
    """The lab's decision on one sample at receipt."""

    sample_id: int
    accepted: bool
    condition_note: str = ""
    refusal_reason: str = ""
    storage_place: str = ""
    retain_until: date | None = None
    photo: tuple[bytes, str] | None = None


def receive(actor: User, request: TestingRequest, decisions: list[ReceiptInput]) -> list[Sample]:
    """Record the receipt of every expected sample: accepted (numbered, stored, kept until
    its retention date) or refused (with its reason). Every sample gets its decision at
    once; an order whose samples are all refused ends refused."""
    refusal = request.refusal("receive", actor)
    if refusal is not None:
        raise refusal
    expected = [s for s in request.samples if s.status == SampleStatus.EXPECTED]
    by_id = {d.sample_id: d for d in decisions}
    if not expected or set(by_id) != {s.id for s in expected}:
        raise ValidationError(_l("Decide on every sample of the order."), field="samples")
    today = local_today()
    now = utcnow()
    for sample in expected:
        d = by_id[sample.id]
        if not d.accepted and not (d.refusal_reason or "").strip():
            raise ValidationError(
                _l("Give the reason for refusing the sample %(name)s.", name=sample.name),
                field="refusal_reason",
            )
        if d.accepted and d.retain_until is not None and d.retain_until < today:
            raise ValidationError(_l("The retention date is today or later."), field="retain_until")
    photos = {}
    for sample in expected:
        d = by_id[sample.id]
        if d.photo is not None:
            data, name = d.photo
            content_type = sniff_document(data)
            if content_type not in IMAGE_FORMATS.values():
                raise ValidationError(
                    _l("A photo of a sample is a JPEG, PNG or WebP image."), field="photo"
                )
            photos[sample.id] = (data, name, content_type)
    year = local_date(now).year
    received = []
    for sample in expected:  # in the order's order: numbers follow the samples' positions
        d = by_id[sample.id]
        sample.received_dt = now
        sample.received_by_id = actor.id
        sample.condition_note = (d.condition_note or "").strip()[:2000]
        if d.accepted:
            sample.status = SampleStatus.RECEIVED
            sample.year = year
            sample.sequence = next_sample_number(request.lab_id, year)
            sample.code = sample_code(request.lab_id, year, sample.sequence)
            sample.storage_place = (d.storage_place or "").strip()[:200]
            sample.retain_until = d.retain_until or today + timedelta(days=DEFAULT_RETENTION_DAYS)
            received.append(sample)
            _event(
                request,
                SampleEventKind.RECEIVED,
                actor,
                sample,
                from_party=request.customer_org.name,
                to_party=request.lab.name,
                place=sample.storage_place,
                note=sample.condition_note,
            )
        else:
            sample.status = SampleStatus.REFUSED
            sample.refusal_reason = d.refusal_reason.strip()[:2000]
            _event(
                request,
                SampleEventKind.REFUSED,
                actor,
                sample,
                from_party=request.customer_org.name,
                to_party=request.lab.name,
                note=sample.refusal_reason,
            )
        if sample.id in photos:
            data, name, content_type = photos[sample.id]
            stored = store_bytes(data, name, content_type)
            sample.photos.append(
                SamplePhoto(
                    original_name=stored.original_name,
                    stored_name=stored.stored_name,
                    content_type=stored.content_type,
                    size=stored.size,
                )
            )
    request.received_dt = now
    transition(actor, request, "receive" if received else "refuse_samples")
    if not received:
        request.status_reason = "; ".join(s.refusal_reason for s in expected)
    audit.record(
        actor,
        "testing_request.samples_received",
        request,
        organisation=request.lab_id,
        accepted=[s.code for s in received],
        refused=[s.id for s in expected if s.status == SampleStatus.REFUSED],
    )
    db.session.flush()
    notify.samples_received(request)
    return received


def _require_lab(actor: User, sample: Sample) -> TestingRequest:
    request = sample.request
    if not request.is_lab_manager(actor):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))
    return request


def store(actor: User, sample: Sample, place: str) -> None:
    """Move a sample in the lab's custody to another storage place."""
    request = _require_lab(actor, sample)
    place = (place or "").strip()
    if not place:
        raise ValidationError(_l("Name the storage place."), field="place")
    if sample.status != SampleStatus.RECEIVED:
        raise Conflict(_l("This sample is not in the laboratory's custody."))
    sample.storage_place = place[:200]
    _event(request, SampleEventKind.STORED, actor, sample, place=sample.storage_place)
    audit.record(actor, "sample.stored", sample, organisation=request.lab_id, place=place)
    db.session.flush()


def release(actor: User, sample: Sample, action: str, note: str = "") -> None:
    """Return a sample to the customer, or dispose of it, as the customer asked: a sample
    the lab kept waits for the end of its retention; a refused sample goes back at once."""
    request = _require_lab(actor, sample)
    if action not in ("return", "dispose"):
        raise ValidationError(_l("Choose to return or to dispose of the sample."))
    if sample.status == SampleStatus.REFUSED:
        if action != "return":
            raise Conflict(_l("A refused sample goes back to the customer."))
    elif sample.status == SampleStatus.RECEIVED:
        if sample.retain_until is not None and local_today() < sample.retain_until:
            raise Conflict(
                _l("This sample is kept until %(day)s.", day=sample.retain_until.isoformat())
            )
        if action == "dispose" and sample.after_test == AfterTest.RETURN:
            raise Conflict(_l("The customer asked for this sample back."))
    else:
        raise Conflict(_l("This sample is not in the laboratory's custody."))
    if request.status in (RequestStatus.ACCEPTED, RequestStatus.SAMPLES_IN_TRANSIT):
        raise Conflict(_l("Record the receipt of the samples first."))
    returned = action == "return"
    sample.status = SampleStatus.RETURNED if returned else SampleStatus.DISPOSED
    sample.closed_dt = utcnow()
    _event(
        request,
        SampleEventKind.RETURNED if returned else SampleEventKind.DISPOSED,
        actor,
        sample,
        from_party=request.lab.name,
        to_party=request.customer_org.name if returned else "",
        note=(note or "").strip()[:2000],
    )
    audit.record(actor, f"sample.{sample.status.value}", sample, organisation=request.lab_id)
    db.session.flush()
