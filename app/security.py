"""Response headers for an API: security headers on every response, CORS for configured origins."""
from flask import request
from flask_cors import CORS

# The JSON API never renders HTML; only the interactive docs need scripts and styles, all from this app
# and none inline (app/docs).
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'")
EXPOSED_HEADERS = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                   "X-RateLimit-Reset"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]


def init_app(app):
    docs_path = app.config["OPENAPI_URL_PREFIX"].rstrip("/") + app.config["OPENAPI_SWAGGER_UI_PATH"]
    hsts = app.config["HSTS_SECONDS"]

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-site")
        headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path == docs_path else API_CSP)
        if "Authorization" in request.headers:
            # Per-user answers must not land in shared caches.
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
        return response

    origins = app.config["CORS_ORIGINS"]
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, allow_headers=ALLOWED_HEADERS,
             expose_headers=EXPOSED_HEADERS, max_age=600, supports_credentials=False)
