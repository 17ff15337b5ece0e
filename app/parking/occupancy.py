"""Spaces over time: the pools a window claims, what is taken in them, and choosing a free space.

Every (space, slot) of a lot is a unit of the inventory: the pool of a slot
is one kind of space at the lot in that slot (``parking:<lot>:<kind>:<slot>``,
its units the space ids), and a unit's claim id is scoped to the lot and the
slot. A booking (or a drive-up session) claims every slot of its window on one
space, so two overlapping bookings of a space meet in a claim document and
``create()`` lets only one of them have it, and a kind of N spaces is never
oversold in any slot: each slot pool has N units.

Choosing a space is done as the ticket kind chooses units: from this
process's hint (``units.HINT``, its own lane of spaces first, spaces another
request here is trying last), learning from collisions, and after a few of
them from Firestore: the claims of the window's first slot (every booking
needs it, so only spaces free there are candidates), then the candidates'
other slots, read by id a few spaces at a time. ``sold_out`` is only ever said
by Firestore, never by the hint.

Every query here is an equality on one slot's pool: the emulator answers an
"in" over a window's 24 pools by scanning the collection 24 times (4.6 s for
a count among 19,200 claims against 0.3 s for one pool, measured), and
Firestore bills it no less.
"""
import random
from dataclasses import dataclass
from datetime import timedelta

from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.aggregation import AggregationQuery

from app.errors import AppError
from app.firebase import db
from app.inventory import units
from app.inventory.claims import FRESH_AFTER_COLLISIONS
from app.inventory.units import HINT
from app.parking import lots
from app.parking import windows
from app.parking.windows import Window, floor_slot, slot_key, slots
from app.timeutil import utcnow

# Candidates a fresh pick checks slot by slot in one batched read, before asking for more.
VERIFY_BATCH = 8


@dataclass(frozen=True)
class Span:
    """One kind of space at a lot over the slots of a window: what a booking claims one space of."""

    lot_id: str
    lot_name: str
    kind: str
    spaces: tuple
    slots: tuple

    @classmethod
    def of(cls, lot, kind, window):
        return cls(lot["id"], lot["name"], kind, tuple(lots.spaces_of(lot, kind)),
                   tuple(slots(window, lot["slot_minutes"])))

    @property
    def key(self):
        return f"parking:{self.lot_id}:{self.kind}:{slot_key(self.slots[0])}:{len(self.slots)}"

    def pool(self, slot):
        return f"parking:{self.lot_id}:{self.kind}:{slot_key(slot)}"

    @property
    def pools(self):
        return [self.pool(slot) for slot in self.slots]

    def claims(self, space):
        """{claim id: (pool id, space)} of every slot of the window on ``space``."""
        return {units.unit_id(f"parking/{self.lot_id}/{slot_key(slot)}", space): (self.pool(slot), space)
                for slot in self.slots}

    @property
    def capacity(self):
        return len(self.spaces) * len(self.slots)


def sold_out(span):
    return AppError("sold_out", f"No {span.kind} space is free at {span.lot_name} for the whole window.",
                    details={"lot_id": span.lot_id, "kind": span.kind, "available": 0})


def _live(pool, now):
    return (db().collection(units.UNITS).where(filter=FieldFilter("pool", "==", pool))
            .where(filter=FieldFilter("live_until", ">", now)))


def count_taken(pool, now):
    """Spaces of one slot's pool held, sold or parked in, as of ``now``."""
    return AggregationQuery(_live(pool, now)).count(alias="n").get()[0][0].value


def taken_in(pool, now):
    """{space: live_until} of a slot's live claims, reading only those fields; the hint learns them."""
    held = {doc.get("unit"): doc.get("live_until")
            for doc in _live(pool, now).select(["unit", "live_until"]).stream()}
    HINT.replace(pool, held)
    return held


def free_spaces(span, now):
    """Spaces free in every slot of the window, from Firestore: one query per slot, each reading only the
    claims it finds (an "in" over the slots would cost the emulator a scan per slot and Firestore nothing less)."""
    busy = set()
    for pool in span.pools:
        busy.update(taken_in(pool, now))
        if len(busy) >= len(span.spaces):
            return []
    return [space for space in span.spaces if space not in busy]


def occupancy_percent(span, now):
    """The share of the kind's spaces taken when the window starts (its first slot), whole percent rounded down:
    one count, however long the window."""
    return 100 * count_taken(span.pools[0], now) // len(span.spaces) if span.spaces else 100


