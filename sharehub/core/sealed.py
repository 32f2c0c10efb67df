"""Secrets kept in the database (a lab's merchant keys): sealed with a key from the environment.

`seal` and `unseal` use Fernet (AES-128-CBC with an HMAC-SHA256 tag), so a sealed value read
from a backup or a database dump is useless without ``SHAREHUB_CREDENTIALS_KEY``, and a value
changed in the database is refused rather than used. Development and tests derive a key from
``SECRET_KEY`` so they run without setup; production must set its own key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy.types import Text, TypeDecorator


class SealError(RuntimeError):
    """A sealed value cannot be made or read (no key, wrong key, or changed)."""


def _fernet_key(text: str) -> bytes:
    """Accepts a Fernet key as printed by ``Fernet.generate_key()``, or any passphrase."""
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _keys() -> MultiFernet:
    config = current_app.config
    configured = (config.get("CREDENTIALS_KEY") or "").strip()
    if configured:
        # Several keys separated by commas: the first seals, all unseal (key rotation).
        texts = [part for part in configured.split(",") if part.strip()]
    elif config.get("ENV_NAME") == "production":
        raise SealError(
            "SHAREHUB_CREDENTIALS_KEY is not set: merchant credentials cannot be stored or used "
            'until it is (python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())").'
        )
    else:
        texts = ["sharehub-credentials:" + str(config.get("SECRET_KEY") or "")]
    return MultiFernet([Fernet(_fernet_key(text)) for text in texts])


def seal(value: str) -> str:
    return _keys().encrypt(value.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str:
    try:
        return _keys().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SealError("a sealed value cannot be read with the configured key") from exc


class Sealed(TypeDecorator):
    """A text column stored sealed; Python code sees the plain value."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)
