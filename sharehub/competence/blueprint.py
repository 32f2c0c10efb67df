"""The competence pages' blueprint; the modules of views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("competence", __name__)
