from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from app.money import CURRENCIES
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.tickets.schemas import SEAT
from app.venues.schemas import TAX_CATEGORY

ID = validate.Length(min=1, max=64)
CHOICE_ID = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,31}$", error="Use 1-32 lower-case letters, digits, '-' or '_'.")
MAX_PRICE = 10_000_000
MINOR_UNITS = {"description": "Minor units of the stand's currency (cents for EUR)."}
STAND_KINDS = ("food", "bar", "merchandise")
STATES = ("received", "preparing", "ready", "completed", "cancelled")


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("Values must not repeat.")


def _currency(value):
    if value not in CURRENCIES:
        raise ValidationError("Use an ISO 4217 currency code such as EUR.")


def _some(data):
    if not data:
        raise ValidationError("Send at least one field to change.", "_schema")


class StandPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String(validate=validate.OneOf(STAND_KINDS))
    description = fields.String(validate=validate.Length(max=1000))
    location = fields.String(validate=validate.Length(max=200), metadata={"description": "Where it is: 'Level 1'."})
    event_ids = fields.List(fields.String(validate=ID), validate=[validate.Length(max=200), _unique], metadata={
        "description": "Events at the venue the stand takes orders for."})
    delivers_to_seats = fields.Boolean(metadata={"description": "Whether buyers may have orders brought to "
                                                                "their seat."})
    service_fee = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE), metadata={
        "description": "Fee per unit ordered, in minor units, added to the price (untaxed)."})
    takes_tips = fields.Boolean(metadata={"description": "Whether the buyer's tip goes to this stand's lines."})
    active = fields.Boolean(metadata={"description": "Inactive stands are hidden and take no orders."})

    @validates_schema
    def _check(self, data, **kwargs):
        _some(data)


class StandIn(StandPatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(STAND_KINDS))
    currency = fields.String(required=True, validate=_currency,
                             metadata={"description": "ISO 4217; every item of the stand is priced in it."})


class StandOut(Schema):
    id = fields.String(required=True)
    venue_id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String()
    description = fields.String()
    location = fields.String()
    currency = fields.String()
    event_ids = fields.List(fields.String())
    closed_event_ids = fields.List(fields.String(), metadata={"description": "Events that ended for the stand."})
    delivers_to_seats = fields.Boolean()
    service_fee = fields.Integer(metadata=MINOR_UNITS)
    takes_tips = fields.Boolean()
    active = fields.Boolean()
    staff = fields.List(fields.String(), metadata={"description": "Staff uids; shown to the owner and admins only."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PageQuery(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class StandPage(Schema):
    items = fields.List(fields.Nested(StandOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class StandStaffIn(Schema):
    uid = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StandStaffOut(Schema):
    stand_id = fields.String(required=True)
    staff = fields.List(fields.String(), required=True)


class VariantSchema(Schema):
    id = fields.String(required=True, validate=CHOICE_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    price_delta = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=-MAX_PRICE, max=MAX_PRICE),
                                 metadata=MINOR_UNITS)


class OptionSchema(VariantSchema):
    pass


class OptionGroupSchema(Schema):
    id = fields.String(required=True, validate=CHOICE_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    required = fields.Boolean(load_default=False, metadata={"description": "Whether the buyer must choose."})
    min_choices = fields.Integer(strict=True, validate=validate.Range(min=0, max=20),
                                 metadata={"description": "Default 1 when required, else 0."})
    max_choices = fields.Integer(strict=True, validate=validate.Range(min=1, max=20),
                                 metadata={"description": "Default: min_choices, at least 1."})
    options = fields.List(fields.Nested(OptionSchema), required=True, validate=validate.Length(min=1, max=20))


class ItemPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    description = fields.String(validate=validate.Length(max=1000))
    price = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE), metadata=MINOR_UNITS)
    tax_category = fields.String(allow_none=True, validate=TAX_CATEGORY, metadata={
        "description": "Which of the venue's tax rates applies (food, drinks, merchandise); default 'concession'."})
    image_url = fields.Url(allow_none=True, schemes={"https"}, validate=validate.Length(max=2000))
    variants = fields.List(fields.Nested(VariantSchema), validate=validate.Length(max=20), metadata={
        "description": "Sizes or versions; when there are any, the buyer chooses exactly one."})
    option_groups = fields.List(fields.Nested(OptionGroupSchema), validate=validate.Length(max=10))
    stock = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10_000), metadata={
        "description": "Merchandise: units for sale in all, never oversold; null (food, drinks): no stock."})
    sold_out = fields.Boolean(metadata={"description": "Takes the item off sale (food and drinks run out)."})
    age_restricted = fields.Boolean(metadata={"description": "The buyer confirms their age; staff check at pickup."})

    @validates_schema
    def _check(self, data, **kwargs):
        _some(data)


class ItemIn(ItemPatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    price = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_PRICE),
                           metadata=MINOR_UNITS)


class OptionGroupOut(OptionGroupSchema):
    min_choices = fields.Integer()
    max_choices = fields.Integer()


class ItemOut(Schema):
    id = fields.String(required=True)
    stand_id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String()
    price = fields.Integer(required=True, metadata=MINOR_UNITS)
    currency = fields.String()
    tax_category = fields.String(allow_none=True)
    image_url = fields.String(allow_none=True)
    variants = fields.List(fields.Nested(VariantSchema))
    option_groups = fields.List(fields.Nested(OptionGroupOut))
    stock = fields.Integer(allow_none=True)
    sold_out = fields.Boolean()
    age_restricted = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MenuItemOut(ItemOut):
    remaining = fields.Integer(allow_none=True, metadata={"description": "Stock left now; null without stock."})
    available = fields.Boolean(required=True)


