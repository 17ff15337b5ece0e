"""Lots, quotes, parking lines of holds, passes and a lot's stats; attendants' schemas are in session_schemas."""
import functools
import zoneinfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import UtcDateTime
from app.money import CURRENCIES
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.parking.lots import MAX_SPACES, SPACE_KINDS
from app.parking.sessions import normalize_plate
from app.venues.schemas import GeoSchema

ID = validate.Length(min=1, max=64)
SPACE_ID = validate.Regexp(r"^[A-Za-z0-9_]{1,12}$", error="Use 1-12 letters, digits or '_'.")
CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="A local time as HH:MM.")
KIND = validate.OneOf(SPACE_KINDS)
MAX_PRICE = 100_000_000
MULTIPLIER = validate.Range(min=1000, max=100_000)
BP = {"description": "Basis points: 10000 is ×1, 12500 is ×1.25."}
MINOR_UNITS = {"description": "Minor units of the lot's currency (cents for EUR)."}
TOKEN = validate.Length(min=1, max=2048)


@functools.cache
def _time_zones():
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value):
    if value not in _time_zones():
        raise ValidationError("Unknown time zone; use an IANA name such as Europe/Berlin.")


def _currency(value):
    if value not in CURRENCIES:
        raise ValidationError("Use an ISO 4217 currency code such as EUR.")


