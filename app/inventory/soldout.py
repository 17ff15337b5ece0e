"""Sold out, answered from memory while nothing can free a unit.

Near the end of an on-sale most buyers are late: the pool is gone and every
one of them would run an authoritative count to hear so. Instead the first
buyer whose count finds no unit left records a *verdict*: the count's read
time, and the earliest moment a held unit could free itself (the first held
claim's ``live_until``: an unpaid hold or order running out).

A verdict stands until that moment passes, and until a unit is released:
every transaction that frees a live unit (a hold given up, an order cancelled
or refunded, a capacity raised) stamps one of the pool's release documents
with the server's commit time, and a verdict counted before the last release
is void. Both times are the server's, so no host's clock takes part.

A process that has read a standing verdict keeps it in memory and follows the
pool's release stamps with a Firestore listener, so the buyers after it are
answered with no read at all. The verdict is dropped when the listener hears
a release after it (from any worker or host), when its moment passes, when
this process releases a unit itself, when the listener stops, and before the
process forks. Until the listener's first snapshot has confirmed that no
release came after the verdict, buyers are answered from a read. A release
in another process reaches the listener a moment after it commits
(milliseconds on the emulator; while the listener reconnects after a broken
stream, until it has); a buyer inside that moment hears ``sold_out`` as if
they had come just before the release.
"""
import hashlib
import logging
import os
import random
import threading

from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.inventory.units import FOREVER, UNITS, UnitState

logger = logging.getLogger(__name__)

VERDICTS = "pool_verdicts"
RELEASES = "pool_releases"
RELEASE_SHARDS = 8
# Pools whose verdict one process follows at once; past it, the longest followed is let go. Each listener
# keeps one stream open on the process's connection to Firestore, which carries about 100 at once (HTTP/2's
# usual limit) and is shared with the requests' own calls.
FOLLOWED_POOLS = 16


def _digest(name):
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def verdict_ref(pool_id):
    return db().collection(VERDICTS).document(_digest(pool_id))


def release_ref(pool_id, shard):
    return db().collection(RELEASES).document(_digest(f"{pool_id}/{shard}"))


class _Followed:
    """A standing verdict held in memory, and the listener on the pool's release stamps that can void it."""

    def __init__(self, pool_id, sold_out_at, until):
        self.sold_out_at, self.until = sold_out_at, until
        self.confirmed = False
        self.void = False
        releases = db().collection(RELEASES).where(filter=FieldFilter("pool", "==", pool_id))
        self._watch = releases.on_snapshot(self._heard)

    def _heard(self, snapshots, changes, read_time):
        if any((s.to_dict().get("released_at") or self.sold_out_at) > self.sold_out_at for s in snapshots):
            self.void = True
        else:
            self.confirmed = True

    def stands(self, now):
        return self.confirmed and not self.void and self.until > now and self._watch.is_active

    def done(self, now):
        return self.void or self.until <= now or not self._watch.is_active

    def stop(self):
        try:
            self._watch.close()
        except Exception:
            logger.warning("closing the release listener failed", exc_info=True)


class _Verdicts:
    """The verdicts this process follows, by pool."""

    def __init__(self):
        self._lock = threading.Lock()
        self._followed = {}

    def stands(self, pool_id, now):
        """True when a followed verdict stands; None when this process must read (it follows none that does)."""
        with self._lock:
            followed = self._followed.get(pool_id)
            if followed is None:
                return None
            if followed.stands(now):
                return True
            if not followed.done(now):
                return None
            del self._followed[pool_id]
        followed.stop()
        return None

    def follow(self, pool_id, sold_out_at, until):
        let_go = []
        with self._lock:
            if pool_id in self._followed:
                return
            while len(self._followed) >= FOLLOWED_POOLS:
                let_go.append(self._followed.pop(next(iter(self._followed))))
            self._followed[pool_id] = _Followed(pool_id, sold_out_at, until)
        for followed in let_go:
            followed.stop()

    def drop(self, pool_ids):
        with self._lock:
            dropped = [self._followed.pop(p) for p in pool_ids if p in self._followed]
        for followed in dropped:
            followed.stop()

    def drop_all(self):
        with self._lock:
            pool_ids = list(self._followed)
        self.drop(pool_ids)


FOLLOWED = _Verdicts()
# A listener is a gRPC stream served by a thread of its own, and a child forked while one is open aborts
# (gRPC's fork handlers): a process lets go of the verdicts it follows before it forks.
os.register_at_fork(before=FOLLOWED.drop_all)


def stands(pool_id, now):
    """Whether a recorded verdict says the pool is sold out now: from memory while this process follows a
    standing one, else from one read of the verdict and its release stamps."""
    if FOLLOWED.stands(pool_id, now):
        return True
    refs = [verdict_ref(pool_id)] + [release_ref(pool_id, shard) for shard in range(RELEASE_SHARDS)]
    found = {s.reference.path: s for s in db().get_all(refs) if s.exists}
    verdict = found.get(refs[0].path)
    if verdict is None or verdict.to_dict().get("sold_out_at") is None or verdict.get("until") <= now:
        return False
    released = [s.get("released_at") for path, s in found.items() if path != refs[0].path]
    if any(moment > verdict.get("sold_out_at") for moment in released):
        return False
    FOLLOWED.follow(pool_id, verdict.get("sold_out_at"), verdict.get("until"))
    return True


def _first_expiry(pool_id, since):
    """The earliest ``live_until`` after ``since`` among the pool's held claims; None when none is held."""
    query = (db().collection(UNITS).where(filter=FieldFilter("pool", "==", pool_id))
             .where(filter=FieldFilter("state", "==", UnitState.HELD))
             .where(filter=FieldFilter("live_until", ">", since)).order_by("live_until").limit(1))
    return next((doc.get("live_until") for doc in query.select(["live_until"]).stream()), None)


def record(pool_id, read_time, counted_at):
    """A count read at ``read_time`` (this process's clock said ``counted_at``) found nothing left: say so
    until a held unit could expire. A claim that expired since the count makes the verdict void at once."""
    until = _first_expiry(pool_id, counted_at) or FOREVER
    verdict_ref(pool_id).set({"pool": pool_id, "sold_out_at": read_time, "until": until})
    FOLLOWED.follow(pool_id, read_time, until)


def mark_released(tx, pool_ids):
    """Inside a transaction that frees live units of these pools: void their verdicts when it commits.

    The stamp is a blind write (no read: a transaction reading the verdict would not see one written while
    it runs) to one of RELEASE_SHARDS documents per pool, so releases during a sale, however many, never make
    one document hot. This process stops answering from its memory of the verdicts at once; the others hear
    the stamp through their listeners.
    """
    pool_ids = sorted(set(pool_ids))
    FOLLOWED.drop(pool_ids)
    for pool_id in pool_ids:
        tx.set(release_ref(pool_id, random.randrange(RELEASE_SHARDS)),
               {"pool": pool_id, "released_at": firestore.SERVER_TIMESTAMP})
