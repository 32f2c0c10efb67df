"""A local stand-in for the WeChat Pay API v3 (direct merchant mode), on 127.0.0.1.

It does what the real gateway does at the edges that matter to a merchant:
- every request must carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,
  timestamp=..,serial_no=..,signature=..`` signed with the merchant's private key over
  ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n``; a wrong key, serial, merchant, stale timestamp or
  reused nonce is answered 401 SIGN_ERROR;
- every answer is signed with the platform key (``Wechatpay-Timestamp/Nonce/Signature/Serial``),
  the serial being the platform certificate's, or the platform public key id when one is set;
- ``GET /v3/certificates`` gives the platform certificate encrypted with the API v3 key
  (AEAD_AES_256_GCM, associated data "certificate");
- Native and H5 orders, the query by out_trade_no or transaction id, close, refunds and the
  refund query, with WeChat Pay's error codes;
- payment and refund notifications (resource encrypted with the API v3 key, headers signed)
  sent to the order's notify_url or to an address the test gives.

Keys and certificates are made by the test and handed over in a JSON file. Control endpoints
under ``/_standin/`` (no signature) let a test pay an order, send or resend notifications
(also tampered ones), finish a refund and read the state.

Run as ``python -m tests.support.wechatpay_gateway PORT CONFIG.json``.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

SCHEME = "WECHATPAY2-SHA256-RSA2048"
CST = timezone(timedelta(hours=8))
# WeChat Pay wants https; the stand-in also takes the test client's and loopback addresses.
LOCAL_OR_HTTPS = ("https://", "http://127.0.0.1", "http://localhost")
OUT_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")


# --- keys and certificates (used by the tests to make them, and by the server) -------------


def make_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key: rsa.RSAPrivateKey, common_name: str, days: int = 365) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def serial_of(cert: x509.Certificate) -> str:
    """WeChat Pay writes certificate serials as upper-case hexadecimal."""
    return format(cert.serial_number, "X")


def sign(key, message: str) -> str:
    raw = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def verify(public_key, message: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict:
    nonce = secrets.token_urlsafe(9)[:12]
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext.encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


def signed_headers(platform_key, serial: str, body: str, timestamp: int | None = None) -> dict:
    timestamp = timestamp or int(time.time())
    nonce = secrets.token_hex(16).upper()
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(platform_key, f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SCHEME,
    }


# --- the server ----------------------------------------------------------------------------


class Gateway:
    """State and rules; the request handler below only translates HTTP to these calls."""

    def __init__(self, config: dict):
        self.mchid = config["mchid"]
        self.appid = config["appid"]
        self.apiv3_key = config["apiv3_key"]
        self.merchant_serial = config["merchant_serial"]
        self.merchant_public = x509.load_pem_x509_certificate(
            config["merchant_certificate"].encode()
        ).public_key()
        self.platform_key = serialization.load_pem_private_key(
            config["platform_key"].encode(), None
        )
        self.platform_certificate = config["platform_certificate"]
        cert = x509.load_pem_x509_certificate(self.platform_certificate.encode())
        self.platform_cert = cert
        self.platform_serial = serial_of(cert)
        self.public_key_id = config.get("public_key_id") or ""
        self.base = config["base"]
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.nonces: set[str] = set()
        self.requests: list[dict] = []
        self.delivered: list[dict] = []

    @property
    def answer_serial(self) -> str:
        return self.public_key_id or self.platform_serial

    # requests from the merchant

    def authenticate(self, method: str, url: str, body: str, header: str) -> str | None:
        """None when the request is the merchant's; otherwise WeChat Pay's 401 message."""
        if not header.startswith(SCHEME + " "):
            return "错误的签名方式"
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header[len(SCHEME) + 1 :]))
        missing = {"mchid", "nonce_str", "timestamp", "serial_no", "signature"} - fields.keys()
        if missing:
            return "Authorization 缺少 " + ", ".join(sorted(missing))
        if fields["mchid"] != self.mchid:
            return "商户号不存在或与签名不符"
        if fields["serial_no"].upper() != self.merchant_serial:
            return "商户证书序列号有误"
        try:
            stamp = int(fields["timestamp"])
        except ValueError:
            return "时间戳有误"
        if abs(time.time() - stamp) > 300:
            return "请求已过期"
        message = f"{method}\n{url}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body}\n"
        if not verify(self.merchant_public, message, fields["signature"]):
            return "签名错误"
        with self.lock:
            if fields["nonce_str"] in self.nonces:
                return "重复的请求"
            self.nonces.add(fields["nonce_str"])
        return None

    def certificates(self) -> tuple[int, dict]:
        cert = self.platform_cert
        return 200, {
            "data": [
                {
                    "serial_no": self.platform_serial,
                    "effective_time": rfc3339(cert.not_valid_before_utc),
                    "expire_time": rfc3339(cert.not_valid_after_utc),
                    "encrypt_certificate": encrypt(
                        self.apiv3_key, self.platform_certificate, "certificate"
                    ),
                }
            ]
        }

    def create(self, kind: str, data: dict) -> tuple[int, dict]:
        problem = self._order_problem(kind, data)
        if problem:
            return problem
        no = data["out_trade_no"]
        fields = {
            "description": data["description"],
            "amount": {"total": data["amount"]["total"], "currency": "CNY"},
            "notify_url": data["notify_url"],
            "time_expire": data.get("time_expire", ""),
            "attach": data.get("attach", ""),
            "trade_type": "NATIVE" if kind == "native" else "MWEB",
        }
        with self.lock:
            order = self.orders.get(no)
            if order is not None:
                if order["trade_state"] == "SUCCESS":
                    return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
                if order["trade_state"] == "CLOSED":
                    return 400, {"code": "ORDER_CLOSED", "message": "该订单已关闭"}
                same = all(order[key] == value for key, value in fields.items())
                if not same:
                    return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
            else:
                order = {
                    **fields,
                    "appid": data["appid"],
                    "mchid": data["mchid"],
                    "out_trade_no": no,
                    "prepay_id": "wx" + secrets.token_hex(14),
                    "trade_state": "NOTPAY",
                    "transaction_id": "",
                    "success_time": "",
                    "refunded": 0,
                }
                self.orders[no] = order
        if kind == "native":
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order['prepay_id'][2:14]}"}
        return 200, {"h5_url": f"{self.base}/h5/{no}?prepay_id={order['prepay_id']}"}

    def _order_problem(self, kind: str, data: dict) -> tuple[int, dict] | None:
        def param(message: str) -> tuple[int, dict]:
            return 400, {"code": "PARAM_ERROR", "message": message}

        for name in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount"):
            if not data.get(name):
                return param(f"输入源“/body/{name}”映射到值字段“{name}”字段必填")
        if data["mchid"] != self.mchid or data["appid"] != self.appid:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "AppID和mch_id不匹配"}
        if not OUT_NO.match(str(data["out_trade_no"])):
            return param("out_trade_no 格式有误")
        amount = data["amount"]
        if not isinstance(amount.get("total"), int) or amount["total"] <= 0:
            return param("订单金额必须为正整数（单位：分）")
        if amount.get("currency", "CNY") != "CNY":
            return param("境内商户号仅支持人民币 CNY")
        if not str(data["notify_url"]).startswith(LOCAL_OR_HTTPS):
            return param("notify_url 必须为 https 地址")
        if kind == "h5":
            scene = data.get("scene_info") or {}
            if not scene.get("payer_client_ip") or not (scene.get("h5_info") or {}).get("type"):
                return param("H5 下单需要 scene_info.payer_client_ip 与 h5_info.type")
        if data.get("time_expire"):
            try:
                datetime.fromisoformat(data["time_expire"])
            except ValueError:
                return param("time_expire 格式有误（RFC 3339）")
        return None

    def _expire(self, order: dict) -> None:
        if order["trade_state"] == "NOTPAY" and order["time_expire"]:
            if datetime.now(UTC) > datetime.fromisoformat(order["time_expire"]):
                order["trade_state"] = "CLOSED"

    def transaction(self, order: dict) -> dict:
        self._expire(order)
        state = order["trade_state"]
        answer = {
            "appid": order["appid"],
            "mchid": order["mchid"],
            "out_trade_no": order["out_trade_no"],
            "trade_type": order["trade_type"],
            "trade_state": state,
            "trade_state_desc": {
                "NOTPAY": "订单未支付",
                "SUCCESS": "支付成功",
                "CLOSED": "订单已关闭",
                "REFUND": "转入退款",
            }[state],
            "attach": order["attach"],
            "amount": {"total": order["amount"]["total"], "currency": "CNY"},
        }
        if order["transaction_id"]:
            answer.update(
                transaction_id=order["transaction_id"],
                bank_type="OTHERS",
                success_time=order["success_time"],
                payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            )
            answer["amount"].update(payer_total=order["amount"]["total"], payer_currency="CNY")
        return answer

    def query(self, no: str, by_transaction: bool, mchid: str) -> tuple[int, dict]:
        if mchid != self.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid 与请求方不符"}
        with self.lock:
            if by_transaction:
                order = next((o for o in self.orders.values() if o["transaction_id"] == no), None)
            else:
                order = self.orders.get(no)
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            return 200, self.transaction(order)

    def close(self, no: str, data: dict) -> tuple[int, dict | None]:
        if data.get("mchid") != self.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid 与请求方不符"}
        with self.lock:
            order = self.orders.get(no)
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if order["trade_state"] in ("SUCCESS", "REFUND"):
                return 400, {"code": "ORDERPAID", "message": "订单已支付，不能关闭"}
            order["trade_state"] = "CLOSED"
        return 204, None

    def refund(self, data: dict) -> tuple[int, dict]:
        for name in ("out_refund_no", "amount"):
            if not data.get(name):
                return 400, {"code": "PARAM_ERROR", "message": f"{name} 字段必填"}
        amount = data["amount"]
        with self.lock:
            order = self.orders.get(data.get("out_trade_no", "")) or next(
                (
                    o
                    for o in self.orders.values()
                    if o["transaction_id"] and o["transaction_id"] == data.get("transaction_id")
                ),
                None,
            )
            if order is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
            existing = self.refunds.get(data["out_refund_no"])
            if existing is not None:
                return 200, self._refund_view(existing)
            if order["trade_state"] not in ("SUCCESS", "REFUND"):
                return 400, {"code": "INVALID_REQUEST", "message": "订单未支付，不能退款"}
            if amount.get("currency", "CNY") != "CNY":
                return 400, {"code": "PARAM_ERROR", "message": "币种仅支持 CNY"}
            if amount.get("total") != order["amount"]["total"]:
                return 400, {"code": "PARAM_ERROR", "message": "订单金额与原订单不符"}
            wanted = amount.get("refund")
            if not isinstance(wanted, int) or wanted <= 0:
                return 400, {"code": "PARAM_ERROR", "message": "退款金额必须为正整数（单位：分）"}
            if wanted > order["amount"]["total"] - order["refunded"]:
                return 403, {"code": "NOT_ENOUGH", "message": "申请退款金额超过订单可退金额"}
            order["refunded"] += wanted
            order["trade_state"] = "REFUND"
            refund = {
                "refund_id": "50" + secrets.token_hex(14)[:26],
                "out_refund_no": data["out_refund_no"],
                "transaction_id": order["transaction_id"],
                "out_trade_no": order["out_trade_no"],
                "status": "PROCESSING",
                "create_time": rfc3339(datetime.now(UTC)),
                "success_time": "",
                "refund": wanted,
                "total": order["amount"]["total"],
                "notify_url": data.get("notify_url") or order["notify_url"],
                "reason": data.get("reason", ""),
            }
            self.refunds[data["out_refund_no"]] = refund
        return 200, self._refund_view(refund)

    def _refund_view(self, refund: dict) -> dict:
        view = {
            "refund_id": refund["refund_id"],
            "out_refund_no": refund["out_refund_no"],
            "transaction_id": refund["transaction_id"],
            "out_trade_no": refund["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": refund["create_time"],
            "status": refund["status"],
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund["total"],
                "refund": refund["refund"],
                "payer_total": refund["total"],
                "payer_refund": refund["refund"],
                "settlement_refund": refund["refund"],
                "settlement_total": refund["total"],
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if refund["success_time"]:
            view["success_time"] = refund["success_time"]
        return view

    def query_refund(self, no: str) -> tuple[int, dict]:
        with self.lock:
            refund = self.refunds.get(no)
            if refund is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
            return 200, self._refund_view(refund)

    # notifications to the merchant

    def notification(self, kind: str, resource: dict, summary: str) -> tuple[dict, str]:
        original = "refund" if kind.startswith("REFUND") else "transaction"
        body = json.dumps(
            {
                "id": "EV-" + secrets.token_hex(10),
                "create_time": rfc3339(datetime.now(UTC)),
                "resource_type": "encrypt-resource",
                "event_type": kind,
                "summary": summary,
                "resource": {
                    "original_type": original,
                    **encrypt(self.apiv3_key, json.dumps(resource, ensure_ascii=False), original),
                },
            },
            ensure_ascii=False,
        )
        return signed_headers(self.platform_key, self.answer_serial, body), body

    def pay(self, no: str) -> tuple[int, dict]:
        with self.lock:
            order = self.orders.get(no)
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            self._expire(order)
            if order["trade_state"] == "CLOSED":
                return 409, {"code": "ORDER_CLOSED", "message": "二维码已过期或订单已关闭"}
            if order["trade_state"] == "NOTPAY":
                order["trade_state"] = "SUCCESS"
                order["transaction_id"] = "42" + secrets.token_hex(13)[:26]
                order["success_time"] = rfc3339(datetime.now(UTC))
            return 200, self.transaction(order)

    def payment_notification(self, no: str) -> tuple[dict, str]:
        with self.lock:
            resource = self.transaction(self.orders[no])
        return self.notification("TRANSACTION.SUCCESS", resource, "支付成功")

    def finish_refund(self, no: str, status: str) -> None:
        with self.lock:
            refund = self.refunds[no]
            refund["status"] = status
            if status == "SUCCESS":
                refund["success_time"] = rfc3339(datetime.now(UTC))
            else:  # the money goes back to the merchant's balance
                self.orders[refund["out_trade_no"]]["refunded"] -= refund["refund"]

    def refund_notification(self, no: str) -> tuple[dict, str]:
        with self.lock:
            refund = self.refunds[no]
            resource = {
                "mchid": self.mchid,
                "out_trade_no": refund["out_trade_no"],
                "transaction_id": refund["transaction_id"],
                "out_refund_no": refund["out_refund_no"],
                "refund_id": refund["refund_id"],
                "refund_status": refund["status"],
                "user_received_account": "支付用户零钱",
                "amount": {
                    "total": refund["total"],
                    "refund": refund["refund"],
                    "payer_total": refund["total"],
                    "payer_refund": refund["refund"],
                },
            }
            if refund["success_time"]:
                resource["success_time"] = refund["success_time"]
        kind = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL"}.get(
            refund["status"], "REFUND.CLOSED"
        )
        return self.notification(
            kind, resource, "退款成功" if kind == "REFUND.SUCCESS" else "退款异常"
        )

    def deliver(self, url: str, headers: dict, body: str) -> dict:
        request = urllib.request.Request(
            url,
            data=body.encode(),
            headers={**headers, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                outcome = {"status": response.status, "body": response.read().decode()}
        except urllib.error.HTTPError as error:
            outcome = {"status": error.code, "body": error.read().decode()}
        except OSError as error:
            outcome = {"status": 0, "body": str(error)}
        with self.lock:
            self.delivered.append({"url": url, **outcome})
        return outcome


def tamper(body: str) -> str:
    """Flip one byte of the encrypted resource: the AES-GCM tag no longer matches."""
    data = json.loads(body)
    raw = bytearray(base64.b64decode(data["resource"]["ciphertext"]))
    raw[len(raw) // 2] ^= 0x01
    data["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(data, ensure_ascii=False)


class Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def _answer(self, status: int, payload: dict | None, sign_it: bool = True) -> None:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body.encode())))
        self.send_header("Request-ID", secrets.token_hex(16))
        if sign_it:
            for name, value in signed_headers(
                self.gateway.platform_key, self.gateway.answer_serial, body
            ).items():
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._dispatch("GET", "")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST", self._body())

    def _dispatch(self, method: str, body: str) -> None:
        gw = self.gateway
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/_standin/"):
            return self._control(path, json.loads(body or "{}"))
        if path.startswith("/h5/"):
            return self._h5_page(method, path[4:])
        refusal = gw.authenticate(method, self.path, body, self.headers.get("Authorization", ""))
        with gw.lock:
            gw.requests.append({"method": method, "path": path, "refused": refusal or False})
        if refusal:
            return self._answer(401, {"code": "SIGN_ERROR", "message": refusal})
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "请求体不是 JSON"})
        mchid = (query.get("mchid") or [""])[0]
        if method == "GET" and path == "/v3/certificates":
            return self._answer(*gw.certificates())
        if method == "POST" and path == "/v3/pay/transactions/native":
            return self._answer(*gw.create("native", data))
        if method == "POST" and path == "/v3/pay/transactions/h5":
            return self._answer(*gw.create("h5", data))
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path):
            return self._answer(*gw.close(match[1], data))
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path):
            return self._answer(*gw.query(match[1], False, mchid))
        if match := re.fullmatch(r"/v3/pay/transactions/id/([^/]+)", path):
            return self._answer(*gw.query(match[1], True, mchid))
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._answer(*gw.refund(data))
        if match := re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path):
            return self._answer(*gw.query_refund(match[1]))
        return self._answer(404, {"code": "NOT_FOUND", "message": "无此接口"})

    def _h5_page(self, method: str, rest: str) -> None:
        """WeChat Pay's H5 cashier, as far as a test needs it: the order and a Pay button
        that pays, sends the notification and goes back to the shop's redirect_url."""
        gw = self.gateway
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        no = rest.split("/")[0]
        back = (query.get("redirect_url") or [""])[0]
        if method == "POST":
            status, _answer = gw.pay(no)
            if status == 200:
                headers, body = gw.payment_notification(no)
                gw.deliver(gw.orders[no]["notify_url"], headers, body)
            self.send_response(303)
            self.send_header("Location", back or f"/h5/{no}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        order = gw.orders.get(no)
        if order is None:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, False)
        amount = order["amount"]["total"]
        action = html.escape(f"/h5/{no}?{parts.query}")
        body = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>微信支付</title>
