"""The ``ticket`` line kind: general-admission units and seats, sold as signed tickets.

A general-admission ticket type of capacity N is a numbered pool of units
(scoped to the ticket type); a seated one is a named pool of the seats of its
sections (scoped to the event, so two ticket types never sell one seat).
Paying issues one ticket per unit; refunding voids them, and a ticket that has
already admitted someone is refunded only when the organizer says so.
"""
from app.checkout.kinds import Line
from app.errors import AppError
from app.events import ticket_types
from app.firebase import db
from app.inventory import claims
from app.tickets import service as tickets
from app.tickets.schemas import TicketLineIn
from app.venues import service as venues


def _require_on_sale(event, ticket_type, now):
    starts, ends = ticket_type.get("sales_starts_at"), ticket_type.get("sales_ends_at")
    if (starts and now < starts) or (ends and now >= ends) or now >= event["starts_at"]:
        raise AppError("not_on_sale", f"{ticket_type['name']} is not on sale now.",
                       details={"ticket_type_id": ticket_type["id"], "sales_starts_at": starts,
                                "sales_ends_at": ends})


def _require_limit(ticket_type, quantity):
    if quantity > ticket_type["per_order_limit"]:
        raise AppError("per_order_limit", f"At most {ticket_type['per_order_limit']} of {ticket_type['name']} "
                       "per order.", details={"ticket_type_id": ticket_type["id"],
                                              "limit": ticket_type["per_order_limit"]})


def _seat_label(unit):
    return f", seat {unit['unit']}" if isinstance(unit.get("unit"), str) else ""


def _items_error(message):
    return AppError("validation_error", details={"fields": {"items": [message]}})


def sellable_units(event, ticket_type):
    """The ticket type's unit keys: numbers for general admission, seat ids for seated."""
    if ticket_type["kind"] == "seated":
        return venues.list_seats(venues.get_venue(event["venue_id"]), ticket_type["sections"])
    return range(ticket_type.get("unit_count") or ticket_type["capacity"])


def pool(event, ticket_type):
    return claims.Pool(id=ticket_type["id"], scope=ticket_types.unit_scope(event["id"], ticket_type),
                       units=sellable_units(event, ticket_type), name=ticket_type["name"],
                       about={"ticket_type_id": ticket_type["id"]}, counts_retired=ticket_type["kind"] != "seated")


def ticket_line(event, ticket_type, quantity, seats):
    """The planned line of ``quantity`` units (or these ``seats``) of a ticket type."""
    return Line(kind=TicketKind.name, name=ticket_type["name"], quantity=quantity, unit_price=ticket_type["price"],
                currency=ticket_type["currency"], catalog_id=ticket_type["id"],
                tax_category=ticket_type.get("tax_category"), fee_per_unit=ticket_type.get("service_fee", 0),
                details={"ticket_type_id": ticket_type["id"], "seats": seats}, work=pool(event, ticket_type))


class TicketKind:
    name = "ticket"
    line_schema = TicketLineIn

    def plan(self, event, requests, now, *, buyer_uid):
        offered = {t["id"]: t for t in ticket_types.cached_live(event["id"])}
        general = [r for r in requests if "seats" not in r]
        if len({r["ticket_type_id"] for r in general}) != len(general):
            raise _items_error("Each ticket type appears once; add up its quantity.")
        seats = [seat for r in requests for seat in r.get("seats") or []]
        if len(set(seats)) != len(seats):
            raise AppError("validation_error", details={"fields": {"seats": ["A seat appears once."]}})
        plan = []
        for request in general:
            ticket_type = offered.get(request["ticket_type_id"])
            if ticket_type is None:
                raise AppError("validation_error", "The event has no such ticket type.",
                               details={"fields": {"items": [f"Unknown ticket type {request['ticket_type_id']}."]}})
            if ticket_type["kind"] == "seated":
                raise AppError("validation_error", "Seated tickets are held by seat.",
                               details={"fields": {"items": [f"{ticket_type['name']} is seated: send seats."]}})
            plan.append((ticket_type, request["quantity"], None))
        by_section = {s: t for t in offered.values() if t["kind"] == "seated" for s in t["sections"]}
        grouped = {}
        for seat in seats:
            ticket_type = by_section.get(seat.split(":", 1)[0])
            if ticket_type is None:
                raise AppError("validation_error", "No ticket type sells this seat.",
                               details={"fields": {"seats": [f"Unknown seat {seat}."]}})
            grouped.setdefault(ticket_type["id"], (ticket_type, []))[1].append(seat)
        for ticket_type, wanted in grouped.values():
            known = set(sellable_units(event, ticket_type))
            if unknown := sorted(set(wanted) - known):
                raise AppError("validation_error", "The seat map has no such seat.",
                               details={"fields": {"seats": [f"Unknown seat {s}." for s in unknown]}})
            plan.append((ticket_type, len(wanted), sorted(wanted)))
        for ticket_type, quantity, _ in plan:
            _require_on_sale(event, ticket_type, now)
            _require_limit(ticket_type, quantity)
        return [ticket_line(event, ticket_type, quantity, wanted) for ticket_type, quantity, wanted in plan]

    def pick(self, line, attempts, now, flight):
        pool_ = line.work
        if line.details["seats"] is not None:
            picked = claims.pick_named(pool_, line.details["seats"])
        else:
            picked = claims.pick(pool_, line.quantity, attempts, now, flight)
        return {doc_id: (pool_.id, unit) for doc_id, unit in picked.items()}

    def collided(self, line, claim_id, unit, attempts, now):
        if not claims.learn(line.work, claim_id, unit, attempts, now) and line.details["seats"] is not None:
            raise AppError("seat_taken", f"Seat {unit} is taken.", details={"seat": unit})

    def sell(self, tx, order, line, units, now):
        key = tickets.get_signing_key(order["event_id"])
        return [tickets.issue_ticket(tx, order, line, unit, key, now) for unit in units]

    def release(self, tx, order, line, units, now):
        return None

    def void(self, tx, order, line, units, now, *, force):
        ids = [unit["issued"]["id"] for unit in units if unit.get("issued")]
        snapshots = tx.get_all([tickets.ticket_ref(t) for t in ids])
        used = sorted(s.id for s in snapshots if s.exists and s.get("used_at") is not None)
        if used and not force:
            raise AppError("checked_in", "These tickets have admitted someone at the door; refund them with "
                           "allow_checked_in to do it anyway.", details={"ticket_ids": used})
        tickets.void_tickets(tx, ids, now)

    def describe(self, order, line, units):
        found = {s.id: s.to_dict() for s in db().get_all([tickets.ticket_ref(u["issued"]["id"]) for u in units])
                 if s.exists}
        return [{"label": line["name"] + _seat_label(unit), "id": unit["issued"]["id"],
                 "code": (found.get(unit["issued"]["id"]) or {}).get("code")} for unit in units]
