"""The application's clock: business days are Beijing days, whatever the server's zone."""

from datetime import UTC, date, datetime

import time_machine

from sharehub.core import clock
from tests.support import clock as suite_clock


def test_today_is_the_beijing_day_when_the_utc_day_differs():
    with time_machine.travel(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), tick=False):
        assert date.today() == date(2026, 12, 31)  # the server's (UTC) day
        assert clock.local_today() == date(2027, 1, 1)
        assert clock.local_date(clock.utcnow()) == date(2027, 1, 1)
    with time_machine.travel(datetime(2026, 6, 9, 21, 54, tzinfo=UTC), tick=False):
        assert clock.local_today() == date(2026, 6, 10)


def test_the_suite_runs_at_its_own_instant_not_the_real_one():
    now = suite_clock.suite_now()
    assert abs((clock.utcnow() - now).total_seconds()) < 3 * 3600  # ticks from that instant
    assert suite_clock.today() == clock.local_today()


def test_workdays_follow_the_state_council_schedule():
    assert not suite_clock.is_workday(date(2026, 10, 1))  # National Day
    assert suite_clock.is_workday(date(2026, 9, 20))  # make-up working Sunday (调休)
    assert not suite_clock.is_workday(date(2026, 9, 19))  # an ordinary Saturday
    with suite_clock.travel(datetime(2026, 9, 28, 10, tzinfo=clock.LAB_TZ)):
        assert suite_clock.workday(1) == date(2026, 9, 29)
        assert suite_clock.workday(2) == date(2026, 9, 30)
        assert suite_clock.workday(3) == date(2026, 10, 8)  # after the Golden Week


def test_processes_the_suite_starts_follow_its_clock():
    import subprocess
    import sys

    code = "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stderr == ""
    theirs = datetime.fromisoformat(run.stdout.strip())
    assert abs((theirs - clock.utcnow()).total_seconds()) < 60
