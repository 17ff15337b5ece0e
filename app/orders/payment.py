"""Starting an order's payment, after the order's transaction has committed.

A free order is paid at once. Otherwise the provider starts the payment
(a Stripe PaymentIntent, the box office's "awaiting" note) and the order
records what the buyer's client needs. When the provider cannot be reached
the order stays, awaiting payment, with ``payment.status`` ``start_failed``:
its buyer starts it again with ``POST /orders/<id>/payment`` (the provider's
idempotency key makes a start that did reach it harmless to repeat).
"""
import logging

from app.errors import AppError
from app.orders import settlement
from app.orders.records import OrderState, is_lapsed, order_ref, read_order, view
from app.payments import providers
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

START_FAILED = "start_failed"


def start(order, provider):
    """Start the payment of a pending order once; returns the order as it is then."""
    status = order["payment"].get("status")
    if order["state"] != OrderState.PENDING_PAYMENT or (status and status != START_FAILED):
        return order
    if order["total"] == 0:
        return settlement.settle_order(order["id"], provider="free", amount=0, currency=order["currency"])["order"]
    try:
        started = provider.start(order)
    except AppError as exc:
        if exc.code != "payment_provider_error":
            raise
        logger.warning("payment start failed order=%s provider=%s", order["id"], provider.name)
        started = {"status": START_FAILED, "last_error": exc.message}
    payment = {**{k: v for k, v in order["payment"].items() if k != "last_error"}, **started}
    order_ref(order["id"]).update({"payment": payment, "updated_at": utcnow()})
    return {**order, "payment": payment}


def restart_payment(order_id, user):
    """The buyer starts (again) the payment of an order awaiting it, e.g. after the provider was unreachable."""
    order = read_order(order_id, user)
    if order["buyer_uid"] != user.uid:
        raise AppError("forbidden", "Only the order's buyer pays for it.")
    if order["state"] != OrderState.PENDING_PAYMENT or is_lapsed(order, utcnow()):
        state = view(order)["state"]
        raise AppError("payment_not_startable", f"The order is {state}.", details={"state": state})
    return view(start(order, providers.get_provider(order["payment"]["method"])), user)
