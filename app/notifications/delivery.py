"""Delivering the outbox: one lease per message, each channel at most once, retries with backoff, parking.

A process takes a due message by setting ``claimed_by`` / ``claimed_until``
in a transaction on that message (its lease, ``OUTBOX_LEASE_SECONDS``), so
two scheduler processes never work on one message at once. Before each
channel's send it records ``inflight: <channel>`` and after it the outcome,
both only while it still holds the lease. If a process stops between the two,
the next claimant finds ``inflight`` set and marks that channel ``unknown``
instead of sending it again: a crash may lose that channel's message, never
repeat it (the README says why). A message with an unknown channel ends
parked, where admins see it and may retry it.

A failed channel is retried on the next attempt, after ``OUTBOX_BACKOFF_SECONDS``
doubling per attempt (capped at ``OUTBOX_BACKOFF_MAX_SECONDS``); channels that
went through are not sent again. After ``OUTBOX_MAX_ATTEMPTS`` the message is
parked.

The recipient's preferences are read at each attempt: a channel they turned
off for the message's kind is marked ``off``, and a message that can wait and
falls into their quiet hours is handed back, due when they end, without
counting as an attempt.
"""
import logging
from collections import Counter
from datetime import timedelta

from flask import current_app
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.leases import new_holder_id
from app.notifications import compose, preferences
from app.notifications.email import send_email
from app.notifications.push import send_push
from app.notifications.sms import send_sms
from app.notifications.service import CHANNELS, OUTBOX, ChannelState, MessageState, message_ref
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

BATCH = 50
_SENDERS = {"email": send_email, "push": send_push, "sms": send_sms}
# What deliver_message answers for a message handed back until quiet hours end (it stays pending).
DEFERRED = "deferred"


def backoff(attempts):
    cfg = current_app.config
    return timedelta(seconds=min(cfg["OUTBOX_BACKOFF_SECONDS"] * 2 ** (attempts - 1), cfg["OUTBOX_BACKOFF_MAX_SECONDS"]))


def _claim(ref, holder):
    """Take the message's lease if it is due and nobody holds it; the message as claimed, or None."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])

    @firestore.transactional
    def claim(transaction):
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return None
        message = snapshot.to_dict()
        now = utcnow()
        if message["state"] != MessageState.PENDING or message["due_at"] is None or message["due_at"] > now:
            return None
        if message["claimed_until"] is not None and message["claimed_until"] > now:
            return None
        channels = dict(message["channels"])
        interrupted = message["inflight"]
        if interrupted:
            channels[interrupted] = str(ChannelState.UNKNOWN)
        # due_at follows the lease, so a claimant that dies leaves the message due again when it lapses.
        updates = {"claimed_by": holder, "claimed_until": now + lease, "due_at": now + lease, "inflight": None,
                   "channels": channels, "attempts": message["attempts"] + 1, "updated_at": now}
        transaction.update(ref, updates)
        return {**message, **updates, "interrupted": interrupted}

    message = claim(db().transaction())
    if message and message["interrupted"]:
        logger.error("notification interrupted mid-send id=%s channel=%s: not sent again",
                     message["id"], message["interrupted"])
    return message


def _write_if_holder(ref, holder, updates):
    """Apply ``updates`` only while ``holder`` still holds the message's lease; False when it lost it."""

    @firestore.transactional
    def write(transaction):
        snapshot = ref.get(transaction=transaction)
        if snapshot.get("claimed_by") != holder or snapshot.get("state") != MessageState.PENDING:
            return False
        transaction.update(ref, {**updates, "updated_at": utcnow()})
        return True

    return write(db().transaction())


