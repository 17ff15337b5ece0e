"""The stand's queue: its staff move orders along, hand them over against the pickup code, or cancel them.

Staff of a stand (and its venue's owner and admins) list the stand's orders
for an event, oldest first, and move each one step at a time:
``received → preparing → ready``; ``completed`` only by redeeming the buyer's
pickup code (or QR) once, with the buyer's ID checked for age-restricted
orders. Every change is a transaction on the stand order that re-reads its
state, so two staff members pressing "accept" at once get one success and one
409. Cancelling refunds the stand order's lines through the orders domain's
refund path (durable refunds), in one transaction with the cancellation; so
does the scheduler's ``cancel_unaccepted_orders`` for orders nobody accepted
in time. After each commit the stand order is announced (``signals``).
"""
import io
import logging
from datetime import datetime

import segno
from google.cloud.firestore_v1 import FieldFilter

from app.audit import service as audit
from app.concessions import records, stands
from app.concessions.records import NEXT, OPEN, StandOrderState, stand_order_ref
from app.concessions.signals import stand_order_changed, stand_order_ready
from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db, left_to_concurrent_writer
from app.orders import records as orders
from app.orders.refunds import REFUNDABLE, after_refund, choose_units, refund_in
from app.pagination import fetch_page
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

SWEEP_PAGE = 100


def _can_see(user, stand_order):
    if user.uid == stand_order["buyer_uid"] or events.manages_event(user, stand_order["event_id"]):
        return True
    try:
        return stands.can_work_stand(user, stands.read_stand(stand_order["stand_id"]))
    except AppError:
        return False


def _visible(so_id, user):
    stand_order = records.read_stand_order(so_id)
    if not _can_see(user, stand_order):
        raise records.not_found()
    return stand_order


def get_stand_order(so_id, user):
    """A stand order for its buyer, the stand's staff, the event's organizer and admins."""
    stand_order = _visible(so_id, user)
    return records.view(stand_order, buyer=user.uid == stand_order["buyer_uid"])


def list_order_stand_orders(order_id, user):
    """What each stand makes of an order: its buyer's (and the event's organizer's) view."""
    order = orders.read_order(order_id, user)
    return [records.view(s, buyer=user.uid == s["buyer_uid"]) for s in records.stand_orders_of(order)]


