"""The billing pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.billing.blueprint import bp
from sharehub.billing.views import invoices, online  # noqa: F401  (their routes)

__all__ = ["bp"]
