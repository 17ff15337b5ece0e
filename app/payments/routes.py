from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.payments import providers

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payment methods")


class MethodsOut(Schema):
    methods = fields.List(fields.String(), required=True)


@blp.route("/payments/methods", methods=["GET"])
@blp.response(200, MethodsOut)
def list_methods():
    """The payment methods this deployment offers"""
    return {"methods": sorted(providers.offered())}
