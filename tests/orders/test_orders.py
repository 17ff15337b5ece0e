"""Orders from holds: creation, idempotency, who sees what, cancelling, and expiry returning units."""
from datetime import timedelta

import pytest
import time_machine
from google.api_core import exceptions as gexc

from app.auth import Role
from app.events import lifecycle
from app.orders import unpaid
from app.orders.unpaid import expire_orders
from app.timeutil import utcnow
from tests.factories import race
from tests.orders.conftest import error


def test_an_order_takes_over_the_hold_at_the_held_price(make_shop, make_user):
    shop = make_shop(capacity=5)
    buyer = make_user()
    hold = shop.hold(buyer, 2)
    response = shop.order(buyer, hold["id"])
    assert response.status_code == 201, response.json
    order = response.json
    assert order["state"] == "pending_payment"
    assert (order["subtotal"], order["discount"], order["total"], order["currency"]) == (5000, 0, 5000, "EUR")
    [line] = order["items"]
    assert {k: line[k] for k in ("ticket_type_id", "name", "quantity", "seats", "unit_price", "subtotal", "discount",
                                 "total")} == {
        "ticket_type_id": shop.sale.general["id"], "name": "General admission", "quantity": 2, "seats": None,
        "unit_price": 2500, "subtotal": 5000, "discount": 0, "total": 5000}
    assert (line["kind"], [u["amount"] for u in order["units"]]) == ("ticket", [2500, 2500])
    assert (order["tax"], order["service_fee"], order["tip"], order["tickets"]) == (0, 0, 0, [])
    assert order["payment"] == {"method": "manual", "status": "awaiting_box_office"}
    assert shop.remaining() == 3
    converted = shop.client.get(f"/api/v1/holds/{hold['id']}", headers=buyer.headers).json
    assert converted["state"] == "converted"
    assert shop.get(buyer, order["id"]).json["id"] == order["id"]


def test_unpaid_orders_count_against_the_buyers_cap_until_they_end(app, make_shop, make_user):
    shop = make_shop(capacity=10)
    buyer = make_user()
    orders = [shop.buy(buyer) for _ in range(3)]
    # Repeating hold and order cannot collect the stock: each unpaid order keeps its hold slot.
    assert error(shop.sale.hold(buyer)) == (409, "too_many_holds")
    assert shop.cancel(buyer, orders[0]["id"]).status_code == 200
    assert shop.sale.hold(buyer).status_code == 201
    assert error(shop.sale.hold(buyer)) == (409, "too_many_holds")
    assert shop.mark_paid(shop.owner, orders[1]["id"]).status_code == 200
    assert shop.sale.hold(buyer).status_code == 201
    # The payment deadline frees a slot even with the scheduler stopped.
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1), tick=True):
        assert shop.sale.hold(buyer).status_code == 201


def test_free_orders_count_against_the_buyers_cap_for_good(make_shop, make_user):
    shop = make_shop(capacity=50, price=0, per_order_limit=10)
    buyer = make_user()
    for _ in range(3):
        assert shop.buy(buyer, 10)["state"] == "paid"
    assert error(shop.sale.hold(buyer)) == (409, "too_many_holds")
    assert shop.remaining() == 20


def test_a_price_change_after_the_hold_does_not_change_the_order(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    hold = shop.hold(buyer, 2)
    patched = shop.client.patch(f"/api/v1/events/{shop.id}/ticket-types/{shop.sale.general['id']}",
                                json={"price": 9900}, headers=shop.owner.headers)
    assert patched.status_code == 200
    assert shop.order(buyer, hold["id"]).json["total"] == 5000


def test_holds_that_cannot_become_orders(make_shop, make_user):
    shop = make_shop()
    buyer, other = make_user(), make_user()
    hold = shop.hold(buyer)
    assert error(shop.order(other, hold["id"])) == (403, "forbidden")
    assert error(shop.order(buyer, "nosuchhold")) == (404, "not_found")
    released = shop.hold(buyer)
    shop.sale.release(buyer, released["id"])
    assert error(shop.order(buyer, released["id"])) == (409, "hold_released")
    first = shop.order(buyer, hold["id"])
    assert first.status_code == 201
    again = shop.order(buyer, hold["id"])
    assert error(again) == (409, "hold_converted")
    assert again.json["error"]["details"]["order_id"] == first.json["id"]


def test_an_expired_hold_is_409_even_before_the_sweep(app, make_shop, make_user):
    shop = make_shop(capacity=1)
    buyer = make_user()
    hold = shop.hold(buyer)
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1), tick=True):
        assert error(shop.order(buyer, hold["id"])) == (409, "hold_expired")
        # Someone else took the unit over; the first buyer's hold is still expired, not theirs again.
        taker = make_user()
        assert shop.sale.hold(taker).status_code == 201
        assert error(shop.order(buyer, hold["id"])) == (409, "hold_expired")
    assert shop.remaining() == 0


