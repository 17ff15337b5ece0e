from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, optional_login, roles_required
from app.parking import lots, occupancy, passes, quotes, scans, sessions, stats
from app.parking.schemas import (LotAvailabilityOut, LotIn, LotOut, LotPage, LotPatch, LotStatsOut, PageQuery,
                                 PassOut, PassPage, QuoteOut, QuoteQuery, StatsQuery, WindowQuery)
from app.parking.session_schemas import (ParkingSessionIn, ParkingSessionOut, ParkingSessionPage,
                                         ParkingSessionQuery, ScanIn, ScanOut, SettlementIn, SettlementOut)

blp = Blueprint("parking", __name__, url_prefix="/api/v1",
                description="Parking: lots, quotes, passes, drive-up sessions and scans at the gate")

MANAGERS = ("organizer", "admin")


@blp.route("/venues/<venue_id>/parking-lots", methods=["GET"])
@optional_login
@blp.arguments(PageQuery, location="query", unknown=RAISE)
@blp.response(200, LotPage)
def list_lots(args, venue_id):
    """The venue's parking lots with free spaces per kind now (inactive ones for the venue's managers)"""
    page = lots.list_lots(venue_id, viewer=g.user, **args)
    return {**page, "items": [occupancy.with_availability(lot) for lot in page["items"]]}


@blp.route("/venues/<venue_id>/parking-lots", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(LotIn)
@blp.response(201, LotOut)
def create_lot(data, venue_id):
    """Add a parking lot to a venue (its owner, admins)"""
    return lots.create_lot(venue_id, g.user, **data)


@blp.route("/parking-lots/<lot_id>", methods=["GET"])
@optional_login
@blp.response(200, LotOut)
def get_lot(lot_id):
    """A parking lot, with free spaces per kind now"""
    return occupancy.with_availability(lots.view(lots.visible_lot(lot_id, g.user), g.user))


@blp.route("/parking-lots/<lot_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(LotPatch)
@blp.response(200, LotOut)
def update_lot(data, lot_id):
    """Change a lot (the venue's owner, admins); spaces are added, never removed or re-kinded"""
    return lots.update_lot(lot_id, g.user, **data)


@blp.route("/parking-lots/<lot_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_lot(lot_id):
    """Delete a lot that no booking or parked car uses any more (the venue's owner, admins)"""
    lots.delete_lot(lot_id, g.user)


@blp.route("/parking-lots/<lot_id>/quote", methods=["GET"])
@optional_login
@blp.arguments(QuoteQuery, location="query", unknown=RAISE)
@blp.response(200, QuoteOut)
def get_quote(args, lot_id):
    """The price of a space of a kind for a window, and a signed quote that locks it for a few minutes

    Book it with a hold line {"kind": "parking", "quote": ..., "plate"?} before expires_at.
    """
    return quotes.quote(lot_id, viewer=g.user, **args)


@blp.route("/parking-lots/<lot_id>/availability", methods=["GET"])
@optional_login
@blp.arguments(WindowQuery, location="query", unknown=RAISE)
@blp.response(200, LotAvailabilityOut)
def get_availability(args, lot_id):
    """Free spaces per kind now, or for the whole of a window (from, to); expired holds count as free"""
    return occupancy.get_availability(lot_id, g.user, **args)


@blp.route("/parking-lots/<lot_id>/sessions", methods=["POST"])
@login_required
@blp.arguments(ParkingSessionIn)
@blp.response(201, ParkingSessionOut)
def start_session(data, lot_id):
    """Let a car in without a booking: a drive-up session on a free space (the venue's staff, owner, admins)"""
    return sessions.start_session(lot_id, g.user, **data)


@blp.route("/parking-lots/<lot_id>/sessions", methods=["GET"])
@login_required
@blp.arguments(ParkingSessionQuery, location="query", unknown=RAISE)
@blp.response(200, ParkingSessionPage)
def list_sessions(args, lot_id):
    """The lot's sessions, newest first: state=open is who is parked, flagged who stayed past closing"""
    return sessions.list_sessions(lot_id, g.user, **args)


@blp.route("/parking-sessions/<session_id>", methods=["GET"])
@login_required
@blp.response(200, ParkingSessionOut)
def get_session(session_id):
    """A parking session (the venue's staff, owner, admins)"""
    return sessions.get_session(session_id, g.user)


@blp.route("/parking-sessions/<session_id>/end", methods=["POST"])
@login_required
@blp.response(200, ParkingSessionOut)
def end_session(session_id):
    """The car leaves: its space is free at once and its charge is fixed for the time it stayed"""
    return sessions.end_session(session_id, g.user)


@blp.route("/parking-sessions/<session_id>/settlement", methods=["POST"])
@login_required
@blp.arguments(SettlementIn)
@blp.response(200, SettlementOut)
def settle_session(data, session_id):
    """Pay a session's charge through the checkout: at the box office now (manual), or by card (stripe)"""
    return sessions.settle_session(session_id, g.user, **data)


@blp.route("/parking-lots/<lot_id>/scans", methods=["POST"])
@login_required
@blp.arguments(ScanIn)
@blp.response(200, ScanOut)
def create_scan(data, lot_id):
    """Scan a pass's code or read a plate at entry or exit (the venue's staff, owner, admins)

    Every scan answers 200 with a stable result; a repeated nonce returns the first one.
    """
    return scans.scan(lot_id, g.user, **data)


@blp.route("/parking-lots/<lot_id>/stats", methods=["GET"])
@roles_required(*MANAGERS)
@blp.arguments(StatsQuery, location="query", unknown=RAISE)
@blp.response(200, LotStatsOut)
def get_stats(args, lot_id):
    """Occupancy over time, revenue by kind, average stay and multipliers applied (the venue's owner, admins)"""
    return stats.get_lot_stats(lot_id, g.user, starts_from=args.get("starts_at"), starts_to=args.get("ends_at"))


@blp.route("/parking-passes", methods=["GET"])
@login_required
@blp.arguments(PageQuery, location="query", unknown=RAISE)
@blp.response(200, PassPage)
def list_passes(args):
    """Your parking passes, newest first"""
    return passes.list_passes(g.user, **args)


@blp.route("/parking-passes/<pass_id>", methods=["GET"])
@login_required
@blp.response(200, PassOut)
def get_pass(pass_id):
    """A parking pass: its holder's, or for the lot's managers"""
    return passes.get_pass(pass_id, g.user)


@blp.route("/parking-passes/<pass_id>/qr.svg", methods=["GET"])
@login_required
@blp.response(200, content_type="image/svg+xml")
def get_pass_qr(pass_id):
    """The pass's code as an SVG QR code"""
    return Response(passes.pass_qr_svg(pass_id, g.user), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})
