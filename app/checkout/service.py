"""Reading and ending holds: the buyer's release, the scheduler's expiry sweep, an event's cancellation.

Expiry takes effect when availability is read (a claim past ``live_until``
is free to the next buyer); the sweep only tidies expired holds up and keeps
reads small.
"""
import logging

from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.checkout.holds import HOLD_SLOTS, HOLDS, HoldState, hold_ref, view
from app.checkout.signals import hold_changed
from app.errors import AppError
from app.events import service as events
from app.firebase import db, left_to_concurrent_writer
from app.inventory import claims, units
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

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


def _held_units(hold):
    return [claim for line in hold["items"] for claim in line["claims"]]


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
        claims.release_hold(transaction, transaction.get_all(owned), hold_id, now)
        transaction.update(ref, {"state": str(state), "updated_at": now})
        return {**hold, "state": str(state), "updated_at": now}, True

    hold, changed = finish(db().transaction())
    if changed:
        claims.forget(_held_units(hold))
        logger.info("hold %s hold=%s event=%s", hold["state"], hold_id, hold["event_id"])
        hold_changed.send(hold)
    return hold, changed


def release_hold(hold_id, user):
    """The buyer gives the hold up; its units are free at once. Releasing again changes nothing."""
    get_hold(hold_id, user)
    hold, _ = _finish(hold_id, target=HoldState.RELEASED, only_if_expired=False)
    return view(hold)


def _end_each(query, *, target, only_if_expired, page):
    ended = 0
    while True:
        ids = [doc.id for doc in query.limit(page).select([]).stream()]
        for hold_id in ids:
            with left_to_concurrent_writer("ending hold %s left to a concurrent transaction", hold_id):
                ended += _finish(hold_id, target=target, only_if_expired=only_if_expired)[1]
        if len(ids) < page:
            return ended


def expire_holds(*, page=SWEEP_PAGE):
    """Scheduler job: mark expired holds and delete their claims. Returns how many it ended.

    Reads only expired active holds (an index on state and expires_at), so
    its cost follows the number of expired holds, not of all holds. Safe to
    run twice or concurrently: each hold ends in its own transaction that
    re-checks it is still active and expired.
    """
    query = (db().collection(HOLDS).where(filter=FieldFilter("state", "==", HoldState.ACTIVE))
             .where(filter=FieldFilter("expires_at", "<=", utcnow())).order_by("expires_at"))
    return _end_each(query, target=HoldState.EXPIRED, only_if_expired=True, page=page)


def release_event_holds(event_id, *, page=SWEEP_PAGE):
    """The event is cancelled: every active hold for it is released. Safe to run again."""
    query = (db().collection(HOLDS).where(filter=FieldFilter("event_id", "==", event_id))
             .where(filter=FieldFilter("state", "==", HoldState.ACTIVE)))
    return _end_each(query, target=HoldState.RELEASED, only_if_expired=False, page=page)
