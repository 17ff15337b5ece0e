"""The one place an error becomes JSON.

Every failure answers ``{"error": {"code", "message", "details", "request_id"}}``.
Business rules raise :class:`AppError`; plain HTTP failures use werkzeug's
exceptions (``abort(404)``); anything else is a bug, logged and answered 500.
"""
import logging

from flask import g, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from app.firebase import get_firebase, is_contention, is_outage

logger = logging.getLogger(__name__)

# Stable codes for werkzeug's HTTP exceptions, by status.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "Stable snake_case code, e.g. sold_out."})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "Field errors under 'fields', or other context."})
    request_id = fields.String(allow_none=True)


class ErrorEnvelope(Schema):
    error = fields.Nested(ErrorBody, required=True)


class AppError(Exception):
    """A business rule said no: a stable snake_case code, a message and a status."""

    def __init__(self, code, message, status=409, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}
        self.headers = headers or {}


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
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_app_error(error):
    return error_response(error.status, error.code, error.message, error.details, error.headers)


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
        return "The request did not pass validation."
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
    code = HTTP_CODES.get(error.code, "http_error")
    return error_response(error.code or 500, code, _http_message(error), _http_details(error), headers)


def _handle_unexpected(error):
    if is_outage(error):
        logger.warning("backing service unreachable on request %s: %s", g.get("request_id"), type(error).__name__)
        get_firebase().reconnect()
        return error_response(503, "service_unavailable", "A backing service is unreachable; try again shortly.",
                              headers={"Retry-After": "5"})
    if is_contention(error):
        logger.info("transaction contention on request %s", g.get("request_id"))
        return error_response(503, "busy", "Others are changing the same records; try again.",
                              headers={"Retry-After": "1"})
    logger.exception("unhandled exception on request %s", g.get("request_id"))
    return error_response(500, "internal_error", "Something went wrong on our side.")


def register_error_handlers(app):
    """Registered after flask-smorest's own handler, so these win."""
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
