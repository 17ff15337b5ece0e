from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.checkout.schemas import LineOut
from app.fields import UtcDateTime
from app.orders.records import OrderState
from app.pages import CreatedBetweenQuery, PageOut
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT

ID = validate.Length(min=1, max=64)
# Long enough that, with guesses limited (app/orders/discount_guesses.py), nobody finds a code by trying.
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{8,32}$", error="8 to 32 letters, digits, '-' or '_'.")
MINOR_UNITS = {"description": "Minor units of the currency (cents for EUR)."}
MAX_TIP = 10_000_000


class OrderCreate(Schema):
    hold_id = fields.String(required=True, validate=ID)
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                   metadata={"description": "manual (box office) or stripe, where configured."})
    discount_code = fields.String(validate=CODE)
    tip = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=MAX_TIP), metadata={
        "description": "The buyer's tip, in minor units; it goes with the lines that take tips (a stand's food)."})


class OrderQuery(CreatedBetweenQuery):
    scope = fields.String(validate=validate.OneOf(["own", "managed"]), metadata={
        "description": "own: what you bought; managed: the orders of events you organize (admins: all orders). "
                       "Default: managed when filtering by event_id or buyer_uid, else own."})
    event_id = fields.String(validate=ID, metadata={"description": "Orders of this event."})
    buyer_uid = fields.String(validate=validate.Length(min=1, max=128),
                              metadata={"description": "Orders of this buyer."})
    payment_status = fields.String(validate=validate.OneOf([s.value for s in OrderState]), metadata={
        "description": "The order's state as it reads (an unpaid order past its deadline is expired)."})


class OrderTicketOut(Schema):
    ticket_id = fields.String()
    ticket_type_id = fields.String()
    seat = fields.String(allow_none=True)
    price = fields.Integer(metadata={"description": "What this ticket cost, in minor units."})
    refunded = fields.Boolean()


class IssuedOut(Schema):
    id = fields.String(required=True, metadata={"description": "The ticket's (pass's, pickup's) id."})
    kind = fields.String(required=True)
    line_id = fields.String()
    price = fields.Integer(metadata={"description": "What this unit cost, in minor units."})
    refunded = fields.Boolean()


class UnitOut(Schema):
    key = fields.String(required=True, metadata={"description": "line id:index"})
    line_id = fields.String()
    kind = fields.String()
    list_price = fields.Integer(metadata=MINOR_UNITS)
    discount = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata=MINOR_UNITS)
    fee = fields.Integer(metadata=MINOR_UNITS)
    tip = fields.Integer(metadata=MINOR_UNITS)
    amount = fields.Integer(metadata={"description": "What this unit cost: the part of the total a refund of it "
                                                     "returns."})
    refunded = fields.Boolean()
    issued_id = fields.String(allow_none=True)


class PaymentOut(Schema):
    method = fields.String()
    status = fields.String(metadata={"description": "The provider's state; start_failed: start it again with "
                                                    "POST /orders/<id>/payment."})
    provider = fields.String()
    reference = fields.String(allow_none=True)
    client_secret = fields.String(metadata={"description": "Stripe: for the buyer's client to confirm the payment."})
    amount = fields.Integer()
    last_error = fields.String(allow_none=True)


