"""Health, readiness, metrics and the docs page."""
from datetime import timedelta

import time_machine

from app.timeutil import utcnow
from tests.test_outage import CuttableProxy


def test_health_answers_without_dependencies(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_ready_checks_firestore_and_auth(client):
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"firestore": "ok", "auth": "ok"}}


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/api/v1/health")
    client.get("/api/v1/auth/me")
    response = client.get("/api/v1/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'boxoffice_http_requests_total{endpoint="/api/v1/health",method="GET",status="200"} 1.0' in text
    assert 'boxoffice_http_requests_total{endpoint="/api/v1/auth/me",method="GET",status="401"} 1.0' in text
    assert "boxoffice_http_request_duration_seconds_bucket" in text


def test_openapi_document_and_interactive_docs_are_served(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert spec.json["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in spec.json["paths"]
    assert spec.json["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "bearerAuth" in spec.json["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.get_data(as_text=True)


def test_readiness_is_checked_once_per_interval_not_per_request(make_app, stack, monkeypatch):
    # Through a proxy the test can cut: while the answer is reused, Firestore is not asked at all.
    proxy = CuttableProxy(stack.firestore_host)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{proxy.port}")
    try:
        app = make_app(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{proxy.port}", FIRESTORE_TIMEOUT_SECONDS=2)
        client = app.test_client()
        assert client.get("/api/v1/health/ready").status_code == 200
        proxy.cut()
        assert [client.get("/api/v1/health/ready").status_code for _ in range(5)] == [200] * 5
        later = utcnow() + timedelta(seconds=app.config["READINESS_CACHE_SECONDS"] + 1)
        with time_machine.travel(later, tick=True):
            response = client.get("/api/v1/health/ready")
        assert response.status_code == 503 and response.json["error"]["details"]["checks"]["firestore"] == "unreachable"
    finally:
        proxy.close()


def test_metrics_can_be_closed_to_all_but_a_token(make_app):
    client = make_app(METRICS_TOKEN="scrape-secret-0123456789").test_client()
    assert client.get("/api/v1/metrics").status_code == 401
    assert client.get("/api/v1/metrics", headers={"Authorization": "Bearer guessed"}).status_code == 401
    scraped = client.get("/api/v1/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
    assert scraped.status_code == 200 and "boxoffice_http_requests_total" in scraped.get_data(as_text=True)
