"""Testing requests: pricing in fen, quotes with a validity, acceptance into an order."""

from datetime import timedelta

import pytest
import time_machine

from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.testing import orders
from sharehub.testing.models import QuoteStatus, RequestStatus, TestingRequest
from sharehub.testing.orders import LineInput, SampleInput
from tests.support import clock


def test_a_standard_request_is_priced_at_once(db, lab, make_service, firm, firm_user):
    salt = make_service(lab, expedited_days=5, expedited_surcharge_percent=50)
    tensile = make_service(
        lab,
        name="拉伸",
        standard_code="GB/T 228.1-2021",
        price_basis="parameter",
        price_external=12345,
        parameters=[("抗拉强度", "MPa"), ("屈服强度", "MPa"), ("断后伸长率", "%")],
        expedited_days=2,
        expedited_surcharge_percent=33,
    )
    request = orders.create_request(
        firm_user,
        firm,
        [salt.id, tensile.id],
        [SampleInput(name="A"), SampleInput(name="B", quantity=3)],
        expedited=True,
    )
    orders.submit(firm_user, request)
    assert request.status == RequestStatus.QUOTED
    quote = request.open_quote
    assert quote.is_automatic and quote.turnaround_days == 5
    assert [
        (line.kind, line.quantity, line.unit_price_fen, line.amount_fen) for line in quote.lines
    ] == [
        ("service", 2, 80000, 160000),
        ("surcharge", 1, 80000, 80000),
        ("service", 6, 12345, 74070),
        ("surcharge", 1, 24443, 24443),  # 33 % of 740.70 yuan = 244.431 → 244.43
    ]
    assert quote.total_fen == 160000 + 80000 + 74070 + 24443
    orders.accept(firm_user, request)
    assert request.status == RequestStatus.ACCEPTED and request.is_order
    assert request.total_fen == sum(line.amount_fen for line in request.lines)
    assert request.terms


def test_the_cluster_tier_applies_to_cluster_firms(
    db, lab, make_service, make_org, make_user, cluster
):
    from sharehub.accounts.models import OrgKind

    lab.cluster = cluster
    service = make_service(lab, price_cluster=60000)
    member = make_org(kind=OrgKind.ENTERPRISE, cluster=cluster)
    user = make_user(member)
    request = orders.create_request(user, member, [service.id], [SampleInput(name="A")])
    orders.submit(user, request)
    assert request.price_tier == "cluster"
    assert request.open_quote.total_fen == 60000


def test_a_non_standard_request_waits_for_the_labs_quote(
    db, lab, lab_manager, make_service, firm, firm_user, english
):
    service = make_service(lab, quote_required=True)
    request = orders.create_request(firm_user, firm, [service.id], [SampleInput(name="A")])
    orders.submit(firm_user, request)
    assert request.status == RequestStatus.SUBMITTED and request.open_quote is None
    with pytest.raises(PermissionDenied):
        orders.quote(
            firm_user, request, [LineInput("x", 1, 1)], valid_until=clock.today(), turnaround_days=5
        )
    with pytest.raises(ValidationError):
        orders.quote(
            lab_manager,
            request,
            [LineInput("x", 1, 100)],
            valid_until=clock.today() - timedelta(days=1),
            turnaround_days=5,
        )
    first = orders.quote(
        lab_manager,
        request,
        [LineInput("盐雾 480 h", 2, 150000), LineInput("样品制备", 1, 20000, kind="other")],
        valid_until=clock.today() + timedelta(days=7),
        turnaround_days=25,
    )
    assert first.total_fen == 320000
    second = orders.quote(
        lab_manager,
        request,
        [LineInput("盐雾 480 h", 2, 140000)],
        valid_until=clock.today() + timedelta(days=7),
        turnaround_days=25,
    )
    assert first.status == QuoteStatus.SUPERSEDED and request.open_quote is second
    with pytest.raises(Conflict):
        orders.accept(firm_user, request, quote_id=first.id)
    orders.accept(firm_user, request, quote_id=second.id)
    assert request.total_fen == 280000 and request.turnaround_days == 25


def test_a_quote_accepted_after_its_validity_is_refused(
    db, lab, make_service, firm, firm_user, english
):
    service = make_service(lab)
    request = orders.create_request(firm_user, firm, [service.id], [SampleInput(name="A")])
    orders.submit(firm_user, request)
    last_day = request.open_quote.valid_until
    db.session.commit()
    with time_machine.travel(clock.at(last_day + timedelta(days=1), 9), tick=False):
        with pytest.raises(Conflict, match="valid until"):
            orders.accept(firm_user, request)
        db.session.rollback()
        assert request.status == RequestStatus.QUOTED and request.total_fen is None
        assert orders.lapse_due() == 1
    assert request.status == RequestStatus.LAPSED
    assert request.quotes[0].status == QuoteStatus.LAPSED


def test_a_quote_holds_through_its_last_day(db, lab, make_service, firm, firm_user):
    service = make_service(lab)
    request = orders.create_request(firm_user, firm, [service.id], [SampleInput(name="A")])
    orders.submit(firm_user, request)
    last_day = request.open_quote.valid_until
    with time_machine.travel(clock.at(last_day, 23, 50), tick=False):
        assert orders.lapse_due() == 0
        orders.accept(firm_user, request)
    assert request.status == RequestStatus.ACCEPTED


@pytest.mark.parametrize("quantity", [0, -1, None, "3", 10_001])
def test_bad_sample_quantities_store_nothing(
    db, lab, make_service, firm, firm_user, quantity, english
):
    service = make_service(lab)
    with pytest.raises(ValidationError, match="quantity"):
        orders.create_request(
            firm_user, firm, [service.id], [SampleInput(name="A", quantity=quantity)]
        )
    db.session.rollback()
    assert db.session.query(TestingRequest).count() == 0


def test_requests_only_for_published_services_of_one_lab(
    db, lab, make_org, make_service, firm, firm_user, english
):
    from sharehub.accounts.models import OrgKind
    from sharehub.catalog.models import ListingStatus

    draft = make_service(lab, status=ListingStatus.DRAFT)
    with pytest.raises(NotFound):
        orders.create_request(firm_user, firm, [draft.id], [SampleInput(name="A")])
    one = make_service(lab)
    two = make_service(make_org(kind=OrgKind.LAB))
    with pytest.raises(ValidationError, match="one laboratory"):
        orders.create_request(firm_user, firm, [one.id, two.id], [SampleInput(name="A")])
    with pytest.raises(ValidationError, match="expedited"):
        orders.create_request(firm_user, firm, [one.id], [SampleInput(name="A")], expedited=True)


def test_only_the_customer_acts_for_the_customer(
    db, lab, lab_manager, make_service, firm, firm_user, make_org, make_user, english
):
    service = make_service(lab)
    stranger = make_user(make_org())
    with pytest.raises(PermissionDenied):
        orders.create_request(stranger, firm, [service.id], [SampleInput(name="A")])
    request = orders.create_request(firm_user, firm, [service.id], [SampleInput(name="A")])
    with pytest.raises(PermissionDenied):
        orders.submit(stranger, request)
    orders.submit(firm_user, request)
    with pytest.raises(PermissionDenied):
        orders.accept(lab_manager, request)
    with pytest.raises(ValidationError, match="reason"):
        orders.refuse(lab_manager, request, "")
    orders.refuse(lab_manager, request, "设备检修")
    assert request.status == RequestStatus.REFUSED
    assert request.quotes[0].status == QuoteStatus.WITHDRAWN
