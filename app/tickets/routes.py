from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, optional_login
from app.tickets import availability, service
from app.tickets.schemas import AvailabilityOut, TicketOut, TicketPage, TicketQuery

blp = Blueprint("tickets", __name__, url_prefix="/api/v1", description="Tickets and their QR codes")


@blp.route("/tickets", methods=["GET"])
@login_required
@blp.arguments(TicketQuery, location="query", unknown=RAISE)
@blp.response(200, TicketPage)
def list_tickets(args):
    """Tickets, newest first: yours, or (scope=managed) those of the events you organize; admins see all

    Filters combine: order_id, event_id, checked_in. with_total=true also counts every match.
    """
    return service.list_tickets(g.user, **args)


@blp.route("/tickets/<ticket_id>", methods=["GET"])
@login_required
@blp.response(200, TicketOut)
def get_ticket(ticket_id):
    """A ticket: its holder's, or for the event's organizer and admins"""
    return service.get_ticket(ticket_id, g.user)


@blp.route("/tickets/<ticket_id>/qr.svg", methods=["GET"])
@login_required
@blp.response(200, content_type="image/svg+xml")
def get_ticket_qr(ticket_id):
    """The ticket's code as an SVG QR code"""
    return Response(service.ticket_qr_svg(ticket_id, g.user), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


@blp.route("/events/<event_id>/availability", methods=["GET"])
@optional_login
@blp.response(200, AvailabilityOut)
def get_availability(event_id):
    """Remaining tickets per ticket type and seat states, with expired holds already counted as free"""
    return availability.get_availability(event_id, viewer=g.user)
