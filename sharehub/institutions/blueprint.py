"""The groups pages' blueprint (in the buyer's organisation area); the modules of views/
add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("institutions", __name__, url_prefix="/account/groups")