def stand_order_qr_svg(so_id, user):
    stand_order = _visible(so_id, user)
    if user.uid != stand_order["buyer_uid"]:
        raise AppError("forbidden", "Only the buyer shows the pickup QR code.")
    buffer = io.BytesIO()
    segno.make(records.signed_code(so_id), error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def list_queue(stand_id, user, *, event_id, state=None, limit, cursor=None):
    """The stand's orders for an event, oldest first, optionally in one state: what its staff work through."""
    stands.require_worker(stand_id, user)
    items, next_cursor = fetch_page(records.queue_query(stand_id, event_id, state), {"received_at": datetime},
                                    limit=limit, cursor=cursor)
    return {"items": [records.view(s) for s in items], "next_cursor": next_cursor}


def _announce(stand_order):
    stand_order_changed.send(stand_order)
    if stand_order["state"] == StandOrderState.READY:
        stand_order_ready.send(stand_order)


def _move(so_id, user, target, check=None, **fields):
    """Move the stand order one step to ``target`` for a worker of its stand, in one transaction."""
    ref = stand_order_ref(so_id)
    stand = stands.require_worker(_visible(so_id, user)["stand_id"], user)

    def move(tx):
        stand_order = tx.get(ref).to_dict()
        if check is not None:
            check(stand_order)
        current = StandOrderState(stand_order["state"])
        if NEXT.get(current) != target:
            raise AppError("invalid_transition", f"A {current} order cannot become {target}.",
                           details={"from": str(current), "to": str(target)})
        now = utcnow()
        updates = {"state": str(target), f"{target}_at": now, "updated_at": now, **fields}
        tx.update(ref, updates)
        return {**stand_order, **updates}

    stand_order = run_staged(move)
    logger.info("stand order %s stand_order=%s stand=%s by=%s", target, so_id, stand["id"], user.uid)
    _announce(stand_order)
    return records.view(stand_order)


def change_state(so_id, user, *, state, reason=None):
    """Staff move an order to its next state: preparing (accepted), ready, or cancelled (refunded)."""
    target = StandOrderState(state)
    if target == StandOrderState.CANCELLED:
        return cancel_stand_order(so_id, user, reason=reason or "cancelled by the stand")
    if target == StandOrderState.COMPLETED:
        raise AppError("invalid_transition", "An order is completed by redeeming its pickup code.",
                       details={"to": str(target)})
    return _move(so_id, user, target)


def redeem_pickup(stand_id, user, *, code=None, qr=None, age_checked=False):
    """Hand a ready order over against the buyer's pickup code or QR, once."""
    stands.require_worker(stand_id, user)
    so_id = records.verify_signed_code(qr) if qr is not None else records.stand_order_by_code(stand_id, code)
    stand_order = records.find_stand_order(so_id) if so_id else None
    if stand_order is None or stand_order["stand_id"] != stand_id:
        raise AppError("not_found", "No order of this stand has that pickup code.")

    def check(current):
        if current["state"] == StandOrderState.COMPLETED:
            raise AppError("already_redeemed", details={"stand_order_id": so_id,
                                                        "completed_at": current["completed_at"].isoformat()})
        if current["age_restricted"] and not age_checked:
            raise field_error("age_checked", "This order is age-restricted: check the buyer's ID first.")

    return _move(so_id, user, StandOrderState.COMPLETED, check, redeemed_by=user.uid)


def _cancel(so_id, *, actor_uid, reason, only_if_unaccepted=False):
    """Cancel an open stand order and refund its lines in one transaction. Returns the stand order, or None
    when there was nothing to do (already over or, with ``only_if_unaccepted``, accepted meanwhile)."""
    ref = stand_order_ref(so_id)

    def cancel(tx):
        stand_order = tx.get(ref).to_dict()
        now = utcnow()
        if only_if_unaccepted and stand_order["state"] != StandOrderState.RECEIVED:
            return None
        if stand_order["state"] not in OPEN:
            raise AppError("invalid_transition", f"A {stand_order['state']} order cannot be cancelled.",
                           details={"from": stand_order["state"], "to": str(StandOrderState.CANCELLED)})
        order = tx.get(orders.order_ref(stand_order["order_id"])).to_dict()
        if order["state"] not in REFUNDABLE:
            raise AppError("invalid_transition", f"The order is {order['state']}.",
                           details={"from": order["state"], "to": "refunded"})
        chosen = choose_units(order, line_ids=[line["line_id"] for line in stand_order["lines"]])
        updates, record = refund_in(tx, order, chosen, now, reason=reason, actor_uid=actor_uid, force=False)
        cancelled = records.staged(tx, so_id, lambda: None)
        cancelled.update(cancel_reason=reason)
        return {**order, **updates}, record, chosen, dict(cancelled)

    done = run_staged(cancel)
    if done is None:
        return None
    order, record, chosen, stand_order = done
    after_refund(order, record, chosen)
    logger.info("stand order cancelled stand_order=%s by=%s reason=%s refund=%s", so_id, actor_uid, reason,
                record["id"])
    return stand_order


def cancel_stand_order(so_id, user, *, reason):
    """Staff cancel an order they cannot fulfil: its lines are refunded to the buyer."""
    stands.require_worker(_visible(so_id, user)["stand_id"], user)
    return records.view(_cancel(so_id, actor_uid=user.uid, reason=reason))


def cancel_unaccepted_orders(*, page=SWEEP_PAGE):
    """Scheduler job: cancel and refund orders no staff member accepted by their ``accept_by``. Returns how
    many it cancelled. Safe to run twice or concurrently: each re-checks its order in its own transaction."""
    query = (db().collection(records.STAND_ORDERS)
             .where(filter=FieldFilter("state", "==", str(StandOrderState.RECEIVED)))
             .where(filter=FieldFilter("accept_by", "<=", utcnow())).order_by("accept_by"))
    cancelled = 0
    for snapshot in query.limit(page).select([]).stream():
        with left_to_concurrent_writer("cancelling stand order %s left to a concurrent run", snapshot.id):
            cancelled += _cancel(snapshot.id, actor_uid=audit.SYSTEM, reason="not_accepted_in_time",
                                 only_if_unaccepted=True) is not None
    return cancelled
