"""The commissioned testing pages, one module per audience; importing the package
registers every route on the blueprint."""

from __future__ import annotations

from sharehub.testing.blueprint import bp
from sharehub.testing.views import enterprise, lab, public, work  # noqa: F401  (their routes)

__all__ = ["bp"]
