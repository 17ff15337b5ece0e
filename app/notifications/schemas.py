from marshmallow import Schema, fields, validate

from app.notifications.service import MessageState
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT


class NotificationQuery(Schema):
    state = fields.String(validate=validate.OneOf([str(s) for s in MessageState]),
                          metadata={"description": "pending, sent, parked or skipped"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class NotificationOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "order_confirmation, reminder, event_cancelled, refund"})
    recipient_uid = fields.String(required=True)
    data = fields.Dict()
    dedupe_key = fields.String()
    state = fields.String(required=True)
    channels = fields.Dict(keys=fields.String(), values=fields.String(),
                           metadata={"description": "email / push: pending, sent, none or unknown (interrupted)"})
    attempts = fields.Integer()
    due_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
