"""Claiming a pool's units for a hold, and selling or releasing them for an order.

A kind of thing for sale that has limited stock (tickets, parking spaces,
merchandise) describes it as a ``Pool`` and asks ``pick`` which units to
claim in one attempt of a hold; the checkout writes the claims with
``create()`` and reports a collision back through ``learn``. Picking is where
the flash crowd is kept fast:

- units come from this process's hint of taken units (``units.HINT``), its
  own lane first, so concurrent buyers rarely meet;
- outside its lane, or once a request has collided, a process probes up to
  ``PROBE_SIZE`` candidates in one batched read before trying them;
- after ``FRESH_AFTER_COLLISIONS`` collisions, or when the hint runs short,
  an authoritative read decides: a count first, and ``sold_out`` only when
  Firestore says so, never from the hint alone; the requests of a process
  that need one at once share it (``SharedCounts``);
- a claim whose hold expired is free: ``attempts.taken_over`` remembers it so
  the checkout takes it over in a transaction on that claim alone.

Orders then move the claims along in their own transactions: ``hand_to_order``
at checkout, ``sell`` on payment, ``release`` on cancellation, expiry and
refund (after which ``forget`` clears this process's memory of them).
"""
import itertools
import random
import threading
from dataclasses import dataclass, field
from typing import Sequence

from app.errors import AppError
from app.firebase import db
from app.inventory import soldout, units
from app.inventory.units import FOREVER, HINT, UnitState
from app.timeutil import utcnow

FRESH_AFTER_COLLISIONS = 3
PROBE_SIZE = 16
MAX_PROBES = 4


@dataclass(frozen=True)
class Pool:
    """Units that one kind sells interchangeably (or by name), and how to talk about them."""

    id: str
    scope: str
    units: Sequence
    name: str
    # Identifies the pool in error details, in the words of the kind that sells it.
    about: dict = field(default_factory=dict)
    # Named pools (seats) keep retired claims outside ``units``; numbered ones count them among them.
    counts_retired: bool = True

    def unit_id(self, unit):
        return units.unit_id(self.scope, unit)


@dataclass
class Attempts:
    """What one hold request has learned across its attempts."""

    taken_over: dict = field(default_factory=dict)  # claim id -> (pool id, unit) whose claim expired
    tried: dict = field(default_factory=dict)  # pool id -> units that collided


