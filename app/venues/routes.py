from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import optional_login, roles_required
from app.venues import service
from app.venues.schemas import (OrganizersOut, StaffOut, VenueIn, VenueMemberIn, VenueOut, VenuePage, VenuePatch,
                                VenueQuery)

blp = Blueprint("venues", __name__, url_prefix="/api/v1", description="Venues, seat maps and venue staff")

MANAGERS = ("organizer", "admin")


@blp.route("/venues", methods=["GET"])
@optional_login
@blp.arguments(VenueQuery, location="query", unknown=RAISE)
@blp.response(200, VenuePage)
def list_venues(args):
    """Venues by name, optionally in one city"""
    return service.list_venues(viewer=g.user, **args)


@blp.route("/venues", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(VenueIn)
@blp.response(201, VenueOut)
def create_venue(data):
    """Create a venue; the caller becomes its owner, and only the owner, admitted organizers and admins hold
    events there"""
    return service.create_venue(g.user, **data)


@blp.route("/venues/<venue_id>", methods=["GET"])
@optional_login
@blp.response(200, VenueOut)
def get_venue(venue_id):
    """A venue with its seat map"""
    return service.get_venue(venue_id, viewer=g.user)


@blp.route("/venues/<venue_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(VenuePatch)
@blp.response(200, VenueOut)
def update_venue(data, venue_id):
    """Change a venue (owner or admin); the seat map is fixed while draft or published events use it"""
    return service.update_venue(venue_id, g.user, **data)


@blp.route("/venues/<venue_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_venue(venue_id):
    """Delete a venue (owner or admin) that no draft or published event uses"""
    service.delete_venue(venue_id, g.user)


@blp.route("/venues/<venue_id>/staff", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(VenueMemberIn)
@blp.response(200, StaffOut)
def add_venue_staff(data, venue_id):
    """Assign a user with the staff role to the venue (owner or admin); assigning twice changes nothing"""
    return service.add_venue_staff(venue_id, g.user, data["uid"])


@blp.route("/venues/<venue_id>/staff", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.arguments(VenueMemberIn)
@blp.response(204)
def remove_venue_staff(data, venue_id):
    """Unassign a staff member from the venue (owner or admin)"""
    service.remove_venue_staff(venue_id, g.user, data["uid"])


@blp.route("/venues/<venue_id>/organizers", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(VenueMemberIn)
@blp.response(200, OrganizersOut)
def admit_organizer(data, venue_id):
    """Let another organizer create events at the venue (owner or admin); admitting twice changes nothing"""
    return service.admit_organizer(venue_id, g.user, data["uid"])


@blp.route("/venues/<venue_id>/organizers", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.arguments(VenueMemberIn)
@blp.response(204)
def dismiss_organizer(data, venue_id):
    """Stop an organizer from creating events at the venue (owner or admin); their events there stay"""
    service.dismiss_organizer(venue_id, g.user, data["uid"])
