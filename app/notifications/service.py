"""The notification outbox: messages to users, enqueued after the change that caused them commits.

A message is one document in ``notification_outbox`` whose id is a hash of its
dedupe key, written with ``create()``: enqueuing the same key again (a retried
request, a job run twice, two scheduler processes) leaves the one message
there. ``delivery.deliver_outbox`` sends each pending message by e-mail,
push and SMS, as the recipient's preferences allow, retries failures with exponential backoff and parks a message after
``OUTBOX_MAX_ATTEMPTS`` where admins see it.

``due_at`` is set while a message waits for a delivery attempt and is None
once it is sent, parked or skipped, so finding due messages is a range query
on one field (no composite index).
"""
import hashlib
import logging
from enum import StrEnum

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import AppError
from app.firebase import db
from app.orders import records as orders
from app.pagination import fetch_page
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

OUTBOX = "notification_outbox"
CHANNELS = ("email", "push", "sms")


class Kind(StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    REMINDER = "reminder"
    EVENT_CANCELLED = "event_cancelled"
    REFUND = "refund"
    PARKING_ENDING = "parking_ending"
    ORDER_READY = "order_ready"


class MessageState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"
    SKIPPED = "skipped"


class ChannelState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Nothing to send on it: no devices, no e-mail address, no verified phone number.
    NONE = "none"
    # The recipient does not want it: turned off in their preferences, or they replied STOP.
    OFF = "off"
    # Not sent: the day's SMS limit of the account, the number or its country was used up.
    LIMITED = "limited"
    # A process stopped between starting the send and recording it; never sent again.
    UNKNOWN = "unknown"


def message_id(dedupe_key):
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def message_ref(msg_id):
    return db().collection(OUTBOX).document(msg_id)


def enqueue(kind, recipient_uid, data, *, dedupe_key, channels=CHANNELS):
    """Queue a message for ``recipient_uid`` unless one with ``dedupe_key`` exists; returns the message.
    It goes out on ``channels`` (e-mail and push unless told otherwise).

    Call after the transaction that caused it commits: a rolled-back change must not notify anyone.
    """
    kind = Kind(kind)
    now = utcnow()
    ref = message_ref(message_id(dedupe_key))
    message = {
        "id": ref.id, "kind": str(kind), "recipient_uid": recipient_uid, "data": data, "dedupe_key": dedupe_key,
        "state": str(MessageState.PENDING),
        "channels": {c: str(ChannelState.PENDING if c in channels else ChannelState.NONE) for c in CHANNELS},
        "attempts": 0, "due_at": now, "claimed_by": None, "claimed_until": None, "inflight": None,
        "last_error": None, "created_at": now, "updated_at": now, "sent_at": None,
    }
    try:
        ref.create(message)
    except gexc.AlreadyExists:
        return ref.get().to_dict()
    logger.info("notification queued id=%s kind=%s uid=%s", ref.id, kind, recipient_uid)
    return message


def notify_order_paid(order_id):
    """Queue the buyer's order confirmation (the tickets and their QR codes); once per order."""
    order = orders.order_ref(order_id).get().to_dict()
    return enqueue(Kind.ORDER_CONFIRMATION, order["buyer_uid"], {"order_id": order_id},
                   dedupe_key=f"order_confirmation:{order_id}")


def notify_refund(order_id, refund_id):
    """Queue the buyer's refund notice; once per refund."""
    order = orders.order_ref(order_id).get().to_dict()
    return enqueue(Kind.REFUND, order["buyer_uid"], {"order_id": order_id, "refund_id": refund_id},
                   dedupe_key=f"refund:{refund_id}")


def notify_order_ready(stand_order):
    """Queue the buyer's "your order is ready" notice; once per stand order."""
    return enqueue(Kind.ORDER_READY, stand_order["buyer_uid"], {"stand_order_id": stand_order["id"]},
                   dedupe_key=f"order_ready:{stand_order['id']}")


def list_messages(*, state=None, limit, cursor=None):
    """Messages in a state, by id: parked ones are what an admin looks at.

    Ordered by id (a hash) rather than time so the state filter needs no
    composite index; a page of parked messages is small and carries its dates.
    """
    query = db().collection(OUTBOX)
    if state:
        query = query.where(filter=FieldFilter("state", "==", str(state)))
    query = query.order_by("__name__", direction=Query.ASCENDING)
    items, next_cursor = fetch_page(query, {}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def retry_message(msg_id):
    """An admin sends a parked message again: its failed channels get a fresh set of attempts."""
    ref = message_ref(msg_id)
    snapshot = ref.get() if msg_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise AppError("not_found", "No such notification.")
    message = snapshot.to_dict()
    if message["state"] != MessageState.PARKED:
        raise AppError("invalid_transition", f"The notification is {message['state']}; only parked ones are retried.",
                       details={"from": message["state"], "to": str(MessageState.PENDING)})
    now = utcnow()
    # An UNKNOWN channel may have been delivered; retrying it is the admin's explicit choice.
    channels = {c: str(ChannelState.PENDING) if s == ChannelState.UNKNOWN else s
                for c, s in message["channels"].items()}
    try:
        ref.update({"state": str(MessageState.PENDING), "channels": channels, "attempts": 0, "due_at": now,
                    "updated_at": now}, option=db().write_option(last_update_time=snapshot.update_time))
    except gexc.FailedPrecondition:
        raise AppError("conflict", "The notification changed; read it again.") from None
    logger.info("notification requeued id=%s", msg_id)
    return {**message, "state": str(MessageState.PENDING), "channels": channels, "attempts": 0, "due_at": now,
            "updated_at": now}
