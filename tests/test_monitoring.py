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
