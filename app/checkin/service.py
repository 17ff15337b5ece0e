"""Check-in at the gate: each scan gets one stable result, and a ticket is admitted once.

A ticket's first admission is the create-if-absent document
``checkin_entries/<ticket id>``; every scan is a document in ``checkin_scans``
named after the event and the scanner's nonce, holding the result it got. Both
are written in one transaction that also reads the ticket, so:

- two gates scanning one ticket at the same moment both read "no entry", and
  only one commit can create it; the other transaction is retried, sees the
  entry and answers ``already_checked_in``;
- a refund voiding the ticket and a scan of it are serialised on the ticket
  document, so a voided ticket is never admitted;
- a repeated nonce finds its scan document and gets the first result back,
  also when the first request committed but its response was lost.

Results are answers, not errors: the scanner shows them, so they come back as
200 with a stable ``result`` code. Counters for the stats are a few sharded
documents per event, incremented in the same transaction.
"""
import hashlib
import logging
import random
import threading
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError
from app.events import service as events
from app.events import ticket_types
from app.firebase import db
from app.pagination import iter_pages
from app.tickets import codes
from app.tickets import service as tickets
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

ENTRIES = "checkin_entries"
SCANS = "checkin_scans"
COUNTERS = "checkin_counters"
COUNTER_SHARDS = 8
# How far a scanner's clock may be off: offline scans are dated by it.
CLOCK_SKEW = timedelta(minutes=5)

_public_keys = {}
_public_keys_lock = threading.Lock()


