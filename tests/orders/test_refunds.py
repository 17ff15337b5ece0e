"""Refunds by the organizer or an admin: exact amounts, units back on sale, tickets voided."""
from app.auth import Role
from tests.factories import race
from tests.orders.conftest import error


def tickets(shop, user):
    return {t["id"]: t for t in shop.client.get("/api/v1/tickets", headers=user.headers).json["items"]}


def test_partial_refunds_with_a_discount_add_up_to_the_total_exactly(make_shop, make_user):
    shop = make_shop(capacity=3, price=1000)
    buyer = make_user()
    shop.add_discount(code="MINUS100", kind="fixed", amount_off=100)
    order = shop.paid(buyer, 3, code="MINUS100")
    assert order["total"] == 2900
    prices = sorted(t["price"] for t in order["tickets"])
    assert prices == [966, 967, 967] and sum(prices) == 2900
    assert shop.remaining() == 0

    first = order["tickets"][0]
    response = shop.refund(shop.owner, order["id"], [first["ticket_id"]])
    assert response.status_code == 201, response.json
    partial = response.json
    assert partial["state"] == "partially_refunded"
    assert partial["refunded_amount"] == first["price"]
    assert partial["refunds"][0]["amount"] == first["price"] and partial["refunds"][0]["status"] == "succeeded"
    assert tickets(shop, buyer)[first["ticket_id"]]["state"] == "voided"
    assert shop.remaining() == 1
    assert error(shop.refund(shop.owner, order["id"], [first["ticket_id"]])) == (409, "already_refunded")

    rest = shop.refund(shop.owner, order["id"]).json
    assert rest["state"] == "refunded" and rest["refunded_amount"] == 2900
    assert [r["amount"] for r in rest["refunds"]] == [first["price"], 2900 - first["price"]]
    assert all(t["state"] == "voided" for t in tickets(shop, buyer).values())
    assert shop.remaining() == 3
    assert error(shop.refund(shop.owner, order["id"])) == (409, "invalid_transition")
    assert shop.buy(make_user(), 3)["state"] == "pending_payment"


def test_who_may_refund(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    organizer, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    order = shop.paid(buyer, 2)
    assert error(shop.refund(buyer, order["id"])) == (403, "forbidden")
    assert error(shop.refund(organizer, order["id"])) == (404, "not_found")
    assert shop.get(buyer, order["id"]).json["state"] == "paid"
    response = shop.refund(admin, order["id"], [order["tickets"][1]["ticket_id"]])
    assert response.status_code == 201 and response.json["refunded_amount"] == 2500


def test_unpaid_orders_and_foreign_tickets_are_not_refunded(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    unpaid = shop.buy(buyer)
    assert error(shop.refund(shop.owner, unpaid["id"])) == (409, "invalid_transition")
    paid = shop.paid(buyer)
    response = shop.refund(shop.owner, paid["id"], ["0" * 32])
    assert error(response) == (422, "validation_error")
    assert shop.get(buyer, paid["id"]).json["refunded_amount"] == 0


def test_a_refund_says_what_it_refunds_and_an_empty_body_refunds_nothing(app, make_shop, make_user):
    shop = make_shop()
    order = shop.paid(make_user(), 2)
    url = f"/api/v1/orders/{order['id']}/refunds"
    for body in ({}, {"reason": "asked"}, {"whole_order": False},
                 {"whole_order": True, "ticket_ids": [order["tickets"][0]["ticket_id"]]}):
        response = shop.client.post(url, json=body, headers=shop.owner.headers)
        assert error(response) == (422, "validation_error"), body
    assert shop.client.post(url, headers=shop.owner.headers).status_code == 422
    assert shop.get(shop.owner, order["id"]).json["refunded_amount"] == 0
    document = shop.client.get("/api/v1/openapi.json").json
    body = document["paths"]["/api/v1/orders/{order_id}/refunds"]["post"]["requestBody"]
    schema = document["components"]["schemas"]["RefundIn"]
    assert body["required"] is True and {"ticket_ids", "line_ids", "whole_order"} <= set(schema["properties"])
    whole = shop.client.post(url, json={"whole_order": True}, headers=shop.owner.headers)
    assert whole.status_code == 201 and whole.json["refunded_amount"] == 5000


def test_twelve_identical_refunds_at_once_refund_once_and_none_is_busy(app, make_shop, make_user):
    shop = make_shop(capacity=3)
    order = shop.paid(make_user(), 3)
    body = {"whole_order": True}
    results = race(app, [lambda c: c.post(f"/api/v1/orders/{order['id']}/refunds", json=body,
                                          headers=shop.owner.headers)] * 12)
    statuses = sorted(r.status_code for r in results)
    assert 503 not in statuses and statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    refunded = shop.get(shop.owner, order["id"]).json
    assert (refunded["state"], refunded["refunded_amount"], len(refunded["refunds"])) == ("refunded", 7500, 1)
    assert shop.remaining() == 3
