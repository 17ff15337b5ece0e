"""Inventory: holds, their release and expiry, and availability.

Placing a hold lives in ``holds.py``; this module ends holds and answers what
is free. Expiry takes effect when availability is read (a claim past its
``live_until`` is free to the next buyer); the scheduler's sweep only tidies
expired holds up and keeps reads small.
"""
import logging

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.inventory import units
from app.inventory.holds import HOLD_SLOTS, HOLDS, HoldState, hold_ref, place_hold, sellable_units, view
from app.inventory.signals import hold_changed
from app.inventory.units import HINT, UnitState
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

__all__ = ["place_hold", "get_hold", "release_hold", "expire_holds", "get_availability", "count_taken_units"]

SWEEP_PAGE = 200


def _not_found():
    return AppError("not_found", "No such hold.")


def _can_see(hold, user):
    return user.uid == hold["buyer_uid"] or events.manages_event(user, hold["event_id"])


def get_hold(hold_id, user):
    snapshot = hold_ref(hold_id).get() if hold_id.isalnum() else None
    if snapshot is None or not snapshot.exists or not _can_see(hold := snapshot.to_dict(), user):
        raise _not_found()
    return view(hold)


def _finish(hold_id, *, target, only_if_expired):
    """End an active hold and free its claims, in one transaction. Returns (hold, changed)."""
    ref = hold_ref(hold_id)

    @firestore.transactional
    def finish(transaction):
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return None, False
        hold = snapshot.to_dict()
        now = utcnow()
        if hold["state"] != HoldState.ACTIVE or (only_if_expired and hold["expires_at"] > now):
            return hold, False
        state = HoldState.EXPIRED if hold["expires_at"] <= now else target
        owned = [units.unit_ref(d) for d in hold["unit_ids"]] + [db().collection(HOLD_SLOTS).document(hold["slot_id"])]
        for claim in transaction.get_all(owned):
            # A claim taken over after this hold expired belongs to someone else now.
            if claim.exists and claim.get("hold_id") == hold_id and claim.to_dict().get("state") != UnitState.SOLD:
                transaction.delete(claim.reference)
        transaction.update(ref, {"state": str(state), "updated_at": now})
        return {**hold, "state": str(state), "updated_at": now}, True

    hold, changed = finish(db().transaction())
    if changed:
        for item in hold["items"]:
            HINT.forget(item["ticket_type_id"], item["units"])
        logger.info("hold %s hold=%s event=%s", hold["state"], hold_id, hold["event_id"])
        hold_changed.send(hold)
    return hold, changed


def release_hold(hold_id, user):
    """The buyer gives the hold up; its units are free at once. Releasing again changes nothing."""
    get_hold(hold_id, user)
    hold, _ = _finish(hold_id, target=HoldState.RELEASED, only_if_expired=False)
    return view(hold)


def expire_holds(*, page=SWEEP_PAGE):
    """Scheduler job: mark expired holds and delete their claims. Returns how many it ended.

    Reads only expired active holds (an index on state and expires_at), so
    its cost follows the number of expired holds, not of all holds. Safe to
    run twice or concurrently: each hold ends in its own transaction that
    re-checks it is still active and expired.
    """
    ended = 0
    while True:
        now = utcnow()
        query = (db().collection(HOLDS)
                 .where(filter=FieldFilter("state", "==", HoldState.ACTIVE))
                 .where(filter=FieldFilter("expires_at", "<=", now))
                 .order_by("expires_at").limit(page))
        ids = [doc.id for doc in query.select([]).stream()]
        for hold_id in ids:
            try:
                ended += _finish(hold_id, target=HoldState.EXPIRED, only_if_expired=True)[1]
            except gexc.Aborted:
                # Another sweeper or the buyer holds this hold's documents; whoever commits ends it.
                logger.info("expiry of hold %s left to a concurrent transaction", hold_id)
        if len(ids) < page:
            return ended


def count_taken_units(event_id, ticket_type_id):
    """Units of the ticket type that are sold or in an unexpired hold."""
    return units.count_live_units(ticket_type_id, utcnow(), exclude_retired=True)


def get_availability(event_id, *, viewer=None):
    """Remaining units per ticket type and, for seated ones, each seat's state, as of now."""
    event = events.get_event(event_id, viewer=viewer)
    now = utcnow()
    result = []
    for ticket_type in events.live_ticket_types(event_id):
        all_units = sellable_units(event, ticket_type)
        entry = {"ticket_type_id": ticket_type["id"], "name": ticket_type["name"], "kind": ticket_type["kind"],
                 "capacity": ticket_type["capacity"]}
        if ticket_type["kind"] == "seated":
            live = units.live_units(ticket_type["id"], now)
            states = {u: state for u, (state, _) in live.items()}
            entry["seats"] = [{"id": seat, "state": "unavailable" if states.get(seat) == UnitState.RETIRED
                               else states.get(seat, "available")} for seat in all_units]
            entry["remaining"] = sum(1 for s in entry["seats"] if s["state"] == "available")
        else:
            entry["remaining"] = max(0, len(all_units) - units.count_live_units(ticket_type["id"], now))
        result.append(entry)
    return {"event_id": event_id, "event_status": event["status"], "as_of": now, "ticket_types": result}
