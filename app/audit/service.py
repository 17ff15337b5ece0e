"""The audit log: who did what to which record, when, and under which request.

Entries are written in the same transaction as the change they describe
(``record(..., transaction=t)``), so an action and its entry commit together
or not at all; a retried transaction writes its entry once.
"""
from datetime import datetime

from flask import g, has_request_context
from google.cloud.firestore_v1 import FieldFilter, Query

from app.firebase import db
from app.pagination import fetch_page
from app.timeutil import utcnow

AUDIT_LOG = "audit_log"
SYSTEM = "system"


def record(action, *, actor_uid, target, event_id=None, details=None, transaction=None, now=None):
    """Write one entry (inside ``transaction`` when given). ``target`` names the record, e.g. "order/abc"."""
    ref = db().collection(AUDIT_LOG).document()
    entry = {
        "id": ref.id, "action": action, "actor_uid": actor_uid or SYSTEM, "target": target,
        "event_id": event_id, "details": details or {},
        "request_id": g.get("request_id") if has_request_context() else None,
        "created_at": now or utcnow(),
    }
    if transaction is not None:
        transaction.create(ref, entry)
    else:
        ref.create(entry)
    return entry


def list_entries(*, action=None, event_id=None, actor_uid=None, limit, cursor=None):
    """Newest first; filter by action, event or actor."""
    query = db().collection(AUDIT_LOG)
    for field, value in (("action", action), ("event_id", event_id), ("actor_uid", actor_uid)):
        if value:
            query = query.where(filter=FieldFilter(field, "==", value))
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}
