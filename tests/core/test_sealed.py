"""Sealed values: the database holds ciphertext, code sees the value, a changed one is refused."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from sharehub.core.sealed import SealError, seal, unseal


def test_a_sealed_value_round_trips_and_does_not_contain_the_secret(app, db):
    token = seal("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-private")
    assert "private" not in token
    assert unseal(token) == "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-private"


def test_a_changed_or_foreign_value_is_refused(app, db):
    token = seal("key")
    with pytest.raises(SealError):
        unseal(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    with pytest.raises(SealError):
        unseal(Fernet(Fernet.generate_key()).encrypt(b"key").decode())


def test_keys_rotate_the_first_seals_and_all_unseal(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "CREDENTIALS_KEY", "")
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["CREDENTIALS_KEY"] = old
    sealed_with_old = seal("merchant")
    app.config["CREDENTIALS_KEY"] = f"{new},{old}"
    assert unseal(sealed_with_old) == "merchant"
    app.config["CREDENTIALS_KEY"] = new
    with pytest.raises(SealError):
        unseal(sealed_with_old)


def test_production_without_a_key_refuses_with_the_setting_to_use(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "CREDENTIALS_KEY", "")
    with pytest.raises(SealError, match="SHAREHUB_CREDENTIALS_KEY"):
        seal("merchant")
