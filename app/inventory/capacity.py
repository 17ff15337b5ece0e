"""Changing how many units a pool sells, without racing buyers.

Holds never read the pool's definition inside a transaction, so a lower
capacity cannot simply be written: a buyer who read the old one could still
claim a unit beyond it. Instead the units that leave sale are *retired*: a
claim document in state ``retired`` that never expires, created in the same
transaction that changes the definition. A buyer's create() on it fails like
on any taken unit, and a unit a buyer took meanwhile fails the retirement, so
the change is refused or retried rather than overselling. Raising capacity
restores retired units first and numbers new ones after the last.
"""
from app.errors import AppError
from app.inventory import soldout, units
from app.inventory.units import FOREVER, UnitState
from app.timeutil import utcnow


def _retired_claim(pool_id, unit, now):
    return units.claim(pool_id, unit, hold_id=None, buyer_uid=None, live_until=FOREVER, now=now,
                       state=UnitState.RETIRED)


def _live(snapshot, now):
    return snapshot.exists and snapshot.get("live_until") > now


def resize_numbered(transaction, pool_id, scope, *, unit_count, capacity, new_capacity):
    """Retire or restore units of a numbered pool inside the caller's transaction; returns the new
    ``{"capacity", "unit_count"}`` to store. Must run before the caller's own writes (Firestore
    transactions read first)."""
    now = utcnow()
    live = units.live_units(pool_id, now)
    retired = sorted(u for u, (state, _) in live.items() if state == UnitState.RETIRED)
    taken = len(live) - len(retired)
    if new_capacity < taken:
        raise AppError("capacity_below_taken", f"{taken} units are already sold or held.",
                       details={"taken": taken, "capacity": new_capacity})
    change = new_capacity - capacity
    if change < 0:
        # A few spare candidates, for units buyers take after the read above.
        candidates = [u for u in range(unit_count - 1, -1, -1) if u not in live][: -change + 16]
        by_id = {units.unit_id(scope, u): u for u in candidates}
        snapshots = transaction.get_all([units.unit_ref(d) for d in by_id])
        free = [s for s in snapshots if not _live(s, now)][: -change]
        if len(free) < -change:
            raise AppError("busy", "Buyers took units while capacity changed; try again.")
        for snapshot in free:
            transaction.set(snapshot.reference, _retired_claim(pool_id, by_id[snapshot.id], now))
    elif change > 0:
        soldout.mark_released(transaction, [pool_id])
        restored = retired[:change]
        for unit in restored:
            transaction.delete(units.unit_ref(units.unit_id(scope, unit)))
        unit_count += change - len(restored)
    return {"capacity": new_capacity, "unit_count": unit_count}


def resize_named(transaction, pool_id, scope, old_units, new_units):
    """Retire the named units (seats) that leave the pool and restore the ones that join it."""
    now = utcnow()
    leaving = set(old_units) - set(new_units)
    joining = set(new_units) - set(old_units)
    unit_of = {units.unit_id(scope, u): u for u in leaving | joining}
    snapshots = list(transaction.get_all([units.unit_ref(d) for d in unit_of]))
    taken = sorted(unit_of[s.id] for s in snapshots if unit_of[s.id] in leaving and _live(s, now))
    if taken:
        raise AppError("seats_taken", "Seats in the sections being removed are held or sold.",
                       details={"seats": taken})
    if joining:
        soldout.mark_released(transaction, [pool_id])
    for snapshot in snapshots:
        unit = unit_of[snapshot.id]
        if unit in leaving:
            transaction.set(snapshot.reference, _retired_claim(pool_id, unit, now))
        elif snapshot.exists and snapshot.get("state") == UnitState.RETIRED:
            transaction.delete(snapshot.reference)


def restore_retired(transaction, pool_id):
    """A deleted pool gives its retired units back, so its seats can join another."""
    for ref in units.retired_refs(pool_id):
        transaction.delete(ref)
