"""Venues: places with an address, a capacity, an optional seat map, an owner, staff and admitted organizers.

A venue belongs to its owner: events at it are created by the owner, by organizers the owner admits, and by
admins. An event at a venue fixes its seat map and keeps it from being deleted, and the venue's staff run its
door, so a stranger's event there would take all three from the owner.
"""
import logging
import re

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import FieldFilter

from app import readcache
from app.audit import service as audit
from app.auth import Role
from app.errors import AppError, field_error
from app.firebase import UserNotFoundError, db, get_firebase
from app.pagination import fetch_page
from app.textfold import fold
from app.timeutil import utcnow
from app.venues.signals import venue_details_changed, venue_in_use

logger = logging.getLogger(__name__)

VENUES = "venues"
MAX_STAFF = 200
MAX_ORGANIZERS = 200
DOCUMENT_ID = re.compile(r"(?!__.*__\Z)[A-Za-z0-9_-]{1,64}")
# Changing these on a venue changes what its events show and how they are found.
EVENT_FIELDS = ("name", "city", "country")


def seat_count(seat_map):
    return sum(len(row["seats"]) for section in seat_map["sections"] for row in section["rows"])


def _not_found():
    return AppError("not_found", "No such venue.")


def _audited(values):
    """A venue's values for its audit entries: a seat map is summarised, since a stadium's would not fit."""
    values = {k: v for k, v in values.items() if k not in ("updated_at", "name_key", "city_key")}
    if values.get("seat_map"):
        values["seat_map"] = {"sections": [s["id"] for s in values["seat_map"]["sections"]],
                              "seats": seat_count(values["seat_map"])}
    return values


def _ref(venue_id):
    # Firestore rejects some ids ("..", "__x__"); a URL should answer 404, not 500.
    if not DOCUMENT_ID.fullmatch(venue_id):
        raise _not_found()
    return db().collection(VENUES).document(venue_id)


def _family(venue_id):
    return f"venue:{venue_id}"


