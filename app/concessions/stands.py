"""Stands: where a venue sells food, drinks and merchandise, open for chosen events, with their own staff.

A stand belongs to a venue; the venue's owner and admins manage it, its menu
and who works it. Its staff are staff of the venue assigned to this stand: they
see and work its queue only. A stand is open for the events it lists
(``event_ids``, events at its venue); when such an event completes or is
cancelled the stand is closed for it (``close_event_stands``). Whether it sells
right now is also read from the event itself, so a late close never sells past
the event's end.
"""
import logging
import re
from enum import StrEnum

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.auth import Role
from app.concessions import records
from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db
from app.pagination import fetch_page
from app.textfold import fold
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

STANDS = "concession_stands"
MAX_STAFF = 50
MAX_EVENTS = 200
DOCUMENT_ID = re.compile(r"(?!__.*__\Z)[A-Za-z0-9_-]{1,64}")


class StandKind(StrEnum):
    FOOD = "food"
    BAR = "bar"
    MERCHANDISE = "merchandise"


def not_found():
    return AppError("not_found", "No such stand.")


def stand_ref(stand_id):
    # Firestore rejects some ids ("..", "__x__"); a URL should answer 404, not 500.
    if not DOCUMENT_ID.fullmatch(stand_id):
        raise not_found()
    return db().collection(STANDS).document(stand_id)


def read_stand(stand_id):
    """The live stand as stored; 404 when missing or deleted."""
    snapshot = stand_ref(stand_id).get()
    stand = snapshot.to_dict() if snapshot.exists else None
    if stand is None or stand.get("deleted_at"):
        raise not_found()
    return stand


def can_manage_stand(user, stand):
    """The venue's owner and admins manage its stands."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    try:
        return venues.can_manage_venue(user, venues.get_venue(stand["venue_id"]))
    except AppError:
        return False


def can_work_stand(user, stand):
    """Those who work the stand's queue: its own staff (still staff of its venue), its managers."""
    return can_manage_stand(user, stand) or (
        user is not None and user.role == Role.STAFF and user.uid in stand["staff_uids"]
        and venues.is_venue_staff(stand["venue_id"], user.uid))


def require_worker(stand_id, user):
    stand = read_stand(stand_id)
    if not can_work_stand(user, stand):
        raise AppError("forbidden", "Only this stand's staff, its venue's owner and admins work its queue.")
    return stand


def require_manager(stand_id, user):
    stand = read_stand(stand_id)
    if not can_manage_stand(user, stand):
        raise AppError("forbidden", "Only the venue's owner or an admin manages its stands.")
    return stand


def view(stand, viewer=None):
    shown = {k: v for k, v in stand.items() if k not in {"staff_uids", "name_key"}}
    if can_manage_stand(viewer, stand):
        shown["staff"] = stand["staff_uids"]
    return shown


def get_stand(stand_id, *, viewer=None):
    stand = read_stand(stand_id)
    if not stand["active"] and not can_manage_stand(viewer, stand):
        raise not_found()
    return view(stand, viewer)


def is_open_for(stand, event, now):
    """Whether the stand takes orders for the event now: listed, active, the event published and not over."""
    return (stand["active"] and not stand.get("deleted_at") and event["id"] in stand["event_ids"]
            and event["status"] == events.EventStatus.PUBLISHED and now < event["ends_at"])


def list_stands(venue_id, *, viewer=None, limit, cursor=None):
    """The venue's stands by name: active ones for everyone, all of them for its managers."""
    venue = venues.get_venue(venue_id)
    query = (db().collection(STANDS).where(filter=FieldFilter("venue_id", "==", venue_id))
             .where(filter=FieldFilter("deleted_at", "==", None)))
    if not (viewer is not None and (viewer.role == Role.ADMIN or venues.can_manage_venue(viewer, venue))):
        query = query.where(filter=FieldFilter("active", "==", True))
    query = query.order_by("name_key").order_by("__name__")
    items, next_cursor = fetch_page(query, {"name_key": str}, limit=limit, cursor=cursor)
    return {"items": [view(stand, viewer) for stand in items], "next_cursor": next_cursor}


def list_event_stands(event_id, *, viewer=None, limit, cursor=None):
    """The active stands open for a published event, by name: where its audience can order."""
    events.get_event(event_id, viewer=viewer)
    query = (db().collection(STANDS).where(filter=FieldFilter("event_ids", "array_contains", event_id))
             .where(filter=FieldFilter("deleted_at", "==", None))
             .where(filter=FieldFilter("active", "==", True)).order_by("name_key").order_by("__name__"))
    items, next_cursor = fetch_page(query, {"name_key": str}, limit=limit, cursor=cursor)
    return {"items": [view(stand, viewer) for stand in items], "next_cursor": next_cursor}


