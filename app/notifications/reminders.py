"""Event reminders at each event's offsets, and the notice that an event is cancelled.

``send_reminders`` is a scheduler job. For every published event that has not
started, the reminder due now is the one with the smallest offset whose time
(``starts_at - offset``) has passed; it is queued once per holder of a valid
ticket under the dedupe key ``reminder:<event>:<offset>:<uid>``, so two
scheduler processes, or a run repeated after a crash, queue each holder's
reminder once. Offsets are minutes before the start instant, so "2 hours
before" is two real hours also across a daylight-saving change; the text
shows the start in the event's own time zone.

A run that finds an offset's reminders all queued leaves a marker
(``reminder_runs``), so later runs skip that event without reading its
tickets. After the scheduler was down past several offsets, only the latest
one is sent: two reminders at once would say nothing more.
"""
import logging
from datetime import timedelta

from flask import current_app
from google.api_core import exceptions as gexc

from app.events import service as events
from app.events.schemas import MAX_REMINDER_MINUTES
from app.firebase import db
from app.notifications.service import Kind, enqueue
from app.parking import passes
from app.tickets import service as tickets
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

REMINDER_RUNS = "reminder_runs"
PAGE = 100


def due_offset(event, now):
    """The offset (minutes) whose reminder is due at ``now``, or None."""
    if event["starts_at"] <= now:
        return None
    due = [o for o in event.get("reminder_offsets_minutes") or [] if event["starts_at"] - timedelta(minutes=o) <= now]
    return min(due) if due else None


def _upcoming_events(now):
    cursor = None
    while True:
        page = events.list_events(starts_from=now, starts_to=now + timedelta(minutes=MAX_REMINDER_MINUTES),
                                  limit=PAGE, cursor=cursor)
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def queue_event_reminders(event_id, offset):
    """Queue the ``offset`` reminder to each holder of a valid ticket; returns the number of holders."""
    uids = tickets.valid_holders(event_id)
    for uid in uids:
        enqueue(Kind.REMINDER, uid, {"event_id": event_id, "offset_minutes": offset},
                dedupe_key=f"reminder:{event_id}:{offset}:{uid}")
    return len(uids)


def send_reminders():
    """Scheduler job: queue the reminders that are due. Safe to run twice, concurrently, or after a crash."""
    now = utcnow()
    due = [(event["id"], offset) for event in _upcoming_events(now)
           if (offset := due_offset(event, now)) is not None]
    if not due:
        return 0
    runs = db().collection(REMINDER_RUNS)
    done = {s.id for s in db().get_all([runs.document(f"{e}:{o}") for e, o in due]) if s.exists}
    total = 0
    for event_id, offset in due:
        marker = runs.document(f"{event_id}:{offset}")
        if marker.id in done:
            continue
        count = queue_event_reminders(event_id, offset)
        try:
            marker.create({"event_id": event_id, "offset_minutes": offset, "created_at": utcnow()})
        except gexc.AlreadyExists:
            pass
        logger.info("reminders queued event=%s offset=%d holders=%d", event_id, offset, count)
        total += count
    return total


def notify_event_cancelled(event_id):
    """Queue the cancellation notice to everyone who held a valid ticket when the event was cancelled.

    Call after the cancellation commits. Holders whose tickets were refunded
    after the cancellation are told too; calling it again queues nobody twice.
    """
    snapshot = events.event_ref(event_id).get()
    event = snapshot.to_dict() if snapshot.exists else None
    if event is None or event["status"] != events.EventStatus.CANCELLED:
        logger.warning("cancellation notice for an event that is not cancelled event=%s", event_id)
        return 0
    uids = tickets.holders_at(event_id, event["cancelled_at"])
    for uid in uids:
        enqueue(Kind.EVENT_CANCELLED, uid, {"event_id": event_id}, dedupe_key=f"event_cancelled:{event_id}:{uid}")
    logger.info("cancellation notices queued event=%s holders=%d", event_id, len(uids))
    return len(uids)


def send_parking_reminders():
    """Scheduler job: a push (and a text, where the driver wants one) to each driver whose car is parked on a
    pass ending within PARKING_REMINDER_MINUTES, once per pass (``parking_ending:<pass>``, so two schedulers or
    a repeated run queue it once). Returns how many it queued."""
    now = utcnow()
    ending = passes.passes_ending(now, now + timedelta(minutes=current_app.config["PARKING_REMINDER_MINUTES"]))
    queued = 0
    for record in ending:
        if not record["inside"]:
            continue
        enqueue(Kind.PARKING_ENDING, record["holder_uid"], {"pass_id": record["id"]},
                dedupe_key=f"parking_ending:{record['id']}", channels=("push", "sms"))
        queued += 1
    if queued:
        logger.info("parking reminders queued %d", queued)
    return queued
