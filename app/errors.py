"""The one place an error becomes JSON, and the one catalogue of error codes.

Every failure answers ``{"error": {"code", "message", "details", "request_id"}}``.
Business rules raise :class:`AppError` with a code from ``CATALOGUE``, which
gives its status and default message; plain HTTP failures use werkzeug's
exceptions (``abort(404)``); anything else is a bug, logged and answered 500.
Headers that follow from a code (``Retry-After``, ``WWW-Authenticate``) are set
here, never by services.
"""
import logging
from typing import NamedTuple

from flask import g, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from app.firebase import get_firebase, is_contention, is_outage

logger = logging.getLogger(__name__)


class Entry(NamedTuple):
    status: int
    message: str
    retry_after: int | None = None


CATALOGUE = {
    # 400: the request cannot be read.
    "bad_request": Entry(400, "The request is malformed."),
    "invalid_cursor": Entry(400, "The cursor is not one this list handed out."),
    "invalid_signature": Entry(400, "The signature does not match the body."),
    # 401: who is calling is unknown.
    "unauthorized": Entry(401, "Authentication is required."),
    "missing_token": Entry(401, "This endpoint needs 'Authorization: Bearer <Firebase ID token>'."),
    "invalid_token": Entry(401, "The ID token is not valid."),
    "token_expired": Entry(401, "The ID token has expired."),
    "token_revoked": Entry(401, "This session was revoked (a role change or an erased account); sign in again."),
    "account_deleted": Entry(401, "This account has been deleted."),
    "invalid_credentials": Entry(401, "The e-mail address or password is wrong."),
    "invalid_refresh_token": Entry(401, "The refresh token is not valid; log in again."),
    # 403: known, but not allowed.
    "forbidden": Entry(403, "You are not allowed to do this."),
    "user_disabled": Entry(403, "This account is disabled."),
    # 404, 405
    "not_found": Entry(404, "No such resource."),
    "method_not_allowed": Entry(405, "This method is not allowed here."),
    # 409: a business rule or the state of a record says no.
    "conflict": Entry(409, "The record changed; read it again."),
    "already_exists": Entry(409, "A record with this id exists."),
    "email_taken": Entry(409, "An account with this e-mail address already exists."),
    "invalid_transition": Entry(409, "This state change is not allowed."),
    "event_closed": Entry(409, "The event can no longer change."),
    "event_started": Entry(409, "An event that has already started cannot be published."),
    "event_not_on_sale": Entry(409, "The event is not on sale."),
    "no_ticket_types": Entry(409, "Add at least one ticket type before publishing."),
    "sales_window_conflict": Entry(409, "Ticket sales would not be over by the event's start."),
    "too_many_ticket_types": Entry(409, "The event has as many ticket types as it may."),
    "ticket_type_in_use": Entry(409, "Units of this ticket type are sold or held."),
    "capacity_below_taken": Entry(409, "More units are already sold or held."),
    "section_taken": Entry(409, "Another ticket type of this event already sells these sections."),
    "seats_taken": Entry(409, "Seats in the sections being removed are held or sold."),
    "currency_locked": Entry(409, "The event has sold in its currency; it cannot change."),
    "venue_in_use": Entry(409, "Events still use this venue."),
    "too_many_staff": Entry(409, "The venue has as many staff members as it may."),
    "too_many_organizers": Entry(409, "The venue admits as many organizers as it may."),
    "too_many_devices": Entry(409, "The account has as many devices as it may."),
    "not_on_sale": Entry(409, "This is not on sale now."),
    "sold_out": Entry(409, "Sold out."),
    "seat_taken": Entry(409, "The seat is taken."),
    "too_many_holds": Entry(409, "The buyer has as many active holds for this event as allowed."),
    "hold_expired": Entry(409, "This hold has expired."),
    "hold_converted": Entry(409, "This hold has already become an order."),
    "hold_released": Entry(409, "This hold was released."),
    "order_expired": Entry(409, "The order expired and what it held has been sold to others."),
    "wrong_payment_method": Entry(409, "This order is paid through its payment provider."),
    "already_refunded": Entry(409, "Some of these are already refunded."),
    "below_redemptions": Entry(409, "The code has been redeemed more times than that."),
    "request_in_progress": Entry(409, "The same request is being processed; try again in a moment.", 1),
    "payment_not_startable": Entry(409, "This order's payment cannot be started now."),
    "checked_in": Entry(409, "A ticket to refund has admitted someone at the door."),
    "phone_taken": Entry(409, "This phone number belongs to another account."),
    "phone_not_verified": Entry(409, "Verify a phone number before turning text messages on."),
    "nonce_reused": Entry(409, "This nonce was already used for another code; send a fresh nonce per scan."),
    "already_redeemed": Entry(409, "This pickup code was already redeemed."),
    "already_collected": Entry(409, "The stand already handed this order over."),
    "too_many_items": Entry(409, "The stand has as many menu items as it may."),
    "stand_in_use": Entry(409, "The stand still has orders to prepare or hand over."),
    "lot_inactive": Entry(409, "This parking lot takes no bookings now."),
    "lot_in_use": Entry(409, "Bookings or parked cars still use this parking lot."),
    "spaces_in_use": Entry(409, "Spaces are added to a parking lot, never removed or changed."),
    "quote_expired": Entry(409, "This parking quote has expired; ask for a new one."),
    "already_parked": Entry(409, "A car with this plate is already parked in this lot."),
    "settlement_pending": Entry(409, "This parking session's charge is already in an order awaiting payment."),
    "connect_not_configured": Entry(409, "Payouts through Stripe Connect are not configured here."),
    "no_payout_account": Entry(409, "Open the party's connected account first."),
    "cannot_disable_self": Entry(409, "Admins cannot disable their own account."),
    "no_password": Entry(409, "This account signs in without a password."),
    # 413, 415
    "payload_too_large": Entry(413, "The request body is too large."),
    "unsupported_media_type": Entry(415, "Send the request body as application/json."),
    # 422: the request reads, but its content is not acceptable.
    "validation_error": Entry(422, "The request did not pass validation."),
    "idempotency_key_reused": Entry(422, "This Idempotency-Key was used for a different request."),
    "per_order_limit": Entry(422, "More than the per-order limit."),
    "discount_invalid": Entry(422, "This discount code cannot be used for this order."),
    "amount_not_chargeable": Entry(422, "The payment provider cannot charge this amount in this currency."),
    "invalid_verification_code": Entry(422, "The verification code is wrong."),
    "verification_expired": Entry(422, "This verification has expired or was used; request a new code."),
    "quote_invalid": Entry(422, "This is not a parking quote this service gave, or it was altered."),
    "charge_invalid": Entry(422, "This is not a parking charge this service gave, or it was altered."),
    "outside_opening_hours": Entry(422, "The parking lot is closed for part of this window."),
    # 429
    "rate_limited": Entry(429, "Too many requests; slow down."),
    "sms_limit_reached": Entry(429, "Today's text messages for this account, number or country are used up."),
    "too_many_discount_guesses": Entry(429, "Too many discount codes that do not exist were tried; try again later."),
    # 5xx
    "internal_error": Entry(500, "Something went wrong on our side."),
    "auth_upstream_error": Entry(502, "The identity service refused the request."),
    "payment_provider_error": Entry(502, "The payment provider did not answer; try again."),
    "service_unavailable": Entry(503, "A backing service is unreachable; try again shortly.", 5),
    "auth_unavailable": Entry(503, "The identity service is unreachable.", 5),
    "not_ready": Entry(503, "A dependency is unreachable.", 5),
    "busy": Entry(503, "Others are changing the same records; try again.", 1),
}

