"""Stripe PaymentIntents: one per order, confirmed by the buyer's client, reported by signed webhooks.

Every call carries an idempotency key derived from the order or refund id,
so a retried request never creates a second PaymentIntent or refund. Amounts
are ISO 4217 minor units everywhere else and Stripe's units here
(``money.to_stripe``: Stripe's zero-decimal currencies, ISK, three-decimal
currencies).
"""
import logging

import stripe

from app.errors import AppError
from app.money import from_stripe, to_stripe
from app.payments.providers import ProviderUnavailable

logger = logging.getLogger(__name__)

# Stripe answers these when it could not act now; anything else it refused for good.
TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError, stripe.AuthenticationError)
REFUND_STATES = {"succeeded": "succeeded", "pending": "submitted", "requires_action": "submitted",
                 "failed": "failed", "canceled": "failed"}


def _provider_error(exc):
    return AppError("payment_provider_error", "The payment provider did not answer; try again.",
                    details={"provider": "stripe", "reason": type(exc).__name__})


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key, webhook_secret, *, api_base, connect_webhook_secret=None):
        # Stripe signs its Connect events (connected accounts) with the secret of their own endpoint.
        self.webhook_secrets = [webhook_secret] + ([connect_webhook_secret] if connect_webhook_secret else [])
        self.client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=2)

    def check_amount(self, amount, currency):
        try:
            to_stripe(amount, currency)
        except ValueError as exc:
            raise AppError("amount_not_chargeable", str(exc), details={"amount": amount, "currency": currency}) from exc

    def start(self, order):
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": to_stripe(order["total"], order["currency"]), "currency": order["currency"].lower(),
                        "metadata": {"order_id": order["id"], "event_id": order["event_id"]},
                        "transfer_group": f"order-{order['id']}",
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

    def refund(self, refund):
        try:
            created = self.client.v1.refunds.create(
                params={"payment_intent": refund["payment_reference"],
                        "amount": to_stripe(refund["amount"], refund["currency"]),
                        "metadata": {"order_id": refund["order_id"], "refund_id": refund["id"]}},
                options={"idempotency_key": f"refund-{refund['id']}"})
        except TRANSIENT as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except stripe.StripeError as exc:
            logger.error("stripe refused refund=%s order=%s: %s", refund["id"], refund["order_id"], exc)
            return {"status": "failed", "reference": None, "message": str(exc)[:500]}
        return {"status": REFUND_STATES.get(created.status, "submitted"), "reference": created.id}

    def refund_status(self, reference):
        try:
            return REFUND_STATES.get(self.client.v1.refunds.retrieve(reference).status, "submitted")
        except TRANSIENT as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def parse_event(self, payload, signature):
        """The verified event, or ``stripe.SignatureVerificationError`` / ``ValueError``."""
        for secret in self.webhook_secrets[:-1]:
            try:
                return stripe.Webhook.construct_event(payload, signature, secret)
            except stripe.SignatureVerificationError:
                continue
        return stripe.Webhook.construct_event(payload, signature, self.webhook_secrets[-1])

    @staticmethod
    def received(intent):
        """(amount in minor units, currency) a succeeded PaymentIntent took."""
        currency = intent["currency"].upper()
        return from_stripe(intent["amount_received"], currency), currency
