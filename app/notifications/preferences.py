"""Each person's choice of channel per kind of message, their quiet hours, and numbers that replied STOP.

Preferences are one document per account in ``notification_preferences``;
what it does not say takes the defaults below. They are read when a message
is delivered, not when it is queued, so a change applies to messages already
waiting.

Quiet hours are a daily window in a time zone the account chooses (for
example 22:00 to 08:00 in Europe/Berlin). A message of a kind that can wait
(reminders, refund notices) that falls due inside them is delivered when
they end, on every channel at once; kinds that cannot wait (the tickets just
bought, a cancelled event, parking running out, an order ready for pickup)
go at once.

STOP belongs to the number, not the account: a reply of STOP to any of our
texts (Twilio's inbound webhook) records the number in ``sms_opt_outs``, and
nothing is texted to it again until it replies START.
"""
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.errors import AppError
from app.firebase import db
from app.notifications.service import CHANNELS, Kind
from app.timeutil import utcnow
from app.users import phones

logger = logging.getLogger(__name__)

PREFERENCES = "notification_preferences"
SMS_OPT_OUTS = "sms_opt_outs"

# A text costs money and interrupts: by default only for what is urgent or easy to miss.
SMS_BY_DEFAULT = frozenset({Kind.REMINDER, Kind.EVENT_CANCELLED, Kind.PARKING_ENDING, Kind.ORDER_READY})
CAN_WAIT = frozenset({Kind.REMINDER, Kind.REFUND})


def _ref(uid):
    return db().collection(PREFERENCES).document(uid)


def _opt_out_ref(number):
    return db().collection(SMS_OPT_OUTS).document(number)


def default_channels():
    return {str(kind): {"email": True, "push": True, "sms": kind in SMS_BY_DEFAULT} for kind in Kind}


def load_preferences(uid):
    """The account's preferences with the defaults filled in."""
    snapshot = _ref(uid).get()
    stored = snapshot.to_dict() if snapshot.exists else {}
    channels = default_channels()
    for kind, choice in (stored.get("channels") or {}).items():
        if kind in channels:
            channels[kind].update({c: bool(v) for c, v in choice.items() if c in CHANNELS})
    return {"channels": channels, "quiet_hours": stored.get("quiet_hours"), "updated_at": stored.get("updated_at")}


def get_preferences(uid):
    preferences = load_preferences(uid)
    phone = phones.verified_phone(uid)
    return {**preferences, "sms_opted_out": bool(phone and is_opted_out(phone))}


_KEEP = object()


def update_preferences(uid, *, channels=None, quiet_hours=_KEEP):
    """Change some channels of some kinds, and/or the quiet hours (``quiet_hours=None`` turns them off).

    Turning SMS on for any kind needs a verified phone number first.
    """
    channels = channels or {}
    if any(choice.get("sms") for choice in channels.values()) and not phones.verified_phone(uid):
        raise AppError("phone_not_verified", "Verify a phone number (POST /users/me/phone) before turning SMS on.")
    changes = {"uid": uid, "updated_at": utcnow()}
    if channels:
        changes["channels"] = channels
    if quiet_hours is not _KEEP:
        changes["quiet_hours"] = quiet_hours
    _ref(uid).set(changes, merge=True)
    logger.info("notification preferences changed uid=%s", uid)
    return get_preferences(uid)


def wanted(preferences, kind, channel):
    return preferences["channels"].get(str(kind), {}).get(channel, True)


def quiet_until(preferences, kind, now):
    """When the account's quiet hours end if ``now`` is inside them and the kind can wait; else None."""
    quiet = preferences.get("quiet_hours")
    if not quiet or Kind(kind) not in CAN_WAIT:
        return None
    zone = ZoneInfo(quiet["timezone"])
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])
    moment = local.time().replace(tzinfo=None)
    if start < end:
        inside, ends_on = start <= moment < end, local.date()
    else:
        inside = moment >= start or moment < end
        ends_on = local.date() + timedelta(days=1) if moment >= start else local.date()
    if not inside:
        return None
    return datetime.combine(ends_on, end, tzinfo=zone).astimezone(now.tzinfo)


def is_opted_out(number):
    return _opt_out_ref(number).get().exists


def record_sms_opt_out(number, *, keyword):
    _opt_out_ref(number).set({"number": number, "keyword": keyword, "opted_out_at": utcnow()})
    logger.info("sms opt-out recorded number=...%s keyword=%s", number[-4:], keyword)


def record_sms_opt_in(number, *, keyword):
    _opt_out_ref(number).delete()
    logger.info("sms opt-in recorded number=...%s keyword=%s", number[-4:], keyword)
