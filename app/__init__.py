"""Boxoffice: the application factory."""
import importlib
import json

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from app import auth, firebase, monitoring, revocations, security
from app.checkout import kinds
from app.config import Config, load_config
from app.errors import register_error_handlers
from app.extensions import api, cache, limiter
from app.inventory import lanes
from app.logging import configure_logging, init_request_logging

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Packages that connect signal receivers in their __init__: importing them is what wires them,
# also in a process (the scheduler) that serves none of their routes.
LISTENERS = ("app.events", "app.livefeed", "app.notifications", "app.orders", "app.concessions", "app.parking",
             "app.payouts", "app.reports")
# What the checkout sells: each kind's LineKind, registered with the checkout at start-up.
LINE_KINDS = ("app.tickets.kind:TicketKind", "app.concessions.kind:ConcessionKind", "app.parking.kind:ParkingKind")
# Twilio posts its webhooks as forms; every other body is JSON.
FORM_BLUEPRINTS = {"sms_webhooks"}


def _resolve_config(config):
    if config is None:
        return load_config()
    if isinstance(config, str):
        return load_config(config)
    if isinstance(config, type) and issubclass(config, Config):
        return config()
    return config


def _check_json_body():
    """Bodies are JSON that Firestore can store, refused here before any view parses them."""
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
    if request.method not in BODY_METHODS or not has_body:
        return
    if request.blueprint in FORM_BLUEPRINTS and request.mimetype == "application/x-www-form-urlencoded":
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        body = request.get_json(silent=True)
        # A lone surrogate (e.g. "\ud800") parses, but cannot be stored: refuse it as invalid text.
        json.dumps(body, ensure_ascii=False).encode()
    except RecursionError:
        raise BadRequest("The request body is not valid JSON: it is nested too deeply.") from None
    except UnicodeEncodeError:
        raise BadRequest("The request body is not valid JSON: it contains a lone surrogate.") from None


def create_app(config=None):
    config = _resolve_config(config)
    config.validate()

    app = Flask(__name__)
    app.config.from_object(config)
    app.json.sort_keys = False
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    configure_logging(app)
    # Before the limiter's own hook, so a 429 still carries a request id.
    init_request_logging(app)
    app.before_request(_check_json_body)
    monitoring.init_app(app)
    security.init_app(app)

    firebase.init_app(app)
    lanes.init_app(app)
    auth.init_app(app)
    revocations.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "Firebase ID token"}
    )
    _register_blueprints(app)
    for package in LISTENERS:
        importlib.import_module(package)
    for path in LINE_KINDS:
        module, name = path.split(":")
        kinds.register(app, getattr(importlib.import_module(module), name)())
    register_error_handlers(app)
    _register_commands(app)
    return app


def _register_blueprints(app):
    from app import docs
    from app.audit.routes import blp as audit_blp
    from app.checkin.routes import blp as checkin_blp
    from app.checkout.routes import blp as checkout_blp
    from app.concessions.routes import blp as concessions_blp
    from app.events.routes import blp as events_blp
    from app.notifications.routes import blp as notifications_blp
    from app.notifications.webhooks import blp as sms_webhooks_blp
    from app.orders.routes import blp as orders_blp
    from app.orders.routes import webhooks_blp
    from app.parking.routes import blp as parking_blp
    from app.payments.routes import blp as payments_blp
    from app.payouts.routes import blp as payouts_blp
    from app.reports.routes import blp as reports_blp
    from app.tickets.routes import blp as tickets_blp
    from app.users.routes import blp as users_blp
    from app.venues.routes import blp as venues_blp

    for blueprint in (monitoring.blp, users_blp, venues_blp, events_blp, checkout_blp, orders_blp, webhooks_blp,
                      payments_blp, tickets_blp, audit_blp, checkin_blp, notifications_blp, sms_webhooks_blp,
                      concessions_blp, parking_blp, payouts_blp, reports_blp):
        api.register_blueprint(blueprint)
    # Not an API blueprint: its files are no operations of the OpenAPI document.
    app.register_blueprint(docs.blp)


def _register_commands(app):
    from app.seed import seed_demo_command

    app.cli.add_command(seed_demo_command)
