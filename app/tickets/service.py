"""Tickets: one per admitted unit of a paid order, each with a code signed by its event's key.

Each event has its own Ed25519 key pair in ``ticket_keys`` (created on first
use with create-if-absent, so concurrent first sales agree on one key). The
private key never leaves the server: the API hands out only the public key,
for scanners to check codes offline. Firestore rules give clients no access
to the collection.
"""
import base64
import hashlib
import io
import logging
import threading
from datetime import datetime
from enum import StrEnum

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.orders import records as orders
from app.pagination import count, fetch_page, iter_pages, page_of
from app.tickets.codes import encode_public_key, sign_code
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

TICKETS = "tickets"
TICKET_KEYS = "ticket_keys"
ALGORITHM = "Ed25519"

_keys = {}
_keys_lock = threading.Lock()


class TicketState(StrEnum):
    VALID = "valid"
    VOIDED = "voided"


def _key_ref(event_id):
    return db().collection(TICKET_KEYS).document(event_id)


def _load_key(record):
    raw = base64.urlsafe_b64decode(record["private_key"] + "=" * (-len(record["private_key"]) % 4))
    return Ed25519PrivateKey.from_private_bytes(raw)


def get_signing_key(event_id):
    """The event's private key, created on first use; kept in memory once read."""
    with _keys_lock:
        if event_id in _keys:
            return _keys[event_id]
    ref = _key_ref(event_id)
    snapshot = ref.get()
    if not snapshot.exists:
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = encode_public_key(key.public_key())
        try:
            ref.create({"event_id": event_id, "algorithm": ALGORITHM, "key_id": public[:8], "public_key": public,
                        "private_key": base64.urlsafe_b64encode(raw).decode().rstrip("="),
                        "created_at": utcnow()})
        except gexc.AlreadyExists:
            pass
        snapshot = ref.get()
    key = _load_key(snapshot.to_dict())
    with _keys_lock:
        _keys[event_id] = key
    return key


def get_checkin_public_key(event_id):
    """``{event_id, algorithm, key_id, public_key}``: what a scanner needs to verify codes offline."""
    public = encode_public_key(get_signing_key(event_id).public_key())
    return {"event_id": event_id, "algorithm": ALGORITHM, "key_id": public[:8], "public_key": public}


def ticket_id_for(order_id, unit_id):
    """Derived from the order and unit, so issuing twice names the same tickets."""
    return hashlib.sha256(f"{order_id}/{unit_id}".encode()).hexdigest()[:32]


def ticket_ref(ticket_id):
    return db().collection(TICKETS).document(ticket_id)


def issue_ticket(tx, order, line, unit, signing_key, now):
    """Write the ticket of one unit of a paid order inside its transaction; returns what the buyer sees of it."""
    ticket_id = ticket_id_for(order["id"], unit["unit_id"])
    seat = unit["unit"] if isinstance(unit["unit"], str) else None
    ticket_type_id = line["details"]["ticket_type_id"]
    tx.set(ticket_ref(ticket_id), {
        "id": ticket_id, "event_id": order["event_id"], "organizer_uid": order.get("organizer_uid"),
        "order_id": order["id"], "holder_uid": order["buyer_uid"],
        "ticket_type_id": ticket_type_id, "ticket_type_name": line["name"], "seat": seat,
        "price": unit["amount"], "currency": order["currency"],
        "code": sign_code(signing_key, order["event_id"], ticket_id), "state": str(TicketState.VALID),
        "created_at": now, "updated_at": now, "voided_at": None, "used_at": None, "used_gate": None,
        "checked_in": False,
    })
    return {"id": ticket_id, "ticket_id": ticket_id, "ticket_type_id": ticket_type_id, "seat": seat}


def void_tickets(tx, ticket_ids, now):
    for ticket_id in ticket_ids:
        tx.update(ticket_ref(ticket_id), {"state": str(TicketState.VOIDED), "voided_at": now, "updated_at": now})


def mark_used(tx, ticket_id, *, at, gate):
    """Inside a check-in's transaction: the ticket admitted someone for the first time. ``updated_at`` stays:
    scanners learn of admissions from the check-ins they sync, not as a change of the ticket."""
    tx.update(ticket_ref(ticket_id), {"used_at": at, "used_gate": gate, "checked_in": True})


def _not_found():
    return AppError("not_found", "No such ticket.")


def _read_ticket(ticket_id, user):
    if len(ticket_id) != 32 or not ticket_id.isalnum():
        raise _not_found()
    snapshot = ticket_ref(ticket_id).get()
    if not snapshot.exists:
        raise _not_found()
    ticket = snapshot.to_dict()
    if ticket["holder_uid"] != user.uid and not events.manages_event(user, ticket["event_id"]):
        raise _not_found()
    return ticket


