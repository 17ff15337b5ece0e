"""What a message says: its e-mail (plain text, HTML, inline QR images), its push and its SMS, per kind.

Content is built when the message is delivered, not when it is queued, from
the records as they are then: a reminder for an event cancelled since, or for
a holder whose tickets were all refunded since, is skipped instead of sent.
"""
import io
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.checkout import kinds
from app.concessions import records as stand_orders
from app.errors import AppError
from app.events import service as events
from app.firebase import UserNotFoundError, get_firebase
from app.money import format_money
from app.notifications.service import Kind
from app.orders import records as orders
from app.parking import passes
from app.tickets import service as tickets
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

_templates = Environment(loader=PackageLoader("app.notifications", "templates"),
                         autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)



class Skip(Exception):
    """The message no longer applies (event cancelled, tickets refunded); nothing is sent."""


@dataclass
class Recipient:
    uid: str
    email: str | None
    name: str | None
    # Firebase Auth holds only verified numbers (app/users/phones.py).
    phone: str | None = None


@dataclass
class Content:
    subject: str
    text: str
    html: str
    push_title: str
    push_body: str
    sms: str
    push_data: dict = field(default_factory=dict)
    # (content id, PNG bytes, file name) shown inline by the HTML part.
    images: list = field(default_factory=list)


def local_start(event):
    """The start as the audience reads it: wall-clock time in the event's own time zone."""
    zone = ZoneInfo(event["timezone"])
    moment = event["starts_at"].astimezone(zone)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} ({event['timezone']})"


def recipient(uid):
    """Name and address from Firebase Auth, the source of truth for them; an erased user has neither."""
    try:
        account = get_firebase().get_user(uid)
    except UserNotFoundError:
        return Recipient(uid, None, None)
    return Recipient(uid, account.email, account.display_name, account.phone_number)


def qr_png(code):
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=4, border=4)
    return buffer.getvalue()


def _event(event_id):
    # Read past the event cache: in the scheduler process it would not see a cancellation made by the API.
    try:
        snapshot = events.event_ref(event_id).get()
    except AppError:
        raise Skip("event gone") from None
    if not snapshot.exists:
        raise Skip("event gone")
    return snapshot.to_dict()


def _render(kind, **context):
    return (_templates.get_template(f"{kind}.txt").render(**context),
            _templates.get_template(f"{kind}.html").render(**context))


def _order(order_id):
    snapshot = orders.order_ref(order_id).get()
    if not snapshot.exists:
        raise Skip("order gone")
    return snapshot.to_dict()


def _rows(order):
    """What the buyer got, one row per issued unit (a ticket, a pass, with its code) or per line that issues
    nothing (a scarf to collect); refunded units are left out."""
    rows = []
    for line in order["items"]:
        units = [u for u in order["units"] if u["line_id"] == line["id"] and not u["refunded"]]
        issued = [u for u in units if u.get("issued")]
        if issued:
            described = kinds.get_kind(line["kind"]).describe(order, line, issued)
            rows += [{**item, "amount": unit["amount"]} for unit, item in zip(issued, described)]
        elif units:
            rows.append({"label": f"{len(units)} × {line['name']}", "code": None, "id": None,
                         "amount": sum(u["amount"] for u in units)})
    return [{**row, "number": number, "price": format_money(row["amount"], order["currency"]),
             "cid": f"qr-{row['id']}@boxoffice" if row["code"] else None} for number, row in enumerate(rows, 1)]


def _order_confirmation(message, person):
    order = _order(message["data"]["order_id"])
    event = _event(order["event_id"])
    rows = _rows(order)
    if not rows:
        raise Skip("everything on the order was refunded")
    text, html = _render(Kind.ORDER_CONFIRMATION, person=person, event=event, starts=local_start(event),
                         order=order, total=format_money(order["total"], order["currency"]), rows=rows)
    return Content(
        subject=f"Your order for {event['title']}", text=text, html=html,
        push_title="Your order is confirmed",
        push_body=f"{len(rows)} item{'s' if len(rows) != 1 else ''} for {event['title']}",
        sms=f"Your order for {event['title']} ({local_start(event)}) is in your e-mail and the app.",
        push_data={"kind": str(Kind.ORDER_CONFIRMATION), "order_id": order["id"], "event_id": event["id"]},
        images=[(r["cid"], qr_png(r["code"]), f"code-{r['number']}.png") for r in rows if r["code"]])


