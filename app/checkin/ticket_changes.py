"""The tickets of an event in the order they last changed, for the offline scanners' sync.

This belongs to the tickets domain (it reads its collection) and is here only
until ``app.tickets.service`` offers the same: a query of one event's tickets
ordered by ``updated_at``, which issuing and voiding both stamp.
"""
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.tickets import service as tickets

FIELDS = ["id", "ticket_type_id", "ticket_type_name", "seat", "state", "voided_at", "updated_at"]


def list_changed_tickets(event_id, *, since, after_id, limit):
    """Up to ``limit`` tickets changed at or after ``since`` (strictly after (since, after_id) when given)."""
    query = db().collection(tickets.TICKETS).where(filter=FieldFilter("event_id", "==", event_id))
    if since is not None:
        query = query.where(filter=FieldFilter("updated_at", ">=", since))
    query = query.order_by("updated_at").order_by("__name__").select(FIELDS)
    if after_id is not None:
        query = query.start_after({"updated_at": since, "__name__": after_id})
    return [doc.to_dict() for doc in query.limit(limit).stream()]