class Plate(fields.String):
    """A licence plate, normalised: upper case, without spaces, dashes or dots."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(min=1, max=32), metadata={
            "description": "The car's plate; spaces, dashes and dots are ignored, letters compared in upper case."},
            **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_plate(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class ZoneSchema(Schema):
    id = fields.String(required=True, validate=SPACE_ID, metadata={"description": "Its spaces are <id>-1 to "
                                                                                  "<id>-<count>."})
    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=KIND)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_SPACES))


class SpaceSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,16}$",
                                                               error="Use 1-16 letters, digits, '-' or '_'."))
    kind = fields.String(required=True, validate=KIND)


class OpeningHoursSchema(Schema):
    opens = fields.String(required=True, validate=CLOCK)
    closes = fields.String(required=True, validate=CLOCK, metadata={
        "description": "At or before opens: the next day's (06:00 to 01:00 closes after midnight)."})

    @validates_schema
    def _check(self, data, **kwargs):
        if data.get("opens") == data.get("closes"):
            raise ValidationError("A lot open round the clock has no opening_hours (null).", "closes")


class BandSchema(Schema):
    from_percent = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    multiplier_bp = fields.Integer(required=True, strict=True, validate=MULTIPLIER, metadata=BP)


def _rates(description, **kwargs):
    return fields.Dict(keys=fields.String(validate=KIND),
                       values=fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE)),
                       metadata={"description": description}, **kwargs)


class PricingSchema(Schema):
    currency = fields.String(required=True, validate=_currency)
    hourly = _rates("Per hour, by kind of space, in minor units; every kind the lot has needs one.", required=True)
    event_flat = _rates("Flat per event, by kind of space: a booking for an event inside its window pays this.")
    daily_cap = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=MAX_PRICE),
                               metadata={"description": "At most this per 24 hours of a stay, before multipliers."})
    occupancy_bands = fields.List(fields.Nested(BandSchema), validate=validate.Length(max=10))
    event_window_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=24 * 60), metadata={
        "description": "An event at the venue counts for demand from this long before it starts to after it ends."})
    event_multiplier_bp = fields.Integer(strict=True, validate=MULTIPLIER, metadata=BP)
    floor_bp = fields.Integer(strict=True, validate=MULTIPLIER, metadata=BP)
    ceiling_bp = fields.Integer(strict=True, validate=MULTIPLIER, metadata=BP)
    overstay_grace_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=240))
    overstay_multiplier_bp = fields.Integer(strict=True, validate=validate.Range(min=10_000, max=100_000),
                                            metadata=BP)

    @validates_schema
    def _check(self, data, **kwargs):
        bands = [band["from_percent"] for band in data.get("occupancy_bands") or []]
        if len(set(bands)) != len(bands):
            raise ValidationError("Each band starts at its own from_percent.", "occupancy_bands")
        if data.get("floor_bp", 10_000) > data.get("ceiling_bp", 30_000):
            raise ValidationError("The floor is above the ceiling.", "floor_bp")


class LotPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    geo = fields.Nested(GeoSchema, allow_none=True, metadata={"description": "GPS: lat -90..90, lng -180..180."})
    timezone = fields.String(validate=_time_zone, metadata={"description": "IANA time zone of the opening hours."})
    zones = fields.List(fields.Nested(ZoneSchema), validate=validate.Length(max=100))
    spaces = fields.List(fields.Nested(SpaceSchema), validate=validate.Length(max=MAX_SPACES))
    opening_hours = fields.Nested(OpeningHoursSchema, allow_none=True, metadata={
        "description": "Local opening hours every day; null: open round the clock."})
    in_and_out = fields.Boolean(metadata={"description": "Whether a pass may leave and enter again in its window."})
    active = fields.Boolean()
    pricing = fields.Nested(PricingSchema)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")


class LotIn(LotPatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    timezone = fields.String(required=True, validate=_time_zone)
    pricing = fields.Nested(PricingSchema, required=True)
    slot_minutes = fields.Integer(load_default=15, strict=True, validate=validate.OneOf([15, 30, 60]), metadata={
        "description": "Spaces are booked in slots of this length; fixed once the lot exists."})


class KindCountOut(Schema):
    kind = fields.String(required=True)
    spaces = fields.Integer(required=True)
    occupied = fields.Integer(required=True)
    available = fields.Integer(required=True)


class LotAvailabilityOut(Schema):
    lot_id = fields.String(required=True)
    name = fields.String()
    active = fields.Boolean()
    as_of = fields.DateTime(required=True)
    from_ = fields.DateTime(data_key="from", attribute="from")
    to = fields.DateTime()
    kinds = fields.List(fields.Nested(KindCountOut), required=True)


class LotOut(Schema):
    id = fields.String(required=True)
    venue_id = fields.String(required=True)
    name = fields.String(required=True)
    geo = fields.Nested(GeoSchema, allow_none=True)
    timezone = fields.String()
    zones = fields.List(fields.Nested(ZoneSchema))
    spaces = fields.List(fields.Nested(SpaceSchema))
    slot_minutes = fields.Integer()
    opening_hours = fields.Nested(OpeningHoursSchema, allow_none=True)
    in_and_out = fields.Boolean()
    active = fields.Boolean()
    pricing = fields.Nested(PricingSchema)
    space_kinds = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Spaces per kind."})
    spaces_total = fields.Integer()
    availability = fields.Nested(LotAvailabilityOut, metadata={"description": "Free spaces per kind now."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PageQuery(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class LotPage(Schema):
    items = fields.List(fields.Nested(LotOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class WindowQuery(Schema):
    starts_at = UtcDateTime(data_key="from", metadata={"description": "Start of the window (ISO 8601)."})
    ends_at = UtcDateTime(data_key="to", metadata={"description": "End of the window (ISO 8601)."})

    @validates_schema
    def _both(self, data, **kwargs):
        if ("starts_at" in data) != ("ends_at" in data):
            raise ValidationError("Send from and to together.", "to" if "starts_at" in data else "from")


class QuoteQuery(WindowQuery):
    starts_at = UtcDateTime(data_key="from", required=True)
    ends_at = UtcDateTime(data_key="to", required=True)
    kind = fields.String(load_default="standard", validate=KIND)
    event_id = fields.String(validate=ID, metadata={
        "description": "The event the car parks for: its demand counts, and a booking needs a quote with it."})


class BreakdownOut(Schema):
    mode = fields.String(metadata={"description": "hourly or event_flat"})
    rate = fields.Integer(metadata=MINOR_UNITS)
    billed_minutes = fields.Integer()
    daily_cap = fields.Integer(allow_none=True)
    base = fields.Integer(metadata=MINOR_UNITS)
    occupancy_percent = fields.Integer()
    occupancy_multiplier_bp = fields.Integer(metadata=BP)
    event_multiplier_bp = fields.Integer(metadata=BP)
    floor_bp = fields.Integer()
    ceiling_bp = fields.Integer()
    multiplier_bp = fields.Integer(metadata=BP)
    price = fields.Integer(metadata=MINOR_UNITS)


class QuoteOut(Schema):
    quote = fields.String(required=True, metadata={"description": "Signed; put it in a parking line of a hold "
                                                                  "before expires_at."})
    lot_id = fields.String(required=True)
    kind = fields.String(required=True)
    from_ = fields.DateTime(data_key="from", attribute="from", required=True)
    to = fields.DateTime(required=True)
    event_id = fields.String(allow_none=True)
    currency = fields.String(required=True)
    price = fields.Integer(required=True, metadata={"description": "The line's price, in minor units."})
    tax = fields.Integer(metadata=MINOR_UNITS)
    tax_inclusive = fields.Boolean()
    total = fields.Integer(metadata={"description": "What the line costs with tax, before any discount code."})
    expires_at = fields.DateTime(required=True)
    breakdown = fields.Nested(BreakdownOut)


class ParkingLineIn(Schema):
    """A parking line of a hold: a quote to book, or a session's charge to pay."""

    quote = fields.String(validate=TOKEN, metadata={"description": "From GET /parking-lots/<id>/quote."})
    charge = fields.String(validate=TOKEN, metadata={"description": "A session's charge_token."})
    plate = Plate()

    @validates_schema
    def _one(self, data, **kwargs):
        if ("quote" in data) == ("charge" in data):
            raise ValidationError("Send a quote or a charge.", "_schema")
        if "charge" in data and "plate" in data:
            raise ValidationError("A charge already names its car.", "plate")


class PassOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "Signed code shown as the QR code."})
    lot_id = fields.String(required=True)
    lot_name = fields.String()
    event_id = fields.String()
    order_id = fields.String()
    holder_uid = fields.String()
    kind = fields.String()
    space = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    plate = fields.String(allow_none=True)
    list_price = fields.Integer(metadata={"description": "The quoted price, in minor units."})
    price = fields.Integer(metadata={"description": "What the pass cost (tax on top, discount), in minor units."})
    currency = fields.String()
    base = fields.Integer(metadata=MINOR_UNITS)
    multiplier_bp = fields.Integer(metadata=BP)
    state = fields.String(required=True, metadata={"description": "valid or voided"})
    entries = fields.Integer()
    inside = fields.Boolean()
    entered_at = fields.DateTime(allow_none=True)
    exited_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)


class PassPage(Schema):
    items = fields.List(fields.Nested(PassOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class StatsQuery(WindowQuery):
    pass


class OccupancyPointOut(Schema):
    at = fields.DateTime(required=True)
    occupied = fields.Integer(required=True)


class KindRevenueOut(Schema):
    kind = fields.String(required=True)
    bookings = fields.Integer()
    sessions = fields.Integer()
    gross = fields.Integer(metadata=MINOR_UNITS)
    refunds = fields.Integer(metadata=MINOR_UNITS)
    revenue = fields.Integer(metadata=MINOR_UNITS)


class SourceRevenueOut(Schema):
    source = fields.String(required=True, metadata={"description": "reservation, drive_up or overstay"})
    count = fields.Integer()
    gross = fields.Integer(metadata=MINOR_UNITS)
    refunds = fields.Integer(metadata=MINOR_UNITS)
    revenue = fields.Integer(metadata=MINOR_UNITS)


class MultiplierStatsOut(Schema):
    average_bp = fields.Integer(allow_none=True, metadata=BP)
    min_bp = fields.Integer(allow_none=True)
    max_bp = fields.Integer(allow_none=True)
    above_base = fields.Integer(metadata={"description": "Bookings and drive-ups charged more than ×1."})


class LotStatsOut(Schema):
    lot_id = fields.String(required=True)
    currency = fields.String()
    from_ = fields.DateTime(data_key="from", attribute="from")
    to = fields.DateTime()
    as_of = fields.DateTime()
    spaces = fields.Integer()
    bookings = fields.Integer()
    sessions = fields.Integer()
    occupancy = fields.List(fields.Nested(OccupancyPointOut), metadata={
        "description": "Spaces occupied (booked or parked in) at the start of each hour."})
    revenue = fields.Integer(metadata=MINOR_UNITS)
    revenue_by_kind = fields.List(fields.Nested(KindRevenueOut))
    revenue_by_source = fields.List(fields.Nested(SourceRevenueOut))
    average_stay_minutes = fields.Float(allow_none=True, metadata={
        "description": "From entry to exit scans of passes, and drive-up sessions' durations."})
    stays_measured = fields.Integer()
    multiplier = fields.Nested(MultiplierStatsOut)
