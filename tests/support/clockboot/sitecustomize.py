"""Puts every Python process the suite starts (gunicorn, the flask CLI, localstripe, the
Checkout stand-in) on the suite's clock: SHAREHUB_TEST_CLOCK_OFFSET seconds from the real
one, ticking. tests/conftest.py puts this folder on PYTHONPATH and sets the offset."""

import os

_offset = os.environ.get("SHAREHUB_TEST_CLOCK_OFFSET")
if _offset:
    import time_machine
    from time_machine import escape_hatch

    time_machine.travel(escape_hatch.time.time() + float(_offset), tick=True).start()
