"""Refunds, whole or by ticket, by the event's organizer or an admin.

A refund returns exactly what the refunded tickets cost after the discount
(each unit carries its price; see ``pricing``), so partial refunds add up to
the total to the minor unit. In one transaction the tickets are voided, their
units' claims deleted (back on sale at once) and the refund recorded as
``pending``; the provider is asked to pay it after the commit, and the
refund's status records the answer.
"""
import logging

from google.cloud import firestore

from app.audit import service as audit
from app.errors import AppError
from app.firebase import db
from app.inventory import sales
from app.orders.service import OrderState, can_manage, not_found, order_ref, view
from app.orders.settlement import new_refund, pay_back
from app.orders.signals import order_refunded
from app.tickets import service as tickets
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

REFUNDABLE = {OrderState.PAID, OrderState.PARTIALLY_REFUNDED}


def refund_order(order_id, user, *, ticket_ids=None, reason=None):
    """Refund the listed tickets, or every ticket not refunded yet."""
    snapshot = order_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise not_found()
    if not can_manage(user, snapshot.to_dict()):
        if snapshot.get("buyer_uid") == user.uid:
            raise AppError("forbidden", "Only the event's organizer or an admin refunds orders.")
        raise not_found()
    ref = order_ref(order_id)

    @firestore.transactional
    def refund(transaction):
        order = ref.get(transaction=transaction).to_dict()
        if order["state"] not in REFUNDABLE:
            raise AppError("invalid_transition", f"The order is {order['state']}; only paid orders are refunded.",
                           details={"from": order["state"], "to": "refunded"})
        open_units = [u for u in order["units"] if not u.get("refunded")]
        if ticket_ids is None:
            chosen = open_units
        else:
            by_ticket = {u["ticket_id"]: u for u in order["units"]}
            if unknown := sorted(set(ticket_ids) - set(by_ticket)):
                raise AppError("validation_error", details={"fields": {"ticket_ids": [f"Not a ticket of this order: {t}."
                                                                  for t in unknown]}})
            if done := sorted(t for t in ticket_ids if by_ticket[t].get("refunded")):
                raise AppError("already_refunded", "Some of these tickets are already refunded.",
                               details={"ticket_ids": done})
            chosen = [by_ticket[t] for t in ticket_ids]
        chosen_ids = {u["unit_id"] for u in chosen}
        claims = sales.read_units(transaction, chosen_ids)
        now = utcnow()
        amount = sum(u["price"] for u in chosen)
        record = new_refund(amount, reason or "organizer", now, unit_ids=sorted(chosen_ids),
                                actor_uid=user.uid)
        record["ticket_ids"] = [u["ticket_id"] for u in chosen]
        sales.release_units(transaction, claims, order_id, chosen_ids)
        tickets.void_tickets(transaction, record["ticket_ids"], now)
        units = [{**u, "refunded": True} if u["unit_id"] in chosen_ids else u for u in order["units"]]
        everything = all(u.get("refunded") for u in units)
        updates = {"units": units, "refunds": order["refunds"] + [record],
                   "refunded_amount": order["refunded_amount"] + amount, "updated_at": now,
                   "state": str(OrderState.REFUNDED if everything else OrderState.PARTIALLY_REFUNDED)}
        transaction.update(ref, updates)
        audit.record("order.refunded", actor_uid=user.uid, target=f"order/{order_id}", event_id=order["event_id"],
                     details={"refund_id": record["id"], "amount": amount, "currency": order["currency"],
                              "ticket_ids": record["ticket_ids"], "reason": record["reason"]},
                     transaction=transaction, now=now)
        return {**order, **updates}, record, chosen

    order, record, chosen = refund(db().transaction())
    sales.forget_units(chosen)
    logger.info("order refunded order=%s refund=%s amount=%d", order_id, record["id"], record["amount"])
    order = pay_back(order, record)
    order_refunded.send(order, refund=record)
    return view(order, user)
