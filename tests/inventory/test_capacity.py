"""Changing a ticket type's capacity or sections while buyers hold units never oversells."""
from app.inventory import units
from app.timeutil import utcnow
from tests.factories import race


def tt_url(sale, ticket_type):
    return f"/api/v1/events/{sale.id}/ticket-types/{ticket_type['id']}"


def patch(sale, ticket_type, body):
    return sale.client.patch(tt_url(sale, ticket_type), json=body, headers=sale.owner.headers)


def test_capacity_cannot_drop_below_what_is_held(make_sale, make_user):
    sale = make_sale(capacity=5)
    buyer = make_user()
    hold = sale.hold(buyer, 3).json
    response = patch(sale, sale.general, {"capacity": 2})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "capacity_below_taken"
    assert response.json["error"]["details"] == {"taken": 3, "capacity": 2}
    assert patch(sale, sale.general, {"capacity": 3}).json["capacity"] == 3
    assert sale.remaining() == 0
    deleted = sale.client.delete(tt_url(sale, sale.general), headers=sale.owner.headers)
    assert deleted.status_code == 409 and deleted.json["error"]["code"] == "ticket_type_in_use"
    sale.release(buyer, hold["id"])
    assert patch(sale, sale.general, {"capacity": 1}).status_code == 200
    assert sale.client.delete(tt_url(sale, sale.general), headers=sale.owner.headers).status_code == 204


def test_lowering_then_raising_capacity_sells_exactly_the_current_capacity(make_sale, make_user):
    sale = make_sale(capacity=5)
    assert patch(sale, sale.general, {"capacity": 2}).status_code == 200
    assert sale.remaining() == 2
    assert [sale.hold(make_user()).status_code for _ in range(3)] == [201, 201, 409]
    assert patch(sale, sale.general, {"capacity": 4}).status_code == 200
    assert sale.remaining() == 2
    assert [sale.hold(make_user()).status_code for _ in range(3)] == [201, 201, 409]
    assert patch(sale, sale.general, {"capacity": 7}).status_code == 200
    assert [sale.hold(make_user()).status_code for _ in range(4)] == [201, 201, 201, 409]


def test_lowering_capacity_while_buyers_race_never_oversells(app, make_sale, make_user):
    sale = make_sale(capacity=6)
    buyers = [make_user() for _ in range(4)]
    body = {"items": [{"ticket_type_id": sale.general["id"], "quantity": 1}]}
    calls = [lambda c, b=b: c.post(f"/api/v1/events/{sale.id}/holds", json=body, headers=b.headers) for b in buyers]
    calls.append(lambda c: c.patch(tt_url(sale, sale.general), json={"capacity": 4}, headers=sale.owner.headers))
    results = race(app, calls)
    assert all(r.status_code in (200, 201, 409, 503) for r in results), [r.json for r in results]
    capacity = sale.client.get(f"/api/v1/events/{sale.id}/ticket-types").json[0]["capacity"]
    while sale.hold(make_user()).status_code == 201:
        pass
    with app.app_context():
        sold_or_held = units.count_live_units(sale.general["id"], utcnow(), exclude_retired=True)
    assert sold_or_held == capacity
    assert sale.remaining() == 0


def test_removing_a_section_with_a_held_seat_is_refused_and_removed_seats_leave_sale(make_sale, make_user):
    sale = make_sale(seated=True)
    buyer = make_user()
    hold = sale.hold(buyer, seats=["stalls:A:1"]).json
    refused = patch(sale, sale.seated, {"sections": ["balcony"]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "seats_taken"
    assert refused.json["error"]["details"] == {"seats": ["stalls:A:1"]}

    sale.release(buyer, hold["id"])
    moved = patch(sale, sale.seated, {"sections": ["balcony"]})
    assert moved.status_code == 200 and moved.json["capacity"] == 2
    assert sale.hold(buyer, seats=["stalls:A:1"]).status_code == 422
    assert sale.hold(buyer, seats=["balcony:A:1"]).status_code == 201

    back = patch(sale, sale.seated, {"sections": ["stalls", "balcony"]})
    assert back.status_code == 200 and back.json["capacity"] == 7
    assert sale.hold(make_user(), seats=["stalls:A:1"]).status_code == 201
    seats = {s["id"]: s["state"] for s in sale.availability()[sale.seated["id"]]["seats"]}
    assert seats["stalls:A:1"] == "held" and seats["balcony:A:1"] == "held" and seats["stalls:B:2"] == "available"
