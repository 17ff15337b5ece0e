from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.venues.service import seat_count

MAX_SEATS = 20_000
MAX_CAPACITY = 1_000_000
SECTION_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,16}$", error="Use 1-16 letters, digits, '-' or '_'.")
LABEL = validate.Regexp(r"^[A-Za-z0-9_-]{1,8}$", error="Use 1-8 letters, digits, '-' or '_'.")
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166-1 alpha-2 code such as DE.")
TAX_CATEGORY = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="Use 1-32 lower-case letters, digits or '_'.")


def _duplicates(values):
    seen, repeated = set(), set()
    for value in values:
        (repeated if value in seen else seen).add(value)
    return sorted(repeated)


class GeoSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class RowSchema(Schema):
    label = fields.String(required=True, validate=LABEL)
    seats = fields.List(fields.String(validate=LABEL), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _unique_seats(self, data, **kwargs):
        if repeated := _duplicates(data["seats"]):
            raise ValidationError(f"Seat labels repeat in the row: {', '.join(repeated)}.", "seats")


class SectionSchema(Schema):
    id = fields.String(required=True, validate=SECTION_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rows = fields.List(fields.Nested(RowSchema), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _unique_rows(self, data, **kwargs):
        if repeated := _duplicates(row["label"] for row in data["rows"]):
            raise ValidationError(f"Row labels repeat in the section: {', '.join(repeated)}.", "rows")


class SeatMapSchema(Schema):
    sections = fields.List(fields.Nested(SectionSchema), required=True,
                           validate=validate.Length(min=1, max=100))

    @validates_schema
    def _check(self, data, **kwargs):
        if repeated := _duplicates(section["id"] for section in data["sections"]):
            raise ValidationError(f"Section ids repeat: {', '.join(repeated)}.", "sections")
        if seat_count(data) > MAX_SEATS:
            raise ValidationError(f"A seat map holds at most {MAX_SEATS} seats.", "sections")


class TaxRateSchema(Schema):
    basis_points = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000),
                                  metadata={"description": "The rate in hundredths of a percent: 1900 is 19%."})
    inclusive = fields.Boolean(required=True, metadata={"description": "Whether prices already include the tax."})


TAX_RATES = {"metadata": {"description": (
    "Tax rates by category: a line is taxed at its item's category (a ticket type's tax_category, by default "
    "the line's kind: ticket, parking, concession) and untaxed when the category has no rate.")},
    "validate": validate.Length(max=50)}


class VenuePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    address = fields.String(validate=validate.Length(min=1, max=300))
    city = fields.String(validate=validate.Length(min=1, max=100))
    country = fields.String(validate=COUNTRY)
    geo = fields.Nested(GeoSchema, allow_none=True)
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_CAPACITY))
    seat_map = fields.Nested(SeatMapSchema, allow_none=True)
    tax_rates = fields.Dict(keys=fields.String(validate=TAX_CATEGORY), values=fields.Nested(TaxRateSchema),
                            **TAX_RATES)

    @validates_schema
    def _check(self, data, partial=None, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")
        if data.get("seat_map") and "capacity" in data and seat_count(data["seat_map"]) > data["capacity"]:
            raise ValidationError("The capacity is smaller than the seat map's number of seats.", "capacity")


class VenueIn(VenuePatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    country = fields.String(required=True, validate=COUNTRY)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_CAPACITY))


class VenueOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String()
    city = fields.String()
    country = fields.String()
    geo = fields.Nested(GeoSchema, allow_none=True)
    capacity = fields.Integer()
    seat_map = fields.Nested(SeatMapSchema, allow_none=True)
    tax_rates = fields.Dict(keys=fields.String(), values=fields.Nested(TaxRateSchema))
    owner_uid = fields.String()
    staff = fields.List(fields.String(), metadata={"description": "Staff uids; shown to the owner and admins only."})
    organizers = fields.List(fields.String(), metadata={
        "description": "Uids of organizers admitted to create events here; shown to the owner and admins only."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class VenueQuery(Schema):
    city = fields.String(validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class VenuePage(Schema):
    items = fields.List(fields.Nested(VenueOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class VenueMemberIn(Schema):
    uid = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StaffOut(Schema):
    venue_id = fields.String(required=True)
    staff = fields.List(fields.String(), required=True)


class OrganizersOut(Schema):
    venue_id = fields.String(required=True)
    organizers = fields.List(fields.String(), required=True)
