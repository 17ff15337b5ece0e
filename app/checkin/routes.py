from flask import current_app, g
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import load_user, login_required
from app.checkin import offline, service, stats
from app.checkin.schemas import (CheckinIn, CheckinKeyOut, CheckinOut, CheckinStatsOut, CheckinSyncOut,
                                 CheckinSyncQuery, OfflineUploadIn, OfflineUploadOut)
from app.extensions import limiter

blp = Blueprint("checkin", __name__, url_prefix="/api/v1",
                description="Check-in at the gate: online scans, offline sync and upload, stats")


def _scanner():
    """Scanners at a stadium's gates share one NAT address: each staff member is counted, not the address."""
    user = load_user()
    return f"uid:{user.uid}" if user else get_remote_address()


scanner_limit = limiter.limit(lambda: current_app.config["RATELIMIT_CHECKIN"], key_func=_scanner)


@blp.route("/events/<event_id>/checkins", methods=["POST"])
@scanner_limit
@login_required
@blp.arguments(CheckinIn)
@blp.response(200, CheckinOut)
def create_checkin(data, event_id):
    """Scan a ticket code at a gate (the event's venue staff, its organizer, admins)

    Every scan answers 200 with a stable `result`: ok, already_checked_in,
    invalid_signature, void, wrong_event or not_valid_yet. A repeated nonce
    returns the first result; of two gates scanning one ticket at once, one
    gets ok.
    """
    return service.perform_checkin(event_id, g.user, **data)


@blp.route("/events/<event_id>/checkins/offline", methods=["POST"])
@scanner_limit
@login_required
@blp.arguments(OfflineUploadIn)
@blp.response(200, OfflineUploadOut)
def upload_offline_checkins(data, event_id):
    """Upload scans made offline, with their original times; tickets admitted twice come back as conflicts"""
    return offline.upload_offline_scans(event_id, g.user, **data)


@blp.route("/events/<event_id>/checkins/stats", methods=["GET"])
@scanner_limit
@login_required
@blp.response(200, CheckinStatsOut)
def get_checkin_stats(event_id):
    """People checked in, entries per gate and per ticket type, scans by result"""
    return stats.get_checkin_stats(event_id, g.user)


@blp.route("/events/<event_id>/checkin-key", methods=["GET"])
@scanner_limit
@login_required
@blp.response(200, CheckinKeyOut)
def get_checkin_key(event_id):
    """The event's Ed25519 public key, to verify ticket codes offline"""
    return service.get_checkin_key(event_id, g.user)


@blp.route("/events/<event_id>/checkin-sync", methods=["GET"])
@scanner_limit
@login_required
@blp.arguments(CheckinSyncQuery, location="query", unknown=RAISE)
@blp.response(200, CheckinSyncOut)
def sync_checkins(args, event_id):
    """Ticket states and check-ins changed since the cursor; call again while more is true"""
    return offline.sync_checkin_state(event_id, g.user, **args)
