"""Reminders 30 and 7 days before a certificate falls due reach the lab's managers once,
however often the cron job runs; check-consistency reports a booking made on a blocked
unit while its certificate was overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import Role
from sharehub.admin.consistency import (
    bookings_of_blocked_unfit_units,
    certificate_dates_disordered,
    violations,
)
from sharehub.calibration import services
from sharehub.calibration.models import CertificateKind, CertificateResult, Reminder
from sharehub.calibration.services import CertificateData
from sharehub.core.models import Notification, OutboxMessage
from tests.support import clock
from tests.support.clock import workday
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.usefixtures("english")


def certify(manager, unit, issued_days, due_days, number="JZ-7"):
    today = clock.today()
    return services.record_certificate(
        manager,
        unit,
        CertificateData(
            kind=CertificateKind.CALIBRATION,
            issuing_body="上海市计量测试技术研究院",
            number=number,
            issued_date=today + timedelta(days=issued_days),
            due_date=today + timedelta(days=due_days),
            result=CertificateResult.PASS,
        ),
        pdf_bytes(),
        "c.pdf",
    )


def mails(db, number: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.subject.contains(number)))
    )


def notifications(db) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_reminders_go_out_30_and_7_days_ahead_once_each(
    app, db, lab, lab_manager, make_user, make_listing
):
    member = make_user(lab, role=Role.MEMBER)  # not a manager: not reminded
    unit = make_listing(lab).units[0]
    certify(lab_manager, unit, -335, 31)
    db.session.commit()
    runner = app.test_cli_runner()
    run = ["sharehub", "send-calibration-reminders"]
    assert "0 calibration reminders" in runner.invoke(args=run).output  # 31 days: too early

    with clock.travel(clock.at(clock.today() + timedelta(days=1), 0, 5)):
        first = runner.invoke(args=run)
        again = runner.invoke(args=run)
    assert "1 calibration reminders" in first.output, first.output
    assert "0 calibration reminders" in again.output
    sent = mails(db, "JZ-7")
    assert [m.recipient for m in sent] == [lab_manager.email]
    assert "in 30 days" in sent[0].body_text and "/lab/units/" in sent[0].body_text
    assert [n.user_id for n in notifications(db)] == [lab_manager.id]
    assert member.id not in [n.user_id for n in notifications(db)]

    with app.test_request_context():
        assert services.send_reminders(clock.today() + timedelta(days=23)) == 0  # 8 days left
        assert services.send_reminders(clock.today() + timedelta(days=24)) == 1  # 7 days left
        assert services.send_reminders(clock.today() + timedelta(days=25)) == 0
        db.session.commit()
    assert len(mails(db, "JZ-7")) == 2
    assert db.session.scalar(sa.select(sa.func.count(Reminder.id))) == 2


def test_a_late_first_run_sends_only_the_nearest_reminder(app, db, lab, lab_manager, make_listing):
    unit = make_listing(lab).units[0]
    certify(lab_manager, unit, -360, 5)
    with app.test_request_context():
        assert services.send_reminders() == 1
        assert services.send_reminders() == 0
    assert len(mails(db, "JZ-7")) == 1
    assert "in 5 days" in mails(db, "JZ-7")[0].body_text


def test_a_replaced_certificate_is_not_reminded(app, db, lab, lab_manager, make_listing):
    unit = make_listing(lab).units[0]
    certify(lab_manager, unit, -340, 20)
    certify(lab_manager, unit, -2, 363, number="JZ-8")
    with app.test_request_context():
        assert services.send_reminders() == 0


def test_check_consistency_reports_a_booking_on_a_blocked_overdue_unit(
    app, db, lab, lab_manager, make_listing, make_org, make_booking
):
    listing = make_listing(lab)
    unit = listing.units[0]
    certify(lab_manager, unit, -400, -1)
    customer = make_org(name="客户")
    day = workday()
    before_rule = make_booking(
        unit, customer, f"{day} 08:30", f"{day} 10:30", created=f"{clock.today()} 00:00"
    )
    services.set_policy(lab_manager, listing, block=True)
    db.session.commit()
    assert bookings_of_blocked_unfit_units() == []  # made before the lab blocked the unit
    # written past the booking service, as a bug or a hand edit would
    wrong = make_booking(unit, customer, f"{workday(11)} 08:30", f"{workday(11)} 10:30")
    assert bookings_of_blocked_unfit_units() == [wrong.id]
    assert before_rule.id not in violations()["bookings_of_blocked_unfit_units"]
    result = app.test_cli_runner().invoke(args=["sharehub", "check-consistency"])
    assert result.exit_code == 1
    assert "bookings_of_blocked_unfit_units: 1" in result.output
    assert "certificate_dates_disordered: 0" in result.output
    assert certificate_dates_disordered() == []


def test_a_flagged_unit_is_no_violation(
    app, db, lab, lab_manager, make_listing, make_org, make_booking
):
    listing = make_listing(lab)
    certify(lab_manager, listing.units[0], -400, -1)
    day = workday()
    make_booking(listing.units[0], make_org(), f"{day} 08:30", f"{day} 10:30")
    assert bookings_of_blocked_unfit_units() == []
