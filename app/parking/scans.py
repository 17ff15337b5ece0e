"""Entry and exit at a lot: attendants scan a pass's code, or read the car's plate.

Every scan gets one stable result and is recorded once per nonce
(``parking_scans``, named after the lot and the scanner's nonce), in the same
transaction that reads and changes the pass or session, so two gates scanning
one pass at once are serialised on the pass and a repeated nonce gets the
first result back.

Entry: a pass enters once per booking (``already_used`` afterwards) unless the
lot allows in-and-out, and never while its car is inside; not earlier than
``PARKING_ENTRY_EARLY_MINUTES`` before its window nor after it. A plate is
matched to the lot's valid pass for it whose window is on now. A car without a
booking is ``no_booking``: the attendant may start a drive-up session.

Exit: a pass's car leaves; past the window's end by more than the lot's grace
period, an overstay session is made and the result is ``pay`` with its charge.
A plate with an open drive-up session ends it: ``pay`` when it costs
something, ``ok`` when not. Results are answers, not errors (200).
"""
import hashlib
import logging
from datetime import timedelta
from enum import StrEnum

from flask import current_app

from app.errors import AppError
from app.firebase import db
from app.parking import codes, lots, passes, sessions
from app.parking.passes import PassState
from app.parking.signals import lot_changed
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

SCANS = "parking_scans"


class ScanResult(StrEnum):
    OK = "ok"
    PAY = "pay"
    ALREADY_USED = "already_used"
    ALREADY_INSIDE = "already_inside"
    NOT_INSIDE = "not_inside"
    NO_BOOKING = "no_booking"
    VOID = "void"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_LOT = "wrong_lot"
    NOT_VALID_YET = "not_valid_yet"
    WINDOW_OVER = "window_over"


MESSAGES = {
    ScanResult.OK: "Open the barrier.",
    ScanResult.PAY: "Open the barrier once the charge is paid.",
    ScanResult.ALREADY_USED: "This pass has already been used to enter.",
    ScanResult.ALREADY_INSIDE: "This car is already inside.",
    ScanResult.NOT_INSIDE: "This car has not entered.",
    ScanResult.NO_BOOKING: "No booking for this car now; start a drive-up session.",
    ScanResult.VOID: "This pass is void.",
    ScanResult.INVALID_SIGNATURE: "This is not a genuine parking pass.",
    ScanResult.WRONG_LOT: "This pass is for another lot.",
    ScanResult.NOT_VALID_YET: "This pass's window has not begun.",
    ScanResult.WINDOW_OVER: "This pass's window is over.",
}


def _scan_ref(lot_id, nonce):
    return db().collection(SCANS).document(hashlib.sha256(f"{lot_id}\n{nonce}".encode()).hexdigest()[:32])


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _by_plate(lot_id, plate, direction, now):
    """(pass id or None, session or None) a plate stands for at this lot."""
    session = sessions.open_session_for_plate(lot_id, plate)
    if session is not None:
        return None, session
    candidates = passes.passes_for_plate(lot_id, plate)
    inside = [p for p in candidates if p["inside"]]
    if direction == "exit" or inside:
        return (inside[0]["id"] if inside else None), None
    early = timedelta(minutes=current_app.config["PARKING_ENTRY_EARLY_MINUTES"])
    current = sorted((p for p in candidates if p["starts_at"] - early <= now < p["ends_at"]),
                     key=lambda p: p["starts_at"])
    return (current[0]["id"] if current else None), None


def _enter(tx, lot, booked, now, outcome):
    early = timedelta(minutes=current_app.config["PARKING_ENTRY_EARLY_MINUTES"])
    if booked["state"] != PassState.VALID:
        return ScanResult.VOID
    if now < booked["starts_at"] - early:
        outcome["opens_at"] = booked["starts_at"] - early
        return ScanResult.NOT_VALID_YET
    if now >= booked["ends_at"]:
        return ScanResult.WINDOW_OVER
    if booked["inside"]:
        return ScanResult.ALREADY_INSIDE
    if booked["entries"] and not lot["in_and_out"]:
        outcome["first_entry_at"] = booked["entered_at"]
        return ScanResult.ALREADY_USED
    tx.update(passes.pass_ref(booked["id"]), {"entries": booked["entries"] + 1, "inside": True,
                                             "entered_at": booked["entered_at"] or now, "last_entry_at": now,
                                             "updated_at": now})
    return ScanResult.OK


