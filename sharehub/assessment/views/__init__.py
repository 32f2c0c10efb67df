"""The assessment pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.assessment.blueprint import bp
from sharehub.assessment.views import labs, rounds  # noqa: F401  (their routes)

__all__ = ["bp"]
