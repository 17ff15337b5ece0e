"""Sellable units as claim documents: the one source of truth for what is taken.

Whatever a venue sells in limited numbers is a *pool* of units, each with a
claim document id: a general-admission ticket type of N units has units
0..N-1, a seated one has one unit per seat, a parking zone one per space and
time slot, a scarf one per item in stock. A unit is taken while a claim
document for it exists and is live (``live_until`` in the future): held claims
live until the hold expires, sold and retired claims forever. Claiming is
``create()`` of that document, so two buyers can never take one unit, and no
transaction reads anything on the hot path. Taking over an expired claim is a
transaction on that one claim.

A unit's id is a hash of its *scope* and its key, so units of one scope are
the same documents whichever pool sells them (a seat is scoped to its event:
two ticket types can never sell it twice). Ids are hashes, not sequences:
Firestore hot-spots on sequential keys.
"""
import hashlib
import random
import re
import threading
from collections import Counter, OrderedDict
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum

from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.aggregation import AggregationQuery

from app.firebase import db

UNITS = "inventory_units"
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
# Firestore says "Document already exists: projects/…/documents/<collection>/<id>"; the emulator
# says "entity already exists: EntityRef{…, path=/<collection>/<id>}".
_EXISTING_DOC = re.compile(r"(?:/documents|path=)/([A-Za-z_]+)/([A-Za-z0-9_-]+)")


class UnitState(StrEnum):
    HELD = "held"
    SOLD = "sold"
    RETIRED = "retired"


def unit_id(scope, unit):
    return hashlib.sha256(f"{scope}/{unit}".encode()).hexdigest()[:24]


def unit_ref(doc_id):
    return db().collection(UNITS).document(doc_id)


def collided_document(error):
    """(collection, id) of the document a failed create() collided with, when Firestore names it."""
    match = _EXISTING_DOC.search(str(error))
    return (match.group(1), match.group(2)) if match else (None, None)


def _live_query(pool, now):
    return (db().collection(UNITS)
            .where(filter=FieldFilter("pool", "==", pool))
            .where(filter=FieldFilter("live_until", ">", now)))


def live_units(pool, now):
    """{unit: (state, live_until)} of the pool's live claims, reading only those fields."""
    docs = _live_query(pool, now).select(["unit", "state", "live_until"]).stream()
    return {doc.get("unit"): (doc.get("state"), doc.get("live_until")) for doc in docs}


def _count(query):
    result = AggregationQuery(query).count(alias="n").get()[0][0]
    return result.value, result.read_time


def count_live(pool, now, *, exclude_retired=False):
    """(units of the pool held, sold or retired (unless excluded) as of ``now``, the count's server read time)."""
    query = _live_query(pool, now)
    total, read_time = _count(query)
    if exclude_retired:
        total -= _count(query.where(filter=FieldFilter("state", "==", UnitState.RETIRED)))[0]
    return total, read_time


def count_live_units(pool, now, *, exclude_retired=False):
    """Units of the pool that are held, sold (or retired, unless excluded) as of ``now``."""
    return count_live(pool, now, exclude_retired=exclude_retired)[0]


def count_sold_units(pool):
    query = (db().collection(UNITS).where(filter=FieldFilter("pool", "==", pool))
             .where(filter=FieldFilter("state", "==", UnitState.SOLD)))
    return _count(query)[0]


def count_pool(pool, now):
    """{"sold", "held"}: the pool's sold units and units in unexpired holds or unpaid orders, as of ``now``."""
    sold = count_sold_units(pool)
    return {"sold": sold, "held": count_live_units(pool, now, exclude_retired=True) - sold}


def retired_refs(pool):
    query = (db().collection(UNITS).where(filter=FieldFilter("pool", "==", pool))
             .where(filter=FieldFilter("state", "==", UnitState.RETIRED)))
    return [doc.reference for doc in query.select([]).stream()]


def claim(pool, unit, *, hold_id, buyer_uid, live_until, now, state=UnitState.HELD, order_id=None):
    return {
        "pool": pool, "unit": unit, "hold_id": hold_id, "buyer_uid": buyer_uid, "order_id": order_id,
        "state": str(state), "live_until": live_until, "created_at": now,
    }


