"""The audit log: who did what to which record, when, from where, under which request, and what changed.

Every admin and money action writes one entry: the actor, the client's IP
address and user agent, the request id, the target record and the values
before and after. Entries are written in the same transaction or batch as
the change they describe where there is one (``record(..., transaction=t)``),
so an action and its entry commit together or not at all; a retried
transaction writes its entry once. Nothing updates or deletes an entry: the
API has no such endpoint and Firestore's rules deny clients.
"""
from datetime import datetime

from flask import g, has_request_context
from google.cloud.firestore_v1 import FieldFilter, Query

from app.firebase import db
from app.pagination import count, created_between, fetch_page, page_of
from app.timeutil import utcnow

AUDIT_LOG = "audit_log"
SYSTEM = "system"
FILTERS = ("action", "event_id", "actor_uid", "target")


def changed(before, after):
    """(before, after) of the fields that differ, for an entry: what an update changed, and nothing else."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(action, *, actor_uid, target, event_id=None, before=None, after=None, details=None, transaction=None,
           now=None):
    """Write one entry, inside ``transaction`` (a transaction or a batch) when given. ``target`` names the
    record, e.g. "order/abc"; ``before`` and ``after`` are its values the action changed (None: it did not
    exist before, or does not after)."""
    ref = db().collection(AUDIT_LOG).document()
    client = (g.get("client") if has_request_context() else None) or {}
    entry = {
        "id": ref.id, "action": action, "actor_uid": actor_uid or SYSTEM, "target": target,
        "event_id": event_id, "before": before, "after": after, "details": details or {},
        "request_id": g.get("request_id") if has_request_context() else None,
        "ip": client.get("ip"), "user_agent": client.get("user_agent"), "created_at": now or utcnow(),
    }
    if transaction is not None:
        transaction.create(ref, entry)
    else:
        ref.create(entry)
    return entry


def list_entries(*, action=None, event_id=None, actor_uid=None, target=None, created_from=None, created_to=None,
                 with_total=False, limit, cursor=None):
    """Newest first; filter by action, event, actor, target and time, in any combination."""
    query = db().collection(AUDIT_LOG)
    for field, value in zip(FILTERS, (action, event_id, actor_uid, target)):
        if value:
            query = query.where(filter=FieldFilter(field, "==", value))
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    query = created_between(query, created_from, created_to)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return page_of(items, next_cursor, count(query) if with_total else None)
