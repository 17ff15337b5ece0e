"""Every failure answers with the one JSON error shape, carrying the request id."""
import pathlib
import re
import time

import jwt
import pytest

from app.auth import Role
from app.errors import CATALOGUE, AppError
from devstack import free_port


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    return body["error"]


def unsigned_token(**claims):
    now = int(time.time())
    payload = {"iss": "https://securetoken.google.com/demo-boxoffice-test", "aud": "demo-boxoffice-test",
               "sub": "someone", "user_id": "someone", "iat": now - 10, "exp": now + 3600, "auth_time": now - 10,
               **claims}
    return jwt.encode(payload, key=None, algorithm="none")


TOKENS = {
    "missing": (None, "missing_token"),
    "not bearer": ("Basic dXNlcjpwYXNz", "invalid_token"),
    "empty bearer": ("Bearer ", "invalid_token"),
    "garbage": ("Bearer not.a.token", "invalid_token"),
    "expired": (lambda: f"Bearer {unsigned_token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)}",
                "token_expired"),
    "other project": (lambda: f"Bearer {unsigned_token(aud='someone-else')}", "invalid_token"),
}


@pytest.mark.parametrize("case", TOKENS)
def test_bad_tokens_are_401_json(client, case):
    header, code = TOKENS[case]
    header = header() if callable(header) else header
    headers = {"Authorization": header} if header is not None else {}
    error = assert_error(client.get("/api/v1/auth/me", headers=headers), 401, code)
    assert error["code"] == code


def test_401_says_how_to_authenticate(client):
    response = client.get("/api/v1/auth/me")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_403_for_a_role_that_is_not_allowed(client, make_user):
    customer = make_user()
    response = client.put(f"/api/v1/admin/users/{customer.uid}/role", json={"role": "admin"},
                          headers=customer.headers)
    assert_error(response, 403, "forbidden")


def test_404_for_an_unknown_path(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_405_names_the_allowed_methods(client):
    response = client.delete("/api/v1/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_413_for_a_body_over_the_limit(make_app, make_user):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    user = make_user()
    response = client.patch("/api/v1/users/me", json={"display_name": "x" * 5000}, headers=user.headers)
    assert_error(response, 413, "payload_too_large")


def test_415_for_a_body_that_is_not_json(client, make_user):
    user = make_user()
    response = client.patch("/api/v1/users/me", data="display_name=x", headers=user.headers,
                            content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_400_for_malformed_json_and_nothing_changes(client, make_user):
    user = make_user()
    client.patch("/api/v1/users/me", json={"display_name": "Before"}, headers=user.headers)
    response = client.patch("/api/v1/users/me", data='{"display_name": "After"', headers=user.headers,
                            content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert client.get("/api/v1/auth/me", headers=user.headers).json["display_name"] == "Before"


def test_422_names_each_bad_field(client):
    response = client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "x", "extra": 1})
    error = assert_error(response, 422, "validation_error")
    assert set(error["details"]["fields"]) == {"email", "password", "extra"}


def test_429_with_retry_after_on_the_auth_endpoints(make_app, make_user):
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="2 per minute").test_client()
    user = make_user()
    body = {"email": user.email, "password": user.password}
    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    response = client.post("/api/v1/auth/login", json=body)
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_500_leaks_nothing_and_is_logged_with_the_request_id(make_app, tmp_path):
    app = make_app(LOG_DIR=str(tmp_path))

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals: db password hunter2")

    response = app.test_client().get("/api/v1/boom", headers={"X-Request-ID": "req-500-test"})
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert error["request_id"] == "req-500-test"
    logged = (tmp_path / "error.log").read_text()
    assert "req-500-test" in logged and "RuntimeError" in logged


def test_app_errors_take_their_status_from_the_catalogue_and_keep_details(make_app):
    app = make_app()

    @app.get("/api/v1/sold-out")
    def sold_out():
        raise AppError("sold_out", "No tickets left.", details={"ticket_type_id": "t1"})

    @app.get("/api/v1/busy")
    def busy():
        raise AppError("busy")

    error = assert_error(app.test_client().get("/api/v1/sold-out"), 409, "sold_out")
    assert error["details"] == {"ticket_type_id": "t1"}
    assert error["message"] == "No tickets left."
    response = app.test_client().get("/api/v1/busy")
    assert assert_error(response, 503, "busy")["message"] == CATALOGUE["busy"].message
    assert response.headers["Retry-After"] == "1"


def _raised_codes():
    """Every code the app's source raises: AppError("code" ...), and the helpers that pass one through."""
    patterns = [re.compile(p, re.M) for p in (
        r'(?:AppError|_unauthorized)\(\s*"([a-z_]+)"',  # AppError("sold_out", ...)
        r'\bcode="([a-z_]+)"',  # helpers that take the code by keyword
        r'_hold_error\(.*?, "([a-z_]+)", "',  # _hold_error(hold, "hold_converted", "message")
        r'IdentityError\(\w+, "([a-z_]+)"',
        r'^\s+"[A-Z_]+": \("([a-z_]+)"',  # the Identity Toolkit's reasons
    )]
    codes = {}
    for path in pathlib.Path("app").rglob("*.py"):
        text = path.read_text()
        for code in (c for p in patterns for c in p.findall(text)):
            codes.setdefault(code, path)
    return codes


def test_every_code_the_app_raises_is_in_the_one_catalogue():
    codes = _raised_codes()
    assert len(codes) > 40, "the scan found too few codes to be reading the source"
    missing = {code: str(path) for code, path in codes.items() if code not in CATALOGUE}
    assert not missing


def test_an_unknown_code_is_refused_where_it_is_raised():
    with pytest.raises(KeyError):
        AppError("no_such_code")


def test_the_openapi_document_lists_the_catalogue(client):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["ErrorBody"]
    assert schema["properties"]["code"]["enum"] == sorted(CATALOGUE)


def test_503_when_firestore_is_unreachable(make_app, monkeypatch):
    # A port nobody listens on: the readiness probe must answer 503, not hang or 500.
    # The client libraries read the host from the environment; monkeypatch restores it.
    dead = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", dead)
    client = make_app(FIRESTORE_EMULATOR_HOST=dead).test_client()
    error = assert_error(client.get("/api/v1/health/ready"), 503, "not_ready")
    assert error["details"]["checks"]["firestore"] == "unreachable"
    assert error["details"]["checks"]["auth"] == "ok"


def test_admin_only_endpoint_rejects_organizer_before_validating_body(client, make_user):
    organizer = make_user(Role.ORGANIZER)
    response = client.put("/api/v1/admin/users/x/role", json={"role": "nonsense"}, headers=organizer.headers)
    assert_error(response, 403, "forbidden")


def test_a_transaction_that_lost_a_lock_is_503_busy_not_500(make_app):
    from google.api_core.exceptions import Aborted

    app = make_app()

    @app.get("/api/v1/contended")
    def contended():
        try:
            raise Aborted("Transaction lock timeout.")
        except Aborted:
            raise ValueError("The transaction has no transaction ID, so it cannot be rolled back.")

    response = app.test_client().get("/api/v1/contended")
    assert_error(response, 503, "busy")
    assert response.headers["Retry-After"] == "1"
