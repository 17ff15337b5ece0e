"""The organizer dashboard: sales over time, by kind and by catalogue item, refunds, check-in progress and totals
per currency, across an organizer's events, from the sales counters (``counters``) and the check-in counters.

A request reads the organizer's events, each event's sales counter shards
(its daily series included) and its check-in shards: a fixed few documents
per event, whatever the window, never the orders.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

from app.auth import Role
from app.checkin.stats import count_checked_in
from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db
from app.reports import counters
from app.timeutil import utcnow
from app.users import accounts

DEFAULT_DAYS = 30
MAX_DAYS = 366
SALE_FIELDS = ("orders", "units", "gross")
REFUND_FIELDS = ("refunds", "refunded_units", "refunded")


def merge(total, part):
    """Add a counter document into a running total: numbers are summed, other values kept."""
    for key, value in part.items():
        if isinstance(value, dict):
            merge(total.setdefault(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total.setdefault(key, value)
    return total


def _figures(counts, fields):
    figures = {name: counts.get(name, 0) for name in fields}
    return {**figures, "net": figures.get("gross", 0) - figures.get("refunded", 0)}


def money_rows(merged):
    """Per currency: orders, units and gross sold; refunds, units and amount refunded; net."""
    return [{"currency": currency, **_figures(counts, SALE_FIELDS + REFUND_FIELDS)}
            for currency, counts in sorted((merged.get("currencies") or {}).items())]


def kind_rows(merged):
    return [{"kind": kind, "currency": currency,
             **_figures(counts, ("units", "gross", "refunded_units", "refunded"))}
            for kind, by_currency in sorted((merged.get("kinds") or {}).items())
            for currency, counts in sorted(by_currency.items())]


def item_rows(merged):
    """Per catalogue item (a ticket type for tickets), by kind and name."""
    rows = [{"kind": item["kind"], "catalog_id": item["catalog_id"], "name": item["name"],
             "currency": item["currency"], **_figures(item, ("units", "gross", "refunded_units", "refunded"))}
            for item in (merged.get("items") or {}).values()]
    return sorted(rows, key=lambda r: (r["kind"], r["name"] or "", r["catalog_id"] or ""))


def read_counters(event_ids):
    """{event id: its counters summed over the shards}."""
    totals = {event_id: {} for event_id in event_ids}
    refs = [ref for event_id in event_ids for ref in counters.counter_refs(event_id)]
    for snapshot in db().get_all(refs):
        if snapshot.exists:
            merge(totals[snapshot.get("event_id")], snapshot.to_dict())
    return totals


def series_rows(merged, start, end):
    """Per day in [start, end) with sales or refunds, and per currency."""
    first, last = start.isoformat(), end.isoformat()
    return [{"day": day, **row} for day, currencies in sorted((merged.get("days") or {}).items())
            if first <= day < last for row in money_rows({"currencies": currencies})]


def latest_today(zones):
    """Today in whichever of ``zones`` is furthest ahead (UTC without any): the series' default last day, so
    a sale made today in an event's own zone is in it, even where that day has not begun in UTC."""
    now = utcnow()
    return max((now.astimezone(ZoneInfo(zone)).date() for zone in zones), default=now.date())


def window(day_from, day_to, today):
    """[start, end) of the days asked for: by default the last DEFAULT_DAYS days up to ``today``."""
    end = (day_to or today) + timedelta(days=1)
    start = day_from or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise field_error("from", "'from' must not be after 'to'.")
    if (end - start).days > MAX_DAYS:
        raise field_error("from", f"Ask for at most {MAX_DAYS} days at once.")
    return start, end


def checkin_progress(checked_in, merged):
    """People in against valid tickets (sold less refunded)."""
    tickets = next(({"sold": c["units"], "refunded": c["refunded_units"]} for c in kind_rows(merged)
                    if c["kind"] == "ticket"), {"sold": 0, "refunded": 0})
    valid = tickets["sold"] - tickets["refunded"]
    return {"checked_in": checked_in, "valid_tickets": valid,
            "progress": round(checked_in / valid, 4) if valid else None}


def _organizer(user, organizer_uid):
    if organizer_uid in (None, user.uid):
        return user.uid
    if user.role != Role.ADMIN:
        raise AppError("forbidden", "Organizers see their own dashboard.")
    return accounts.get_account(organizer_uid)["uid"]


def get_dashboard(user, *, organizer_uid=None, day_from=None, day_to=None):
    """The dashboard of the caller's events (admins: of ``organizer_uid``'s), with a daily series over a
    window of days; every figure is per currency."""
    organizer = _organizer(user, organizer_uid)
    organized = events.organized_events(organizer)
    start, end = window(day_from, day_to, latest_today({event["timezone"] for event in organized}))
    ids = [event["id"] for event in organized]
    sales = read_counters(ids)
    checked_in = count_checked_in(ids)
    overall = {}
    rows = []
    for event in organized:
        merged = sales[event["id"]]
        merge(overall, merged)
        items = item_rows(merged)
        rows.append({"event_id": event["id"], "title": event["title"], "status": event["status"],
                     "deleted": event.get("deleted_at") is not None, "starts_at": event["starts_at"],
                     "timezone": event["timezone"], "totals": money_rows(merged), "kinds": kind_rows(merged),
                     "ticket_types": [row for row in items if row["kind"] == "ticket"],
                     "items": [row for row in items if row["kind"] != "ticket"], "series": series_rows(merged, start, end),
                     "checkin": checkin_progress(checked_in[event["id"]], merged)})
    return {"organizer_uid": organizer, "day_from": start, "day_to": end - timedelta(days=1), "as_of": utcnow(),
            "totals": money_rows(overall), "kinds": kind_rows(overall), "series": series_rows(overall, start, end),
            "checkin": checkin_progress(sum(checked_in.values()), overall), "events": rows}
