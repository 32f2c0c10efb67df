"""Listings, units, prices, opening hours, outages and search."""

from __future__ import annotations


def init_app(app) -> None:
    """Pages show each listing at the price this viewer pays."""
    from flask_login import current_user

    from sharehub.accounts.session import current_org
    from sharehub.catalog.pricing import unit_price

    def buyer_price(listing):
        """The price this viewer pays per unit (their tier, VAT included)."""
        return unit_price(listing, current_org() if current_user.is_authenticated else None)

    app.jinja_env.globals["buyer_price"] = buyer_price
