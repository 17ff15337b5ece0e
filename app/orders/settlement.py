"""Paying an order: the units become sold and the tickets are issued, in one transaction.

Payments arrive from a provider's webhook or the box office, possibly twice,
late or out of order, so settling is idempotent: an order is paid at most
once, and a caller's ``once`` marker (a document created in the same
transaction, e.g. per Stripe event id) makes a redelivered event a no-op.

A payment for an order that is no longer awaiting it:
- expired (its deadline passed): the units are taken back if nobody claimed
  them meanwhile (and a limited discount code still has a redemption left),
  and the order is paid late; otherwise the whole payment is refunded
  automatically and the order reads ``refunded``;
- cancelled by its buyer: refunded automatically, since the buyer said no;
- already paid: nothing changes.
"""
import logging
import uuid

from google.cloud import firestore

from app.audit import service as audit
from app.errors import AppError
from app.firebase import db
from app.inventory import sales
from app.orders import discounts
from app.orders.signals import order_paid, order_refunded
from app.orders.service import PAID_STATES, OrderState, can_manage, is_lapsed, not_found, order_ref, view
from app.payments import providers
from app.tickets import service as tickets
from app.timeutil import utcnow

logger = logging.getLogger(__name__)


def new_refund(amount, reason, now, unit_ids=(), actor_uid=None):
    return {"id": uuid.uuid4().hex[:20], "amount": amount, "unit_ids": list(unit_ids), "reason": reason,
            "status": "pending", "reference": None, "actor_uid": actor_uid, "created_at": now}


def _late_redemption_ok(transaction, order):
    """(ok, snapshot): an expired order gave its redemption back; taking it again must respect the limit."""
    if order["state"] != OrderState.EXPIRED or not order.get("discount_code"):
        return True, None
    snapshot = discounts.read_redeemed(transaction, order)
    if snapshot is None:
        return True, None
    limit = snapshot.get("max_redemptions")
    return limit is None or snapshot.get("redemptions") < limit, snapshot


def settle_order(order_id, *, provider, amount, currency, reference=None, actor_uid=None, once=None,
                 refuse_if_unavailable=False):
    """Record a payment. Returns ``{"order", "outcome"}``; outcome is one of ``paid``, ``paid_late``,
    ``already_paid``, ``refunded``, ``amount_mismatch``, ``duplicate`` or ``unknown_order``."""
    snapshot = order_ref(order_id).get() if order_id and order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        return {"order": None, "outcome": "unknown_order"}
    signing_key = tickets.get_signing_key(snapshot.get("event_id"))
    ref = order_ref(order_id)

    @firestore.transactional
    def settle(transaction):
        if once is not None and once[0].get(transaction=transaction).exists:
            return ref.get(transaction=transaction).to_dict(), "duplicate", None
        order = ref.get(transaction=transaction).to_dict()
        now = utcnow()
        updates, refund = {}, None
        if amount != order["total"] or currency.upper() != order["currency"]:
            outcome = "amount_mismatch"
        elif order["state"] in PAID_STATES:
            outcome = "already_paid"
        elif order["state"] == OrderState.CANCELLED:
            outcome = "refunded"
            refund = new_refund(amount, "payment_after_cancellation", now)
        else:
            late = order["state"] == OrderState.EXPIRED or is_lapsed(order, now)
            claims = sales.read_units(transaction, [u["unit_id"] for u in order["units"]])
            redemption_ok, redeemed = _late_redemption_ok(transaction, order)
            if redemption_ok and sales.sell_units(transaction, order, claims, now):
                if redeemed is not None:
                    discounts.redeem(transaction, redeemed, now)
                outcome = "paid_late" if late else "paid"
                updates = {"state": str(OrderState.PAID), "paid_at": now,
                           "units": tickets.issue_tickets(transaction, order, signing_key, now)}
            elif refuse_if_unavailable:
                raise AppError("order_expired", "The order expired and its units have been sold to others.",
                               details={"order_id": order_id})
            else:
                outcome = "refunded"
                refund = new_refund(amount, "units_no_longer_available", now)
        if outcome in {"paid", "paid_late", "refunded"}:
            payment = {**order["payment"], "status": "succeeded", "provider": provider, "amount": amount,
                       **({"reference": reference} if reference else {})}
            updates.update({"payment": payment, "updated_at": now})
            if refund is not None:
                updates.update({"state": str(OrderState.REFUNDED), "refunds": order["refunds"] + [refund],
                                "refunded_amount": order["refunded_amount"] + amount})
            transaction.update(ref, updates)
        audit.record(f"payment.{outcome}", actor_uid=actor_uid, target=f"order/{order_id}",
                     event_id=order["event_id"], details={"provider": provider, "amount": amount,
                                                          "currency": currency, "reference": reference},
                     transaction=transaction, now=now)
        if once is not None:
            transaction.create(once[0], {**once[1], "order_id": order_id, "outcome": outcome, "created_at": now})
        return {**order, **updates}, outcome, refund

    order, outcome, refund = settle(db().transaction())
    logger.info("payment %s order=%s provider=%s amount=%d", outcome, order_id, provider, amount)
    if outcome in {"paid", "paid_late"}:
        order_paid.send(order)
    if refund is not None:
        order = pay_back(order, refund)
        order_refunded.send(order, refund=refund)
    return {"order": order, "outcome": outcome}