def _leave(tx, lot, booked, now, by_uid, outcome):
    if not booked["inside"]:
        return ScanResult.NOT_INSIDE
    tx.update(passes.pass_ref(booked["id"]), {"inside": False, "exited_at": now, "updated_at": now})
    # A refunded booking's car still gets out, without an overstay charge for a booking it no longer has.
    overstay = sessions.overstay_in(tx, booked, lot, now, by_uid) if booked["state"] == PassState.VALID else None
    if overstay is None:
        return ScanResult.OK
    outcome["session"] = overstay
    return ScanResult.PAY


def _judge(tx, lot, direction, pass_id, session, now, by_uid, outcome):
    """The result of a scan of a genuine pass, or of a plate that stands for a pass or a session."""
    if session is not None:
        current = tx.get(sessions.session_ref(session["id"])).to_dict()
        if current["state"] != sessions.SessionState.OPEN:
            return ScanResult.NOT_INSIDE if direction == "exit" else ScanResult.NO_BOOKING
        if direction == "entry":
            outcome["session"] = current
            return ScanResult.ALREADY_INSIDE
        ended = sessions.end_in(tx, current, lot, now, by_uid)
        outcome["session"], outcome["ended_session"] = ended, True
        return ScanResult.PAY if ended["charge"] else ScanResult.OK
    if pass_id is None:
        return ScanResult.NOT_INSIDE if direction == "exit" else ScanResult.NO_BOOKING
    snapshot = tx.get(passes.pass_ref(pass_id))
    if not snapshot.exists:
        return ScanResult.VOID
    booked = snapshot.to_dict()
    outcome["pass"] = booked
    if booked["lot_id"] != lot["id"]:
        return ScanResult.WRONG_LOT
    if direction == "entry":
        return _enter(tx, lot, booked, now, outcome)
    return _leave(tx, lot, booked, now, by_uid, outcome)


def _pass_brief(booked):
    return booked and {k: booked.get(k) for k in ("id", "kind", "space", "starts_at", "ends_at", "plate", "state",
                                                  "entries", "event_id")}


def scan(lot_id, user, *, direction, nonce, gate="main", code=None, plate=None):
    """Judge one entry or exit scan and record it once per nonce; a repeated nonce gets its first result."""
    lot = lots.attended_lot(lot_id, user)
    now = utcnow()
    pass_id, session, verdict = None, None, None
    if code is not None:
        try:
            pass_id = codes.verify_pass(code)
        except codes.InvalidCode:
            verdict = ScanResult.INVALID_SIGNATURE
    else:
        pass_id, session = _by_plate(lot_id, plate, direction, now)
    ref = _scan_ref(lot_id, nonce)
    read = _digest(code if code is not None else f"plate:{plate}")

    def record(tx):
        stored = tx.get(ref)
        if stored.exists:
            return stored.to_dict(), True
        outcome = {}
        result = verdict or _judge(tx, lot, direction, pass_id, session, now, user.uid, outcome)
        charged = outcome.get("session")
        entry = {"lot_id": lot_id, "nonce": nonce, "direction": direction, "gate": gate, "read_digest": read,
                 "plate": plate, "by_uid": user.uid, "scanned_at": now, "result": str(result),
                 "message": MESSAGES[result], "pass": _pass_brief(outcome.get("pass")),
                 "session_id": charged and charged["id"], "opens_at": outcome.get("opens_at"),
                 "first_entry_at": outcome.get("first_entry_at")}
        tx.create(ref, entry)
        return {**entry, "changed": result in (ScanResult.OK, ScanResult.PAY),
                "ended_session": outcome.get("ended_session", False) and charged}, False

    entry, replayed = run_staged(record)
    if entry["read_digest"] != read:
        raise AppError("nonce_reused", details={"nonce": nonce})
    if not replayed:
        logger.info("parking scan lot=%s direction=%s result=%s pass=%s session=%s", lot_id, direction,
                    entry["result"], pass_id, entry["session_id"])
        if entry.get("ended_session"):
            sessions.forget_space(entry["ended_session"], lot)
        if entry.get("changed"):
            lot_changed.send(lot_id)
    shown = {k: v for k, v in entry.items() if k not in {"read_digest", "changed", "ended_session"}}
    session_now = sessions.read_session(entry["session_id"]) if entry["session_id"] else None
    return {**shown, "session": session_now and sessions.view(session_now), "replayed": replayed}
