"""The ``concession`` line kind: a menu item with its chosen variant and options, from one stand.

Planning checks the stand is open for the event, the item is on its menu and
not sold out, the choices fit the item (``choices``), an age-restricted item
is confirmed by the buyer, and the fulfilment: pickup at the stand, or
delivery to a seat the buyer holds a valid ticket for at this event (any other
seat is refused). Lines of one stand share one fulfilment. Merchandise with
stock claims units of its pool; food and drinks claim nothing. Concession
lines take the buyer's tip when their stand takes tips.

Paying creates one stand order per stand (``records``); refunding lines marks
them refunded on it, and a stand order whose every line is refunded is
cancelled. A stand order already handed over is refunded only when the
organizer says so (``allow_checked_in``).
"""
import hashlib

from app.checkout.kinds import Line
from app.concessions import choices, menu, records, stands
from app.concessions.records import KIND, StandOrderState, stand_order_id
from app.concessions.schemas import ConcessionLineIn
from app.errors import AppError
from app.inventory import claims
from app.tickets import service as tickets

PICKUP = "pickup"
SEAT = "seat"


def _items_error(message):
    return AppError("validation_error", details={"fields": {"items": [message]}})


def _open_stand(stand_id, event, now):
    try:
        stand = stands.read_stand(stand_id)
    except AppError:
        raise _items_error(f"Unknown stand {stand_id}.") from None
    if stand["venue_id"] != event["venue_id"] or not stand["active"]:
        raise _items_error(f"Unknown stand {stand_id}.")
    if not stands.is_open_for(stand, event, now):
        raise AppError("not_on_sale", f"{stand['name']} is not taking orders for this event now.",
                       details={"stand_id": stand_id})
    return stand


def _fulfilment(stand, event, requested, buyer_uid):
    """How the buyer gets the stand's lines; a seat must be one of the buyer's valid tickets for the event."""
    if requested["method"] == PICKUP:
        return requested
    if not stand["delivers_to_seats"]:
        raise AppError("validation_error", f"{stand['name']} does not deliver to seats.",
                       details={"fields": {"fulfilment": ["Choose pickup at this stand."]}})
    if not tickets.holds_seat(event["id"], buyer_uid, requested["seat"]):
        raise AppError("validation_error", "Delivery goes only to a seat you hold a valid ticket for.",
                       details={"fields": {"fulfilment": [
                           f"You hold no valid ticket for seat {requested['seat']} at this event."]}})
    return requested


def _label(item, variant, options):
    parts = [variant["name"]] if variant else []
    parts += [o["name"] for o in options]
    return f"{item['name']} ({', '.join(parts)})" if parts else item["name"]


def concession_line(stand, item, request, fulfilment):
    """The planned line of ``request`` for ``item``, priced with its choices."""
    if item["sold_out"]:
        raise AppError("sold_out", f"{item['name']} is sold out.", details={"stand_id": stand["id"],
                                                                          "item_id": item["id"], "available": 0})
    if item["age_restricted"] and not request["age_confirmed"]:
        raise AppError("validation_error", f"{item['name']} is age-restricted.", details={"fields": {
            "age_confirmed": ["Confirm you are old enough to buy it; the stand checks your ID at pickup."]}})
    unit_price, variant, options = choices.choose(item, request.get("variant_id"), request["options"])
    return Line(kind=KIND, name=_label(item, variant, options), quantity=request["quantity"], unit_price=unit_price,
                currency=stand["currency"], catalog_id=item["id"], tax_category=item["tax_category"],
                fee_per_unit=stand["service_fee"], takes_tips=stand["takes_tips"],
                details={"stand_id": stand["id"], "stand_name": stand["name"], "venue_id": stand["venue_id"],
                         "item_id": item["id"], "item_name": item["name"], "variant_id": variant and variant["id"],
                         "variant": variant and variant["name"], "options": options,
                         "age_restricted": item["age_restricted"], "note": request.get("note"),
                         "fulfilment": fulfilment},
                work=menu.pool(item))


