"""The publisher: one thread per process that writes the live feed and coalesces bursts.

Callers say what changed (``event_changed``, ``hold_changed``, ``entry_changed``
for the other entries in ``service.PUBLISHERS``) after their Firestore commit.
That only records an id under a lock: a buyer's request never waits for the
Realtime Database and never fails because of it.

The thread writes each changed hold once, and each changed event's
availability (and every other entry, read afresh when written) at most once
per ``LIVE_FEED_INTERVAL_MS``: the first change is
written at once, later ones wait for the interval to end and share one
write, so a flash crowd of N holds costs about duration / interval writes,
not N. An interval after a burst's last write the event is written once more
(the "settle" write): with several workers or hosts, another process's write
of state it read before this process's last change could otherwise land last
and stay.

A failed write is retried with backoff (firebase_admin itself already
retries 500 and 503 four times) and leaves a repair marker in Firestore, so
the scheduler's ``repair_live_feed`` publishes it if this process gives up or
dies first.

The thread starts on first use in each process, so under gunicorn each
worker starts its own after the fork (a publisher inherited through a fork
has no thread and is replaced). At interpreter exit it writes what is pending
and stops, within ``STOP_TIMEOUT``; what is left then gets repair markers.
Without a database URL none of this exists: no thread, no work.
"""
import atexit
import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from flask import current_app

from app.firebase import FirebaseError, get_firebase
from app.livefeed import service

logger = logging.getLogger(__name__)

EXTENSION = "livefeed"
MAX_ATTEMPTS = 5
MAX_BACKOFF_SECONDS = 60.0
STOP_TIMEOUT = 10.0

_creating = threading.Lock()


@dataclass
class _Pending:
    due: float
    attempts: int = 0
    settle: bool = False
    hold: dict | None = None


