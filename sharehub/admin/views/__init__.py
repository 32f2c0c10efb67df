"""The admin pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.admin.blueprint import bp
from sharehub.admin.views import platform, review, usage_chain  # noqa: F401  (their routes)

__all__ = ["bp"]