<style>body{{font-family:sans-serif;margin:0;background:#ededed;color:#111}}
.box{{background:#fff;margin:1rem;padding:1.5rem;border-radius:8px;text-align:center}}
.amount{{font-size:2rem;font-weight:600}}button{{background:#07c160;color:#fff;border:0;
border-radius:6px;font-size:1.1rem;padding:.7rem 2rem;width:100%}}</style></head><body>
<div class="box"><h1>微信支付 <small>(本地替身 / local stand-in)</small></h1>
<p>{html.escape(order["description"])}</p><p class="amount" id="amount">¥{amount / 100:,.2f}</p>
<p>{html.escape(order["trade_state"])}</p>
<form method="post" action="{action}"><button type="submit" id="h5-pay">确认支付</button></form>
</div></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, path: str, data: dict) -> None:
        """The test's levers. `deliver_to` overrides the notify_url; `times` repeats the
        delivery; `tamper` flips a ciphertext byte; `deliver: false` only returns it."""
        gw = self.gateway
        if path == "/_standin/reset":  # a new test: no orders, refunds or requests
            with gw.lock:
                for kept in (gw.orders, gw.refunds, gw.requests, gw.delivered):
                    kept.clear()
            return self._answer(200, {}, sign_it=False)
        if path == "/_standin/state":
            with gw.lock:
                return self._answer(
                    200,
                    {
                        "orders": gw.orders,
                        "refunds": gw.refunds,
                        "requests": gw.requests,
                        "delivered": gw.delivered,
                    },
                    sign_it=False,
                )
        if path == "/_standin/pay":
            status, answer = gw.pay(data["out_trade_no"])
            if status != 200:
                return self._answer(status, answer, sign_it=False)
            headers, body = gw.payment_notification(data["out_trade_no"])
            url = data.get("deliver_to") or gw.orders[data["out_trade_no"]]["notify_url"]
        elif path == "/_standin/refund":
            gw.finish_refund(data["out_refund_no"], data.get("status", "SUCCESS"))
            headers, body = gw.refund_notification(data["out_refund_no"])
            url = data.get("deliver_to") or gw.refunds[data["out_refund_no"]]["notify_url"]
        else:
            return self._answer(404, {"code": "NOT_FOUND", "message": path}, sign_it=False)
        if data.get("tamper"):
            body = tamper(body)
        deliveries = []
        if data.get("deliver", True):
            deliveries = [gw.deliver(url, headers, body) for _ in range(int(data.get("times", 1)))]
        self._answer(
            200,
            {"notification": {"headers": headers, "body": body}, "deliveries": deliveries},
            sign_it=False,
        )


def serve(port: int, config: dict) -> None:
    gateway = Gateway({**config, "base": f"http://127.0.0.1:{port}"})
    handler = type("BoundHandler", (Handler,), {"gateway": gateway})
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as file:
        serve(int(sys.argv[1]), json.load(file))
