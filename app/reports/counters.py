"""Sales counters: what each event sold and refunded, per day in its time zone, per kind and per catalogue item
(a ticket type, a parking zone, a menu item), in each currency, kept up to date as orders are paid and refunded.

The dashboard and an event's stats read these instead of the orders: a few
documents per event and day, however many orders there are. They are written
by the receivers of the orders domain's ``order_paid`` and ``order_refunded``
signals (``app.reports``), after the order's commit:

- each contribution (the sale of an order, one refund) is one atomic batch:
  a marker named after the order or refund, created if absent
  (``sales_contributions``), and ``Increment``s on the counters; a signal
  delivered again, or the catch-up job below, finds the marker and the whole
  batch is refused, so nothing is counted twice;
- the counters of an event are ``SALES_COUNTER_SHARDS`` documents (each
  contribution goes to one, chosen by a hash of its key), so an on-sale's
  payments do not queue on one document (Firestore sustains about one write
  per second on a document); each holds the all-time figures and, under
  ``days``, the figures per currency of each day with sales (about 150 bytes a
  day: years of sales stay far below Firestore's 1 MiB per document), so a
  dashboard reads a fixed few documents per event, whatever the window;
- a contribution lost with its process (the signal comes after the commit)
  is made up by the scheduler's ``catch_up_sales`` job, which reads orders
  paid and refunds recorded since it last looked and adds those without a
  marker: the counters are exact again within minutes.

A sale counts every unit that payment issued; a refund the units it refunded.
A payment refunded because it came too late (nothing was sold) is no sale and
is counted in neither.
"""
import hashlib
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from google.api_core import exceptions as gexc
from google.cloud import firestore

from app.events import service as events
from app.firebase import db
from app.orders import records as orders
from app.orders import refund_queue
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

SALES_COUNTERS = "sales_counters"
CONTRIBUTIONS = "sales_contributions"
CATCH_UP = "sales_catch_up"
PAGE = 200
# The catch-up job looks only at commits at least this old: a payment's time is taken inside its transaction,
# just before the commit that makes it visible.
SETTLE = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(days=1)


def shard_count():
    return current_app.config["SALES_COUNTER_SHARDS"]


def counter_ref(event_id, shard):
    return db().collection(SALES_COUNTERS).document(f"{event_id}:{shard}")


def counter_refs(event_id):
    return [counter_ref(event_id, shard) for shard in range(shard_count())]


def item_key(kind, catalog_id):
    """A map key for a catalogue item that any id can have (Firestore field names are not free-form)."""
    return hashlib.sha256(f"{kind}/{catalog_id}".encode()).hexdigest()[:16]


def local_day(moment, timezone):
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def _increments(order, units, fields):
    """The nested increments of ``units`` of ``order``; ``fields`` names (count field, units field, amount
    field), e.g. ("orders", "units", "gross") for a sale."""
    counted, unit_field, amount_field = fields
    currency = order["currency"]
    lines = {line["id"]: line for line in order["items"]}
    kinds, items = {}, {}
    for unit in units:
        line = lines[unit["line_id"]]
        for bucket in (kinds.setdefault(unit["kind"], {}).setdefault(currency, {"units": 0, "amount": 0}),
                       items.setdefault(item_key(unit["kind"], line.get("catalog_id")), {
                           "kind": unit["kind"], "catalog_id": line.get("catalog_id"), "name": line["name"],
                           "currency": currency, "units": 0, "amount": 0})):
            bucket["units"] += 1
            bucket["amount"] += unit["amount"]

    def increments(bucket):
        return {unit_field: firestore.Increment(bucket["units"]), amount_field: firestore.Increment(bucket["amount"])}

    return {
        "currencies": {currency: {counted: firestore.Increment(1),
                                  unit_field: firestore.Increment(len(units)),
                                  amount_field: firestore.Increment(sum(u["amount"] for u in units))}},
        "kinds": {kind: {cur: increments(bucket) for cur, bucket in by_currency.items()}
                  for kind, by_currency in kinds.items()},
        "items": {key: {"kind": bucket["kind"], "catalog_id": bucket["catalog_id"], "name": bucket["name"],
                        "currency": bucket["currency"], **increments(bucket)} for key, bucket in items.items()},
    }


def _contribute(marker_id, order, units, moment, fields):
    """Count ``units`` once under ``marker_id``; False when they were counted already (or the event is gone)."""
    event = events.find_event(order["event_id"])
    if event is None:
        logger.warning("sales of unknown event %s not counted (order %s)", order["event_id"], order["id"])
        return False
    shard = int(hashlib.sha256(marker_id.encode()).hexdigest()[:8], 16) % shard_count()
    day = local_day(moment, event["timezone"])
    counts = _increments(order, units, fields)
    batch = db().batch()
    batch.create(db().collection(CONTRIBUTIONS).document(marker_id), {
        "event_id": order["event_id"], "order_id": order["id"], "day": day, "counted_at": utcnow()})
    batch.set(counter_ref(order["event_id"], shard), {
        "event_id": order["event_id"], "organizer_uid": event["organizer_uid"], **counts,
        "days": {day: counts["currencies"]}}, merge=True)
    try:
        batch.commit()
    except gexc.AlreadyExists:
        return False
    return True


def sale_marker(order_id):
    return f"sale:{order_id}"


def refund_marker(refund_id):
    return f"refund:{refund_id}"


def record_sale(order):
    """Count a paid order's sold units on the day it was paid. Safe to repeat."""
    sold = [u for u in order["units"] if u.get("issued")]
    return _contribute(sale_marker(order["id"]), order, sold, order["paid_at"], ("orders", "units", "gross"))


def record_refund(order, refund):
    """Count the units a refund took back, on the day it was recorded. Safe to repeat. A refund of a payment
    that bought nothing (it came too late) refunds no units and is not counted."""
    keys = set(refund["unit_keys"])
    refunded = [u for u in order["units"] if u["key"] in keys]
    if not refunded:
        return False
    return _contribute(refund_marker(refund["id"]), order, refunded, refund["created_at"],
                       ("refunds", "refunded_units", "refunded"))


def _missing(marker_ids):
    refs = [db().collection(CONTRIBUTIONS).document(marker_id) for marker_id in marker_ids]
    return {snapshot.id for snapshot in db().get_all(refs) if not snapshot.exists}


def catch_up_sales():
    """Scheduler job: count the sales and refunds committed since the last run that no receiver counted.
    Returns how many it counted. Safe to run twice or concurrently (the markers decide)."""
    state = db().collection(CATCH_UP).document("state")
    snapshot = state.get()
    end = utcnow() - SETTLE
    start = snapshot.get("checked_until") if snapshot.exists else end - FIRST_LOOKBACK
    if start >= end:
        return 0
    counted = 0
    for page in orders.paid_between(start, end, size=PAGE):
        missing = _missing(sale_marker(order["id"]) for order in page)
        counted += sum(record_sale(order) for order in page if sale_marker(order["id"]) in missing)
    for page in refund_queue.refunded_between(start, end, size=PAGE):
        missing = _missing(refund_marker(entry["id"]) for _, entry in page)
        counted += sum(record_refund(order, entry) for order, entry in page if refund_marker(entry["id"]) in missing)
    state.set({"checked_until": end, "updated_at": utcnow()})
    if counted:
        logger.warning("sales counters caught up: %d contributions no receiver had counted", counted)
    return counted
