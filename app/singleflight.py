"""Identical requests at once: the first does the work, the others get its answer within a second or two.

A double-tapped button, a client retrying on a slow network or a probe sends
the same request many times at once. Left to Firestore, their transactions
fight over one document (each collision waits out a lock, about 2 s on the
emulator) and most end ``503 busy``. Instead the first request creates a
*flight* document named after the request; the others find it, poll it until
the first is done, and answer what it answered (``replay`` of its result, an
id). A request that arrives after the first has finished is not a duplicate
in flight: it runs, and meets the rules as they stand then (an order already
paid is a 409). A flight whose work failed is deleted, so the next request
runs by itself and meets the same rule; one whose process died expires after
``LEASE``. Finished flights are kept for ``KEEP``, for followers still
polling, and then swept.
"""
import hashlib
import logging
import time
from datetime import timedelta

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError
from app.firebase import db
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

FLIGHTS = "request_flights"
LEASE = timedelta(seconds=30)
KEEP = timedelta(seconds=60)
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.05
SWEEP_PAGE = 200


def _ref(key):
    return db().collection(FLIGHTS).document(hashlib.sha256(key.encode()).hexdigest()[:32])


def _remove(ref, snapshot=None):
    option = db().write_option(last_update_time=snapshot.update_time) if snapshot is not None else None
    try:
        ref.delete(option=option) if option else ref.delete()
    except (gexc.FailedPrecondition, gexc.NotFound):
        pass


def run_once(key, work, *, result_of, replay, _turns=3):
    """``work()``'s answer, or, while an identical request (same ``key``) runs or has just run,
    ``replay(result)`` of that request's ``result_of(answer)``; 409 ``request_in_progress`` when it does not
    finish within ``WAIT_SECONDS``."""
    ref = _ref(key)
    now = utcnow()
    try:
        ref.create({"state": "running", "result": None, "expires_at": now + LEASE, "created_at": now})
    except gexc.AlreadyExists:
        return _follow(ref, key, work, result_of, replay, _turns)
    try:
        answer = work()
    except BaseException:
        _remove(ref)
        raise
    ref.set({"state": "done", "result": result_of(answer), "expires_at": utcnow() + KEEP, "created_at": now})
    return answer


def _follow(ref, key, work, result_of, replay, turns):
    deadline = time.monotonic() + WAIT_SECONDS
    seen_running = False
    while True:
        snapshot = ref.get()
        flight = snapshot.to_dict() if snapshot.exists else None
        if flight is not None and flight["expires_at"] <= utcnow():
            _remove(ref, snapshot)
            flight = None
        if flight is None:
            if turns <= 0:
                raise AppError("request_in_progress")
            return run_once(key, work, result_of=result_of, replay=replay, _turns=turns - 1)
        if flight["state"] == "done":
            if not seen_running:
                return work()
            logger.info("identical request answered from its first flight")
            return replay(flight["result"])
        seen_running = True
        if time.monotonic() >= deadline:
            raise AppError("request_in_progress")
        time.sleep(POLL_SECONDS)


def sweep_flights(*, page=SWEEP_PAGE):
    """Scheduler job: delete flights past their time. Returns how many."""
    swept = 0
    while True:
        query = db().collection(FLIGHTS).where(filter=FieldFilter("expires_at", "<=", utcnow())).limit(page)
        snapshots = list(query.select([]).stream())
        for snapshot in snapshots:
            _remove(snapshot.reference)
        swept += len(snapshots)
        if len(snapshots) < page:
            return swept
