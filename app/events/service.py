"""Events: records, who may see and change them, search and the public lists.

Ticket types live in a subcollection of their event; their changes are in
``ticket_types``, the status changes in ``lifecycle``.
"""
import hashlib
import json
import logging
import re
from datetime import datetime
from enum import StrEnum

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import FieldFilter

from app import readcache
from app.audit import service as audit
from app.auth import Role
from app.errors import AppError, field_error
from app.events.search import query_terms, search_terms
from app.firebase import db
from app.pagination import fetch_page
from app.textfold import fold
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

EVENTS = "events"
TICKET_TYPES = "ticket_types"
LIST_FAMILY = "events:list"
DEFAULT_REMINDERS_MINUTES = [24 * 60, 2 * 60]
DOCUMENT_ID = re.compile(r"(?!__.*__\Z)[A-Za-z0-9_-]{1,64}")
BATCH_SIZE = 400
AUDITED_ON_CREATE = ("title", "venue_id", "organizer_uid", "status", "starts_at", "ends_at", "timezone")


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


CLOSED = {EventStatus.CANCELLED, EventStatus.COMPLETED}


def not_found():
    return AppError("not_found", "No such event.")


def event_ref(event_id):
    # Firestore rejects some ids ("..", "__x__"); a URL should answer 404, not 500.
    if not DOCUMENT_ID.fullmatch(event_id):
        raise not_found()
    return db().collection(EVENTS).document(event_id)


def _family(event_id):
    return f"event:{event_id}"


def invalidate(event_id):
    readcache.invalidate(_family(event_id), LIST_FAMILY)


def can_manage_event(user, event):
    """Owner (the organizer who created it) or admin: may change the event, its ticket types, refunds."""
    return user is not None and (
        user.role == Role.ADMIN or (user.role == Role.ORGANIZER and event["organizer_uid"] == user.uid))


def manages_event(user, event_id):
    """Whether the user organizes the event (or is an admin). A deleted event's orders, refunds and tickets
    are still its organizer's to manage, so this sees deleted events too."""
    if user is None or user.role not in (Role.ADMIN, Role.ORGANIZER):
        return False
    try:
        event = _record(event_id)
    except AppError:
        return False
    return event is not None and can_manage_event(user, event)


def managed_event(event_id, user):
    """The event, deleted or not, for its organizer and admins: what they manage its sales by.
    404 for events the user cannot see, 403 for those they only see."""
    try:
        event = _record(event_id)
    except AppError:
        event = None
    if event is not None and event.get("deleted_at") and can_manage_event(user, event):
        return event
    require_manageable(event, user)
    return event


def sales_scope(user, *, event_id=None):
    """The equality filters that bound a list of sales (orders, tickets) to what ``user`` manages: one event
    (deleted or not; 404 or 403 as for the event itself), an organizer's events (``organizer_uid``, copied onto
    each sale), or, for admins, nothing."""
    if event_id is not None:
        managed_event(event_id, user)
        return [("event_id", event_id)]
    if user.role == Role.ADMIN:
        return []
    if user.role == Role.ORGANIZER:
        return [("organizer_uid", user.uid)]
    raise AppError("forbidden", "Only organizers and admins list the sales of events.")


def find_event(event_id):
    """The stored event, deleted or not, or None: for domains that keep figures about it."""
    try:
        return _record(event_id)
    except AppError:
        return None


def organized_events(organizer_uid):
    """Every event of an organizer, deleted ones included, by start time."""
    query = db().collection(EVENTS).where(filter=FieldFilter("organizer_uid", "==", organizer_uid))
    return sorted((doc.to_dict() for doc in query.stream()), key=lambda e: (e["starts_at"], e["id"]))


def can_work_event(user, event):
    """Those who may run the door: the owner, admins, and staff assigned to the event's venue."""
    return can_manage_event(user, event) or (
        user is not None and user.role == Role.STAFF and venues.is_venue_staff(event["venue_id"], user.uid))


def _visible(event, viewer):
    if event is None or event.get("deleted_at"):
        return False
    return event["status"] != EventStatus.DRAFT or can_manage_event(viewer, event)


def require_manageable(event, user):
    """404 for events the user cannot see (drafts stay secret), 403 for those they only see."""
    if not _visible(event, user):
        raise not_found()
    if not can_manage_event(user, event):
        raise AppError("forbidden", "Only the event's organizer or an admin may change it.")


def require_open(event):
    if event["status"] in CLOSED:
        raise AppError("event_closed", f"The event is {event['status']} and can no longer change.",
                       details={"status": event["status"]})


