"""Dataset access grants: a paid grant reaches an invoice like a booking (drafted by the lab,
issued with a number, paid); the grant gives a download link and no "API key" that no API
would accept."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.booking.models import AccessGrant
from sharehub.catalog.models import ListingKind, PriceUnit
from sharehub.core.errors import Conflict
from sharehub.core.models import AuditEntry

EN = {"Accept-Language": "en"}


@pytest.fixture
def buyer_user(make_org, make_user):
    return make_user(make_org(name="数据采购企业", name_en="Data Buyer"), email="data@example.cn")


@pytest.fixture
def dataset(lab, make_listing):
    return make_listing(
        lab,
        name="涂层老化数据集",
        kind=ListingKind.DATASET,
        category_code="070101",
        price_unit=PriceUnit.PERIOD,
        price_external=200000,  # ¥2,000 for the access period
        approval_required=True,
        access_days=90,
    )


def request_and_approve(db, client, login, buyer_user, lab_manager, dataset) -> AccessGrant:
    login(buyer_user)
    client.post(f"/catalog/{dataset.id}/access", data={"purpose": "老化模型研究"})
    client.post("/account/signout")
    grant = db.session.scalar(sa.select(AccessGrant).where(AccessGrant.listing_id == dataset.id))
    assert grant.status == "pending"
    login(lab_manager)
    client.post(f"/access/{grant.id}/approve")
    db.session.refresh(grant)
    assert grant.status == "active"
    return grant


def test_an_approved_paid_grant_is_invoiced_issued_and_paid(
    client, db, login, buyer_user, lab, lab_manager, dataset
):
    from sharehub.billing import services

    grant = request_and_approve(db, client, login, buyer_user, lab_manager, dataset)
    assert (grant.net_amount, grant.vat_amount, grant.gross_amount) == (200000, 12000, 212000)
    page = client.get("/access", headers=EN).get_data(as_text=True)
    assert f"/access/{grant.id}/invoice" in page  # the lab's "Invoice" button

    drafted = client.post(f"/access/{grant.id}/invoice")
    assert drafted.status_code == 302
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.access_grant_id == grant.id))
    assert drafted.headers["Location"].endswith(f"/invoices/{invoice.id}")
    assert invoice.lab_id == lab.id
    assert invoice.customer_org_id == grant.customer_org_id
    assert invoice.booking_id is None
    assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (200000, 12000, 212000)
    [line] = invoice.lines
    assert line.description.startswith("涂层老化数据集")
    assert (line.unit_price, line.vat_rate_bp) == (200000, 600)
    assert (
        db.session.scalar(
            sa.select(AuditEntry.action).where(
                AuditEntry.object_type == "invoice", AuditEntry.object_id == invoice.id
            )
        )
        == "invoice.drafted"
    )

    # Asking again opens the same invoice; none is made twice.
    again = client.post(f"/access/{grant.id}/invoice")
    assert again.headers["Location"].endswith(f"/invoices/{invoice.id}")
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    with pytest.raises(Conflict):
        services.invoice_from_access_grant(lab_manager, grant)

    # From here it is an invoice like a booking's: issued with a number, shown to the buyer.
    services.issue(lab_manager, invoice)
    db.session.commit()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number
    client.post("/account/signout")
    login(buyer_user)
    shown = client.get(f"/invoices/{invoice.id}", headers=EN)
    assert shown.status_code == 200 and "涂层老化数据集" in shown.get_data(as_text=True)


def test_only_granted_paid_access_is_invoiced_and_only_by_the_lab(
    client, db, login, buyer_user, lab, lab_manager, dataset, make_listing
):
    from sharehub.billing import services

    login(buyer_user)
    client.post(f"/catalog/{dataset.id}/access", data={"purpose": "x"})
    grant = db.session.scalar(sa.select(AccessGrant).where(AccessGrant.listing_id == dataset.id))
    # The customer cannot draft its own invoice.
    assert client.post(f"/access/{grant.id}/invoice").status_code == 404
    client.post("/account/signout")
    login(lab_manager)
    pending = client.post(f"/access/{grant.id}/invoice", headers=EN, follow_redirects=True)
    assert "Access is billed once it has been granted." in pending.get_data(as_text=True)

    free = make_listing(
        lab,
        name="免费数据集",
        kind=ListingKind.DATASET,
        category_code="070101",
        price_unit=PriceUnit.PERIOD,
        price_external=0,
        price_internal=0,
        approval_required=False,
    )
    from sharehub.booking import access

    free_grant, _token = access.request_access(
        buyer_user, buyer_user.memberships[0].organisation, free, "x"
    )
    db.session.commit()
    with pytest.raises(Conflict, match="Free access"):
        services.invoice_from_access_grant(lab_manager, free_grant)
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


def test_the_grant_gives_a_download_link_and_no_api_key(
    client, db, login, buyer_user, lab_manager, dataset
):
    grant = request_and_approve(db, client, login, buyer_user, lab_manager, dataset)
    client.post("/account/signout")
    login(buyer_user)
    shown = client.post(f"/access/{grant.id}/renew", headers=EN).get_data(as_text=True)
    assert 'id="download-link"' in shown
    assert "API key" not in shown and 'id="api-key"' not in shown
    link = shown.split('id="download-link" readonly value="')[1].split('"')[0]
    client.post("/account/signout")
    assert client.get(link.split("localhost", 1)[-1]).status_code == 200
