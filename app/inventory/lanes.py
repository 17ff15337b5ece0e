"""Lanes for every selling worker of every host, from leases in Firestore.

A worker offers its buyers its own lane of each pool first (every ``lanes``-th
unit, ``units.HINT``), so workers racing through an on-sale rarely pick the
same unit. gunicorn numbers its workers' lanes per master (gunicorn.conf.py),
so two hosts would repeat them and their workers would meet in the same units.
Here each selling process takes a lane whose lease nobody holds
(``leases/lane-<n>``, the scheduler's lease mechanism), renews it every third
of ``LANE_LEASE_SECONDS``, and counts the lanes held across every host: a
worker that dies lets its lane go when its lease runs out, a replacement takes
the lowest free one, and the others' lane counts follow. A worker asks for
the lane gunicorn numbered it first, so the workers of a master starting
together each find theirs free instead of all contending for lane 0, and
counts at least its master's workers among the lanes, so none of them counts
only the lanes taken before its own; a lane whose lease cannot be had right
now (another worker's transaction holds it) is passed over for the next.

A gunicorn worker says it sells (``serving()``, from post_fork) and the app it
builds starts the keeper; other processes (the scheduler, tests, scripts)
keep the lane they have.
"""
import atexit
import logging
import os
import threading

from app.firebase import db, is_contention
from app.inventory.units import HINT
from app.leases import LEASES, acquire_lease, new_holder_id, release_lease
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

EXTENSION = "lane_keeper"
MAX_LANES = 64
_serving = {"pid": None, "lane": 0, "lanes": 1}


def lease_name(lane):
    return f"lane-{lane}"


def serving(lane=0, lanes=1):
    """This process serves buyers: the app it builds keeps a lane lease, asking for ``lane`` first and
    counting at least ``lanes`` lanes (its master's workers)."""
    _serving.update(pid=os.getpid(), lane=lane, lanes=lanes)


def held_lanes(now):
    """{lane: holder} of the lanes whose lease is live now."""
    refs = [db().collection(LEASES).document(lease_name(lane)) for lane in range(MAX_LANES)]
    return {lane: s.get("holder") for lane, s in enumerate(db().get_all(refs))
            if s.exists and s.get("expires_at") > now}


class LaneKeeper:
    def __init__(self, app, ttl_seconds, preferred_lane=0, least_lanes=1):
        self.app, self.ttl, self.preferred, self.least_lanes = app, ttl_seconds, preferred_lane, least_lanes
        self.holder = new_holder_id()
        self.lane = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lane-keeper", daemon=True)

    def start(self):
        self._thread.start()
        atexit.register(self.stop)
        return self

    def keep(self):
        """Take or renew this process's lane and give the hint its place among the lanes held; the lane."""
        if self.lane is not None and not acquire_lease(lease_name(self.lane), self.holder, ttl_seconds=self.ttl):
            logger.warning("lane %d was taken over by another worker", self.lane)
            self.lane = None
        if self.lane is None:
            order = [self.preferred] + [lane for lane in range(MAX_LANES) if lane != self.preferred]
            self.lane = next((lane for lane in order if self._take(lane)), None)
        held = held_lanes(utcnow())
        if self.lane is not None:
            HINT.set_lane(self.lane, max(max(held, default=self.lane) + 1, self.least_lanes))
        return self.lane

    def _take(self, lane):
        try:
            return acquire_lease(lease_name(lane), self.holder, ttl_seconds=self.ttl)
        except Exception as error:
            if not is_contention(error):
                raise
            logger.info("lane %d is contended; trying the next", lane)
            return False

    def renew(self):
        """``keep()``, logging what fails: a lane is an optimisation, so the worker sells on in its last lane and
        tries again. Losing to another transaction is expected under load and said in one line."""
        try:
            with self.app.app_context():
                self.keep()
        except Exception as error:
            if not is_contention(error):
                logger.exception("lane lease not renewed")
            else:
                logger.warning("lane lease not renewed: another transaction held it; trying again in %.0f s",
                               self.ttl / 3)

    def _run(self):
        while not self._stop.is_set():
            self.renew()
            self._stop.wait(self.ttl / 3)

    def stop(self):
        """Stop renewing and give the lane up at once, so a replacement worker can take it.

        Giving up is a courtesy: if Firestore refuses or is gone, the lease lapses by itself.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        if self.lane is not None:
            try:
                with self.app.app_context():
                    release_lease(lease_name(self.lane), self.holder)
            except Exception:
                logger.warning("lane %d not given up; its lease lapses within %d s", self.lane, self.ttl)


def init_app(app):
    """In a process that serves buyers, with LANE_LEASE_SECONDS set, keep a lane lease while it runs."""
    ttl = app.config["LANE_LEASE_SECONDS"]
    if ttl > 0 and _serving["pid"] == os.getpid():
        app.extensions[EXTENSION] = LaneKeeper(app, ttl, _serving["lane"] % MAX_LANES, _serving["lanes"]).start()
