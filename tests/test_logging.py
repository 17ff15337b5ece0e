"""Request ids on every line, JSON in production format, slow-request warnings, the redacting filter.

That a full journey logs no secret is tests/hardening/test_secrets_in_logs.py.
"""
import json


def test_request_id_is_taken_from_the_client_and_echoed(client):
    response = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_request_id_is_generated_when_missing_or_unsafe(client):
    generated = client.get("/api/v1/health").headers["X-Request-ID"]
    unsafe = client.get("/api/v1/health", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert len(generated) == 32 and len(unsafe) == 32 and generated != unsafe


def test_json_log_lines_carry_the_request_id(make_app, tmp_path):
    client = make_app(LOG_FORMAT="json", LOG_DIR=str(tmp_path)).test_client()
    client.get("/api/v1/health", headers={"X-Request-ID": "json-line-1"})
    lines = [json.loads(line) for line in (tmp_path / "app.log").read_text().splitlines()]
    request_line = next(line for line in lines if line["request_id"] == "json-line-1")
    assert request_line["path"] == "/api/v1/health"
    assert request_line["status"] == 200
    assert request_line["level"] == "INFO"


def test_slow_requests_are_logged_as_warnings(make_app, tmp_path):
    client = make_app(SLOW_REQUEST_MS=0, LOG_FORMAT="json", LOG_DIR=str(tmp_path)).test_client()
    client.get("/api/v1/health/ready", headers={"X-Request-ID": "slow-1"})
    lines = [json.loads(line) for line in (tmp_path / "app.log").read_text().splitlines()]
    assert any(line["level"] == "WARNING" and line["message"].startswith("slow request")
               and line["request_id"] == "slow-1" for line in lines)


def test_the_redacting_filter_masks_secrets_in_any_log_call():
    from app.logging import redact

    assert "hunter2" not in redact('login failed {"password": "hunter2"}')
    assert "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig" not in redact("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig")
    assert "abc.def" not in redact("Authorization: Bearer abc.def")
