"""Headers an API owes its clients: security headers everywhere, CORS only for configured origins."""


def test_every_response_carries_security_headers(client):
    for response in (client.get("/api/v1/health"), client.get("/api/v1/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


def test_the_docs_page_may_load_only_its_own_scripts_and_styles(client):
    policy = client.get("/api/v1/docs").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "https:" not in policy


def test_authenticated_answers_are_not_cached_by_intermediaries(client, make_user):
    assert client.get("/api/v1/auth/me", headers=make_user().headers).headers["Cache-Control"] == "no-store"


def test_hsts_when_configured(make_app):
    response = make_app(HSTS_SECONDS=600).test_client().get("/api/v1/health")
    assert response.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


def test_cors_answers_configured_origins_only(make_app):
    client = make_app(CORS_ORIGINS=["https://tickets.example"]).test_client()
    preflight = client.options("/api/v1/events", headers={
        "Origin": "https://tickets.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://tickets.example"
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    simple = client.get("/api/v1/health", headers={"Origin": "https://tickets.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://tickets.example"
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]

    stranger = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_no_cors_headers_without_configured_origins(client):
    response = client.get("/api/v1/health", headers={"Origin": "https://tickets.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