def _load(venue_id):
    def read():
        snapshot = _ref(venue_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    venue = readcache.cached(_family(venue_id), "record", read)
    if venue is None or venue.get("deleted_at"):
        raise _not_found()
    return venue


def can_manage_venue(user, venue):
    return user is not None and (
        user.role == Role.ADMIN or (user.role == Role.ORGANIZER and venue["owner_uid"] == user.uid))


def is_venue_staff(venue_id, uid):
    """Whether uid is assigned to the venue; check-in and orders scope staff with this."""
    try:
        venue = _load(venue_id)
    except AppError:
        return False
    return uid in venue["staff_uids"]


def can_host_events(user, venue_id):
    """Whether the user may create events at the venue: its owner, an organizer it admits, or an admin."""
    try:
        venue = _load(venue_id)
    except AppError:
        return False
    return can_manage_venue(user, venue) or (
        user is not None and user.role == Role.ORGANIZER and user.uid in venue.get("organizer_uids", []))


def list_seats(venue, section_ids):
    """Seat ids ("section:row:seat") of the given sections, in seat-map order."""
    wanted = set(section_ids)
    return [f"{section['id']}:{row['label']}:{seat}"
            for section in (venue.get("seat_map") or {}).get("sections", []) if section["id"] in wanted
            for row in section["rows"] for seat in row["seats"]]


def _view(venue, viewer):
    view = {k: v for k, v in venue.items() if k not in {"staff_uids", "organizer_uids"}}
    if can_manage_venue(viewer, venue):
        view["staff"] = venue["staff_uids"]
        view["organizers"] = venue.get("organizer_uids", [])
    return view


def get_venue(venue_id, *, viewer=None):
    """A live venue; its staff list only for those who manage it. 404 when missing or deleted."""
    return _view(_load(venue_id), viewer)


def list_venues(*, viewer=None, city=None, limit, cursor=None):
    query = db().collection(VENUES).where(filter=FieldFilter("deleted_at", "==", None))
    if city:
        query = query.where(filter=FieldFilter("city_key", "==", fold(city)))
    query = query.order_by("name_key").order_by("__name__")
    items, next_cursor = fetch_page(query, {"name_key": str}, limit=limit, cursor=cursor)
    return {"items": [_view(v, viewer) for v in items], "next_cursor": next_cursor}


def create_venue(user, *, name, address, city, country, capacity, geo=None, seat_map=None, tax_rates=None,
                 venue_id=None):
    if seat_map and seat_count(seat_map) > capacity:
        raise field_error("capacity", "The capacity is smaller than the seat map's number of seats.")
    ref = _ref(venue_id) if venue_id else db().collection(VENUES).document()
    now = utcnow()
    venue = {"id": ref.id, "name": name, "name_key": fold(name), "address": address, "city": city,
             "city_key": fold(city), "country": country, "geo": geo, "capacity": capacity, "seat_map": seat_map,
             "tax_rates": tax_rates or {}, "owner_uid": user.uid, "staff_uids": [], "organizer_uids": [],
             "created_at": now, "updated_at": now, "deleted_at": None}
    batch = db().batch()
    batch.create(ref, venue)
    audit.record("venue.created", actor_uid=user.uid, target=f"venue/{ref.id}", after=_audited(venue),
                 transaction=batch, now=now)
    try:
        batch.commit()
    except gexc.AlreadyExists:
        raise AppError("already_exists", "A venue with this id exists.") from None
    logger.info("venue created venue=%s owner=%s", ref.id, user.uid)
    return _view(venue, user)


def _transact(ref, user, change, *, audit_action):
    """Run change(venue) -> updates on a fresh read of a venue the user manages, in one transaction with its
    audit entry."""
    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        venue = snapshot.to_dict() if snapshot.exists else None
        if venue is None or venue.get("deleted_at"):
            raise _not_found()
        if not can_manage_venue(user, venue):
            raise AppError("forbidden", "Only the venue's owner or an admin may change it.")
        updates = {**change(venue), "updated_at": utcnow()}
        transaction.update(ref, updates)
        before, after = audit.changed(_audited(venue), _audited(updates))
        audit.record(audit_action, actor_uid=user.uid, target=f"venue/{ref.id}", before=before, after=after,
                     transaction=transaction, now=updates["updated_at"])
        return venue, {**venue, **updates}

    before, after = apply(db().transaction())
    readcache.invalidate(_family(ref.id))
    return before, after


def _require_unused(venue_id, message):
    if any(in_use for _, in_use in venue_in_use.send(venue_id)):
        raise AppError("venue_in_use", message)


def update_venue(venue_id, user, **changes):
    def change(venue):
        if "seat_map" in changes:
            _require_unused(venue_id, "The seat map cannot change while draft or published events use the venue.")
        seat_map = changes.get("seat_map", venue.get("seat_map"))
        capacity = changes.get("capacity", venue["capacity"])
        if seat_map and seat_count(seat_map) > capacity:
            raise field_error("capacity", "The capacity is smaller than the seat map's number of seats.")
        updates = dict(changes)
        if "name" in changes:
            updates["name_key"] = fold(changes["name"])
        if "city" in changes:
            updates["city_key"] = fold(changes["city"])
        return updates

    before, after = _transact(_ref(venue_id), user, change, audit_action="venue.updated")
    if any(before.get(f) != after.get(f) for f in EVENT_FIELDS):
        venue_details_changed.send(after, before=before)
    logger.info("venue updated venue=%s fields=%s", venue_id, sorted(changes))
    return _view(after, user)


def delete_venue(venue_id, user):
    def change(venue):
        _require_unused(venue_id, "Cancel, complete or delete the venue's draft and published events first.")
        return {"deleted_at": utcnow()}

    _transact(_ref(venue_id), user, change, audit_action="venue.deleted")
    logger.info("venue deleted venue=%s", venue_id)


def _require_role(uid, role, message):
    try:
        account = get_firebase().get_user(uid)
    except (UserNotFoundError, ValueError):
        raise field_error("uid", "No user has this uid.") from None
    if (account.custom_claims or {}).get("role") != role:
        raise field_error("uid", message)


def _add_member(venue_id, user, uid, *, field, role, limit, too_many, audit_action):
    """Add uid, who must hold ``role``, to the venue's ``field`` list; the list as it is now."""
    def change(venue):
        _require_role(uid, role, f"Only users with the {role} role can be added here.")
        members = venue.get(field, [])
        if uid not in members and len(members) >= limit:
            raise AppError(too_many, f"A venue has at most {limit} of these.")
        return {field: sorted({*members, uid})}

    _, after = _transact(_ref(venue_id), user, change, audit_action=audit_action)
    return after[field]


def _remove_member(venue_id, user, uid, *, field, audit_action):
    _transact(_ref(venue_id), user,
              lambda venue: {field: [member for member in venue.get(field, []) if member != uid]},
              audit_action=audit_action)


def add_venue_staff(venue_id, user, staff_uid):
    staff = _add_member(venue_id, user, staff_uid, field="staff_uids", role=Role.STAFF, limit=MAX_STAFF,
                        too_many="too_many_staff", audit_action="venue.staff_added")
    logger.info("venue staff added venue=%s uid=%s", venue_id, staff_uid)
    return {"venue_id": venue_id, "staff": staff}


def remove_venue_staff(venue_id, user, staff_uid):
    _remove_member(venue_id, user, staff_uid, field="staff_uids", audit_action="venue.staff_removed")
    logger.info("venue staff removed venue=%s uid=%s", venue_id, staff_uid)


def admit_organizer(venue_id, user, organizer_uid):
    """Let another organizer create events at the venue (owner, admin); admitting twice changes nothing."""
    organizers = _add_member(venue_id, user, organizer_uid, field="organizer_uids", role=Role.ORGANIZER,
                             limit=MAX_ORGANIZERS, too_many="too_many_organizers",
                             audit_action="venue.organizer_admitted")
    logger.info("venue organizer admitted venue=%s uid=%s", venue_id, organizer_uid)
    return {"venue_id": venue_id, "organizers": organizers}


def dismiss_organizer(venue_id, user, organizer_uid):
    """Stop an organizer from creating events at the venue; their events there stay."""
    _remove_member(venue_id, user, organizer_uid, field="organizer_uids", audit_action="venue.organizer_dismissed")
    logger.info("venue organizer dismissed venue=%s uid=%s", venue_id, organizer_uid)
