"""Sold out, answered from one read while nothing can free a unit.

Near the end of an on-sale most buyers are late: the pool is gone and every
one of them would run an authoritative count to hear so. Instead the first
buyer whose count finds no unit left records a *verdict*: the count's read
time, and the earliest moment a held unit could free itself (the first held
claim's ``live_until``: an unpaid hold or order running out). Later buyers
whose process believes the pool sold out read the verdict alone and answer
``sold_out`` from it while it stands.

A verdict stands until that moment passes, and until a unit is released:
every transaction that frees a live unit (a hold given up, an order cancelled
or refunded, a capacity raised) stamps one of the pool's release documents
with the server's commit time, and a verdict counted before the last release
is void.
Both times are the server's, so no host's clock takes part, and the stamp
commits with the release, so a buyer who reads after a release never hears
a stale verdict, whichever worker or host served either of them.
"""
import hashlib
import random

from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.inventory.units import FOREVER, UNITS, UnitState

VERDICTS = "pool_verdicts"
RELEASES = "pool_releases"
RELEASE_SHARDS = 8


def _digest(name):
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def verdict_ref(pool_id):
    return db().collection(VERDICTS).document(_digest(pool_id))


def _release_ref(pool_id, shard):
    return db().collection(RELEASES).document(_digest(f"{pool_id}/{shard}"))


def stands(pool_id, now):
    """Whether a recorded verdict says the pool is sold out now: one read of the verdict and its release
    stamps."""
    refs = [verdict_ref(pool_id)] + [_release_ref(pool_id, shard) for shard in range(RELEASE_SHARDS)]
    found = {s.reference.path: s for s in db().get_all(refs) if s.exists}
    verdict = found.get(refs[0].path)
    if verdict is None or verdict.to_dict().get("sold_out_at") is None or verdict.get("until") <= now:
        return False
    released = [s.get("released_at") for path, s in found.items() if path != refs[0].path]
    return all(moment <= verdict.get("sold_out_at") for moment in released)


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


def mark_released(tx, pool_ids):
    """Inside a transaction that frees live units of these pools: void their verdicts when it commits.

    The stamp is a blind write (no read: a transaction reading the verdict would not see one written while
    it runs) to one of RELEASE_SHARDS documents per pool, so releases during a sale, however many, never make
    one document hot.
    """
    for pool_id in sorted(set(pool_ids)):
        tx.set(_release_ref(pool_id, random.randrange(RELEASE_SHARDS)),
               {"pool": pool_id, "released_at": firestore.SERVER_TIMESTAMP})
