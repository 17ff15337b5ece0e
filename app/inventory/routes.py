from flask import g
from flask_smorest import Blueprint

from app.auth import login_required, optional_login
from app.inventory import service
from app.inventory.schemas import AvailabilityOut, HoldCreate, HoldOut, IdempotencyHeader

blp = Blueprint("inventory", __name__, url_prefix="/api/v1", description="Holds and availability")


@blp.route("/events/<event_id>/holds", methods=["POST"])
@login_required
@blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(HoldCreate)
@blp.response(201, HoldOut)
def create_hold(data, event_id, idempotency_key=None):
    """Hold general-admission units or seats for HOLD_TTL_SECONDS

    A retried request with the same Idempotency-Key returns the first hold.
    """
    return service.place_hold(event_id, g.user.uid, items=data.get("items"), seats=data.get("seats"),
                              idempotency_key=idempotency_key)


@blp.route("/holds/<hold_id>", methods=["GET"])
@login_required
@blp.response(200, HoldOut)
def get_hold(hold_id):
    """A hold: its buyer's, or for the event's organizer and admins"""
    return service.get_hold(hold_id, g.user)


@blp.route("/holds/<hold_id>", methods=["DELETE"])
@login_required
@blp.response(200, HoldOut)
def release_hold(hold_id):
    """Give a hold up; its units are free at once"""
    return service.release_hold(hold_id, g.user)


@blp.route("/events/<event_id>/availability", methods=["GET"])
@optional_login
@blp.response(200, AvailabilityOut)
def get_availability(event_id):
    """Remaining units per ticket type and seat states, with expired holds already counted as free"""
    return service.get_availability(event_id, viewer=g.user)
