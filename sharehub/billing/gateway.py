"""Online payment through a gateway interface; Stripe is the implementation (card, Alipay,
WeChat Pay). Without keys in the environment online payment is hidden and bank transfer
remains. Payments are recorded only from verified webhook events, stored by event id."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.billing.models import GatewayEvent, Invoice, InvoiceStatus, Payment, PaymentMethod
from sharehub.billing.payments import apply_payment
from sharehub.core.errors import Conflict, ValidationError
from sharehub.extensions import db

ONLINE_METHODS = (PaymentMethod.CARD, PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY)


class SignatureError(Exception):
    """The webhook payload is not signed with our secret (or is not JSON)."""


class StripeGateway:
    """Stripe through its Python library; STRIPE_API_BASE points it at a local stand-in
    (localstripe) in tests."""

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str = ""):
        import stripe

        stripe.api_key = secret_key
        if api_base:
            stripe.api_base = api_base
        self.stripe = stripe
        self.webhook_secret = webhook_secret

    @staticmethod
    def _metadata(invoice: Invoice) -> dict:
        return {"invoice_id": str(invoice.id), "invoice_number": invoice.number}

    def create_payment_intent(self, invoice: Invoice, method: PaymentMethod):
        """For integrations that confirm the payment themselves (the API, the tests)."""
        return self.stripe.PaymentIntent.create(
            amount=invoice.outstanding,
            currency="cny",
            payment_method_types=[method.value],
            metadata=self._metadata(invoice),
        )

    def start_checkout(
        self, invoice: Invoice, method: PaymentMethod, success_url: str, cancel_url: str
    ) -> str:
        """A Stripe-hosted Checkout page (no third-party script on our pages); returns the
        address to send the customer to."""
        options = {}
        if method == PaymentMethod.WECHAT_PAY:
            # Stripe refuses a WeChat Pay session without the client it is shown in.
            options["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        session = self.stripe.checkout.Session.create(
            mode="payment",
            payment_method_types=[method.value],
            **options,
            line_items=[
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "cny",
                        "unit_amount": invoice.outstanding,
                        "product_data": {"name": f"ShareHub {invoice.number}"},
                    },
                }
            ],
            metadata=self._metadata(invoice),
            payment_intent_data={"metadata": self._metadata(invoice)},
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return session.url

    @property
    def PermanentError(self):  # noqa: N802  (an exception class, read like one)
        """Stripe refused the request itself (bad amount, already refunded...)."""
        return (self.stripe.InvalidRequestError, self.stripe.CardError)

    @property
    def TransientError(self):  # noqa: N802
        """Stripe could not be reached or answered with a server error: try again."""
        return self.stripe.StripeError

    def refund(self, payment_ref: str, amount: int, idempotency_key: str, metadata: dict) -> dict:
        refund = self.stripe.Refund.create(
            payment_intent=payment_ref,
            amount=amount,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )
        return {"id": refund.id, "status": refund.status, "failure": ""}

    def verify(self, payload: bytes, signature: str) -> dict:
        import stripe

        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise SignatureError(str(exc)) from exc
        return event.to_dict()


def gateway() -> StripeGateway | None:
    config = current_app.config
    if not (config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET")):
        return None
    return StripeGateway(
        config["STRIPE_SECRET_KEY"],
        config["STRIPE_WEBHOOK_SECRET"],
        config.get("STRIPE_API_BASE", ""),
    )


def start_online_payment(
    invoice: Invoice, method: PaymentMethod, success_url: str, cancel_url: str
) -> str:
    gw = gateway()
    if gw is None:
        raise Conflict(_l("Online payment is not available; pay by bank transfer."))
    if method not in ONLINE_METHODS:
        raise ValidationError(_l("Choose card, Alipay or WeChat Pay."))
    if invoice.status != InvoiceStatus.ISSUED or not invoice.outstanding:
        raise Conflict(_l("Only an issued, unpaid invoice takes payments."))
    return gw.start_checkout(invoice, method, success_url, cancel_url)


def _record(invoice_id, provider_ref: str, amount: int, methods: list[str]) -> str:
    # Locked and read fresh: a bank transfer or the twin event of this payment may be
    # committing at this moment; the checks below then see its outcome.
    invoice = db.session.get(
        Invoice, int(invoice_id or 0), with_for_update=True, populate_existing=True
    )
    if invoice is None:
        return "unknown invoice"
    if db.session.scalar(sa.select(Payment.id).where(Payment.provider_ref == provider_ref)):
        return "already recorded"
    if invoice.status != InvoiceStatus.ISSUED or not invoice.outstanding:
        return f"invoice {invoice.status.value}"
    method = next((m for m in ONLINE_METHODS if m.value in methods), PaymentMethod.CARD)
    apply_payment(
        invoice,
        method,
        min(amount, invoice.outstanding),
        provider_ref=provider_ref,
        payer_reference=provider_ref,
    )
    return "recorded"


def handle_event(event: dict) -> str:
    """Apply a verified event once. Unknown, replayed and stale events are stored and
    acknowledged without effect, so the gateway stops retrying."""
    if db.session.get(GatewayEvent, event["id"]) is not None:
        return "duplicate"
    outcome = "ignored"
    kind, obj = event.get("type"), event.get("data", {}).get("object", {})
    if kind == "payment_intent.succeeded":
        outcome = _record(
            obj.get("metadata", {}).get("invoice_id"),
            obj["id"],
            int(obj.get("amount_received") or obj.get("amount") or 0),
            obj.get("payment_method_types", []),
        )
    elif kind == "checkout.session.completed" and obj.get("payment_status") == "paid":
        # The same payment as its payment intent: recorded once under the intent's id.
        outcome = _record(
            obj.get("metadata", {}).get("invoice_id"),
            obj.get("payment_intent") or obj["id"],
            int(obj.get("amount_total") or 0),
            obj.get("payment_method_types", []),
        )
    elif kind in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"):
        from sharehub.billing.refunds import handle_refund_object

        outcome = handle_refund_object(obj)
    elif kind == "charge.refunded":
        from sharehub.billing.refunds import handle_refund_object

        outcomes = [
            handle_refund_object({"payment_intent": obj.get("payment_intent"), **refund})
            for refund in (obj.get("refunds") or {}).get("data", [])
        ]
        outcome = "; ".join(outcomes) or "ignored"
    db.session.add(
        GatewayEvent(
            id=event["id"],
            type=str(event.get("type", ""))[:100],
            payload=event,
            outcome=outcome[:200],
        )
    )
    db.session.flush()
    return outcome
