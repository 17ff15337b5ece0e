"""Liveness, readiness and Prometheus metrics.

Both answer anonymous callers, so neither may cost much: readiness is checked
at most once per READINESS_CACHE_SECONDS per process, and /metrics can be
closed to all but holders of METRICS_TOKEN.
"""
import hmac
import logging
import threading
import time

from flask import current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

from app.errors import AppError
from app.extensions import limiter
from app.firebase import UserNotFoundError, db, get_firebase

logger = logging.getLogger(__name__)

blp = Blueprint("monitoring", __name__, url_prefix="/api/v1", description="Health and metrics")
EXTENSION = "metrics"
READINESS = "readiness"
READINESS_TIMEOUT = 3


class HealthOut(Schema):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class Metrics:
    def __init__(self, multiproc_dir):
        self.registry = CollectorRegistry()
        self.multiproc_dir = multiproc_dir
        self.requests = Counter("boxoffice_http_requests_total", "HTTP requests answered",
                                ["method", "endpoint", "status"], registry=self.registry)
        self.latency = Histogram("boxoffice_http_request_duration_seconds", "Time to answer HTTP requests",
                                 ["method", "endpoint"], registry=self.registry)

    def exposition(self):
        if self.multiproc_dir:
            # Under several gunicorn workers each keeps its own counters in
            # files; this collector sums them at scrape time.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class Readiness:
    """The last readiness answer, reused for a few seconds: probes cost one Firestore read and one Auth call
    per process and interval, however many arrive, and concurrent ones wait for a single check."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._checks = None
        self._until = 0.0
        self._lock = threading.Lock()

    def checks(self):
        with self._lock:
            if time.time() >= self._until:
                self._checks = _run_checks()
                self._until = time.time() + self.seconds
            return self._checks


def init_app(app):
    metrics = Metrics(app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    app.extensions[EXTENSION] = metrics
    app.extensions[READINESS] = Readiness(app.config["READINESS_CACHE_SECONDS"])

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _record(response):
        started = g.get("metrics_started")
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            metrics.requests.labels(request.method, endpoint, response.status_code).inc()
            metrics.latency.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response


def _check_firestore():
    db().collection("_health").document("ready").get(timeout=READINESS_TIMEOUT, retry=None)


def _check_auth():
    try:
        get_firebase().get_user("readiness-probe")
    except UserNotFoundError:
        pass


def _run_checks():
    checks = {}
    for name, check in (("firestore", _check_firestore), ("auth", _check_auth)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure of a dependency means not ready
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unreachable"
            if name == "firestore":
                get_firebase().reconnect()
    return checks


@blp.route("/health", methods=["GET"])
@limiter.exempt
@blp.response(200, HealthOut)
def health():
    """Liveness: the process answers"""
    return {"status": "ok", "checks": {}}


@blp.route("/health/ready", methods=["GET"])
@limiter.exempt
@blp.response(200, HealthOut)
@blp.alt_response(503, description="A dependency is unreachable")
def ready():
    """Readiness: Firestore and Firebase Auth answer (checked at most every few seconds)"""
    checks = current_app.extensions[READINESS].checks()
    if any(state != "ok" for state in checks.values()):
        raise AppError("not_ready", "A dependency is unreachable.", details={"checks": checks})
    return {"status": "ready", "checks": checks}


@blp.route("/metrics", methods=["GET"])
@limiter.exempt
@blp.response(200, description="Prometheus text exposition")
def metrics():
    """Prometheus metrics; with METRICS_TOKEN set, only for 'Authorization: Bearer <METRICS_TOKEN>'"""
    token = current_app.config["METRICS_TOKEN"]
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                                         f"Bearer {token}".encode()):
        raise AppError("unauthorized", "The metrics need 'Authorization: Bearer <METRICS_TOKEN>'.")
    body = current_app.extensions[EXTENSION].exposition()
    return current_app.response_class(body, mimetype=CONTENT_TYPE_LATEST)
