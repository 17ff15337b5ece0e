"""Refunds of paid orders, by the event's organizer or an admin: some units, some lines, or the whole order.

A refund returns exactly what the refunded units cost (each unit carries its
share of discount, tax, fee and tip; see ``app.checkout.pricing``), so partial
refunds add up to the total to the minor unit. In one transaction each line's
kind voids what it issued (a ticket that has admitted someone is refused
unless ``allow_checked_in``), the units' claims are deleted (back on sale at
once) and a durable refund is recorded; ``refund_queue`` pays it back.
"""
import hashlib
import json
import logging

from app import singleflight
from app.audit import service as audit
from app.checkout import kinds, sales
from app.errors import AppError
from app.inventory import claims
from app.orders import refund_queue
from app.orders.records import OrderState, can_manage, not_found, order_ref, view
from app.orders.settlement import by_line, claimed_units, money_state
from app.orders.signals import order_refunded
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

REFUNDABLE = {OrderState.PAID, OrderState.PARTIALLY_REFUNDED}


def _field_error(field, messages):
    return AppError("validation_error", details={"fields": {field: messages}})


def choose_units(order, *, ticket_ids=None, line_ids=None):
    """The units a refund takes: those that issued ``ticket_ids`` (tickets, passes: any issued id), every
    unit left on ``line_ids``, or, with neither, every unit not refunded yet."""
    units = order["units"]
    if ticket_ids is not None:
        by_issued = {u["issued"]["id"]: u for u in units if u.get("issued")}
        if unknown := sorted(set(ticket_ids) - set(by_issued)):
            raise _field_error("ticket_ids", [f"Not a ticket of this order: {t}." for t in unknown])
        if done := sorted(t for t in ticket_ids if by_issued[t]["refunded"]):
            raise AppError("already_refunded", "Some of these tickets are already refunded.",
                           details={"ticket_ids": done})
        return [by_issued[t] for t in ticket_ids]
    if line_ids is not None:
        known = {line["id"] for line in order["items"]}
        if unknown := sorted(set(line_ids) - known):
            raise _field_error("line_ids", [f"Not a line of this order: {line}." for line in unknown])
        chosen = [u for u in units if u["line_id"] in line_ids and not u["refunded"]]
        if not chosen:
            raise AppError("already_refunded", "These lines are already refunded.", details={"line_ids": line_ids})
        return chosen
    return [u for u in units if not u["refunded"]]


def refund_in(tx, order, chosen, now, *, reason, actor_uid, force):
    """Inside the caller's transaction: void and release ``chosen`` units of ``order`` and queue their
    refund. Returns (order updates, refund entry)."""
    snapshots = claims.read(tx, [u["unit_id"] for u in claimed_units(chosen)])
    slot = sales.read_slot(tx, order)
    for line, mine in by_line(order, chosen):
        kinds.get_kind(line["kind"]).void(tx, order, line, mine, now, force=force)
    keys = {u["key"] for u in chosen}
    claims.release(tx, snapshots, order["id"], now, {u["unit_id"] for u in claimed_units(chosen)})
    units = [{**u, "refunded": True} if u["key"] in keys else u for u in order["units"]]
    everything = all(u["refunded"] for u in units)
    if everything:
        sales.end_slot(tx, slot, order["id"])
    amount = sum(u["amount"] for u in chosen)
    record = refund_queue.queue_refund(tx, order, amount, reason, now, unit_keys=sorted(keys), actor_uid=actor_uid,
                                       issued_ids=[u["issued"]["id"] for u in chosen if u.get("issued")])
    updates = {"units": units, "refunds": order["refunds"] + [record],
               "refunded_amount": order["refunded_amount"] + amount, "updated_at": now,
               "state": str(OrderState.REFUNDED if everything else OrderState.PARTIALLY_REFUNDED)}
    tx.update(order_ref(order["id"]), updates)
    audit.record("order.refunded", actor_uid=actor_uid, target=f"order/{order['id']}", event_id=order["event_id"],
                 before=money_state(order), after=money_state({**order, **updates}),
                 details={"refund_id": record["id"], "amount": amount, "currency": order["currency"],
                          "unit_keys": sorted(keys), "ticket_ids": record["ticket_ids"], "reason": reason,
                          "allow_checked_in": force}, transaction=tx, now=now)
    return updates, record


def after_refund(order, record, chosen):
    """After the commit: units back on sale here, the refund announced and sent."""
    claims.forget(claimed_units(chosen))
    order_refunded.send(order, refund=record)
    refund_queue.send_soon(record["id"])


def refund_order(order_id, user, *, ticket_ids=None, line_ids=None, whole_order=False, reason=None,
                 allow_checked_in=False):
    """Refund the listed tickets, the listed lines, or (``whole_order``) everything not refunded yet."""
    snapshot = order_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise not_found()
    if not can_manage(user, snapshot.to_dict()):
        if snapshot.get("buyer_uid") == user.uid:
            raise AppError("forbidden", "Only the event's organizer or an admin refunds orders.")
        raise not_found()
    ref = order_ref(order_id)
    selection = json.dumps([ticket_ids, line_ids, whole_order, reason, allow_checked_in])

    def refund(tx):
        order = tx.get(ref).to_dict()
        if order["state"] not in REFUNDABLE:
            raise AppError("invalid_transition", f"The order is {order['state']}; only paid orders are refunded.",
                           details={"from": order["state"], "to": "refunded"})
        chosen = choose_units(order, ticket_ids=ticket_ids, line_ids=line_ids)
        updates, record = refund_in(tx, order, chosen, utcnow(), reason=reason or "organizer", actor_uid=user.uid,
                                    force=allow_checked_in)
        return {**order, **updates}, record, chosen

    def work():
        order, record, chosen = run_staged(refund)
        after_refund(order, record, chosen)
        logger.info("order refunded order=%s refund=%s amount=%d", order_id, record["id"], record["amount"])
        return view(order_ref(order_id).get().to_dict(), user)

    key = hashlib.sha256(selection.encode()).hexdigest()
    return singleflight.run_once(f"refund:{order_id}:{user.uid}:{key}", work, result_of=lambda order: order["id"],
                                 replay=lambda oid: view(order_ref(oid).get().to_dict(), user))