class TakenHint:
    """Per-process memory of units seen taken, to pick candidates that are probably free.

    It only steers the choice: a unit it forgets too early costs one failed
    create(), and one it remembers too long is never reported as sold out,
    because sold-out is only declared from a fresh read. Entries forget
    themselves when the claim they saw would expire, and releases in this
    process forget them at once.

    It also keeps concurrent buyers apart. Units another request of this
    process is trying right now come last, so this process's threads do not
    race each other. And each process may own a lane, every ``lanes``-th unit
    of a pool, which it offers first: gunicorn gives every worker its
    own (gunicorn.conf.py), so workers meet only once a lane is sold. Outside
    its lane a process offers units a probe (one batched read) saw free.

    It remembers the ``max_pools`` pools it used last, so a
    long-lived worker does not grow with every sale it ever served.
    """

    def __init__(self, max_pools=512):
        self._taken = {}
        self._trying = {}
        self._seen_free = {}
        self._sold_out = set()
        self._recent = OrderedDict()
        self._max_pools = max_pools
        self._lock = threading.Lock()
        self.lane, self.lanes = 0, 1

    def _use(self, pool):
        """Note a use of the pool's memory, forgetting the least recently used beyond the limit."""
        self._recent[pool] = None
        self._recent.move_to_end(pool)
        while len(self._recent) > self._max_pools:
            stale, _ = self._recent.popitem(last=False)
            self._taken.pop(stale, None)
            self._seen_free.pop(stale, None)
            self._sold_out.discard(stale)

    def set_lane(self, lane, lanes):
        self.lane, self.lanes = lane % max(lanes, 1), max(lanes, 1)

    @contextmanager
    def trying(self):
        """A flight: what ``candidates(..., flight)`` picks stays at the back of this process's choices
        until the block ends."""
        flight = []
        try:
            yield flight
        finally:
            with self._lock:
                for pool, unit in flight:
                    trying = self._trying[pool]
                    trying[unit] -= 1
                    if trying[unit] <= 0:
                        del trying[unit]
                    if not trying:
                        del self._trying[pool]

    def candidates(self, pool, units, count, now, flight, exclude=(), scope="all"):
        """Up to ``count`` of ``units`` believed free, set aside for ``flight`` (see ``trying``).

        ``scope`` "own": this lane's units and those a probe saw free, none that
        another request here is trying. "others": the rest of those, to probe.
        "all": both, then the units other requests here are trying.
        """
        with self._lock:
            self._use(pool)
            taken = self._taken.get(pool, {})
            trying = self._trying.get(pool, Counter())
            seen = self._seen_free.get(pool, set())

            def free(unit):
                return unit not in exclude and taken.get(unit, now) <= now

            def untried(unit):
                return free(unit) and unit not in trying and unit not in picks

            picks = []
            if scope != "others":
                picks += self._sample(units[self.lane::self.lanes], count, untried)
                if len(picks) < count:
                    known = [u for u in seen if untried(u)]
                    picks += random.sample(known, min(count - len(picks), len(known)))
            if len(picks) < count:
                own, others, busy = [], [], []
                for index, unit in enumerate(units):
                    if unit not in picks and free(unit):
                        mine = index % self.lanes == self.lane or unit in seen
                        (busy if unit in trying else own if mine else others).append(unit)
                tiers = {"own": (own,), "others": (others,), "all": (own, others, busy)}[scope]
                for tier in tiers:
                    picks += random.sample(tier, min(count - len(picks), len(tier)))
            if picks:
                self._trying[pool] = trying
                trying.update(picks)
            flight.extend((pool, unit) for unit in picks)
        return picks

    def candidate_across(self, pools, units, now, flight, exclude=()):
        """One of ``units`` believed free in every one of ``pools`` (a parking space over the slots of a
        window), set aside for ``flight`` in each of them; None when the hint knows of none.

        This lane's units come first, then the others, and units another request here is trying last.
        """
        with self._lock:
            for pool in pools:
                self._use(pool)
            taken = [self._taken.get(pool, {}) for pool in pools]
            trying = [self._trying.get(pool, Counter()) for pool in pools]

            def free(unit):
                return unit not in exclude and all(t.get(unit, now) <= now for t in taken)

            def untried(unit):
                return free(unit) and not any(unit in t for t in trying)

            pick = None
            for tier in (units[self.lane::self.lanes], units):
                pick = next((u for u in random.sample(tier, len(tier)) if untried(u)), None)
                if pick is not None:
                    break
            if pick is None:
                pick = next((u for u in random.sample(units, len(units)) if free(u)), None)
            if pick is None:
                return None
            for pool, counts in zip(pools, trying):
                counts[pick] += 1
                self._trying[pool] = counts
                flight.append((pool, pick))
        return pick

    def seen_free(self, pool, units):
        """A probe found these unclaimed: offer them before guessing outside this lane."""
        with self._lock:
            self._use(pool)
            self._seen_free.setdefault(pool, set()).update(units)

    @staticmethod
    def _sample(units, count, wanted):
        """Random distinct units that are ``wanted``, by trial: cheap while most are; may return fewer."""
        picks = []
        for _ in range(4 * count + 4 if units and count > 0 else 0):
            unit = random.choice(units)
            if unit not in picks and wanted(unit):
                picks.append(unit)
                if len(picks) == count:
                    break
        return picks

    def mark(self, pool, unit, live_until):
        with self._lock:
            self._use(pool)
            self._taken.setdefault(pool, {})[unit] = live_until

    def replace(self, pool, live):
        with self._lock:
            self._use(pool)
            self._taken[pool] = dict(live)
            self._sold_out.discard(pool)

    def forget(self, pool, units):
        with self._lock:
            taken = self._taken.get(pool, {})
            for unit in units:
                taken.pop(unit, None)
            self._sold_out.discard(pool)

    def believe_sold_out(self, pool):
        """An authoritative read found the pool sold out: go to it first next time instead of guessing. Only a
        belief: whoever acts on it checks it again (``soldout``), and a fresh read or a release here drops it."""
        with self._lock:
            self._use(pool)
            self._sold_out.add(pool)

    def believes_sold_out(self, pool):
        with self._lock:
            return pool in self._sold_out


HINT = TakenHint()
