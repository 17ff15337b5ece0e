"""What an event has left to sell: remaining tickets per ticket type and each seat's state, as of now.

Claims past ``live_until`` are free, so expired holds and lapsed orders count
as available whether or not the scheduler has swept them.
"""
from app.events import service as events
from app.inventory import units
from app.inventory.units import UnitState
from app.tickets.kind import sellable_units
from app.timeutil import utcnow


def get_availability(event_id, *, viewer=None):
    event = events.get_event(event_id, viewer=viewer)
    now = utcnow()
    result = []
    for ticket_type in events.live_ticket_types(event_id):
        all_units = sellable_units(event, ticket_type)
        entry = {"ticket_type_id": ticket_type["id"], "name": ticket_type["name"], "kind": ticket_type["kind"],
                 "capacity": ticket_type["capacity"]}
        if ticket_type["kind"] == "seated":
            live = units.live_units(ticket_type["id"], now)
            states = {u: state for u, (state, _) in live.items()}
            entry["seats"] = [{"id": seat, "state": "unavailable" if states.get(seat) == UnitState.RETIRED
                               else states.get(seat, "available")} for seat in all_units]
            entry["remaining"] = sum(1 for s in entry["seats"] if s["state"] == "available")
        else:
            entry["remaining"] = max(0, len(all_units) - units.count_live_units(ticket_type["id"], now))
        result.append(entry)
    return {"event_id": event_id, "event_status": event["status"], "as_of": now, "ticket_types": result}
