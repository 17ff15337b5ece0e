from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.events.service import EventStatus
from app.events.ticket_types import TicketKind
from app.fields import UtcDateTime
from app.money import CURRENCIES
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.timeutil import is_time_zone
from app.venues.schemas import SECTION_ID, TAX_CATEGORY

CATEGORIES = ("music", "theatre", "comedy", "dance", "sports", "conference", "festival", "family", "film",
              "exhibition", "other")
MAX_REMINDER_MINUTES = 60 * 24 * 60
MAX_PRICE = 100_000_000


def _time_zone(value):
    if not is_time_zone(value):
        raise ValidationError("Unknown time zone; use an IANA name such as Europe/Berlin.")


def _currency(value):
    if value not in CURRENCIES:
        raise ValidationError("Use an ISO 4217 currency code such as EUR.")


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("Values must not repeat.")


class EventPatch(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=5000))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    timezone = fields.String(validate=_time_zone,
                             metadata={"description": "IANA time zone the event is shown in."})
    reminder_offsets_minutes = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_REMINDER_MINUTES)),
        validate=[validate.Length(max=5), _unique],
        metadata={"description": "Minutes before the start at which ticket holders are reminded."})

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")


class EventIn(EventPatch):
    venue_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    starts_at = UtcDateTime(required=True)
    ends_at = UtcDateTime(required=True)
    timezone = fields.String(required=True, validate=_time_zone)


class EventOut(Schema):
    id = fields.String(required=True)
    organizer_uid = fields.String()
    venue_id = fields.String()
    venue_name = fields.String()
    city = fields.String()
    country = fields.String()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    timezone = fields.String()
    status = fields.String(metadata={"description": "draft, published, cancelled or completed"})
    reminder_offsets_minutes = fields.List(fields.Integer())
    published_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EventQuery(Schema):
    q = fields.String(validate=validate.Length(min=2, max=100), metadata={"description": "Words to search for."})
    city = fields.String(validate=validate.Length(min=1, max=100))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    organizer = fields.String(validate=validate.Length(min=1, max=128), metadata={"description": "Organizer uid."})
    starts_from = UtcDateTime(data_key="from", metadata={"description": "Events starting at or after."})
    starts_to = UtcDateTime(data_key="to", metadata={"description": "Events starting before."})
    status = fields.String(load_default=EventStatus.PUBLISHED.value,
                           validate=validate.OneOf([s.value for s in EventStatus]),
                           metadata={"description": "Other than published: only with organizer=<your uid>, "
                                                    "or as an admin."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("starts_from") and data.get("starts_to") and data["starts_to"] <= data["starts_from"]:
            raise ValidationError("'to' must be later than 'from'.", "to")


class EventPage(Schema):
    items = fields.List(fields.Nested(EventOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TicketTypePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    price = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE),
                           metadata={"description": "In minor units of the currency (cents for EUR)."})
    currency = fields.String(validate=_currency)
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000),
                              metadata={"description": "General admission only; seated types count their seats."})
    sections = fields.List(fields.String(validate=SECTION_ID), validate=[validate.Length(min=1, max=100), _unique],
                           metadata={"description": "Seated only: seat-map sections this type sells."})
    per_order_limit = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    allow_reentry = fields.Boolean(metadata={"description": "Whether a checked-in ticket may enter again."})
    service_fee = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_PRICE), metadata={
        "description": "Booking fee per ticket, in minor units, added to the price (untaxed)."})
    tax_category = fields.String(validate=TAX_CATEGORY, metadata={
        "description": "Which of the venue's tax rates applies; default 'ticket'."})
    sales_starts_at = UtcDateTime(allow_none=True)
    sales_ends_at = UtcDateTime(allow_none=True,
                                         metadata={"description": "Default and latest: the event's start."})

    @validates_schema
    def _check(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        starts, ends = data.get("sales_starts_at"), data.get("sales_ends_at")
        if starts and ends and ends <= starts:
            raise ValidationError("Sales must end after they start.", "sales_ends_at")


class TicketTypeIn(TicketTypePatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    price = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_PRICE))
    currency = fields.String(required=True, validate=_currency)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in TicketKind]))
    per_order_limit = fields.Integer(load_default=10, strict=True, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        if data.get("kind") == TicketKind.SEATED:
            if "capacity" in data:
                raise ValidationError("A seated ticket type takes its capacity from its sections.", "capacity")
            if "sections" not in data:
                raise ValidationError("A seated ticket type needs its seat-map sections.", "sections")
        elif data.get("kind") == TicketKind.GENERAL_ADMISSION:
            if "sections" in data:
                raise ValidationError("Only seated ticket types have sections.", "sections")
            if "capacity" not in data:
                raise ValidationError("A general-admission ticket type needs a capacity.", "capacity")


class TicketTypeOut(Schema):
    id = fields.String(required=True)
    event_id = fields.String()
    name = fields.String()
    price = fields.Integer()
    currency = fields.String()
    kind = fields.String()
    capacity = fields.Integer()
    sections = fields.List(fields.String(), allow_none=True)
    per_order_limit = fields.Integer()
    allow_reentry = fields.Boolean()
    service_fee = fields.Integer()
    tax_category = fields.String(allow_none=True)
    sales_starts_at = fields.DateTime(allow_none=True)
    sales_ends_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
