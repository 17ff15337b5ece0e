"""Changing how many units a ticket type sells, without racing buyers.

Holds never read the ticket type inside a transaction, so a lower capacity
cannot simply be written: a buyer who read the old one could still claim a
unit beyond it. Instead the units that leave sale are *retired*: a claim
document in state ``retired`` that never expires, created in the same
transaction that changes the ticket type. A buyer's create() on it fails like
on any taken unit, and a unit a buyer took meanwhile fails the retirement, so
the change is refused or retried rather than overselling. Raising capacity
restores retired units first and numbers new ones after the last.
"""
from app.errors import AppError
from app.inventory import units
from app.inventory.units import FOREVER, UnitState
from app.timeutil import utcnow


def _retired_claim(event_id, ticket_type_id, unit, now):
    return units.claim(event_id, ticket_type_id, unit, hold_id=None, buyer_uid=None, live_until=FOREVER, now=now,
                       state=UnitState.RETIRED)


def _live(snapshot, now):
    return snapshot.exists and snapshot.get("live_until") > now


def _taken_error(taken, capacity):
    return AppError("capacity_below_taken", f"{taken} units are already sold or held.",
                    details={"taken": taken, "capacity": capacity})


def resize_general_admission(transaction, event_id, ticket_type, new_capacity):
    """Retire or restore units inside the caller's transaction; returns the fields to store.

    Must run before the caller's own writes (Firestore transactions read first).
    """
    now = utcnow()
    tid = ticket_type["id"]
    unit_count = ticket_type.get("unit_count") or ticket_type["capacity"]
    live = units.live_units(tid, now)
    retired = sorted(u for u, (state, _) in live.items() if state == UnitState.RETIRED)
    taken = len(live) - len(retired)
    if new_capacity < taken:
        raise _taken_error(taken, new_capacity)
    change = new_capacity - ticket_type["capacity"]
    if change < 0:
        # A few spare candidates, for units buyers take after the read above.
        candidates = [u for u in range(unit_count - 1, -1, -1) if u not in live][: -change + 16]
        by_id = {units.unit_id(event_id, tid, u): u for u in candidates}
        snapshots = transaction.get_all([units.unit_ref(d) for d in by_id])
        free = [s for s in snapshots if not _live(s, now)][: -change]
        if len(free) < -change:
            raise AppError("busy", "Buyers took units while capacity changed; try again.")
        for snapshot in free:
            transaction.set(snapshot.reference, _retired_claim(event_id, tid, by_id[snapshot.id], now))
    elif change > 0:
        restored = retired[:change]
        for unit in restored:
            transaction.delete(units.unit_ref(units.unit_id(event_id, tid, unit)))
        unit_count += change - len(restored)
    return {"capacity": new_capacity, "unit_count": unit_count}


def resize_seated(transaction, event_id, ticket_type, old_seats, new_seats):
    """Retire the seats that leave the ticket type and restore the ones that join it."""
    now = utcnow()
    leaving = set(old_seats) - set(new_seats)
    joining = set(new_seats) - set(old_seats)
    seat_of = {units.unit_id(event_id, None, s): s for s in leaving | joining}
    snapshots = list(transaction.get_all([units.unit_ref(d) for d in seat_of]))
    taken = sorted(seat_of[s.id] for s in snapshots if seat_of[s.id] in leaving and _live(s, now))
    if taken:
        raise AppError("seats_taken", "Seats in the sections being removed are held or sold.",
                       details={"seats": taken})
    for snapshot in snapshots:
        seat = seat_of[snapshot.id]
        if seat in leaving:
            transaction.set(snapshot.reference, _retired_claim(event_id, ticket_type["id"], seat, now))
        elif snapshot.exists and snapshot.get("state") == UnitState.RETIRED:
            transaction.delete(snapshot.reference)


def restore_retired(transaction, ticket_type_id):
    """A deleted ticket type gives its retired units back, so its seats can join another."""
    for ref in units.retired_refs(ticket_type_id):
        transaction.delete(ref)
