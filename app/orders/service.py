"""Orders: the checkout of a hold (the lists of them are in ``lists``).

An order is created in one
transaction with its hold's conversion and its discount redemption (see
``app.checkout.sales``). Its lines are the hold's, of any kind, priced by
``app.checkout.pricing`` with the code and the buyer's tip; every unit carries
what it cost. Its inventory claims and its buyer's hold slot are the order's
until its payment deadline (``PAYMENT_TTL_SECONDS``); past it they are free at
once, and a pending order past its deadline reads as ``expired`` whether or
not the ``expire_orders`` job has run. Payment providers are called only
after the transaction commits (``payment``).
"""
import hashlib
import json
import logging
from datetime import timedelta

from flask import current_app

from app import singleflight
from app.audit import service as audit
from app.checkout import kinds, pricing, sales
from app.checkout.signals import hold_changed
from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.orders import discount_guesses, discounts, payment
from app.orders.records import ORDERS, OrderState, order_ref, view
from app.payments import providers
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)


def _fingerprint(hold_id, discount_code, payment_method, tip):
    body = [hold_id, discount_code and discounts.normalize(discount_code), payment_method, tip]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def _replayed(order, buyer_uid, fingerprint):
    if order["buyer_uid"] != buyer_uid or order["fingerprint"] != fingerprint:
        raise AppError("idempotency_key_reused")
    return order


def unit_claims(line, index):
    """The claims of the line's ``index``-th unit: its line's claims dealt evenly over its units, in order (one
    for a ticket, one per time slot for a parking space)."""
    claims, quantity = line["claims"], line["quantity"]
    share = len(claims) // quantity if len(claims) % quantity == 0 else 1
    return claims[index * share:(index + 1) * share]


def order_units(lines, priced_units):
    """The order's units: each priced unit with its line's kind and, where the line claimed stock, its claims
    (``unit_id``, ``pool`` and ``unit`` name the first)."""
    by_line = {line["id"]: line for line in lines}
    result = []
    for unit in priced_units:
        line = by_line[unit["line_id"]]
        mine = unit_claims(line, unit["index"])
        claim = mine[0] if mine else {}
        result.append({**{k: v for k, v in unit.items() if k != "index"}, "key": f"{line['id']}:{unit['index']}",
                       "kind": line["kind"], "unit_id": claim.get("unit_id"), "pool": claim.get("pool"),
                       "unit": claim.get("unit"), "claims": mine, "issued": None, "refunded": False})
    return result


def create_order(buyer_uid, *, hold_id, payment_method, discount_code=None, tip=0, idempotency_key=None):
    """Turn the buyer's active hold into an order awaiting payment; a retried key returns the first order,
    and identical requests at once get the first one's order."""
    provider = providers.get_provider(payment_method)
    fingerprint = _fingerprint(hold_id, discount_code, payment_method, tip)
    if idempotency_key:
        order_id = "k" + hashlib.sha256(f"order/{buyer_uid}/{idempotency_key}".encode()).hexdigest()[:27]
    else:
        order_id = db().collection(ORDERS).document().id
    ttl = timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"])

    def create(tx):
        existing = tx.get(order_ref(order_id))
        if existing.exists:
            return _replayed(existing.to_dict(), buyer_uid, fingerprint), None
        now = utcnow()
        cart = sales.read_hold(tx, hold_id, buyer_uid, now)
        hold = cart.hold
        event = events.read_event(tx, hold["event_id"])
        if not kinds.open_for_sale(event, {line["kind"] for line in cart.lines}):
            raise AppError("event_not_on_sale", details={"status": event and event["status"]})
        discount = None
        if discount_code:
            discount_guesses.check_discount_guesses(buyer_uid, hold["event_id"])
            discount = discounts.read_for_order(tx, hold["event_id"], discount_code, hold["currency"], now)
        lines, units, totals = pricing.price(cart.lines, tax_rates=hold.get("tax_rates"),
                                             discount=discount and discount.to_dict(), tip=tip)
        if discount is not None and totals["discount"] == 0:
            raise discounts.DiscountRefused(hold["event_id"], unknown=False)
        provider.check_amount(totals["total"], hold["currency"])
        deadline = now + ttl
        order = {
            "id": order_id, "event_id": hold["event_id"], "organizer_uid": event["organizer_uid"],
            "buyer_uid": buyer_uid, "hold_id": hold_id,
            "slot_id": hold["slot_id"], "state": str(OrderState.PENDING_PAYMENT), "currency": hold["currency"],
            "items": lines, "units": order_units(cart.lines, units), "tax_rates": hold.get("tax_rates") or {},
            **totals, "discount_code": discount and discount.get("code"),
            "discount_generation": discount and discount.get("generation"), "refunded_amount": 0, "refunds": [],
            "payment": {"method": payment_method}, "payment_deadline": deadline, "paid_at": None,
            "fingerprint": fingerprint, "created_at": now, "updated_at": now,
        }
        converted = sales.convert_hold(tx, cart, order_id=order_id, payment_deadline=deadline, now=now)
        if discount is not None:
            discounts.redeem(tx, discount, now)
        tx.create(order_ref(order_id), order)
        audit.record("order.created", actor_uid=buyer_uid, target=f"order/{order_id}", event_id=order["event_id"],
                     after={"state": order["state"], "total": order["total"]},
                     details={"total": order["total"], "currency": order["currency"], "tip": tip,
                              "discount_code": order["discount_code"], "payment_method": payment_method,
                              "kinds": sorted({line["kind"] for line in lines})}, transaction=tx, now=now)
        return order, converted

    def work():
        with discount_guesses.counting_discount_guesses(buyer_uid):
            order, converted = run_staged(create)
        if converted:
            hold_changed.send(converted)
            logger.info("order created order=%s event=%s hold=%s total=%d", order_id, order["event_id"], hold_id,
                        order["total"])
        return payment.start(order, provider)

    return singleflight.run_once(f"order:{buyer_uid}:{hold_id}:{fingerprint}:{idempotency_key}", work,
                                 result_of=lambda order: order["id"],
                                 replay=lambda oid: order_ref(oid).get().to_dict())
