"""The accounts pages' blueprint; the modules of views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")
