"""The stats pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.stats.blueprint import bp
from sharehub.stats.views import openness, reports  # noqa: F401  (their routes)

__all__ = ["bp"]