@pytest.mark.parametrize("method", ["stripe", "bitcoin"])
def test_a_payment_method_that_is_not_configured_is_not_offered(make_shop, make_user, method):
    shop = make_shop()
    buyer = make_user()
    hold = shop.hold(buyer)
    response = shop.order(buyer, hold["id"], method=method)
    assert error(response) == (422, "validation_error")
    assert "payment_method" in response.json["error"]["details"]["fields"]
    assert shop.client.get("/api/v1/payments/methods").json == {"methods": ["manual"]}
    assert shop.order(buyer, hold["id"]).status_code == 201


def test_a_retried_order_with_the_same_key_returns_the_first(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    hold = shop.hold(buyer, 2)
    first = shop.order(buyer, hold["id"], key="order-attempt-1")
    second = shop.order(buyer, hold["id"], key="order-attempt-1")
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == second.json["id"]
    assert shop.client.get("/api/v1/orders", headers=buyer.headers).json["items"][0]["id"] == first.json["id"]
    assert len(shop.client.get("/api/v1/orders", headers=buyer.headers).json["items"]) == 1
    other_hold = shop.hold(buyer)
    assert error(shop.order(buyer, other_hold["id"], key="order-attempt-1")) == (422, "idempotency_key_reused")
    # The same key is the buyer's own: another buyer's key space is separate.
    stranger = make_user()
    assert shop.order(stranger, shop.hold(stranger)["id"], key="order-attempt-1").status_code == 201


def test_who_sees_which_orders(make_shop, make_user):
    shop = make_shop()
    buyer, other = make_user(), make_user()
    organizer, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    order = shop.buy(buyer)
    shop.buy(other)

    def listed(user, **query):
        response = shop.client.get("/api/v1/orders", query_string=query, headers=user.headers)
        return response.status_code, sorted(o["buyer_uid"] for o in response.json.get("items", []))

    assert listed(buyer) == (200, [buyer.uid])
    assert listed(shop.owner, event_id=shop.id) == (200, sorted([buyer.uid, other.uid]))
    assert listed(admin, event_id=shop.id) == (200, sorted([buyer.uid, other.uid]))
    assert listed(organizer, event_id=shop.id)[0] == 403
    assert listed(buyer, event_id=shop.id)[0] == 403
    for user, status in ((buyer, 200), (other, 404), (shop.owner, 200), (organizer, 404), (admin, 200)):
        assert shop.get(user, order["id"]).status_code == status
    assert shop.client.get("/api/v1/orders", headers={}).status_code == 401


def test_orders_list_pages_with_a_cursor(make_shop, make_user):
    shop = make_shop(capacity=10)
    buyer = make_user()
    ids = [shop.buy(buyer)["id"] for _ in range(3)]
    first = shop.client.get("/api/v1/orders?limit=2", headers=buyer.headers).json
    second = shop.client.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=buyer.headers).json
    assert sorted(o["id"] for o in first["items"] + second["items"]) == sorted(ids)
    assert second["next_cursor"] is None


def test_cancelling_an_unpaid_order_returns_its_units(make_shop, make_user):
    shop = make_shop(capacity=2)
    buyer, other = make_user(), make_user()
    order = shop.buy(buyer, 2)
    assert shop.remaining() == 0
    assert error(shop.cancel(other, order["id"])) == (404, "not_found")
    response = shop.cancel(buyer, order["id"])
    assert response.status_code == 200 and response.json["state"] == "cancelled"
    assert shop.remaining() == 2
    assert error(shop.cancel(buyer, order["id"])) == (409, "invalid_transition")
    assert shop.buy(other, 2)["state"] == "pending_payment"


def test_an_unpaid_order_expires_at_its_deadline_and_its_units_return_before_any_sweep(app, make_shop, make_user):
    shop = make_shop(capacity=2)
    buyer, next_buyer = make_user(), make_user()
    order = shop.buy(buyer, 2)
    assert shop.remaining() == 0
    later = utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1)
    with time_machine.travel(later, tick=True):
        assert shop.get(buyer, order["id"]).json["state"] == "expired"
        assert shop.remaining() == 2
        assert error(shop.cancel(buyer, order["id"])) == (409, "invalid_transition")
        with app.app_context():
            assert expire_orders() == 1
            assert expire_orders() == 0
        assert shop.get(buyer, order["id"]).json["state"] == "expired"
        assert shop.buy(next_buyer, 2)["state"] == "pending_payment"
        assert shop.remaining() == 0


def test_the_sweep_leaves_orders_inside_their_deadline_alone(app, make_shop, make_user):
    shop = make_shop(capacity=2)
    order = shop.buy(make_user())
    with app.app_context():
        assert expire_orders() == 0
    assert shop.get(shop.owner, order["id"]).json["state"] == "pending_payment"
    assert shop.remaining() == 1


def test_two_sweeps_at_once_expire_each_order_once(app, make_shop, make_user):
    shop = make_shop(capacity=4)
    orders = [shop.buy(make_user(), 2) for _ in range(2)]
    later = utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1)

    def sweep(client):
        with app.app_context():
            return expire_orders()

    with time_machine.travel(later, tick=True):
        assert sum(race(app, [sweep, sweep])) == 2
        assert shop.remaining() == 4
        assert {shop.get(shop.owner, o["id"]).json["state"] for o in orders} == {"expired"}


