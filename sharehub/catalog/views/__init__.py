"""The catalog pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.catalog.blueprint import bp
from sharehub.catalog.views import lab, public  # noqa: F401  (their routes)

__all__ = ["bp"]
