"""CSV exports of an event for its organizer and admins: orders, attendees (tickets) and check-ins.

Each export is streamed: the rows of one page of Firestore documents
(``EXPORT_PAGE_SIZE``) are written and sent before the next page is read, so
an event of 50,000 orders exports in the memory of one page. Who may export is
decided before the first byte (the same as the lists: the event's organizer and
admins, deleted events included), so a refusal is still a JSON error.
"""
import csv
import io

from flask import current_app

from app.checkin import service as checkin
from app.events import service as events
from app.orders import lists as orders
from app.tickets import service as tickets
from app.users import service as users

ORDER_COLUMNS = ("order_id", "created_at", "paid_at", "state", "buyer_uid", "buyer_email", "buyer_name", "currency",
                 "subtotal", "discount", "discount_code", "tax", "service_fee", "tip", "total", "refunded_amount",
                 "payment_method", "payment_status", "lines", "units")
# What the order columns come from: not its units, the bulk of an order, which a line's quantity sums up.
ORDER_FIELDS = ("paid_at", "buyer_uid", "currency", "subtotal", "discount", "discount_code", "tax", "service_fee",
                "tip", "total", "refunded_amount", "payment", "items")
ATTENDEE_COLUMNS = ("ticket_id", "order_id", "ticket_type_id", "ticket_type_name", "seat", "price", "currency",
                    "state", "holder_uid", "holder_email", "holder_name", "used_at", "used_gate", "voided_at",
                    "void_reason")
CHECKIN_COLUMNS = ("ticket_id", "ticket_type_id", "first_at", "first_gate", "source", "by_uid", "entries",
                   "last_at", "last_gate")
# A cell starting with one of these is a formula to a spreadsheet: a buyer's name must not run as one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(columns, pages):
    """The CSV text of a header and then each page's rows, one page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    for rows in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
        yield buffer.getvalue()


def _page_size():
    return current_app.config["EXPORT_PAGE_SIZE"]


def _order_rows(pages):
    for page in pages:
        contacts = users.contact_details({order["buyer_uid"] for order in page})
        yield [{**order, "order_id": order["id"], "buyer_email": contacts[order["buyer_uid"]]["email"],
                "buyer_name": contacts[order["buyer_uid"]]["display_name"],
                "payment_method": order["payment"].get("method"), "payment_status": order["payment"].get("status"),
                "lines": "; ".join(f"{line['quantity']} x {line['name']}" for line in order["items"]),
                "units": sum(line["quantity"] for line in order["items"])} for order in page]


def _attendee_rows(pages):
    for page in pages:
        contacts = users.contact_details({ticket["holder_uid"] for ticket in page})
        yield [{**ticket, "ticket_id": ticket["id"], "holder_email": contacts[ticket["holder_uid"]]["email"],
                "holder_name": contacts[ticket["holder_uid"]]["display_name"],
                "void_reason": (ticket["voided"] or {}).get("reason")} for ticket in page]


def _checkin_rows(pages):
    for page in pages:
        yield [{**entry, "first_at": entry["at"], "first_gate": entry["gate"]} for entry in page]


def export_event(event_id, user, what):
    """(file name, CSV chunks) of an event's ``orders``, ``attendees`` or ``checkins``; refused at once when the
    user does not manage the event."""
    events.managed_event(event_id, user)
    size = _page_size()
    if what == "orders":
        chunks = _csv(ORDER_COLUMNS, _order_rows(orders.iter_event_orders(event_id, user, size=size,
                                                                          fields=ORDER_FIELDS)))
    elif what == "attendees":
        chunks = _csv(ATTENDEE_COLUMNS, _attendee_rows(tickets.iter_event_tickets(event_id, user, size=size)))
    else:
        chunks = _csv(CHECKIN_COLUMNS, _checkin_rows(checkin.iter_event_entries(event_id, size=size)))
    return f"{event_id}-{what}.csv", chunks
