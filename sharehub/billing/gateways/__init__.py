"""Gateways that pay straight into a lab's own merchant account: the registry of their
classes (the interface is in `base`). Each gateway module registers its class when
imported; `_load` imports them all."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from sharehub.billing.gateways.base import (
    REGISTRY,
    CredentialField,
    Gateway,
    GatewayError,
    Notification,
    NotificationRefused,
    RefundAnswer,
    Started,
    register,
)
from sharehub.billing.models import GatewayKind, OnlinePayment
from sharehub.extensions import db

if TYPE_CHECKING:
    from sharehub.billing.models import MerchantAccount

__all__ = [
    "REGISTRY",
    "CredentialField",
    "Gateway",
    "GatewayError",
    "Notification",
    "NotificationRefused",
    "RefundAnswer",
    "Started",
    "attempt_of_payment",
    "gateway_class",
    "gateway_for",
    "refund_through_gateway",
    "register",
]


def gateway_class(kind: GatewayKind | str) -> type[Gateway] | None:
    _load()
    try:
        return REGISTRY.get(GatewayKind(kind))
    except ValueError:
        return None


def gateway_for(account: MerchantAccount) -> Gateway:
    cls = gateway_class(account.kind)
    if cls is None:
        raise GatewayError(f"no gateway for {account.kind}")
    return cls(account)


def attempt_of_payment(payment_id: int) -> OnlinePayment | None:
    """The merchant-account attempt a payment came from (None: Stripe or a transfer)."""
    return db.session.scalar(sa.select(OnlinePayment).where(OnlinePayment.payment_id == payment_id))


def refund_through_gateway(attempt: OnlinePayment, amount: int, refund_id: int) -> dict:
    """A refund of a merchant-account payment, in the shape `refunds.submit_refunds` reads;
    the refund row's id is the request number, so sending it again repeats nothing.
    Raises GatewayError when the gateway could not be reached (try again later)."""
    try:
        answer = gateway_for(attempt.account).refund(attempt, amount, f"RF{refund_id:010d}")
    except GatewayError as exc:
        if exc.transient:
            raise
        return {"id": None, "status": "failed", "failure": str(exc)[:300]}
    return {"id": answer.ref or None, "status": answer.status, "failure": answer.failure}


def _load() -> None:
    """The gateways register themselves when imported."""
    from sharehub.billing.gateways import alipay, wechatpay  # noqa: F401