class RefundOut(Schema):
    id = fields.String()
    amount = fields.Integer(metadata=MINOR_UNITS)
    ticket_ids = fields.List(fields.String())
    unit_keys = fields.List(fields.String())
    reason = fields.String()
    status = fields.String(metadata={"description": "pending (to be sent), submitted (the provider is paying it), "
                                                    "succeeded, failed (refused: an admin looks at it) or parked "
                                                    "(the provider was unreachable too often)"})
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class OrderOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    organizer_uid = fields.String(metadata={"description": "The event's organizer."})
    buyer_uid = fields.String()
    hold_id = fields.String()
    state = fields.String(required=True, metadata={
        "description": "pending_payment, paid, partially_refunded, refunded, cancelled or expired"})
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(LineOut), metadata={"description": "The order's lines, of every kind."})
    units = fields.List(fields.Nested(UnitOut))
    subtotal = fields.Integer(metadata=MINOR_UNITS)
    discount = fields.Integer(metadata=MINOR_UNITS)
    discount_code = fields.String(allow_none=True)
    tax = fields.Integer(metadata=MINOR_UNITS)
    service_fee = fields.Integer(metadata=MINOR_UNITS)
    tip = fields.Integer(metadata=MINOR_UNITS)
    total = fields.Integer(required=True, metadata={"description": "subtotal - discount + tax added on top + "
                                                                   "service_fee + tip, in minor units"})
    refunded_amount = fields.Integer(metadata=MINOR_UNITS)
    payment = fields.Nested(PaymentOut)
    payment_deadline = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    issued = fields.List(fields.Nested(IssuedOut), metadata={"description": "What payment issued, of every kind."})
    tickets = fields.List(fields.Nested(OrderTicketOut), metadata={"description": "The tickets among issued."})
    refunds = fields.List(fields.Nested(RefundOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrderPage(PageOut):
    items = fields.List(fields.Nested(OrderOut), required=True)


class RefundIn(Schema):
    ticket_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                             validate=validate.Length(min=1, max=100),
                             metadata={"description": "Refund these tickets (or other issued ids)."})
    line_ids = fields.List(fields.String(validate=validate.Length(min=1, max=16)),
                           validate=validate.Length(min=1, max=50),
                           metadata={"description": "Refund what is left of these lines."})
    whole_order = fields.Boolean(metadata={"description": "true: refund everything not refunded yet."})
    reason = fields.String(validate=validate.Length(min=1, max=200))
    allow_checked_in = fields.Boolean(load_default=False, metadata={
        "description": "Refund tickets that have already admitted someone (refused otherwise)."})

    @validates_schema
    def _one_selection(self, data, **kwargs):
        chosen = [k for k in ("ticket_ids", "line_ids") if k in data] + (["whole_order"] if data.get("whole_order")
                                                                         else [])
        if len(chosen) != 1:
            raise ValidationError("Say what to refund: ticket_ids, line_ids, or whole_order: true.", "_schema")
        for key in ("ticket_ids", "line_ids"):
            if len(data.get(key) or []) != len(set(data.get(key) or [])):
                raise ValidationError("Each appears once.", key)


class RefundRecordOut(Schema):
    id = fields.String(required=True)
    order_id = fields.String()
    event_id = fields.String()
    method = fields.String()
    amount = fields.Integer(metadata=MINOR_UNITS)
    currency = fields.String()
    reason = fields.String()
    state = fields.String(required=True)
    attempts = fields.Integer()
    due_at = fields.DateTime(allow_none=True)
    reference = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    settled_at = fields.DateTime(allow_none=True)


class RefundQuery(Schema):
    state = fields.String(validate=validate.OneOf(["pending", "submitted", "succeeded", "failed", "parked"]))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class RefundPage(Schema):
    items = fields.List(fields.Nested(RefundRecordOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class DiscountPatch(Schema):
    percent_off = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    amount_off = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000_000), metadata=MINOR_UNITS)
    max_redemptions = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    valid_from = UtcDateTime(allow_none=True)
    valid_until = UtcDateTime(allow_none=True)
    ticket_type_ids = fields.List(fields.String(validate=ID), allow_none=True, validate=validate.Length(max=50),
                                  metadata={"description": "Only these ticket types; null or absent: all."})
    kinds = fields.List(fields.String(validate=validate.Length(min=1, max=32)), allow_none=True,
                        validate=validate.Length(max=10), metadata={
                            "description": "Only lines of these kinds (ticket, parking, ...); null or absent: all."})

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
    kinds = fields.List(fields.String(), allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookOut(Schema):
    received = fields.Boolean(required=True)
    outcome = fields.String()
