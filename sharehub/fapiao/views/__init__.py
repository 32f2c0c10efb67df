"""The fapiao pages, one module per audience; importing the package registers every route
on the blueprint."""

from __future__ import annotations

from sharehub.fapiao.blueprint import bp
from sharehub.fapiao.views import enterprise, lab  # noqa: F401  (their routes)

__all__ = ["bp"]
