from marshmallow import Schema, fields, validate

from app.pagination import DEFAULT_LIMIT, MAX_LIMIT


class TicketQuery(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


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


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
