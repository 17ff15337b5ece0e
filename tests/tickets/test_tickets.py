"""Paying at the box office issues tickets whose codes verify offline with the event's public key."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.tickets import service as tickets
from app.tickets.codes import InvalidTicketCode, parse_code, verify_ticket_code
from app.timeutil import utcnow
from tests.orders.conftest import error


def test_marking_paid_sells_the_units_and_issues_one_signed_ticket_each(app, make_shop, make_user):
    shop = make_shop(capacity=3)
    buyer = make_user()
    order = shop.buy(buyer, 2)
    response = shop.mark_paid(shop.owner, order["id"])
    assert response.status_code == 200, response.json
    paid = response.json
    assert paid["state"] == "paid" and paid["paid_at"]
    assert paid["payment"]["status"] == "succeeded" and paid["payment"]["amount"] == 5000
    assert len(paid["tickets"]) == 2 and all(t["price"] == 2500 for t in paid["tickets"])
    listed = shop.client.get("/api/v1/tickets", headers=buyer.headers).json["items"]
    assert sorted(t["id"] for t in listed) == sorted(t["ticket_id"] for t in paid["tickets"])
    with app.app_context():
        key = tickets.get_checkin_public_key(shop.id)
    assert key["algorithm"] == "Ed25519" and "private_key" not in key
    for ticket in listed:
        assert ticket["state"] == "valid" and ticket["event_id"] == shop.id
        assert verify_ticket_code(ticket["code"], key["public_key"], event_id=shop.id) == {
            "event_id": shop.id, "ticket_id": ticket["id"]}
    # Sold units stay taken long after any payment deadline.
    with time_machine.travel(utcnow() + timedelta(days=1), tick=True):
        assert shop.remaining() == 1


def test_a_code_that_was_altered_or_belongs_to_another_event_does_not_verify(app, make_shop, make_user):
    first, second = make_shop(), make_shop()
    buyer = make_user()
    code = first.paid(buyer)["tickets"][0]["ticket_id"]
    ticket = first.client.get(f"/api/v1/tickets/{code}", headers=buyer.headers).json
    with app.app_context():
        own_key = tickets.get_checkin_public_key(first.id)["public_key"]
        other_key = tickets.get_checkin_public_key(second.id)["public_key"]
    assert own_key != other_key
    with pytest.raises(InvalidTicketCode):
        verify_ticket_code(ticket["code"], other_key)
    with pytest.raises(InvalidTicketCode):
        verify_ticket_code(ticket["code"], own_key, event_id=second.id)
    event_id, ticket_id, _, _ = parse_code(ticket["code"])
    assert (event_id, ticket_id) == (first.id, ticket["id"])
    tampered = ticket["code"][:-3] + ("AAA" if not ticket["code"].endswith("AAA") else "BBB")
    for bad in (tampered, "", "not base64 !", ticket["code"][:40]):
        with pytest.raises(InvalidTicketCode):
            verify_ticket_code(bad, own_key)


def test_the_ticket_qr_code_is_an_svg_for_its_holder_only(make_shop, make_user):
    shop = make_shop()
    buyer, other = make_user(), make_user()
    ticket_id = shop.paid(buyer)["tickets"][0]["ticket_id"]
    response = shop.client.get(f"/api/v1/tickets/{ticket_id}/qr.svg", headers=buyer.headers)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.lstrip().startswith(b"<svg") and b"<path" in response.data
    assert shop.client.get(f"/api/v1/tickets/{ticket_id}/qr.svg", headers=other.headers).status_code == 404
    assert shop.client.get(f"/api/v1/tickets/{ticket_id}", headers=other.headers).status_code == 404
    assert shop.client.get(f"/api/v1/tickets/{ticket_id}", headers=shop.owner.headers).status_code == 200
    assert shop.client.get("/api/v1/tickets/short", headers=buyer.headers).status_code == 404
    assert shop.client.get("/api/v1/tickets", headers=other.headers).json == {
        "items": [], "next_cursor": None, "has_more": False, "total": None}


def test_who_may_mark_an_order_paid(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    organizer, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    order = shop.buy(buyer)
    assert error(shop.mark_paid(buyer, order["id"])) == (403, "forbidden")
    assert error(shop.mark_paid(organizer, order["id"])) == (404, "not_found")
    assert shop.get(buyer, order["id"]).json["state"] == "pending_payment"
    assert shop.mark_paid(admin, order["id"]).status_code == 200
    assert error(shop.mark_paid(admin, order["id"])) == (409, "invalid_transition")
    assert len(shop.client.get("/api/v1/tickets", headers=buyer.headers).json["items"]) == 1


def test_a_cancelled_order_cannot_be_marked_paid(make_shop, make_user):
    shop = make_shop()
    buyer = make_user()
    order = shop.buy(buyer)
    shop.cancel(buyer, order["id"])
    assert error(shop.mark_paid(shop.owner, order["id"])) == (409, "invalid_transition")


def test_marking_an_expired_order_paid_takes_its_units_back_only_if_they_are_free(app, make_shop, make_user):
    shop = make_shop(capacity=1)
    buyer, rival = make_user(), make_user()
    later = utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1)
    late = shop.buy(buyer)
    with time_machine.travel(later, tick=True):
        response = shop.mark_paid(shop.owner, late["id"])
        assert response.status_code == 200 and response.json["state"] == "paid"
        assert shop.remaining() == 0

    shop2 = make_shop(capacity=1)
    lost = shop2.buy(buyer)
    with time_machine.travel(later, tick=True):
        shop2.buy(rival)
        assert error(shop2.mark_paid(shop2.owner, lost["id"])) == (409, "order_expired")
        assert shop2.get(buyer, lost["id"]).json["state"] == "expired"
        tickets_now = shop2.client.get("/api/v1/tickets", headers=buyer.headers).json["items"]
        assert [t["order_id"] for t in tickets_now] == [late["id"]]


def test_a_seated_order_issues_a_ticket_for_each_seat(make_sale, make_user, client):
    sale = make_sale(seated=True)
    buyer = make_user()
    hold = sale.hold(buyer, seats=["stalls:A:1", "stalls:A:2"]).json
    order = client.post("/api/v1/orders", json={"hold_id": hold["id"], "payment_method": "manual"},
                        headers=buyer.headers).json
    assert order["items"][0]["seats"] == ["stalls:A:1", "stalls:A:2"]
    paid = client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=sale.owner.headers).json
    assert sorted(t["seat"] for t in paid["tickets"]) == ["stalls:A:1", "stalls:A:2"]
    seats = {s["id"]: s["state"] for s in sale.availability()[sale.seated["id"]]["seats"]}
    assert seats["stalls:A:1"] == seats["stalls:A:2"] == "sold"
    assert seats["stalls:A:3"] == "available"
