"""Sellable units as claim documents: the one source of truth for what is taken.

Every unit a ticket type can sell has a claim document id: a general-admission
ticket type of N units has units 0..N-1, a seated one has one unit per seat.
A unit is taken while a claim document for it exists and is live
(``live_until`` in the future): held claims live until the hold expires,
sold and retired claims forever. Claiming is ``create()`` of that document,
so two buyers can never take one unit, and no transaction reads anything on
the hot path. Taking over an expired claim is a transaction on that one claim.

Ids are hashes, not sequences: Firestore hot-spots on sequential keys.
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


def unit_id(event_id, ticket_type_id, unit):
    """A general-admission unit is numbered within its ticket type; a seat is named within its event."""
    scope = f"{event_id}/seat" if isinstance(unit, str) else f"{event_id}/{ticket_type_id}"
    return hashlib.sha256(f"{scope}/{unit}".encode()).hexdigest()[:24]


def unit_ref(doc_id):
    return db().collection(UNITS).document(doc_id)


def collided_document(error):
    """(collection, id) of the document a failed create() collided with, when Firestore names it."""
    match = _EXISTING_DOC.search(str(error))
    return (match.group(1), match.group(2)) if match else (None, None)


def _live_query(ticket_type_id, now):
    return (db().collection(UNITS)
            .where(filter=FieldFilter("ticket_type_id", "==", ticket_type_id))
            .where(filter=FieldFilter("live_until", ">", now)))


def live_units(ticket_type_id, now):
    """{unit: (state, live_until)} of the ticket type's live claims, reading only those fields."""
    docs = _live_query(ticket_type_id, now).select(["unit", "state", "live_until"]).stream()
    return {doc.get("unit"): (doc.get("state"), doc.get("live_until")) for doc in docs}


def count_live_units(ticket_type_id, now, *, exclude_retired=False):
    query = _live_query(ticket_type_id, now)
    total = AggregationQuery(query).count(alias="n").get()[0][0].value
    if not exclude_retired:
        return total
    retired = query.where(filter=FieldFilter("state", "==", UnitState.RETIRED))
    return total - AggregationQuery(retired).count(alias="n").get()[0][0].value


def retired_refs(ticket_type_id):
    query = (db().collection(UNITS).where(filter=FieldFilter("ticket_type_id", "==", ticket_type_id))
             .where(filter=FieldFilter("state", "==", UnitState.RETIRED)))
    return [doc.reference for doc in query.select([]).stream()]


def claim(event_id, ticket_type_id, unit, *, hold_id, buyer_uid, live_until, now, state=UnitState.HELD):
    return {
        "event_id": event_id, "ticket_type_id": ticket_type_id, "unit": unit, "hold_id": hold_id,
        "buyer_uid": buyer_uid, "order_id": None, "state": str(state), "live_until": live_until, "created_at": now,
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
    of a ticket type, which it offers first: gunicorn gives every worker its
    own (gunicorn.conf.py), so workers meet only once a lane is sold. Outside
    its lane a process offers units a probe (one batched read) saw free.

    It remembers the ``max_ticket_types`` ticket types it used last, so a
    long-lived worker does not grow with every sale it ever served.
    """

    def __init__(self, max_ticket_types=512):
        self._taken = {}
        self._trying = {}
        self._seen_free = {}
        self._recent = OrderedDict()
        self._max_ticket_types = max_ticket_types
        self._lock = threading.Lock()
        self.lane, self.lanes = 0, 1

    def _use(self, ticket_type_id):
        """Note a use of the ticket type's memory, forgetting the least recently used beyond the limit."""
        self._recent[ticket_type_id] = None
        self._recent.move_to_end(ticket_type_id)
        while len(self._recent) > self._max_ticket_types:
            stale, _ = self._recent.popitem(last=False)
            self._taken.pop(stale, None)
            self._seen_free.pop(stale, None)

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
                for ticket_type_id, unit in flight:
                    trying = self._trying[ticket_type_id]
                    trying[unit] -= 1
                    if trying[unit] <= 0:
                        del trying[unit]
                    if not trying:
                        del self._trying[ticket_type_id]

    def candidates(self, ticket_type_id, units, count, now, flight, exclude=(), scope="all"):
        """Up to ``count`` of ``units`` believed free, set aside for ``flight`` (see ``trying``).

        ``scope`` "own": this lane's units and those a probe saw free, none that
        another request here is trying. "others": the rest of those, to probe.
        "all": both, then the units other requests here are trying.
        """
        with self._lock:
            self._use(ticket_type_id)
            taken = self._taken.get(ticket_type_id, {})
            trying = self._trying.get(ticket_type_id, Counter())
            seen = self._seen_free.get(ticket_type_id, set())

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
                self._trying[ticket_type_id] = trying
                trying.update(picks)
            flight.extend((ticket_type_id, unit) for unit in picks)
        return picks

    def seen_free(self, ticket_type_id, units):
        """A probe found these unclaimed: offer them before guessing outside this lane."""
        with self._lock:
            self._use(ticket_type_id)
            self._seen_free.setdefault(ticket_type_id, set()).update(units)

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

    def mark(self, ticket_type_id, unit, live_until):
        with self._lock:
            self._use(ticket_type_id)
            self._taken.setdefault(ticket_type_id, {})[unit] = live_until

    def replace(self, ticket_type_id, live):
        with self._lock:
            self._use(ticket_type_id)
            self._taken[ticket_type_id] = dict(live)

    def forget(self, ticket_type_id, units):
        with self._lock:
            taken = self._taken.get(ticket_type_id, {})
            for unit in units:
                taken.pop(unit, None)


HINT = TakenHint()
