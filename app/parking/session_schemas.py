"""What attendants send and get: drive-up sessions, their settlement through the checkout, and scans."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.checkin.schemas import GATE, NONCE
from app.orders.schemas import OrderOut
from app.parking.schemas import BP, ID, KIND, MINOR_UNITS, PageQuery, Plate
from app.parking.sessions import SessionState


class ParkingSessionIn(Schema):
    plate = Plate(required=True)
    kind = fields.String(load_default="standard", validate=KIND)
    event_id = fields.String(required=True, validate=ID)


class ParkingSessionOut(Schema):
    id = fields.String(required=True)
    lot_id = fields.String(required=True)
    lot_name = fields.String()
    event_id = fields.String()
    plate = fields.String(allow_none=True)
    kind = fields.String()
    space = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "drive_up or overstay"})
    pass_id = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"description": "open, ended (to pay), paid, closed (nothing to "
                                                                  "pay) or refunded"})
    started_at = fields.DateTime()
    planned_end = fields.DateTime(metadata={"description": "Until when the space is kept for a drive-up."})
    ended_at = fields.DateTime(allow_none=True)
    minutes = fields.Integer(allow_none=True)
    rate = fields.Integer(metadata=MINOR_UNITS)
    multiplier_bp = fields.Integer(metadata=BP)
    occupancy_percent = fields.Integer(allow_none=True)
    charge = fields.Integer(allow_none=True, metadata=MINOR_UNITS)
    currency = fields.String()
    charge_token = fields.String(allow_none=True, metadata={"description": "ended: pays the charge in a hold."})
    order_id = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    amount_paid = fields.Integer(allow_none=True, metadata=MINOR_UNITS)
    flagged = fields.Boolean(metadata={"description": "Still open after its space's time ran out."})
    flagged_at = fields.DateTime(allow_none=True)
    started_by = fields.String(allow_none=True)
    ended_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ParkingSessionQuery(PageQuery):
    state = fields.String(validate=validate.OneOf([*map(str, SessionState), "flagged"]))


class ParkingSessionPage(Schema):
    items = fields.List(fields.Nested(ParkingSessionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class SettlementIn(Schema):
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "manual: paid at the box office now; stripe: by card, confirmed with the order's "
                       "client_secret."})


class SettlementOut(Schema):
    session = fields.Nested(ParkingSessionOut, required=True)
    order = fields.Nested(OrderOut, required=True)


class ScanIn(Schema):
    direction = fields.String(required=True, validate=validate.OneOf(["entry", "exit"]))
    nonce = fields.String(required=True, validate=NONCE, metadata={
        "description": "Chosen by the scanner, one per scan; a repeated nonce returns the first result."})
    gate = fields.String(load_default="main", validate=GATE)
    code = fields.String(validate=validate.Length(min=1, max=512), metadata={"description": "A pass's code."})
    plate = Plate()

    @validates_schema
    def _one(self, data, **kwargs):
        if ("code" in data) == ("plate" in data):
            raise ValidationError("Send a pass's code or a plate.", "_schema")


class ScanPassOut(Schema):
    id = fields.String()
    kind = fields.String()
    space = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    plate = fields.String(allow_none=True)
    state = fields.String()
    entries = fields.Integer()
    event_id = fields.String()


class ScanOut(Schema):
    result = fields.String(required=True, metadata={"description": (
        "ok, pay (settle the session's charge), already_used, already_inside, not_inside, no_booking, void, "
        "invalid_signature, wrong_lot, not_valid_yet or window_over")})
    message = fields.String()
    direction = fields.String()
    gate = fields.String()
    nonce = fields.String()
    plate = fields.String(allow_none=True)
    scanned_at = fields.DateTime()
    pass_ = fields.Nested(ScanPassOut, data_key="pass", attribute="pass", allow_none=True)
    session = fields.Nested(ParkingSessionOut, allow_none=True)
    session_id = fields.String(allow_none=True)
    opens_at = fields.DateTime(allow_none=True)
    first_entry_at = fields.DateTime(allow_none=True)
    replayed = fields.Boolean()
