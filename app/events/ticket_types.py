"""Ticket types: what an event sells, at what price, how many, when, and for which seats."""
import logging
from enum import StrEnum

from google.api_core import exceptions as gexc
from google.cloud import firestore

from app import readcache
from app.audit import service as audit
from app.errors import AppError, field_error
from app.events import service as events
from app.events.service import TICKET_TYPES
from app.events.signals import ticket_types_changed
from app.firebase import db
from app.inventory import capacity as resizing
from app.inventory import units
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

MAX_PER_EVENT = 50


class TicketKind(StrEnum):
    GENERAL_ADMISSION = "general_admission"
    SEATED = "seated"


def _family(event_id):
    return f"event:{event_id}:ticket_types"


def _not_found():
    return AppError("not_found", "No such ticket type.")


def _ref(event_id, ticket_type_id):
    if not events.DOCUMENT_ID.fullmatch(ticket_type_id):
        raise _not_found()
    return events.event_ref(event_id).collection(TICKET_TYPES).document(ticket_type_id)


def cached_live(event_id):
    """The event's live ticket types through the read cache, which every change here invalidates. Holds plan
    from it: a hold that read a definition just before it changed claims units as a buyer a moment earlier
    would have (``inventory.capacity`` retires the units a lower capacity takes away)."""
    return readcache.cached(_family(event_id), "list", lambda: events.live_ticket_types(event_id))


def list_ticket_types(event_id, *, viewer=None):
    events.get_event(event_id, viewer=viewer)
    return cached_live(event_id)


def get_ticket_type(event_id, ticket_type_id, *, viewer=None):
    """One live ticket type of an event the viewer may see (drafts: their organizer and admins)."""
    for ticket_type in list_ticket_types(event_id, viewer=viewer):
        if ticket_type["id"] == ticket_type_id:
            return ticket_type
    raise _not_found()


def _in_transaction(event_id, user, work):
    """Run work(event, transaction) for an open event the user manages, in one transaction."""
    ref = events.event_ref(event_id)

    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        event = snapshot.to_dict() if snapshot.exists else None
        events.require_manageable(event, user)
        events.require_open(event)
        return work(event, transaction)

    result = apply(db().transaction())
    readcache.invalidate(_family(event_id))
    ticket_types_changed.send(event_id)
    return result


def _audit(action, user, event_id, ticket_type_id, before, after, transaction, now):
    audit.record(action, actor_uid=user.uid, target=f"ticket_type/{event_id}/{ticket_type_id}", event_id=event_id,
                 before=before, after=after, transaction=transaction, now=now)


def unit_scope(event_id, ticket_type):
    """Where a ticket type's units are named: seats within their event, so no two ticket types ever sell one
    seat; general-admission units within their ticket type."""
    if ticket_type["kind"] == TicketKind.SEATED:
        return f"{event_id}/seat"
    return f"{event_id}/{ticket_type['id']}"


def _taken(ticket_type_id):
    """Units of the ticket type that are sold or in an unexpired hold or unpaid order."""
    return units.count_live_units(ticket_type_id, utcnow(), exclude_retired=True)


def _check_sales_window(starts, ends, event):
    if ends and ends > event["starts_at"]:
        raise field_error("sales_ends_at", "Sales must end by the time the event starts.")
    if starts and starts >= (ends or event["starts_at"]):
        raise field_error("sales_starts_at", "Sales must start before they end and before the event starts.")


def _check_currency(currency, others):
    used = {t["currency"] for t in others}
    if used and currency not in used:
        raise field_error("currency", f"All ticket types of an event use one currency ({', '.join(sorted(used))}).")


def _seats(event, sections, others):
    """The seats of the sections, after checking the venue has them and no other ticket type sells them."""
    venue = venues.get_venue(event["venue_id"])
    known = {s["id"] for s in (venue.get("seat_map") or {}).get("sections", [])}
    if unknown := sorted(set(sections) - known):
        raise field_error("sections", f"The venue's seat map has no section {', '.join(unknown)}.")
    taken = sorted(set(sections) & {s for t in others for s in t.get("sections") or []})
    if taken:
        raise AppError("section_taken", "Another ticket type of this event already sells these sections.",
                       details={"sections": taken})
    return venues.list_seats(venue, sections)


