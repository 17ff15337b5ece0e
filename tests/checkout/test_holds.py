"""Holds against the real Firestore emulator: the rules a buyer meets, and the races that must not oversell."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.events import lifecycle
from app.inventory import units
from app.checkout.service import expire_holds
from app.timeutil import utcnow
from tests.factories import current
from tests.factories import race


def code(response):
    return response.status_code, response.json["error"]["code"]


def test_a_hold_claims_units_prices_them_and_lowers_availability(make_sale, make_user):
    sale = make_sale(capacity=5)
    buyer = make_user()
    response = sale.hold(buyer, 2)
    assert response.status_code == 201
    hold = response.json
    assert hold["state"] == "active"
    assert hold["total"] == 2 * sale.general["price"] and hold["currency"] == "EUR"
    # Today's fields stay where clients read them; a line also says its kind and its price breakdown.
    [line] = hold["items"]
    assert {k: line[k] for k in ("ticket_type_id", "name", "quantity", "seats", "unit_price", "subtotal")} == {
        "ticket_type_id": sale.general["id"], "name": "General admission", "quantity": 2, "seats": None,
        "unit_price": 2500, "subtotal": 5000}
    assert (line["kind"], line["tax"], line["total"]) == ("ticket", 0, 5000)
    assert line["details"] == {"ticket_type_id": sale.general["id"], "seats": None}
    assert sale.remaining() == 3
    assert sale.client.get(f"/api/v1/holds/{hold['id']}", headers=buyer.headers).json["id"] == hold["id"]


@pytest.mark.parametrize("body, field", [
    ({}, "_schema"),
    ({"items": [], "seats": []}, "items"),
    ({"items": [{"ticket_type_id": "t", "quantity": 1, "seats": ["stalls:A:1"]}]}, "items"),
    ({"items": [{"kind": "spaceship", "quantity": 1}]}, "items"),
    ({"items": [{"kind": "ticket"}]}, "items"),
    ({"items": [{"ticket_type_id": "t", "quantity": 0}]}, "items"),
    ({"items": [{"ticket_type_id": "t", "quantity": "2"}]}, "items"),
    ({"items": [{"ticket_type_id": "t", "quantity": 1}, {"ticket_type_id": "t", "quantity": 1}]}, "items"),
    ({"seats": ["not-a-seat"]}, "seats"),
    ({"seats": ["stalls:A:1", "stalls:A:1"]}, "seats"),
    ({"items": [{"ticket_type_id": "nope", "quantity": 1}]}, "items"),
    ({"seats": ["stalls:Z:99"]}, "seats"),
    ({"seats": ["roof:A:1"]}, "seats"),
])
def test_bad_hold_requests_are_422_and_change_nothing(make_sale, make_user, body, field):
    sale = make_sale(capacity=5, seated=True)
    response = sale.client.post(f"/api/v1/events/{sale.id}/holds", json=body, headers=make_user().headers)
    assert code(response) == (422, "validation_error")
    assert field in response.json["error"]["details"]["fields"]
    availability = sale.availability()
    assert availability[sale.general["id"]]["remaining"] == 5
    assert availability[sale.seated["id"]]["remaining"] == 5


def test_seated_ticket_types_are_held_by_seat_not_by_quantity(make_sale, make_user):
    sale = make_sale(seated=True)
    response = sale.hold(make_user(), 1, ticket_type=sale.seated)
    assert code(response) == (422, "validation_error")


def test_per_order_limit(make_sale, make_user):
    sale = make_sale(capacity=10, per_order_limit=4)
    assert code(sale.hold(make_user(), 5)) == (422, "per_order_limit")
    assert sale.hold(make_user(), 4).status_code == 201


def test_holds_need_a_published_event_inside_the_sales_window(app, make_sale, make_user):
    buyer = make_user()
    draft = make_sale(publish=False)
    assert code(draft.hold(buyer)) == (404, "not_found")

    later = make_sale(sales_starts_at=utcnow() + timedelta(days=1))
    assert code(later.hold(buyer)) == (409, "not_on_sale")

    cancelled = make_sale()
    with app.app_context():
        lifecycle.cancel_event(cancelled.id, current(cancelled.owner))
    assert code(cancelled.hold(buyer)) == (409, "event_not_on_sale")


def test_holding_needs_a_token(make_sale):
    sale = make_sale()
    response = sale.client.post(f"/api/v1/events/{sale.id}/holds",
                                json={"items": [{"ticket_type_id": sale.general["id"], "quantity": 1}]})
    assert code(response) == (401, "missing_token")


def test_racing_for_the_last_units_sells_exactly_the_capacity(app, make_sale, make_user):
    sale = make_sale(capacity=3)
    buyers = [make_user() for _ in range(6)]
    body = {"items": [{"ticket_type_id": sale.general["id"], "quantity": 1}]}
    results = race(app, [lambda c, b=b: c.post(f"/api/v1/events/{sale.id}/holds", json=body, headers=b.headers)
                         for b in buyers])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201, 201, 409, 409, 409]
    assert {r.json["error"]["code"] for r in results if r.status_code == 409} == {"sold_out"}
    assert sale.remaining() == 0
    with app.app_context():
        assert units.count_live_units(sale.general["id"], utcnow()) == 3


def test_two_buyers_for_one_seat_one_wins(app, make_sale, make_user):
    sale = make_sale(seated=True)
    buyers = [make_user(), make_user()]
    body = {"seats": ["stalls:A:2"]}
    results = race(app, [lambda c, b=b: c.post(f"/api/v1/events/{sale.id}/holds", json=body, headers=b.headers)
                         for b in buyers])
    assert sorted(r.status_code for r in results) == [201, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json["error"]["code"] == "seat_taken"
    seats = {s["id"]: s["state"] for s in sale.availability()[sale.seated["id"]]["seats"]}
    assert seats["stalls:A:2"] == "held" and seats["stalls:A:1"] == "available"


def test_an_expired_hold_frees_its_units_with_no_scheduler_running(make_sale, make_user, app):
    sale = make_sale(capacity=1, seated=True)
    first, second = make_user(), make_user()
    early = sale.hold(first).json
    seat = sale.hold(first, seats=["stalls:B:1"]).json
    assert code(sale.hold(second)) == (409, "sold_out")
    assert code(sale.hold(second, seats=["stalls:B:1"])) == (409, "seat_taken")

    with time_machine.travel(utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1), tick=False):
        assert sale.remaining() == 1
        late = sale.hold(second)
        assert late.status_code == 201
        assert sale.hold(second, seats=["stalls:B:1"]).status_code == 201
        assert sale.client.get(f"/api/v1/holds/{early['id']}", headers=first.headers).json["state"] == "expired"
        assert sale.client.get(f"/api/v1/holds/{seat['id']}", headers=first.headers).json["state"] == "expired"
        assert sale.remaining() == 0
        # The first buyer's late release must not free what now belongs to the second.
        assert sale.release(first, early["id"]).json["state"] == "expired"
        assert sale.remaining() == 0


def test_a_retried_request_with_the_same_idempotency_key_returns_the_first_hold(make_sale, make_user):
    sale = make_sale(capacity=5)
    buyer = make_user()
    first = sale.hold(buyer, 2, key="order-attempt-1")
    again = sale.hold(buyer, 2, key="order-attempt-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert sale.remaining() == 3
    other_body = sale.hold(buyer, 1, key="order-attempt-1")
    assert code(other_body) == (422, "idempotency_key_reused")
    assert sale.hold(make_user(), 2, key="order-attempt-1").json["id"] != first.json["id"]


def test_concurrent_retries_with_one_idempotency_key_hold_once(app, make_sale, make_user):
    sale = make_sale(capacity=5)
    buyer = make_user()
    body = {"items": [{"ticket_type_id": sale.general["id"], "quantity": 2}]}
    headers = {**buyer.headers, "Idempotency-Key": "double-tap"}
    results = race(app, [lambda c: c.post(f"/api/v1/events/{sale.id}/holds", json=body, headers=headers)] * 3)
    assert [r.status_code for r in results] == [201, 201, 201]
    assert len({r.json["id"] for r in results}) == 1
    assert sale.remaining() == 3


def test_release_frees_units_once_and_only_for_the_buyer(make_sale, make_user):
    sale = make_sale(capacity=2)
    buyer, stranger = make_user(), make_user()
    hold = sale.hold(buyer, 2).json
    assert code(sale.release(stranger, hold["id"])) == (404, "not_found")
    assert sale.remaining() == 0
    released = sale.release(buyer, hold["id"])
    assert released.status_code == 200 and released.json["state"] == "released"
    assert sale.remaining() == 2
    assert sale.release(buyer, hold["id"]).json["state"] == "released"
    assert sale.hold(stranger, 2).status_code == 201
    assert sale.remaining() == 0


def test_holds_are_visible_to_their_buyer_the_organizer_and_admins_only(make_sale, make_user):
    sale = make_sale()
    buyer = make_user()
    hold = sale.hold(buyer).json
    url = f"/api/v1/holds/{hold['id']}"
    assert sale.client.get(url, headers=sale.owner.headers).status_code == 200
    assert sale.client.get(url, headers=make_user(Role.ADMIN).headers).status_code == 200
    for outsider in (make_user(), make_user(Role.ORGANIZER), make_user(Role.STAFF)):
        assert code(sale.client.get(url, headers=outsider.headers)) == (404, "not_found")
    assert code(sale.client.get("/api/v1/holds/../x", headers=buyer.headers))[0] == 404


def test_a_buyer_has_a_capped_number_of_active_holds_per_event(make_app, make_sale, make_user):
    app = make_app(MAX_ACTIVE_HOLDS_PER_EVENT=2)
    sale = make_sale(capacity=10)
    sale.client = app.test_client()
    buyer = make_user()
    first = sale.hold(buyer).json
    assert sale.hold(buyer).status_code == 201
    assert code(sale.hold(buyer)) == (409, "too_many_holds")
    assert sale.hold(make_user()).status_code == 201
    sale.release(buyer, first["id"])
    assert sale.hold(buyer).status_code == 201
    assert sale.remaining() == 7


def test_expire_sweep_ends_expired_holds_once_even_when_run_concurrently(app, make_sale, make_user):
    sale = make_sale(capacity=10)
    expiring = [sale.hold(make_user(), 2).json for _ in range(4)]
    later = utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1)
    keeper = make_user()
    with time_machine.travel(later, tick=False):
        fresh = sale.hold(keeper, 1).json
        counts = race(app, [lambda c: _sweep(app)] * 2)
        with app.app_context():
            # A sweep that lost a lock to the other leaves that hold to the next run: never twice, never lost.
            assert sum(counts) + expire_holds() == 4
            assert expire_holds() == 0
            assert units.count_live_units(sale.general["id"], utcnow()) == 1
            assert _claim_documents(sale) == 1
        for hold in expiring:
            assert sale.client.get(f"/api/v1/holds/{hold['id']}", headers=sale.owner.headers).json["state"] == "expired"
        assert sale.client.get(f"/api/v1/holds/{fresh['id']}", headers=keeper.headers).json["state"] == "active"
        assert sale.remaining() == 9


def _claim_documents(sale):
    from app.firebase import db
    from google.cloud.firestore_v1 import FieldFilter

    query = db().collection(units.UNITS).where(filter=FieldFilter("pool", "==", sale.general["id"]))
    return len(list(query.stream()))


def _sweep(app):
    with app.app_context():
        return expire_holds()


def test_a_process_that_saw_none_of_the_sales_still_answers_sold_out(app, make_sale, make_user):
    sale = make_sale(capacity=40, per_order_limit=40)
    assert sale.hold(make_user(), 40).status_code == 201
    # Another gunicorn worker sold these: this process's memory of taken units is empty.
    units.HINT.replace(sale.general["id"], {})
    assert code(sale.hold(make_user())) == (409, "sold_out")


def _held_units(app, hold_id):
    from google.cloud.firestore_v1 import FieldFilter

    from app.firebase import db

    with app.app_context():
        query = db().collection(units.UNITS).where(filter=FieldFilter("hold_id", "==", hold_id))
        return sorted(doc.get("unit") for doc in query.stream())


def test_a_worker_sells_its_own_lane_first_then_what_is_free_in_the_others(app, make_sale, make_user,
                                                                            monkeypatch):
    monkeypatch.setattr(units.HINT, "lane", 0)
    monkeypatch.setattr(units.HINT, "lanes", 2)
    sale = make_sale(capacity=8, per_order_limit=8)
    first = [sale.hold(make_user()).json["id"] for _ in range(4)]
    assert sorted(u for hold_id in first for u in _held_units(app, hold_id)) == [0, 2, 4, 6]
    # The worker of lane 1 sold units 1, 3 and 5; this process never heard of them.
    with app.app_context():
        now = utcnow()
        for unit in (1, 3, 5):
            units.unit_ref(units.unit_id(f"{sale.id}/{sale.general['id']}", unit)).create(units.claim(
                sale.general["id"], unit, hold_id="other-worker", buyer_uid="someone",
                live_until=now + timedelta(minutes=10), now=now))
    last = sale.hold(make_user())
    assert last.status_code == 201 and _held_units(app, last.json["id"]) == [7]
    assert code(sale.hold(make_user())) == (409, "sold_out")


def test_general_admission_and_seats_go_in_one_hold(make_sale, make_user):
    sale = make_sale(capacity=4, seated=True)
    response = sale.client.post(f"/api/v1/events/{sale.id}/holds", headers=make_user().headers, json={
        "items": [{"ticket_type_id": sale.general["id"], "quantity": 2}], "seats": ["stalls:A:1", "stalls:A:2"]})
    assert response.status_code == 201, response.json
    assert [(line["ticket_type_id"], line["quantity"], line["seats"]) for line in response.json["items"]] == [
        (sale.general["id"], 2, None), (sale.seated["id"], 2, ["stalls:A:1", "stalls:A:2"])]
    assert response.json["total"] == 2 * sale.general["price"] + 2 * sale.seated["price"]
    assert sale.remaining() == 2


def test_a_hold_too_large_for_one_commit_is_refused_with_its_cap(make_sale, make_user, make_ticket_type, snapshot):
    sale = make_sale(capacity=100, per_order_limit=100)
    extra = make_ticket_type(sale.owner, sale.event, name="Late", capacity=100, per_order_limit=100)
    buyer = make_user()
    before = snapshot()
    response = sale.client.post(f"/api/v1/events/{sale.id}/holds", headers=buyer.headers, json={"items": [
        {"ticket_type_id": sale.general["id"], "quantity": 60}, {"ticket_type_id": extra["id"], "quantity": 41}]})
    assert code(response) == (422, "validation_error")
    assert response.json["error"]["details"]["limit"] == 100
    assert "at most 100" in response.json["error"]["details"]["fields"]["items"][0]
    assert snapshot() == before
    assert sale.hold(make_user(), 100).status_code == 201
