"""The calendar pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.calendar.blueprint import bp
from sharehub.calendar.views import feeds  # noqa: F401  (their routes)

__all__ = ["bp"]
