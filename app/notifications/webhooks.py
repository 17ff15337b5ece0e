"""Twilio's signed webhooks: replies to our texts (STOP, START) and the delivery status of each text.

Twilio posts form fields and signs the full URL it called plus those fields.
Behind a proxy the URL the app sees is not the one Twilio called, so with
``SMS_WEBHOOK_BASE_URL`` set the signed URL is that base plus the path and query.
"""
from flask import Response, current_app, request
from flask_smorest import Blueprint
from twilio.twiml.messaging_response import MessagingResponse

from app.notifications import sms

blp = Blueprint("sms_webhooks", __name__, url_prefix="/api/v1", description="Twilio's signed webhooks")

_FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
    "MessageSid": {"type": "string"}, "From": {"type": "string"}, "To": {"type": "string"},
    "Body": {"type": "string"}, "MessageStatus": {"type": "string"}, "ErrorCode": {"type": "string"}}}}}
_SIGNATURE = {"name": "X-Twilio-Signature", "in": "header", "required": True, "schema": {"type": "string"}}


def _signed():
    """The form fields, once the signature over them and the URL Twilio called holds."""
    base = current_app.config["SMS_WEBHOOK_BASE_URL"]
    query = request.query_string.decode()
    url = base + request.path + (f"?{query}" if query else "") if base else request.url
    sms.check_signature(url, request.form, request.headers.get("X-Twilio-Signature"))
    return request.form.to_dict()


@blp.route("/sms/webhooks/twilio/inbound", methods=["POST"])
@blp.doc(requestBody={"content": _FORM}, parameters=[_SIGNATURE])
@blp.response(200, content_type="text/xml")
def twilio_inbound():
    """Replies to our texts, signed by Twilio: STOP (and its synonyms) opts the number out, START back in"""
    sms.handle_inbound(_signed())
    return Response(str(MessagingResponse()), mimetype="text/xml")


@blp.route("/sms/webhooks/twilio/status/<message_id>", methods=["POST"])
@blp.doc(requestBody={"content": _FORM}, parameters=[_SIGNATURE])
@blp.response(204)
def twilio_status(message_id):
    """What became of a text (sent, delivered, undelivered, failed), signed by Twilio; updates its outbox entry"""
    sms.handle_status_callback(message_id, _signed())
