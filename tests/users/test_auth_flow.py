"""Identity over REST against the real Auth emulator: sessions, profile, roles."""
import time

import requests

from app.auth import Role
from tests.conftest import PROJECT_ID


def register(client, email="new@example.test", password="good-pass-1", **extra):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password, **extra})


def test_register_returns_a_session_that_identifies_the_new_user(client):
    response = register(client, display_name="Nina New")
    assert response.status_code == 201
    session = response.json
    assert set(session) == {"uid", "id_token", "refresh_token", "expires_in"}
    assert session["expires_in"] > 0

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session['id_token']}"})
    assert me.status_code == 200
    assert me.json["uid"] == session["uid"]
    assert me.json["email"] == "new@example.test"
    assert me.json["display_name"] == "Nina New"
    assert me.json["role"] == "customer"


def test_register_twice_with_one_email_is_a_conflict(client):
    assert register(client).status_code == 201
    again = register(client)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "email_taken"


def test_register_rejects_a_short_password_and_creates_nothing(client, app):
    response = register(client, email="short@example.test", password="123")
    assert response.status_code == 422
    assert "password" in response.json["error"]["details"]["fields"]
    login = client.post("/api/v1/auth/login", json={"email": "short@example.test", "password": "123"})
    assert login.status_code == 401


def test_login_with_the_right_password_gives_a_working_token(client, make_user):
    user = make_user()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert response.status_code == 200
    assert response.json["uid"] == user.uid
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json['id_token']}"})
    assert me.json["uid"] == user.uid


def test_login_with_a_wrong_password_is_401(client, make_user):
    user = make_user()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": "not-it-at-all"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"


def test_login_with_an_unknown_email_answers_like_a_wrong_password(client):
    response = client.post("/api/v1/auth/login", json={"email": "ghost@example.test", "password": "whatever1"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"


def test_refresh_gives_a_new_working_id_token(client, make_user):
    user = make_user()
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 200
    assert response.json["uid"] == user.uid
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json['id_token']}"})
    assert me.status_code == 200


def test_refresh_with_a_bad_refresh_token_is_401(client):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-refresh-token"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_refresh_token"


def test_password_reset_sends_a_code_for_known_addresses_and_says_the_same_for_unknown(client, make_user, stack):
    user = make_user()
    known = client.post("/api/v1/auth/password-reset", json={"email": user.email})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 204
    codes = requests.get(f"http://{stack.auth_host}/emulator/v1/projects/{PROJECT_ID}/oobCodes", timeout=10).json()
    # Codes outlive the accounts reset between tests, so look only at this test's addresses.
    sent_to = [c["email"] for c in codes["oobCodes"] if c["requestType"] == "PASSWORD_RESET"]
    assert sent_to.count(user.email) == 1
    assert "nobody@example.test" not in sent_to


def test_a_role_change_takes_effect_with_the_next_token_and_revokes_refresh_tokens(client, make_user, app):
    admin = make_user(Role.ADMIN)
    user = make_user()
    before = app.extensions["firebase"].get_user(user.uid).tokens_valid_after_timestamp
    # Revocation is recorded in whole seconds: step into the next one so it can show.
    time.sleep(1 - time.time() % 1)

    response = client.put(f"/api/v1/admin/users/{user.uid}/role", json={"role": "organizer"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json["role"] == "organizer"
    assert app.extensions["firebase"].get_user(user.uid).tokens_valid_after_timestamp > before

    # The token issued before the change is refused, so its old claims cannot be used...
    old = client.get("/api/v1/auth/me", headers=user.headers)
    assert (old.status_code, old.json["error"]["code"]) == (401, "token_revoked")
    # ...and a new one carries the new role.
    session = client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}).json
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session['id_token']}"})
    assert me.json["role"] == "organizer"


def test_only_admins_change_roles(client, make_user):
    organizer = make_user(Role.ORGANIZER)
    target = make_user()
    response = client.put(f"/api/v1/admin/users/{target.uid}/role", json={"role": "admin"},
                          headers=organizer.headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_role_change_for_an_unknown_user_is_404_and_a_bad_role_is_422(client, make_user):
    admin = make_user(Role.ADMIN)
    missing = client.put("/api/v1/admin/users/no-such-uid/role", json={"role": "staff"}, headers=admin.headers)
    assert missing.status_code == 404
    bad = client.put(f"/api/v1/admin/users/{admin.uid}/role", json={"role": "emperor"}, headers=admin.headers)
    assert bad.status_code == 422
    assert "role" in bad.json["error"]["details"]["fields"]


def test_profile_update_changes_only_what_was_sent(client, make_user):
    user = make_user()
    response = client.patch("/api/v1/users/me", json={"display_name": "Pat"}, headers=user.headers)
    assert response.status_code == 200
    assert response.json["display_name"] == "Pat"
    assert client.get("/api/v1/auth/me", headers=user.headers).json["display_name"] == "Pat"


def test_profile_update_with_bad_input_is_422_and_changes_nothing(client, make_user):
    user = make_user()
    client.patch("/api/v1/users/me", json={"display_name": "Kept"}, headers=user.headers)
    # A phone number is verified, not typed in (tests/users/test_phones.py).
    for body in ({"phone": "+4915112345678"}, {"display_name": "Lost", "locale": "english"}, {},
                 {"display_name": "Lost", "role": "admin"}):
        response = client.patch("/api/v1/users/me", json=body, headers=user.headers)
        assert response.status_code == 422, body
    me = client.get("/api/v1/auth/me", headers=user.headers).json
    assert me["display_name"] == "Kept"
    assert me["role"] == "customer"


def test_devices_register_once_per_token_and_can_be_removed(client, make_user):
    user = make_user()
    first = client.post("/api/v1/users/me/devices", json={"token": "fcm-token-1", "platform": "android"},
                        headers=user.headers)
    again = client.post("/api/v1/users/me/devices", json={"token": "fcm-token-1", "platform": "android"},
                        headers=user.headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert "token" not in first.json

    deleted = client.delete(f"/api/v1/users/me/devices/{first.json['id']}", headers=user.headers)
    assert deleted.status_code == 204
    gone = client.delete(f"/api/v1/users/me/devices/{first.json['id']}", headers=user.headers)
    assert gone.status_code == 404


def test_device_registration_validates_the_platform(client, make_user):
    user = make_user()
    response = client.post("/api/v1/users/me/devices", json={"token": "t", "platform": "fridge"},
                           headers=user.headers)
    assert response.status_code == 422
    assert "platform" in response.json["error"]["details"]["fields"]


def test_deleting_my_account_erases_login_and_personal_data(client, make_user, app, verify_phone):
    from app.firebase import UserNotFoundError, db

    user = make_user()
    client.patch("/api/v1/users/me", json={"display_name": "Gone Soon"}, headers=user.headers)
    verify_phone(user, "+4915112345678")
    client.post("/api/v1/users/me/devices", json={"token": "fcm-x", "platform": "ios"}, headers=user.headers)

    assert client.delete("/api/v1/users/me", headers=user.headers).status_code == 204

    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert login.status_code == 401
    with app.app_context():
        try:
            app.extensions["firebase"].get_user(user.uid)
            raise AssertionError("the Auth account still exists")
        except UserNotFoundError:
            pass
        profile = db().collection("users").document(user.uid).get().to_dict()
        devices = list(db().collection("users").document(user.uid).collection("devices").stream())
    assert profile["email"] is None and profile["display_name"] is None and profile["phone"] is None
    assert profile["deleted_at"] is not None
    assert devices == []