class SharedCounts:
    """Counts of a pool that this process's requests need at once, run one at a time and shared.

    When the last units go, every request in flight turns to a count at the
    same moment; run side by side they are the on-sale's most expensive reads.
    Here a request waits while one runs, and then takes the result of the next
    one instead of running its own: every count a request is answered from
    began after the request asked for it, so a request that shares never hears
    of a state older than its question.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pools = {}
        self._tickets = itertools.count()

    def waiting(self, key):
        """Requests running or waiting for a count of ``key``."""
        with self._lock:
            return self._pools.get(key, {}).get("waiting", 0)

    def count(self, key, run):
        """(``run()``'s result or a share of one that began after this call, whether this call ran it)."""
        asked = next(self._tickets)
        with self._lock:
            shared = self._pools.setdefault(key, {"lock": threading.Lock(), "waiting": 0, "began": -1})
            shared["waiting"] += 1
        try:
            with shared["lock"]:
                if shared["began"] > asked:
                    return shared["result"], False
                began = next(self._tickets)
                result = run()
                shared["began"], shared["result"] = began, result
                return result, True
        finally:
            with self._lock:
                shared["waiting"] -= 1
                if not shared["waiting"]:
                    del self._pools[key]


COUNTS = SharedCounts()


def sold_out(pool, available):
    available = max(0, available)
    return AppError("sold_out", f"Only {available} of {pool.name} left.",
                    details={**pool.about, "available": available})


def pick_named(pool, names):
    """The claim ids of exactly these units (seats): nothing to choose."""
    return {pool.unit_id(name): name for name in names}


def pick(pool, quantity, attempts, now, flight):
    """{claim id: unit} of ``quantity`` units of a numbered pool to try in this attempt, the cheapest source
    first: expired claims this request found; this process's lane and units a probe saw free; other lanes'
    units, probed in batches (each probe teaches the hint what it saw), or when the hint knows of none, units
    other requests here are trying; and when that is still too few, Firestore. Once a request has collided,
    the hint has proved stale, so it probes its own lane's units too."""
    tried = attempts.tried.get(pool.id, set())
    if len(tried) >= FRESH_AFTER_COLLISIONS or HINT.believes_sold_out(pool.id):
        # The hint knows only this process's claims; after a few collisions ask Firestore instead of
        # guessing on, or a sold-out pool would run a buyer out of attempts.
        attempts.tried[pool.id] = set()
        picks = _fresh_candidates(pool, quantity, now, flight)
    else:
        picks = _hinted_picks(pool, quantity, attempts, tried, now, flight)
    return {pool.unit_id(unit): unit for unit in picks}


def _hinted_picks(pool, quantity, attempts, tried, now, flight):
    picks = [u for (p, u) in attempts.taken_over.values() if p == pool.id][:quantity]

    def hinted(count, scope):
        return HINT.candidates(pool.id, pool.units, count, now, flight, exclude=set(picks) | tried, scope=scope)

    if not tried:
        picks += hinted(quantity - len(picks), "own")
    for _ in range(MAX_PROBES):
        if len(picks) >= quantity:
            break
        to_probe = hinted(PROBE_SIZE, "own") if tried else []
        to_probe += hinted(PROBE_SIZE - len(to_probe), "others")
        if not to_probe:
            picks += hinted(quantity - len(picks), "all")
            break
        picks += _probe(pool, to_probe, now, attempts)[:quantity - len(picks)]
    if len(picks) < quantity:
        picks = _fresh_candidates(pool, quantity, now, flight)
    return picks


def _probe(pool, candidates, now, attempts):
    """Those of ``candidates`` no live claim holds, from one batched read; the hint learns the others.

    Units outside this process's lane are probed before they are tried, and
    after a collision this lane's too: other workers are selling them, so a
    guess would mostly collide.
    """
    by_id = {pool.unit_id(unit): unit for unit in candidates}
    free = []
    for snapshot in db().get_all([units.unit_ref(doc_id) for doc_id in by_id], field_paths=["live_until"]):
        unit = by_id[snapshot.id]
        if not snapshot.exists:
            free.append(unit)
        elif snapshot.get("live_until") <= now:
            attempts.taken_over[snapshot.id] = (pool.id, unit)
            free.append(unit)
        else:
            HINT.mark(pool.id, unit, snapshot.get("live_until"))
    HINT.seen_free(pool.id, free)
    return free


def _fresh_candidates(pool, quantity, now, flight):
    """Candidates from an authoritative read; sold out only when that read (or a standing verdict) says so.

    A standing sold-out verdict answers first, from one document
    (``soldout``). Then a count: near sell-out most buyers are answered by one
    aggregation instead of reading every live claim; a count that finds
    nothing left records the verdict for the buyers after it.
    """
    if soldout.stands(pool.id, now):
        HINT.believe_sold_out(pool.id)
        raise sold_out(pool, 0)
    counted_at = utcnow()
    (taken, read_time), counted_here = COUNTS.count(
        pool.id, lambda: units.count_live(pool.id, now, exclude_retired=not pool.counts_retired))
    remaining = len(pool.units) - taken
    if remaining <= 0:
        HINT.believe_sold_out(pool.id)
        if read_time is not None and counted_here:
            soldout.record(pool.id, read_time, counted_at)
    if remaining < quantity:
        raise sold_out(pool, remaining)
    live = units.live_units(pool.id, now)
    HINT.replace(pool.id, {u: until for u, (_, until) in live.items()})
    free = [u for u in pool.units if u not in live]
    if len(free) < quantity:
        raise sold_out(pool, len(free))
    picks = HINT.candidates(pool.id, pool.units, quantity, now, flight)
    # Units this process claimed after the read can leave the hint short; the read's free units make up the rest.
    return picks + random.sample([u for u in free if u not in picks], quantity - len(picks))


def learn(pool, doc_id, unit, attempts, now):
    """A unit a hold tried was taken. True when its claim has expired (the next attempt takes it over);
    otherwise the hint and the request remember it, and False."""
    snapshot = units.unit_ref(doc_id).get(field_paths=["live_until"])
    if snapshot.exists and snapshot.get("live_until") <= now:
        attempts.taken_over[doc_id] = (pool.id, unit)
        return True
    attempts.taken_over.pop(doc_id, None)
    HINT.mark(pool.id, unit, snapshot.get("live_until") if snapshot.exists else now)
    attempts.tried.setdefault(pool.id, set()).add(unit)
    return False


def claimed(hold, pool_id, unit, live_until, now):
    """The claim document a hold writes for one unit."""
    return units.claim(pool_id, unit, hold_id=hold["id"], buyer_uid=hold["buyer_uid"], live_until=live_until,
                       now=now)


def read(tx, unit_ids):
    """{claim id: snapshot} of these claims, read in the caller's transaction."""
    if not unit_ids:
        # An order of things without stock (a stand's food) claims nothing, and Firestore refuses an empty read.
        return {}
    return {s.id: s for s in tx.get_all([units.unit_ref(d) for d in unit_ids])}


def owns(snapshot, order_id):
    return snapshot.exists and snapshot.to_dict().get("order_id") == order_id


def belongs_to_hold(snapshot, hold_id, now):
    """The claim is still the hold's own and live: not taken over after it expired, not handed to an order."""
    return (snapshot.exists and snapshot.get("hold_id") == hold_id and not snapshot.to_dict().get("order_id")
            and snapshot.get("live_until") > now)


def hand_to_order(tx, snapshots, order_id, live_until):
    """A hold became an order: its claims are the order's until its payment deadline."""
    for snapshot in snapshots:
        tx.update(snapshot.reference, {"order_id": order_id, "live_until": live_until})


def sell(tx, order, order_units, snapshots, now):
    """Make the order's claims sold for good; False, writing nothing, when another buyer has one now.

    ``order_units`` are ``{unit_id, pool, unit}``; a claim that lapsed (the
    payment came after the deadline) is taken back when nobody has claimed the
    unit since.
    """
    for unit in order_units:
        snapshot = snapshots[unit["unit_id"]]
        if snapshot.exists and snapshot.get("live_until") > now and not owns(snapshot, order["id"]):
            return False
    for unit in order_units:
        tx.set(snapshots[unit["unit_id"]].reference,
               units.claim(unit["pool"], unit["unit"], hold_id=order["hold_id"], buyer_uid=order["buyer_uid"],
                           live_until=FOREVER, now=now, state=UnitState.SOLD, order_id=order["id"]))
    return True


def _live(snapshot, now):
    return snapshot.get("live_until") > now


def release(tx, snapshots, order_id, now, unit_ids=None):
    """Delete the order's claims (all, or only ``unit_ids``); units someone else claimed stay theirs. Live
    units freed void their pools' sold-out verdicts."""
    freed = []
    for doc_id, snapshot in snapshots.items():
        if (unit_ids is None or doc_id in unit_ids) and owns(snapshot, order_id):
            tx.delete(snapshot.reference)
            if _live(snapshot, now):
                freed.append(snapshot.get("pool"))
    soldout.mark_released(tx, freed)


def release_hold(tx, snapshots, hold_id, now):
    """Delete the claims a hold still owns; one taken over after the hold expired is someone else's, and
    one sold is the order's. Live units freed void their pools' sold-out verdicts."""
    owned = [s for s in snapshots if s.exists and s.get("hold_id") == hold_id
             and s.to_dict().get("state") != UnitState.SOLD]
    # Before the deletes: marking reads the verdicts, and a transaction reads before it writes.
    soldout.mark_released(tx, [s.get("pool") for s in owned if s.to_dict().get("pool") and _live(s, now)])
    for snapshot in owned:
        tx.delete(snapshot.reference)


def forget(released):
    """After a commit that released ``{pool, unit}``s: this process stops steering buyers away from them."""
    by_pool = {}
    for unit in released:
        by_pool.setdefault(unit["pool"], []).append(unit["unit"])
    for pool_id, free in by_pool.items():
        HINT.forget(pool_id, free)


def remember(picked, live_until):
    """After a hold committed: this process steers other buyers away from the ``(pool, unit)``s it claimed."""
    for pool_id, unit in picked:
        HINT.mark(pool_id, unit, live_until)
