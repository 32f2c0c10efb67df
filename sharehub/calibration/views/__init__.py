"""The calibration pages: the lab's unit pages, and the certificates customers see.
Importing the package registers every route on the blueprint."""

from __future__ import annotations

from sharehub.calibration.blueprint import bp
from sharehub.calibration.views import lab, public  # noqa: F401  (their routes)

__all__ = ["bp"]
