from marshmallow import Schema, ValidationError, fields, validate, validates_schema

ID = validate.Length(min=1, max=64)
SEAT = validate.Regexp(r"^[^:/\s]{1,64}:[^:/\s]{1,64}:[^:/\s]{1,64}$", error="A seat id is section:row:seat.")


class HoldItemIn(Schema):
    ticket_type_id = fields.String(required=True, validate=ID)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))


class HoldCreate(Schema):
    items = fields.List(fields.Nested(HoldItemIn), validate=validate.Length(min=1, max=20))
    seats = fields.List(fields.String(validate=SEAT), validate=validate.Length(min=1, max=100))

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if bool(data.get("items")) == bool(data.get("seats")):
            raise ValidationError("Send either items (general admission) or seats.", "_schema")
        ids = [item["ticket_type_id"] for item in data.get("items") or []]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each ticket type appears once; add up its quantity.", "items")
        if len(data.get("seats") or []) != len(set(data.get("seats") or [])):
            raise ValidationError("A seat appears once.", "seats")


class IdempotencyHeader(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", validate=validate.Regexp(
        r"^[\x21-\x7e]{1,255}$", error="Up to 255 visible ASCII characters."))


class HoldItemOut(Schema):
    ticket_type_id = fields.String(required=True)
    name = fields.String()
    quantity = fields.Integer(required=True)
    seats = fields.List(fields.String(), allow_none=True)
    unit_price = fields.Integer(metadata={"description": "Minor units of the currency."})
    subtotal = fields.Integer()


class HoldOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    buyer_uid = fields.String()
    state = fields.String(required=True, metadata={"description": "active, converted, released or expired"})
    expires_at = fields.DateTime(required=True)
    items = fields.List(fields.Nested(HoldItemOut), required=True)
    total = fields.Integer(required=True, metadata={"description": "Minor units of the currency."})
    currency = fields.String(required=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


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