class MenuQuery(Schema):
    event_id = fields.String(required=True, validate=ID)


class MenuOut(Schema):
    stand = fields.Nested(StandOut, required=True)
    event_id = fields.String(required=True)
    open = fields.Boolean(required=True, metadata={"description": "Whether the stand takes orders for the event now."})
    as_of = fields.DateTime(required=True)
    items = fields.List(fields.Nested(MenuItemOut), required=True)


class FulfilmentSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(("pickup", "seat")))
    seat = fields.String(allow_none=True, validate=SEAT, metadata={
        "description": "For delivery: a seat (section:row:seat) you hold a valid ticket for at this event."})

    @validates_schema
    def _seat(self, data, **kwargs):
        if data.get("method") == "seat" and not data.get("seat"):
            raise ValidationError("Delivery needs the seat.", "seat")
        if data.get("method") == "pickup" and data.get("seat"):
            raise ValidationError("Pickup has no seat.", "seat")

    @post_load
    def _normal(self, data, **kwargs):
        return {"method": data["method"], "seat": data.get("seat")}


class ConcessionLineIn(Schema):
    """A concession line of a hold: one menu item of a stand, with its choices and how it reaches the buyer."""

    stand_id = fields.String(required=True, validate=ID)
    item_id = fields.String(required=True, validate=ID)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=20))
    variant_id = fields.String(validate=CHOICE_ID)
    options = fields.List(fields.String(validate=CHOICE_ID), load_default=list,
                          validate=[validate.Length(max=20), _unique])
    fulfilment = fields.Nested(FulfilmentSchema, load_default=lambda: {"method": "pickup", "seat": None})
    age_confirmed = fields.Boolean(load_default=False)
    note = fields.String(validate=validate.Length(max=140), metadata={"description": "For the stand: 'no ice'."})


class StandOrderLineOut(Schema):
    line_id = fields.String(required=True)
    item_id = fields.String()
    item_name = fields.String()
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    variant = fields.String(allow_none=True)
    options = fields.List(fields.String())
    note = fields.String(allow_none=True)
    age_restricted = fields.Boolean()
    amount = fields.Integer(metadata={"description": "What the line cost, tax, fees and tip included."})
    tip = fields.Integer(metadata=MINOR_UNITS)
    refunded_quantity = fields.Integer()
    refunded_amount = fields.Integer(metadata=MINOR_UNITS)
    refunded_tip = fields.Integer(metadata=MINOR_UNITS)


class FulfilmentOut(Schema):
    method = fields.String(required=True)
    seat = fields.String(allow_none=True)


class StandOrderOut(Schema):
    id = fields.String(required=True)
    order_id = fields.String(required=True)
    event_id = fields.String(required=True)
    buyer_uid = fields.String()
    stand_id = fields.String(required=True)
    stand_name = fields.String()
    venue_id = fields.String()
    currency = fields.String()
    fulfilment = fields.Nested(FulfilmentOut, required=True)
    lines = fields.List(fields.Nested(StandOrderLineOut), required=True)
    age_restricted = fields.Boolean(metadata={"description": "Staff check the buyer's age when handing over."})
    total = fields.Integer(metadata=MINOR_UNITS)
    state = fields.String(required=True, metadata={"description": "received, preparing, ready, completed or "
                                                                  "cancelled"})
    pickup_code = fields.String(metadata={"description": "The buyer's: what they say or show at the stand."})
    qr_code = fields.String(metadata={"description": "The buyer's: the signed code their QR shows."})
    received_at = fields.DateTime()
    preparing_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    redeemed_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StandOrderPage(Schema):
    items = fields.List(fields.Nested(StandOrderOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class QueueQuery(PageQuery):
    event_id = fields.String(required=True, validate=ID)
    state = fields.String(validate=validate.OneOf(STATES))


class StateIn(Schema):
    state = fields.String(required=True, validate=validate.OneOf(STATES), metadata={
        "description": "The next state: preparing (accepted), ready, or cancelled (refunded); completed comes "
                       "only from redeeming the pickup code."})
    reason = fields.String(validate=validate.Length(min=1, max=200))


class PickupIn(Schema):
    code = fields.String(validate=validate.Length(min=1, max=20), metadata={"description": "The short pickup code."})
    qr = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "Or the scanned QR code."})
    age_checked = fields.Boolean(load_default=False, metadata={
        "description": "Required for age-restricted orders: the staff member checked the buyer's ID."})

    @validates_schema
    def _one(self, data, **kwargs):
        if ("code" in data) == ("qr" in data):
            raise ValidationError("Send the pickup code or the QR code.", "_schema")


class StatsQuery(Schema):
    event_id = fields.String(required=True, validate=ID)


class TopItemOut(Schema):
    item_id = fields.String(required=True)
    name = fields.String()
    quantity = fields.Integer(required=True)
    revenue = fields.Integer(metadata=MINOR_UNITS)


class StandStatsOut(Schema):
    stand_id = fields.String(required=True)
    event_id = fields.String(required=True)
    currency = fields.String()
    orders = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "By state."})
    revenue = fields.Integer(required=True, metadata={"description": "Paid and not refunded: tax, fees and tips "
                                                                     "included, in minor units."})
    tips = fields.Integer(metadata=MINOR_UNITS)
    items_sold = fields.Integer(required=True)
    top_items = fields.List(fields.Nested(TopItemOut), required=True)
    median_ready_seconds = fields.Float(allow_none=True, required=True, metadata={
        "description": "Median time from received to ready, over the orders that got ready."})
    as_of = fields.DateTime(required=True)
