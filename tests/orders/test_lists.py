"""The back office's lists of orders and tickets: every filter alone and combined, for the buyer, the organizer of
the events and admins, newest first, cursor-paginated, with has_more and, on request, a total."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.checkin import service as checkin
from app.timeutil import utcnow
from tests.factories import current, shop_for
from tests.orders.conftest import error


@pytest.fixture
def app(make_app):
    # Doors open from the sale on, so a ticket can be checked in 30 days before its event.
    return make_app(CHECKIN_OPENS_MINUTES_BEFORE_START=60 * 24 * 60)


@pytest.fixture
def sales(app, client, make_user, make_event):
    """Organizer A's events one and two, organizer B's event three; buyers X and Y; five orders, in this order:
    1 one/X paid (1 ticket), 2 one/Y unpaid, 3 two/X paid then refunded (voided), 4 one/X paid (2 tickets, one
    checked in), 5 three/Y paid."""
    a, b, x, y, admin = (make_user(Role.ORGANIZER), make_user(Role.ORGANIZER), make_user(), make_user(),
                         make_user(Role.ADMIN))
    one, two, three = (shop_for(client, owner, make_event(owner, ticket_type={"capacity": 10}))
                       for owner in (a, a, b))
    orders = [one.paid(x), one.buy(y), two.paid(x), one.paid(x, 2), three.paid(y)]
    assert two.refund(a, orders[2]["id"], reason="Moved abroad").status_code == 201
    with app.app_context():
        entered = checkin.perform_checkin(one.id, current(a), code=ticket_code(client, x, orders[3]),
                                          nonce="lists-1", gate="north")
    assert entered["result"] == "ok"
    return dict(a=a, b=b, x=x, y=y, admin=admin, one=one, two=two, three=three,
                ids=[None] + [o["id"] for o in orders], created=[None] + [o["created_at"] for o in orders])


def ticket_code(client, holder, order):
    ticket_id = order["tickets"][0]["ticket_id"]
    return client.get(f"/api/v1/tickets/{ticket_id}", headers=holder.headers).json["code"]


def listed(client, user, path, **query):
    response = client.get(path, query_string=query, headers=user.headers)
    assert response.status_code == 200, response.json
    return response.json


def order_numbers(sales, page):
    return [sales["ids"].index(order["id"]) for order in page["items"]]


def orders(client, sales, user, **query):
    return order_numbers(sales, listed(client, user, "/api/v1/orders", **query))


def test_each_order_filter_alone(client, sales):
    s, a, x = sales, sales["a"], sales["x"]
    assert orders(client, s, x) == [4, 3, 1]
    assert orders(client, s, a, scope="managed") == [4, 3, 2, 1]
    assert orders(client, s, a, event_id=s["one"].id) == [4, 2, 1]
    assert orders(client, s, a, buyer_uid=x.uid) == [4, 3, 1]
    assert orders(client, s, a, scope="managed", payment_status="pending_payment") == [2]
    assert orders(client, s, a, scope="managed", payment_status="refunded") == [3]
    assert orders(client, s, a, scope="managed", payment_status="paid") == [4, 1]
    assert orders(client, s, a, scope="managed", **{"from": s["created"][3]}) == [4, 3]
    assert orders(client, s, a, scope="managed", to=s["created"][3]) == [2, 1]
    assert orders(client, s, x, payment_status="paid") == [4, 1]


def test_order_filters_combine(client, sales):
    s, a, x = sales, sales["a"], sales["x"]
    assert orders(client, s, a, event_id=s["one"].id, buyer_uid=x.uid) == [4, 1]
    assert orders(client, s, a, event_id=s["one"].id, payment_status="paid", **{"from": s["created"][2]}) == [4]
    assert orders(client, s, a, buyer_uid=x.uid, payment_status="paid", to=s["created"][4]) == [1]
    assert orders(client, s, a, event_id=s["one"].id, buyer_uid=x.uid, payment_status="paid",
                  **{"from": s["created"][1], "to": s["created"][4]}) == [1]
    assert orders(client, s, x, scope="own", event_id=s["two"].id) == [3]
    assert orders(client, s, sales["admin"], buyer_uid=sales["y"].uid) == [5, 2]
    assert orders(client, s, sales["admin"], scope="managed", payment_status="paid") == [5, 4, 1]


def test_organizers_see_their_events_orders_and_admins_all(client, sales):
    s = sales
    assert orders(client, s, s["b"], scope="managed") == [5]
    assert orders(client, s, s["admin"], scope="managed") == [5, 4, 3, 2, 1]
    assert error(client.get(f"/api/v1/orders?event_id={s['one'].id}", headers=s["b"].headers)) == (403, "forbidden")
    assert error(client.get("/api/v1/orders?scope=managed", headers=s["x"].headers)) == (403, "forbidden")
    assert error(client.get(f"/api/v1/orders?scope=own&buyer_uid={s['y'].uid}",
                            headers=s["x"].headers)) == (422, "validation_error")


def test_order_pages_say_has_more_and_count_the_total(client, sales):
    s, a = sales, sales["a"]
    first = listed(client, a, "/api/v1/orders", scope="managed", limit=3, with_total="true")
    assert (order_numbers(s, first), first["has_more"], first["total"]) == ([4, 3, 2], True, 4)
    rest = listed(client, a, "/api/v1/orders", scope="managed", limit=3, cursor=first["next_cursor"])
    assert (order_numbers(s, rest), rest["has_more"], rest["next_cursor"], rest["total"]) == ([1], False, None, None)
    counted = listed(client, a, "/api/v1/orders", event_id=s["one"].id, buyer_uid=s["x"].uid, with_total="true")
    assert counted["total"] == 2
    # Whether a pending order has lapsed is checked as it is read, so that list is not counted by Firestore.
    assert listed(client, a, "/api/v1/orders", scope="managed", payment_status="pending_payment",
                  with_total="true")["total"] is None


def test_an_unpaid_order_past_its_deadline_lists_as_expired(client, sales):
    s, a = sales, sales["a"]
    with time_machine.travel(utcnow() + timedelta(seconds=901), tick=False):
        lapsed = orders(client, s, a, scope="managed", payment_status="expired")
        pending = orders(client, s, a, scope="managed", payment_status="pending_payment")
    assert (lapsed, pending) == ([2], [])


def tickets(client, sales, user, **query):
    numbers = {order_id: number for number, order_id in enumerate(sales["ids"])}
    page = listed(client, user, "/api/v1/tickets", **query)
    return sorted(numbers[t["order_id"]] for t in page["items"])


def test_each_ticket_filter_alone_and_combined(client, sales):
    s, a, x = sales, sales["a"], sales["x"]
    assert tickets(client, s, x) == [1, 3, 4, 4]
    assert tickets(client, s, x, checked_in="true") == [4]
    assert tickets(client, s, x, order_id=s["ids"][4]) == [4, 4]
    assert tickets(client, s, a, scope="managed") == [1, 3, 4, 4]
    assert tickets(client, s, a, event_id=s["one"].id) == [1, 4, 4]
    assert tickets(client, s, a, order_id=s["ids"][4], scope="managed") == [4, 4]
    assert tickets(client, s, a, scope="managed", checked_in="true") == [4]
    assert tickets(client, s, a, scope="managed", checked_in="false") == [1, 3, 4]
    assert tickets(client, s, a, event_id=s["one"].id, checked_in="false") == [1, 4]
    assert tickets(client, s, a, event_id=s["one"].id, order_id=s["ids"][4], checked_in="true") == [4]
    assert tickets(client, s, s["b"], scope="managed") == [5]
    assert tickets(client, s, s["admin"], scope="managed") == [1, 3, 4, 4, 5]
    assert error(client.get(f"/api/v1/tickets?event_id={s['one'].id}", headers=x.headers)) == (403, "forbidden")
    page = listed(client, a, "/api/v1/tickets", scope="managed", limit=3, with_total="true")
    assert (len(page["items"]), page["has_more"], page["total"]) == (3, True, 4)


def test_a_ticket_says_when_and_where_it_was_used_and_why_it_was_voided(client, sales):
    s, x = sales, sales["x"]
    by_order = {t["order_id"]: t for t in listed(client, x, "/api/v1/tickets")["items"] if t["used"] or t["voided"]}
    used, voided = by_order[s["ids"][4]], by_order[s["ids"][3]]
    assert (used["used"]["gate"], used["voided"], used["checked_in"]) == ("north", None, True)
    shown = client.get(f"/api/v1/tickets/{voided['id']}", headers=x.headers).json
    refund = client.get(f"/api/v1/orders/{s['ids'][3]}", headers=x.headers).json["refunds"][0]
    assert shown["state"] == "voided" and shown["used"] is None
    assert shown["voided"] == {"at": shown["voided_at"], "reason": "Moved abroad", "refund_id": refund["id"]}
    assert client.get(f"/api/v1/tickets/{used['id']}", headers=x.headers).json["used"] == {
        "at": used["used_at"], "gate": "north"}