def _finish(ref, holder, message, channels, errors):
    now = utcnow()
    release = {"claimed_by": None, "claimed_until": None, "inflight": None, "channels": channels}
    if all(state != ChannelState.PENDING for state in channels.values()):
        unknown = [c for c, s in channels.items() if s == ChannelState.UNKNOWN]
        state = MessageState.PARKED if unknown else MessageState.SENT
        updates = {"state": str(state), "due_at": None, "sent_at": now,
                   "last_error": f"interrupted during delivery: {', '.join(unknown)}" if unknown else None}
    elif message["attempts"] >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        state = MessageState.PARKED
        updates = {"state": str(state), "due_at": None, "last_error": _describe(errors)}
    else:
        state = MessageState.PENDING
        updates = {"due_at": now + backoff(message["attempts"]), "last_error": _describe(errors)}
    if not _write_if_holder(ref, holder, {**release, **updates}):
        return None
    log = logger.error if state == MessageState.PARKED else logger.info
    log("notification %s id=%s kind=%s attempts=%d%s", state, message["id"], message["kind"], message["attempts"],
        f" error={updates['last_error']}" if updates.get("last_error") else "")
    return state


def _defer(ref, holder, message, until):
    updates = {"claimed_by": None, "claimed_until": None, "inflight": None, "due_at": until,
               "attempts": message["attempts"] - 1, "last_error": f"quiet hours until {until.isoformat()}"}
    if not _write_if_holder(ref, holder, updates):
        return None
    logger.info("notification waits for quiet hours id=%s kind=%s until=%s", message["id"], message["kind"],
                until.isoformat())
    return DEFERRED


def _describe(errors):
    return "; ".join(f"{channel}: {error}" for channel, error in sorted(errors.items())) or None


def deliver_message(msg_id, *, holder):
    """One delivery attempt of one message; its state afterwards, DEFERRED, or None when another process has it."""
    ref = message_ref(msg_id)
    message = _claim(ref, holder)
    if message is None:
        return None
    channels = dict(message["channels"])
    try:
        wishes = preferences.load_preferences(message["recipient_uid"])
        quiet_until = preferences.quiet_until(wishes, message["kind"], utcnow())
        if quiet_until is None:
            person = compose.recipient(message["recipient_uid"])
            content = compose.compose(message, person)
    except compose.Skip as reason:
        skipped = {"state": str(MessageState.SKIPPED), "due_at": None, "claimed_by": None, "claimed_until": None,
                   "last_error": f"skipped: {reason}"}
        logger.info("notification skipped id=%s kind=%s: %s", msg_id, message["kind"], reason)
        return MessageState.SKIPPED if _write_if_holder(ref, holder, skipped) else None
    except Exception as exc:  # a broken record or template must not stop the other messages
        logger.exception("notification could not be composed id=%s", msg_id)
        return _finish(ref, holder, message, channels, {"compose": f"{type(exc).__name__}: {exc}"})
    if quiet_until is not None:
        return _defer(ref, holder, message, quiet_until)
    errors = {}
    for channel in CHANNELS:
        # Messages queued before SMS existed have no sms channel.
        if channels.get(channel) != ChannelState.PENDING:
            continue
        if not preferences.wanted(wishes, message["kind"], channel):
            channels[channel] = str(ChannelState.OFF)
            continue
        if not _write_if_holder(ref, holder, {"inflight": channel}):
            return None
        try:
            channels[channel] = str(_SENDERS[channel](person, content, message))
        except Exception as exc:  # every failure of a channel is retried with backoff, then parked
            errors[channel] = f"{type(exc).__name__}: {exc}"
            logger.warning("notification %s failed id=%s attempt=%d: %s", channel, msg_id, message["attempts"],
                           errors[channel])
        if not _write_if_holder(ref, holder, {"inflight": None, "channels": channels}):
            return None
    return _finish(ref, holder, message, channels, errors)


def deliver_outbox(*, holder=None, limit=BATCH):
    """Scheduler job: one delivery attempt of each due message. Returns the count per resulting state."""
    holder = holder or current_app.config.get("SCHEDULER_ID") or new_holder_id()
    query = (db().collection(OUTBOX).where(filter=FieldFilter("due_at", "<=", utcnow()))
             .order_by("due_at").limit(limit))
    outcomes = Counter()
    for snapshot in query.select([]).stream():
        outcomes[str(deliver_message(snapshot.id, holder=holder) or "busy")] += 1
    return dict(outcomes)
