"""Check-in figures of one event: people in, entries per gate and per ticket type, scans by result.

They are sums over the event's counter shards, which every scan increments in
its own transaction (see ``service``), so a stats read costs a handful of
document reads however many people came.
"""
from app.checkin import service
from app.events import service as events
from app.firebase import db
from app.timeutil import utcnow


def _add(total, part):
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def get_checkin_stats(event_id, user):
    service.require_door(event_id, user)
    sums = {"scans": 0, "entries": 0, "checked_in": 0, "conflicts": 0}
    results, gates, by_type = {}, {}, {}
    for snap in db().get_all(service.counter_refs(event_id)):
        if not snap.exists:
            continue
        shard = snap.to_dict()
        for key in sums:
            sums[key] += shard.get(key, 0)
        _add(results, shard.get("results", {}))
        _add(gates, shard.get("gates", {}))
        _add(by_type, shard.get("ticket_types", {}))
    names = {t["id"]: t["name"] for t in events.live_ticket_types(event_id)}
    return {
        "event_id": event_id, "as_of": utcnow(), **sums,
        "results": {str(code): results.get(str(code), 0) for code in service.CheckinResult},
        "gates": [{"gate": gate, "entries": count} for gate, count in sorted(gates.items())],
        "ticket_types": [{"ticket_type_id": type_id, "name": names.get(type_id), "checked_in": by_type.get(type_id, 0)}
                         for type_id in list(names) + sorted(set(by_type) - set(names))],
    }


def count_checked_in(event_ids):
    """{event id: tickets admitted at least once}, for figures across many events: the counter shards only."""
    counts = dict.fromkeys(event_ids, 0)
    refs = [ref for event_id in event_ids for ref in service.counter_refs(event_id)]
    for snap in db().get_all(refs):
        if snap.exists:
            counts[snap.get("event_id")] += snap.to_dict().get("checked_in", 0)
    return counts
