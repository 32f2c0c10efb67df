"""Samples: courier numbers checked, receipt numbered gaplessly per lab and year,
refusal with a reason, storage, return or disposal after the retention; every
hand-over is in the chain of custody."""

from datetime import timedelta

import pytest
import time_machine

from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.testing import samples
from sharehub.testing.couriers import check_tracking
from sharehub.testing.models import (
    AfterTest,
    RequestStatus,
    SampleCounter,
    SampleEvent,
    SampleStatus,
)
from sharehub.testing.samples import ReceiptInput
from tests.support import clock
from tests.support.files import pdf_bytes, png_bytes


@pytest.mark.parametrize(
    ("courier", "number", "stored"),
    [
        ("sf", "SF1234567890123", "SF1234567890123"),
        ("sf", "sf 1234 5678 9012", "SF123456789012"),
        ("ems", "EA123456789CN", "EA123456789CN"),
        ("ems", "1123456789012", "1123456789012"),
        ("jd", "JDVA12345678901", "JDVA12345678901"),
        ("zto", "78123456789012", "78123456789012"),
        ("yto", "YT1234567890123", "YT1234567890123"),
    ],
)
def test_tracking_numbers_of_each_courier(courier, number, stored):
    assert check_tracking(courier, number) == (courier, stored)


@pytest.mark.parametrize(
    ("courier", "number", "message"),
    [
        ("sf", "SF12345", "SF followed by 12 to 15 digits"),
        ("sf", "1234567890123", "SF followed by 12 to 15 digits"),
        ("yto", "SF1234567890123", "YT followed by 13 digits"),
        ("ems", "EA12345678CN", "2 letters, 9 digits"),
        ("pigeon", "SF1234567890123", "Choose the courier"),
        ("sf", "", "Give the tracking number"),
    ],
)
def test_a_wrong_tracking_number_says_what_it_should_be(courier, number, message, english):
    with pytest.raises(ValidationError, match=message):
        check_tracking(courier, number)


def test_receipt_numbers_samples_and_records_the_chain_of_custody(
    db, lab, lab_manager, make_service, make_request, firm, firm_user
):
    first = make_request(firm_user, firm, [make_service(lab)], state="samples_in_transit")
    second = make_request(
        firm_user, firm, [make_service(lab)], state="samples_in_transit", n_samples=1
    )
    year = clock.today().year
    samples.receive(
        lab_manager,
        first,
        [
            ReceiptInput(
                first.samples[0].id, True, storage_place="A-01", photo=(png_bytes(), "a.png")
            ),
            ReceiptInput(first.samples[1].id, False, refusal_reason="包装破损, 样品受潮"),
        ],
    )
    samples.receive(lab_manager, second, [ReceiptInput(second.samples[0].id, True)])
    assert first.status == RequestStatus.RECEIVED
    assert [s.code for s in first.samples] == [f"S{lab.id:04d}-{year}-00001", None]
    assert second.samples[0].code == f"S{lab.id:04d}-{year}-00002"
    assert first.samples[0].retain_until == clock.today() + timedelta(days=90)
    assert first.samples[0].photos[0].content_type == "image/png"
    assert first.samples[1].status == SampleStatus.REFUSED
    kinds = [(e.kind, e.sample_id) for e in first.events]
    assert kinds == [
        ("shipped", None),
        ("received", first.samples[0].id),
        ("refused", first.samples[1].id),
    ]
    assert "SF1234567890123" in first.events[0].to_party
    counter = db.session.get(SampleCounter, (lab.id, year))
    assert counter.last_number == 2


def test_refusing_a_sample_needs_a_reason(
    db, lab, lab_manager, make_service, make_request, firm, firm_user, english
):
    request = make_request(firm_user, firm, [make_service(lab)], state="accepted", n_samples=1)
    with pytest.raises(ValidationError, match="reason"):
        samples.receive(lab_manager, request, [ReceiptInput(request.samples[0].id, False)])
    db.session.rollback()
    assert request.samples[0].status == SampleStatus.EXPECTED
    assert db.session.query(SampleEvent).count() == 0
    assert db.session.query(SampleCounter).count() == 0


def test_every_sample_refused_refuses_the_order(
    db, lab, lab_manager, make_service, make_request, firm, firm_user
):
    request = make_request(firm_user, firm, [make_service(lab)], state="accepted", n_samples=1)
    samples.receive(
        lab_manager, request, [ReceiptInput(request.samples[0].id, False, refusal_reason="错样")]
    )
    assert request.status == RequestStatus.REFUSED
    samples.release(lab_manager, request.samples[0], "return")
    assert request.samples[0].status == SampleStatus.RETURNED


def test_a_photo_of_a_sample_is_an_image(
    db, lab, lab_manager, make_service, make_request, firm, firm_user, english
):
    request = make_request(firm_user, firm, [make_service(lab)], state="accepted", n_samples=1)
    with pytest.raises(ValidationError, match="JPEG, PNG or WebP image"):
        samples.receive(
            lab_manager,
            request,
            [ReceiptInput(request.samples[0].id, True, photo=(pdf_bytes(), "x.pdf"))],
        )


def test_only_the_lab_receives_and_every_sample_is_decided(
    db, lab, lab_manager, make_service, make_request, firm, firm_user, english
):
    request = make_request(firm_user, firm, [make_service(lab)], state="accepted")
    with pytest.raises(PermissionDenied):
        samples.receive(firm_user, request, [ReceiptInput(s.id, True) for s in request.samples])
    with pytest.raises(ValidationError, match="every sample"):
        samples.receive(lab_manager, request, [ReceiptInput(request.samples[0].id, True)])


def test_return_or_disposal_after_the_retention_as_the_customer_asked(
    db, lab, lab_manager, make_service, make_request, firm, firm_user, english
):
    request = make_request(
        firm_user, firm, [make_service(lab)], state="received", lab_user=lab_manager
    )
    kept, other = request.samples
    other.after_test = AfterTest.DISPOSE
    samples.store(lab_manager, kept, "冷藏柜 B-2")
    with pytest.raises(Conflict, match="kept until"):
        samples.release(lab_manager, kept, "return")
    with time_machine.travel(clock.at(kept.retain_until, 10), tick=False):
        with pytest.raises(Conflict, match="asked for this sample back"):
            samples.release(lab_manager, kept, "dispose")
        samples.release(lab_manager, kept, "return")
        samples.release(lab_manager, other, "dispose")
        with pytest.raises(PermissionDenied):
            samples.release(firm_user, other, "dispose")
    assert (kept.status, other.status) == (SampleStatus.RETURNED, SampleStatus.DISPOSED)
    assert [e.kind for e in request.events][-3:] == ["stored", "returned", "disposed"]
