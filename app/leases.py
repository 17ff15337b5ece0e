"""Leases in Firestore: one holder at a time, taken over when the holder stops renewing.

A lease document carries its holder and expiry. Taking or renewing it is a
transaction on that one document, so two scheduler processes agree on who
holds it; a holder that crashes simply stops renewing and the lease expires.
"""
import logging
import os
import socket
import uuid
from datetime import timedelta

from flask import current_app
from google.cloud import firestore

from app.firebase import db
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

LEASES = "leases"
SCHEDULER_LEASE = "scheduler"


def new_holder_id():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(name, holder, *, ttl_seconds):
    """Take or renew the lease; True when ``holder`` holds it afterwards."""
    ref = db().collection(LEASES).document(name)

    @firestore.transactional
    def attempt(transaction):
        snapshot = ref.get(transaction=transaction)
        now = utcnow()
        current = snapshot.to_dict() if snapshot.exists else None
        if current and current["holder"] != holder and current["expires_at"] > now:
            return False
        transaction.set(ref, {
            "holder": holder,
            "acquired_at": current["acquired_at"] if current and current["holder"] == holder else now,
            "renewed_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
        })
        return True

    return attempt(db().transaction())


def release_lease(name, holder):
    """Give the lease up at once, if ``holder`` still holds it."""
    ref = db().collection(LEASES).document(name)

    @firestore.transactional
    def attempt(transaction):
        snapshot = ref.get(transaction=transaction)
        if snapshot.exists and snapshot.get("holder") == holder:
            transaction.delete(ref)
            return True
        return False

    return attempt(db().transaction())


def get_lease(name):
    snapshot = db().collection(LEASES).document(name).get()
    return snapshot.to_dict() if snapshot.exists else None


def hold_scheduler_lease():
    """The scheduler's heartbeat: keep (or take over) the scheduler lease for this process.

    Jobs that must run in one place at a time check ``is_scheduler_leader``;
    a standby process keeps trying, so it takes over within one lease period
    of the leader stopping.
    """
    holder = current_app.config["SCHEDULER_ID"]
    # Three missed heartbeats before a standby takes over.
    ttl = 3 * current_app.config["SCHEDULER_HEARTBEAT_SECONDS"]
    held = acquire_lease(SCHEDULER_LEASE, holder, ttl_seconds=ttl)
    was_leader = current_app.extensions.get("scheduler_leader")
    current_app.extensions["scheduler_leader"] = held
    if held != was_leader:
        logger.info("scheduler %s is now %s", holder, "leader" if held else "standby")
    return held


def is_scheduler_leader():
    return current_app.extensions.get("scheduler_leader", False)


def release_scheduler_lease():
    if release_lease(SCHEDULER_LEASE, current_app.config["SCHEDULER_ID"]):
        logger.info("scheduler %s released the lease", current_app.config["SCHEDULER_ID"])
    current_app.extensions["scheduler_leader"] = False
