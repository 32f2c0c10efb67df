"""Constants of the voucher tests."""

from tests.support import clock

YEAR = clock.today().year  # the programme runs over the suite's current year