class Publisher:
    def __init__(self, app):
        self.app = app
        self.pid = os.getpid()
        self.interval = app.config["LIVE_FEED_INTERVAL_MS"] / 1000
        self._cond = threading.Condition()
        self._entries = {}
        self._holds = {}
        self._last_write = {}
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="livefeed-publisher", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    @property
    def stopped(self):
        return self._stopping

    def event_changed(self, event_id):
        self.entry_changed("event", event_id)

    def entry_changed(self, kind, key):
        """Write ``kind``'s entry ``key`` soon: once at once, then at most once per interval."""
        entry = (kind, key)
        now = time.monotonic()
        with self._cond:
            due = max(now, self._last_write.get(entry, -math.inf) + self.interval)
            pending = self._entries.get(entry)
            if pending is None:
                self._entries[entry] = _Pending(due)
            else:
                pending.settle = False
                if not pending.attempts:
                    pending.due = min(pending.due, due)
            self._cond.notify()

    def hold_changed(self, hold):
        with self._cond:
            pending = self._holds.get(hold["id"])
            if pending is None:
                self._holds[hold["id"]] = _Pending(time.monotonic(), hold=hold)
            elif pending.hold["state"] == service.ACTIVE or hold["state"] != service.ACTIVE:
                pending.hold = hold
            self._cond.notify()
        self.event_changed(hold["event_id"])

    def flush(self, timeout=30.0):
        """Make everything pending due now and wait until each has been tried once. False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            start = time.monotonic()
            for pending in self._all_pending():
                pending.due = min(pending.due, start)
            self._cond.notify_all()
            while self._busy or any(p.due <= start for p in self._all_pending()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self, timeout=STOP_TIMEOUT):
        """Write what is pending once more, then end the thread; leave markers for what is left."""
        if self.pid != os.getpid():
            return
        atexit.unregister(self.stop)
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            for pending in self._all_pending():
                pending.due = -math.inf
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            left = list(self._entries) + [("hold", key) for key in self._holds]
        for kind, key in left:
            self._mark(kind, key)

    def _all_pending(self):
        return [*self._entries.values(), *self._holds.values()]

    def _take_due(self):
        now = time.monotonic()
        batch = []
        for key in [k for k, p in self._holds.items() if p.due <= now]:
            batch.append(("hold", key, self._holds.pop(key)))
        for entry in [k for k, p in self._entries.items() if p.due <= now]:
            batch.append((*entry, self._entries.pop(entry)))
            self._last_write[entry] = now
        return batch

    def _wait_seconds(self):
        dues = [p.due for p in self._all_pending()]
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def _run(self):
        while True:
            with self._cond:
                batch = self._take_due()
                while not batch:
                    if self._stopping:
                        return
                    self._cond.wait(self._wait_seconds())
                    batch = self._take_due()
                self._busy = True
            try:
                with self.app.app_context():
                    for kind, key, pending in batch:
                        self._publish(kind, key, pending)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _publish(self, kind, key, pending):
        try:
            if kind == "hold":
                service.publish_hold(pending.hold)
            else:
                service.PUBLISHERS[kind](key)
        except Exception as exc:  # the thread must outlive any one failed write
            self._failed(kind, key, pending, exc)
            return
        if kind != "hold" and not pending.settle:
            entry = (kind, key)
            with self._cond:
                if entry not in self._entries and not self._stopping:
                    self._entries[entry] = _Pending(self._last_write[entry] + self.interval, settle=True)
                    self._cond.notify()

    def _failed(self, kind, key, pending, exc):
        attempts = pending.attempts + 1
        logger.warning("live feed write failed %s=%s attempt=%d: %s", kind, key, attempts, exc,
                       exc_info=not isinstance(exc, FirebaseError))
        self._mark(kind, key)
        if attempts >= MAX_ATTEMPTS:
            logger.warning("live feed gave up %s=%s; the repair job will publish it", kind, key)
            return
        due = time.monotonic() + min(MAX_BACKOFF_SECONDS, self.interval * 2 ** attempts)
        queue, entry = (self._holds, key) if kind == "hold" else (self._entries, (kind, key))
        with self._cond:
            if self._stopping:
                return
            newer = queue.get(entry)
            if newer is None:
                queue[entry] = _Pending(due, attempts, pending.settle, pending.hold)
            else:
                newer.due, newer.attempts = max(newer.due, due), attempts
            self._cond.notify()

    def _mark(self, kind, key):
        try:
            with self.app.app_context():
                service.mark_for_repair(kind, key)
        except Exception:  # nothing more can be done here than say so
            logger.exception("live feed could not store a repair marker for %s=%s", kind, key)


def get_publisher(app):
    """This process's publisher for app, started on first use; None when no database is configured."""
    if not get_firebase().database_url:
        return None
    publisher = app.extensions.get(EXTENSION)
    if publisher is None or publisher.pid != os.getpid() or publisher.stopped:
        with _creating:
            publisher = app.extensions.get(EXTENSION)
            if publisher is None or publisher.pid != os.getpid() or publisher.stopped:
                publisher = app.extensions[EXTENSION] = Publisher(app)
    return publisher


def event_changed(event_id):
    """Publish the event's availability soon. Call after the change committed; never raises."""
    entry_changed("event", event_id)


def entry_changed(kind, key):
    """Publish ``kind``'s entry ``key`` (one of ``service.PUBLISHERS``) soon. Call after the commit; never raises."""
    try:
        if (publisher := get_publisher(current_app._get_current_object())) is not None:
            publisher.entry_changed(kind, key)
    except Exception:  # the live feed must never fail the caller's request
        logger.exception("live feed could not queue %s=%s", kind, key)


def hold_changed(hold):
    """Publish the buyer's hold and its event's availability soon. Call after the commit; never raises."""
    try:
        if (publisher := get_publisher(current_app._get_current_object())) is not None:
            publisher.hold_changed(hold)
    except Exception:  # the live feed must never fail the caller's request
        logger.exception("live feed could not queue hold=%s", hold.get("id"))
