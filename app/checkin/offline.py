"""Offline scanners: what they download to decide alone, and the upload of what they decided.

A scanner keeps the event's public key (``GET checkin-key``) and a local copy
of ticket states and check-ins, refreshed with ``GET checkin-sync?since=``.
Each sync answers two feeds, ticket changes (issued, voided) and check-ins
(first entries and re-entries), ordered by ``updated_at``, and a cursor.

``updated_at`` is stamped before a transaction commits, so a change can become
visible after a later-stamped one. A sync pass (the pages read until ``more``
is false) therefore fixes a horizon, SYNC_OVERLAP before its first page, and
the cursor it ends with restarts the next pass at that horizon: changes from
the overlap are sent again, and a scanner applies items as upserts by ticket
id. Nothing committed within SYNC_OVERLAP of its stamp is missed.

Uploads carry each scan's original time; they are judged like online scans
(same result codes, same nonce idempotency) in the order they happened. That
time is bounded on both sides, within a scanner's clock drift (CLOCK_SKEW):
not after the upload, and not before the ticket's code was issued, so a
backdated scan cannot slip a refunded ticket in "before" its refund. When
two scanners admitted the same ticket, the later upload's scan is recorded as
a conflict with both scans, not refused: the person is inside either way.
"""
import base64
import binascii
import json
import re
from datetime import datetime, timedelta

from google.cloud.firestore_v1 import FieldFilter

from app.checkin import service
from app.errors import AppError
from app.firebase import db
from app.tickets import service as tickets
from app.timeutil import as_utc, utcnow

SYNC_OVERLAP = timedelta(seconds=30)
FEEDS = ("tickets", "checkins")
TICKET_ID = re.compile(r"[0-9a-f]{32}")


def _invalid_cursor():
    return AppError("invalid_cursor", "The cursor is not one this sync handed out.")


def _time(value):
    return None if value is None else value.isoformat()


def _encode(cursor):
    payload = {"h": _time(cursor["h"]),
               **{name: [_time(since), after, done] for name, (since, after, done) in cursor["feeds"].items()}}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _parse_time(value):
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return as_utc(moment)


def _decode(text):
    """The cursor's horizon and feed positions, each checked before it reaches a Firestore query."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        feeds = {}
        for name in FEEDS:
            since, after, done = payload[name]
            since = _parse_time(since)
            # Both feeds page by ticket id (a check-in entry is named after its ticket).
            if not (after is None or (isinstance(after, str) and TICKET_ID.fullmatch(after))):
                raise ValueError("bad position")
            if (after is not None and since is None) or not isinstance(done, bool):
                raise ValueError("bad feed")
            feeds[name] = (since, after, done)
        return {"h": _parse_time(payload["h"]), "feeds": feeds}
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise _invalid_cursor() from None


def _changed_checkins(event_id, *, since, after_id, limit):
    query = db().collection(service.ENTRIES).where(filter=FieldFilter("event_id", "==", event_id))
    if since is not None:
        query = query.where(filter=FieldFilter("updated_at", ">=", since))
    query = query.order_by("updated_at").order_by("__name__")
    if after_id is not None:
        query = query.start_after({"updated_at": since, "__name__": after_id})
    return [{"id": doc.id, **doc.to_dict()} for doc in query.limit(limit).stream()]


def _checkin_view(entry):
    return {"ticket_id": entry["ticket_id"], "ticket_type_id": entry["ticket_type_id"], "gate": entry["gate"],
            "at": entry["at"], "source": entry["source"], "entries": entry["entries"],
            "last_at": entry.get("last_at", entry["at"]), "updated_at": entry["updated_at"]}


def _ticket_view(ticket):
    return {"ticket_id": ticket["id"], "ticket_type_id": ticket["ticket_type_id"],
            "ticket_type_name": ticket.get("ticket_type_name"), "seat": ticket.get("seat"),
            "state": ticket["state"], "voided_at": ticket.get("voided_at"), "updated_at": ticket["updated_at"]}


def sync_checkin_state(event_id, user, *, since=None, limit):
    """One page of ticket changes and check-ins after the cursor ``since``; ``more`` until the pass is done."""
    service.require_door(event_id, user)
    cursor = _decode(since) if since else {"h": None, "feeds": {name: (None, None, False) for name in FEEDS}}
    horizon = cursor["h"] or utcnow() - SYNC_OVERLAP
    readers = {"tickets": (tickets.list_changed_tickets, _ticket_view), "checkins": (_changed_checkins, _checkin_view)}
    page, feeds = {}, {}
    for name, (read, view) in readers.items():
        since_at, after_id, done = cursor["feeds"][name]
        items = [] if done else read(event_id, since=since_at, after_id=after_id, limit=limit + 1)
        full = len(items) > limit
        items = items[:limit]
        page[name] = [view(item) for item in items]
        feeds[name] = (items[-1]["updated_at"], items[-1]["id"], False) if full else (since_at, after_id, True)
    more = not all(done for _, _, done in feeds.values())
    if not more:
        feeds = {name: (horizon, None, False) for name in FEEDS}
    next_cursor = _encode({"h": horizon if more else None, "feeds": feeds})
    return {**page, "next_cursor": next_cursor, "more": more}


def upload_offline_scans(event_id, user, *, scans):
    """Record scans made offline, oldest first; per-scan results in the order sent, and the conflicts."""
    event = service.require_door(event_id, user)
    now = utcnow()
    if late := [s["nonce"] for s in scans if s["scanned_at"] > now + service.CLOCK_SKEW]:
        raise AppError("validation_error",
                       details={"fields": {"scans": [f"Scanned in the future: {nonce}." for nonce in late]}})
    if len({s["nonce"] for s in scans}) != len(scans):
        raise AppError("validation_error", details={"fields": {"scans": ["Each scan needs its own nonce."]}})
    recorded = {}
    for scan in sorted(scans, key=lambda s: s["scanned_at"]):
        recorded[scan["nonce"]] = service.record_scan(event, scan["code"], {
            "nonce": scan["nonce"], "gate": scan["gate"], "scanned_at": scan["scanned_at"], "recorded_at": now,
            "source": str(service.Source.OFFLINE), "by_uid": user.uid})
    results = [recorded[scan["nonce"]] for scan in scans]
    conflicts = [{"ticket_id": r["ticket_id"], "ticket": r["ticket"],
                  "scans": [r["first_checkin"], {"at": r["scanned_at"], "gate": r["gate"], "source": r["source"],
                                                 "nonce": r["nonce"]}]}
                 for r in results if r["conflict"]]
    return {"results": results, "conflicts": conflicts}
