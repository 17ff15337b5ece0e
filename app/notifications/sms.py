"""SMS through Twilio's Messages API with the official ``twilio`` library, or to the log (``console``).

A text goes only to the account's verified number (read from Firebase Auth
when the message is delivered), never to a number that replied STOP, and only
while the day's limits allow (``app.smsquota``; a retried message is counted
once). Twilio's Messages API takes no idempotency key, so the outbox's rule
(a send interrupted by a crash is marked ``unknown`` and not repeated) is
what keeps a text from arriving twice.

The library lets its HTTP client be replaced (``Client(http_client=...)``, its
documented way through a proxy). ``_BaseUrlHttpClient`` is the library's own
``TwilioHttpClient`` sending to ``TWILIO_API_BASE`` instead of
https://api.twilio.com; tests and ``make run`` point that at the loopback
stand-in (``devstack/twilio_standin.py``), production leaves it alone.

Twilio reports what became of each text to the status callback URL given when
it was sent, and passes replies to the inbound webhook. Both are signed with
the account's auth token (``X-Twilio-Signature``, checked with the library's
``RequestValidator``). Statuses only move forward (queued, sending, sent, then
delivered, undelivered or failed), so a late callback cannot undo a later one.
"""
import logging
import re

from flask import current_app
from google.cloud import firestore
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from app.errors import AppError
from app.firebase import db
from app.notifications import preferences
from app.notifications.service import ChannelState, message_ref
from app.smsquota import SmsLimitReached, take_sms_quota
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
EXTENSION = "twilio"
# The status webhook's route (app/notifications/webhooks.py), as Twilio must be told it.
STATUS_CALLBACK_PATH = "/api/v1/sms/webhooks/twilio/status/"
OPT_OUT_HINT = "Reply STOP to opt out."
# Twilio's standard opt-out and opt-in keywords, matched against the whole reply.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
               "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3, "read": 4}
# "Attempt to send to unsubscribed recipient": the number opted out with Twilio itself.
UNSUBSCRIBED = 21610


class _BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base, *, timeout):
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def _client():
    extensions = current_app.extensions
    if EXTENSION not in extensions:
        cfg = current_app.config
        http = _BaseUrlHttpClient(cfg["TWILIO_API_BASE"], timeout=cfg["TWILIO_TIMEOUT_SECONDS"])
        # environment={}: the library would read TWILIO_* itself; app/config.py is the one reader.
        extensions[EXTENSION] = Client(cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"], http_client=http,
                                       environment={})
    return extensions[EXTENSION]


def _masked(number):
    return f"...{number[-4:]}"


def send_sms(person, content, message):
    """Text the message to the recipient's verified number; the channel's state. Raises when Twilio fails."""
    cfg = current_app.config
    if cfg["SMS_CHANNEL"] == "off" or not person.phone:
        return ChannelState.NONE
    if preferences.is_opted_out(person.phone):
        return ChannelState.OFF
    try:
        take_sms_quota(person.uid, person.phone, once=f"outbox:{message['id']}")
    except SmsLimitReached as exc:
        logger.warning("sms not sent id=%s uid=%s: the %s limit is used up", message["id"], person.uid, exc.scope)
        return ChannelState.LIMITED
    body = f"{content.sms} {OPT_OUT_HINT}"
    if cfg["SMS_CHANNEL"] == "console":
        logger.info("sms (console) id=%s uid=%s to=%s\n%s", message["id"], person.uid, _masked(person.phone), body)
        return ChannelState.SENT
    sender = cfg["TWILIO_FROM"]
    params = {"to": person.phone, "body": body,
              "messaging_service_sid" if sender.startswith("MG") else "from_": sender}
    if cfg["SMS_WEBHOOK_BASE_URL"]:
        params["status_callback"] = cfg["SMS_WEBHOOK_BASE_URL"] + STATUS_CALLBACK_PATH + message["id"]
    try:
        sent = _client().api.v2010.accounts(cfg["TWILIO_ACCOUNT_SID"]).messages.create(**params)
    except TwilioRestException as exc:
        if exc.code == UNSUBSCRIBED:
            preferences.record_sms_opt_out(person.phone, keyword=f"twilio {UNSUBSCRIBED}")
            return ChannelState.OFF
        raise
    record_sms_status(message["id"], sid=sent.sid, status=sent.status)
    logger.info("sms sent id=%s uid=%s sid=%s", message["id"], person.uid, sent.sid)
    return ChannelState.SENT


def record_sms_status(msg_id, *, sid, status, error_code=None):
    """Move the message's ``sms`` status forward; False when the message, or this text of it, is unknown."""
    ref = message_ref(msg_id)

    @firestore.transactional
    def advance(transaction):
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return False
        current = snapshot.to_dict().get("sms") or {}
        if current.get("sid") not in (None, sid):
            return False
        if STATUS_RANK.get(status, -1) > STATUS_RANK.get(current.get("status"), -1):
            transaction.update(ref, {"sms": {"sid": sid, "status": status, "error_code": error_code,
                                             "updated_at": utcnow()}})
        return True

    return advance(db().transaction())


def check_signature(url, params, signature):
    """Refuse a webhook whose X-Twilio-Signature is not Twilio's for this URL and these form fields."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        # Without Twilio there is nothing to call back, as with Stripe's webhook unconfigured.
        raise AppError("not_found", "Twilio is not configured here.")
    if not signature or not RequestValidator(token).validate(url, params, signature):
        raise AppError("invalid_signature", "The X-Twilio-Signature does not match this request.")


def handle_status_callback(msg_id, params):
    """Twilio's word on what became of a text (already signature-checked)."""
    sid, status = params.get("MessageSid"), params.get("MessageStatus")
    if not re.fullmatch(r"[0-9a-f]{32}", msg_id) or not sid or status not in STATUS_RANK:
        raise AppError("not_found", "No such text message.")
    if not record_sms_status(msg_id, sid=sid, status=status, error_code=params.get("ErrorCode") or None):
        raise AppError("not_found", "No such text message.")
    if status in {"undelivered", "failed"}:
        logger.warning("sms %s id=%s sid=%s error=%s", status, msg_id, sid, params.get("ErrorCode"))


def handle_inbound(params):
    """A reply to one of our texts (already signature-checked): STOP and its synonyms opt out, START opts in."""
    number, keyword = params.get("From") or "", (params.get("Body") or "").strip().upper()
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
        return
    if keyword in OPT_OUT_KEYWORDS:
        preferences.record_sms_opt_out(number, keyword=keyword)
    elif keyword in OPT_IN_KEYWORDS:
        preferences.record_sms_opt_in(number, keyword=keyword)
