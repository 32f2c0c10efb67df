"""The fapiao pages' blueprint; the modules of views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fapiao", __name__, url_prefix="/fapiao")