# Codes for werkzeug's HTTP exceptions, by status.
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "rate_limited", 500: "internal_error", 503: "service_unavailable",
}


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={
        "description": "Stable snake_case code, e.g. sold_out; every code the API answers is in this list.",
        "enum": sorted(CATALOGUE)})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "Field errors under 'fields', or other context."})
    request_id = fields.String(allow_none=True)


class ErrorEnvelope(Schema):
    error = fields.Nested(ErrorBody, required=True)


class AppError(Exception):
    """A business rule said no: a code from ``CATALOGUE``, optionally a more precise message, and details."""

    def __init__(self, code, message=None, *, details=None):
        entry = CATALOGUE[code]
        super().__init__(message or entry.message)
        self.code = code
        self.message = message or entry.message
        self.status = entry.status
        self.details = details or {}


def field_error(field, message):
    """A 422 naming one request field, as marshmallow's own errors do."""
    return AppError("validation_error", details={"fields": {field: [message]}})


def _headers(code, status, details):
    headers = {}
    entry = CATALOGUE.get(code)
    if entry is not None and entry.retry_after is not None:
        headers["Retry-After"] = str(entry.retry_after)
    elif "retry_after_seconds" in details:
        # A wait only the moment knows (the end of a counting window) travels in the details.
        headers["Retry-After"] = str(details["retry_after_seconds"])
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="boxoffice"'
    return headers


def error_response(status, code, message, details=None, headers=None):
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": g.get("request_id"),
        }
    }
    response = jsonify(body)
    response.status_code = status
    for name, value in {**_headers(code, status, details or {}), **(headers or {})}.items():
        response.headers[name] = value
    return response


def _handle_app_error(error):
    return error_response(error.status, error.code, error.message, error.details)


def _http_details(error):
    # webargs/flask-smorest attach field messages to error.data["messages"].
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return {}
    if error.code == 400 and "json" in messages:
        return {}
    # Flatten webargs' {location: {field: [...]}} to {field: [...]}.
    fields = {}
    for location_messages in messages.values():
        fields.update(location_messages if isinstance(location_messages, dict) else {"_schema": location_messages})
    return {"fields": fields}


def _http_message(error):
    data = getattr(error, "data", None) or {}
    if error.code == 422:
        return CATALOGUE["validation_error"].message
    if error.code == 400 and "json" in (data.get("messages") or {}):
        return "The request body is not valid JSON."
    return error.description or error.name


def _handle_http_exception(error):
    if error.code is None or error.code >= 500:
        if error.code != 503:
            logger.error("server error %s: %s", error.code, error.description)
    headers = {}
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    code = HTTP_CODES.get(error.code, "bad_request" if (error.code or 500) < 500 else "internal_error")
    return error_response(error.code or 500, code, _http_message(error), _http_details(error), headers)


def _handle_unexpected(error):
    if is_outage(error):
        logger.warning("backing service unreachable on request %s: %s", g.get("request_id"), type(error).__name__)
        get_firebase().reconnect()
        return _handle_app_error(AppError("service_unavailable"))
    if is_contention(error):
        logger.info("transaction contention on request %s", g.get("request_id"))
        return _handle_app_error(AppError("busy"))
    logger.exception("unhandled exception on request %s", g.get("request_id"))
    return _handle_app_error(AppError("internal_error"))


def register_error_handlers(app):
    """Registered after flask-smorest's own handler, so these win."""
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
