from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import optional_login, roles_required
from app.events import lifecycle, service, ticket_types
from app.events.schemas import (EventIn, EventOut, EventPage, EventPatch, EventQuery, TicketTypeIn, TicketTypeOut,
                                TicketTypePatch)

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Events and their ticket types")

MANAGERS = ("organizer", "admin")


@blp.route("/events", methods=["GET"])
@optional_login
@blp.arguments(EventQuery, location="query", unknown=RAISE)
@blp.response(200, EventPage)
def list_events(args):
    """Events by start time; search by text, city, category, dates and organizer"""
    return service.list_events(viewer=g.user, **args)


@blp.route("/events", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(EventIn)
@blp.response(201, EventOut)
def create_event(data):
    """Create a draft event at a venue you own or are admitted to (or as an admin); you become its organizer"""
    return service.create_event(g.user, **data)


@blp.route("/events/<event_id>", methods=["GET"])
@optional_login
@blp.response(200, EventOut)
def get_event(event_id):
    """An event; drafts only for their organizer and admins"""
    return service.get_event(event_id, viewer=g.user)


@blp.route("/events/<event_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(EventPatch)
@blp.response(200, EventOut)
def update_event(data, event_id):
    """Change an event that is not cancelled or completed (organizer or admin)"""
    return service.update_event(event_id, g.user, **data)


@blp.route("/events/<event_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_event(event_id):
    """Delete a draft, cancelled or completed event (organizer or admin)"""
    service.delete_event(event_id, g.user)


@blp.route("/events/<event_id>/publish", methods=["POST"])
@roles_required(*MANAGERS)
@blp.response(200, EventOut)
def publish_event(event_id):
    """Publish a draft that has a ticket type and has not started"""
    return lifecycle.publish_event(event_id, g.user)


@blp.route("/events/<event_id>/cancel", methods=["POST"])
@roles_required(*MANAGERS)
@blp.response(200, EventOut)
def cancel_event(event_id):
    """Cancel a published event"""
    return lifecycle.cancel_event(event_id, g.user)


@blp.route("/events/<event_id>/ticket-types", methods=["GET"])
@optional_login
@blp.response(200, TicketTypeOut(many=True))
def list_ticket_types(event_id):
    """The event's ticket types"""
    return ticket_types.list_ticket_types(event_id, viewer=g.user)


@blp.route("/events/<event_id>/ticket-types", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(TicketTypeIn)
@blp.response(201, TicketTypeOut)
def create_ticket_type(data, event_id):
    """Add a general-admission or seated ticket type (organizer or admin)"""
    return ticket_types.create_ticket_type(event_id, g.user, **data)


@blp.route("/events/<event_id>/ticket-types/<ticket_type_id>", methods=["GET"])
@optional_login
@blp.response(200, TicketTypeOut)
def get_ticket_type(event_id, ticket_type_id):
    """One of the event's ticket types"""
    return ticket_types.get_ticket_type(event_id, ticket_type_id, viewer=g.user)


@blp.route("/events/<event_id>/ticket-types/<ticket_type_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(TicketTypePatch)
@blp.response(200, TicketTypeOut)
def update_ticket_type(data, event_id, ticket_type_id):
    """Change a ticket type; its capacity never drops below what is sold or held"""
    return ticket_types.update_ticket_type(event_id, ticket_type_id, g.user, **data)


@blp.route("/events/<event_id>/ticket-types/<ticket_type_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_ticket_type(event_id, ticket_type_id):
    """Delete a ticket type nothing has been sold or held of"""
    ticket_types.delete_ticket_type(event_id, ticket_type_id, g.user)
