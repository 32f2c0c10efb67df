"""Puts every Python process the suite starts (gunicorn, the flask CLI, localstripe, the
Checkout stand-in) on the suite's clock: SHAREHUB_TEST_CLOCK_OFFSET seconds from the real
one, ticking. tests/conftest.py puts this folder on PYTHONPATH and sets the offset."""

import os

_offset = os.environ.get("SHAREHUB_TEST_CLOCK_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
