"""WeChat Pay API v3 for a lab's own merchant account (direct mode, 直连商户), through the
``wechatpayv3`` library: Native (a QR code on the statement page), H5 (phones), the order
query, close, refunds and the notifications of payments and refunds.

The library has no setting for the gateway's address (``Core.__init__`` writes
``https://api.mch.weixin.qq.com`` into ``_gate_way`` and, in certificate mode, downloads the
platform certificates from it at once). ``_Core`` below only puts ``api_base`` there before
that first download; every request, signature and verification stays the library's. The
tests give ``api_base`` the local stand-in's address; production leaves it at the default.

Nothing here logs or repeats a credential: the library gets no logger (its debug log would
print the Authorization header), and errors carry WeChat Pay's code and message only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]
from wechatpayv3.core import Core  # type: ignore[import-untyped]

OFFICIAL_API = "https://api.mch.weixin.qq.com"
CST = timezone(timedelta(hours=8))
TIMEOUT = (5, 20)  # connect, read (seconds)
# WeChat Pay's codes that mean "try again later" rather than "this request is wrong".
TRANSIENT_CODES = {"SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANK_ERROR"}


class WeChatPayError(Exception):
    """WeChat Pay refused or could not be reached. ``code`` is WeChat Pay's (or NETWORK /
    SIGNATURE), ``message`` its own words; neither holds a credential."""

    def __init__(self, code: str, message: str, status: int = 0):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES or self.code == "NETWORK" or self.status >= 500


class NotificationError(Exception):
    """A notification that is not WeChat Pay's for this merchant, or cannot be read.
    ``reason`` is one of: signature, decrypt, format."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    """A lab's merchant credentials as the merchant settings hold them (unsealed).

    Platform verification: either the platform public key and its id (``PUB_KEY_ID_...``,
    WeChat Pay's scheme for merchants since 2024), or platform certificates (PEM, one or
    more), or neither, in which case the certificates are downloaded from /v3/certificates
    and decrypted with the API v3 key."""

    mchid: str
    appid: str
    apiv3_key: str
    cert_serial_no: str
    private_key: str
    platform_public_key: str = ""
    platform_public_key_id: str = ""
    platform_certificates: str = ""
    api_base: str = OFFICIAL_API

    def __repr__(self) -> str:  # never the keys, not even in a traceback's locals
        return f"Credentials(mchid={self.mchid!r}, appid={self.appid!r})"


@dataclass(frozen=True)
class Transaction:
    """What WeChat Pay says about one order (a query answer or a payment notification)."""

    out_trade_no: str
    state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, USERPAYING, PAYERROR, REVOKED
    mchid: str
    appid: str
    total: int
    currency: str
    transaction_id: str = ""
    success_dt: datetime | None = None
    attach: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def is_paid(self) -> bool:
        # REFUND: paid, then (partly) refunded; the payment stands.
        return self.state in ("SUCCESS", "REFUND")

    @classmethod
    def from_wechat(cls, data: dict) -> Transaction:
        amount = data.get("amount") or {}
        success = data.get("success_time")
        return cls(
            out_trade_no=str(data.get("out_trade_no", "")),
            state=str(data.get("trade_state", "")),
            mchid=str(data.get("mchid", "")),
            appid=str(data.get("appid", "")),
            total=int(amount.get("total") or 0),
            currency=str(amount.get("currency", "")),
            transaction_id=str(data.get("transaction_id", "")),
            success_dt=datetime.fromisoformat(success) if success else None,
            attach=str(data.get("attach", "")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Refund:
    out_refund_no: str
    out_trade_no: str
    refund_id: str
    status: str  # PROCESSING, SUCCESS, CLOSED, ABNORMAL
    refund: int
    total: int
    mchid: str = ""
    currency: str = "CNY"

    @classmethod
    def from_wechat(cls, data: dict) -> Refund:
        amount = data.get("amount") or {}
        return cls(
            out_refund_no=str(data.get("out_refund_no", "")),
            out_trade_no=str(data.get("out_trade_no", "")),
            refund_id=str(data.get("refund_id", "")),
            status=str(data.get("status") or data.get("refund_status") or ""),
            refund=int(amount.get("refund") or 0),
            total=int(amount.get("total") or 0),
            mchid=str(data.get("mchid", "")),
            currency=str(amount.get("currency") or "CNY"),
        )


@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    resource: dict = field(repr=False)

    @property
    def is_payment(self) -> bool:
        return self.event_type.startswith("TRANSACTION.")

    @property
    def is_refund(self) -> bool:
        return self.event_type.startswith("REFUND.")

    def transaction(self) -> Transaction:
        return Transaction.from_wechat(self.resource)

    def refund(self) -> Refund:
        return Refund.from_wechat(self.resource)


class _Core(Core):
    """The library's core with another gateway address; nothing else changes."""

    def __init__(self, *, api_base: str, certificates: str = "", **kwargs: Any):
        self._api_base = api_base.rstrip("/")
        self._known_certificates = certificates
        super().__init__(**kwargs)
        self._gate_way = self._api_base

    def _init_certificates(self) -> None:
        # Called from Core.__init__ right after it set the official address. Certificates
        # the merchant settings keep are loaded first; the library downloads only without.
        self._gate_way = self._api_base
        from wechatpayv3.utils import load_certificate  # type: ignore[import-untyped]

        for pem in _split_pem(self._known_certificates):
            cert = load_certificate(pem)
            if cert is not None:
                self._certificates.append(cert)
        super()._init_certificates()


