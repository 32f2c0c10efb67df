"""The groups pages; importing the package registers every route on the blueprint."""

from __future__ import annotations

from sharehub.institutions.blueprint import bp
from sharehub.institutions.views import approvals, groups  # noqa: F401  (their routes)

__all__ = ["bp"]
