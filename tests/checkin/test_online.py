"""Online scans: every result code, nonce idempotency, two gates racing, and who may scan."""
from datetime import timedelta

import pytest

from app.auth import Role
from app.checkin import service as checkin
from app.firebase import db
from tests.checkin.conftest import nonce
from tests.factories import race
from tests.orders.conftest import error


def test_the_first_scan_admits_and_the_second_says_when_and_where(make_door, make_user):
    door = make_door()
    [(ticket_id, code)], _ = door.tickets(make_user())
    first = door.scan(code, gate="north")
    assert first.status_code == 200, first.json
    assert first.json["result"] == "ok" and first.json["ticket"]["id"] == ticket_id
    again = door.scan(code, gate="south")
    assert again.json["result"] == "already_checked_in"
    assert again.json["first_checkin"]["gate"] == "north"
    assert again.json["first_checkin"]["at"] == first.json["scanned_at"]


def test_a_forged_or_garbled_code_is_an_invalid_signature(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    tampered = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    for bad in (tampered, "not-a-code", code[:50]):
        response = door.scan(bad)
        assert response.status_code == 200 and response.json["result"] == "invalid_signature", bad
    assert door.scan(code).json["result"] == "ok"


def test_a_ticket_of_another_event_is_the_wrong_event(make_door, make_user):
    here, there = make_door(), make_door()
    [(_, code)], _ = there.tickets(make_user())
    assert here.scan(code).json["result"] == "wrong_event"
    assert there.scan(code, user=there.staff).json["result"] == "ok"


def test_a_refunded_ticket_is_void(make_door, make_user):
    door = make_door(capacity=3)
    tickets, order = door.tickets(make_user(), 2)
    (refunded_id, refunded_code), (_, kept_code) = tickets
    assert door.shop.refund(door.owner, order["id"], [refunded_id]).status_code in (200, 201)
    response = door.scan(refunded_code)
    assert response.json["result"] == "void" and response.json["reason"] == "refunded"
    assert door.scan(kept_code).json["result"] == "ok"


def test_every_ticket_of_a_cancelled_event_is_void(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    assert door.client.post(f"/api/v1/events/{door.id}/cancel", headers=door.owner.headers).status_code == 200
    response = door.scan(code)
    assert response.json["result"] == "void" and response.json["reason"] == "event_cancelled"


def test_scans_before_doors_open_are_not_valid_yet(make_door, make_user, app):
    door = make_door(starts_in=timedelta(days=2))
    [(_, code)], _ = door.tickets(make_user())
    response = door.scan(code)
    assert response.json["result"] == "not_valid_yet"
    opens = door.shop.sale.event["starts_at"] - timedelta(minutes=app.config["CHECKIN_OPENS_MINUTES_BEFORE_START"])
    assert response.json["opens_at"] == opens.isoformat()
    stats = door.stats().json
    assert stats["checked_in"] == 0 and stats["results"]["not_valid_yet"] == 1


def test_a_repeated_nonce_returns_the_first_result(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    key = nonce()
    first = door.scan(code, nonce_=key)
    again = door.scan(code, nonce_=key, gate="east")
    assert first.json["result"] == again.json["result"] == "ok"
    assert again.json["replayed"] is True and again.json["gate"] == "north"
    assert door.stats().json["entries"] == 1
    reused = door.scan("another-code", nonce_=key)
    assert reused.status_code == 409 and reused.json["error"]["code"] == "nonce_reused"


def test_two_gates_scanning_one_ticket_at_once_admit_it_once(app, make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    results = race(app, [lambda c, gate=gate: door.scan(code, gate=gate, client=c) for gate in ("north", "south")])
    assert all(r.status_code == 200 for r in results), [r.json for r in results]
    assert sorted(r.json["result"] for r in results) == ["already_checked_in", "ok"]
    stats = door.stats().json
    assert stats["checked_in"] == 1 and stats["entries"] == 1


def test_a_ticket_type_that_allows_reentry_admits_again(make_door, make_user):
    door = make_door()
    shop = door.shop
    changed = shop.client.patch(f"/api/v1/events/{door.id}/ticket-types/{shop.sale.general['id']}",
                                json={"allow_reentry": True}, headers=shop.owner.headers)
    assert changed.status_code == 200 and changed.json["allow_reentry"] is True
    [(_, code)], _ = door.tickets(make_user())
    assert door.scan(code, gate="north").json["result"] == "ok"
    again = door.scan(code, gate="south")
    assert again.json["result"] == "ok" and again.json["reentry"] is True
    assert again.json["first_checkin"]["gate"] == "north"
    stats = door.stats().json
    assert (stats["checked_in"], stats["entries"]) == (1, 2)


@pytest.mark.parametrize("who", ["owner", "staff", "admin"])
def test_the_owner_the_venue_staff_and_admins_may_scan(make_door, make_user, who):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    user = {"owner": door.owner, "staff": door.staff, "admin": make_user(Role.ADMIN)}[who]
    assert door.scan(code, user=user).json["result"] == "ok"


def test_staff_of_another_venue_and_buyers_may_not(make_door, make_user):
    door, elsewhere = make_door(), make_door()
    buyer = make_user()
    [(_, code)], _ = door.tickets(buyer)
    other_organizer = make_user(Role.ORGANIZER)
    for user in (elsewhere.staff, buyer, other_organizer):
        assert door.scan(code, user=user).status_code == 403
        assert door.sync(user=user).status_code == 403
        assert door.stats(user=user).status_code == 403
        assert door.client.get(f"/api/v1/events/{door.id}/checkin-key", headers=user.headers).status_code == 403
        assert door.upload([{"code": code, "nonce": nonce(), "gate": "x", "scanned_at": "2030-01-01T00:00:00Z"}],
                           user=user).status_code == 403
    assert door.scan(code).json["result"] == "ok"
    assert door.client.post(f"/api/v1/events/{door.id}/checkins", json={"code": code, "nonce": nonce()}
                            ).status_code == 401


def test_stats_count_per_gate_and_ticket_type(app, make_door, make_user):
    door = make_door(capacity=5)
    codes = [code for _, code in door.tickets(make_user(), 3)[0]]
    for code, gate in zip(codes, ("north", "north", "south")):
        assert door.scan(code, gate=gate).json["result"] == "ok"
    door.scan(codes[0], gate="south")
    door.scan("garbage")
    stats = door.stats(door.owner).json
    assert (stats["checked_in"], stats["entries"], stats["scans"]) == (3, 3, 5)
    assert stats["gates"] == [{"gate": "north", "entries": 2}, {"gate": "south", "entries": 1}]
    assert stats["ticket_types"] == [{"ticket_type_id": door.shop.sale.general["id"], "name": "General admission",
                                      "checked_in": 3}]
    assert stats["results"]["already_checked_in"] == 1 and stats["results"]["invalid_signature"] == 1
    with app.app_context():
        shards = [s for s in db().get_all(checkin.counter_refs(door.id)) if s.exists]
    assert sum(s.get("scans") for s in shards) == 5


def test_the_checkin_key_verifies_codes_offline(make_door, make_user):
    from app.tickets.codes import verify_ticket_code

    door = make_door()
    [(ticket_id, code)], _ = door.tickets(make_user())
    key = door.client.get(f"/api/v1/events/{door.id}/checkin-key", headers=door.staff.headers).json
    assert key["algorithm"] == "Ed25519" and "private_key" not in key
    assert verify_ticket_code(code, key["public_key"], event_id=door.id)["ticket_id"] == ticket_id


def test_a_checked_in_ticket_is_refunded_only_when_the_organizer_says_so(make_door, make_user):
    door = make_door(capacity=3)
    tickets_, order = door.tickets(make_user(), 2)
    (used_id, used_code), (unused_id, _) = tickets_
    assert door.scan(used_code).json["result"] == "ok"
    shop = door.shop
    refused = shop.refund(shop.owner, order["id"])
    assert error(refused) == (409, "checked_in") and refused.json["error"]["details"]["ticket_ids"] == [used_id]
    assert shop.get(shop.owner, order["id"]).json["refunded_amount"] == 0
    assert shop.refund(shop.owner, order["id"], [unused_id]).status_code == 201
    forced = shop.refund(shop.owner, order["id"], [used_id], allow_checked_in=True)
    assert forced.status_code == 201 and forced.json["state"] == "refunded"
    used = shop.client.get(f"/api/v1/tickets/{used_id}", headers=shop.owner.headers).json
    assert used["state"] == "voided" and used["used_gate"] == "north" and used["used_at"]