class CheckinResult(StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"
    INVALID_SIGNATURE = "invalid_signature"
    VOID = "void"
    WRONG_EVENT = "wrong_event"
    NOT_VALID_YET = "not_valid_yet"


MESSAGES = {
    CheckinResult.OK: "Admit.",
    CheckinResult.ALREADY_CHECKED_IN: "This ticket was already checked in.",
    CheckinResult.INVALID_SIGNATURE: "This is not a genuine ticket code.",
    CheckinResult.VOID: "This ticket is void.",
    CheckinResult.WRONG_EVENT: "This ticket is for another event.",
    CheckinResult.NOT_VALID_YET: "Check-in for this event has not opened yet.",
}


class Source(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


def require_door(event_id, user):
    """The event, if the user may run its door (owner, admin, staff of its venue); 403 otherwise."""
    event = events.get_event(event_id, viewer=user)
    if not events.can_work_event(user, event):
        raise AppError("forbidden", "Only the event's organizer, admins and its venue's staff check people in.")
    return event


def checkin_opens_at(event):
    """Doors open CHECKIN_OPENS_MINUTES_BEFORE_START before the event starts; scans before are not_valid_yet."""
    return event["starts_at"] - timedelta(minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE_START"])


def get_checkin_key(event_id, user):
    require_door(event_id, user)
    return {**tickets.get_checkin_public_key(event_id), "format": "raw 32 bytes, unpadded base64url"}


def _public_key(event_id):
    with _public_keys_lock:
        key = _public_keys.get(event_id)
    if key is None:
        key = codes.public_key_from(tickets.get_checkin_public_key(event_id)["public_key"])
        with _public_keys_lock:
            _public_keys[event_id] = key
    return key


def read_code(event_id, code):
    """(ticket id or None, result or None): a result when the code alone decides the scan."""
    try:
        code_event, ticket_id, _, _ = codes.parse_code(code)
    except codes.InvalidTicketCode:
        return None, CheckinResult.INVALID_SIGNATURE
    # Other events' keys are not looked up: a code naming another event is refused either way, and the
    # scanner's message is more useful than "invalid".
    if code_event != event_id:
        return ticket_id, CheckinResult.WRONG_EVENT
    try:
        codes.verify_ticket_code(code, _public_key(event_id), event_id=event_id)
    except codes.InvalidTicketCode:
        return ticket_id, CheckinResult.INVALID_SIGNATURE
    return ticket_id, None


def entry_ref(ticket_id):
    return db().collection(ENTRIES).document(ticket_id)


def scan_id(event_id, nonce):
    return hashlib.sha256(f"{event_id}\n{nonce}".encode()).hexdigest()[:32]


def _scan_ref(event_id, nonce):
    return db().collection(SCANS).document(scan_id(event_id, nonce))


def counter_refs(event_id):
    return [db().collection(COUNTERS).document(f"{event_id}-{shard}") for shard in range(COUNTER_SHARDS)]


def _digest(code):
    return hashlib.sha256(code.encode()).hexdigest()[:32]


def _reentry_allowed(event_id, ticket_type_id):
    """Ticket types opt in with ``allow_reentry`` (off unless the organizer sets it)."""
    try:
        types = ticket_types.list_ticket_types(event_id)
    except AppError:
        return False
    return any(t["id"] == ticket_type_id and t.get("allow_reentry") for t in types)


def _ticket_view(ticket):
    return {key: ticket.get(key) for key in ("id", "ticket_type_id", "ticket_type_name", "seat")}


def _void_reason(event, ticket, scanned_at):
    if event["status"] == events.EventStatus.CANCELLED:
        return "event_cancelled"
    if ticket is None:
        return "unknown_ticket"
    # No scanner could read a code before it was issued: the scan was backdated, maybe to before a refund.
    if scanned_at + CLOCK_SKEW < ticket["created_at"]:
        return "backdated"
    # A ticket voided after an offline scanner admitted it was valid at the door.
    if ticket["state"] != tickets.TicketState.VALID and (ticket.get("voided_at") or scanned_at) <= scanned_at:
        return "refunded"
    return None


def _count(transaction, event_id, scan, result, *, first_entry=False, ticket=None, conflict=False):
    counts = {"event_id": event_id, "scans": firestore.Increment(1),
              "results": {str(result): firestore.Increment(1)}}
    if result == CheckinResult.OK:
        counts["gates"] = {scan["gate"]: firestore.Increment(1)}
        counts["entries"] = firestore.Increment(1)
        if first_entry:
            counts["checked_in"] = firestore.Increment(1)
            counts["ticket_types"] = {ticket["ticket_type_id"]: firestore.Increment(1)}
    if conflict:
        counts["conflicts"] = firestore.Increment(1)
    transaction.set(random.choice(counter_refs(event_id)), counts, merge=True)


def _first(entry):
    return {"at": entry["at"], "gate": entry["gate"], "source": entry["source"], "nonce": entry["nonce"]}


def _decide(transaction, event, ticket_id, scan, ticket_snap, entry_snap):
    """The outcome of a scan of a genuine code, writing the ticket's entry when it is admitted."""
    ticket = ticket_snap.to_dict() if ticket_snap.exists else None
    outcome = {"ticket": _ticket_view(ticket) if ticket else None}
    if reason := _void_reason(event, ticket, scan["scanned_at"]):
        return {**outcome, "result": CheckinResult.VOID, "reason": reason}
    if scan["scanned_at"] < (opens_at := checkin_opens_at(event)):
        return {**outcome, "result": CheckinResult.NOT_VALID_YET, "opens_at": opens_at}
    entry = {"ticket_id": ticket_id, "event_id": event["id"], "ticket_type_id": ticket["ticket_type_id"],
             "gate": scan["gate"], "at": scan["scanned_at"], "source": scan["source"], "nonce": scan["nonce"],
             "by_uid": scan["by_uid"], "entries": 1, "updated_at": scan["recorded_at"]}
    if not entry_snap.exists:
        transaction.create(entry_ref(ticket_id), entry)
        tickets.mark_used(transaction, ticket_id, at=scan["scanned_at"], gate=scan["gate"])
        return {**outcome, "result": CheckinResult.OK, "first_entry": True, "ticket_doc": ticket}
    first = entry_snap.to_dict()
    if _reentry_allowed(event["id"], ticket["ticket_type_id"]):
        transaction.update(entry_ref(ticket_id), {"entries": firestore.Increment(1), "last_at": scan["scanned_at"],
                                                  "last_gate": scan["gate"], "updated_at": scan["recorded_at"]})
        return {**outcome, "result": CheckinResult.OK, "reentry": True, "first_checkin": _first(first)}
    return {**outcome, "result": CheckinResult.ALREADY_CHECKED_IN, "first_checkin": _first(first)}


def record_scan(event, code, scan):
    """Judge one scan and record it once per nonce; the stored result of a repeated nonce otherwise.

    ``scan`` carries nonce, gate, scanned_at, source, by_uid and recorded_at.
    """
    ticket_id, verdict = read_code(event["id"], code)
    ref = _scan_ref(event["id"], scan["nonce"])
    digest = _digest(code)

    refs = [ref] if verdict else [ref, tickets.ticket_ref(ticket_id), entry_ref(ticket_id)]

    @firestore.transactional
    def apply(transaction):
        by_path = {snap.reference.path: snap for snap in transaction.get_all(refs)}
        stored = by_path[ref.path]
        if stored.exists:
            return stored.to_dict(), True
        outcome = ({"result": verdict, "ticket": None} if verdict else
                   _decide(transaction, event, ticket_id, scan, by_path[refs[1].path], by_path[refs[2].path]))
        result = outcome["result"]
        # Offline scanners have already let the person in: a second admission is a conflict to report.
        conflict = scan["source"] == Source.OFFLINE and result == CheckinResult.ALREADY_CHECKED_IN
        record = {**scan, "event_id": event["id"], "ticket_id": ticket_id, "code_digest": digest,
                  "result": str(result), "message": MESSAGES[result], "ticket": outcome["ticket"],
                  "reason": outcome.get("reason"), "opens_at": outcome.get("opens_at"),
                  "first_checkin": outcome.get("first_checkin"), "reentry": outcome.get("reentry", False),
                  "conflict": conflict}
        transaction.create(ref, record)
        _count(transaction, event["id"], scan, result, first_entry=outcome.get("first_entry", False),
               ticket=outcome.get("ticket_doc"), conflict=conflict)
        return record, False

    record, replayed = apply(db().transaction())
    if record["code_digest"] != digest:
        raise AppError("nonce_reused", details={"nonce": scan["nonce"]})
    if not replayed:
        logger.info("checkin event=%s ticket=%s gate=%s source=%s result=%s", event["id"], ticket_id,
                    scan["gate"], scan["source"], record["result"])
    return {**record, "replayed": replayed}


def perform_checkin(event_id, user, *, code, nonce, gate):
    """Scan a code at a gate now: ok, already_checked_in, invalid_signature, void, wrong_event or not_valid_yet."""
    event = require_door(event_id, user)
    now = utcnow()
    return record_scan(event, code, {"nonce": nonce, "gate": gate, "scanned_at": now, "recorded_at": now,
                                     "source": str(Source.ONLINE), "by_uid": user.uid})


def iter_event_entries(event_id, *, size):
    """Every admission of the event (one entry per ticket, with its first and last entry), a page at a time."""
    query = (db().collection(ENTRIES).where(filter=FieldFilter("event_id", "==", event_id))
             .order_by("updated_at").order_by("__name__"))
    yield from iter_pages(query, size)
