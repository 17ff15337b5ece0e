"""The production path: ID tokens verified by signature against published certificates.

A locally generated RSA key stands in for Google's signing key; its
certificate is served from a loopback HTTP server that the app is configured
to fetch certificates from. Everything else is the production code path.
"""
import base64
import datetime
import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app import create_app
from app.auth import load_user, token_cache
from app.config import ProductionConfig
from app.errors import AppError

PROJECT = "boxoffice-prod-test"
KID = "test-key-1"


def _key_and_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def signing():
    key, cert = _key_and_cert()
    other_key, _ = _key_and_cert()
    body = json.dumps({KID: cert}).encode()

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"key": key, "other_key": other_key, "url": f"http://127.0.0.1:{server.server_port}/certs"}
    server.shutdown()
    server.server_close()


@pytest.fixture
def prod_app(signing, tmp_path):
    key_pem = signing["key"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode()
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": KID, "private_key": key_pem,
        "client_email": f"test@{PROJECT}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    environ = {
        "FIREBASE_PROJECT_ID": PROJECT, "FIREBASE_CREDENTIALS": str(account), "FIREBASE_WEB_API_KEY": "k",
        "SECRET_KEY": "s" * 40, "FIREBASE_ID_TOKEN_CERTS_URL": signing["url"], "LOG_DIR": str(tmp_path),
        "SMTP_HOST": "127.0.0.1",
        # No Firestore answers here: the first revocation read gives up at once and requests go on.
        "FIRESTORE_TIMEOUT_SECONDS": "1",
    }
    return create_app(ProductionConfig(environ=environ))


def make_token(key, kid=KID, **overrides):
    now = int(time.time())
    claims = {"iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT, "sub": "uid-1",
              "user_id": "uid-1", "iat": now - 5, "exp": now + 3600, "auth_time": now - 5,
              "email": "p@example.test", "role": "organizer", **overrides}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def identify(app, token):
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        return load_user()


def rejected_code(app, token):
    with pytest.raises(AppError) as caught:
        identify(app, token)
    assert caught.value.status == 401
    return caught.value.code


def test_a_correctly_signed_token_identifies_the_user_and_role(prod_app, signing):
    user = identify(prod_app, make_token(signing["key"]))
    assert user.uid == "uid-1"
    assert user.role == "organizer"


def tamper(token):
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_token_is_rejected(prod_app, signing):
    token = make_token(signing["key"])
    assert identify(prod_app, token).role == "organizer"
    assert rejected_code(prod_app, tamper(token)) == "invalid_token"


@pytest.mark.parametrize("case, overrides, code", [
    ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "token_expired"),
    ("other audience", {"aud": "another-project"}, "invalid_token"),
    ("other issuer", {"iss": "https://securetoken.google.com/another-project"}, "invalid_token"),
    ("empty subject", {"sub": ""}, "invalid_token"),
])
def test_tokens_failing_a_claim_check_are_rejected(prod_app, signing, case, overrides, code):
    assert rejected_code(prod_app, make_token(signing["key"], **overrides)) == code


def test_a_token_signed_by_another_key_is_rejected(prod_app, signing):
    assert rejected_code(prod_app, make_token(signing["other_key"])) == "invalid_token"


def test_an_unsigned_emulator_style_token_is_rejected(prod_app):
    now = int(time.time())
    token = jwt.encode({"iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT, "sub": "uid-1",
                        "iat": now, "exp": now + 3600}, key=None, algorithm="none")
    assert rejected_code(prod_app, token) == "invalid_token"


def test_verified_claims_are_cached_until_the_token_expires(prod_app, signing):
    token = make_token(signing["key"])
    identify(prod_app, token)
    with prod_app.app_context():
        cached = token_cache().get(token)
    assert cached["uid"] == "uid-1"


def test_the_api_answers_401_json_for_a_tampered_token(prod_app, signing):
    response = prod_app.test_client().get("/api/v1/auth/me",
                                          headers={"Authorization": f"Bearer {tamper(make_token(signing['key']))}"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
