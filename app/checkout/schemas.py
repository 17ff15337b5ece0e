from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from app.checkout import kinds

DEFAULT_KIND = "ticket"
MINOR_UNITS = {"description": "Minor units of the currency (cents for EUR)."}


_line_schemas = {}


def _line_schema(kind):
    """One instance of each kind's line schema: marshmallow schemas load concurrently, and building one costs
    more than loading a line."""
    schema = _line_schemas.get(kind.line_schema)
    if schema is None:
        schema = _line_schemas[kind.line_schema] = kind.line_schema()
    return schema


class LineIn(fields.Dict):
    """One requested line: ``{"kind": ..., the kind's own fields}``; a line without a kind is a ticket line."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"description": (
            "A line of some kind: {\"kind\": \"ticket\", \"ticket_type_id\", \"quantity\"} (kind may be left "
            "out for tickets), {\"kind\": \"ticket\", \"seats\": [...]}, or the fields of another kind this "
            "deployment sells (GET /checkout/kinds).")}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        name = value.get("kind", DEFAULT_KIND)
        kind = kinds.registered().get(name) if isinstance(name, str) else None
        if kind is None:
            raise ValidationError({"kind": [f"Not sold here; choose one of: {', '.join(sorted(kinds.registered()))}."]})
        return {"kind": name, **_line_schema(kind).load({k: v for k, v in value.items() if k != "kind"})}


class HoldCreate(Schema):
    items = fields.List(LineIn(), validate=validate.Length(min=1, max=20))
    seats = fields.List(fields.String(), validate=validate.Length(min=1, max=100),
                        metadata={"description": "Seats as section:row:seat: a ticket line of these seats."})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data.get("items") and not data.get("seats"):
            raise ValidationError("Send items, seats, or both.", "_schema")

    @post_load
    def _lines(self, data, **kwargs):
        lines = list(data.get("items") or [])
        if data.get("seats"):
            lines.append({"kind": DEFAULT_KIND, **_line_schema(kinds.get_kind(DEFAULT_KIND)).load(
                {"seats": data["seats"]})})
        return {"lines": lines}


class IdempotencyHeader(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", validate=validate.Regexp(
        r"^[\x21-\x7e]{1,255}$", error="Up to 255 visible ASCII characters."))


class LineOut(Schema):
    id = fields.String()
    kind = fields.String(required=True)
    name = fields.String()
    quantity = fields.Integer(required=True)
    unit_price = fields.Integer(metadata=MINOR_UNITS)
    subtotal = fields.Integer(metadata=MINOR_UNITS)
    discount = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata={"description": "Tax on this line, in minor units; included in the price "
                                                  "when tax_inclusive, else added to it."})
    tax_inclusive = fields.Boolean()
    service_fee = fields.Integer(metadata=MINOR_UNITS)
    tip = fields.Integer(metadata=MINOR_UNITS)
    total = fields.Integer(metadata=MINOR_UNITS)
    details = fields.Dict(metadata={"description": "The kind's own fields (a ticket type, seats, a parking "
                                                   "window, a menu item's options)."})
    ticket_type_id = fields.String(metadata={"description": "Ticket lines: also in details."})
    seats = fields.List(fields.String(), allow_none=True, metadata={"description": "Ticket lines: also in details."})


class HoldOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    buyer_uid = fields.String()
    state = fields.String(required=True, metadata={"description": "active, converted, released or expired"})
    expires_at = fields.DateTime(required=True)
    items = fields.List(fields.Nested(LineOut), required=True)
    subtotal = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata=MINOR_UNITS)
    service_fee = fields.Integer(metadata=MINOR_UNITS)
    total = fields.Integer(required=True, metadata=MINOR_UNITS)
    currency = fields.String(required=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class KindsOut(Schema):
    kinds = fields.List(fields.String(), required=True)
