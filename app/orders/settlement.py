"""Paying an order: its claims become sold and each line's kind issues what it sells, in one transaction.

Payments arrive from a provider's webhook or the box office, possibly twice,
late or out of order, so settling is idempotent: an order is paid at most
once, and a caller's ``once`` marker (a document created in the same
transaction, e.g. per Stripe event id) makes a redelivered event a no-op.

A payment for an order that is no longer awaiting it:
- expired (its deadline passed): the units are taken back if nobody claimed
  them meanwhile (and a limited discount code still has a redemption left),
  and the order is paid late; otherwise the whole payment is refunded;
- cancelled by its buyer, or its event cancelled: refunded;
- already paid: nothing changes.
Every such refund is a durable refund (``refund_queue``) created in the same
transaction, so it is sent even if this process dies right after.
"""
import logging

from app import singleflight
from app.audit import service as audit
from app.checkout import kinds, sales
from app.errors import AppError
from app.events import service as events
from app.inventory import claims
from app.orders import discounts, refund_queue
from app.orders.records import PAID_STATES, OrderState, can_manage, is_lapsed, not_found, order_ref, view
from app.orders.signals import order_paid, order_refunded
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)


def money_state(order):
    """What an order's audit entries show of it before and after a money action."""
    return {"state": order["state"], "payment_status": order["payment"].get("status"),
            "refunded_amount": order["refunded_amount"]}


def claimed_units(units):
    """The inventory claims ``{unit_id, pool, unit}`` the units hold: one per ticket, one per time slot of a
    parking space. Orders made before units kept ``claims`` hold their one claim at the unit."""
    return [claim for u in units
            for claim in (u["claims"] if "claims" in u else [u] if u.get("unit_id") else [])]


def by_line(order, units):
    """[(line, its units among ``units``)] in line order, for the lines that have any."""
    return [(line, mine) for line in order["items"] if (mine := [u for u in units if u["line_id"] == line["id"]])]


def _late_redemption_ok(tx, order):
    """(ok, snapshot): an expired order gave its redemption back; taking it again must respect the limit."""
    if order["state"] != OrderState.EXPIRED:
        return True, None
    snapshot = discounts.read_redeemed(tx, order)
    if snapshot is None:
        return True, None
    limit = snapshot.get("max_redemptions")
    return limit is None or snapshot.get("redemptions") < limit, snapshot


def _sell(tx, order, now):
    """Sell the order's claims and let each line's kind issue; the order's new units, or None when another
    buyer holds one of its units now (nothing is written then)."""
    snapshots = claims.read(tx, [u["unit_id"] for u in claimed_units(order["units"])])
    slot = sales.read_slot(tx, order)
    redemption_ok, redeemed = _late_redemption_ok(tx, order)
    if not redemption_ok or not claims.sell(tx, order, claimed_units(order["units"]), snapshots, now):
        return None
    if redeemed is not None:
        discounts.redeem(tx, redeemed, now)
    (sales.keep_slot if order["total"] == 0 else sales.end_slot)(tx, slot, order["id"])
    issued = {}
    for line, mine in by_line(order, order["units"]):
        for unit, thing in zip(mine, kinds.get_kind(line["kind"]).sell(tx, order, line, mine, now)):
            issued[unit["key"]] = thing
    return [{**u, "issued": issued.get(u["key"])} for u in order["units"]]


def _give_up(tx, order, now):
    """A payment that cannot buy anything: what the order still holds is let go."""
    if order["state"] == OrderState.PENDING_PAYMENT:
        snapshots = claims.read(tx, [u["unit_id"] for u in claimed_units(order["units"])])
        slot = sales.read_slot(tx, order)
        claims.release(tx, snapshots, order["id"], now)
        sales.end_slot(tx, slot, order["id"])


