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

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Response, current_app, has_request_context, url_for
from flask import request as flask_request
from flask_babel import lazy_gettext as _l
from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]
from wechatpayv3.core import Core  # type: ignore[import-untyped]

from sharehub.billing.gateways.base import (
    CredentialField,
    Gateway,
    GatewayError,
    Notification,
    NotificationRefused,
    RefundAnswer,
    Started,
    register,
)
from sharehub.billing.models import GatewayKind

OFFICIAL_API = "https://api.mch.weixin.qq.com"
H5_ORIGIN = "https://wx.tenpay.com"  # where WeChat Pay's h5_url points
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
class WeChatNotification:
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

    def parse_notification(self, headers: Any, body: bytes | str) -> WeChatNotification:
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
        return WeChatNotification(
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


# --- the lab's merchant account as a ShareHub gateway ------------------------------------

# One client per account and credentials: in certificate mode building one downloads the
# platform certificates, which WeChat Pay does not want on every request.
_CLIENTS: dict[tuple, WeChatPayClient] = {}

PAID_STATES = ("SUCCESS", "REFUND")
CLOSED_STATES = ("CLOSED", "REVOKED", "PAYERROR")


def _safe_error(exc: WeChatPayError) -> GatewayError:
    """What the lab manager reads: our words for the codes a setting can cause, WeChat
    Pay's code otherwise. Never WeChat Pay's text verbatim (it may quote the request)."""
    messages = {
        "SIGN_ERROR": _l(
            "WeChat Pay refused the request's signature: check the merchant private key "
            "and its certificate serial number."
        ),
        "APPID_MCHID_NOT_MATCH": _l("WeChat Pay says this AppID does not belong to the merchant."),
        "MCH_NOT_EXISTS": _l("WeChat Pay does not know this merchant number."),
        "SIGNATURE": _l(
            "WeChat Pay's answer is not signed with the platform key or certificate entered."
        ),
        "NO_PLATFORM_CERTIFICATE": _l(
            "The platform certificates cannot be downloaded and decrypted: check the API v3 key."
        ),
        "PRIVATE_KEY": _l("The merchant private key cannot be read."),
        "PUBLIC_KEY": _l("The platform public key cannot be read."),
        "NETWORK": _l("WeChat Pay cannot be reached."),
        "APIV3_KEY": _l(
            "The platform certificates do not decrypt with the API v3 key entered: check it."
        ),
        "ORDERPAID": _l("WeChat Pay says this order is already paid."),
        "NOT_ENOUGH": _l(
            "WeChat Pay says the amount to refund exceeds what is left of the payment."
        ),
    }
    message = messages.get(exc.code)
    if message is None:
        message = _l("WeChat Pay refused the request (%(code)s).", code=exc.code[:40])
    return GatewayError(str(message), transient=exc.transient)


@register
class WeChatPayGateway(Gateway):
    kind = GatewayKind.WECHAT_PAY
    channels = ("qr", "h5")
    merchant_id_label = _l("Merchant number (商户号)")
    fields = (
        CredentialField("appid", _l("AppID (应用ID)"), secret=False),
        CredentialField("apiv3_key", _l("API v3 key (APIv3密钥)")),
        CredentialField(
            "cert_serial_no", _l("Merchant certificate serial number (证书序列号)"), secret=False
        ),
        CredentialField(
            "private_key", _l("Merchant private key (apiclient_key.pem)"), multiline=True
        ),
        CredentialField(
            "platform_public_key_id",
            _l("Platform public key ID (PUB_KEY_ID_…)"),
            secret=False,
            required=False,
            help=_l("Leave both platform fields blank to use the platform certificates."),
        ),
        CredentialField(
            "platform_public_key",
            _l("Platform public key (pub_key.pem)"),
            # Not secret, but a whole PEM block as the "set" hint says nothing useful.
            secret=True,
            multiline=True,
            required=False,
        ),
    )

    def credentials(self) -> Credentials:
        def entered(name: str) -> str:
            # A browser sends a textarea's lines ended with CR LF; the library's PEM
            # reader wants LF ("-----BEGIN PRIVATE KEY-----\n").
            value = str(self.account.secrets().get(name) or "")
            return value.replace("\r\n", "\n").replace("\r", "\n").strip()

        return Credentials(
            mchid=self.account.merchant_id,
            appid=entered("appid"),
            apiv3_key=entered("apiv3_key"),
            cert_serial_no=entered("cert_serial_no").upper(),
            private_key=entered("private_key"),
            platform_public_key=entered("platform_public_key"),
            platform_public_key_id=entered("platform_public_key_id"),
            api_base=current_app.config.get("WECHATPAY_API_BASE") or OFFICIAL_API,
        )

    def client(self, notify_url: str | None = None) -> WeChatPayClient:
        credentials = self.credentials()
        if bool(credentials.platform_public_key) != bool(credentials.platform_public_key_id):
            raise GatewayError(
                str(_l("Enter both the platform public key and its ID, or neither."))
            )
        if len(credentials.apiv3_key.encode()) != 32:
            raise GatewayError(str(_l("The API v3 key has 32 characters.")))
        fingerprint = hashlib.sha256(json.dumps(vars(credentials), sort_keys=True).encode())
        key = (self.account.id, fingerprint.hexdigest())
        client = _CLIENTS.get(key)
        if client is None:
            try:
                client = WeChatPayClient(credentials)
            except WeChatPayError as exc:
                raise _safe_error(exc) from None
            if len(_CLIENTS) > 64:
                _CLIENTS.clear()
            _CLIENTS[key] = client
        return client

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except WeChatPayError as exc:
            raise _safe_error(exc) from None

    def start(self, attempt, channel, notify_url, return_url) -> Started:
        client = self.client()
        description = f"ShareHub {attempt.invoice.number or attempt.invoice.id}"
        attach = f"statement:{attempt.invoice_id}"
        if channel == "h5":
            ip = flask_request.remote_addr if has_request_context() else ""
            url = self._call(
                client.h5,
                attempt.out_trade_no,
                description,
                attempt.amount_fen,
                attempt.expires_dt,
                attach,
                ip or "127.0.0.1",
                notify_url=notify_url,
            )
            return Started(redirect_url=_with_redirect(url, return_url))
        code_url = self._call(
            client.native,
            attempt.out_trade_no,
            description,
            attempt.amount_fen,
            attempt.expires_dt,
            attach,
            notify_url=notify_url,
        )
        return Started(code_url=code_url)

    def verify_notification(self, request) -> Notification:
        try:
            note = self.client().parse_notification(request.headers, request.get_data())
        except NotificationError as exc:
            raise NotificationRefused(exc.reason) from None
        except GatewayError as exc:
            raise NotificationRefused("credentials") from exc
        resource = note.resource
        if str(resource.get("mchid", "")) != self.account.merchant_id:
            raise NotificationRefused("another merchant")
        if note.is_refund:
            refund = note.refund()
            return Notification(
                event_id=note.id,
                out_trade_no=refund.out_trade_no,
                status="refund succeeded" if refund.status == "SUCCESS" else "refund failed",
                trade_no=refund.out_refund_no,
                amount_fen=refund.refund,
                merchant_id=refund.mchid,
                payload={"event_type": note.event_type, **resource},
            )
        if str(resource.get("appid", "")) != self.credentials().appid:
            raise NotificationRefused("another app")
        return self._note(note.transaction(), note.id, resource)

    def _note(self, found: Transaction, event: str, payload: dict) -> Notification:
        status = (
            "paid"
            if found.state in PAID_STATES
            else "closed"
            if found.state in CLOSED_STATES
            else "pending"
        )
        return Notification(
            event_id=event,
            out_trade_no=found.out_trade_no,
            status=status,
            trade_no=found.transaction_id,
            amount_fen=found.total,
            currency=found.currency,
            merchant_id=found.mchid,
            payload={k: v for k, v in payload.items() if k != "payer"},
        )

    def acknowledge(self, ok: bool):
        """WeChat Pay: 200 or 204 without a body is "received"; anything else, with the
        JSON code and message, makes it send the notification again (for about a day)."""
        if ok:
            return Response(status=204)
        return Response(
            json.dumps(FAILURE_ANSWER, ensure_ascii=False),
            status=400,
            mimetype="application/json",
        )

    def query(self, attempt) -> Notification:
        found = self._call(self.client().query, attempt.out_trade_no)
        if found is None:
            return Notification(event_id="", out_trade_no=attempt.out_trade_no, status="pending")
        if found.appid and found.appid != self.credentials().appid:
            raise GatewayError(
                str(_l("WeChat Pay says this AppID does not belong to the merchant."))
            )
        return self._note(found, "query", found.raw)

    def close(self, attempt) -> None:
        self._call(self.client().close, attempt.out_trade_no)

    def refund(self, attempt, amount_fen: int, out_request_no: str) -> RefundAnswer:
        notify = self._notify_url()
        try:
            made = self.client().refund(
                attempt.out_trade_no,
                out_request_no,
                amount_fen,
                attempt.amount_fen,
                reason=str(_l("Refund of a statement payment")),
                notify_url=notify,
            )
        except WeChatPayError as exc:
            error = _safe_error(exc)
            if error.transient:
                raise error from None
            return RefundAnswer(status="failed", failure=str(error))
        return RefundAnswer(
            status=REFUND_STATUS.get(made.status, "submitted"),
            ref=f"{self.kind.value}:{made.out_refund_no}",
        )

    def query_refund(self, attempt, out_request_no: str) -> Notification:
        """The refund query (GET /v3/refund/domestic/refunds/{out_refund_no}): its answer
        reads as the refund notification would, so either settles the refund once."""
        found = self._call(self.client().query_refund, out_request_no)
        if found is None or found.status not in REFUND_NEWS_OF:
            return Notification(
                event_id="",
                out_trade_no=attempt.out_trade_no,
                status="refund pending",
                trade_no=out_request_no,
            )
        return Notification(
            event_id="query",
            out_trade_no=found.out_trade_no or attempt.out_trade_no,
            status=REFUND_NEWS_OF[found.status],
            trade_no=found.out_refund_no,
            amount_fen=found.refund,
            merchant_id=found.mchid,
            payload={
                "out_refund_no": found.out_refund_no,
                "refund_id": found.refund_id,
                "refund_status": found.status,
            },
        )

    def _notify_url(self) -> str:
        """Refunds are sent after the commit or from the command line: the address is
        built from the site's public address, as mail links are."""
        with current_app.test_request_context(base_url=current_app.config["SERVER_BASE_URL"]):
            return url_for(
                "billing.gateway_notification",
                kind=self.kind.value,
                account_id=self.account.id,
                _external=True,
            )

    def test_connection(self) -> tuple[bool, str]:
        try:
            self._call(self.client().check)
        except GatewayError as exc:
            return False, str(exc)
        return True, str(_l("WeChat Pay accepted the keys."))


# A refund query's final states, as the refund notification names them.
REFUND_NEWS_OF = {
    "SUCCESS": "refund succeeded",
    "CLOSED": "refund failed",
    "ABNORMAL": "refund failed",
}
REFUND_STATUS = {
    "SUCCESS": "succeeded",
    "PROCESSING": "submitted",
    "CLOSED": "failed",
    "ABNORMAL": "failed",
}


def h5_origin() -> str:
    """Where an H5 payment's address leads (the statement page's form may go there):
    WeChat Pay's cashier, or the stand-in that answers in its place."""
    base = current_app.config.get("WECHATPAY_API_BASE") or OFFICIAL_API
    if base.rstrip("/") == OFFICIAL_API:
        return H5_ORIGIN
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def _with_redirect(h5_url: str, return_url: str) -> str:
    """WeChat Pay sends the phone back to `redirect_url` after an H5 payment."""
    if not return_url:
        return h5_url
    return f"{h5_url}&redirect_url={quote(return_url, safe='')}"
