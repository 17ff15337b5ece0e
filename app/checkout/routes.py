from flask import g
from flask_smorest import Blueprint

from app.auth import login_required
from app.checkout import holds, kinds, service
from app.checkout.schemas import HoldCreate, HoldOut, IdempotencyHeader, KindsOut

blp = Blueprint("checkout", __name__, url_prefix="/api/v1", description="Holds: the cart of every kind of line")


@blp.route("/events/<event_id>/holds", methods=["POST"])
@login_required
@blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(HoldCreate)
@blp.response(201, HoldOut)
def create_hold(data, event_id, idempotency_key=None):
    """Hold lines of any kind (tickets, seats, ...) for HOLD_TTL_SECONDS

    A retried request with the same Idempotency-Key returns the first hold.
    """
    return holds.place_hold(event_id, g.user.uid, lines=data["lines"], idempotency_key=idempotency_key)


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


@blp.route("/checkout/kinds", methods=["GET"])
@blp.response(200, KindsOut)
def list_kinds():
    """The kinds of line this deployment sells"""
    return {"kinds": sorted(kinds.registered())}
