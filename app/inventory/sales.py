"""Selling held units: what the orders domain asks of the inventory.

The inventory owns the ``holds``, ``hold_slots`` and ``inventory_units``
collections; orders never touch them and call these functions instead. Each
runs inside a transaction the orders domain opens (so the order, its discount
redemption and the units change together), and each is either a read or a
write: callers do every read before any write, as Firestore requires.

How units move:

- **Converting a hold.** ``read_hold`` reads an active, unexpired hold, its
  claims and the buyer's hold slot, and checks every claim still belongs to
  the hold (one taken over after the hold expired is someone else's now:
  409 ``hold_expired``). ``convert_hold`` re-points each claim to the order
  with ``live_until`` at the order's payment deadline, marks the hold
  ``converted`` and frees the hold slot. Because the claim carries the
  deadline, an unpaid order's units are free to the next buyer at that
  deadline even when the scheduler is stopped: expiry takes effect on read,
  as for holds, and sweeping expired orders only tidies up.
- **Selling.** ``read_units`` then ``sell_units`` make the order's claims
  ``sold`` and live forever. A claim that lapsed (the payment came after the
  deadline) is taken back when nobody has claimed the unit since; when
  someone has, ``sell_units`` writes nothing and says so, and the caller
  refunds.
- **Releasing.** ``release_units`` deletes the claims an order still owns
  (cancel, expiry, refund), so the units are on sale at once; ``forget_units``
  then clears this process's memory of them, after the commit.
"""
from dataclasses import dataclass

from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.aggregation import AggregationQuery

from app.errors import AppError
from app.firebase import db
from app.inventory import units
from app.inventory.holds import HOLD_SLOTS, HoldState, hold_ref
from app.inventory.units import FOREVER, HINT, UnitState


@dataclass
class HeldUnits:
    """A hold read inside an order's transaction, ready to convert."""

    hold: dict
    claims: list
    slot: object

    @property
    def units(self):
        """[{unit_id, ticket_type_id, unit}] in the hold's item order."""
        return [{"unit_id": doc_id, "ticket_type_id": item["ticket_type_id"], "unit": unit}
                for item in self.hold["items"] for doc_id, unit in zip(item["unit_ids"], item["units"])]


def _hold_error(hold, code, message):
    return AppError(code, message, details={"hold_id": hold["id"], "state": hold["state"],
                                            **({"order_id": hold["order_id"]} if hold.get("order_id") else {})})


def read_hold(transaction, hold_id, buyer_uid, now):
    """The buyer's active hold and its claims, or 404 / 403 / 409 ``hold_expired`` and friends."""
    snapshot = hold_ref(hold_id).get(transaction=transaction) if hold_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise AppError("not_found", "No such hold.")
    hold = snapshot.to_dict()
    if hold["buyer_uid"] != buyer_uid:
        raise AppError("forbidden", "This hold belongs to another buyer.")
    if hold["state"] == HoldState.CONVERTED:
        raise _hold_error(hold, "hold_converted", "This hold has already become an order.")
    if hold["state"] == HoldState.RELEASED:
        raise _hold_error(hold, "hold_released", "This hold was released.")
    if hold["state"] == HoldState.EXPIRED or hold["expires_at"] <= now:
        raise _hold_error({**hold, "state": str(HoldState.EXPIRED)}, "hold_expired", "This hold has expired.")
    refs = [units.unit_ref(d) for d in hold["unit_ids"]] + [db().collection(HOLD_SLOTS).document(hold["slot_id"])]
    snapshots = {s.id: s for s in transaction.get_all(refs)}
    claims = [snapshots[d] for d in hold["unit_ids"]]
    for claim in claims:
        if (not claim.exists or claim.get("hold_id") != hold_id or claim.to_dict().get("order_id")
                or claim.get("live_until") <= now):
            raise _hold_error({**hold, "state": str(HoldState.EXPIRED)}, "hold_expired", "This hold has expired.")
    return HeldUnits(hold, claims, snapshots[hold["slot_id"]])


def convert_hold(transaction, held, *, order_id, payment_deadline, now):
    """Hand the hold's claims to the order until its payment deadline, and free the buyer's hold slot."""
    for claim in held.claims:
        transaction.update(claim.reference, {"order_id": order_id, "live_until": payment_deadline})
    if held.slot.exists and held.slot.get("hold_id") == held.hold["id"]:
        transaction.delete(held.slot.reference)
    transaction.update(hold_ref(held.hold["id"]), {"state": str(HoldState.CONVERTED), "order_id": order_id,
                                                   "updated_at": now})


def read_units(transaction, unit_ids):
    """{unit doc id: snapshot} of the claims on these units, read in the transaction."""
    return {s.id: s for s in transaction.get_all([units.unit_ref(d) for d in unit_ids])}


def owns(snapshot, order_id):
    return snapshot.exists and snapshot.to_dict().get("order_id") == order_id


def sell_units(transaction, order, snapshots, now):
    """Make the order's claims sold for good; False, writing nothing, when another buyer has one now."""
    for unit in order["units"]:
        snapshot = snapshots[unit["unit_id"]]
        if snapshot.exists and snapshot.get("live_until") > now and not owns(snapshot, order["id"]):
            return False
    for unit in order["units"]:
        claim = units.claim(order["event_id"], unit["ticket_type_id"], unit["unit"], hold_id=order["hold_id"],
                            buyer_uid=order["buyer_uid"], live_until=FOREVER, now=now, state=UnitState.SOLD)
        transaction.set(snapshots[unit["unit_id"]].reference, {**claim, "order_id": order["id"]})
    return True


def release_units(transaction, snapshots, order_id, unit_ids=None):
    """Delete the order's claims (all, or only ``unit_ids``); units someone else claimed stay theirs."""
    for doc_id, snapshot in snapshots.items():
        if (unit_ids is None or doc_id in unit_ids) and owns(snapshot, order_id):
            transaction.delete(snapshot.reference)


def forget_units(order_units):
    """After a commit that released units: this process stops steering buyers away from them."""
    by_type = {}
    for unit in order_units:
        by_type.setdefault(unit["ticket_type_id"], []).append(unit["unit"])
    for ticket_type_id, released in by_type.items():
        HINT.forget(ticket_type_id, released)


def count_units(ticket_type_id, now):
    """{"sold", "held"}: sold units and units in unexpired holds or unpaid orders, as of now."""
    sold_query = (db().collection(units.UNITS).where(filter=FieldFilter("ticket_type_id", "==", ticket_type_id))
                  .where(filter=FieldFilter("state", "==", UnitState.SOLD)))
    sold = AggregationQuery(sold_query).count(alias="n").get()[0][0].value
    taken = units.count_live_units(ticket_type_id, now, exclude_retired=True)
    return {"sold": sold, "held": taken - sold}
