"""Who may read a lab's accreditation document: OrgDocument.can_view/can_manage give the
answers the download page gave inline (members, platform administrators, regulators)."""

import pytest

from sharehub.accounts.models import OrgDocument, OrgKind, Role
from sharehub.core.uploads import store_bytes
from tests.conftest import pdf_bytes


def old_rule(user, doc) -> bool:
    """The download page's check before the predicate (accounts/org_views.py)."""
    return (
        user.membership_in(doc.organisation_id) is not None
        or user.is_platform_admin
        or user.is_regulator
    )


@pytest.fixture
def document(db, make_org, storage_dir):
    lab = make_org(kind=OrgKind.LAB)
    stored = store_bytes(pdf_bytes(), "cert.pdf", "application/pdf")
    doc = OrgDocument(
        organisation=lab,
        original_name="cert.pdf",
        stored_name=stored.stored_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
    )
    db.session.add(doc)
    db.session.commit()
    return doc


def test_predicates_answer_as_the_page_did(
    client, db, document, make_org, make_user, platform_admin, login
):
    lab = document.organisation
    people = {
        "owner": (make_user(lab, role=Role.OWNER), True, True),
        "lab manager": (make_user(lab, role=Role.MANAGER), True, True),
        "lab member": (make_user(lab, role=Role.MEMBER), True, False),
        "stranger": (make_user(make_org()), False, False),
        "platform admin": (platform_admin, True, False),
        "regulator": (make_user(make_org(kind=OrgKind.AUTHORITY)), True, False),
    }
    for name, (user, may_view, may_manage) in people.items():
        assert document.can_view(user) == old_rule(user, document) == may_view, name
        assert document.can_manage(user) == may_manage, name
        client.post("/account/signout")
        login(user)
        response = client.get(f"/account/documents/{document.id}")
        response.close()
        assert response.status_code == (200 if may_view else 404), name
