"""Parking sessions: drive-up stays started by an attendant, and overstays past a booking, paid at exit.

A **drive-up** session is started by an attendant with the car's plate
(normalised), the kind of space and the event it parks for. It locks the
multiplier of that moment (occupancy and event demand, as a quote would) and
claims one space, like a booking, from now until the lot closes (at most
``PARKING_SESSION_HOURS``): a drive-up car holds its space against bookings
until it leaves, and at exit the claims are deleted, so the space is free at
once. The charge follows the actual time, in whole slots, at the hourly rate
and the locked multiplier (``quotes.drive_up_charge``).

An **overstay** session is made at the exit scan of a pass whose window ended
more than the lot's grace period ago, for the time past the end at the
booking's multiplier times the lot's overstay multiplier.

Either is then paid **through the checkout**, as everything sold here is: the
attendant asks to settle it (``settle_session``), which places a hold with one
``parking`` line carrying the session's signed charge, turns it into an order
and, at the box office (``manual``), records the payment at once; by card
(``stripe``) the order's client secret goes to the attendant's terminal and
Stripe's webhook pays it. The line claims the session's one settlement unit, so
a session is never in two live orders, and paying it marks the session paid.
The order's buyer is the session itself (``parking-session:<id>``): a driver
who drives up has no account, and an attendant must not fill their own hold
cap with strangers' exits. A session that costs nothing is closed at exit.
"""
import logging
import re
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter, Query

from app.checkout import holds
from app.errors import AppError, field_error
from app.firebase import db
from app.inventory import claims, units
from app.inventory.units import HINT
from app.orders import records as orders
from app.orders import service as ordering
from app.orders import settlement
from app.pagination import fetch_page
from app.parking import lots, occupancy, quotes, windows
from app.parking.signals import lot_changed
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

SESSIONS = "parking_sessions"
MAX_ATTEMPTS = 12
PLATE = re.compile(r"^[0-9A-Z\u00C0-\u00DE]{2,12}$")
SETTLEMENT_POOL = "parking-session"


class SessionState(StrEnum):
    OPEN = "open"
    ENDED = "ended"  # left, with a charge to pay
    PAID = "paid"
    CLOSED = "closed"  # left, nothing to pay
    REFUNDED = "refunded"


class Reason(StrEnum):
    DRIVE_UP = "drive_up"
    OVERSTAY = "overstay"


class _Taken(Exception):
    pass


def normalize_plate(value):
    """Plates compare without spaces, dashes and dots, in upper case: ``b-ab 123`` is ``BAB123``."""
    plate = re.sub(r"[\s\-.·]", "", value or "").upper()
    if not PLATE.fullmatch(plate):
        raise ValueError("A plate is 2-12 letters and digits (spaces, dashes and dots are ignored).")
    return plate


def session_ref(session_id):
    return db().collection(SESSIONS).document(session_id)


def buyer_of(session_id):
    """The buyer of record of a session's order."""
    return f"{SETTLEMENT_POOL}:{session_id}"


def settlement_unit(session_id):
    """(claim id, pool id, unit) of the one unit a session's settlement claims."""
    pool = f"{SETTLEMENT_POOL}:{session_id}"
    return claims.Pool(id=pool, scope=pool, units=[0], name="parking session").unit_id(0), pool, 0


def _not_found():
    return AppError("not_found", "No such parking session.")


def read_session(session_id):
    snapshot = session_ref(session_id).get() if session_id.isalnum() and len(session_id) <= 64 else None
    if snapshot is None or not snapshot.exists:
        raise _not_found()
    return snapshot.to_dict()


def view(session):
    shown = {k: v for k, v in session.items() if k != "claim_ids"}
    shown["charge_token"] = quotes.sign_charge(session) if session["state"] == SessionState.ENDED else None
    return shown


def attended_session(session_id, user):
    """The session, for its lot's attendants; 404 for everyone else, so its id cannot be probed."""
    session = read_session(session_id)
    try:
        lots.attended_lot(session["lot_id"], user)
    except AppError:
        raise _not_found() from None
    return session


def get_session(session_id, user):
    return view(attended_session(session_id, user))