def _record(event_id):
    """The stored event, deleted or not, through the read cache; None when there is none."""
    def read():
        snapshot = event_ref(event_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    return readcache.cached(_family(event_id), "record", read)


def get_event(event_id, *, viewer=None):
    """A published, cancelled or completed event; drafts only for their owner and admins."""
    event = _record(event_id)
    if not _visible(event, viewer):
        raise not_found()
    return event


def read_event(tx, event_id):
    """The event as stored, read inside the caller's transaction (past every cache): a sale racing a
    cancellation is serialised with it. None when there is none."""
    snapshot = tx.get(event_ref(event_id))
    return snapshot.to_dict() if snapshot.exists else None


def cancelled_since(moment):
    """Ids of events cancelled at or after ``moment``, oldest first."""
    query = db().collection(EVENTS).where(filter=FieldFilter("cancelled_at", ">=", moment)).order_by("cancelled_at")
    return [doc.id for doc in query.select([]).stream()]


def live_ticket_types(event_id, *, transaction=None):
    """The event's ticket types that are not deleted, oldest first."""
    query = event_ref(event_id).collection(TICKET_TYPES).where(filter=FieldFilter("deleted_at", "==", None))
    docs = query.stream(transaction=transaction) if transaction else query.stream()
    return sorted((doc.to_dict() for doc in docs), key=lambda t: (t["created_at"], t["id"]))


def _check_times(starts_at, ends_at, *, starts_changed):
    if starts_changed and starts_at <= utcnow():
        raise field_error("starts_at", "The event must start in the future.")
    if ends_at <= starts_at:
        raise field_error("ends_at", "The event must end after it starts.")


def _terms(event):
    return search_terms(title=event["title"], venue_name=event["venue_name"], category=event["category"],
                        description=event["description"])


def _with_venue(event, venue):
    event = {**event, "venue_name": venue["name"], "city": venue["city"], "city_key": venue["city_key"],
             "country": venue["country"]}
    return {**event, "search_terms": _terms(event)}


def create_event(user, *, venue_id, title, category, starts_at, ends_at, timezone, description="",
                 reminder_offsets_minutes=None, event_id=None):
    try:
        venue = venues.get_venue(venue_id)
    except AppError:
        raise field_error("venue_id", "No such venue.") from None
    if not venues.can_host_events(user, venue_id):
        raise AppError("forbidden", "Events at a venue are created by its owner, organizers it admits, and admins.")
    _check_times(starts_at, ends_at, starts_changed=True)
    ref = event_ref(event_id) if event_id else db().collection(EVENTS).document()
    now = utcnow()
    event = _with_venue({
        "id": ref.id, "organizer_uid": user.uid, "venue_id": venue_id, "title": title,
        "description": description, "category": category, "starts_at": starts_at, "ends_at": ends_at,
        "timezone": timezone, "status": EventStatus.DRAFT.value,
        "reminder_offsets_minutes": sorted(set(reminder_offsets_minutes or DEFAULT_REMINDERS_MINUTES),
                                           reverse=True),
        "created_at": now, "updated_at": now, "published_at": None, "cancelled_at": None,
        "completed_at": None, "deleted_at": None,
    }, venue)
    batch = db().batch()
    batch.create(ref, event)
    audit.record("event.created", actor_uid=user.uid, target=f"event/{ref.id}", event_id=ref.id,
                 after={k: event[k] for k in AUDITED_ON_CREATE}, transaction=batch, now=now)
    try:
        batch.commit()
    except gexc.AlreadyExists:
        raise AppError("already_exists", "An event with this id exists.") from None
    logger.info("event created event=%s organizer=%s venue=%s", ref.id, user.uid, venue_id)
    return event


# Derived from the audited fields; an audit entry shows the fields themselves.
UNAUDITED = ("updated_at", "search_terms")


def change_event(event_id, user, change, *, audit_action):
    """Apply change(event, transaction) -> updates to a fresh read of an event the user manages, in one
    transaction with its audit entry; caches are invalidated once it commits."""
    ref = event_ref(event_id)

    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        event = snapshot.to_dict() if snapshot.exists else None
        require_manageable(event, user)
        updates = {**change(event, transaction), "updated_at": utcnow()}
        transaction.update(ref, updates)
        before, after = audit.changed(event, {k: v for k, v in updates.items() if k not in UNAUDITED})
        audit.record(audit_action, actor_uid=user.uid, target=f"event/{event_id}", event_id=event_id, before=before,
                     after=after, transaction=transaction, now=updates["updated_at"])
        return {**event, **updates}

    event = apply(db().transaction())
    invalidate(event_id)
    return event


def update_event(event_id, user, **changes):
    if "reminder_offsets_minutes" in changes:
        changes["reminder_offsets_minutes"] = sorted(set(changes["reminder_offsets_minutes"]), reverse=True)

    def change(event, transaction):
        require_open(event)
        merged = {**event, **changes}
        _check_times(merged["starts_at"], merged["ends_at"],
                     starts_changed="starts_at" in changes and changes["starts_at"] != event["starts_at"])
        if "starts_at" in changes:
            start = merged["starts_at"]
            late = [t["id"] for t in live_ticket_types(event_id, transaction=transaction)
                    if (t["sales_ends_at"] and t["sales_ends_at"] > start)
                    or (t["sales_starts_at"] and t["sales_starts_at"] >= start)]
            if late:
                raise AppError("sales_window_conflict",
                               "Ticket sales would not be over by the new start; move their sales window first.",
                               details={"ticket_type_ids": late})
        if {"title", "category", "description"} & changes.keys():
            return {**changes, "search_terms": _terms(merged)}
        return changes

    event = change_event(event_id, user, change, audit_action="event.updated")
    logger.info("event updated event=%s fields=%s", event_id, sorted(changes))
    return event


def delete_event(event_id, user):
    def change(event, transaction):
        if event["status"] == EventStatus.PUBLISHED:
            raise AppError("invalid_transition", "Cancel a published event before deleting it.",
                           details={"from": event["status"], "to": "deleted"})
        return {"deleted_at": utcnow()}

    change_event(event_id, user, change, audit_action="event.deleted")
    logger.info("event deleted event=%s", event_id)


def has_active_events(venue_id):
    """Whether a draft or published event uses the venue."""
    for status in (EventStatus.DRAFT, EventStatus.PUBLISHED):
        query = (db().collection(EVENTS).where(filter=FieldFilter("venue_id", "==", venue_id))
                 .where(filter=FieldFilter("status", "==", status.value))
                 .where(filter=FieldFilter("deleted_at", "==", None)).limit(1))
        if any(True for _ in query.stream()):
            return True
    return False


def sync_venue_details(venue):
    """Copy a venue's new name, city or country onto its events, which are searched and shown by them."""
    query = db().collection(EVENTS).where(filter=FieldFilter("venue_id", "==", venue["id"]))
    changed, batch = [], db().batch()
    for doc in query.stream():
        event = _with_venue(doc.to_dict(), venue)
        batch.update(doc.reference, {k: event[k] for k in
                                     ("venue_name", "city", "city_key", "country", "search_terms")})
        changed.append(doc.id)
        if len(changed) % BATCH_SIZE == 0:
            batch.commit()
            batch = db().batch()
    batch.commit()
    for event_id in changed:
        readcache.invalidate(_family(event_id))
    readcache.invalidate(LIST_FAMILY)
    logger.info("venue details copied venue=%s events=%d", venue["id"], len(changed))


def list_events(*, viewer=None, q=None, city=None, category=None, organizer=None, starts_from=None,
                starts_to=None, status=EventStatus.PUBLISHED, limit, cursor=None):
    """Events by start time. Published ones are public; other statuses only for their organizer or admins."""
    if status != EventStatus.PUBLISHED and not (
            viewer is not None and (viewer.role == Role.ADMIN or (organizer and organizer == viewer.uid))):
        raise AppError("forbidden", "Only published events are listed publicly; organizers pass "
                       "organizer=<their uid> to list their own.")
    terms = query_terms(q) if q is not None else []
    if q is not None and not terms:
        raise field_error("q", "Search for words of at least two letters.")
    args = dict(q=q, city=city, category=category, organizer=organizer, starts_from=starts_from,
                starts_to=starts_to, status=status, limit=limit, cursor=cursor)

    def read():
        query = (db().collection(EVENTS).where(filter=FieldFilter("deleted_at", "==", None))
                 .where(filter=FieldFilter("status", "==", str(status))))
        for field, value in (("organizer_uid", organizer), ("city_key", city and fold(city)),
                             ("category", category)):
            if value:
                query = query.where(filter=FieldFilter(field, "==", value))
        if terms:
            query = query.where(filter=FieldFilter("search_terms", "array_contains", terms[0]))
        # Date bounds are cursors on the sort order, not range filters, so the query stays an
        # equality query that Firestore serves by merging the indexes in firestore.indexes.json.
        query = query.order_by("starts_at").order_by("__name__")
        if starts_from:
            query = query.start_at({"starts_at": starts_from})
        if starts_to:
            query = query.end_before({"starts_at": starts_to})
        keep = (lambda e: all(t in e["search_terms"] for t in terms[1:])) if len(terms) > 1 else None
        items, next_cursor = fetch_page(query, {"starts_at": datetime}, limit=limit, cursor=cursor, keep=keep)
        return {"items": items, "next_cursor": next_cursor}

    if status != EventStatus.PUBLISHED:
        return read()
    key = hashlib.sha256(json.dumps(args, default=str, sort_keys=True).encode()).hexdigest()
    return readcache.cached(LIST_FAMILY, key, read)