def issued_id(so_id, unit_key):
    return hashlib.sha256(f"{so_id}/{unit_key}".encode()).hexdigest()[:20]


def _stored(tx, so_id):
    snapshot = tx.get(records.stand_order_ref(so_id))
    return snapshot.to_dict() if snapshot.exists else None


class ConcessionKind:
    name = KIND
    line_schema = ConcessionLineIn

    def plan(self, event, requests, now, *, buyer_uid):
        menus, fulfilments, lines = {}, {}, []
        for request in requests:
            stand_id = request["stand_id"]
            if stand_id not in menus:
                stand = _open_stand(stand_id, event, now)
                menus[stand_id] = (stand, menu.live_items(stand_id))
            stand, items = menus[stand_id]
            item = items.get(request["item_id"])
            if item is None:
                raise _items_error(f"{stand['name']} has no menu item {request['item_id']}.")
            if stand_id not in fulfilments:
                fulfilments[stand_id] = _fulfilment(stand, event, request["fulfilment"], buyer_uid)
            elif fulfilments[stand_id] != request["fulfilment"]:
                raise AppError("validation_error", "Lines from one stand are fulfilled one way.", details={
                    "fields": {"fulfilment": [f"Pick up or deliver everything from {stand['name']} alike."]}})
            lines.append(concession_line(stand, item, request, fulfilments[stand_id]))
        return lines

    def pick(self, line, attempts, now, flight):
        if line.work is None:
            return {}
        picked = claims.pick(line.work, line.quantity, attempts, now, flight)
        return {doc_id: (line.work.id, unit) for doc_id, unit in picked.items()}

    def collided(self, line, claim_id, unit, attempts, now):
        claims.learn(line.work, claim_id, unit, attempts, now)

    def sell(self, tx, order, line, units, now):
        stand_id = line["details"]["stand_id"]
        so_id = stand_order_id(order["id"], stand_id)
        records.staged(tx, so_id, lambda: records.new_stand_order(tx, order, stand_id, now))
        return [{"id": issued_id(so_id, unit["key"]), "stand_order_id": so_id, "stand_id": stand_id}
                for unit in units]

    def release(self, tx, order, line, units, now):
        return None

    def void(self, tx, order, line, units, now, *, force):
        so_id = stand_order_id(order["id"], line["details"]["stand_id"])
        stand_order = records.staged(tx, so_id, lambda: _stored(tx, so_id))
        if stand_order is None:
            return
        if stand_order["state"] == StandOrderState.COMPLETED and not force:
            raise AppError("already_collected", f"{stand_order['stand_name']} already handed this order over; "
                           "refund it with allow_checked_in to do it anyway.", details={"stand_order_id": so_id})
        entry = next(e for e in stand_order["lines"] if e["line_id"] == line["id"])
        entry["refunded_quantity"] += len(units)
        entry["refunded_amount"] += sum(u["amount"] for u in units)
        entry["refunded_tip"] += sum(u["tip"] for u in units)
        stand_order["updated_at"] = now
        everything = all(e["refunded_quantity"] >= e["quantity"] for e in stand_order["lines"])
        if everything and stand_order["state"] in records.OPEN:
            stand_order.update(state=str(StandOrderState.CANCELLED), cancelled_at=now,
                               cancel_reason=stand_order["cancel_reason"] or "refunded")

    def describe(self, order, line, units):
        """Each unit with the stand and pickup code; the stand order's QR comes once, with its first unit."""
        so_id = stand_order_id(order["id"], line["details"]["stand_id"])
        stand_order = records.find_stand_order(so_id) or {}
        first = f"{stand_order['lines'][0]['line_id']}:0" if stand_order else None
        fulfilment = line["details"]["fulfilment"]
        where = f"to seat {fulfilment['seat']}" if fulfilment["method"] == SEAT else "pickup"
        code = stand_order.get("pickup_code")
        label = f"{line['name']} at {line['details']['stand_name']} ({where}{f', code {code}' if code else ''})"
        return [{"label": label, "id": unit["issued"]["id"],
                 "code": records.signed_code(so_id) if unit["key"] == first else None} for unit in units]
