"""Orders: created from a hold, paid through a provider, or cancelled / expired unpaid.

States: ``pending_payment → paid → (partially_refunded | refunded)``, or
``cancelled`` / ``expired`` before payment. An order is created in one
transaction with its hold's conversion and its discount redemption (see
``app.inventory.sales``). Its units are claimed until its payment deadline
(``PAYMENT_TTL_SECONDS``); past it they are free to other buyers at once,
and a pending order past its deadline reads as ``expired`` whether or not the
``expire_orders`` job has run. Payment providers are called only after the
transaction commits.
"""
import hashlib
import json
import logging
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter, Query

from app.audit import service as audit
from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.inventory import sales
from app.inventory.holds import HoldState
from app.inventory.signals import hold_changed
from app.orders import discount_guesses, discounts, pricing
from app.orders.signals import order_released
from app.pagination import fetch_page
from app.payments import providers
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

ORDERS = "orders"
SWEEP_PAGE = 100


class OrderState(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


PAID_STATES = {OrderState.PAID, OrderState.PARTIALLY_REFUNDED, OrderState.REFUNDED}


def order_ref(order_id):
    return db().collection(ORDERS).document(order_id)


def not_found():
    return AppError("not_found", "No such order.")


def is_lapsed(order, now):
    return order["state"] == OrderState.PENDING_PAYMENT and order["payment_deadline"] <= now


def view(order, user=None, now=None):
    """The order as its reader sees it: lapsed means expired, and only the buyer gets the client secret."""
    state = OrderState.EXPIRED if is_lapsed(order, now or utcnow()) else order["state"]
    payment = dict(order.get("payment") or {})
    if user is not None and user.uid != order["buyer_uid"]:
        payment.pop("client_secret", None)
    return {**{k: v for k, v in order.items() if k not in {"units", "fingerprint"}}, "state": str(state),
            "payment": payment,
            "tickets": [{"ticket_id": u["ticket_id"], "ticket_type_id": u["ticket_type_id"], "price": u["price"],
                         "seat": u["unit"] if isinstance(u["unit"], str) else None,
                         "refunded": u.get("refunded", False)}
                        for u in order["units"] if u.get("ticket_id")]}


def can_manage(user, order):
    return events.manages_event(user, order["event_id"])


def read_order(order_id, user):
    """The order if the user is its buyer, the event's organizer or an admin; 404 otherwise."""
    snapshot = order_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise not_found()
    order = snapshot.to_dict()
    if order["buyer_uid"] != user.uid and not can_manage(user, order):
        raise not_found()
    return order


def get_order(order_id, user):
    return view(read_order(order_id, user), user)


def list_orders(user, *, event_id=None, limit, cursor=None):
    """The caller's orders, or with ``event_id`` every order of an event the caller manages; newest first."""
    query = db().collection(ORDERS)
    if event_id:
        event = events.get_event(event_id, viewer=user)
        events.require_manageable(event, user)
        query = query.where(filter=FieldFilter("event_id", "==", event_id))
    else:
        query = query.where(filter=FieldFilter("buyer_uid", "==", user.uid))
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    now = utcnow()
    return {"items": [view(order, user, now) for order in items], "next_cursor": next_cursor}


def _fingerprint(hold_id, discount_code, payment_method):
    body = [hold_id, discount_code and discounts.normalize(discount_code), payment_method]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def _replayed(order, buyer_uid, fingerprint):
    if order["buyer_uid"] != buyer_uid or order["fingerprint"] != fingerprint:
        raise AppError("idempotency_key_reused", "This Idempotency-Key was used for a different request.")
    return order


def create_order(buyer_uid, *, hold_id, payment_method, discount_code=None, idempotency_key=None):
    """Turn the buyer's active hold into an order awaiting payment; a retried key returns the first order."""
    provider = providers.get_provider(payment_method)
    fingerprint = _fingerprint(hold_id, discount_code, payment_method)
    if idempotency_key:
        order_id = "k" + hashlib.sha256(f"order/{buyer_uid}/{idempotency_key}".encode()).hexdigest()[:27]
    else:
        order_id = db().collection(ORDERS).document().id
    ref = order_ref(order_id)
    ttl = timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"])

    @firestore.transactional
    def create(transaction):
        existing = ref.get(transaction=transaction)
        if existing.exists:
            return _replayed(existing.to_dict(), buyer_uid, fingerprint), None
        now = utcnow()
        held = sales.read_hold(transaction, hold_id, buyer_uid, now)
        hold = held.hold
        discount = None
        if discount_code:
            discount_guesses.check_discount_guesses(buyer_uid, hold["event_id"])
            discount = discounts.read_for_order(transaction, hold["event_id"], discount_code, hold["currency"], now)
        items, units, totals = pricing.price_order(hold["items"], held.units, discount and discount.to_dict())
        if discount is not None and totals["discount"] == 0:
            raise discounts.DiscountRefused(hold["event_id"], unknown=False)
        deadline = now + ttl
        order = {
            "id": order_id, "event_id": hold["event_id"], "buyer_uid": buyer_uid, "hold_id": hold_id,
            "state": str(OrderState.PENDING_PAYMENT), "currency": hold["currency"], "items": items, "units": units,
            **totals, "discount_code": discount and discount.get("code"), "refunded_amount": 0, "refunds": [],
            "payment": {"method": payment_method}, "payment_deadline": deadline, "paid_at": None,
            "fingerprint": fingerprint, "created_at": now, "updated_at": now,
        }
        sales.convert_hold(transaction, held, order_id=order_id, payment_deadline=deadline, now=now)
        if discount is not None:
            discounts.redeem(transaction, discount, now)
        transaction.create(ref, order)
        audit.record("order.created", actor_uid=buyer_uid, target=f"order/{order_id}", event_id=order["event_id"],
                     details={"total": order["total"], "currency": order["currency"],
                              "discount_code": order["discount_code"], "payment_method": payment_method},
                     transaction=transaction, now=now)
        return order, {**hold, "state": str(HoldState.CONVERTED), "updated_at": now}

    with discount_guesses.counting_discount_guesses(buyer_uid):
        order, converted = create(db().transaction())
    if converted:
        hold_changed.send(converted)
        logger.info("order created order=%s event=%s hold=%s total=%d", order_id, order["event_id"], hold_id,
                    order["total"])
    return _start_payment(order, provider)


def _start_payment(order, provider):
    """After the commit: a free order is paid at once; otherwise the provider starts the payment, once."""
    if order["state"] != OrderState.PENDING_PAYMENT or order["payment"].get("status"):
        return order
    if order["total"] == 0:
        # Settlement builds on this module; importing it at the top would be circular.
        from app.orders.settlement import settle_order

        return settle_order(order["id"], provider="free", amount=0, currency=order["currency"])["order"]
    payment = {**order["payment"], **provider.start(order)}
    order_ref(order["id"]).update({"payment": payment, "updated_at": utcnow()})
    return {**order, "payment": payment}


def _end_unpaid(order_id, *, target, actor_uid, only_if_lapsed):
    """Cancel or expire a pending order: free its units and its discount redemption, in one transaction."""
    ref = order_ref(order_id)

    @firestore.transactional
    def end(transaction):
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return None, False
        order = snapshot.to_dict()
        now = utcnow()
        lapsed = is_lapsed(order, now)
        if order["state"] != OrderState.PENDING_PAYMENT or (only_if_lapsed and not lapsed):
            return order, False
        state = OrderState.EXPIRED if lapsed else target
        claims = sales.read_units(transaction, [u["unit_id"] for u in order["units"]])
        redeemed = discounts.read_redeemed(transaction, order)
        sales.release_units(transaction, claims, order_id)
        discounts.give_back(transaction, redeemed, now)
        updates = {"state": str(state), "updated_at": now, f"{state}_at": now}
        transaction.update(ref, updates)
        audit.record(f"order.{state}", actor_uid=actor_uid, target=f"order/{order_id}", event_id=order["event_id"],
                     transaction=transaction, now=now)
        return {**order, **updates}, True

    order, changed = end(db().transaction())
    if changed:
        sales.forget_units(order["units"])
        order_released.send(order)
        provider = providers.offered().get(order["payment"]["method"])
        if provider is not None:
            provider.cancel(order)
        logger.info("order %s order=%s event=%s", order["state"], order_id, order["event_id"])
    return order, changed


def cancel_order(order_id, user):
    """The buyer (or the event's organizer, or an admin) calls off an unpaid order; its units return to sale."""
    order = read_order(order_id, user)
    if order["state"] != OrderState.PENDING_PAYMENT or is_lapsed(order, utcnow()):
        state = view(order)["state"]
        raise AppError("invalid_transition", f"The order is {state}; only an order awaiting payment can be "
                       "cancelled.", details={"from": state, "to": "cancelled"})
    order, _ = _end_unpaid(order_id, target=OrderState.CANCELLED, actor_uid=user.uid, only_if_lapsed=False)
    return view(order, user)


def expire_orders(*, page=SWEEP_PAGE):
    """Scheduler job: mark orders past their payment deadline expired and delete their claims.

    The units were free to buyers from the deadline on already; this tidies up
    and gives discount redemptions back. Safe to run twice or concurrently:
    each order ends in its own transaction that re-checks it.
    """
    ended = 0
    while True:
        query = (db().collection(ORDERS)
                 .where(filter=FieldFilter("state", "==", OrderState.PENDING_PAYMENT))
                 .where(filter=FieldFilter("payment_deadline", "<=", utcnow()))
                 .order_by("payment_deadline").limit(page))
        ids = [doc.id for doc in query.select([]).stream()]
        for order_id in ids:
            try:
                ended += _end_unpaid(order_id, target=OrderState.EXPIRED, actor_uid=audit.SYSTEM,
                                     only_if_lapsed=True)[1]
            except gexc.Aborted:
                # Another sweeper, a payment or a cancellation holds this order; whoever commits ends it.
                logger.info("expiry of order %s left to a concurrent transaction", order_id)
        if len(ids) < page:
            return ended