def _reminder(message, person):
    data = message["data"]
    event = _event(data["event_id"])
    if event["status"] != events.EventStatus.PUBLISHED or event["starts_at"] <= utcnow():
        raise Skip(f"event is {event['status']}")
    count = len(tickets.valid_ticket_ids(event["id"], person.uid))
    if not count:
        raise Skip("no valid tickets")
    starts = local_start(event)
    text, html = _render(Kind.REMINDER, person=person, event=event, starts=starts, count=count)
    return Content(subject=f"Reminder: {event['title']} starts {starts}", text=text, html=html,
                   push_title=f"{event['title']} is coming up", push_body=f"Starts {starts} at {event['venue_name']}",
                   sms=f"Reminder: {event['title']} starts {starts} at {event['venue_name']}.",
                   push_data={"kind": str(Kind.REMINDER), "event_id": event["id"],
                              "offset_minutes": str(data["offset_minutes"])})


def _event_cancelled(message, person):
    event = _event(message["data"]["event_id"])
    starts = local_start(event)
    text, html = _render(Kind.EVENT_CANCELLED, person=person, event=event, starts=starts)
    return Content(subject=f"Cancelled: {event['title']}", text=text, html=html,
                   push_title=f"{event['title']} is cancelled", push_body=f"It was to start {starts}.",
                   sms=f"{event['title']} ({starts}) is cancelled. Your e-mail says what happens next.",
                   push_data={"kind": str(Kind.EVENT_CANCELLED), "event_id": event["id"]})


def _refund(message, person):
    order = _order(message["data"]["order_id"])
    refund = next((r for r in order["refunds"] if r["id"] == message["data"]["refund_id"]), None)
    if refund is None:
        raise Skip("refund gone")
    event = _event(order["event_id"])
    amount = format_money(refund["amount"], order["currency"])
    count = len(refund.get("unit_keys") or [])
    text, html = _render(Kind.REFUND, person=person, event=event, order=order, amount=amount, count=count)
    return Content(subject=f"Refund of {amount} for {event['title']}", text=text, html=html,
                   push_title="Refund on its way", push_body=f"{amount} for {event['title']}",
                   sms=f"A refund of {amount} for {event['title']} is on its way.",
                   push_data={"kind": str(Kind.REFUND), "order_id": order["id"], "refund_id": refund["id"]})


def _order_ready(message, person):
    stand_order = stand_orders.find_stand_order(message["data"]["stand_order_id"])
    if stand_order is None or stand_order["state"] != stand_orders.StandOrderState.READY:
        raise Skip("the stand order is no longer waiting to be collected")
    event = _event(stand_order["event_id"])
    seat = stand_order["fulfilment"]["seat"]
    where = f"on its way to seat {seat}" if seat else f"ready to collect at {stand_order['stand_name']}"
    text, html = _render(Kind.ORDER_READY, person=person, event=event, stand_order=stand_order, where=where)
    return Content(subject=f"Your order from {stand_order['stand_name']} is ready", text=text, html=html,
                   push_title="Your order is ready",
                   push_body=f"It is {where}. Your code: {stand_order['pickup_code']}.",
                   sms=f"Your order is {where}. Code {stand_order['pickup_code']}.",
                   push_data={"kind": str(Kind.ORDER_READY), "order_id": stand_order["order_id"],
                              "stand_order_id": stand_order["id"]})


def _parking_ending(message, person):
    """By push and SMS (see ``reminders.send_parking_reminders``); the e-mail parts are never sent."""
    record = passes.read_passes([message["data"]["pass_id"]]).get(message["data"]["pass_id"])
    if record is None or record["state"] != passes.PassState.VALID:
        raise Skip("the pass is void")
    if not record["inside"] or record["ends_at"] <= utcnow():
        raise Skip("the car has left, or the booking has ended")
    until = record["ends_at"].astimezone(ZoneInfo(record["timezone"]))
    body = f"Space {record['space']} at {record['lot_name']} is yours until {until:%H:%M}; staying longer costs extra."
    return Content(subject=f"Your parking ends at {until:%H:%M}", text=body, html=body,
                   push_title="Your parking ends soon", push_body=body, sms=body,
                   push_data={"kind": str(Kind.PARKING_ENDING), "pass_id": record["id"], "lot_id": record["lot_id"],
                              "ends_at": record["ends_at"].isoformat()})


_COMPOSERS = {Kind.ORDER_CONFIRMATION: _order_confirmation, Kind.REMINDER: _reminder,
              Kind.EVENT_CANCELLED: _event_cancelled, Kind.REFUND: _refund, Kind.ORDER_READY: _order_ready,
              Kind.PARKING_ENDING: _parking_ending}


def compose(message, person):
    """The message's content for ``person``; raises Skip when it no longer applies."""
    return _COMPOSERS[Kind(message["kind"])](message, person)
