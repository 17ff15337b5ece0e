"""Sales figures of one event for its organizer and admins: units sold and held per ticket type (counted by
inventory), and money in and refunded from the sales counters, the same the dashboard shows."""
from app.events import service as events
from app.inventory import units
from app.reports.dashboard import item_rows, money_rows, read_counters
from app.timeutil import utcnow


def get_event_stats(event_id, user):
    """Per ticket type and in total. Revenue is what the event sold for, net of refunds, in its currency;
    ``currencies`` has the totals of every currency it sold in."""
    event = events.managed_event(event_id, user)
    now = utcnow()
    ticket_types = events.live_ticket_types(event_id)
    merged = read_counters([event_id])[event_id]
    currency = ticket_types[0]["currency"] if ticket_types else event.get("currency")
    sold_items = {row["catalog_id"]: row for row in item_rows(merged) if row["kind"] == "ticket"}
    rows = []
    for ticket_type in ticket_types:
        money = sold_items.get(ticket_type["id"], {})
        gross, refunded = money.get("gross", 0), money.get("refunded", 0)
        rows.append({"ticket_type_id": ticket_type["id"], "name": ticket_type["name"],
                     "capacity": ticket_type["capacity"], **units.count_pool(ticket_type["id"], now),
                     "gross": gross, "refunds": refunded, "revenue": gross - refunded})
    totals = next((row for row in money_rows(merged) if row["currency"] == currency), {})
    gross, refunded = totals.get("gross", 0), totals.get("refunded", 0)
    return {"event_id": event_id, "currency": currency, "as_of": now, "orders_paid": totals.get("orders", 0),
            "gross": gross, "refunds": refunded, "revenue": gross - refunded,
            "sold": sum(r["sold"] for r in rows), "held": sum(r["held"] for r in rows), "ticket_types": rows,
            "currencies": money_rows(merged)}
