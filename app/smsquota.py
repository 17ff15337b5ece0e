"""What text messages may cost: limits per account, per destination number and per country prefix, per UTC day.

Every SMS the app causes takes one unit from three counters first: the
account's (``SMS_ACCOUNT_DAILY_LIMIT``), the destination number's
(``SMS_NUMBER_DAILY_LIMIT``) and the destination's country prefix
(``SMS_COUNTRY_DAILY_CAPS``, the longest configured prefix the number starts
with, else ``*``; a number matching no prefix when there is no ``*`` gets
none). That covers the verification codes Firebase Auth sends when the API
asks it to and the notifications sent through Twilio, so nobody can pump
messages to premium-rate numbers through the API: one account is bounded by
its own limit, many accounts by each number's, many numbers by the country's.

The three counters are read and incremented in one transaction, so a refused
message takes nothing, and a message counted under a ``once`` key (an outbox
message retried after a failure) is counted the first time only. The country counter is shared by everyone texting that
country; outbox delivery runs in the one leading scheduler, one message after
another, so it sees little contention.
"""
from datetime import datetime, time, timedelta

from flask import current_app
from google.cloud import firestore

from app.errors import AppError
from app.firebase import db
from app.timeutil import utcnow

SMS_QUOTA = "sms_quota"


class SmsLimitReached(AppError):
    """One of the day's counters is used up; ``scope`` says which (account, number or country)."""

    def __init__(self, scope, resets_at):
        super().__init__("sms_limit_reached", details={"limit": scope, "resets_at": resets_at.isoformat()})
        self.scope = scope


def country_prefix(number, caps):
    """The longest configured prefix ``number`` starts with, or ``*``."""
    matches = [prefix for prefix in caps if prefix != "*" and number.startswith(prefix)]
    return max(matches, key=len) if matches else "*"


def take_sms_quota(uid, number, *, once=None):
    """Count one SMS to ``number`` on behalf of ``uid``; raises SmsLimitReached and counts nothing when over.

    With ``once``, a second call with the same key counts nothing and passes.
    """
    cfg = current_app.config
    caps = cfg["SMS_COUNTRY_DAILY_CAPS"]
    prefix = country_prefix(number, caps)
    now = utcnow()
    resets_at = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
    day = now.date().isoformat()
    # Lets a Firestore TTL policy on expires_at delete old counters.
    expires_at = resets_at + timedelta(days=1)
    counters = [("account", uid, cfg["SMS_ACCOUNT_DAILY_LIMIT"]), ("number", number, cfg["SMS_NUMBER_DAILY_LIMIT"]),
                ("country", prefix, caps.get(prefix, 0))]
    quota = db().collection(SMS_QUOTA)
    refs = [quota.document(f"{scope}:{key}:{day}") for scope, key, _ in counters]
    marker = quota.document(f"once:{once}") if once else None

    @firestore.transactional
    def take(transaction):
        snapshots = list(transaction.get_all(refs + ([marker] if marker else [])))
        if marker and any(s.exists and s.reference.path == marker.path for s in snapshots):
            return
        counts = {s.reference.path: s.get("count") if s.exists else 0 for s in snapshots}
        for ref, (scope, key, limit) in zip(refs, counters):
            if counts[ref.path] >= limit:
                raise SmsLimitReached(scope, resets_at)
        for ref, (scope, key, _) in zip(refs, counters):
            transaction.set(ref, {"scope": scope, "key": key, "day": day, "count": counts[ref.path] + 1,
                                  "expires_at": expires_at})
        if marker:
            transaction.set(marker, {"scope": "once", "key": once, "day": day, "expires_at": expires_at})

    take(db().transaction())
