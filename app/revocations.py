"""Revoked sessions: a role change or an erasure reaches every worker within seconds.

An ID token stays cryptographically valid until it expires, up to an hour, whatever happened to its account
since. Firebase records a revocation as the user's ``tokensValidAfterTime`` (whole seconds; a token issued
before it is revoked, which is what ``verify_id_token(check_revoked=True)`` checks), but asking Firebase on
every request would cost an Auth API call each. So when this API revokes a user's tokens it copies that time
into ``token_revocations`` in Firestore, and each process reads what changed there at most every
``REVOCATION_POLL_SECONDS``, in the request that finds its copy due: a request costs a dictionary look-up,
and a revocation reaches every worker and host within that interval (at once in the process that made it).

Revocations made outside this API (in the Firebase console, by another Admin SDK) are not copied; those
tokens keep working until they expire.
"""
import hashlib
import logging
import threading
import time
from datetime import timedelta

from flask import current_app
from google.cloud import firestore
from google.cloud.firestore import FieldFilter

from app.firebase import UserNotFoundError, db, get_firebase, is_outage
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

EXTENSION = "revocations"
REVOCATIONS = "token_revocations"
# Firebase ID tokens live an hour: a revocation older than that has no token left to refuse.
TOKEN_LIFETIME = timedelta(hours=1)
# Revocations are stamped by Firestore at commit, polls by this host's clock: read a little of the past again.
POLL_OVERLAP = timedelta(seconds=30)
RETRY_AFTER_OUTAGE_SECONDS = 1


class RevocationList:
    """This process's copy of recent revocations: uid -> the epoch second its tokens are valid from."""

    def __init__(self, poll_seconds):
        self.poll_seconds = poll_seconds
        self._valid_after = {}
        self._read_from = None
        self._tried = False
        self._due = 0.0
        self._lock = threading.Lock()

    def note(self, uid, valid_after):
        with self._lock:
            self._valid_after[uid] = max(valid_after, self._valid_after.get(uid, 0))

    def is_revoked(self, claims):
        self._refresh_if_due()
        valid_after = self._valid_after.get(claims.get("uid"))
        return valid_after is not None and claims.get("iat", 0) < valid_after

    def _refresh_if_due(self):
        if time.time() < self._due:
            return
        # Before its first read a process knows nothing, so requests wait for it; after that one request
        # reads while the others go on with a copy at most one interval old.
        if not self._lock.acquire(blocking=not self._tried):
            return
        try:
            if time.time() >= self._due:
                self._read()
        finally:
            self._tried = True
            self._lock.release()

    def _read(self):
        started = utcnow()
        since = self._read_from - POLL_OVERLAP if self._read_from else started - TOKEN_LIFETIME
        query = db().collection(REVOCATIONS).where(filter=FieldFilter("recorded_at", ">=", since))
        try:
            changed = [doc.to_dict() for doc in query.stream()]
        except Exception as exc:
            if not is_outage(exc):
                raise
            # Requests that change anything need Firestore too and fail on their own; what is left to
            # serve meanwhile (cached public reads) goes on with the copy as it was.
            logger.warning("revocations not read: %s", type(exc).__name__)
            self._due = time.time() + RETRY_AFTER_OUTAGE_SECONDS
            return
        for revocation in changed:
            self._valid_after[revocation["uid"]] = max(revocation["valid_after"],
                                                       self._valid_after.get(revocation["uid"], 0))
        oldest = (started - TOKEN_LIFETIME - POLL_OVERLAP).timestamp()
        self._valid_after = {uid: at for uid, at in self._valid_after.items() if at >= oldest}
        self._read_from = started
        self._due = time.time() + self.poll_seconds


def init_app(app):
    app.extensions[EXTENSION] = RevocationList(app.config["REVOCATION_POLL_SECONDS"])


def revocation_list():
    return current_app.extensions[EXTENSION]


def _ref(uid):
    # A uid may hold any character, "/" included; a digest is always a document id.
    return db().collection(REVOCATIONS).document(hashlib.sha256(uid.encode()).hexdigest()[:32])


def revoke_sessions(uid, *, including_this_second=False):
    """Revoke the user's refresh tokens at Firebase, and have every worker refuse the ID tokens issued so far.

    ``including_this_second`` also refuses tokens issued in the current second, which Firebase's whole-second
    count lets through; for an account that is being erased, since it will get no new tokens.
    """
    firebase = get_firebase()
    try:
        firebase.revoke_refresh_tokens(uid)
        valid_after = firebase.get_user(uid).tokens_valid_after_timestamp // 1000
    except UserNotFoundError:
        valid_after = int(time.time())
    if including_this_second:
        valid_after = int(time.time()) + 1
    now = utcnow()
    _ref(uid).set({"uid": uid, "valid_after": valid_after, "recorded_at": firestore.SERVER_TIMESTAMP,
                   # For a Firestore TTL policy on expires_at: nothing needs the record after that.
                   "expires_at": now + TOKEN_LIFETIME + POLL_OVERLAP})
    revocation_list().note(uid, valid_after)
    logger.info("sessions revoked uid=%s valid_after=%d", uid, valid_after)
