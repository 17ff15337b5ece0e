"""Stripe PaymentIntents: one per order, confirmed by the buyer's client, reported by signed webhooks.

Every call carries an idempotency key derived from the order or refund id,
so a retried request never creates a second PaymentIntent or refund.
"""
import logging

import stripe

from app.errors import AppError

logger = logging.getLogger(__name__)


def _provider_error(exc):
    return AppError("payment_provider_error", "The payment provider did not answer; try again.",
                    details={"provider": "stripe", "reason": type(exc).__name__})


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key, webhook_secret, *, api_base):
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=2)

    def start(self, order):
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": order["total"], "currency": order["currency"].lower(),
                        "metadata": {"order_id": order["id"], "event_id": order["event_id"]},
                        "automatic_payment_methods": {"enabled": True}},
                options={"idempotency_key": f"order-{order['id']}"})
        except stripe.StripeError as exc:
            logger.warning("stripe payment intent failed order=%s: %s", order["id"], exc)
            raise _provider_error(exc) from exc
        return {"status": intent.status, "reference": intent.id, "client_secret": intent.client_secret}

    def cancel(self, order):
        reference = (order.get("payment") or {}).get("reference")
        if not reference:
            return
        try:
            self.client.v1.payment_intents.cancel(reference, options={"idempotency_key": f"cancel-{order['id']}"})
        except stripe.StripeError as exc:
            # Already succeeded or processing: the webhook that follows takes the late-payment path.
            logger.warning("stripe cancel failed order=%s intent=%s: %s", order["id"], reference, exc)

    def refund(self, order, amount, refund_id):
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": order["payment"]["reference"], "amount": amount,
                        "metadata": {"order_id": order["id"], "refund_id": refund_id}},
                options={"idempotency_key": f"refund-{refund_id}"})
        except stripe.StripeError as exc:
            logger.error("stripe refund failed order=%s refund=%s: %s", order["id"], refund_id, exc)
            return {"status": "failed", "reference": None}
        return {"status": "succeeded" if refund.status in {"succeeded", "pending"} else refund.status,
                "reference": refund.id}

    def parse_event(self, payload, signature):
        """The verified event, or ``stripe.SignatureVerificationError`` / ``ValueError``."""
        return stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
