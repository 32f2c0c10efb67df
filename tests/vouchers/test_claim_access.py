"""Who may see a settlement claim and from which side: SettlementClaim.can_view,
can_manage (the lab) and can_review (the authority, once submitted) give the answers the
claim pages gave inline."""

import pytest

from sharehub.accounts.models import OrgKind, Role
from sharehub.vouchers import claims
from sharehub.vouchers.models import ClaimStatus, DocumentKind
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("english")


def old_side(user, claim) -> str | None:
    """vouchers/claim_views.py::_claim before the predicates (None: not found)."""
    if user.can_manage(claim.lab):
        return "lab"
    if user.can_manage(claim.programme.authority) and claim.status != ClaimStatus.DRAFT:
        return "authority"
    return None


def side(user, claim) -> str | None:
    if not claim.can_view(user):
        return None
    return "lab" if claim.can_manage(user) else "authority"


@pytest.mark.parametrize("submitted", [False, True])
def test_predicates_answer_as_the_page_did(
    client,
    db,
    served_use,
    lab_manager,
    officer,
    buyer,
    make_org,
    make_user,
    platform_admin,
    login_as,
    storage_dir,
    submitted,
):
    claim = claims.create_claim(
        lab_manager, served_use.invoice.lab, served_use.quota.programme, [served_use.id]
    )
    if submitted:
        for kind in DocumentKind:
            claims.add_document(lab_manager, claim, kind, claims.Upload(pdf_bytes(), "d.pdf"))
        claims.submit_claim(lab_manager, claim)
    db.session.commit()
    people = {
        "lab manager": (lab_manager, "lab"),
        "lab member": (make_user(claim.lab, role=Role.MEMBER), None),
        "officer": (officer, "authority" if submitted else None),
        "authority member": (
            make_user(claim.programme.authority, role=Role.MEMBER),
            None,
        ),
        "customer": (buyer, None),
        "stranger": (make_user(make_org(kind=OrgKind.LAB)), None),
        "platform admin": (platform_admin, None),
    }
    for name, (user, expected) in people.items():
        assert side(user, claim) == old_side(user, claim) == expected, name
        assert claim.can_review(user) == (expected == "authority"), name
        login_as(user)
        assert client.get(f"/vouchers/claims/{claim.id}").status_code == (
            404 if expected is None else 200
        ), name
