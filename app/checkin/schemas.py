from marshmallow import Schema, fields, validate

from app.fields import UtcDateTime
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT

NONCE = validate.Regexp(r"^[A-Za-z0-9_-]{8,128}$", error="8 to 128 letters, digits, '-' or '_'; unique per scan.")
GATE = validate.Regexp(r"^\w[\w -]{0,39}$", error="1 to 40 letters, digits, spaces, '-' or '_'.")
CODE = validate.Length(min=1, max=512)
RESULT = ("Stable result code: ok, already_checked_in, invalid_signature, void, wrong_event or not_valid_yet.")


class CheckinIn(Schema):
    code = fields.String(required=True, validate=CODE, metadata={"description": "The ticket's signed code."})
    nonce = fields.String(required=True, validate=NONCE, metadata={
        "description": "Chosen by the scanner, one per scan; a repeated nonce returns the first result."})
    gate = fields.String(load_default="main", validate=GATE)


class OfflineScanIn(CheckinIn):
    scanned_at = UtcDateTime(required=True, metadata={"description": "When the scanner scanned it."})


class OfflineUploadIn(Schema):
    scans = fields.List(fields.Nested(OfflineScanIn), required=True, validate=validate.Length(min=1, max=200))


class CheckinTicketBrief(Schema):
    id = fields.String()
    ticket_type_id = fields.String()
    ticket_type_name = fields.String(allow_none=True)
    seat = fields.String(allow_none=True)


class FirstCheckin(Schema):
    at = fields.DateTime()
    gate = fields.String()
    source = fields.String(metadata={"description": "online or offline"})
    nonce = fields.String()


class CheckinOut(Schema):
    result = fields.String(required=True, metadata={"description": RESULT})
    message = fields.String()
    nonce = fields.String()
    gate = fields.String()
    scanned_at = fields.DateTime()
    source = fields.String(metadata={"description": "online or offline"})
    ticket_id = fields.String(allow_none=True)
    ticket = fields.Nested(CheckinTicketBrief, allow_none=True)
    first_checkin = fields.Nested(FirstCheckin, allow_none=True, metadata={
        "description": "already_checked_in, re-entries and conflicts: when and at which gate it was first admitted."})
    reason = fields.String(allow_none=True, metadata={
        "description": "void: refunded, event_cancelled, unknown_ticket, or backdated (an offline scan dated "
                       "before the ticket was issued)"})
    opens_at = fields.DateTime(allow_none=True, metadata={"description": "not_valid_yet: when check-in opens."})
    reentry = fields.Boolean()
    conflict = fields.Boolean(metadata={"description": "An offline scan of a ticket that was already admitted."})
    replayed = fields.Boolean(metadata={"description": "This nonce was seen before; this is its first result."})


class CheckinConflictOut(Schema):
    ticket_id = fields.String()
    ticket = fields.Nested(CheckinTicketBrief, allow_none=True)
    scans = fields.List(fields.Nested(FirstCheckin), metadata={"description": "The first admission, then this one."})


class OfflineUploadOut(Schema):
    results = fields.List(fields.Nested(CheckinOut), required=True)
    conflicts = fields.List(fields.Nested(CheckinConflictOut), required=True)


class CheckinKeyOut(Schema):
    event_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    format = fields.String()


class CheckinSyncQuery(Schema):
    since = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": "next_cursor of the previous sync; omit for everything."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT * 10, validate=validate.Range(min=1, max=MAX_LIMIT * 10))


class SyncTicketOut(Schema):
    ticket_id = fields.String()
    ticket_type_id = fields.String()
    ticket_type_name = fields.String(allow_none=True)
    seat = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "valid or voided"})
    voided_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class SyncEntryOut(Schema):
    ticket_id = fields.String()
    ticket_type_id = fields.String()
    gate = fields.String()
    at = fields.DateTime()
    source = fields.String()
    entries = fields.Integer()
    last_at = fields.DateTime()
    updated_at = fields.DateTime()


class CheckinSyncOut(Schema):
    tickets = fields.List(fields.Nested(SyncTicketOut), required=True)
    checkins = fields.List(fields.Nested(SyncEntryOut), required=True)
    next_cursor = fields.String(required=True, metadata={"description": "Send as since next time."})
    more = fields.Boolean(required=True, metadata={"description": "Call again with next_cursor at once."})


class CheckinGateCount(Schema):
    gate = fields.String()
    entries = fields.Integer()


class CheckinTypeCount(Schema):
    ticket_type_id = fields.String()
    name = fields.String(allow_none=True)
    checked_in = fields.Integer()


class CheckinStatsOut(Schema):
    event_id = fields.String()
    as_of = fields.DateTime()
    checked_in = fields.Integer(metadata={"description": "Tickets admitted at least once."})
    entries = fields.Integer(metadata={"description": "Admissions, re-entries included."})
    scans = fields.Integer()
    conflicts = fields.Integer(metadata={"description": "Offline scans of tickets already admitted."})
    results = fields.Dict(keys=fields.String(), values=fields.Integer())
    gates = fields.List(fields.Nested(CheckinGateCount))
    ticket_types = fields.List(fields.Nested(CheckinTypeCount))
