"""Payment providers' webhooks: verified, applied once each, in any order.

Each event is applied in one transaction together with a marker document
named after the provider's event id, created only if absent: a redelivered
event finds its marker and changes nothing, and a crash before the commit
leaves neither the change nor the marker, so the provider's retry applies it.
"""
import logging

import stripe
from google.api_core import exceptions as gexc

from app.errors import AppError
from app.firebase import db
from app.orders import refund_queue, settlement
from app.orders.signals import payment_event
from app.payments import providers
from app.payments.stripe import REFUND_STATES

logger = logging.getLogger(__name__)

PAYMENT_EVENTS = "payment_events"
FAILURES = {"payment_intent.payment_failed": "failed", "payment_intent.canceled": "canceled"}
# Stripe reports a refund's fate under its newer and its older event names.
REFUND_EVENTS = {"refund.updated", "refund.failed", "charge.refund.updated"}


def _marker(provider, event_id):
    if not isinstance(event_id, str) or not event_id.replace("_", "").isalnum() or len(event_id) > 255:
        raise AppError("bad_request", "The event has no usable id.")
    return db().collection(PAYMENT_EVENTS).document(f"{provider}_{event_id}")


def is_signed_by_stripe(payload, signature):
    """Whether the delivery carries a valid Stripe signature (false where Stripe is not configured)."""
    provider = providers.offered().get("stripe")
    if provider is None:
        return False
    try:
        provider.parse_event(payload, signature)
    except (stripe.SignatureVerificationError, ValueError):
        return False
    return True


def _hand_on(event, once):
    """An event orders do not handle goes to whoever answers ``payment_event`` (payouts: accounts, disputes)."""
    for _, outcome in payment_event.send("stripe", event=event.to_dict(), once=once):
        if outcome is not None:
            return outcome
    return "ignored"


def handle_stripe_event(payload, signature):
    """Verify and apply one Stripe webhook delivery; returns ``{"received", "outcome"}``."""
    provider = providers.offered().get("stripe")
    if provider is None:
        raise AppError("not_found", "Stripe is not configured here.")
    try:
        event = provider.parse_event(payload, signature)
    except (stripe.SignatureVerificationError, ValueError):
        raise AppError("invalid_signature", "The Stripe-Signature header does not match the body.") from None
    ref = _marker("stripe", event.id)
    if ref.get().exists:
        return {"received": True, "outcome": "duplicate"}
    obj = event.to_dict()["data"]["object"]
    order_id = (obj.get("metadata") or {}).get("order_id")
    once = (ref, {"provider": "stripe", "event_id": event.id, "type": event.type})
    if event.type == "payment_intent.succeeded":
        amount, currency = provider.received(obj)
        outcome = settlement.settle_order(order_id, provider="stripe", amount=amount, currency=currency,
                                          reference=obj["id"], once=once)["outcome"]
    elif event.type in FAILURES:
        error = obj.get("last_payment_error") or {}
        outcome = settlement.record_payment_failure(order_id, provider="stripe", status=FAILURES[event.type],
                                                    reference=obj["id"], message=error.get("message"),
                                                    once=once)
    elif event.type in REFUND_EVENTS and obj.get("object") == "refund":
        status = "failed" if event.type == "refund.failed" else REFUND_STATES.get(obj["status"], "submitted")
        outcome = refund_queue.apply_provider_status((obj.get("metadata") or {}).get("refund_id"), status,
                                                     obj["id"], once=once)
    else:
        outcome = _hand_on(event, once)
    if outcome in {"unknown_order", "unknown_refund", "ignored"}:
        try:
            ref.create({**once[1], "order_id": order_id, "outcome": outcome})
        except gexc.AlreadyExists:
            pass
    if outcome in {"amount_mismatch", "unknown_order", "unknown_refund"}:
        logger.error("stripe event %s type=%s order=%s: %s", event.id, event.type, order_id, outcome)
    return {"received": True, "outcome": outcome}