def _transaction_that_gave_up():
    """What the Firestore library raises once its attempts are spent: its rollback's error, chained to the abort."""
    try:
        try:
            aborted = gexc.Aborted("Transaction lock timeout.")
            raise ValueError("Failed to commit transaction in 5 attempts.") from aborted
        except ValueError:
            raise ValueError("The transaction has no transaction ID, so it cannot be rolled back.")
    except ValueError as error:
        return error


def test_the_sweep_goes_on_past_an_order_whose_transaction_keeps_losing(app, make_shop, make_user, monkeypatch):
    shop = make_shop(capacity=4)
    stuck, other = (shop.buy(make_user(), 2) for _ in range(2))
    real_end = unpaid.end_unpaid

    def end_unless_stuck(order_id, **kwargs):
        if order_id == stuck["id"]:
            raise _transaction_that_gave_up()
        return real_end(order_id, **kwargs)

    with time_machine.travel(utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1), tick=True):
        with app.app_context():
            monkeypatch.setattr(unpaid, "end_unpaid", end_unless_stuck)
            assert expire_orders() == 1
            monkeypatch.setattr(unpaid, "end_unpaid", real_end)
            assert expire_orders() == 1
        assert {shop.get(shop.owner, o["id"]).json["state"] for o in (stuck, other)} == {"expired"}


def test_twelve_identical_orders_from_one_hold_at_once_make_one_order_and_none_is_busy(app, make_shop, make_user):
    shop = make_shop(capacity=5)
    buyer = make_user()
    hold = shop.hold(buyer, 2)
    body = {"hold_id": hold["id"], "payment_method": "manual"}
    results = race(app, [lambda c: c.post("/api/v1/orders", json=body, headers=buyer.headers)] * 12)
    assert 503 not in [r.status_code for r in results]
    created = {r.json["id"] for r in results if r.status_code == 201}
    assert len(created) == 1 and all(r.status_code in (201, 409) for r in results)
    listed = shop.client.get("/api/v1/orders", headers=buyer.headers).json["items"]
    assert [o["id"] for o in listed] == list(created)
    assert shop.remaining() == 3


def test_twelve_identical_mark_paids_at_once_pay_once_and_none_is_busy(app, make_shop, make_user):
    shop = make_shop(capacity=5)
    buyer = make_user()
    order = shop.buy(buyer, 2)
    results = race(app, [lambda c: c.post(f"/api/v1/orders/{order['id']}/mark-paid",
                                          headers=shop.owner.headers)] * 12)
    assert 503 not in [r.status_code for r in results]
    assert all(r.status_code in (200, 409) for r in results) and any(r.status_code == 200 for r in results)
    assert len(shop.client.get("/api/v1/tickets", headers=buyer.headers).json["items"]) == 2
    # The duplicates waited for the first one's answer instead of each settling the order again.
    audit = shop.client.get(f"/api/v1/admin/audit?event_id={shop.id}", headers=make_user(Role.ADMIN).headers).json
    assert [e["action"] for e in audit["items"] if e["action"].startswith("payment.")] == ["payment.paid"]
    # Once it is paid, another mark-paid is refused as it always was.
    assert error(shop.mark_paid(shop.owner, order["id"])) == (409, "invalid_transition")


def test_orders_of_a_deleted_event_stay_readable_and_refundable_by_who_manages_it(app, make_shop, make_user):
    shop = make_shop(capacity=5)
    buyer, admin = make_user(), make_user(Role.ADMIN)
    order = shop.paid(buyer, 2)
    with time_machine.travel(shop.sale.event["ends_at"] + timedelta(minutes=1)):
        with app.app_context():
            assert lifecycle.complete_ended_events() == 1
    deleted = shop.client.delete(f"/api/v1/events/{shop.id}", headers=shop.owner.headers)
    assert deleted.status_code == 204
    assert shop.client.get(f"/api/v1/events/{shop.id}").status_code == 404
    for user in (shop.owner, admin):
        assert shop.get(user, order["id"]).status_code == 200
        listed = shop.client.get(f"/api/v1/orders?event_id={shop.id}", headers=user.headers)
        assert [o["id"] for o in listed.json["items"]] == [order["id"]]
        assert shop.client.get(f"/api/v1/events/{shop.id}/stats", headers=user.headers).status_code == 200
    assert error(shop.get(make_user(Role.ORGANIZER), order["id"])) == (404, "not_found")
    ticket_id = order["tickets"][0]["ticket_id"]
    assert shop.client.get(f"/api/v1/tickets/{ticket_id}", headers=shop.owner.headers).status_code == 200
    refund = shop.refund(shop.owner, order["id"], [ticket_id])
    assert refund.status_code == 201 and refund.json["refunded_amount"] == 2500
    assert shop.refund(admin, order["id"]).json["state"] == "refunded"
