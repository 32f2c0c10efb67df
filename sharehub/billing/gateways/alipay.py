"""Alipay (支付宝) through its official SDK (alipay-sdk-python), into the lab's own account.

Computer-website pay (alipay.trade.page.pay) sends the customer to Alipay; face-to-face
precreate (alipay.trade.precreate) gives a QR code to scan with the phone. Notifications
are verified as Alipay documents them: every parameter but `sign` and `sign_type`, empty
ones left out, sorted, joined as k=v with &, checked with SHA256withRSA against the Alipay
public key the lab entered. The SDK checks its answers' signatures itself. The address is
`ALIPAY_SERVER_URL` (tests point it at a local stand-in).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal, InvalidOperation

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Response, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """The app private key as Alipay's key tool writes it: PEM, or the bare base64 of a
    PKCS#8 or PKCS#1 key."""
    text = text.strip()
    try:
        if text.startswith("-----"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            try:
                key = serialization.load_der_private_key(der, password=None)
            except ValueError:
                pem = b"-----BEGIN RSA PRIVATE KEY-----\n" + base64.encodebytes(der)
                key = serialization.load_pem_private_key(
                    pem + b"-----END RSA PRIVATE KEY-----\n", password=None
                )
    except (ValueError, TypeError):
        raise GatewayError(_("The app private key cannot be read.")) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GatewayError(_("The app private key cannot be read."))
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    text = text.strip()
    try:
        if text.startswith("-----"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(
                base64.b64decode("".join(text.split()), validate=True)
            )
    except (ValueError, TypeError):
        raise GatewayError(_("The Alipay public key cannot be read.")) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise GatewayError(_("The Alipay public key cannot be read."))
    return key


def sign_content(params: dict) -> str:
    """The documented text to verify: all parameters but sign and sign_type, empty ones
    left out, sorted by name, k=v joined with &."""
    return "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in ("sign", "sign_type") and value not in (None, "")
    )


def verify_rsa2(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True),
            content.encode("utf-8"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text: str | None) -> int:
    try:
        value = Decimal(str(text or "0").strip()) * 100
    except InvalidOperation:
        return -1
    return int(value) if value == value.to_integral_value() else -1


@register
class AlipayGateway(Gateway):
    kind = GatewayKind.ALIPAY
    channels = ("qr", "page")
    merchant_id_label = _l("APPID")
    fields = (
        CredentialField(
            "app_private_key",
            _l("App private key (应用私钥, RSA2)"),
            multiline=True,
        ),
        CredentialField(
            "alipay_public_key",
            _l("Alipay public key (支付宝公钥)"),
            multiline=True,
        ),
    )

    def _client(self):
        from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
        from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient

        secrets = self.account.secrets()
        private = load_private_key(secrets.get("app_private_key", ""))
        public = load_public_key(secrets.get("alipay_public_key", ""))
        config = AlipayClientConfig()
        config.server_url = current_app.config["ALIPAY_SERVER_URL"]
        config.app_id = self.account.merchant_id
        config.sign_type = "RSA2"
        config.timeout = int(current_app.config.get("ALIPAY_TIMEOUT", 15))
        config.app_private_key = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        config.alipay_public_key = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return DefaultAlipayClient(config)  # no logger: its request log holds the signature

    def _call(self, request) -> dict:
        """One API call; the answer's inner object, its signature checked by the SDK.

        The SDK signs the request (`sdk_execute`), but it is sent here rather than by the
        SDK's `execute`: the SDK's HTTP helper (WebUtils.get_http_connection) drops any port
        from the gateway's address, so it could reach nothing but port 443. The answer then
        goes through the SDK's own parser, which checks Alipay's signature. Errors never
        carry the SDK's text (it quotes whole requests and answers)."""
        import urllib.error
        import urllib.request

        from alipay.aop.api.exception.Exception import RequestException, ResponseException

        client = self._client()
        try:
            body = client.sdk_execute(request).encode("utf-8")
        except RequestException:
            raise GatewayError(_("The app private key cannot be read.")) from None
        http = urllib.request.Request(
            current_app.config["ALIPAY_SERVER_URL"],
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(
                http, timeout=int(current_app.config.get("ALIPAY_TIMEOUT", 15))
            ) as answer:
                raw = answer.read()
        except (urllib.error.URLError, OSError):
            raise GatewayError(_("Alipay cannot be reached."), transient=True) from None
        try:
            content = client._DefaultAlipayClient__parse_response(raw)
        except ResponseException as exc:
            if "sign verify failed" in str(exc):
                raise GatewayError(
                    _("Alipay's answer is not signed with the Alipay public key entered.")
                ) from None
            raise GatewayError(_("Alipay answered with an error."), transient=True) from None
        try:
            return json.loads(content)
        except (TypeError, ValueError):
            raise GatewayError(_("Alipay answered with an error."), transient=True) from None

    @staticmethod
    def _refusal(answer: dict) -> GatewayError:
        sub = answer.get("sub_code", "")
        if sub == "isv.invalid-signature":
            return GatewayError(
                _("Alipay refused the request's signature: check the app private key.")
            )
        if sub in ("isv.invalid-app-id", "isv.app-unbind-partner"):
            return GatewayError(_("Alipay does not know this APPID."))
        return GatewayError(
            _("Alipay refused the request (%(code)s).", code=sub or answer.get("code", ""))
        )

    def start(self, attempt, channel, notify_url, return_url) -> Started:
        subject = f"ShareHub {attempt.invoice.number or attempt.invoice.id}"
        if channel == "page":
            from alipay.aop.api.domain.AlipayTradePagePayModel import AlipayTradePagePayModel
            from alipay.aop.api.request.AlipayTradePagePayRequest import AlipayTradePagePayRequest

            model = AlipayTradePagePayModel()
            model.out_trade_no = attempt.out_trade_no
            model.total_amount = yuan(attempt.amount_fen)
            model.subject = subject
            model.product_code = "FAST_INSTANT_TRADE_PAY"
            model.timeout_express = f"{current_app.config.get('ONLINE_PAYMENT_MINUTES', 15)}m"
            request = AlipayTradePagePayRequest(biz_model=model)
            request.notify_url, request.return_url = notify_url, return_url
            url = self._client().page_execute(request, http_method="GET")
            return Started(redirect_url=url)
        from alipay.aop.api.domain.AlipayTradePrecreateModel import AlipayTradePrecreateModel
        from alipay.aop.api.request.AlipayTradePrecreateRequest import AlipayTradePrecreateRequest

        model = AlipayTradePrecreateModel()
        model.out_trade_no = attempt.out_trade_no
        model.total_amount = yuan(attempt.amount_fen)
        model.subject = subject
        model.timeout_express = f"{current_app.config.get('ONLINE_PAYMENT_MINUTES', 15)}m"
        request = AlipayTradePrecreateRequest(biz_model=model)
        request.notify_url = notify_url
        answer = self._call(request)
        if answer.get("code") != "10000" or not answer.get("qr_code"):
            raise self._refusal(answer)
        return Started(code_url=answer["qr_code"])

    def verify_notification(self, request) -> Notification:
        params = request.form.to_dict()
        signature = params.get("sign", "")
        if not signature or params.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRefused("unsigned")
        try:
            public = load_public_key(self.account.secrets().get("alipay_public_key", ""))
        except GatewayError:
            raise NotificationRefused("no key") from None
        if not verify_rsa2(public, sign_content(params), signature):
            raise NotificationRefused("signature")
        if params.get("app_id") != self.account.merchant_id:
            raise NotificationRefused("app id")
        return self._note(params, params.get("notify_id", ""))

    def _note(self, params: dict, event: str) -> Notification:
        state = params.get("trade_status", "")
        status = (
            "paid"
            if state in PAID
            else "closed"
            if state == "TRADE_CLOSED"
            else "pending"
            if state == "WAIT_BUYER_PAY"
            else "unknown"
        )
        return Notification(
            event_id=event,
            out_trade_no=params.get("out_trade_no", ""),
            status=status,
            trade_no=params.get("trade_no", ""),
            amount_fen=fen(params.get("total_amount")),
            currency=params.get("trans_currency") or "CNY",
            merchant_id=params.get("app_id", self.account.merchant_id),
            payload={k: v for k, v in params.items() if k != "sign"},
        )

    def acknowledge(self, ok: bool):
        return Response("success" if ok else "failure", mimetype="text/plain")

    def query(self, attempt) -> Notification:
        from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
        from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest

        model = AlipayTradeQueryModel()
        model.out_trade_no = attempt.out_trade_no
        answer = self._call(AlipayTradeQueryRequest(biz_model=model))
        if answer.get("code") == "40004" and answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            # A precreated order exists at Alipay only once the customer scanned it.
            return Notification(event_id="", out_trade_no=attempt.out_trade_no, status="pending")
        if answer.get("code") != "10000":
            raise self._refusal(answer)
        return self._note({"app_id": self.account.merchant_id, **answer}, "query")

    def close(self, attempt) -> None:
        from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
        from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest

        model = AlipayTradeCloseModel()
        model.out_trade_no = attempt.out_trade_no
        answer = self._call(AlipayTradeCloseRequest(biz_model=model))
        if answer.get("code") != "10000" and answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise self._refusal(answer)

    def refund(self, attempt, amount_fen: int, out_request_no: str) -> RefundAnswer:
        from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
        from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest

        model = AlipayTradeRefundModel()
        model.out_trade_no = attempt.out_trade_no
        model.refund_amount = yuan(amount_fen)
        model.out_request_no = out_request_no
        answer = self._call(AlipayTradeRefundRequest(biz_model=model))
        if answer.get("code") != "10000":
            error = self._refusal(answer)
            return RefundAnswer(status="failed", failure=str(error))
        return RefundAnswer(status="succeeded", ref=f"alipay:{out_request_no}")

    def test_connection(self) -> tuple[bool, str]:
        """A query for an order that does not exist: Alipay answers "no such trade" only
        to a request signed with the right app key, in an answer signed with the key
        entered as Alipay's."""
        from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
        from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest

        model = AlipayTradeQueryModel()
        model.out_trade_no = "SHAREHUB-CONNECTION-TEST"
        try:
            answer = self._call(AlipayTradeQueryRequest(biz_model=model))
        except GatewayError as exc:
            return False, str(exc)
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST" or answer.get("code") == "10000":
            return True, _("Alipay accepted the keys.")
        return False, str(self._refusal(answer))
