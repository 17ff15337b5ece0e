"""Accounts in the back office: changing a password through Firebase, sign-in times, admins finding an account
by e-mail and disabling or enabling it, and a customer downloading their own data."""
from datetime import datetime, timedelta

from app.auth import Role
from app.timeutil import utcnow
from tests.orders.conftest import error


def login(client, user, password=None):
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": password or user.password})


def test_changing_the_password_checks_the_old_one_and_returns_a_new_session(client, make_user, snapshot):
    user = make_user()
    before = snapshot()
    wrong = client.post("/api/v1/users/me/password", headers=user.headers,
                        json={"current_password": "not-my-password", "new_password": "fresh-pass-9"})
    assert error(wrong) == (422, "validation_error")
    assert "current_password" in wrong.json["error"]["details"]["fields"]
    assert snapshot() == before
    changed = client.post("/api/v1/users/me/password", headers=user.headers,
                          json={"current_password": user.password, "new_password": "fresh-pass-9"})
    assert changed.status_code == 200 and changed.json["uid"] == user.uid
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {changed.json['id_token']}"})
    assert me.json["uid"] == user.uid
    assert error(login(client, user)) == (401, "invalid_credentials")
    assert login(client, user, "fresh-pass-9").status_code == 200
    short = client.post("/api/v1/users/me/password", headers=user.headers,
                        json={"current_password": "fresh-pass-9", "new_password": "123"})
    assert error(short) == (422, "validation_error")


def test_an_account_shows_when_it_last_signed_in(client, make_user):
    user = make_user()
    assert login(client, user).status_code == 200
    account = client.get("/api/v1/users/me/account", headers=user.headers).json
    signed_in = datetime.fromisoformat(account["last_sign_in_at"])
    assert utcnow() - timedelta(minutes=5) < signed_in <= utcnow() + timedelta(seconds=5)
    assert (account["uid"], account["disabled"], account["providers"]) == (user.uid, False, ["password"])


def test_admins_find_an_account_by_email_and_disable_and_enable_it(client, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.ORGANIZER)
    found = client.get("/api/v1/admin/users", query_string={"email": user.email}, headers=admin.headers).json
    assert (found["uid"], found["role"], found["disabled"]) == (user.uid, "organizer", False)
    assert error(client.get("/api/v1/admin/users?email=nobody@example.test", headers=admin.headers)) == (
        404, "not_found")
    disabled = client.post(f"/api/v1/admin/users/{user.uid}/disable", headers=admin.headers)
    assert disabled.status_code == 200 and disabled.json["disabled"] is True
    assert error(login(client, user)) == (403, "user_disabled")
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert error(refreshed) == (403, "user_disabled")
    assert client.get(f"/api/v1/admin/users/{user.uid}", headers=admin.headers).json["disabled"] is True
    enabled = client.post(f"/api/v1/admin/users/{user.uid}/enable", headers=admin.headers)
    assert enabled.json["disabled"] is False
    assert login(client, user).status_code == 200
    assert error(client.post(f"/api/v1/admin/users/{admin.uid}/disable", headers=admin.headers)) == (
        409, "cannot_disable_self")
    assert error(client.post("/api/v1/admin/users/no-such-user/disable", headers=admin.headers)) == (404, "not_found")


def test_a_customer_downloads_their_own_data(client, make_user, make_shop):
    shop, buyer, stranger = make_shop(), make_user(), make_user()
    client.patch("/api/v1/users/me", json={"display_name": "Dana Data"}, headers=buyer.headers)
    client.post("/api/v1/users/me/devices", json={"token": "fcm-secret-token", "platform": "ios"},
                headers=buyer.headers)
    paid = shop.paid(buyer, 2)
    shop.buy(stranger)
    download = client.get("/api/v1/users/me/export", headers=buyer.headers)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    data = download.json
    assert (data["profile"]["uid"], data["profile"]["display_name"], data["account"]["email"]) == (
        buyer.uid, "Dana Data", buyer.email)
    assert [order["id"] for order in data["orders"]] == [paid["id"]]
    assert sorted(t["id"] for t in data["tickets"]) == sorted(t["ticket_id"] for t in paid["tickets"])
    assert [d["platform"] for d in data["devices"]] == ["ios"]
    assert "fcm-secret-token" not in download.get_data(as_text=True)
