from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import roles_required
from app.notifications import service
from app.notifications.schemas import NotificationOut, NotificationPage, NotificationQuery

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="The notification outbox (admins)")


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
