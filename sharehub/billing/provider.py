"""The card and wallet payment provider's client: Stripe through its own library (cards,
Alipay and WeChat Pay for international customers). The rest of billing talks to it only
through `gateway()`, which is None when no keys are configured."""

from __future__ import annotations

from flask import current_app

from sharehub.billing.models import Invoice, PaymentMethod


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