def create_ticket_type(event_id, user, *, name, price, currency, kind, capacity=None, sections=None,
                       per_order_limit=10, allow_reentry=False, service_fee=0, tax_category=None,
                       sales_starts_at=None, sales_ends_at=None, ticket_type_id=None):
    if ticket_type_id:
        ref = _ref(event_id, ticket_type_id)
    else:
        ref = events.event_ref(event_id).collection(TICKET_TYPES).document()

    def work(event, transaction):
        others = events.live_ticket_types(event_id, transaction=transaction)
        if len(others) >= MAX_PER_EVENT:
            raise AppError("too_many_ticket_types", f"An event has at most {MAX_PER_EVENT} ticket types.")
        _check_currency(currency, others)
        _check_sales_window(sales_starts_at, sales_ends_at, event)
        now = utcnow()
        seated = kind == TicketKind.SEATED
        if seated:
            seats = _seats(event, sections, others)
            # Seats a deleted or changed ticket type retired come back on sale here.
            resizing.resize_named(transaction, ref.id, unit_scope(event_id, {"id": ref.id, "kind": kind}), [],
                                  seats)
        ticket_type = {
            "id": ref.id, "event_id": event_id, "name": name, "price": price, "currency": currency,
            "kind": kind, "sections": sorted(set(sections)) if seated else None,
            "capacity": len(seats) if seated else capacity,
            "per_order_limit": per_order_limit, "allow_reentry": allow_reentry, "service_fee": service_fee,
            "tax_category": tax_category, "sales_starts_at": sales_starts_at,
            "sales_ends_at": sales_ends_at, "created_at": now, "updated_at": now, "deleted_at": None,
        }
        transaction.create(ref, ticket_type)
        _audit("ticket_type.created", user, event_id, ref.id, None, ticket_type, transaction, now)
        return ticket_type

    try:
        ticket_type = _in_transaction(event_id, user, work)
    except gexc.AlreadyExists:
        raise AppError("already_exists", "A ticket type with this id exists.") from None
    logger.info("ticket type created event=%s ticket_type=%s", event_id, ticket_type["id"])
    return ticket_type


def _read_live(ref, transaction):
    snapshot = ref.get(transaction=transaction)
    ticket_type = snapshot.to_dict() if snapshot.exists else None
    if ticket_type is None or ticket_type.get("deleted_at"):
        raise _not_found()
    return ticket_type


def update_ticket_type(event_id, ticket_type_id, user, **changes):
    ref = _ref(event_id, ticket_type_id)

    def work(event, transaction):
        current = _read_live(ref, transaction)
        others = [t for t in events.live_ticket_types(event_id, transaction=transaction)
                  if t["id"] != ticket_type_id]
        merged = {**current, **changes}
        if "currency" in changes and changes["currency"] != current["currency"]:
            _check_currency(changes["currency"], others)
            if any(_taken(t["id"]) for t in [current, *others]):
                raise AppError("currency_locked", "Tickets of this event are sold or held in "
                               f"{current['currency']}; its currency can no longer change.")
        _check_sales_window(merged["sales_starts_at"], merged["sales_ends_at"], event)
        updates = dict(changes)
        if current["kind"] == TicketKind.SEATED:
            if "capacity" in changes:
                raise field_error("capacity", "A seated ticket type takes its capacity from its sections.")
            if "sections" in changes:
                seats = _seats(event, changes["sections"], others)
                old_seats = _seats(event, current["sections"], [])
                resizing.resize_named(transaction, ticket_type_id, unit_scope(event_id, current), old_seats, seats)
                updates["sections"] = sorted(set(changes["sections"]))
                updates["capacity"] = len(seats)
        elif "sections" in changes:
            raise field_error("sections", "Only seated ticket types have sections.")
        elif changes.get("capacity", current["capacity"]) != current["capacity"]:
            updates.update(resizing.resize_numbered(
                transaction, ticket_type_id, unit_scope(event_id, current),
                unit_count=current.get("unit_count") or current["capacity"], capacity=current["capacity"],
                new_capacity=changes["capacity"]))
        updates["updated_at"] = utcnow()
        transaction.update(ref, updates)
        before, after = audit.changed(current, {k: v for k, v in updates.items() if k != "updated_at"})
        _audit("ticket_type.updated", user, event_id, ticket_type_id, before, after, transaction, updates["updated_at"])
        return {**current, **updates}

    ticket_type = _in_transaction(event_id, user, work)
    logger.info("ticket type updated event=%s ticket_type=%s fields=%s", event_id, ticket_type_id, sorted(changes))
    return ticket_type


def delete_ticket_type(event_id, ticket_type_id, user):
    ref = _ref(event_id, ticket_type_id)

    def work(event, transaction):
        _read_live(ref, transaction)
        if taken := _taken(ticket_type_id):
            raise AppError("ticket_type_in_use", f"{taken} units are already sold or held.",
                           details={"taken": taken})
        resizing.restore_retired(transaction, ticket_type_id)
        now = utcnow()
        transaction.update(ref, {"deleted_at": now, "updated_at": now})
        _audit("ticket_type.deleted", user, event_id, ticket_type_id, {"deleted_at": None}, {"deleted_at": now},
               transaction, now)

    _in_transaction(event_id, user, work)
    logger.info("ticket type deleted event=%s ticket_type=%s", event_id, ticket_type_id)
