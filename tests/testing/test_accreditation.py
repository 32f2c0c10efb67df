"""Accreditation marks follow the scope and validity of the lab's certificates."""

from datetime import timedelta

from sharehub.testing.accreditation import marks_for
from sharehub.testing.models import AccreditationKind, normalize_standard, standard_parts
from tests.support import clock

CMA, CNAS = AccreditationKind.CMA, AccreditationKind.CNAS


def test_standard_codes_compare_without_spaces_slashes_and_case():
    assert normalize_standard("GB/T 10125-2021") == "GBT101252021"
    assert standard_parts("GB/T 10125-2021") == ("GBT10125", "2021")
    assert standard_parts("ISO 9227:2022") == ("ISO9227", "2022")
    assert standard_parts("ASTM B117") == ("ASTMB117", "")
    assert standard_parts("gb/t 228.1—2021") == ("GBT2281", "2021")


def test_marks_while_the_method_is_in_a_valid_scope(lab, make_service, make_certificate):
    service = make_service(lab)
    make_certificate(lab, CMA)
    make_certificate(lab, CNAS, scope=(("GB/T 10125", ""),))  # every year of the standard
    assert marks_for(service, clock.today()) == [CMA, CNAS]


def test_an_expired_certificate_gives_no_mark(lab, make_service, make_certificate):
    service = make_service(lab)
    today = clock.today()
    make_certificate(
        lab,
        CMA,
        issued_date=today - timedelta(days=2000),
        valid_until=today - timedelta(days=1),
    )
    make_certificate(lab, CNAS)
    assert marks_for(service, today) == [CNAS]
    # On a day it was still valid (a report issued then), it counts.
    assert marks_for(service, today - timedelta(days=1)) == [CMA, CNAS]


def test_a_method_out_of_scope_gives_no_mark(lab, make_service, make_certificate):
    service = make_service(lab, standard_code="ISO 9227:2022")
    make_certificate(lab, CMA, scope=(("GB/T 10125-2021", ""), ("ISO 9227:2017", "")))
    assert marks_for(service, clock.today()) == []


def test_another_labs_certificate_gives_no_mark(lab, make_org, make_service, make_certificate):
    from sharehub.accounts.models import OrgKind

    other = make_org(kind=OrgKind.LAB)
    service = make_service(lab)
    make_certificate(other, CMA)
    assert marks_for(service, clock.today()) == []


def test_a_suspended_certificate_gives_no_mark(lab, make_service, make_certificate):
    service = make_service(lab)
    make_certificate(lab, CMA, suspended=True)
    assert marks_for(service, clock.today()) == []


def test_parameter_scope_covers_only_the_parameters_named(lab, make_service, make_certificate):
    service = make_service(
        lab,
        name="金属材料拉伸试验",
        standard_code="GB/T 228.1-2021",
        parameters=[("抗拉强度", "MPa"), ("断后伸长率", "%")],
    )
    make_certificate(lab, CMA, scope=(("GB/T 228.1-2021", "抗拉强度"),))
    today = clock.today()
    assert marks_for(service, today) == []  # not every parameter is covered
    assert marks_for(service, today, parameter="抗拉强度") == [CMA]
    assert marks_for(service, today, parameter="断后伸长率") == []
    make_certificate(
        lab, CNAS, scope=(("GB/T 228.1-2021", "抗拉强度"), ("GB/T 228.1", "断后伸长率"))
    )
    assert marks_for(service, today) == [CNAS]
