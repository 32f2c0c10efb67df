"""Settlement claims through the pages: the lab files a claim with its four documents, the
authority publishes, approves after the notice and marks it paid, or rejects it."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.core.models import Notification, OutboxMessage
from sharehub.vouchers import claims
from sharehub.vouchers.models import (
    ClaimDocument,
    ClaimStatus,
    DocumentKind,
    SettlementClaim,
    VoucherUse,
)
from tests.support import clock
from tests.support.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.usefixtures("english")


def upload(client, claim_id, kind, data, name="doc.pdf", follow=True):
    return client.post(
        f"/vouchers/claims/{claim_id}/documents",
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=follow,
    )


def start_claim(client, served_use):
    programme_id = served_use.quota.programme_id
    response = client.post(
        "/vouchers/claims/new", data={"programme_id": programme_id, "use_ids": [served_use.id]}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return db_claim()


def db_claim():
    from sharehub.extensions import db

    return db.session.scalar(sa.select(SettlementClaim).order_by(SettlementClaim.id.desc()))


@pytest.fixture
def submitted(db, served_use, lab_manager):
    claim = claims.create_claim(
        lab_manager, served_use.invoice.lab, served_use.quota.programme, [served_use.id]
    )
    for kind in DocumentKind:
        claims.add_document(lab_manager, claim, kind, claims.Upload(pdf_bytes(), f"{kind}.pdf"))
    claims.submit_claim(lab_manager, claim)
    db.session.commit()
    return claim


def test_lab_files_a_claim_with_four_documents(
    client, db, served_use, lab_manager, login_as, officer, storage_dir
):
    login_as(lab_manager)
    page = client.get("/vouchers/claims").get_data(as_text=True)
    assert served_use.invoice.number in page and "400.00" in page
    claim = start_claim(client, served_use)
    assert (claim.status, claim.amount) == (ClaimStatus.DRAFT, 400_00)
    assert [u.id for u in claim.uses] == [served_use.id]
    # the use is held by the draft: it is no longer offered
    assert served_use.invoice.number not in client.get("/vouchers/claims").get_data(as_text=True)
    # submitting without the evidence is refused
    response = client.post(f"/vouchers/claims/{claim.id}/submit", follow_redirects=True)
    assert "Attach the contract, the fapiao" in response.get_data(as_text=True)
    upload(client, claim.id, "contract", pdf_bytes(), "合同.pdf")
    upload(client, claim.id, "invoice", pdf_bytes(), "发票.pdf")
    upload(client, claim.id, "payment_proof", png_bytes(), "回单.png")
    assert db_claim().status == ClaimStatus.DRAFT
    upload(client, claim.id, "service_report", pdf_bytes(), "报告.pdf")
    # a later file of the same kind replaces the earlier one
    upload(client, claim.id, "contract", png_bytes(), "合同-盖章.png")
    db.session.expire_all()
    claim = db_claim()
    assert sorted((d.kind.value, d.original_name) for d in claim.documents) == [
        ("contract", "合同-盖章.png"),
        ("invoice", "发票.pdf"),
        ("payment_proof", "回单.png"),
        ("service_report", "报告.pdf"),
    ]
    stored = claim.documents[0]
    assert (storage_dir / stored.stored_name).read_bytes() in (pdf_bytes(), png_bytes())
    client.post(f"/vouchers/claims/{claim.id}/submit")
    db.session.expire_all()
    claim = db_claim()
    assert claim.status == ClaimStatus.SUBMITTED and claim.submitted_dt is not None
    texts = db.session.scalars(
        sa.select(Notification.text).where(Notification.user_id == officer.id)
    ).all()
    assert "测试实验室 claims settlement of CN¥400.00 in 2026年苏州科技创新券" in texts
    # evidence cannot change once submitted
    response = upload(client, claim.id, "invoice", pdf_bytes())
    assert "before the claim is submitted" in response.get_data(as_text=True)
    # the authority downloads the evidence
    login_as(officer)
    doc = claim.document_of(DocumentKind.INVOICE)
    with client.get(f"/vouchers/claims/{claim.id}/documents/{doc.id}") as response:
        assert response.status_code == 200 and response.data == pdf_bytes()


def test_bad_uploads_are_refused_and_nothing_is_lost(
    app, client, db, served_use, lab_manager, login_as, storage_dir
):
    login_as(lab_manager)
    claim = start_claim(client, served_use)
    upload(client, claim.id, "contract", pdf_bytes(), "合同.pdf")
    before = sorted(p.name for p in storage_dir.iterdir())
    response = upload(client, claim.id, "invoice", b"MZ\x90\x00 not a document", "发票.exe")
    html = response.get_data(as_text=True)
    assert "The file was not saved: The file is not a PDF, JPEG, PNG or WebP document." in html
    app.config["MAX_DOCUMENT_BYTES"], limit = 1024, app.config["MAX_DOCUMENT_BYTES"]
    try:
        big = pdf_bytes()[:-6] + b" " * 2000 + b"%%EOF\n"
        html = upload(client, claim.id, "invoice", big, "big.pdf").get_data(as_text=True)
    finally:
        app.config["MAX_DOCUMENT_BYTES"] = limit
    assert "The file was not saved: The file is larger than 1 KB." in html
    html = upload(client, claim.id, "nonsense", pdf_bytes()).get_data(as_text=True)
    assert "Choose what the document is." in html
    db.session.expire_all()
    claim = db_claim()
    # the contract attached before is still there; nothing else was stored
    assert [d.kind.value for d in claim.documents] == ["contract"]
    assert sorted(p.name for p in storage_dir.iterdir()) == before
    assert "合同.pdf" in client.get(f"/vouchers/claims/{claim.id}").get_data(as_text=True)


def test_authority_publishes_approves_after_the_notice_and_pays(
    client, db, submitted, officer, lab_manager, login_as
):
    login_as(officer)
    page = client.get(f"/vouchers/claims/{submitted.id}").get_data(as_text=True)
    assert "Publish for a 7-day notice" in page
    client.post(f"/vouchers/claims/{submitted.id}/publish")
    db.session.expire_all()
    claim = db.session.get(SettlementClaim, submitted.id)
    assert claim.status == ClaimStatus.PUBLICISED
    assert claim.notice_until == claims.today() + timedelta(days=7)
    # the public notice lists it, with the firm served, without signing in
    client.post("/account/signout")
    notices = client.get("/vouchers/notices").get_data(as_text=True)
    assert "2026年苏州科技创新券" in notices and "苏州精密制造有限公司" in notices
    assert "400.00" in notices and claim.notice_until.isoformat() in notices
    login_as(officer)
    response = client.post(f"/vouchers/claims/{claim.id}/approve", follow_redirects=True)
    assert "The public notice ends on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SettlementClaim, claim.id).status == ClaimStatus.PUBLICISED
    claim = db.session.get(SettlementClaim, claim.id)
    claim.notice_until = claims.today()  # the notice period is over
    db.session.commit()
    client.post(f"/vouchers/claims/{claim.id}/approve")
    db.session.expire_all()
    assert db.session.get(SettlementClaim, claim.id).status == ClaimStatus.APPROVED
    assert "2026年苏州科技创新券" not in client.get("/vouchers/notices").get_data(as_text=True)
    bad = client.post(
        f"/vouchers/claims/{claim.id}/pay",
        data={"paid_date": (clock.today() + timedelta(days=3)).isoformat(), "reference": "X"},
        follow_redirects=True,
    )
    assert "The payment date is in the future." in bad.get_data(as_text=True)
    client.post(
        f"/vouchers/claims/{claim.id}/pay",
        data={"paid_date": clock.today().isoformat(), "reference": "苏科券兑2026-018"},
    )
    db.session.expire_all()
    claim = db.session.get(SettlementClaim, claim.id)
    assert (claim.status, claim.paid_date, claim.payment_reference) == (
        ClaimStatus.PAID,
        clock.today(),
        "苏科券兑2026-018",
    )
    lab_texts = db.session.scalars(
        sa.select(Notification.text).where(Notification.user_id == lab_manager.id)
    ).all()
    assert any("under public notice" in t for t in lab_texts)
    assert any("is approved" in t for t in lab_texts)
    assert any("has been paid: CN¥400.00" in t for t in lab_texts)
    mails = db.session.scalars(
        sa.select(OutboxMessage.subject).where(OutboxMessage.recipient == lab_manager.email)
    ).all()
    assert any("has been paid" in s for s in mails)
    actions = (
        db.session.execute(
            sa.text(
                "SELECT action FROM audit_entry WHERE object_type = 'settlement_claim' ORDER BY id"
            )
        )
        .scalars()
        .all()
    )
    assert [a for a in actions if a != "voucher.claim_document"] == [
        "voucher.claim_created",
        "voucher.claim_submitted",
        "voucher.claim_publicised",
        "voucher.claim_approved",
        "voucher.claim_paid",
    ]


def test_rejected_claim_releases_its_uses(client, db, submitted, officer, lab_manager, login_as):
    login_as(officer)
    response = client.post(
        f"/vouchers/claims/{submitted.id}/reject", data={"reason": ""}, follow_redirects=True
    )
    assert "Give the reason for the refusal." in response.get_data(as_text=True)
    client.post(f"/vouchers/claims/{submitted.id}/reject", data={"reason": "服务报告未盖章"})
    db.session.expire_all()
    claim = db.session.get(SettlementClaim, submitted.id)
    assert (claim.status, claim.reject_reason, claim.uses) == (
        ClaimStatus.REJECTED,
        "服务报告未盖章",
        [],
    )
    login_as(lab_manager)
    page = client.get("/vouchers/claims").get_data(as_text=True)
    use = db.session.scalar(sa.select(VoucherUse))
    assert use.claim_id is None and f'value="{use.id}"' in page


def test_others_cannot_see_or_act_on_a_claim(
    client, db, submitted, make_org, make_user, login_as, buyer, lab_manager, officer
):
    other_lab = make_org(kind=OrgKind.LAB)
    other_authority = make_org(kind=OrgKind.AUTHORITY)
    doc = submitted.documents[0]
    for outsider in (make_user(other_lab), make_user(other_authority), buyer):
        login_as(outsider)
        assert client.get(f"/vouchers/claims/{submitted.id}").status_code == 404
        assert client.get(f"/vouchers/claims/{submitted.id}/documents/{doc.id}").status_code == 404
        for action in ("publish", "approve", "reject", "submit", "discard"):
            assert (
                client.post(f"/vouchers/claims/{submitted.id}/{action}", data={"reason": "x"})
            ).status_code == 404
        assert (
            upload(client, submitted.id, "contract", pdf_bytes(), follow=False).status_code == 404
        )
    # a plain member of the lab neither
    login_as(make_user(submitted.lab, role=Role.MEMBER))
    assert client.get(f"/vouchers/claims/{submitted.id}").status_code == 404
    # each side only takes its own actions
    login_as(lab_manager)
    assert client.post(f"/vouchers/claims/{submitted.id}/publish").status_code == 403
    login_as(officer)
    assert client.post(f"/vouchers/claims/{submitted.id}/discard").status_code == 403
    db.session.expire_all()
    claim = db.session.get(SettlementClaim, submitted.id)
    assert claim.status == ClaimStatus.SUBMITTED and len(claim.uses) == 1
    assert db.session.scalar(sa.select(sa.func.count(ClaimDocument.id))) == 4


def test_only_paid_and_completed_orders_are_claimable(
    client, db, quota, invoice, buyer, lab_manager, login_as
):
    from sharehub.vouchers import services

    use = services.use_voucher(buyer, quota, invoice)
    db.session.commit()
    login_as(lab_manager)
    assert invoice.number not in client.get("/vouchers/claims").get_data(as_text=True)
    response = client.post(
        "/vouchers/claims/new",
        data={"programme_id": quota.programme_id, "use_ids": [use.id]},
        follow_redirects=True,
    )
    assert "can no longer be claimed" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SettlementClaim.id))) == 0


def test_a_draft_is_discarded(client, db, served_use, lab_manager, login_as):
    login_as(lab_manager)
    claim = start_claim(client, served_use)
    client.post(f"/vouchers/claims/{claim.id}/discard")
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(SettlementClaim.id))) == 0
    assert db.session.get(VoucherUse, served_use.id).claim_id is None