class _WeChatPay(WeChatPay):
    """``WeChatPay`` built on ``_Core``: the same attributes its constructor sets (direct
    merchant mode), so every method of the library works unchanged."""

    def __init__(self, credentials: Credentials, notify_url: str | None):
        self._type = WeChatPayType.NATIVE
        self._mchid = credentials.mchid
        self._appid = credentials.appid
        self._notify_url = notify_url
        self._partner_mode = False
        self._core = _Core(
            api_base=credentials.api_base or OFFICIAL_API,
            mchid=credentials.mchid,
            cert_serial_no=credentials.cert_serial_no,
            private_key=credentials.private_key,
            apiv3_key=credentials.apiv3_key,
            timeout=TIMEOUT,
            public_key=credentials.platform_public_key or None,
            public_key_id=credentials.platform_public_key_id or None,
            certificates=credentials.platform_certificates,
        )


def _split_pem(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + end for part in text.split(end) if part.strip()]


def _answer(result: tuple[int, Any]) -> dict:
    status, text = result
    try:
        data = json.loads(text) if text else {}
    except (TypeError, ValueError):
        data = {}
    if not 200 <= status < 300:
        raise WeChatPayError(
            str(data.get("code") or f"HTTP_{status}"),
            str(data.get("message") or "")[:300],
            status,
        )
    return data


