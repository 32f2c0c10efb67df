"""The demo's fapiao: the enterprise's two invoice profiles, a request waiting for the lab
and one issued, its PDF downloadable by the enterprise; the consistency checks hold."""

from __future__ import annotations

from sharehub.accounts.models import Role
from sharehub.booking import services as booking_services
from sharehub.demo.calibration import DEMO_LAB_MANAGER
from sharehub.demo.fapiao import seed_demo_fapiao
from sharehub.fapiao import queries
from sharehub.fapiao.models import FapiaoKind, RequestStatus
from sharehub.fapiao.services import profiles_of
from tests.support.billing import issued_for
from tests.support.clock import at, workday


def test_demo_fapiao(db, client, login, lab, booked, make_user, storage_dir):
    manager = make_user(lab, role=Role.MANAGER, email=DEMO_LAB_MANAGER)
    buyer, firm = booked.customer_user, booked.customer_org
    later = booking_services.create_booking(
        buyer,
        firm,
        booked.listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(2), 8, 30), ends_dt=at(workday(2), 9, 30)
        ),
    )
    first, second = issued_for(manager, booked), issued_for(manager, later)
    db.session.commit()

    requests = seed_demo_fapiao(firm, buyer)
    db.session.commit()
    default, special = profiles_of(firm.id)
    assert (default.kind, default.is_default) == (FapiaoKind.NORMAL, True)
    assert special.kind == FapiaoKind.SPECIAL and special.bank_account
    assert sorted(r.invoice_id for r in requests) == sorted((first.id, second.id))
    issued, pending = requests
    assert (issued.status, pending.status) == (RequestStatus.ISSUED, RequestStatus.REQUESTED)
    fapiao = issued.issued
    assert len(fapiao.number) == 20 and fapiao.number.isdigit()
    assert fapiao.amount == issued.invoice.effective_total
    assert queries.fapiao_amounts_off_statement() == []
    assert queries.statements_with_several_open_requests() == []
    login(buyer)
    download = client.get(f"/fapiao/documents/{fapiao.id}")
    body = download.data
    download.close()
    assert download.status_code == 200 and body.startswith(b"%PDF-")
