from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, roles_required
from app.notifications import preferences, service
from app.notifications.schemas import (NotificationOut, NotificationPage, NotificationQuery, PreferencesOut,
                                       PreferencesPatch)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Notification preferences and the outbox")


@blp.route("/admin/notifications", methods=["GET"])
@roles_required("admin")
@blp.arguments(NotificationQuery, location="query", unknown=RAISE)
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Outbox messages, e.g. ?state=parked: those that failed every attempt or were interrupted mid-send"""
    return service.list_messages(**args)


@blp.route("/admin/notifications/<message_id>/retry", methods=["POST"])
@roles_required("admin")
@blp.response(200, NotificationOut)
def retry_notification(message_id):
    """Send a parked message again (its channels that did not go through)"""
    return service.retry_message(message_id)


@blp.route("/users/me/notification-preferences", methods=["GET"])
@login_required
@blp.response(200, PreferencesOut)
def get_notification_preferences():
    """Which channels (email, push, sms) each kind of message comes by, and the caller's quiet hours"""
    return preferences.get_preferences(g.user.uid)


@blp.route("/users/me/notification-preferences", methods=["PATCH"])
@login_required
@blp.arguments(PreferencesPatch)
@blp.response(200, PreferencesOut)
def update_notification_preferences(data):
    """Turn channels on or off per kind of message, set quiet hours; SMS needs a verified phone number"""
    return preferences.update_preferences(g.user.uid, **data)
