"""The price of a booking: quantity from the listing's price unit, tier, minimum, VAT."""

from __future__ import annotations

from dataclasses import dataclass

from sharehub.catalog.models import Listing, PriceUnit
from sharehub.catalog.pricing import tier_for, vat_of

MINUTES_PER = {PriceUnit.HOUR: 60, PriceUnit.HALF_DAY: 240, PriceUnit.DAY: 1440}


@dataclass(frozen=True)
class BookingQuote:
    tier: str
    unit_price: int  # fen, before VAT
    quantity: str  # shown to the buyer, e.g. "2.5 h" or "3 samples"
    net: int
    minimum_applied: bool
    vat_rate_bp: int
    vat: int
    gross: int
    assisted_rate: int = 0  # fen per hour of the staff operator
    assisted_net: int = 0  # the staff operator's time, included in `net`

    @property
    def service_net(self) -> int:
        return self.net - self.assisted_net


def quote(
    listing: Listing, buyer_org, minutes: int, samples: int = 0, assisted: bool = False
) -> BookingQuote:
    """Hours are charged pro rata (rounded half up to the fen); half-days and days are
    charged per started period; sessions and access periods once; samples per sample.
    With a staff operator, the listing's assisted rate is added per hour, pro rata."""
    tier = tier_for(listing, buyer_org)
    price = {
        "internal": listing.price_internal,
        "cluster": listing.price_cluster,
        "external": listing.price_external,
    }[tier]
    unit = listing.price_unit
    if unit == PriceUnit.HOUR:
        net = (price * minutes + 30) // 60
        quantity = f"{minutes / 60:g} h"
    elif unit in (PriceUnit.HALF_DAY, PriceUnit.DAY):
        periods = -(-minutes // MINUTES_PER[unit])
        net, quantity = price * periods, f"{periods} × {unit.value}"
    elif unit == PriceUnit.SAMPLE:
        net, quantity = price * max(samples, 1), f"{max(samples, 1)} × sample"
    else:
        net, quantity = price, f"1 × {unit.value}"
    minimum_applied = net < listing.min_charge
    net = max(net, listing.min_charge)
    assisted_net = (listing.assisted_rate * minutes + 30) // 60 if assisted else 0
    net += assisted_net
    rate = listing.lab.vat_rate_bp
    vat = vat_of(net, rate)
    return BookingQuote(
        tier=tier,
        unit_price=price,
        quantity=quantity,
        net=net,
        minimum_applied=minimum_applied,
        vat_rate_bp=rate,
        vat=vat,
        gross=net + vat,
        assisted_rate=listing.assisted_rate if assisted else 0,
        assisted_net=assisted_net,
    )


def cancellation_fee(gross: int, percent: int) -> int:
    return (gross * percent + 50) // 100