def pay_back(order, refund):
    """After the commit that recorded ``refund``: ask the provider to pay it, and record the answer."""
    provider = providers.offered().get(order["payment"]["method"])
    if provider is None or refund["amount"] == 0:
        result = {"status": "succeeded" if refund["amount"] == 0 else "failed", "reference": None}
    else:
        result = provider.refund(order, refund["amount"], refund["id"])
    ref = order_ref(order["id"])

    @firestore.transactional
    def record(transaction):
        current = ref.get(transaction=transaction).to_dict()
        refunds = [{**r, **result} if r["id"] == refund["id"] else r for r in current["refunds"]]
        transaction.update(ref, {"refunds": refunds, "updated_at": utcnow()})
        return {**current, "refunds": refunds}

    if result["status"] != "succeeded":
        logger.error("refund not paid order=%s refund=%s status=%s", order["id"], refund["id"], result["status"])
    return record(db().transaction())


def mark_paid(order_id, user):
    """The box office took the money: an organizer or admin marks a ``manual`` order paid."""
    snapshot = order_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise not_found()
    order = snapshot.to_dict()
    if not can_manage(user, order):
        if order["buyer_uid"] == user.uid:
            raise AppError("forbidden", "Only the event's organizer or an admin marks orders paid.")
        raise not_found()
    if order["payment"]["method"] != "manual":
        raise AppError("wrong_payment_method", "This order is paid through its payment provider.",
                       details={"payment_method": order["payment"]["method"]})
    if order["state"] not in {OrderState.PENDING_PAYMENT, OrderState.EXPIRED}:
        raise AppError("invalid_transition", f"The order is {order['state']}.",
                       details={"from": order["state"], "to": "paid"})
    result = settle_order(order_id, provider="manual", amount=order["total"], currency=order["currency"],
                          actor_uid=user.uid, refuse_if_unavailable=True)
    if result["outcome"] == "already_paid":
        raise AppError("invalid_transition", "The order is already paid.", details={"from": "paid", "to": "paid"})
    return view(result["order"], user)


def record_payment_failure(order_id, *, provider, status, reference=None, message=None, once=None):
    """A failed or cancelled attempt: noted on an order still awaiting payment, ignored on any other.

    Providers deliver events out of order, so a failure reported after the
    payment succeeded must never undo it.
    """
    ref = order_ref(order_id) if order_id and order_id.isalnum() else None

    @firestore.transactional
    def record(transaction):
        if once is not None and once[0].get(transaction=transaction).exists:
            return "duplicate"
        snapshot = ref.get(transaction=transaction) if ref is not None else None
        now = utcnow()
        if snapshot is None or not snapshot.exists:
            outcome = "unknown_order"
        elif (snapshot.get("state") != OrderState.PENDING_PAYMENT
              or snapshot.get("payment").get("status") == "succeeded"):
            outcome = "ignored"
        else:
            outcome = f"payment_{status}"
            payment = {**snapshot.get("payment"), "status": status, "last_error": message}
            transaction.update(ref, {"payment": payment, "updated_at": now})
        if once is not None:
            transaction.create(once[0], {**once[1], "order_id": order_id, "outcome": outcome, "created_at": now})
        return outcome

    outcome = record(db().transaction())
    logger.info("payment %s order=%s provider=%s", outcome, order_id, provider)
    return outcome
