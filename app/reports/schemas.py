from datetime import date

from marshmallow import Schema, fields, validate

from app.orders.schemas import MINOR_UNITS, OrderOut
from app.tickets.schemas import TicketOut
from app.users.schemas import UserAccountOut, DeviceOut, ProfileOut


DAYS = validate.Range(min=date(2000, 1, 1), max=date(2999, 12, 31))


class DashboardQuery(Schema):
    organizer_uid = fields.String(validate=validate.Length(min=1, max=128), metadata={
        "description": "Admins: whose dashboard; organizers see their own."})
    day_from = fields.Date(data_key="from", validate=DAYS, metadata={
        "description": "First day of the series (default: 30 days before 'to')."})
    day_to = fields.Date(data_key="to", validate=DAYS, metadata={
        "description": "Last day of the series (default: today in the time zone of the organizer's events "
                       "that is furthest ahead; UTC without events)."})


class MoneyOut(Schema):
    currency = fields.String(required=True)
    orders = fields.Integer(metadata={"description": "Orders paid."})
    units = fields.Integer(metadata={"description": "Units sold (tickets, passes, items)."})
    gross = fields.Integer(metadata={"description": "What the units sold cost, in minor units."})
    refunds = fields.Integer(metadata={"description": "Refunds recorded."})
    refunded_units = fields.Integer()
    refunded = fields.Integer(metadata=MINOR_UNITS)
    net = fields.Integer(metadata={"description": "gross - refunded, in minor units."})


class DayOut(MoneyOut):
    day = fields.String(required=True, metadata={"description": "YYYY-MM-DD in the event's time zone."})


class KindOut(Schema):
    kind = fields.String(required=True)
    currency = fields.String(required=True)
    units = fields.Integer()
    gross = fields.Integer(metadata=MINOR_UNITS)
    refunded_units = fields.Integer()
    refunded = fields.Integer(metadata=MINOR_UNITS)
    net = fields.Integer(metadata=MINOR_UNITS)


class SoldItemOut(KindOut):
    catalog_id = fields.String(allow_none=True, metadata={"description": "The ticket type id, for tickets."})
    name = fields.String(allow_none=True)


class CheckinProgressOut(Schema):
    checked_in = fields.Integer(required=True, metadata={"description": "Tickets that admitted someone."})
    valid_tickets = fields.Integer(required=True, metadata={"description": "Tickets sold, less those refunded."})
    progress = fields.Float(allow_none=True, metadata={"description": "checked_in / valid_tickets."})


class EventDashboardOut(Schema):
    event_id = fields.String(required=True)
    title = fields.String()
    status = fields.String()
    deleted = fields.Boolean()
    starts_at = fields.DateTime()
    timezone = fields.String()
    totals = fields.List(fields.Nested(MoneyOut), metadata={"description": "All time, per currency."})
    kinds = fields.List(fields.Nested(KindOut))
    ticket_types = fields.List(fields.Nested(SoldItemOut))
    items = fields.List(fields.Nested(SoldItemOut), metadata={"description": "What other kinds sold, per item."})
    series = fields.List(fields.Nested(DayOut), metadata={"description": "Days of the window with sales or "
                                                                         "refunds."})
    checkin = fields.Nested(CheckinProgressOut)


class DashboardOut(Schema):
    organizer_uid = fields.String(required=True)
    day_from = fields.Date(data_key="from")
    day_to = fields.Date(data_key="to")
    as_of = fields.DateTime()
    totals = fields.List(fields.Nested(MoneyOut), metadata={"description": "All events, all time, per currency."})
    kinds = fields.List(fields.Nested(KindOut))
    series = fields.List(fields.Nested(DayOut), metadata={"description": "All events by day, each day in its "
                                                                         "event's time zone."})
    checkin = fields.Nested(CheckinProgressOut)
    events = fields.List(fields.Nested(EventDashboardOut))


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
    currencies = fields.List(fields.Nested(MoneyOut), metadata={"description": "Totals in every currency sold in."})


class PersonalDataOut(Schema):
    generated_at = fields.DateTime(required=True)
    profile = fields.Nested(ProfileOut)
    account = fields.Nested(UserAccountOut)
    devices = fields.List(fields.Nested(DeviceOut))
    orders = fields.List(fields.Nested(OrderOut))
    tickets = fields.List(fields.Nested(TicketOut))
