"""The vouchers pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.vouchers.blueprint import bp
from sharehub.vouchers.views import authority, claims, enterprise  # noqa: F401  (their routes)

__all__ = ["bp"]