def settle_order(order_id, *, provider, amount, currency, reference=None, actor_uid=None, once=None,
                 refuse_if_unavailable=False):
    """Record a payment. Returns ``{"order", "outcome"}``; outcome is one of ``paid``, ``paid_late``,
    ``already_paid``, ``refunded``, ``amount_mismatch``, ``duplicate`` or ``unknown_order``."""
    snapshot = order_ref(order_id).get() if order_id and order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        return {"order": None, "outcome": "unknown_order"}
    ref = order_ref(order_id)

    def settle(tx):
        if once is not None and tx.get(once[0]).exists:
            return tx.get(ref).to_dict(), "duplicate", None
        order = tx.get(ref).to_dict()
        event = events.read_event(tx, order["event_id"])
        now = utcnow()
        updates, refund_reason = {}, None
        if amount != order["total"] or currency.upper() != order["currency"]:
            outcome = "amount_mismatch"
        elif order["state"] in PAID_STATES:
            outcome = "already_paid"
        elif event is None or event["status"] == events.EventStatus.CANCELLED:
            outcome, refund_reason = "refunded", "event_cancelled"
            _give_up(tx, order, now)
        elif order["state"] == OrderState.CANCELLED:
            outcome, refund_reason = "refunded", "payment_after_cancellation"
        elif (units := _sell(tx, order, now)) is not None:
            late = order["state"] == OrderState.EXPIRED or is_lapsed(order, now)
            outcome = "paid_late" if late else "paid"
            updates = {"state": str(OrderState.PAID), "paid_at": now, "units": units}
        elif refuse_if_unavailable:
            raise AppError("order_expired", details={"order_id": order_id})
        else:
            outcome, refund_reason = "refunded", "units_no_longer_available"
            _give_up(tx, order, now)
        refund = None
        if outcome in {"paid", "paid_late", "refunded"}:
            payment = {**order["payment"], "status": "succeeded", "provider": provider, "amount": amount,
                       **({"reference": reference} if reference else {})}
            updates.update({"payment": payment, "updated_at": now})
            if refund_reason is not None:
                paid = {**order, "payment": payment}
                refund = refund_queue.queue_refund(tx, paid, amount, refund_reason, now, unit_keys=[],
                                                   actor_uid=actor_uid)
                updates.update({"state": str(OrderState.REFUNDED), "refunds": order["refunds"] + [refund],
                                "refunded_amount": order["refunded_amount"] + amount})
            tx.update(ref, updates)
        audit.record(f"payment.{outcome}", actor_uid=actor_uid, target=f"order/{order_id}",
                     event_id=order["event_id"], before=money_state(order), after=money_state({**order, **updates}),
                     details={"provider": provider, "amount": amount,
                                                          "currency": currency, "reference": reference},
                     transaction=tx, now=now)
        if once is not None:
            tx.create(once[0], {**once[1], "order_id": order_id, "outcome": outcome, "created_at": now})
        return {**order, **updates}, outcome, refund

    order, outcome, refund = run_staged(settle)
    logger.info("payment %s order=%s provider=%s amount=%d", outcome, order_id, provider, amount)
    if outcome in {"paid", "paid_late"}:
        order_paid.send(order)
    if refund is not None:
        order_refunded.send(order, refund=refund)
        refund_queue.send_soon(refund["id"])
    return {"order": order, "outcome": outcome}


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
        raise AppError("wrong_payment_method", details={"payment_method": order["payment"]["method"]})
    if order["state"] not in {OrderState.PENDING_PAYMENT, OrderState.EXPIRED}:
        raise AppError("invalid_transition", f"The order is {order['state']}.",
                       details={"from": order["state"], "to": "paid"})

    def work():
        result = settle_order(order_id, provider="manual", amount=order["total"], currency=order["currency"],
                              actor_uid=user.uid, refuse_if_unavailable=True)
        if result["outcome"] == "already_paid":
            raise AppError("invalid_transition", "The order is already paid.", details={"from": "paid", "to": "paid"})
        return view(result["order"], user)

    return singleflight.run_once(f"mark_paid:{order_id}", work, result_of=lambda paid: paid["id"],
                                 replay=lambda paid_id: view(order_ref(paid_id).get().to_dict(), user))


def record_payment_failure(order_id, *, provider, status, reference=None, message=None, once=None):
    """A failed or cancelled attempt: noted on an order still awaiting payment, ignored on any other.

    Providers deliver events out of order, so a failure reported after the
    payment succeeded must never undo it.
    """
    ref = order_ref(order_id) if order_id and order_id.isalnum() else None

    def record(tx):
        if once is not None and tx.get(once[0]).exists:
            return "duplicate"
        snapshot = tx.get(ref) if ref is not None else None
        now = utcnow()
        if snapshot is None or not snapshot.exists:
            outcome = "unknown_order"
        elif (snapshot.get("state") != OrderState.PENDING_PAYMENT
              or snapshot.get("payment").get("status") == "succeeded"):
            outcome = "ignored"
        else:
            outcome = f"payment_{status}"
            payment = {**snapshot.get("payment"), "status": status, "last_error": message}
            tx.update(ref, {"payment": payment, "updated_at": now})
        if once is not None:
            tx.create(once[0], {**once[1], "order_id": order_id, "outcome": outcome, "created_at": now})
        return outcome

    outcome = run_staged(record)
    logger.info("payment %s order=%s provider=%s", outcome, order_id, provider)
    return outcome
