"""Listing pages, prices with VAT, favourites, comparison, lab pages and open data."""

import csv
import io
import json

from sharehub.accounts.models import OrgKind, OrgStatus
from sharehub.catalog.models import ListingStatus
from sharehub.catalog.pricing import tier_for, unit_price, vat_of
from sharehub.catalog.views.public import UNIQUIP_COLUMNS

EN = {"Accept-Language": "en"}


def test_vat_rounding_in_fen():
    assert vat_of(10000, 600) == 600
    assert vat_of(12345, 600) == 741  # 740.7 → 741
    assert vat_of(25, 600) == 2  # 1.5 → 2 (half up)
    assert vat_of(8, 600) == 0  # 0.48 → 0
    assert vat_of(99999, 300) == 3000  # 2999.97 → 3000
    assert vat_of(0, 600) == 0


def test_price_tiers(db, lab, make_org, make_listing, cluster):
    lab.cluster_id = cluster.id
    db.session.commit()
    listing = make_listing(lab, price_external=50000, price_internal=30000, price_cluster=40000)
    member_firm = make_org(cluster_id=cluster.id)
    outsider = make_org()
    assert tier_for(listing, None) == "external"
    assert tier_for(listing, outsider) == "external"
    assert tier_for(listing, member_firm) == "cluster"
    assert tier_for(listing, lab) == "internal"
    quote = unit_price(listing, member_firm)
    assert (quote.net, quote.vat, quote.gross) == (40000, 2400, 42400)
    lab.vat_rate_bp = 300
    db.session.commit()
    assert unit_price(listing, outsider).gross == 51500


def test_listing_page_shows_price_rules_lab_and_preview(client, db, lab, make_listing):
    listing = make_listing(
        lab,
        name_en="ICP-OES",
        price_external=50000,
        free_cancel_hours=24,
        cancel_fee_percent=30,
        training_note="需完成安全培训",
    )
    html = client.get(f"/catalog/{listing.id}", headers=EN).get_data(as_text=True)
    assert "CN¥530.00" in html  # 500 + 6 % VAT
    assert "external price" in html
    assert "24 hours before; then 30 % of the price" in html
    assert "需完成安全培训" in html
    assert "Opening times in the next 7 days" in html
    assert "Test Lab" in html


def test_favourites_and_compare(client, db, lab, make_listing, make_org, make_user, login):
    listings = [make_listing(lab, name=f"仪器{i}", name_en=f"Instrument {i}") for i in range(5)]
    login(make_user(make_org()))
    client.post(f"/catalog/{listings[0].id}/favourite")
    assert "Instrument 0" in client.get("/catalog/favourites").get_data(as_text=True)
    client.post(f"/catalog/{listings[0].id}/favourite")
    assert "Instrument 0" not in client.get("/catalog/favourites").get_data(as_text=True)
    for listing in listings:
        client.post("/catalog/compare", data={"listing_id": listing.id})
    html = client.get("/catalog/compare").get_data(as_text=True)
    assert all(f"Instrument {i}" in html for i in range(4)) and "Instrument 4" not in html
    client.post("/catalog/compare", data={"listing_id": listings[0].id, "action": "remove"})
    assert "Instrument 0" not in client.get("/catalog/compare").get_data(as_text=True)
    draft = make_listing(lab, status=ListingStatus.DRAFT)
    assert client.post("/catalog/compare", data={"listing_id": draft.id}).status_code == 404
    assert client.post(f"/catalog/{draft.id}/favourite").status_code == 404


def test_lab_page(client, db, lab, make_org, make_listing):
    make_listing(lab, name_en="Visible instrument")
    make_listing(lab, name_en="Draft instrument", status=ListingStatus.DRAFT)
    html = client.get(f"/labs/{lab.id}", headers=EN).get_data(as_text=True)
    assert "Visible instrument" in html and "Draft instrument" not in html
    pending = make_org(kind=OrgKind.LAB, status=OrgStatus.PENDING)
    assert client.get(f"/labs/{pending.id}").status_code == 404
    assert client.get(f"/labs/{make_org().id}").status_code == 404


def test_open_data_csv_in_uniquip_columns_and_json(client, db, lab, make_listing):
    listing = make_listing(
        lab,
        name_en='ICP-OES, "Agilent" 5110',
        model="5110",
        manufacturer="Agilent",
        original_value=185000000,
    )
    make_listing(lab, name_en="Hidden", status=ListingStatus.DRAFT)
    response = client.get("/catalog/export.csv")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == UNIQUIP_COLUMNS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == 'ICP-OES, "Agilent" 5110'
    assert row["ID"] == f"sharehub-{listing.id}" and row["Type"] == "equipment"
    assert row["Manufacturer"] == "Agilent" and row["Original Value CNY"] == "1850000.00"
    data = json.loads(client.get("/catalog/export.json").get_data(as_text=True))
    assert [d["id"] for d in data["listings"]] == [listing.id]
    assert data["listings"][0]["instrument"]["original_value_fen"] == 185000000
