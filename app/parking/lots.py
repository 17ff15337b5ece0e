"""Parking lots at a venue: their spaces, opening hours and prices, managed by the venue's owner.

A lot has numbered spaces (``spaces``: ``[{"id": "A1", "kind": "accessible"}]``)
and zones with counts (``zones``: ``[{"id": "P1", "kind": "standard", "count":
150}]``, whose spaces are ``P1-1`` to ``P1-150``), or both. Buyers book a kind
of space and get one assigned. Spaces can be added at any time; a space that
exists is never removed or given another kind, because bookings and sessions
may hold it at any time in the future (to shrink a lot, deactivate it and open
another); for the same reason a lot's slot length is fixed when it is made.
Inactive lots are shown only to their managers and sell nothing; a lot is
deleted (softly) only when nothing is booked or parked in it any more.

Attendants are the venue's staff (``venues.is_venue_staff``); the venue's
owner and admins may do everything they do.
"""
import logging
import re
from datetime import datetime

from google.cloud.firestore_v1 import FieldFilter

from app import readcache
from app.auth import Role
from app.errors import AppError, field_error
from app.firebase import db
from app.pagination import fetch_page
from app.parking.signals import lot_changed
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

LOTS = "parking_lots"
SPACE_KINDS = ("standard", "accessible", "ev", "oversize")
MAX_SPACES = 5000
DOCUMENT_ID = re.compile(r"(?!__.*__\Z)[A-Za-z0-9_-]{1,64}")
PRICING_DEFAULTS = {"event_flat": {}, "daily_cap": None, "occupancy_bands": [], "event_window_minutes": 120,
                    "event_multiplier_bp": 10_000, "floor_bp": 10_000, "ceiling_bp": 30_000,
                    "overstay_grace_minutes": 15, "overstay_multiplier_bp": 15_000}


def _not_found():
    return AppError("not_found", "No such parking lot.")


def lot_ref(lot_id):
    if not DOCUMENT_ID.fullmatch(lot_id):
        raise _not_found()
    return db().collection(LOTS).document(lot_id)


def _family(lot_id):
    return f"parking-lot:{lot_id}"


