"""The admin pages' blueprint; the modules of views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
