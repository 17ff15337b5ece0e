from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from app.audit import service
from app.auth import roles_required
from app.pages import CreatedBetweenQuery, PageOut

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit log (admins)")


class AuditQuery(CreatedBetweenQuery):
    action = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "e.g. order.refunded"})
    event_id = fields.String(validate=validate.Length(min=1, max=64))
    actor_uid = fields.String(validate=validate.Length(min=1, max=128))
    target = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "The record acted on, as kind/id: order/<id>, user/<uid>, venue/<id>, event/<id>, ..."})


class AuditEntryOut(Schema):
    id = fields.String(required=True)
    action = fields.String(required=True)
    actor_uid = fields.String(required=True, metadata={"description": "A user's uid, or 'system'."})
    target = fields.String()
    event_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True, metadata={"description": "The values the action changed, as they were; "
                                                                  "null: the record did not exist."})
    after = fields.Dict(allow_none=True, metadata={"description": "The same values afterwards; null: removed."})
    details = fields.Dict()
    request_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True, metadata={"description": "The client's address (scheduler jobs: null)."})
    user_agent = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class AuditPage(PageOut):
    items = fields.List(fields.Nested(AuditEntryOut), required=True)


@blp.route("/admin/audit", methods=["GET"])
@roles_required("admin")
@blp.arguments(AuditQuery, location="query", unknown=RAISE)
@blp.response(200, AuditPage)
def list_audit(args):
    """Admin and money actions, newest first: who, what, to which record, when, from where, before and after

    Filters combine: action, event_id, actor_uid, target, from and to. Entries are never changed or removed.
    """
    return service.list_entries(**args)
