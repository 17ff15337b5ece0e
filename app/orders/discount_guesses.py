"""Guessing discount codes: tries with codes that do not exist, limited per buyer and per event.

Every code that cannot be used gets one answer (``discount_invalid``), so a
guesser cannot tell "no such code" from "used up" or "not yet valid". A try
with a code the event does not have is a guess: it counts against the buyer
(``DISCOUNT_GUESSES_PER_BUYER``, over all events) and against the event
(``DISCOUNT_GUESSES_PER_EVENT``, over all buyers, so many accounts do not
help) for a window of ``DISCOUNT_GUESS_WINDOW_SECONDS``. Past either limit,
every order with a code is refused with 429 before the code is looked at,
until the window ends; orders without a code go on. Only unknown codes count:
a popular code that ran out would otherwise lock every buyer of the event
out of discounts.

The counts are documents in ``discount_guesses``, one per buyer or event and
window, shared by every worker and host. They are raised with Firestore's
increment outside any transaction, so guesses never contend with orders.
"""
import contextlib
import hashlib
import logging
import math
from datetime import UTC, datetime

from flask import current_app
from google.cloud import firestore

from app.errors import AppError
from app.firebase import db
from app.orders.discounts import DiscountRefused
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

GUESSES = "discount_guesses"


def _window(now):
    """(start, end) of the fixed window ``now`` falls in."""
    seconds = current_app.config["DISCOUNT_GUESS_WINDOW_SECONDS"]
    start = math.floor(now.timestamp() / seconds) * seconds
    return start, start + seconds


def _ref(kind, name, window_start):
    digest = hashlib.sha256(f"{kind}\n{name}\n{window_start}".encode()).hexdigest()[:32]
    return db().collection(GUESSES).document(digest)


def check_discount_guesses(buyer_uid, event_id):
    """Refuse with 429 while the buyer or the event has no guesses left in this window."""
    cfg = current_app.config
    now = utcnow()
    start, end = _window(now)
    buyer, event = _ref("buyer", buyer_uid, start), _ref("event", event_id, start)
    limits = {buyer.path: cfg["DISCOUNT_GUESSES_PER_BUYER"], event.path: cfg["DISCOUNT_GUESSES_PER_EVENT"]}
    if any(snapshot.exists and snapshot.get("guesses") >= limits[snapshot.reference.path]
           for snapshot in db().get_all([buyer, event])):
        raise AppError("too_many_discount_guesses",
                       details={"retry_after_seconds": max(1, math.ceil(end - now.timestamp()))})


def _count_guess(buyer_uid, event_id):
    start, end = _window(utcnow())
    batch = db().batch()
    for kind, name in (("buyer", buyer_uid), ("event", event_id)):
        # A count matters only while its window lasts; a Firestore TTL policy on expires_at removes it.
        batch.set(_ref(kind, name, start), {"kind": kind, "name": name, "guesses": firestore.Increment(1),
                                            "expires_at": datetime.fromtimestamp(end, UTC)}, merge=True)
    batch.commit()
    logger.info("unknown discount code tried buyer=%s event=%s", buyer_uid, event_id)


@contextlib.contextmanager
def counting_discount_guesses(buyer_uid):
    """Count a refused code that does not exist as the buyer's guess, after the order's transaction."""
    try:
        yield
    except DiscountRefused as refused:
        if refused.unknown:
            _count_guess(buyer_uid, refused.event_id)
        raise
