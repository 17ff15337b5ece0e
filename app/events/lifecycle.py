"""Event status changes: draft -> published -> cancelled | completed."""
import logging

from google.api_core import exceptions as gexc
from google.cloud.firestore import FieldFilter

from app.errors import AppError
from app.events import service
from app.events.service import EVENTS, EventStatus
from app.events.signals import event_cancelled, event_completed, event_published
from app.firebase import db
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

# Target status -> the statuses it may be reached from. A draft is deleted, not cancelled.
TRANSITIONS = {
    EventStatus.PUBLISHED: {EventStatus.DRAFT},
    EventStatus.CANCELLED: {EventStatus.PUBLISHED},
    EventStatus.COMPLETED: {EventStatus.PUBLISHED},
}


def _require_transition(event, target):
    if event["status"] not in TRANSITIONS[target]:
        raise AppError("invalid_transition", f"A {event['status']} event cannot become {target}.",
                       details={"from": event["status"], "to": str(target)})


def publish_event(event_id, user):
    def change(event, transaction):
        _require_transition(event, EventStatus.PUBLISHED)
        now = utcnow()
        if event["starts_at"] <= now:
            raise AppError("event_started", "An event that has already started cannot be published.")
        if not service.live_ticket_types(event_id, transaction=transaction):
            raise AppError("no_ticket_types", "Add at least one ticket type before publishing.")
        return {"status": EventStatus.PUBLISHED.value, "published_at": now}

    event = service.change_event(event_id, user, change, audit_action="event.published")
    logger.info("event published event=%s", event_id)
    event_published.send(event)
    return event


def cancel_event(event_id, user):
    def change(event, transaction):
        _require_transition(event, EventStatus.CANCELLED)
        return {"status": EventStatus.CANCELLED.value, "cancelled_at": utcnow()}

    event = service.change_event(event_id, user, change, audit_action="event.cancelled")
    logger.info("event cancelled event=%s", event_id)
    event_cancelled.send(event)
    return event


def complete_ended_events():
    """Mark published events that have ended as completed. A scheduler job: safe to run twice or
    concurrently, because each update is conditional on the document being unchanged since it was read."""
    now = utcnow()
    query = (db().collection(EVENTS).where(filter=FieldFilter("status", "==", EventStatus.PUBLISHED.value))
             .where(filter=FieldFilter("ends_at", "<=", now)))
    completed = 0
    for snapshot in query.stream():
        try:
            snapshot.reference.update(
                {"status": EventStatus.COMPLETED.value, "completed_at": now, "updated_at": now},
                option=db().write_option(last_update_time=snapshot.update_time))
        except gexc.FailedPrecondition:
            continue
        service.invalidate(snapshot.id)
        completed += 1
        logger.info("event completed event=%s", snapshot.id)
        event_completed.send({**snapshot.to_dict(), "status": EventStatus.COMPLETED.value, "completed_at": now,
                              "updated_at": now})
    return completed
