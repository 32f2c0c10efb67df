"""The commissioned testing pages' blueprint (/testing/..., /orders/...); the modules of
views/ add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("testing", __name__)