class WeChatPayClient:
    """One lab's merchant account. Each call is one HTTP request to WeChat Pay (after the
    platform certificates, in certificate mode, are downloaded once per client)."""

    def __init__(self, credentials: Credentials, notify_url: str | None = None):
        self.credentials = credentials
        try:
            self._pay = _WeChatPay(credentials, notify_url)
        except Exception as exc:  # the library raises bare Exception for bad keys too
            raise _wrap(exc) from None

    def _call(self, method, *args, **kwargs) -> dict:
        try:
            result = method(*args, **kwargs)
        except WeChatPayError:
            raise
        except Exception as exc:
            raise _wrap(exc) from None
        return _answer(result)

    def native(
        self,
        out_trade_no: str,
        description: str,
        total: int,
        expires_dt: datetime,
        attach: str,
        notify_url: str | None = None,
    ) -> str:
        """A Native order; returns its code_url (``weixin://...``) for the QR code."""
        data = self._call(
            self._pay.pay,
            notify_url=notify_url,
            description=description[:127],
            out_trade_no=out_trade_no,
            amount={"total": total, "currency": "CNY"},
            time_expire=expires_dt.astimezone(CST).isoformat(timespec="seconds"),
            attach=attach,
            pay_type=WeChatPayType.NATIVE,
        )
        return str(data.get("code_url") or "")

    def h5(
        self,
        out_trade_no: str,
        description: str,
        total: int,
        expires_dt: datetime,
        attach: str,
        client_ip: str,
        notify_url: str | None = None,
    ) -> str:
        """An H5 order (a phone's browser outside WeChat); returns the h5_url to send the
        customer to."""
        data = self._call(
            self._pay.pay,
            notify_url=notify_url,
            description=description[:127],
            out_trade_no=out_trade_no,
            amount={"total": total, "currency": "CNY"},
            time_expire=expires_dt.astimezone(CST).isoformat(timespec="seconds"),
            attach=attach,
            scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}},
            pay_type=WeChatPayType.H5,
        )
        return str(data.get("h5_url") or "")

    def query(self, out_trade_no: str) -> Transaction | None:
        """None when WeChat Pay has no such order (never created, or not yet)."""
        try:
            data = self._call(self._pay.query, out_trade_no=out_trade_no)
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        return Transaction.from_wechat(data)

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid order so its QR code can no longer be paid. A paid order stays
        paid (ORDERPAID is raised); an unknown one needs no closing."""
        try:
            self._call(self._pay.close, out_trade_no=out_trade_no)
        except WeChatPayError as exc:
            if exc.code != "ORDER_NOT_EXIST":
                raise

    def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        refund: int,
        total: int,
        reason: str = "",
        notify_url: str | None = None,
    ) -> Refund:
        """Full (refund == total) or partial. Sending the same out_refund_no again returns
        the refund already made, so a retry never refunds twice."""
        data = self._call(
            self._pay.refund,
            out_refund_no=out_refund_no,
            amount={"refund": refund, "total": total, "currency": "CNY"},
            out_trade_no=out_trade_no,
            reason=reason[:80] or None,
            notify_url=notify_url,
        )
        return Refund.from_wechat(data)

    def query_refund(self, out_refund_no: str) -> Refund | None:
        try:
            data = self._call(self._pay.query_refund, out_refund_no=out_refund_no)
        except WeChatPayError as exc:
            if exc.code in ("RESOURCE_NOT_EXISTS", "NOT_FOUND"):
                return None
            raise
        return Refund.from_wechat(data)

    def check(self) -> str:
        """Test the connection. The platform certificates' download is a signed request
        WeChat Pay must accept, its answer must carry the platform's signature (verified
        with the public key or certificate we hold) and its certificates must decrypt with
        the API v3 key: all four credentials in one harmless call. Where WeChat Pay serves
        no certificates (merchants on the platform public key only), an order query for a
        number that does not exist checks the request signature instead.

        An error answer alone proves little: the library verifies the signature of 2xx
        answers only, so "no such order" would pass with a wrong platform key."""
        from wechatpayv3.utils import aes_decrypt  # type: ignore[import-untyped]

        try:
            data = self._call(self._pay._core.request, "/v3/certificates")
        except WeChatPayError as exc:
            if exc.status not in (400, 403, 404):
                raise
            data = {}
        found = [item.get("encrypt_certificate") or {} for item in data.get("data") or []]
        if found:
            readable = [
                item
                for item in found
                if aes_decrypt(
                    nonce=str(item.get("nonce", "")),
                    ciphertext=str(item.get("ciphertext", "")),
                    associated_data=str(item.get("associated_data", "")),
                    apiv3_key=self.credentials.apiv3_key,
                )
            ]
            if not readable:
                raise WeChatPayError("APIV3_KEY", "")
            return "ok"
        try:
            self._call(self._pay.query, out_trade_no="SHAREHUBCHECK0000")
        except WeChatPayError as exc:
            if exc.code != "ORDER_NOT_EXIST":
                raise
        return "ok"

    def parse_notification(self, headers: Any, body: bytes | str) -> Notification:
        """Verify the platform's signature over the body, then decrypt the resource with the
        API v3 key (AES-256-GCM: a changed byte fails the tag). Raises NotificationError."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        headers = {key: value for key, value in dict(headers).items()}
        core = self._pay._core
        try:
            verified = core._verify_signature(headers, text)
        except Exception:  # unknown signature type, serial not hexadecimal, no certificates
            verified = False
        if not verified:
            raise NotificationError("signature")
        try:
            envelope = json.loads(text)
        except ValueError:
            raise NotificationError("format") from None
        try:
            plaintext = self._pay.decrypt_callback(headers, text)
        except Exception:  # an algorithm other than AEAD_AES_256_GCM, bad base64
            plaintext = None
        if not plaintext:
            raise NotificationError("decrypt")
        try:
            resource = json.loads(plaintext)
        except ValueError:
            raise NotificationError("format") from None
        if not isinstance(envelope, dict) or not isinstance(resource, dict):
            raise NotificationError("format")
        return Notification(
            id=str(envelope.get("id", ""))[:100],
            event_type=str(envelope.get("event_type", "")),
            resource=resource,
        )


def _wrap(exc: Exception) -> WeChatPayError:
    """The library's and requests' exceptions as WeChatPayError, without their text when it
    could hold a key (it does not today, but the text is not ours to trust)."""
    import requests

    if isinstance(exc, requests.RequestException):
        return WeChatPayError("NETWORK", type(exc).__name__)
    text = str(exc)
    known = {
        "failed to verify the signature": "SIGNATURE",
        "failed to load private key.": "PRIVATE_KEY",
        "failed to load public key.": "PUBLIC_KEY",
        "No wechatpay platform certificate, please double check your init params.": (
            "NO_PLATFORM_CERTIFICATE"
        ),
        "public_key_id or public_key is not assigned.": "PUBLIC_KEY",
    }
    return WeChatPayError(known.get(text, "CLIENT"), text if text in known else "")


FAILURE_ANSWER = {"code": "FAIL", "message": "失败"}
