"""What a buyer pays for a listing: the price tier that applies, VAT and the total."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from sharehub.catalog.models import Listing

TIER_LABELS = {
    "internal": _l("internal price"),
    "cluster": _l("cluster-member price"),
    "external": _l("external price"),
}


@dataclass(frozen=True)
class Quote:
    tier: str
    net: int  # fen, before VAT
    vat_rate_bp: int
    vat: int
    gross: int

    @property
    def tier_label(self):
        return TIER_LABELS[self.tier]


def vat_of(net: int, rate_bp: int) -> int:
    """VAT in fen, rounded half up (integer arithmetic, no floats)."""
    return (net * rate_bp + 5000) // 10000


def tier_for(listing: Listing, buyer_org) -> str:
    if buyer_org is not None:
        # The lab itself, its host organisation and the host's other units.
        if buyer_org.is_internal_to(listing.lab):
            return "internal"
        if (
            listing.price_cluster is not None
            and buyer_org.cluster_id is not None
            and buyer_org.cluster_id == listing.lab.cluster_id
        ):
            return "cluster"
    return "external"


def unit_price(listing: Listing, buyer_org=None) -> Quote:
    """The price of one unit (hour, session, sample...) for this buyer."""
    tier = tier_for(listing, buyer_org)
    net = {
        "internal": listing.price_internal,
        "cluster": listing.price_cluster,
        "external": listing.price_external,
    }[tier]
    rate = listing.lab.vat_rate_bp
    vat = vat_of(net, rate)
    return Quote(tier=tier, net=net, vat_rate_bp=rate, vat=vat, gross=net + vat)