def _check_events(venue_id, event_ids, user):
    """Events a stand may open for: at its venue, and neither cancelled nor completed."""
    if len(set(event_ids)) > MAX_EVENTS:
        raise field_error("event_ids", f"A stand opens for at most {MAX_EVENTS} events.")
    for event_id in sorted(set(event_ids)):
        try:
            event = events.get_event(event_id, viewer=user)
        except AppError:
            raise field_error("event_ids", f"No such event: {event_id}.") from None
        if event["venue_id"] != venue_id:
            raise field_error("event_ids", f"Event {event_id} is not at this stand's venue.")
        if event["status"] in events.CLOSED:
            raise field_error("event_ids", f"Event {event_id} is {event['status']}.")
    return sorted(set(event_ids))


def create_stand(venue_id, user, *, name, kind, currency, description="", location="", event_ids=(),
                 delivers_to_seats=False, service_fee=0, takes_tips=True, active=True, stand_id=None):
    venue = venues.get_venue(venue_id)
    if not venues.can_manage_venue(user, venue):
        raise AppError("forbidden", "Only the venue's owner or an admin adds stands to it.")
    ref = stand_ref(stand_id) if stand_id else db().collection(STANDS).document()
    now = utcnow()
    stand = {"id": ref.id, "venue_id": venue_id, "name": name, "name_key": fold(name), "kind": str(kind),
             "description": description, "location": location, "currency": currency,
             "event_ids": _check_events(venue_id, event_ids, user), "closed_event_ids": [],
             "delivers_to_seats": delivers_to_seats, "service_fee": service_fee, "takes_tips": takes_tips,
             "active": active, "staff_uids": [], "created_at": now, "updated_at": now, "deleted_at": None}
    try:
        ref.create(stand)
    except gexc.AlreadyExists:
        raise AppError("already_exists", "A stand with this id exists.") from None
    logger.info("stand created stand=%s venue=%s", ref.id, venue_id)
    return view(stand, user)


def change_stand(stand_id, user, change):
    """Apply change(stand, transaction) -> updates to a fresh read of a stand the user manages."""
    ref = stand_ref(stand_id)

    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        stand = snapshot.to_dict() if snapshot.exists else None
        if stand is None or stand.get("deleted_at"):
            raise not_found()
        if not can_manage_stand(user, stand):
            raise AppError("forbidden", "Only the venue's owner or an admin manages its stands.")
        updates = {**change(stand, transaction), "updated_at": utcnow()}
        transaction.update(ref, updates)
        return {**stand, **updates}

    return apply(db().transaction())


def update_stand(stand_id, user, **changes):
    def change(stand, transaction):
        updates = dict(changes)
        if "name" in changes:
            updates["name_key"] = fold(changes["name"])
        if "event_ids" in changes:
            updates["event_ids"] = _check_events(stand["venue_id"], changes["event_ids"], user)
        return updates

    stand = change_stand(stand_id, user, change)
    logger.info("stand updated stand=%s fields=%s", stand_id, sorted(changes))
    return view(stand, user)


def delete_stand(stand_id, user):
    """Soft-delete a stand that has no order waiting for its staff; its past orders and stats stay."""
    def change(stand, transaction):
        if records.has_open_orders(stand_id):
            raise AppError("stand_in_use", "The stand still has orders to prepare or hand over.")
        return {"deleted_at": utcnow(), "active": False}

    change_stand(stand_id, user, change)
    logger.info("stand deleted stand=%s", stand_id)


def add_stand_staff(stand_id, user, staff_uid):
    def change(stand, transaction):
        if not venues.is_venue_staff(stand["venue_id"], staff_uid):
            raise field_error("uid", "Only staff of the stand's venue can work at its stands.")
        if staff_uid not in stand["staff_uids"] and len(stand["staff_uids"]) >= MAX_STAFF:
            raise AppError("too_many_staff", f"A stand has at most {MAX_STAFF} staff.")
        return {"staff_uids": sorted({*stand["staff_uids"], staff_uid})}

    stand = change_stand(stand_id, user, change)
    logger.info("stand staff added stand=%s uid=%s", stand_id, staff_uid)
    return {"stand_id": stand_id, "staff": stand["staff_uids"]}


def remove_stand_staff(stand_id, user, staff_uid):
    change_stand(stand_id, user, lambda stand, _: {"staff_uids": [u for u in stand["staff_uids"] if u != staff_uid]})
    logger.info("stand staff removed stand=%s uid=%s", stand_id, staff_uid)


def close_event_stands(event_id):
    """The event is over (completed or cancelled): every stand open for it closes for it. Safe to repeat."""
    closed = 0
    query = db().collection(STANDS).where(filter=FieldFilter("event_ids", "array_contains", event_id))
    for snapshot in query.stream():
        snapshot.reference.update({"event_ids": firestore.ArrayRemove([event_id]),
                                   "closed_event_ids": firestore.ArrayUnion([event_id]), "updated_at": utcnow()})
        closed += 1
        logger.info("stand closed stand=%s event=%s", snapshot.id, event_id)
    return closed
