"""The booking pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.booking.blueprint import bp
from sharehub.booking.views import (  # noqa: F401  (their routes)
    bookings,
    kiosk,
    lab,
    messages,
    scheduling,
)

__all__ = ["bp"]
