"""The ``parking`` line kind: a booked space for a window, or the charge of a session, in any hold.

A line is ``{"kind": "parking", "quote": <signed quote>, "plate"?}`` (a
reservation: one space of the quote's kind for its window, at its price) or
``{"kind": "parking", "charge": <signed charge>}`` (what a drive-up or an
overstay owes, see ``sessions``). Neither carries a price the client chose.

A reservation claims every (space, slot) of its window on one space
(``occupancy``): its one unit holds all of those claims, so paying makes them
sold, and a refund or an unpaid order's end gives them all back. Paying issues
a pass with a signed code; refunding voids it (a pass that has let a car in
only with ``allow_checked_in``, which an event's cancellation uses).

A session's charge claims the session's one settlement unit, so one session
is never in two live orders; paying it marks the session paid. Charges are for
time already parked, so they are also sold for an event that has completed
(``settles_after_event``): a car leaves after the match ends.
"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.checkout.kinds import Line
from app.errors import AppError
from app.events import service as events
from app.inventory import units
from app.parking import lots, occupancy, passes, quotes, sessions, windows
from app.parking.schemas import ParkingLineIn


def _iso(moment):
    return moment.astimezone(UTC).isoformat()


class ParkingKind:
    name = "parking"
    line_schema = ParkingLineIn
    settles_after_event = True

    def plan(self, event, requests, now, *, buyer_uid):
        return [self._session_line(event, r) if "charge" in r else self._booking_line(event, r, now)
                for r in requests]

    @staticmethod
    def _booking_line(event, request, now):
        if event["status"] != events.EventStatus.PUBLISHED:
            raise AppError("event_not_on_sale", f"The event is {event['status']}.", details={"status": event["status"]})
        terms = quotes.read_quote(request["quote"], now)
        if terms["event"] != event["id"]:
            raise AppError("quote_invalid", "This quote is for another event; ask for one with this event's id.",
                           details={"event_id": terms["event"]})
        lot = lots.sellable_lot(terms["lot"])
        window = windows.window(terms["from"], terms["to"], now, lot["slot_minutes"])
        span = occupancy.Span.of(lot, terms["kind"], window)
        details = {"lot_id": lot["id"], "lot_name": lot["name"], "space_kind": terms["kind"], "space": None,
                   "from": _iso(window.starts_at), "to": _iso(window.ends_at), "base": terms["base"],
                   "multiplier_bp": terms["mult"], "plate": request.get("plate"),
                   "quote_expires_at": terms["expires_at"].isoformat()}
        return Line(kind=ParkingKind.name, name=f"Parking at {lot['name']}: {terms['kind']} space", quantity=1,
                    unit_price=terms["price"], currency=terms["cur"], catalog_id=lot["id"],
                    tax_category=quotes.TAX_CATEGORY, details=details, work=span)

    @staticmethod
    def _session_line(event, request):
        terms = quotes.read_charge(request["charge"])
        try:
            session = sessions.read_session(terms["session"])
        except AppError:
            raise AppError("charge_invalid") from None
        if session["state"] != sessions.SessionState.ENDED or session["charge"] != terms["price"]:
            raise AppError("invalid_transition", f"The session is {session['state']}; there is nothing to pay.",
                           details={"from": session["state"], "to": str(sessions.SessionState.PAID)})
        if session["event_id"] != event["id"]:
            raise AppError("charge_invalid", "This charge is for another event.")
        details = {"session_id": session["id"], "lot_id": session["lot_id"], "lot_name": session["lot_name"],
                   "space_kind": session["kind"], "space": session["space"], "reason": session["reason"],
                   "from": _iso(session["started_at"]), "to": _iso(session["ended_at"]),
                   "minutes": session["minutes"], "multiplier_bp": session["multiplier_bp"],
                   "plate": session["plate"]}
        label = "overstay" if session["reason"] == sessions.Reason.OVERSTAY else "drive-up"
        return Line(kind=ParkingKind.name, name=f"Parking at {session['lot_name']}: {label}, {session['minutes']} min",
                    quantity=1, unit_price=session["charge"], currency=session["currency"],
                    catalog_id=session["lot_id"], tax_category=quotes.TAX_CATEGORY, details=details,
                    work=sessions.settlement_unit(session["id"]))

    def pick(self, line, attempts, now, flight):
        if "session_id" in line.details:
            claim_id, pool, unit = line.work
            return {claim_id: (pool, unit)}
        picked = occupancy.pick_space(line.work, attempts, now, flight)
        line.details["space"] = next(iter(picked.values()))[1]
        return picked

    def collided(self, line, claim_id, unit, attempts, now):
        if "session_id" not in line.details:
            occupancy.learn_collision(line.work, unit, attempts, now)
            return
        snapshot = units.unit_ref(claim_id).get(field_paths=["live_until"])
        if snapshot.exists and snapshot.get("live_until") <= now:
            attempts.taken_over[claim_id] = line.work[1:]
            return
        raise AppError("settlement_pending", details={"session_id": line.details["session_id"]})

    def sell(self, tx, order, line, units, now):
        if "session_id" in line["details"]:
            sessions.mark_paid(tx, line["details"]["session_id"], order, units[0], now)
            return [{"id": line["details"]["session_id"], "session_id": line["details"]["session_id"]}]
        lot = lots.read_lot(line["details"]["lot_id"])
        return [passes.issue_pass(tx, order, line, unit, lot, now) for unit in units]

    def release(self, tx, order, line, units, now):
        return None

    def void(self, tx, order, line, units, now, *, force):
        if "session_id" in line["details"]:
            sessions.mark_refunded(tx, line["details"]["session_id"], now)
            return
        passes.void_passes(tx, [u["issued"]["id"] for u in units if u.get("issued")], now, force=force)

    def describe(self, order, line, units):
        details = line["details"]
        if "session_id" in details:
            return [{"label": f"{line['name']} ({details['plate'] or 'no plate'})", "id": details["session_id"],
                     "code": None} for _ in units]
        found = passes.read_passes([u["issued"]["id"] for u in units])
        described = []
        for unit in units:
            record = found.get(unit["issued"]["id"]) or {}
            described.append({"label": f"{line['name']} {record.get('space', '')}, {_local(record, details)}",
                              "id": unit["issued"]["id"], "code": record.get("code")})
        return described


def _local(record, details):
    zone = ZoneInfo(record.get("timezone") or "UTC")
    starts = datetime.fromisoformat(details["from"]).astimezone(zone)
    ends = datetime.fromisoformat(details["to"]).astimezone(zone)
    return f"{starts:%d %b %H:%M} to {ends:%d %b %H:%M} ({zone.key})"

