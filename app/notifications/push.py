"""Push through FCM (firebase_admin.messaging via app.firebase) to every device the user registered.

Tokens FCM reports dead (UNREGISTERED / not found, or registered to another
sender) are removed from the user's devices. firebase_admin 7.7 deprecates
``Message.token`` for ``Message.fid`` (the same registration, now named by its
Firebase installation), so messages are addressed with ``fid``. A push counts as delivered when
at least one device took it; retrying would repeat it on those devices.
"""
import logging

from flask import current_app

from app.firebase import FirebaseError, messaging
from app.notifications.service import ChannelState
from app.users import service as users

logger = logging.getLogger(__name__)


class PushFailed(Exception):
    """No device took the push and at least one failure may pass (FCM unavailable, quota)."""


def build_push(token, content, message):
    fcm = messaging()
    data = {**{k: str(v) for k, v in content.push_data.items()}, "notification_id": message["id"]}
    return fcm.Message(fid=token, notification=fcm.Notification(title=content.push_title, body=content.push_body),
                       data=data)


def send_push(person, content, message):
    """Push to each of the user's devices; ChannelState.NONE when there is none. Raises PushFailed."""
    tokens = users.list_device_tokens(person.uid)
    if not tokens:
        return ChannelState.NONE
    if current_app.config["PUSH_CHANNEL"] == "console":
        logger.info("push (console) id=%s uid=%s devices=%d title=%r body=%r", message["id"], person.uid,
                    len(tokens), content.push_title, content.push_body)
        return ChannelState.SENT
    fcm = messaging()
    sent, failures = 0, []
    for token in tokens:
        try:
            fcm.send(build_push(token, content, message))
            sent += 1
        except (fcm.NotFoundError, fcm.SenderIdMismatchError) as exc:
            users.remove_device_token(person.uid, token)
            logger.info("dead FCM token removed uid=%s reason=%s", person.uid, exc.code)
        except FirebaseError as exc:
            failures.append(exc)
            logger.warning("push failed id=%s uid=%s code=%s: %s", message["id"], person.uid, exc.code, exc)
    if sent:
        logger.info("push sent id=%s uid=%s devices=%d", message["id"], person.uid, sent)
        return ChannelState.SENT
    if failures:
        raise PushFailed(f"{failures[0].code}: {failures[0]}")
    return ChannelState.NONE
