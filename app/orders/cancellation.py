"""What cancelling an event does to what was sold for it.

Every active hold for it is released, every unpaid order cancelled (with its
started payment), and every paid order refunded in full through durable
refunds, checked-in tickets included. A payment that arrives afterwards is
refunded by settlement, which reads the event in its own transaction.

The cancellation's own request does the first ``INLINE_ORDERS`` orders
right after the event's commit (the ``event_cancelled`` signal); the
scheduler's ``settle_cancelled_events`` job finishes any event with more, or
whose process stopped half-way, until a marker says it is done. Every step is
safe to repeat: a released hold, a cancelled order or a refunded unit is not
touched twice.
"""
import logging
from datetime import timedelta

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from app.audit import service as audit
from app.checkout import service as checkout
from app.events import service as events
from app.firebase import db, left_to_concurrent_writer
from app.orders.records import ORDERS, OrderState, order_ref
from app.orders.refunds import after_refund, choose_units, refund_in
from app.orders.unpaid import end_each
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

CANCELLATION_RUNS = "cancellation_runs"
INLINE_ORDERS = 100
PAGE = 100
# Cancelled events older than this were settled long ago; the job stops looking at them.
LOOKBACK = timedelta(days=30)


def _refund_all(order_id):
    def refund(tx):
        order = tx.get(order_ref(order_id)).to_dict()
        if order["state"] not in {OrderState.PAID, OrderState.PARTIALLY_REFUNDED}:
            return None
        chosen = choose_units(order)
        updates, record = refund_in(tx, order, chosen, utcnow(), reason="event_cancelled", actor_uid=audit.SYSTEM,
                                    force=True)
        return {**order, **updates}, record, chosen

    done = run_staged(refund)
    if done is not None:
        after_refund(*done)
    return done is not None


def _orders(event_id, state):
    return (db().collection(ORDERS).where(filter=FieldFilter("event_id", "==", event_id))
            .where(filter=FieldFilter("state", "==", str(state))))


def _refund_paid(event_id, budget):
    """Refund the event's paid orders, at most ``budget`` (None: all); True when none is left."""
    tried = set()
    for state in (OrderState.PAID, OrderState.PARTIALLY_REFUNDED):
        while True:
            size = PAGE if budget is None else min(PAGE, budget - len(tried))
            if size <= 0:
                return False
            ids = [doc.id for doc in _orders(event_id, state).limit(size).select([]).stream()]
            if not ids:
                break
            if tried.issuperset(ids):
                # Each of these lost its transaction to another writer; the next run takes them.
                return False
            for order_id in ids:
                tried.add(order_id)
                with left_to_concurrent_writer("refund of order %s for cancelled event %s left to the next run",
                                               order_id, event_id):
                    _refund_all(order_id)
    return True


def settle_cancelled_event(event_id, *, budget=None):
    """Release, cancel and refund what was sold for a cancelled event, refunding at most ``budget`` paid
    orders this time. True when nothing is left to do, and the event is then marked settled."""
    marker = db().collection(CANCELLATION_RUNS).document(event_id)
    if marker.get().exists:
        return True
    checkout.release_event_holds(event_id)
    end_each(_orders(event_id, OrderState.PENDING_PAYMENT), target=OrderState.CANCELLED, actor_uid=audit.SYSTEM,
             only_if_lapsed=False, page=PAGE)
    if not _refund_paid(event_id, budget):
        return False
    try:
        marker.create({"event_id": event_id, "settled_at": utcnow()})
    except gexc.AlreadyExists:
        pass
    logger.info("cancelled event settled event=%s", event_id)
    return True


def settle_cancelled_events():
    """Scheduler job: finish every recently cancelled event that is not settled yet. Returns how many it
    settled."""
    cancelled = events.cancelled_since(utcnow() - LOOKBACK)
    if not cancelled:
        return 0
    markers = db().get_all([db().collection(CANCELLATION_RUNS).document(e) for e in cancelled])
    settled = {s.id for s in markers if s.exists}
    return sum(settle_cancelled_event(event_id) for event_id in cancelled if event_id not in settled)
