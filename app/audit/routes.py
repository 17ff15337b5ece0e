from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from app.audit import service
from app.auth import roles_required
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit log (admins)")


class AuditQuery(Schema):
    action = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "e.g. order.refunded"})
    event_id = fields.String(validate=validate.Length(min=1, max=64))
    actor_uid = fields.String(validate=validate.Length(min=1, max=128))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class AuditEntryOut(Schema):
    id = fields.String(required=True)
    action = fields.String(required=True)
    actor_uid = fields.String(required=True, metadata={"description": "A user's uid, or 'system'."})
    target = fields.String()
    event_id = fields.String(allow_none=True)
    details = fields.Dict()
    request_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEntryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


@blp.route("/admin/audit", methods=["GET"])
@roles_required("admin")
@blp.arguments(AuditQuery, location="query", unknown=RAISE)
@blp.response(200, AuditPage)
def list_audit(args):
    """Financial and admin actions, newest first: who, what, when, under which request id"""
    return service.list_entries(**args)
