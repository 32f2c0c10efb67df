"""The catalog pages' blueprint; the modules of views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog", __name__)
