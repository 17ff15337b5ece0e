"""Logging: JSON in production, coloured in development, rotating files in logs/.

Every line carries the request id. A redacting filter masks anything shaped
like a bearer token, a JWT, a password field or a ticket code, so a careless
log call cannot leak one.
"""
import json
import logging
import re
import sys
import time
import uuid
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import g, has_request_context, request

LOGGER_NAME = "app"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECRET_PATTERNS = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)([\"']?(?:password|refresh_token|id_token|idToken|refreshToken)[\"']?\s*[:=]\s*)"
                   r"(\"[^\"]*\"|'[^']*'|\S+)"),
        r"\1[redacted]",
    ),
    # Ticket codes are 111 or more base64url characters (app/tickets/codes.py); refresh tokens and FCM
    # device tokens are runs that long too. Nothing a log line should show is.
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{100,}"), "[redacted-code]"),
]


def redact(text):
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "uid")

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for field in self.EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


JsonFormatter.converter = time.gmtime


class ColourFormatter(logging.Formatter):
    COLOURS = {"DEBUG": "\033[36m", "INFO": "\033[32m", "WARNING": "\033[33m", "ERROR": "\033[31m",
               "CRITICAL": "\033[41m"}
    RESET = "\033[0m"

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record):
        line = super().format(record)
        colour = self.COLOURS.get(record.levelname, "")
        return f"{colour}{line}{self.RESET}" if colour else line


def configure_logging(app):
    """Attach handlers to the ``app`` logger tree (replacing any from an earlier app)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(app.config["LOG_LEVEL"])
    # Tests read records through pytest's capture on the root logger.
    logger.propagate = app.config["TESTING"]

    formatter = JsonFormatter() if app.config["LOG_FORMAT"] == "json" else ColourFormatter()
    file_formatter = JsonFormatter() if app.config["LOG_FORMAT"] == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
    )
    log_dir = Path(app.config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    app_file = RotatingFileHandler(log_dir / "app.log", maxBytes=10 * 1024 * 1024, backupCount=5)
    app_file.setFormatter(file_formatter)
    error_file = RotatingFileHandler(log_dir / "error.log", maxBytes=10 * 1024 * 1024, backupCount=5)
    error_file.setLevel(logging.ERROR)
    error_file.setFormatter(file_formatter)

    handlers = [app_file, error_file] if app.config["TESTING"] else [console, app_file, error_file]
    for handler in handlers:
        handler.addFilter(RequestContextFilter())
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)


def init_request_logging(app):
    logger = logging.getLogger(f"{LOGGER_NAME}.requests")

    @app.before_request
    def _start_request():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        # Who is asking, for the audit log: the client's address (behind TRUSTED_PROXIES, the forwarded one).
        g.client = {"ip": request.remote_addr, "user_agent": request.user_agent.string[:300] or None}

    @app.after_request
    def _finish_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        started = g.get("request_started")
        if started is None:
            return response
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        user = g.get("user")
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "uid": user.uid if user else None,
        }
        if duration_ms > app.config["SLOW_REQUEST_MS"]:
            logger.warning("slow request %s %s took %.1f ms", request.method, request.path, duration_ms,
                           extra=fields)
        else:
            logger.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, duration_ms,
                        extra=fields)
        return response
