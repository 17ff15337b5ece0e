"""What the orders domain asks of the checkout: converting a hold, and the buyer's hold slot.

The checkout owns ``holds`` and ``hold_slots``; orders never touch them and
call these functions inside their own transactions (a ``StagedTransaction``),
so the order, its discount redemption, the hold and its claims change together.

- **Converting a hold.** ``read_hold`` reads an active, unexpired hold, its
  claims and the buyer's hold slot, and checks every claim still belongs to
  the hold (one taken over after the hold expired is someone else's now:
  409 ``hold_expired``). ``convert_hold`` hands each claim to the order until
  its payment deadline, marks the hold ``converted`` and hands the slot to the
  order too: an unpaid order counts against the buyer's cap like a hold.
  Because claims and slot carry the deadline, an unpaid order's units and
  slot are free at that deadline even when the scheduler is stopped.
- **The slot afterwards.** ``read_slot`` / ``end_slot`` free it when the order
  is paid, cancelled, expired or refunded; ``keep_slot`` keeps a free order's
  slot for good, so nobody collects a free event's whole stock one order at a time.
"""
from dataclasses import dataclass

from app.checkout.holds import HOLD_SLOTS, HoldState, hold_ref
from app.errors import AppError
from app.firebase import db
from app.inventory import claims
from app.inventory.units import FOREVER


@dataclass
class HeldCart:
    """A hold read inside an order's transaction, ready to convert."""

    hold: dict
    claims: list
    slot: object

    @property
    def lines(self):
        return self.hold["items"]


def _hold_error(hold, code, message):
    return AppError(code, message, details={"hold_id": hold["id"], "state": hold["state"],
                                            **({"order_id": hold["order_id"]} if hold.get("order_id") else {})})


def slot_of(slot_id):
    return db().collection(HOLD_SLOTS).document(slot_id)


def read_hold(tx, hold_id, buyer_uid, now):
    """The buyer's active hold and its claims, or 404 / 403 / 409 ``hold_expired`` and friends."""
    snapshot = tx.get(hold_ref(hold_id)) if hold_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise AppError("not_found", "No such hold.")
    hold = snapshot.to_dict()
    if hold["buyer_uid"] != buyer_uid:
        raise AppError("forbidden", "This hold belongs to another buyer.")
    if hold["state"] == HoldState.CONVERTED:
        raise _hold_error(hold, "hold_converted", "This hold has already become an order.")
    if hold["state"] == HoldState.RELEASED:
        raise _hold_error(hold, "hold_released", "This hold was released.")
    expired = _hold_error({**hold, "state": str(HoldState.EXPIRED)}, "hold_expired", "This hold has expired.")
    if hold["state"] == HoldState.EXPIRED or hold["expires_at"] <= now:
        raise expired
    snapshots = claims.read(tx, hold["unit_ids"])
    slot = tx.get(slot_of(hold["slot_id"]))
    held = [snapshots[d] for d in hold["unit_ids"]]
    if not all(claims.belongs_to_hold(s, hold_id, now) for s in held):
        raise expired
    return HeldCart(hold, held, slot)


def convert_hold(tx, cart, *, order_id, payment_deadline, now):
    """Hand the hold's claims and slot to the order until its payment deadline."""
    claims.hand_to_order(tx, cart.claims, order_id, payment_deadline)
    if cart.slot.exists and cart.slot.get("hold_id") == cart.hold["id"]:
        tx.update(cart.slot.reference, {"order_id": order_id, "live_until": payment_deadline})
    tx.update(hold_ref(cart.hold["id"]), {"state": str(HoldState.CONVERTED), "order_id": order_id,
                                          "updated_at": now})
    return {**cart.hold, "state": str(HoldState.CONVERTED), "order_id": order_id, "updated_at": now}


def read_slot(tx, order):
    return tx.get(slot_of(order["slot_id"])) if order.get("slot_id") else None


def _owned(snapshot, order_id):
    return snapshot is not None and snapshot.exists and snapshot.to_dict().get("order_id") == order_id


def end_slot(tx, snapshot, order_id):
    """The order no longer counts against its buyer's cap."""
    if _owned(snapshot, order_id):
        tx.delete(snapshot.reference)


def keep_slot(tx, snapshot, order_id):
    """A free order keeps counting against its buyer's cap for good."""
    if _owned(snapshot, order_id):
        tx.update(snapshot.reference, {"live_until": FOREVER})