def pick_space(span, attempts, now, flight):
    """{claim id: (pool id, space)} of one space for every slot of the window, for one attempt of a hold.

    A space whose claims expired is tried again (the checkout takes them over);
    after ``FRESH_AFTER_COLLISIONS`` collisions, or when the hint knows of no
    free space, Firestore decides, and only Firestore says ``sold_out``.
    """
    pools = set(span.pools)
    # Another line of the same hold may be choosing in these slots: never the same space twice.
    mine = {space for pool, space in flight if pool in pools}
    tried = attempts.tried.setdefault(span.key, set())
    expired = [space for pool, space in attempts.taken_over.values() if pool in pools and space not in mine]
    if expired:
        space = expired[0]
    elif len(tried) >= FRESH_AFTER_COLLISIONS:
        tried.clear()
        space = _fresh_pick(span, now, flight, mine)
    else:
        space = HINT.candidate_across(span.pools, list(span.spaces), now, flight, exclude=tried | mine)
        if space is None:
            space = _fresh_pick(span, now, flight, mine)
    return span.claims(space)


def _fresh_pick(span, now, flight, mine):
    """A space free in every slot of the window, from Firestore, or ``sold_out``.

    Every booking needs the window's first slot, so the spaces free in it (one
    query) are the only candidates; they are then checked slot by slot by
    id, a few at a time, this process's lane first, until one is free in all.
    """
    first = taken_in(span.pools[0], now)
    candidates = [space for space in span.spaces if space not in first and space not in mine]
    random.shuffle(candidates)
    own = set(span.spaces[HINT.lane::HINT.lanes])
    candidates.sort(key=lambda space: space not in own)
    for i in range(0, len(candidates), VERIFY_BATCH):
        batch = candidates[i:i + VERIFY_BATCH]
        claims = {doc_id: (pool, space) for space in batch for doc_id, (pool, _) in span.claims(space).items()}
        busy = set()
        for snapshot in db().get_all([units.unit_ref(doc_id) for doc_id in claims], field_paths=["live_until"]):
            if snapshot.exists and snapshot.get("live_until") > now:
                pool, space = claims[snapshot.id]
                HINT.mark(pool, space, snapshot.get("live_until"))
                busy.add(space)
        free = [space for space in batch if space not in busy]
        if free:
            return HINT.candidate_across(span.pools, free, now, flight) or free[0]
    raise sold_out(span)


def learn_collision(span, space, attempts, now):
    """A claim of ``space`` was taken. When every claim of it in the window has expired, the next attempt
    takes them over (True); otherwise the hint and the request remember the space is taken (False)."""
    claims = span.claims(space)
    snapshots = list(db().get_all([units.unit_ref(doc_id) for doc_id in claims], field_paths=["live_until"]))
    live = [s for s in snapshots if s.exists and s.get("live_until") > now]
    for doc_id in claims:
        attempts.taken_over.pop(doc_id, None)
    if not live:
        for snapshot in snapshots:
            if snapshot.exists:
                attempts.taken_over[snapshot.id] = claims[snapshot.id]
        return True
    for snapshot in live:
        HINT.mark(claims[snapshot.id][0], space, snapshot.get("live_until"))
    attempts.tried.setdefault(span.key, set()).add(space)
    return False


def availability(lot, now, window=None):
    """Per kind of space: how many the lot has and how many are free, now (the current slot) or for the
    whole of ``window``."""
    window = window or Window(floor_slot(now, lot["slot_minutes"]),
                              floor_slot(now, lot["slot_minutes"]) + timedelta(minutes=lot["slot_minutes"]))
    kinds = []
    for kind, count in lots.kinds_of(lot).items():
        span = Span.of(lot, kind, window)
        # In one slot every live claim is one space taken: a count says it all.
        free = count - count_taken(span.pools[0], now) if len(span.slots) == 1 else len(free_spaces(span, now))
        kinds.append({"kind": kind, "spaces": count, "available": free, "occupied": count - free})
    return {"lot_id": lot["id"], "name": lot["name"], "active": lot["active"] and not lot.get("deleted_at"),
            "as_of": now, "from": window.starts_at, "to": window.ends_at, "kinds": kinds}


def get_availability(lot_id, viewer=None, *, starts_at=None, ends_at=None):
    lot = lots.visible_lot(lot_id, viewer)
    now = utcnow()
    window = windows.window(starts_at, ends_at, now, lot["slot_minutes"]) if starts_at else None
    return availability(lot, now, window)


def with_availability(lot):
    """The lot as shown, with its free spaces per kind now."""
    return {**lot, "availability": availability(lot, utcnow())}
