"""Bookings whose signal was lost: the scheduler's ``repair_bookings`` job books them after the fact.

A paid order is booked by the receiver of ``order_paid``, after the order's
commit; a process that dies in between leaves the order paid and unbooked, its
parties' money on the platform with no transfer owed. The job reads the orders
that changed since its watermark (waiting ``LAG`` for their own receivers) and
books any payment or refund that is not booked yet; booking is idempotent, so
meeting one the receiver booked meanwhile changes nothing.
"""
import logging
from datetime import timedelta

from app.firebase import db
from app.orders import records
from app.payouts import booking
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

PAYOUT_REPAIRS = "payout_repairs"
LAG = timedelta(minutes=2)
# The first run looks this far back.
LOOKBACK = timedelta(days=7)
PAGE = 200


def repair_bookings(*, page=PAGE):
    """Scheduler job: book the payments and refunds of changed orders that nobody booked. Returns how many."""
    watermark = db().collection(PAYOUT_REPAIRS).document("orders")
    mark = watermark.get()
    since = mark.get("since") if mark.exists else utcnow() - LOOKBACK
    until = utcnow() - LAG
    changed = records.changed_since(since, limit=page)
    due = [order for order in changed if order["updated_at"] <= until]
    booked = {s.id: s.to_dict() for s in db().get_all([booking.splits_ref(o["id"]) for o in due]) if s.exists}
    repaired = 0
    for order in due:
        if not order.get("paid_at") or order["state"] not in records.PAID_STATES:
            continue
        splits = booked.get(order["id"])
        if splits is None and order["total"] > 0:
            booking.book_payment(order)
            repaired += 1
            splits = booking.splits_ref(order["id"]).get().to_dict()
        for refund in order["refunds"]:
            if splits is not None and refund["id"] not in splits["refunds_booked"]:
                booking.book_refund(order, refund)
                repaired += 1
    # A full page moves the watermark to its last change; otherwise everything up to ``until`` was seen.
    watermark.set({"since": due[-1]["updated_at"] if len(changed) == page and due else until, "updated_at": utcnow()})
    if repaired:
        logger.warning("payout bookings repaired: %d", repaired)
    return repaired
