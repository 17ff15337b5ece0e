from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.notifications.service import Kind, MessageState
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.timeutil import is_time_zone

CLOCK = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use a 24-hour time such as 22:00.")


class NotificationQuery(Schema):
    state = fields.String(validate=validate.OneOf([str(s) for s in MessageState]),
                          metadata={"description": "pending, sent, parked or skipped"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class SmsStatus(Schema):
    sid = fields.String(required=True, metadata={"description": "Twilio's message SID"})
    status = fields.String(required=True, metadata={
        "description": "Twilio's latest word: queued, sending, sent, delivered, undelivered or failed"})
    error_code = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class NotificationOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(Kind)})
    recipient_uid = fields.String(required=True)
    data = fields.Dict()
    dedupe_key = fields.String()
    state = fields.String(required=True)
    channels = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "email / push / sms: pending, sent, none (nowhere to send it), off (not wanted), "
                       "limited (SMS limit used up) or unknown (interrupted)"})
    sms = fields.Nested(SmsStatus, allow_none=True)
    attempts = fields.Integer()
    due_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ChannelChoice(Schema):
    email = fields.Boolean()
    push = fields.Boolean()
    sms = fields.Boolean()


def _time_zone(value):
    if not is_time_zone(value):
        raise ValidationError("Unknown time zone; use an IANA name such as Europe/Berlin.")


class QuietHours(Schema):
    start = fields.String(required=True, validate=CLOCK)
    end = fields.String(required=True, validate=CLOCK)
    timezone = fields.String(required=True, validate=_time_zone, metadata={"description": "The account's time zone"})

    @validates_schema
    def _a_window(self, data, **kwargs):
        if data.get("start") == data.get("end"):
            raise ValidationError("Quiet hours start and end at different times.", "end")


_KINDS = fields.String(validate=validate.OneOf([str(k) for k in Kind]))


class PreferencesPatch(Schema):
    channels = fields.Dict(keys=_KINDS, values=fields.Nested(ChannelChoice), metadata={
        "description": "Per kind of message, the channels to turn on (true) or off (false); others stay"})
    quiet_hours = fields.Nested(QuietHours, allow_none=True, metadata={
        "description": "Reminders and refund notices due inside them wait until they end; null: none"})

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send channels, quiet_hours or both.", "_schema")


class PreferencesOut(Schema):
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelChoice), required=True)
    quiet_hours = fields.Nested(QuietHours, allow_none=True, required=True)
    sms_opted_out = fields.Boolean(required=True, metadata={
        "description": "The verified number replied STOP: no texts until it replies START"})
    updated_at = fields.DateTime(allow_none=True)
