"""Sales per stand and event: revenue, items sold, the top items, and how fast orders get ready.

Read from the stand's orders for the event at the time of asking (one query);
refunded lines count neither as revenue nor as items sold.
"""
import statistics

from app.concessions import records, stands
from app.concessions.records import StandOrderState
from app.events import service as events
from app.timeutil import utcnow

TOP_ITEMS = 5


def get_stand_stats(stand_id, user, *, event_id):
    """For the venue's owner and admins."""
    stand = stands.require_manager(stand_id, user)
    events.get_event(event_id, viewer=user)
    stand_orders = records.event_stand_orders(stand_id, event_id)
    by_state = {str(state): 0 for state in StandOrderState}
    revenue = tips = sold = 0
    per_item = {}
    ready_seconds = []
    for stand_order in stand_orders:
        by_state[stand_order["state"]] += 1
        if stand_order.get("ready_at"):
            ready_seconds.append((stand_order["ready_at"] - stand_order["received_at"]).total_seconds())
        for line in stand_order["lines"]:
            quantity = line["quantity"] - line["refunded_quantity"]
            kept = line["amount"] - line["refunded_amount"]
            revenue += kept
            tips += line["tip"] - line["refunded_tip"]
            sold += quantity
            entry = per_item.setdefault(line["item_id"], {"item_id": line["item_id"], "name": line["item_name"],
                                                          "quantity": 0, "revenue": 0})
            entry["quantity"] += quantity
            entry["revenue"] += kept
    top = sorted((e for e in per_item.values() if e["quantity"]), key=lambda e: (-e["quantity"], -e["revenue"],
                                                                              e["item_id"]))[:TOP_ITEMS]
    return {"stand_id": stand_id, "event_id": event_id, "currency": stand["currency"], "orders": by_state,
            "revenue": revenue, "tips": tips, "items_sold": sold, "top_items": top,
            "median_ready_seconds": statistics.median(ready_seconds) if ready_seconds else None, "as_of": utcnow()}
