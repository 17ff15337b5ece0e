from flask import Response, current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, roles_required
from app.reports import dashboard, exports, personal, stats
from app.reports.schemas import DashboardOut, DashboardQuery, PersonalDataOut, StatsOut

blp = Blueprint("reports", __name__, url_prefix="/api/v1",
                description="The back office's figures and exports, and a customer's own data")

MANAGERS = ("organizer", "admin")


@blp.route("/dashboard", methods=["GET"])
@roles_required(*MANAGERS)
@blp.arguments(DashboardQuery, location="query", unknown=RAISE)
@blp.response(200, DashboardOut)
def get_dashboard(args):
    """Across your events: sales by day (in each event's time zone), by kind and ticket type, refunds,
    check-in progress and totals per currency (organizer; admins pass organizer_uid)"""
    return dashboard.get_dashboard(g.user, **args)


@blp.route("/events/<event_id>/stats", methods=["GET"])
@roles_required(*MANAGERS)
@blp.response(200, StatsOut)
def get_stats(event_id):
    """Sold, held, revenue and refunds, in total and per ticket type (organizer or admin)"""
    return stats.get_event_stats(event_id, g.user)


def _csv_response(event_id, what):
    name, chunks = exports.export_event(event_id, g.user, what)
    app = current_app._get_current_object()

    def stream():
        # An app context around each chunk's making, not the request's (it ends with the view; the export has
        # the user it needs), and never held across a yield: a response closed early, or dropped and collected
        # elsewhere, must not pop a context it did not push there.
        pages = iter(chunks)
        while True:
            with app.app_context():
                chunk = next(pages, None)
            if chunk is None:
                return
            yield chunk

    return Response(stream(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@blp.route("/events/<event_id>/exports/orders.csv", methods=["GET"])
@roles_required(*MANAGERS)
@blp.response(200, content_type="text/csv")
def export_orders(event_id):
    """Every order of the event as CSV, streamed page by page (organizer or admin)"""
    return _csv_response(event_id, "orders")


@blp.route("/events/<event_id>/exports/attendees.csv", methods=["GET"])
@roles_required(*MANAGERS)
@blp.response(200, content_type="text/csv")
def export_attendees(event_id):
    """Every ticket of the event with its holder as CSV, streamed page by page (organizer or admin)"""
    return _csv_response(event_id, "attendees")


@blp.route("/events/<event_id>/exports/checkins.csv", methods=["GET"])
@roles_required(*MANAGERS)
@blp.response(200, content_type="text/csv")
def export_checkins(event_id):
    """Every admission at the event's doors as CSV, streamed page by page (organizer or admin)"""
    return _csv_response(event_id, "checkins")


@blp.route("/users/me/export", methods=["GET"])
@login_required
@blp.response(200, PersonalDataOut)
def export_my_data():
    """Download everything kept about you: profile, account, devices, orders and tickets, as JSON"""
    return personal.export_personal_data(g.user), 200, {"Content-Disposition": 'attachment; filename="my-data.json"'}
