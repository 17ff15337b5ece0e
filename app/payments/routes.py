from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.payments import providers, service

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payment methods and provider webhooks")


class WebhookOut(Schema):
    received = fields.Boolean(required=True)
    outcome = fields.String()


class MethodsOut(Schema):
    methods = fields.List(fields.String(), required=True)


@blp.route("/payments/methods", methods=["GET"])
@blp.response(200, MethodsOut)
def list_methods():
    """The payment methods this deployment offers"""
    return {"methods": sorted(providers.offered())}


@blp.route("/payments/webhooks/stripe", methods=["POST"])
@blp.response(200, WebhookOut)
def stripe_webhook():
    """Stripe's signed events; each is applied once, whatever the order or number of deliveries"""
    return service.handle_stripe_event(request.get_data(), request.headers.get("Stripe-Signature"))
