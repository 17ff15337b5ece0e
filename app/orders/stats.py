"""Sales figures of one event for its organizer and admins: units sold and held, revenue and refunds."""
from google.cloud.firestore_v1 import FieldFilter

from app.events import service as events
from app.firebase import db
from app.inventory import units
from app.orders.records import ORDERS, PAID_STATES
from app.timeutil import utcnow


def get_event_stats(event_id, user):
    """Per ticket type and in total. Revenue is what paid orders brought in, net of refunds."""
    event = events.managed_event(event_id, user)
    now = utcnow()
    ticket_types = events.live_ticket_types(event_id)
    rows = {t["id"]: {"ticket_type_id": t["id"], "name": t["name"], "capacity": t["capacity"],
                      **units.count_pool(t["id"], now), "gross": 0, "refunds": 0} for t in ticket_types}
    totals = {"orders_paid": 0, "gross": 0, "refunds": 0}
    query = db().collection(ORDERS).where(filter=FieldFilter("event_id", "==", event_id))
    for doc in query.select(["state", "units", "items", "payment", "refunded_amount"]).stream():
        order = doc.to_dict()
        if order["state"] not in PAID_STATES:
            continue
        totals["orders_paid"] += 1
        totals["gross"] += order["payment"].get("amount", 0)
        totals["refunds"] += order["refunded_amount"]
        catalog = {line["id"]: line.get("catalog_id") for line in order["items"]}
        # An order refunded because its payment came too late never sold its units.
        for unit in order["units"]:
            row = rows.get(catalog.get(unit["line_id"]))
            if row is not None and unit.get("issued"):
                row["gross"] += unit["amount"]
                row["refunds"] += unit["amount"] if unit["refunded"] else 0
    for row in rows.values():
        row["revenue"] = row["gross"] - row["refunds"]
    currency = ticket_types[0]["currency"] if ticket_types else event.get("currency")
    return {"event_id": event_id, "currency": currency, "as_of": now, **totals,
            "revenue": totals["gross"] - totals["refunds"],
            "sold": sum(r["sold"] for r in rows.values()), "held": sum(r["held"] for r in rows.values()),
            "ticket_types": list(rows.values())}
