"""No secret reaches a log file, whatever a full journey through the API does, at DEBUG and in both formats."""
import pytest

from app.auth import Role


def journey(client, make_user):
    """Register, log in (also wrongly), refresh, profile, devices, venue, event, ticket type, publish, hold,
    release, and an order paid at the box office where orders exist. Returns every secret it used."""
    password, wrong = "very-secret-password-42", "wrong-password-99"
    session = client.post("/api/v1/auth/register", json={"email": "log@example.test", "password": password}).json
    login = client.post("/api/v1/auth/login", json={"email": "log@example.test", "password": password}).json
    assert client.post("/api/v1/auth/login", json={"email": "log@example.test", "password": wrong}).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).json
    buyer = {"Authorization": f"Bearer {refreshed['id_token']}"}
    assert client.get("/api/v1/auth/me", headers=buyer).status_code == 200
    assert client.patch("/api/v1/users/me", headers=buyer, json={"display_name": "Log Reader"}).status_code == 200
    fcm = "fcm-device-token-secret-1234567890"
    assert client.post("/api/v1/users/me/devices", headers=buyer,
                       json={"token": fcm, "platform": "android"}).status_code == 201
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer garbage-token-value"}).status_code == 401

    organizer, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    assert client.put(f"/api/v1/admin/users/{session['uid']}/role", json={"role": "customer"},
                      headers=admin.headers).status_code == 200
    # The role change revoked the buyer's session: sign in again.
    again = client.post("/api/v1/auth/login", json={"email": "log@example.test", "password": password}).json
    buyer = {"Authorization": f"Bearer {again['id_token']}"}
    venue = client.post("/api/v1/venues", headers=organizer.headers, json={
        "name": "Log Hall", "address": "1 Main Street", "city": "Berlin", "country": "DE", "capacity": 50}).json
    event = client.post("/api/v1/events", headers=organizer.headers, json={
        "venue_id": venue["id"], "title": "Log Night", "category": "music", "timezone": "Europe/Berlin",
        "starts_at": "2031-05-01T19:00:00+00:00", "ends_at": "2031-05-01T22:00:00+00:00"}).json
    ticket_type = client.post(f"/api/v1/events/{event['id']}/ticket-types", headers=organizer.headers, json={
        "name": "Standing", "price": 1500, "currency": "EUR", "kind": "general_admission", "capacity": 10}).json
    assert client.post(f"/api/v1/events/{event['id']}/publish", headers=organizer.headers).status_code == 200
    items = {"items": [{"ticket_type_id": ticket_type["id"], "quantity": 1}]}
    hold = client.post(f"/api/v1/events/{event['id']}/holds", headers=buyer, json=items).json
    assert client.delete(f"/api/v1/holds/{hold['id']}", headers=buyer).status_code == 200

    rules = {rule.rule for rule in client.application.url_map.iter_rules()}
    if "/api/v1/orders/<order_id>/mark-paid" in rules:
        hold = client.post(f"/api/v1/events/{event['id']}/holds", headers=buyer, json=items).json
        order = client.post("/api/v1/orders", headers=buyer, json={"hold_id": hold["id"], "payment_method": "manual"})
        assert order.status_code == 201, order.json
        paid = client.post(f"/api/v1/orders/{order.json['id']}/mark-paid", headers=organizer.headers)
        assert paid.status_code == 200, paid.json
        assert client.get("/api/v1/tickets", headers=buyer).status_code == 200
    secrets = [password, wrong, fcm, "garbage-token-value", session["id_token"], session["refresh_token"],
               login["id_token"], login["refresh_token"], refreshed["id_token"], refreshed["refresh_token"],
               again["id_token"], again["refresh_token"],
               organizer.id_token, organizer.refresh_token, admin.id_token, admin.refresh_token]
    return session["uid"], secrets


@pytest.mark.parametrize("log_format", ["json", "color"])
def test_no_secret_reaches_the_logs(make_app, make_user, tmp_path, log_format):
    client = make_app(LOG_LEVEL="DEBUG", LOG_FORMAT=log_format, LOG_DIR=str(tmp_path)).test_client()
    uid, secrets = journey(client, make_user)

    logs = "".join(path.read_text() for path in tmp_path.rglob("*.log*"))
    assert uid in logs and "hold released" in logs  # the journey was logged...
    leaked = [secret[:12] + "…" for secret in secrets if secret in logs]
    assert not leaked, f"secrets in the logs: {leaked}"  # ...without its secrets
    # Tokens are JWTs: no fragment long enough to be replayed (header.payload) is in there either.
    assert not [s for s in secrets if s.count(".") == 2 and s.rsplit(".", 1)[0] in logs]


def test_no_ticket_code_reaches_the_logs_when_e_mails_go_to_the_console(make_app, make_user, make_event, tmp_path):
    from app.notifications.delivery import deliver_outbox

    app = make_app(LOG_LEVEL="DEBUG", LOG_DIR=str(tmp_path), EMAIL_CHANNEL="console")
    client = app.test_client()
    organizer, buyer = make_user(Role.ORGANIZER), make_user()
    event = make_event(organizer)
    ticket_type = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    hold = client.post(f"/api/v1/events/{event['id']}/holds", headers=buyer.headers,
                       json={"items": [{"ticket_type_id": ticket_type["id"], "quantity": 2}]}).json
    order = client.post("/api/v1/orders", headers=buyer.headers, json={"hold_id": hold["id"],
                                                                       "payment_method": "manual"}).json
    paid = client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=organizer.headers).json
    codes = [client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=buyer.headers).json["code"]
             for t in paid["tickets"]]
    with app.app_context():
        deliver_outbox()

    logs = "".join(path.read_text() for path in tmp_path.rglob("*.log*"))
    assert "e-mail (console)" in logs and paid["tickets"][0]["ticket_id"] in logs  # the e-mail was logged...
    assert not [code for code in codes if code in logs]  # ...without the codes that let a person in
