from flask import current_app, g, request
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, roles_required
from app.checkout.schemas import IdempotencyHeader
from app.extensions import limiter
from app.orders import (discounts, lists, payment, records, refund_queue, refunds, service, settlement, unpaid,
                        webhooks)
from app.orders.schemas import (DiscountIn, DiscountOut, DiscountPatch, OrderCreate, OrderOut, OrderPage,
                                OrderQuery, RefundIn, RefundPage, RefundQuery, RefundRecordOut, WebhookOut)

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders, discounts and refunds")
webhooks_blp = Blueprint("payment_webhooks", __name__, url_prefix="/api/v1",
                         description="Payment providers' signed webhooks")

MANAGERS = ("organizer", "admin")


@blp.route("/orders", methods=["POST"])
@login_required
@blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(OrderCreate)
@blp.response(201, OrderOut)
def create_order(data, idempotency_key=None):
    """Turn your active hold into an order awaiting payment

    Prices come from the hold, the discount code and your tip, never from the client.
    A retried request with the same Idempotency-Key returns the first order.
    """
    order = service.create_order(g.user.uid, idempotency_key=idempotency_key, **data)
    return service.view(order, g.user)


@blp.route("/orders", methods=["GET"])
@login_required
@blp.arguments(OrderQuery, location="query", unknown=RAISE)
@blp.response(200, OrderPage)
def list_orders(args):
    """Orders, newest first: yours, or (scope=managed) those of the events you organize; admins see all

    Filters combine: event_id, buyer_uid, payment_status, from and to (creation time). with_total=true also
    counts every match, except for payment_status pending_payment and expired, which are checked against the
    payment deadline as they are read.
    """
    return lists.list_orders(g.user, **args)


@blp.route("/orders/<order_id>", methods=["GET"])
@login_required
@blp.response(200, OrderOut)
def get_order(order_id):
    """An order: its buyer's, or for the event's organizer and admins"""
    return records.get_order(order_id, g.user)


@blp.route("/orders/<order_id>/cancel", methods=["POST"])
@login_required
@blp.response(200, OrderOut)
def cancel_order(order_id):
    """Cancel an order awaiting payment; its units are on sale again at once"""
    return unpaid.cancel_order(order_id, g.user)


@blp.route("/orders/<order_id>/payment", methods=["POST"])
@login_required
@blp.response(200, OrderOut)
def start_payment(order_id):
    """Start the payment of your order again, e.g. after the payment provider was unreachable"""
    return payment.restart_payment(order_id, g.user)


@blp.route("/orders/<order_id>/mark-paid", methods=["POST"])
@roles_required(*MANAGERS)
@blp.response(200, OrderOut)
def mark_paid(order_id):
    """Box office: record the payment of a manual order and issue its tickets (organizer or admin)"""
    return settlement.mark_paid(order_id, g.user)


@blp.route("/orders/<order_id>/refunds", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(RefundIn)
@blp.response(201, OrderOut)
def refund_order(data, order_id):
    """Refund tickets, lines, or the whole order; they are voided, their units return to sale, and the money
    goes back through the payment provider"""
    return refunds.refund_order(order_id, g.user, **data)


@blp.route("/admin/refunds", methods=["GET"])
@roles_required("admin")
@blp.arguments(RefundQuery, location="query", unknown=RAISE)
@blp.response(200, RefundPage)
def list_refunds(args):
    """Refunds by state, newest first: parked and failed ones need an admin (admin)"""
    return refund_queue.list_refunds(**args)


@blp.route("/admin/refunds/<refund_id>/retry", methods=["POST"])
@roles_required("admin")
@blp.response(200, RefundRecordOut)
def retry_refund(refund_id):
    """Send a parked or failed refund again (admin)"""
    return refund_queue.retry_refund(refund_id, actor_uid=g.user.uid)


@blp.route("/events/<event_id>/discounts", methods=["GET"])
@roles_required(*MANAGERS)
@blp.response(200, DiscountOut(many=True))
def list_discounts(event_id):
    """The event's discount codes (organizer or admin)"""
    return discounts.list_discounts(event_id, g.user)


@blp.route("/events/<event_id>/discounts", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(DiscountIn)
@blp.response(201, DiscountOut)
def create_discount(data, event_id):
    """Add a percent or fixed discount code, optionally limited in redemptions, time and ticket types"""
    return discounts.create_discount(event_id, g.user, **data)


@blp.route("/events/<event_id>/discounts/<code>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(DiscountPatch)
@blp.response(200, DiscountOut)
def update_discount(data, event_id, code):
    """Change a discount code; its limit never drops below its redemptions"""
    return discounts.update_discount(event_id, code, g.user, **data)


@blp.route("/events/<event_id>/discounts/<code>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_discount(event_id, code):
    """Withdraw a discount code; orders that used it keep their price"""
    discounts.delete_discount(event_id, code, g.user)


def _signed_by_stripe():
    # At an on-sale Stripe sends a burst from a few addresses; a 429 would make it retry late and orders
    # lapse. Signed deliveries are Stripe's and never counted; anything else meets the default limit.
    return webhooks.is_signed_by_stripe(request.get_data(), request.headers.get("Stripe-Signature"))


@webhooks_blp.route("/payments/webhooks/stripe", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_DEFAULT"], exempt_when=_signed_by_stripe)
@webhooks_blp.response(200, WebhookOut)
def stripe_webhook():
    """Stripe's signed events; each is applied once, whatever the order or number of deliveries"""
    return webhooks.handle_stripe_event(request.get_data(), request.headers.get("Stripe-Signature"))
