from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.pages import PageOut, PageQuery

ID = validate.Length(min=1, max=64)
SEAT = validate.Regexp(r"^[^:/\s]{1,64}:[^:/\s]{1,64}:[^:/\s]{1,64}$", error="A seat id is section:row:seat.")


class TicketLineIn(Schema):
    """A ticket line of a hold: a quantity of a general-admission ticket type, or seats."""

    ticket_type_id = fields.String(validate=ID)
    quantity = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    seats = fields.List(fields.String(validate=SEAT), validate=validate.Length(min=1, max=100))

    @validates_schema
    def _one_way(self, data, **kwargs):
        general = {"ticket_type_id", "quantity"} & data.keys()
        if data.get("seats") and general:
            raise ValidationError("Send ticket_type_id and quantity, or seats, not both.", "_schema")
        if not data.get("seats") and len(general) < 2:
            raise ValidationError("Send ticket_type_id and quantity, or seats.", "_schema")
        if len(data.get("seats") or []) != len(set(data.get("seats") or [])):
            raise ValidationError("A seat appears once.", "seats")


class TicketQuery(PageQuery):
    scope = fields.String(validate=validate.OneOf(["own", "managed"]), metadata={
        "description": "own: tickets you hold; managed: those of events you organize (admins: all tickets). "
                       "Default: managed when filtering by event_id, else own."})
    order_id = fields.String(validate=ID, metadata={"description": "Tickets of this order."})
    event_id = fields.String(validate=ID, metadata={"description": "Tickets of this event."})
    checked_in = fields.Boolean(metadata={"description": "true: tickets that have admitted someone; false: not yet."})


class UsedOut(Schema):
    at = fields.DateTime(required=True, metadata={"description": "When the ticket first admitted someone."})
    gate = fields.String(allow_none=True)


class VoidedOut(Schema):
    at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={
        "description": "The refund's reason: event_cancelled, organizer (no reason given), or the one given."})
    refund_id = fields.String(allow_none=True)


class TicketOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    order_id = fields.String()
    holder_uid = fields.String()
    ticket_type_id = fields.String()
    ticket_type_name = fields.String(allow_none=True)
    seat = fields.String(allow_none=True)
    price = fields.Integer(metadata={"description": "Minor units, after the discount."})
    currency = fields.String()
    code = fields.String(required=True, metadata={"description": "Signed code shown as the QR code."})
    state = fields.String(required=True, metadata={"description": "valid or voided"})
    created_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    used_at = fields.DateTime(allow_none=True, metadata={"description": "When the ticket first admitted someone."})
    used_gate = fields.String(allow_none=True)
    checked_in = fields.Boolean()
    used = fields.Nested(UsedOut, allow_none=True, metadata={"description": "The first admission; null: unused."})
    voided = fields.Nested(VoidedOut, allow_none=True, metadata={"description": "Why it is void; null: valid."})


class TicketPage(PageOut):
    items = fields.List(fields.Nested(TicketOut), required=True)


class SeatStateOut(Schema):
    id = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "available, held, sold or unavailable"})


class TicketTypeAvailabilityOut(Schema):
    ticket_type_id = fields.String(required=True)
    name = fields.String()
    kind = fields.String()
    capacity = fields.Integer()
    remaining = fields.Integer(required=True)
    seats = fields.List(fields.Nested(SeatStateOut))


class AvailabilityOut(Schema):
    event_id = fields.String(required=True)
    event_status = fields.String(metadata={"description": "published, cancelled or completed: nothing is on sale "
                                                          "unless published"})
    as_of = fields.DateTime(required=True)
    ticket_types = fields.List(fields.Nested(TicketTypeAvailabilityOut), required=True)