def read_lot(lot_id):
    """The stored lot, through the read cache, deleted or not; 404 when there is none."""
    def read():
        snapshot = lot_ref(lot_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    lot = readcache.cached(_family(lot_id), "record", read)
    if lot is None:
        raise _not_found()
    return lot


def space_ids(zones, spaces):
    """{space id: kind} of a lot's zones and numbered spaces, in their order."""
    found = {}
    for zone in zones:
        for n in range(1, zone["count"] + 1):
            found[f"{zone['id']}-{n}"] = zone["kind"]
    for space in spaces:
        found[space["id"]] = space["kind"]
    return found


def spaces_of(lot, kind):
    """The ids of the lot's spaces of one kind, in a fixed order (lanes of gunicorn workers follow it)."""
    return [space for space, of in space_ids(lot["zones"], lot["spaces"]).items() if of == kind]


def kinds_of(lot):
    """{kind: number of spaces} for the kinds the lot has."""
    counts = {}
    for kind in space_ids(lot["zones"], lot["spaces"]).values():
        counts[kind] = counts.get(kind, 0) + 1
    return {kind: counts[kind] for kind in SPACE_KINDS if kind in counts}


def can_manage(user, lot):
    """The venue's owner and admins manage its lots; a deleted venue's lots are its admins' only."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    try:
        return venues.can_manage_venue(user, venues.get_venue(lot["venue_id"]))
    except AppError:
        return False


def can_attend(user, lot):
    """Attendants: the venue's staff, its owner and admins."""
    return can_manage(user, lot) or (user is not None and user.role == Role.STAFF
                                     and venues.is_venue_staff(lot["venue_id"], user.uid))


def visible_lot(lot_id, viewer=None):
    """A live lot: active ones for everyone, inactive ones for their managers; 404 otherwise."""
    lot = read_lot(lot_id)
    if lot.get("deleted_at") or (not lot["active"] and not can_manage(viewer, lot)):
        raise _not_found()
    return lot


def managed_lot(lot_id, user):
    lot = read_lot(lot_id)
    if lot.get("deleted_at"):
        raise _not_found()
    if not can_manage(user, lot):
        if lot["active"] or can_attend(user, lot):
            raise AppError("forbidden", "Only the venue's owner or an admin manages its parking lots.")
        raise _not_found()
    return lot


def attended_lot(lot_id, user):
    """The lot, for its attendants; 403 for others who may see it, 404 for those who may not."""
    lot = read_lot(lot_id)
    if lot.get("deleted_at"):
        raise _not_found()
    if not can_attend(user, lot):
        if lot["active"]:
            raise AppError("forbidden", "Only the venue's staff, its owner and admins attend its parking lots.")
        raise _not_found()
    return lot


def sellable_lot(lot_id):
    """A lot that takes bookings now: live and active; 409 ``lot_inactive`` otherwise."""
    try:
        lot = read_lot(lot_id)
    except AppError:
        raise AppError("lot_inactive", "This parking lot no longer exists.", details={"lot_id": lot_id}) from None
    if lot.get("deleted_at") or not lot["active"]:
        raise AppError("lot_inactive", details={"lot_id": lot_id})
    return lot


def _check_spaces(zones, spaces, before=None):
    found = space_ids(zones, spaces)
    if len(found) != sum(z["count"] for z in zones) + len(spaces):
        raise field_error("spaces", "Space ids repeat (a zone P1 of 10 spaces names P1-1 to P1-10).")
    if len({z["id"] for z in zones}) != len(zones):
        raise field_error("zones", "Zone ids repeat.")
    if not found:
        raise field_error("zones", "A lot has at least one space, in a zone or numbered.")
    if len(found) > MAX_SPACES:
        raise field_error("zones", f"A lot has at most {MAX_SPACES} spaces.")
    if before is not None:
        changed = sorted(s for s, kind in before.items() if found.get(s) != kind)
        if changed:
            raise AppError("spaces_in_use", "Spaces are added to a lot, never removed or given another kind.",
                           details={"spaces": changed[:20]})
    return found


def _check_pricing(pricing, kinds):
    if missing := sorted(set(kinds) - set(pricing["hourly"])):
        raise field_error("pricing", f"An hourly rate is needed for every kind of space: {', '.join(missing)}.")
    if pricing["floor_bp"] > pricing["ceiling_bp"]:
        raise field_error("pricing", "The floor multiplier is above the ceiling.")


def _view(lot, viewer):
    hidden = {"deleted_at"}
    return {**{k: v for k, v in lot.items() if k not in hidden}, "space_kinds": kinds_of(lot),
            "spaces_total": sum(kinds_of(lot).values())}


def view(lot, viewer=None):
    return _view(lot, viewer)


def create_lot(venue_id, user, *, name, timezone, pricing, zones=(), spaces=(), geo=None, opening_hours=None,
               slot_minutes=15, in_and_out=False, active=True):
    venue = venues.get_venue(venue_id)
    if not venues.can_manage_venue(user, venue):
        raise AppError("forbidden", "Only the venue's owner or an admin adds parking lots.")
    zones, spaces = list(zones), list(spaces)
    found = _check_spaces(zones, spaces)
    pricing = {**PRICING_DEFAULTS, **pricing}
    _check_pricing(pricing, set(found.values()))
    ref = db().collection(LOTS).document()
    now = utcnow()
    lot = {"id": ref.id, "venue_id": venue_id, "name": name, "geo": geo, "timezone": timezone, "zones": zones,
           "spaces": spaces, "slot_minutes": slot_minutes, "opening_hours": opening_hours,
           "in_and_out": in_and_out, "active": active, "pricing": pricing, "created_at": now, "updated_at": now,
           "deleted_at": None}
    ref.create(lot)
    logger.info("parking lot created lot=%s venue=%s spaces=%d", ref.id, venue_id, len(found))
    lot_changed.send(ref.id)
    return view(lot, user)


def update_lot(lot_id, user, **changes):
    lot = managed_lot(lot_id, user)
    merged = {**lot, **changes}
    if "pricing" in changes:
        merged["pricing"] = {**PRICING_DEFAULTS, **changes["pricing"]}
    found = _check_spaces(merged["zones"], merged["spaces"], before=space_ids(lot["zones"], lot["spaces"]))
    _check_pricing(merged["pricing"], set(found.values()))
    updates = {k: merged[k] for k in changes} | {"updated_at": utcnow()}
    lot_ref(lot_id).update(updates)
    readcache.invalidate(_family(lot_id))
    logger.info("parking lot updated lot=%s fields=%s", lot_id, sorted(changes))
    lot_changed.send(lot_id)
    return view({**lot, **updates}, user)


def delete_lot(lot_id, user):
    lot = managed_lot(lot_id, user)
    # Passes and sessions are modules of this package that read lots; asked here, not imported at the top.
    from app.parking import passes, sessions

    now = utcnow()
    if passes.lot_has_passes(lot["id"], now) or sessions.lot_has_open_sessions(lot["id"]):
        raise AppError("lot_in_use", "Bookings or parked cars still use this lot; deactivate it and wait until "
                       "they end.")
    now = utcnow()
    lot_ref(lot_id).update({"deleted_at": now, "active": False, "updated_at": now})
    readcache.invalidate(_family(lot_id))
    logger.info("parking lot deleted lot=%s", lot_id)
    lot_changed.send(lot_id)


def list_lots(venue_id, *, viewer=None, limit, cursor=None):
    """A venue's lots by name: active ones, and inactive ones too for the venue's managers."""
    venue = venues.get_venue(venue_id)
    manager = venues.can_manage_venue(viewer, venue) if viewer is not None else False
    query = (db().collection(LOTS).where(filter=FieldFilter("venue_id", "==", venue_id))
             .where(filter=FieldFilter("deleted_at", "==", None)))
    if not manager:
        query = query.where(filter=FieldFilter("active", "==", True))
    query = query.order_by("created_at").order_by("__name__")
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": [view(lot, viewer) for lot in items], "next_cursor": next_cursor}
