"""What the live feed writes to the Realtime Database, and the job that repairs it.

``/live/events/<event_id>/availability`` holds the same document as
``GET /events/<id>/availability``; ``/live/users/<uid>/holds/<hold_id>`` the
buyer's hold as ``GET /holds/<id>`` shows it, plus ``expires_at_ms`` for a
countdown against the database's ``.info/serverTimeOffset``;
``/live/parking/<lot_id>`` a parking lot's free spaces per kind now, as
``GET /parking-lots/<id>/availability`` shows them. Each is written whole,
from state read after the change committed, so a write is never a delta that
a lost write could leave half-applied.

These functions run on the publisher thread (publisher.py) or in the
scheduler, never in a buyer's request and never inside a Firestore
transaction. What the publisher could not write is remembered by a small
marker document per event or hold in ``REPAIRS``; ``repair_live_feed``
publishes the current state again and deletes the marker.
"""
import logging

from google.api_core import exceptions as gexc

from app.errors import AppError
from app.firebase import FirebaseError, db, rtdb
from app.checkout import holds
from app.checkout.schemas import HoldOut
from app.concessions import records as stand_orders
from app.concessions.schemas import StandOrderOut
from app.parking.occupancy import get_availability as get_lot_availability
from app.parking.schemas import LotAvailabilityOut
from app.tickets.availability import get_availability
from app.tickets.schemas import AvailabilityOut
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

REPAIRS = "live_feed_repairs"
REPAIR_PAGE = 200
ACTIVE = "active"


def availability_path(event_id):
    return f"live/events/{event_id}/availability"


def hold_path(buyer_uid, hold_id):
    return f"live/users/{buyer_uid}/holds/{hold_id}"


def publish_availability(event_id):
    """Write the event's availability as of now; remove it when the event is gone or a draft again."""
    try:
        availability = get_availability(event_id)
    except AppError as exc:
        if exc.status != 404:
            raise
        rtdb(availability_path(event_id)).delete()
        return
    rtdb(availability_path(event_id)).set(AvailabilityOut().dump(availability))


def lot_path(lot_id):
    return f"live/parking/{lot_id}"


def publish_lot(lot_id):
    """Write the lot's occupancy as of now; remove it when the lot is gone or inactive."""
    try:
        occupancy = get_lot_availability(lot_id)
    except AppError as exc:
        if exc.status != 404:
            raise
        rtdb(lot_path(lot_id)).delete()
        return
    rtdb(lot_path(lot_id)).set(LotAvailabilityOut().dump(occupancy))


def hold_entry(hold):
    entry = HoldOut().dump(holds.view(hold))
    entry.pop("buyer_uid", None)
    entry["expires_at_ms"] = int(hold["expires_at"].timestamp() * 1000)
    return entry


def publish_hold(hold):
    """Write the buyer's hold. ``hold`` is the hold as committed (a stored document or its view)."""
    entry = hold_entry(hold)

    def newer(current):
        # A hold only moves from active to one final state. Another worker's late write of the
        # active hold must not undo this process's released or expired one (or the reverse).
        if isinstance(current, dict) and current.get("state") != ACTIVE and entry["state"] == ACTIVE:
            return current
        return entry

    rtdb(hold_path(hold["buyer_uid"], hold["id"])).transaction(newer)


def stand_order_path(stand_order):
    return f"live/users/{stand_order['buyer_uid']}/orders/{stand_order['order_id']}/stands/{stand_order['stand_id']}"


def stand_queue_path(stand_id, event_id):
    return f"live/stands/{stand_id}/queue/{event_id}"


def stand_queue_key(stand_order):
    return f"{stand_order['stand_id']}:{stand_order['event_id']}"


def publish_stand_order(stand_order_id):
    """Write a buyer's stand order under their order, as ``GET /stand-orders/<id>`` shows it to them."""
    stand_order = stand_orders.find_stand_order(stand_order_id)
    if stand_order is None:
        return
    entry = StandOrderOut().dump(stand_orders.view(stand_order, buyer=True))
    entry.pop("buyer_uid", None)
    entry["updated_at_ms"] = int(stand_order["updated_at"].timestamp() * 1000)

    def newer(current):
        # States only move forward; another worker's late write of an older state must not win.
        if isinstance(current, dict) and (stand_orders.PROGRESS.get(current.get("state"), -1),
                                          current.get("updated_at_ms", 0)) > (
                stand_orders.PROGRESS[stand_order["state"]], entry["updated_at_ms"]):
            return current
        return entry

    rtdb(stand_order_path(stand_order)).transaction(newer)


def publish_stand_queue(key):
    """Write how many of a stand's orders for an event wait in each open state (``key``: stand:event)."""
    stand_id, event_id = key.split(":", 1)
    rtdb(stand_queue_path(stand_id, event_id)).set(
        {**stand_orders.queue_counts(stand_id, event_id), "as_of": utcnow().isoformat()})


# What a publisher writes for each kind of entry but holds, which carry their own state.
PUBLISHERS = {"event": publish_availability, "lot": publish_lot, "stand_order": publish_stand_order,
              "stand_queue": publish_stand_queue}


def mark_for_repair(kind, target_id):
    """Remember that ``kind`` ("hold" or one of ``PUBLISHERS``) ``target_id`` may be stale in the database."""
    db().collection(REPAIRS).document(f"{kind}-{target_id}").set(
        {"kind": kind, "target_id": target_id, "marked_at": utcnow()})


def _republish(kind, target_id):
    if kind in PUBLISHERS:
        PUBLISHERS[kind](target_id)
        return
    snapshot = holds.hold_ref(target_id).get()
    if snapshot.exists:
        publish_hold(snapshot.to_dict())


def repair_live_feed(*, page=REPAIR_PAGE):
    """Scheduler job: publish again whatever a publisher could not, then forget the markers.

    Returns how many it repaired. Safe to run twice or concurrently: a publish
    writes current state, so doing it twice is harmless, and a marker is
    deleted only if nobody marked it again since it was read (a newer failure
    keeps its marker for the next run). Stops at the first failure, since the
    database is then most likely still unreachable.
    """
    repaired = 0
    for snapshot in db().collection(REPAIRS).limit(page).stream():
        marker = snapshot.to_dict()
        try:
            _republish(marker["kind"], marker["target_id"])
        except (FirebaseError, gexc.GoogleAPICallError) as exc:
            logger.warning("live feed repair failed %s=%s: %s", marker["kind"], marker["target_id"], exc)
            break
        try:
            snapshot.reference.delete(option=db().write_option(last_update_time=snapshot.update_time))
        except (gexc.FailedPrecondition, gexc.NotFound):
            pass
        repaired += 1
    if repaired:
        logger.info("live feed repaired %d entries", repaired)
    return repaired