def views(tickets):
    """The tickets as readers see them: ``used`` (the first admission's time and gate) and ``voided`` (when, and
    why: the reason and id of the refund that voided it, read from its order)."""
    voided = [t for t in tickets if t["state"] == TicketState.VOIDED]
    refunds = orders.refunds_of_issued(t["order_id"] for t in voided) if voided else {}
    result = []
    for ticket in tickets:
        refund = refunds.get(ticket["id"]) or {}
        used = {"at": ticket["used_at"], "gate": ticket["used_gate"]} if ticket.get("used_at") else None
        result.append({**ticket, "used": used,
                       "voided": {"at": ticket["voided_at"], "reason": refund.get("reason"),
                                  "refund_id": refund.get("id")} if ticket["state"] == TicketState.VOIDED else None})
    return result


def get_ticket(ticket_id, user):
    """The holder's ticket; the event's organizer and admins see it too."""
    return views([_read_ticket(ticket_id, user)])[0]


def tickets_query(user, *, scope=None, order_id=None, event_id=None, checked_in=None):
    """Tickets newest first: the caller's (``own``), or (``managed``) those of the events the caller organizes,
    every ticket for admins; filtering by event means ``managed`` unless said otherwise."""
    scope = scope or ("managed" if event_id else "own")
    filters = [("holder_uid", user.uid)] if scope == "own" else events.sales_scope(user, event_id=event_id)
    if scope == "own" and event_id:
        filters.append(("event_id", event_id))
    if order_id:
        filters.append(("order_id", order_id))
    if checked_in is not None:
        filters.append(("checked_in", checked_in))
    query = db().collection(TICKETS)
    for field, value in filters:
        query = query.where(filter=FieldFilter(field, "==", value))
    return query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)


def list_tickets(user, *, scope=None, order_id=None, event_id=None, checked_in=None, with_total=False, limit,
                 cursor=None):
    """A page of tickets, newest first; ``total`` (when asked for) counts every ticket that matches."""
    query = tickets_query(user, scope=scope, order_id=order_id, event_id=event_id, checked_in=checked_in)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return page_of(views(items), next_cursor, count(query) if with_total else None)


def iter_event_tickets(event_id, user, *, size):
    """Every ticket of an event the user manages, a page at a time (for exports)."""
    for page in iter_pages(tickets_query(user, scope="managed", event_id=event_id), size):
        yield views(page)


def iter_own_tickets(user, *, size):
    for page in iter_pages(tickets_query(user, scope="own"), size):
        yield views(page)


def ticket_qr_svg(ticket_id, user):
    ticket = _read_ticket(ticket_id, user)
    buffer = io.BytesIO()
    segno.make(ticket["code"], error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def _event_tickets(event_id):
    return db().collection(TICKETS).where(filter=FieldFilter("event_id", "==", event_id))


def list_changed_tickets(event_id, *, since, after_id, limit):
    """An event's tickets in the order they last changed (issuing and voiding stamp ``updated_at``).

    Up to ``limit`` changed at or after ``since``, strictly after (since, after_id) when given: the
    offline scanners' sync pages through these.
    """
    query = _event_tickets(event_id)
    if since is not None:
        query = query.where(filter=FieldFilter("updated_at", ">=", since))
    query = query.order_by("updated_at").order_by("__name__").select(
        ["id", "ticket_type_id", "ticket_type_name", "seat", "state", "voided_at", "updated_at"])
    if after_id is not None:
        query = query.start_after({"updated_at": since, "__name__": after_id})
    return [doc.to_dict() for doc in query.limit(limit).stream()]


def valid_holders(event_id):
    """Uids holding at least one valid (not voided) ticket for the event."""
    query = _event_tickets(event_id).where(filter=FieldFilter("state", "==", str(TicketState.VALID)))
    return sorted({doc.get("holder_uid") for doc in query.select(["holder_uid"]).stream()})


def valid_ticket_ids(event_id, uid):
    query = (_event_tickets(event_id).where(filter=FieldFilter("holder_uid", "==", uid))
             .where(filter=FieldFilter("state", "==", str(TicketState.VALID))))
    return [doc.id for doc in query.select(["state"]).stream()]


def holds_seat(event_id, uid, seat):
    """Whether ``uid`` holds a valid ticket for ``seat`` at the event (where a stand may deliver)."""
    query = (_event_tickets(event_id).where(filter=FieldFilter("holder_uid", "==", uid))
             .where(filter=FieldFilter("seat", "==", seat))
             .where(filter=FieldFilter("state", "==", str(TicketState.VALID))))
    return any(True for _ in query.select([]).limit(1).stream())


def holders_at(event_id, moment):
    """Uids whose ticket was valid at ``moment``: an event cancelled and then refunded still owes every
    holder at the time of cancelling its notice."""
    docs = _event_tickets(event_id).select(["holder_uid", "voided_at"]).stream()
    return sorted({doc.get("holder_uid") for doc in docs
                   if doc.get("voided_at") is None or doc.get("voided_at") >= moment})
