"""reports_issued(lab, period): what a lab reported in a period, for the statistics."""

from dataclasses import dataclass
from datetime import date, timedelta

from sharehub.testing import reports
from sharehub.testing.queries import reports_issued
from sharehub.testing.report_models import SIGN_ORDER
from tests.support import clock
from tests.support.reports import good_rows, issued_report


@dataclass(frozen=True)
class Days:  # the shape of stats.sql.Period: local days [start, end)
    start: date
    end: date


def test_reports_issued_counts_versions_verdicts_and_withdrawals(
    db, make_order, signers, lab, make_org
):
    today = clock.today()
    first = issued_report(db, make_order(), signers)
    issued_report(db, make_order(), signers, None)
    failing_order = make_order()
    issued_report(db, failing_order, signers, good_rows(failing_order, "0.9", "fail"))
    amendment = reports.amend(signers[0], first, "更正")
    for person, role in zip(signers, SIGN_ORDER, strict=True):
        reports.sign(person, amendment, role)
    reports.issue(signers[2], amendment)
    reports.withdraw(signers[2], amendment, "撤回")
    db.session.commit()
    figures = reports_issued(lab, Days(today, today + timedelta(days=1)))
    assert (figures.total, figures.first_issues, figures.amendments) == (4, 3, 1)
    assert figures.withdrawn == 1 and figures.orders == 3 and figures.customers == 3
    assert figures.by_verdict == {"pass": 3, "fail": 1, "na": 0}
    assert reports_issued(lab.id, Days(today - timedelta(days=7), today)).total == 0
    assert reports_issued(make_org().id, Days(today, today + timedelta(days=1))).total == 0
