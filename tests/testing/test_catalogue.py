"""Testing services: written by the lab, reviewed by an administrator, found by
standard number, name or parameter with filters."""

import pytest
from werkzeug.datastructures import MultiDict

from sharehub.catalog.models import ListingStatus
from sharehub.core.errors import PermissionDenied, ValidationError
from sharehub.testing import services
from sharehub.testing.models import AccreditationKind, TestingService
from sharehub.testing.queries import ServiceSearch, search_services
from tests.support import clock

DATA = {
    "name": "中性盐雾试验",
    "standard_code": "GB/T 10125-2021",
    "method": "NSS",
    "field": "new_materials",
    "sample_quantity": 3,
    "standard_days": 10,
    "expedited_days": 5,
    "expedited_surcharge_percent": 50,
    "price_basis": "sample",
    "price_internal": 50000,
    "price_external": 80000,
    "price_cluster": 70000,
}


def test_a_service_goes_through_review(db, lab, lab_manager, platform_admin, english):
    service = services.create_service(
        lab_manager, lab, DATA, parameters=[{"name": "外观评级"}, {"name": ""}]
    )
    assert service.status == ListingStatus.DRAFT
    assert [p.name for p in service.parameters] == ["外观评级"]
    services.submit_service(lab_manager, service)
    with pytest.raises(PermissionDenied):
        services.approve_service(lab_manager, service)
    with pytest.raises(ValidationError, match="reason"):
        services.reject_service(platform_admin, service, " ")
    services.approve_service(platform_admin, service)
    assert service.is_published
    # A change of a published service goes back to review.
    services.update_service(lab_manager, service, {**DATA, "price_external": 90000})
    assert service.status == ListingStatus.PENDING
    services.reject_service(platform_admin, service, "价格说明不清")
    assert service.status == ListingStatus.REJECTED and service.review_note == "价格说明不清"


def test_a_service_needs_parameters_before_review(db, lab, lab_manager, english):
    service = services.create_service(lab_manager, lab, DATA)
    with pytest.raises(ValidationError, match="parameter"):
        services.submit_service(lab_manager, service)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"standard_code": " "}, "standard_code"),
        ({"price_external": -1}, "price_external"),
        ({"price_external": "80"}, "price_external"),
        ({"standard_days": 0}, "standard_days"),
        ({"expedited_days": 12}, "expedited_days"),
        ({"field": "cooking"}, "field"),
    ],
)
def test_bad_values_name_their_field(db, lab, lab_manager, change, field, english):
    with pytest.raises(ValidationError) as refused:
        services.create_service(lab_manager, lab, {**DATA, **change})
    assert refused.value.field == field
    assert db.session.query(TestingService).count() == 0


def test_another_labs_staff_cannot_write_a_service(db, lab, make_org, make_user, english):
    from sharehub.accounts.models import OrgKind

    stranger = make_user(make_org(kind=OrgKind.LAB))
    with pytest.raises(PermissionDenied):
        services.create_service(stranger, lab, DATA)


def test_instruments_must_be_the_labs_own(db, lab, lab_manager, make_org, make_listing, english):
    from sharehub.accounts.models import OrgKind

    own = make_listing(lab).units[0]
    foreign = make_listing(make_org(kind=OrgKind.LAB)).units[0]
    service = services.create_service(lab_manager, lab, DATA, unit_ids=[own.id])
    assert service.units == [own]
    with pytest.raises(ValidationError):
        services.create_service(lab_manager, lab, DATA, unit_ids=[foreign.id])


def _search(**args):
    return [
        s.name
        for s, _marks in search_services(ServiceSearch.from_args(MultiDict(args)), clock.today())
    ]


def test_search_by_standard_number_name_and_parameter(db, lab, make_service):
    make_service(lab)
    make_service(
        lab,
        name="金属材料拉伸试验",
        name_en="Tensile test",
        method="室温拉伸",
        standard_code="GB/T 228.1-2021",
        parameters=[("抗拉强度", "MPa")],
        standard_days=3,
        price_external=30000,
    )
    make_service(lab, name="草稿服务", status=ListingStatus.DRAFT)
    assert _search(q="10125") == ["中性盐雾试验"]
    assert _search(q="GB/T 10125") == ["中性盐雾试验"]
    assert _search(q="gbt10125-2021") == ["中性盐雾试验"]
    assert _search(q="盐雾") == ["中性盐雾试验"]
    assert _search(q="抗拉") == ["金属材料拉伸试验"]
    assert _search(q="salt spray") == ["中性盐雾试验"]
    assert sorted(_search()) == ["中性盐雾试验", "金属材料拉伸试验"]
    assert _search(days="5") == ["金属材料拉伸试验"]
    assert _search(price_max="400") == ["金属材料拉伸试验"]


def test_search_filters_on_accreditation_region_and_cluster(
    db, lab, make_org, make_service, make_certificate, cluster
):
    import sqlalchemy as sa

    from sharehub.accounts.models import OrgKind, Region

    make_service(lab)
    other_region = db.session.scalar(sa.select(Region).where(Region.code == "110000"))
    far = make_org(kind=OrgKind.LAB, cluster=cluster)
    far.region = other_region
    make_service(far, name="北京盐雾")
    make_certificate(lab, AccreditationKind.CNAS)
    assert _search(accr="cnas") == ["中性盐雾试验"]
    assert _search(accr="cma") == []
    assert _search(accr="any") == ["中性盐雾试验"]
    assert _search(region=str(other_region.id)) == ["北京盐雾"]
    assert _search(cluster=str(cluster.id)) == ["北京盐雾"]
    params = ServiceSearch.from_args(MultiDict({"days": "abc", "price_max": "x"}))
    assert len(params.errors) == 2 and params.days is None
