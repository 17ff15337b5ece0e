from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import UtcDateTime
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT

ID = validate.Length(min=1, max=64)
# Long enough that, with guesses limited (app/orders/discount_guesses.py), nobody finds a code by trying.
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{8,32}$", error="8 to 32 letters, digits, '-' or '_'.")
MINOR_UNITS = {"description": "Minor units of the currency (cents for EUR)."}


class OrderCreate(Schema):
    hold_id = fields.String(required=True, validate=ID)
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                   metadata={"description": "manual (box office) or stripe, where configured."})
    discount_code = fields.String(validate=CODE)


class OrderQuery(Schema):
    event_id = fields.String(validate=ID, metadata={"description": "All orders of an event you organize."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class OrderItemOut(Schema):
    ticket_type_id = fields.String(required=True)
    name = fields.String()
    quantity = fields.Integer()
    seats = fields.List(fields.String(), allow_none=True)
    unit_price = fields.Integer(metadata=MINOR_UNITS)
    subtotal = fields.Integer(metadata=MINOR_UNITS)
    discount = fields.Integer(metadata=MINOR_UNITS)
    total = fields.Integer(metadata=MINOR_UNITS)


class OrderTicketOut(Schema):
    ticket_id = fields.String()
    ticket_type_id = fields.String()
    seat = fields.String(allow_none=True)
    price = fields.Integer(metadata={"description": "What this ticket cost after the discount, in minor units."})
    refunded = fields.Boolean()


class PaymentOut(Schema):
    method = fields.String()
    status = fields.String()
    provider = fields.String()
    reference = fields.String(allow_none=True)
    client_secret = fields.String(metadata={"description": "Stripe: for the buyer's client to confirm the payment."})
    amount = fields.Integer()
    last_error = fields.String(allow_none=True)


class RefundOut(Schema):
    id = fields.String()
    amount = fields.Integer(metadata=MINOR_UNITS)
    ticket_ids = fields.List(fields.String())
    reason = fields.String()
    status = fields.String(metadata={"description": "pending, succeeded or failed (at the provider)"})
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class OrderOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    buyer_uid = fields.String()
    hold_id = fields.String()
    state = fields.String(required=True, metadata={
        "description": "pending_payment, paid, partially_refunded, refunded, cancelled or expired"})
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(OrderItemOut))
    subtotal = fields.Integer(metadata=MINOR_UNITS)
    discount = fields.Integer(metadata=MINOR_UNITS)
    discount_code = fields.String(allow_none=True)
    total = fields.Integer(required=True, metadata=MINOR_UNITS)
    refunded_amount = fields.Integer(metadata=MINOR_UNITS)
    payment = fields.Nested(PaymentOut)
    payment_deadline = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    tickets = fields.List(fields.Nested(OrderTicketOut))
    refunds = fields.List(fields.Nested(RefundOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrderPage(Schema):
    items = fields.List(fields.Nested(OrderOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RefundIn(Schema):
    ticket_ids = fields.List(fields.String(validate=validate.Length(equal=32)),
                             validate=validate.Length(min=1, max=100),
                             metadata={"description": "Tickets to refund; leave out to refund all that are left."})
    reason = fields.String(validate=validate.Length(min=1, max=200))

    @validates_schema
    def _unique(self, data, **kwargs):
        ids = data.get("ticket_ids") or []
        if len(ids) != len(set(ids)):
            raise ValidationError("A ticket appears once.", "ticket_ids")


class DiscountPatch(Schema):
    percent_off = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    amount_off = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000_000), metadata=MINOR_UNITS)
    max_redemptions = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    valid_from = UtcDateTime(allow_none=True)
    valid_until = UtcDateTime(allow_none=True)
    ticket_type_ids = fields.List(fields.String(validate=ID), allow_none=True, validate=validate.Length(max=50),
                                  metadata={"description": "Only these ticket types; null or absent: all."})

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")


class DiscountIn(DiscountPatch):
    code = fields.String(required=True, validate=CODE)
    kind = fields.String(required=True, validate=validate.OneOf(["percent", "fixed"]))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        wanted, other = ("percent_off", "amount_off") if data.get("kind") == "percent" else ("amount_off",
                                                                                             "percent_off")
        if other in data:
            raise ValidationError(f"A {data.get('kind')} code has no {other}.", other)
        if wanted not in data:
            raise ValidationError(f"A {data.get('kind')} code needs {wanted}.", wanted)


class DiscountOut(Schema):
    id = fields.String()
    event_id = fields.String()
    code = fields.String(required=True)
    kind = fields.String(required=True)
    percent_off = fields.Integer(allow_none=True)
    amount_off = fields.Integer(allow_none=True, metadata=MINOR_UNITS)
    currency = fields.String(allow_none=True)
    max_redemptions = fields.Integer(allow_none=True)
    redemptions = fields.Integer()
    valid_from = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    ticket_type_ids = fields.List(fields.String(), allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TicketTypeStatsOut(Schema):
    ticket_type_id = fields.String()
    name = fields.String()
    capacity = fields.Integer()
    sold = fields.Integer()
    held = fields.Integer(metadata={"description": "In unexpired holds and unpaid orders."})
    gross = fields.Integer(metadata=MINOR_UNITS)
    refunds = fields.Integer(metadata=MINOR_UNITS)
    revenue = fields.Integer(metadata=MINOR_UNITS)


class StatsOut(Schema):
    event_id = fields.String()
    currency = fields.String(allow_none=True)
    as_of = fields.DateTime()
    orders_paid = fields.Integer()
    sold = fields.Integer()
    held = fields.Integer()
    gross = fields.Integer(metadata=MINOR_UNITS)
    refunds = fields.Integer(metadata=MINOR_UNITS)
    revenue = fields.Integer(metadata=MINOR_UNITS)
    ticket_types = fields.List(fields.Nested(TicketTypeStatsOut))


class WebhookOut(Schema):
    received = fields.Boolean(required=True)
    outcome = fields.String()
