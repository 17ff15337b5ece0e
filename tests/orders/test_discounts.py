"""Discount codes: managing them, what they take off, and a limit that holds under concurrency."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.timeutil import utcnow
from tests.factories import race
from tests.orders.conftest import error


def codes(shop, user):
    return shop.client.get(f"/api/v1/events/{shop.id}/discounts", headers=user.headers)


def test_owners_and_admins_manage_codes_and_others_do_not(make_shop, make_user):
    shop = make_shop()
    organizer, admin, buyer = make_user(Role.ORGANIZER), make_user(Role.ADMIN), make_user()
    body = {"code": "early-bird", "kind": "percent", "percent_off": 10}
    base = f"/api/v1/events/{shop.id}/discounts"
    assert shop.client.post(base, json=body, headers=buyer.headers).status_code == 403
    assert shop.client.post(base, json=body, headers=organizer.headers).status_code == 403
    created = shop.client.post(base, json=body, headers=shop.owner.headers)
    assert created.status_code == 201 and created.json["code"] == "EARLY-BIRD" and created.json["redemptions"] == 0
    assert error(shop.client.post(base, json=body, headers=admin.headers)) == (409, "already_exists")
    assert [d["code"] for d in codes(shop, admin).json] == ["EARLY-BIRD"]
    assert codes(shop, organizer).status_code == 403
    patched = shop.client.patch(f"{base}/early-bird", json={"max_redemptions": 5}, headers=shop.owner.headers)
    assert patched.status_code == 200 and patched.json["max_redemptions"] == 5
    assert shop.client.patch(f"{base}/early-bird", json={"max_redemptions": 5},
                             headers=organizer.headers).status_code == 403
    assert shop.client.delete(f"{base}/early-bird", headers=shop.owner.headers).status_code == 204
    assert codes(shop, shop.owner).json == []
    assert shop.client.delete(f"{base}/early-bird", headers=shop.owner.headers).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"code": "X1", "kind": "percent", "percent_off": 10}, "code"),
    ({"code": "SAVE-CODE", "kind": "percent"}, "percent_off"),
    ({"code": "SAVE-CODE", "kind": "percent", "percent_off": 101}, "percent_off"),
    ({"code": "SAVE-CODE", "kind": "percent", "percent_off": 10.5}, "percent_off"),
    ({"code": "SAVE-CODE", "kind": "fixed", "amount_off": 5, "percent_off": 5}, "percent_off"),
    ({"code": "SAVE-CODE", "kind": "fixed", "amount_off": "5"}, "amount_off"),
    ({"code": "SAVE-CODE", "kind": "percent", "percent_off": 5, "ticket_type_ids": ["nope"]}, "ticket_type_ids"),
])
def test_bad_codes_are_422(make_shop, body, field):
    shop = make_shop()
    response = shop.client.post(f"/api/v1/events/{shop.id}/discounts", json=body, headers=shop.owner.headers)
    assert error(response) == (422, "validation_error")
    assert field in response.json["error"]["details"]["fields"]


def test_percent_and_fixed_codes_are_applied_on_the_server(make_shop, make_user):
    shop = make_shop(capacity=10, price=1000)
    buyer = make_user()
    shop.add_discount(code="TENOFF10", kind="percent", percent_off=10)
    shop.add_discount(code="MINUS100", kind="fixed", amount_off=100)
    shop.add_discount(code="HUGEDEAL", kind="fixed", amount_off=10_000)
    percent = shop.buy(buyer, 3, code="tenoff10")
    assert (percent["subtotal"], percent["discount"], percent["total"]) == (3000, 300, 2700)
    assert percent["discount_code"] == "TENOFF10"
    fixed = shop.buy(buyer, 3, code="MINUS100")
    assert (fixed["discount"], fixed["total"]) == (100, 2900)
    assert fixed["items"][0]["discount"] == 100
    free = shop.buy(make_user(), 2, code="HUGEDEAL")
    assert (free["total"], free["state"]) == (0, "paid")
    assert error(shop.order(buyer, shop.hold(buyer)["id"], code="NOPENOPE")) == (422, "discount_invalid")


def test_a_code_for_one_ticket_type_discounts_only_that_type(make_shop, make_user, make_ticket_type):
    shop = make_shop(capacity=5)
    buyer = make_user()
    vip = make_ticket_type(shop.owner, shop.sale.event, name="VIP", price=10_000, capacity=5)
    shop.add_discount(code="VIP-HALF", kind="percent", percent_off=50, ticket_type_ids=[vip["id"]])
    hold = shop.client.post(f"/api/v1/events/{shop.id}/holds", headers=buyer.headers, json={"items": [
        {"ticket_type_id": shop.sale.general["id"], "quantity": 1}, {"ticket_type_id": vip["id"], "quantity": 1}]})
    order = shop.order(buyer, hold.json["id"], code="VIP-HALF").json
    assert (order["subtotal"], order["discount"], order["total"]) == (12_500, 5_000, 7_500)
    by_type = {item["ticket_type_id"]: item for item in order["items"]}
    assert by_type[vip["id"]]["total"] == 5_000 and by_type[shop.sale.general["id"]]["discount"] == 0
    other = shop.hold(buyer)
    assert error(shop.order(buyer, other["id"], code="VIP-HALF")) == (422, "discount_invalid")


def test_a_code_outside_its_window_is_refused(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    now = utcnow()
    shop.add_discount(code="LATER-ON", kind="percent", percent_off=5, valid_from=(now + timedelta(days=1)).isoformat())
    shop.add_discount(code="GONE-NOW", kind="percent", percent_off=5, valid_until=(now + timedelta(minutes=1)).isoformat())
    assert error(shop.order(buyer, shop.hold(buyer)["id"], code="LATER-ON")) == (422, "discount_invalid")
    with time_machine.travel(now + timedelta(minutes=2), tick=True):
        assert error(shop.order(buyer, shop.hold(buyer)["id"], code="GONE-NOW")) == (422, "discount_invalid")


def test_the_limit_holds_and_expired_orders_give_their_redemption_back(app, make_shop, make_user):
    shop = make_shop(capacity=10)
    buyer = make_user()
    shop.add_discount(code="ONCE-ONLY", kind="percent", percent_off=10, max_redemptions=1)
    first = shop.buy(buyer, code="ONCE-ONLY")
    assert error(shop.order(buyer, shop.hold(buyer)["id"], code="ONCE-ONLY")) == (422, "discount_invalid")
    assert codes(shop, shop.owner).json[0]["redemptions"] == 1
    assert shop.cancel(buyer, first["id"]).status_code == 200
    assert codes(shop, shop.owner).json[0]["redemptions"] == 0
    assert shop.buy(buyer, code="ONCE-ONLY")["discount"] == 250


def test_concurrent_buyers_never_redeem_a_code_past_its_limit(app, make_shop, make_user):
    shop = make_shop(capacity=10)
    shop.add_discount(code="LAST-ONE", kind="fixed", amount_off=500, max_redemptions=1)
    buyers = [make_user() for _ in range(3)]
    holds = [shop.hold(b) for b in buyers]

    def attempt(buyer, hold):
        def call(client):
            return client.post("/api/v1/orders", json={"hold_id": hold["id"], "payment_method": "manual",
                                                       "discount_code": "LAST-ONE"}, headers=buyer.headers)
        return call

    results = race(app, [attempt(b, h) for b, h in zip(buyers, holds)])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 422, 422], [r.json for r in results]
    assert {r.json["error"]["code"] for r in results if r.status_code == 422} == {"discount_invalid"}
    assert codes(shop, shop.owner).json[0]["redemptions"] == 1


def test_a_code_deleted_and_created_again_counts_only_its_own_redemptions(make_shop, make_user):
    shop = make_shop(capacity=10)
    first, second, third = make_user(), make_user(), make_user()
    shop.add_discount(code="ONCEONLY", kind="percent", percent_off=10, max_redemptions=1)
    old_order = shop.buy(first, code="ONCEONLY")
    base = f"/api/v1/events/{shop.id}/discounts"
    assert shop.client.delete(f"{base}/ONCEONLY", headers=shop.owner.headers).status_code == 204
    assert shop.add_discount(code="ONCEONLY", kind="percent", percent_off=10, max_redemptions=1)["redemptions"] == 0
    shop.buy(second, code="ONCEONLY")
    # The old order's cancellation gives its redemption back to the old code, not to the new one.
    assert shop.cancel(first, old_order["id"]).status_code == 200
    assert [d["redemptions"] for d in codes(shop, shop.owner).json] == [1]
    assert error(shop.order(third, shop.hold(third)["id"], code="ONCEONLY")) == (422, "discount_invalid")
