"""Who holds tickets for an event: the audience of reminders and cancellation notices.

The tickets domain has no public query by event, so these read its collection
through its own constant and state names; a ``list_event_tickets`` there
would replace the two queries below one for one.
"""
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.tickets import service as tickets


def _event_tickets(event_id):
    return db().collection(tickets.TICKETS).where(filter=FieldFilter("event_id", "==", event_id))


def valid_holders(event_id):
    """Uids holding at least one valid (not voided, not refunded) ticket for the event."""
    query = _event_tickets(event_id).where(filter=FieldFilter("state", "==", str(tickets.TicketState.VALID)))
    return sorted({doc.get("holder_uid") for doc in query.select(["holder_uid"]).stream()})


def valid_tickets(event_id, uid):
    query = (_event_tickets(event_id).where(filter=FieldFilter("holder_uid", "==", uid))
             .where(filter=FieldFilter("state", "==", str(tickets.TicketState.VALID))))
    return [doc.id for doc in query.select(["state"]).stream()]


def holders_at(event_id, moment):
    """Uids whose ticket was valid at ``moment``: cancelling an event may void tickets (refunds) before
    its notice goes out, and those holders must hear of it too."""
    docs = _event_tickets(event_id).select(["holder_uid", "voided_at"]).stream()
    return sorted({doc.get("holder_uid") for doc in docs if doc.get("voided_at") is None or doc.get("voided_at") >= moment})
