"""Sign-up of enterprises and labs through HTTP: what is stored, mailed and refused."""

import io

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import Organisation, OrgDocument, OrgKind, OrgStatus, User
from sharehub.core.models import AuditEntry
from tests.conftest import make_credit_code, pdf_bytes, png_bytes


def signup_data(city, cluster=None, **overrides):
    data = {
        "kind": "enterprise",
        "org_name": "苏州精测材料科技有限公司",
        "org_name_en": "Suzhou Precision Materials Co., Ltd.",
        "credit_code": make_credit_code(424242),
        "region_id": str(city.id),
        "cluster_id": str(cluster.id) if cluster else "",
        "contact_name": "李娜",
        "contact_phone": "0512-66889900",
        "name": "李娜",
        "email": "Li.Na@Example.cn",
        "phone": "13800000000",
        "password": "a-long-enough-secret",
        "password2": "a-long-enough-secret",
    }
    data.update(overrides)
    return data


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_enterprise_signup_creates_active_org_owner_and_sends_confirmation(
    client, db, city, cluster, mailbox
):
    response = client.post("/account/signup", data=signup_data(city, cluster))
    assert response.status_code == 200
    assert "li.na@example.cn" in response.get_data(as_text=True)

    user = db.session.scalar(sa.select(User).where(User.email == "li.na@example.cn"))
    assert user is not None and not user.is_verified
    org = user.memberships[0].organisation
    assert org.kind == OrgKind.ENTERPRISE and org.status == OrgStatus.ACTIVE
    assert org.cluster_id == cluster.id and org.region_id == city.id
    assert user.memberships[0].role.value == "owner"
    assert user.password_hash.startswith("scrypt:")
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"organisation.registered", "user.signed_up"} <= actions

    mail = mailbox.last_to("li.na@example.cn")
    assert "/account/verify/" in mailbox.body(mail)


def test_lab_signup_stores_documents_outside_static_and_waits_for_admission(
    client, db, city, storage_dir, app
):
    data = signup_data(
        city,
        kind="lab",
        org_name="国家某质量标准实验室",
        cnas_number="cnas l1234",
        cma_number="221012345678",
        host_name="苏州大学",
    )
    data["documents"] = [
        (io.BytesIO(pdf_bytes()), "CNAS证书.pdf"),
        (io.BytesIO(png_bytes()), "cma.png"),
    ]
    response = client.post("/account/signup", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    org = db.session.scalar(
        sa.select(Organisation).where(Organisation.name == "国家某质量标准实验室")
    )
    assert org.status == OrgStatus.PENDING
    assert org.cnas_number == "CNAS L1234"
    docs = org.documents
    assert [d.content_type for d in docs] == ["application/pdf", "image/png"]
    assert docs[0].original_name == "CNAS证书.pdf"
    for doc in docs:
        assert (storage_dir / doc.stored_name).exists()
        assert "CNAS" not in doc.stored_name and len(doc.stored_name) >= 32
    assert not str(storage_dir).startswith(app.static_folder)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"credit_code": "91320500MA00000019"}, "credit code"),
        ({"credit_code": "short"}, "18 characters"),
        ({"password": "short", "password2": "short"}, "10"),
        ({"password2": "something-else-entirely"}, "differ"),
        ({"email": "not-an-email"}, "email"),
        ({"region_id": "999999"}, "choice"),
    ],
)
def test_bad_signup_input_is_refused_and_changes_nothing(client, db, city, overrides, message):
    client.get("/", headers={"Accept-Language": "en"})
    users_before = count(db, User)
    response = client.post(
        "/account/signup", data=signup_data(city, **overrides), headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert count(db, User) == users_before
    assert count(db, Organisation) == 0


def test_duplicate_email_and_credit_code_are_refused(client, db, city, make_org, make_user):
    org = make_org(credit_code=make_credit_code(777))
    make_user(org, email="taken@example.cn")
    headers = {"Accept-Language": "en"}
    response = client.post(
        "/account/signup", headers=headers, data=signup_data(city, email="TAKEN@example.cn")
    )
    assert response.status_code == 409  # the form again, with the conflict beside the field
    assert "already exists" in response.get_data(as_text=True)
    response = client.post(
        "/account/signup",
        headers=headers,
        data=signup_data(city, credit_code=make_credit_code(777)),
    )
    assert response.status_code == 409
    assert "already registered" in response.get_data(as_text=True)
    assert count(db, Organisation) == 1


def test_lab_without_accreditation_or_documents_is_refused(client, db, city):
    headers = {"Accept-Language": "en"}
    response = client.post("/account/signup", headers=headers, data=signup_data(city, kind="lab"))
    assert response.status_code == 400
    assert "accreditation number" in response.get_data(as_text=True)
    response = client.post(
        "/account/signup",
        headers=headers,
        data=signup_data(city, kind="lab", cnas_number="CNAS L1"),
    )
    assert response.status_code == 400
    assert "Upload at least one" in response.get_data(as_text=True)
    assert count(db, Organisation) == 0


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"MZ\x90\x00 this is an executable", "cert.pdf", "not a PDF, JPEG, PNG or WebP"),
        (b"GIF89a" + b"\x00" * 64, "cert.gif", "not a PDF, JPEG, PNG or WebP"),
        (b"%PDF-1.4 truncated", "cert.pdf", "incomplete or damaged"),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_fake_upload_is_refused_and_nothing_is_stored(
    client, db, city, storage_dir, payload, name, message
):
    before = set(storage_dir.iterdir()) if storage_dir.exists() else set()
    data = signup_data(city, kind="lab", cnas_number="CNAS L1")
    data["documents"] = [(io.BytesIO(payload), name)]
    response = client.post(
        "/account/signup",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db, Organisation) == 0 and count(db, OrgDocument) == 0
    after = set(storage_dir.iterdir()) if storage_dir.exists() else set()
    assert after == before


def test_oversize_upload_is_refused(client, db, city, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_DOCUMENT_BYTES", 100 * 1024)
    data = signup_data(city, kind="lab", cnas_number="CNAS L1")
    big = pdf_bytes() + b"0" * (app.config["MAX_DOCUMENT_BYTES"] + 10)
    data["documents"] = [(io.BytesIO(big), "big.pdf")]
    response = client.post(
        "/account/signup",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "larger than 100 KB" in response.get_data(as_text=True)
    assert count(db, Organisation) == 0


def test_request_over_total_limit_gets_a_clear_page(client, db, app):
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/account/signup",
        data=body,
        content_type="application/octet-stream",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 413
    assert "Nothing was saved" in response.get_data(as_text=True)


def test_signup_page_in_chinese_shows_translated_labels(client, db):
    html = client.get("/account/signup", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "统一社会信用代码" in html
