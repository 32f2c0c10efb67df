"""The accounts pages, one module per audience; importing the package registers
every route on the blueprint."""

from __future__ import annotations

from sharehub.accounts.blueprint import bp
from sharehub.accounts.views import account, organisation  # noqa: F401  (their routes)

__all__ = ["bp"]