def list_sessions(lot_id, user, *, state=None, limit, cursor=None):
    """The lot's sessions, newest first; ``state=open`` is who is parked now, ``flagged`` those left past
    closing."""
    lots.attended_lot(lot_id, user)
    query = db().collection(SESSIONS).where(filter=FieldFilter("lot_id", "==", lot_id))
    if state == "flagged":
        query = query.where(filter=FieldFilter("flagged", "==", True))
    elif state:
        query = query.where(filter=FieldFilter("state", "==", state))
    query = query.order_by("started_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    items, next_cursor = fetch_page(query, {"started_at": datetime}, limit=limit, cursor=cursor)
    return {"items": [view(s) for s in items], "next_cursor": next_cursor}


def _open(lot_id):
    return (db().collection(SESSIONS).where(filter=FieldFilter("lot_id", "==", lot_id))
            .where(filter=FieldFilter("state", "==", str(SessionState.OPEN))))


def lot_has_open_sessions(lot_id):
    return any(True for _ in _open(lot_id).limit(1).select([]).stream())


def open_session_for_plate(lot_id, plate):
    docs = list(_open(lot_id).where(filter=FieldFilter("plate", "==", plate)).limit(1).stream())
    return docs[0].to_dict() if docs else None


def _occupy(session, chosen, now):
    """Claim every slot of ``chosen`` for the session and create it, in one transaction; _Taken when a live
    claim has one of them."""
    refs = [units.unit_ref(doc_id) for doc_id in chosen]

    @firestore.transactional
    def occupy(transaction):
        for snapshot in transaction.get_all(refs):
            if snapshot.exists and snapshot.get("live_until") > now:
                raise _Taken(snapshot.id)
        for ref in refs:
            pool, space = chosen[ref.id]
            transaction.set(ref, claims.claimed({"id": session["id"], "buyer_uid": None}, pool, space,
                                                session["planned_end"], now))
        transaction.create(session_ref(session["id"]), session)

    occupy(db().transaction())


def start_session(lot_id, user, *, plate, kind, event_id):
    """An attendant lets a car in without a booking: it gets a space until it leaves (or the lot closes)."""
    lot = lots.attended_lot(lot_id, user)
    if not lot["active"]:
        raise AppError("lot_inactive", details={"lot_id": lot_id})
    if kind not in lots.kinds_of(lot):
        raise field_error("kind", f"The lot has no {kind} spaces.")
    event = quotes.booking_event(lot, event_id)
    if open_session_for_plate(lot_id, plate) is not None:
        raise AppError("already_parked", details={"plate": plate})
    now = utcnow()
    _, closes_at = windows.opening_period(lot, now)
    planned_end = now + timedelta(hours=current_app.config["PARKING_SESSION_HOURS"])
    planned_end = min(planned_end, closes_at) if closes_at is not None else planned_end
    window = windows.Window(now, planned_end)
    terms = quotes.price_window(lot, kind, window, event, now)
    span = occupancy.Span.of(lot, kind, window)
    session = {
        "id": db().collection(SESSIONS).document().id, "lot_id": lot_id, "lot_name": lot["name"],
        "venue_id": lot["venue_id"], "timezone": lot["timezone"], "event_id": event_id, "plate": plate,
        "kind": kind, "space": None, "reason": str(Reason.DRIVE_UP), "pass_id": None,
        "state": str(SessionState.OPEN), "started_at": now, "planned_end": planned_end, "ended_at": None,
        "minutes": None, "rate": lot["pricing"]["hourly"][kind], "multiplier_bp": terms["multiplier_bp"],
        "occupancy_percent": terms["occupancy_percent"], "charge": None, "currency": lot["pricing"]["currency"],
        "claim_ids": [], "started_by": user.uid, "ended_by": None, "order_id": None, "paid_at": None,
        "amount_paid": None, "flagged": False, "flagged_at": None, "created_at": now, "updated_at": now,
    }
    attempts = claims.Attempts()
    for _ in range(MAX_ATTEMPTS):
        with HINT.trying() as flight:
            chosen = occupancy.pick_space(span, attempts, now, flight)
            space = next(iter(chosen.values()))[1]
            session.update(space=space, claim_ids=list(chosen))
            try:
                _occupy(session, chosen, now)
            except _Taken:
                occupancy.learn_collision(span, space, attempts, now)
                continue
            except gexc.AlreadyExists:
                raise AppError("conflict") from None
        claims.remember(chosen.values(), planned_end)
        logger.info("parking session started session=%s lot=%s space=%s", session["id"], lot_id, space)
        lot_changed.send(lot_id)
        return view(session)
    raise AppError("busy", "Too many cars at once for these spaces; try again.")


def end_in(tx, session, lot, now, by_uid):
    """Inside the caller's staged transaction: end an open drive-up session now and free its space. Reads
    first; returns the session as ended."""
    snapshots = tx.get_all([units.unit_ref(d) for d in session["claim_ids"]])
    claims.release_hold(tx, snapshots, session["id"], now)
    minutes = max(0.0, (now - session["started_at"]) / timedelta(minutes=1))
    charge = quotes.drive_up_charge(lot, session["kind"], minutes, session["multiplier_bp"])
    updates = {"state": str(SessionState.ENDED if charge else SessionState.CLOSED), "ended_at": now,
               "minutes": round(minutes), "charge": charge, "ended_by": by_uid, "updated_at": now}
    tx.update(session_ref(session["id"]), updates)
    return {**session, **updates}


def forget_space(session, lot):
    """After a commit that ended a drive-up session: this process stops steering buyers away from its space."""
    span = occupancy.Span.of(lot, session["kind"], windows.Window(session["started_at"], session["planned_end"]))
    claims.forget([{"pool": pool, "unit": space} for pool, space in span.claims(session["space"]).values()])


def overstay_in(tx, booked, lot, now, by_uid):
    """Inside the caller's transaction: the session of a pass's time past its end, or None within the grace
    period."""
    minutes = max(0.0, (now - booked["ends_at"]) / timedelta(minutes=1))
    charge, applied = quotes.overstay_charge(lot, booked["kind"], minutes, booked["multiplier_bp"])
    if not charge:
        return None
    session = {
        "id": db().collection(SESSIONS).document().id, "lot_id": lot["id"], "lot_name": lot["name"],
        "venue_id": lot["venue_id"], "timezone": lot["timezone"], "event_id": booked["event_id"],
        "plate": booked.get("plate"), "kind": booked["kind"], "space": booked["space"],
        "reason": str(Reason.OVERSTAY), "pass_id": booked["id"], "state": str(SessionState.ENDED),
        "started_at": booked["ends_at"], "planned_end": booked["ends_at"], "ended_at": now, "minutes": round(minutes),
        "rate": lot["pricing"]["hourly"][booked["kind"]], "multiplier_bp": applied, "occupancy_percent": None,
        "charge": charge, "currency": booked["currency"], "claim_ids": [], "started_by": by_uid, "ended_by": by_uid,
        "order_id": None, "paid_at": None, "amount_paid": None, "flagged": False, "flagged_at": None,
        "created_at": now, "updated_at": now,
    }
    tx.create(session_ref(session["id"]), session)
    return session


def end_session(session_id, user):
    """The car leaves: the space is free at once and the charge is fixed."""
    session = attended_session(session_id, user)
    lot = lots.read_lot(session["lot_id"])

    def end(tx):
        current = tx.get(session_ref(session_id)).to_dict()
        if current["state"] != SessionState.OPEN:
            raise AppError("invalid_transition", f"The session is {current['state']}.",
                           details={"from": current["state"], "to": str(SessionState.ENDED)})
        return end_in(tx, current, lot, utcnow(), user.uid)

    ended = run_staged(end)
    forget_space(ended, lot)
    logger.info("parking session ended session=%s charge=%s", session_id, ended["charge"])
    lot_changed.send(ended["lot_id"])
    return view(ended)


def settle_session(session_id, user, *, payment_method):
    """Pay a session's charge through the checkout: a hold of its parking line and an order, paid now at the
    box office (``manual``), or by card through the payment provider. Returns ``{session, order}``."""
    session = attended_session(session_id, user)
    if session["state"] != SessionState.ENDED:
        raise AppError("invalid_transition", f"The session is {session['state']}; only an ended session with a "
                       "charge is paid.", details={"from": session["state"], "to": str(SessionState.PAID)})
    buyer = buyer_of(session_id)
    pending = _pending_order(session)
    if pending is None:
        hold = holds.place_hold(session["event_id"], buyer,
                                lines=[{"kind": "parking", "charge": quotes.sign_charge(session)}])
        pending = ordering.create_order(buyer, hold_id=hold["id"], payment_method=payment_method)
        session_ref(session_id).update({"order_id": pending["id"], "updated_at": utcnow()})
    if pending["payment"]["method"] == "manual" and pending["state"] == orders.OrderState.PENDING_PAYMENT:
        pending = settlement.settle_order(pending["id"], provider="manual", amount=pending["total"],
                                          currency=pending["currency"], actor_uid=user.uid,
                                          refuse_if_unavailable=True)["order"]
    return {"session": view(read_session(session_id)), "order": orders.view(pending)}


def _pending_order(session):
    """The session's order awaiting payment, when it has one that has not lapsed."""
    if not session.get("order_id"):
        return None
    snapshot = orders.order_ref(session["order_id"]).get()
    order = snapshot.to_dict() if snapshot.exists else None
    if order is None or order["state"] != orders.OrderState.PENDING_PAYMENT or orders.is_lapsed(order, utcnow()):
        return None
    return order


def mark_paid(tx, session_id, order, unit, now):
    """Inside the order's transaction: the session's charge is paid."""
    tx.update(session_ref(session_id), {"state": str(SessionState.PAID), "order_id": order["id"], "paid_at": now,
                                        "amount_paid": unit["amount"], "updated_at": now})


def mark_refunded(tx, session_id, now):
    tx.update(session_ref(session_id), {"state": str(SessionState.REFUNDED), "updated_at": now})


def flag_overdue_sessions():
    """Scheduler job: flag drive-up sessions still open after their space's time ran out (the lot closed, or
    PARKING_SESSION_HOURS passed): attendants list them with ``state=flagged``. Returns how many it flagged.
    Safe to run twice or concurrently: each update is conditional on the session being unchanged."""
    now = utcnow()
    query = (db().collection(SESSIONS).where(filter=FieldFilter("state", "==", str(SessionState.OPEN)))
             .where(filter=FieldFilter("planned_end", "<=", now)))
    flagged = 0
    for snapshot in query.stream():
        if snapshot.get("flagged"):
            continue
        try:
            snapshot.reference.update({"flagged": True, "flagged_at": now, "updated_at": now},
                                      option=db().write_option(last_update_time=snapshot.update_time))
        except gexc.FailedPrecondition:
            continue
        flagged += 1
        logger.warning("parking session open past closing session=%s lot=%s plate=%s", snapshot.id,
                       snapshot.get("lot_id"), snapshot.get("plate"))
    return flagged
