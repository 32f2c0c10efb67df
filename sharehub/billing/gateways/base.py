"""The interface of gateways that pay straight into a lab's own merchant account (Alipay,
WeChat Pay).

Each gateway is a class registered here under its `GatewayKind`, built for one
`MerchantAccount` (its credentials unsealed only inside the instance). The rest of billing
talks to it only through this interface:

- `start(attempt, channel, notify_url, return_url)` → `Started`: the gateway's order for a
  new `OnlinePayment` (a QR code's content, or an address to send the customer to);
- `verify_notification(request)` → `Notification`: an asynchronous notification whose
  signature (and account) the gateway checked, or `NotificationRefused`;
- `acknowledge(ok)` → the answer the gateway expects (Alipay: plain "success"/"failure");
- `query(attempt)` → `Notification` of the trade's state, for notifications that never came;
- `close(attempt)`, `refund(attempt, amount_fen, out_request_no)` → `RefundAnswer`;
- `query_refund(attempt, out_request_no)` → `Notification` of a refund the gateway finishes
  later ("refund succeeded", "refund failed" or "refund pending"), for refund notifications
  that never came; None where the gateway answers a refund at once (Alipay);
- `test_connection()` → `(ok, message)`, where the gateway offers a harmless call.

Errors a gateway raises are `GatewayError` with a message safe to show: never a key, a
signature or the gateway's raw answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from sharehub.billing.models import GatewayKind

if TYPE_CHECKING:
    from flask import Request

    from sharehub.billing.models import MerchantAccount, OnlinePayment


class GatewayError(Exception):
    """The gateway could not do what was asked; the message is safe to show."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class NotificationRefused(Exception):
    """A notification that is not signed by the gateway for this account, or is malformed."""


@dataclass
class CredentialField:
    """One thing the lab enters for its account; `secret` ones are sealed and never shown."""

    name: str
    label: object  # a lazy translated string
    secret: bool = True
    multiline: bool = False
    help: object = ""
    required: bool = True  # False: may stay blank (another way to the same end exists)


@dataclass
class Started:
    code_url: str = ""  # what the QR code holds
    redirect_url: str = ""  # where to send the customer (computer-website pay)


@dataclass
class Notification:
    """What a gateway says about one trade, verified. `status` is "paid", "pending",
    "closed" or "unknown"; `event_id` names this news once (replays carry the same id)."""

    event_id: str
    out_trade_no: str
    status: str
    trade_no: str = ""
    amount_fen: int = 0
    currency: str = "CNY"
    merchant_id: str = ""
    payload: dict = field(default_factory=dict)


@dataclass
class RefundAnswer:
    status: str  # "succeeded", "submitted" or "failed"
    ref: str = ""
    failure: str = ""


class Gateway:
    """Base of the gateways; a subclass sets `kind`, `fields`, `channels` and implements the
    calls."""

    kind: ClassVar[GatewayKind]
    fields: ClassVar[tuple[CredentialField, ...]] = ()
    channels: ClassVar[tuple[str, ...]] = ("qr",)
    merchant_id_label: ClassVar[object] = ""

    def __init__(self, account: MerchantAccount):
        self.account = account

    def start(
        self, attempt: OnlinePayment, channel: str, notify_url: str, return_url: str
    ) -> Started:
        raise NotImplementedError

    def verify_notification(self, request: Request) -> Notification:
        raise NotImplementedError

    def acknowledge(self, ok: bool):
        raise NotImplementedError

    def query(self, attempt: OnlinePayment) -> Notification:
        raise NotImplementedError

    def close(self, attempt: OnlinePayment) -> None:
        raise NotImplementedError

    def refund(self, attempt: OnlinePayment, amount_fen: int, out_request_no: str) -> RefundAnswer:
        raise NotImplementedError

    def query_refund(self, attempt: OnlinePayment, out_request_no: str) -> Notification | None:
        return None

    def test_connection(self) -> tuple[bool, str]:
        raise NotImplementedError


REGISTRY: dict[GatewayKind, type[Gateway]] = {}


def register(cls: type[Gateway]) -> type[Gateway]:
    REGISTRY[cls.kind] = cls
    return cls
