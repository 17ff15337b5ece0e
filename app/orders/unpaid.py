"""Ending unpaid orders: the buyer cancels, the payment deadline passes, or the event is cancelled.

In one transaction the order's claims and its hold slot are freed, each
line's kind undoes what it wrote for it, and a discount redemption is given
back (to the code it was taken from: a code deleted and created again starts
its own count). After the commit a started payment is cancelled where the
provider can; one that succeeds anyway is refunded (``settlement``).
"""
import logging

from google.cloud.firestore_v1 import FieldFilter

from app.audit import service as audit
from app.checkout import kinds, sales
from app.errors import AppError
from app.firebase import db, left_to_concurrent_writer
from app.inventory import claims
from app.orders import discounts
from app.orders.records import ORDERS, OrderState, is_lapsed, order_ref, read_order, view
from app.orders.settlement import by_line, claimed_units
from app.orders.signals import order_released
from app.payments import providers
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

SWEEP_PAGE = 100


def end_unpaid(order_id, *, target, actor_uid, only_if_lapsed):
    """Cancel or expire a pending order and free what it held. Returns (order, changed)."""
    ref = order_ref(order_id)

    def end(tx):
        snapshot = tx.get(ref)
        if not snapshot.exists:
            return None, False
        order = snapshot.to_dict()
        now = utcnow()
        lapsed = is_lapsed(order, now)
        if order["state"] != OrderState.PENDING_PAYMENT or (only_if_lapsed and not lapsed):
            return order, False
        state = OrderState.EXPIRED if lapsed else target
        snapshots = claims.read(tx, [u["unit_id"] for u in claimed_units(order["units"])])
        slot = sales.read_slot(tx, order)
        redeemed = discounts.read_redeemed(tx, order)
        for line, mine in by_line(order, order["units"]):
            kinds.get_kind(line["kind"]).release(tx, order, line, mine, now)
        claims.release(tx, snapshots, order_id, now)
        sales.end_slot(tx, slot, order_id)
        discounts.give_back(tx, redeemed, now)
        updates = {"state": str(state), "updated_at": now, f"{state}_at": now}
        tx.update(ref, updates)
        audit.record(f"order.{state}", actor_uid=actor_uid, target=f"order/{order_id}", event_id=order["event_id"],
                     before={"state": order["state"]}, after={"state": str(state)}, transaction=tx, now=now)
        return {**order, **updates}, True

    order, changed = run_staged(end)
    if changed:
        claims.forget(claimed_units(order["units"]))
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
    order, _ = end_unpaid(order_id, target=OrderState.CANCELLED, actor_uid=user.uid, only_if_lapsed=False)
    return view(order, user)


def end_each(query, *, target, actor_uid, only_if_lapsed, page):
    """End every order the query finds, page by page; returns how many ended."""
    ended = 0
    while True:
        ids = [doc.id for doc in query.limit(page).select([]).stream()]
        for order_id in ids:
            with left_to_concurrent_writer("ending order %s left to a concurrent transaction", order_id):
                ended += end_unpaid(order_id, target=target, actor_uid=actor_uid, only_if_lapsed=only_if_lapsed)[1]
        if len(ids) < page:
            return ended


def expire_orders(*, page=SWEEP_PAGE):
    """Scheduler job: mark orders past their payment deadline expired and delete their claims.

    The units were free to buyers from the deadline on already; this tidies up
    and gives discount redemptions back. Safe to run twice or concurrently:
    each order ends in its own transaction that re-checks it.
    """
    query = (db().collection(ORDERS).where(filter=FieldFilter("state", "==", OrderState.PENDING_PAYMENT))
             .where(filter=FieldFilter("payment_deadline", "<=", utcnow())).order_by("payment_deadline"))
    return end_each(query, target=OrderState.EXPIRED, actor_uid=audit.SYSTEM, only_if_lapsed=True, page=page)
