"""Parking passes: what a paid reservation issues, one per booked space, with a signed code for its QR.

A pass records what the buyer booked and was charged (the space, the window,
the multiplier and the price), its state (``valid`` until a refund or the
event's cancellation voids it) and its visits: attendants scan it, or the
car's plate, at entry and exit (``scans``). Its id is derived from the order and
the unit, so issuing twice names the same pass.
"""
import hashlib
import io
import logging
from datetime import datetime
from enum import StrEnum

import segno
from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import AppError
from app.firebase import db
from app.pagination import fetch_page
from app.parking import codes, lots

logger = logging.getLogger(__name__)

PASSES = "parking_passes"


class PassState(StrEnum):
    VALID = "valid"
    VOIDED = "voided"


def pass_id_for(order_id, unit_key):
    return hashlib.sha256(f"parking-pass/{order_id}/{unit_key}".encode()).hexdigest()[:32]


def pass_ref(pass_id):
    return db().collection(PASSES).document(pass_id)


def issue_pass(tx, order, line, unit, lot, now):
    """Write the pass of one paid unit of a parking line inside the order's transaction; what the buyer sees."""
    details = line["details"]
    pass_id = pass_id_for(order["id"], unit["key"])
    space = unit["claims"][0]["unit"] if unit.get("claims") else unit["unit"]
    record = {
        "id": pass_id, "code": codes.sign_pass(pass_id), "lot_id": details["lot_id"], "lot_name": details["lot_name"],
        "venue_id": lot["venue_id"], "timezone": lot["timezone"], "event_id": order["event_id"],
        "order_id": order["id"], "holder_uid": order["buyer_uid"], "kind": details["space_kind"], "space": space,
        "starts_at": datetime.fromisoformat(details["from"]), "ends_at": datetime.fromisoformat(details["to"]),
        "plate": details.get("plate"), "list_price": line["unit_price"], "price": unit["amount"],
        "currency": order["currency"], "base": details["base"], "multiplier_bp": details["multiplier_bp"],
        "state": str(PassState.VALID), "entries": 0, "inside": False, "entered_at": None, "exited_at": None,
        "created_at": now, "updated_at": now, "voided_at": None,
    }
    tx.set(pass_ref(pass_id), record)
    return {"id": pass_id, "pass_id": pass_id, "lot_id": record["lot_id"], "space": space, "space_kind": record["kind"],
            "from": details["from"], "to": details["to"]}


def void_passes(tx, pass_ids, now, *, force):
    """Inside a refund's transaction: void the passes; one that let a car in is refused unless ``force``."""
    snapshots = tx.get_all([pass_ref(p) for p in pass_ids])
    used = sorted(s.id for s in snapshots if s.exists and s.get("entries"))
    if used and not force:
        raise AppError("checked_in", "These parking passes have let a car in; refund them with allow_checked_in "
                       "to do it anyway.", details={"pass_ids": used})
    for pass_id in pass_ids:
        tx.update(pass_ref(pass_id), {"state": str(PassState.VOIDED), "voided_at": now, "updated_at": now})


def read_passes(pass_ids):
    return {s.id: s.to_dict() for s in db().get_all([pass_ref(p) for p in pass_ids]) if s.exists}


def _not_found():
    return AppError("not_found", "No such parking pass.")


def get_pass(pass_id, user):
    """The holder's pass; the lot's managers and admins see it too."""
    if len(pass_id) != 32 or not pass_id.isalnum():
        raise _not_found()
    snapshot = pass_ref(pass_id).get()
    if not snapshot.exists:
        raise _not_found()
    record = snapshot.to_dict()
    if record["holder_uid"] != user.uid and not lots.can_manage(user, record):
        raise _not_found()
    return record


def list_passes(user, *, limit, cursor=None):
    """The caller's passes, newest first."""
    query = (db().collection(PASSES).where(filter=FieldFilter("holder_uid", "==", user.uid))
             .order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING))
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def pass_qr_svg(pass_id, user):
    record = get_pass(pass_id, user)
    buffer = io.BytesIO()
    segno.make(record["code"], error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def _valid(lot_id):
    return (db().collection(PASSES).where(filter=FieldFilter("lot_id", "==", lot_id))
            .where(filter=FieldFilter("state", "==", str(PassState.VALID))))


def lot_has_passes(lot_id, now):
    """Whether a valid pass of the lot has not ended yet, or its car is still inside."""
    return any(doc.get("ends_at") > now or doc.get("inside")
               for doc in _valid(lot_id).select(["ends_at", "inside"]).stream())


def passes_for_plate(lot_id, plate):
    """The lot's valid passes booked for this plate."""
    query = _valid(lot_id).where(filter=FieldFilter("plate", "==", plate))
    return [doc.to_dict() for doc in query.stream()]


def passes_ending(after, until):
    """Valid passes whose window ends in (after, until]: the drivers to remind."""
    query = (db().collection(PASSES).where(filter=FieldFilter("state", "==", str(PassState.VALID)))
             .where(filter=FieldFilter("ends_at", ">", after)).where(filter=FieldFilter("ends_at", "<=", until))
             .order_by("ends_at"))
    return [doc.to_dict() for doc in query.stream()]
