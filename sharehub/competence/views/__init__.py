"""Competence pages: a user's authorisations and training; the lab's management."""

from sharehub.competence.blueprint import bp
from sharehub.competence.views import lab, user  # noqa: F401  (routes)

__all__ = ["bp"]
