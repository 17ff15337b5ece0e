"""Revoked sessions on every worker: a demoted admin and an erased account lose their tokens within seconds.

Two apps on the same emulators stand for two gunicorn workers (or hosts): each has its own token cache
and its own copy of the revocations, so what one worker learns the other must read from Firestore.
"""
import time
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.timeutil import utcnow


@pytest.fixture
def other_worker(make_app):
    return make_app().test_client()


def into_the_next_second():
    # Firebase counts revocations in whole seconds: a token issued in the revocation's second stays valid.
    time.sleep(1 - time.time() % 1)


def after_the_poll_interval(app):
    return time_machine.travel(utcnow() + timedelta(seconds=app.config["REVOCATION_POLL_SECONDS"] + 1), tick=True)


def refused(response):
    return (response.status_code, response.json["error"]["code"]) == (401, "token_revoked")


def test_a_demoted_admin_loses_admin_rights_on_every_worker(app, client, other_worker, make_user):
    admin, demoting = make_user(Role.ADMIN), make_user(Role.ADMIN)
    assert other_worker.get("/api/v1/admin/audit", headers=admin.headers).status_code == 200
    into_the_next_second()

    demoted = client.put(f"/api/v1/admin/users/{admin.uid}/role", json={"role": "customer"},
                         headers=demoting.headers)
    assert demoted.status_code == 200, demoted.json

    assert refused(client.get("/api/v1/admin/audit", headers=admin.headers))
    with after_the_poll_interval(app):
        assert refused(other_worker.get("/api/v1/admin/audit", headers=admin.headers))
        assert refused(other_worker.put(f"/api/v1/admin/users/{demoting.uid}/role", json={"role": "customer"},
                                        headers=admin.headers))
    # Signing in again gives a token with the new role, which every worker takes.
    session = client.post("/api/v1/auth/login", json={"email": admin.email, "password": admin.password}).json
    fresh = {"Authorization": f"Bearer {session['id_token']}"}
    assert other_worker.get("/api/v1/auth/me", headers=fresh).json["role"] == "customer"
    assert other_worker.get("/api/v1/admin/audit", headers=fresh).status_code == 403


def test_an_erased_account_can_no_longer_hold_read_orders_or_register_devices(app, client, other_worker, make_user,
                                                                              make_event):
    organizer, buyer = make_user(Role.ORGANIZER), make_user()
    event = make_event(organizer)
    ticket_type = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    assert other_worker.get("/api/v1/orders", headers=buyer.headers).status_code == 200

    assert client.delete("/api/v1/users/me", headers=buyer.headers).status_code == 204

    with after_the_poll_interval(app):
        assert refused(other_worker.post(f"/api/v1/events/{event['id']}/holds", headers=buyer.headers, json={
            "items": [{"ticket_type_id": ticket_type["id"], "quantity": 1}]}))
        assert refused(other_worker.get("/api/v1/orders", headers=buyer.headers))
        assert refused(other_worker.post("/api/v1/users/me/devices", headers=buyer.headers,
                                         json={"token": "fcm-after-erasure", "platform": "ios"}))
    assert client.get(f"/api/v1/events/{event['id']}/availability").json["ticket_types"][0]["remaining"] == \
        ticket_type["capacity"]
