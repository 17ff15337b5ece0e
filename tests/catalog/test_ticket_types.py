from datetime import timedelta

import pytest

from app.auth import Role
from app.events.ticket_types import unit_scope
from app.inventory import units
from app.timeutil import utcnow
from tests.factories import ticket_type_data


def error(response):
    return response.status_code, response.json["error"]["code"]


def fields_of(response):
    assert response.status_code == 422, response.json
    return set(response.json["error"]["details"]["fields"])


@pytest.fixture
def owner(make_user):
    return make_user(Role.ORGANIZER)


@pytest.fixture
def event(make_event, owner):
    return make_event(owner, published=False)


def url(event, ticket_type=None):
    base = f"/api/v1/events/{event['id']}/ticket-types"
    return f"{base}/{ticket_type['id']}" if ticket_type else base


@pytest.mark.parametrize("change, fields", [
    ({"price": -1}, {"price"}),
    ({"price": 12.5}, {"price"}),
    ({"currency": "EURO"}, {"currency"}),
    ({"currency": "ABC"}, {"currency"}),
    ({"capacity": 0}, {"capacity"}),
    ({"per_order_limit": 0}, {"per_order_limit"}),
    ({"kind": "standing"}, {"kind"}),
    ({"capacity": None}, {"capacity"}),
    ({"sections": ["stalls"]}, {"sections"}),
    ({"kind": "seated", "sections": ["stalls"]}, {"capacity"}),
    ({"kind": "seated", "capacity": None, "sections": ["stalls", "stalls"]}, {"sections"}),
    ({"sales_starts_at": "2031-01-02T00:00:00+00:00", "sales_ends_at": "2031-01-01T00:00:00+00:00"},
     {"sales_ends_at"}),
    ({"discount": 5}, {"discount"}),
])
def test_ticket_type_validation_names_the_field(client, owner, event, change, fields):
    body = {k: v for k, v in {**ticket_type_data(), **change}.items() if v is not None}
    assert fields_of(client.post(url(event), json=body, headers=owner.headers)) == fields


def test_sales_window_must_end_by_the_event_start(client, owner, event):
    after_start = (event["starts_at"] + timedelta(minutes=1)).isoformat()
    response = client.post(url(event), json={**ticket_type_data(), "sales_ends_at": after_start},
                           headers=owner.headers)
    assert fields_of(response) == {"sales_ends_at"}
    response = client.post(url(event), json={**ticket_type_data(), "sales_starts_at": after_start},
                           headers=owner.headers)
    assert fields_of(response) == {"sales_starts_at"}


def test_one_currency_per_event(client, owner, event):
    response = client.post(url(event), json=ticket_type_data(currency="USD"), headers=owner.headers)
    assert fields_of(response) == {"currency"}


def test_seated_ticket_types_sell_their_sections(client, owner, event):
    seated = {"name": "Stalls", "price": 4500, "currency": "EUR", "kind": "seated", "sections": ["stalls"]}
    response = client.post(url(event), json=seated, headers=owner.headers)
    assert response.status_code == 201
    stalls = response.json
    assert (stalls["capacity"], stalls["sections"]) == (5, ["stalls"])
    response = client.post(url(event), json={**seated, "name": "Again"}, headers=owner.headers)
    assert error(response) == (409, "section_taken")
    response = client.post(url(event), json={**seated, "sections": ["roof"]}, headers=owner.headers)
    assert fields_of(response) == {"sections"}
    response = client.patch(url(event, stalls), json={"sections": ["stalls", "balcony"]}, headers=owner.headers)
    assert response.json["capacity"] == 7
    assert fields_of(client.patch(url(event, stalls), json={"capacity": 3}, headers=owner.headers)) == {"capacity"}
    general = client.get(url(event), headers=owner.headers).json[0]
    assert fields_of(client.patch(url(event, general), json={"sections": ["balcony"]},
                                  headers=owner.headers)) == {"sections"}


def test_units_taken_of_one_ticket_type_are_not_counted_against_another(app, make_sale, make_user):
    sale = make_sale(capacity=5, per_order_limit=5)
    assert sale.hold(make_user(), 3).status_code == 201
    extra = sale.client.post(url(sale.event), json=ticket_type_data(name="VIP", capacity=2),
                             headers=sale.owner.headers).json
    with app.app_context():
        assert units.count_live_units(sale.general["id"], utcnow()) == 3
        assert units.count_live_units(extra["id"], utcnow()) == 0
    assert sale.availability()[extra["id"]]["remaining"] == 2
    assert sale.remaining() == 2


def test_seats_are_named_within_their_event_and_general_admission_within_its_ticket_type():
    seated = [{"id": t, "kind": "seated"} for t in ("stalls", "boxes")]
    general = [{"id": t, "kind": "general_admission"} for t in ("early", "late")]
    assert unit_scope("e1", seated[0]) == unit_scope("e1", seated[1]) != unit_scope("e2", seated[0])
    assert unit_scope("e1", general[0]) != unit_scope("e1", general[1])


def test_deleted_ticket_type_disappears(client, owner, event, make_ticket_type):
    extra = make_ticket_type(owner, event, name="VIP")
    assert client.delete(url(event, extra), headers=owner.headers).status_code == 204
    assert [t["name"] for t in client.get(url(event), headers=owner.headers).json] == ["General admission"]
    assert client.patch(url(event, extra), json={"price": 1}, headers=owner.headers).status_code == 404
    assert client.delete(url(event, extra), headers=owner.headers).status_code == 404
    assert client.patch(url(event, {"id": "__x__"}), json={"price": 1}, headers=owner.headers).status_code == 404


def test_the_currency_cannot_change_once_something_is_sold_or_held(make_sale, make_user):
    sale = make_sale(capacity=5)
    ticket_type = f"/api/v1/events/{sale.id}/ticket-types/{sale.general['id']}"
    buyer = make_user()
    hold = sale.hold(buyer).json
    assert error(sale.client.patch(ticket_type, json={"currency": "USD"}, headers=sale.owner.headers)) == \
        (409, "currency_locked")
    assert sale.client.patch(ticket_type, json={"currency": "EUR", "price": 3000},
                             headers=sale.owner.headers).status_code == 200
    assert sale.release(buyer, hold["id"]).status_code == 200
    changed = sale.client.patch(ticket_type, json={"currency": "USD"}, headers=sale.owner.headers)
    assert changed.status_code == 200 and changed.json["currency"] == "USD"


def test_one_ticket_type_is_read_as_the_list_shows_it(client, owner, event, make_user, make_ticket_type):
    made = make_ticket_type(owner, event, name="Balcony", price=4000)
    path = f"/api/v1/events/{event['id']}/ticket-types/{made['id']}"
    assert error(client.get(path)) == (404, "not_found")  # a draft's ticket types are its organizer's
    shown = client.get(path, headers=owner.headers)
    assert shown.status_code == 200
    listed = client.get(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers).json
    assert shown.json == next(t for t in listed if t["id"] == made["id"])
    assert (shown.json["name"], shown.json["price"]) == ("Balcony", 4000)
    client.post(f"/api/v1/events/{event['id']}/publish", headers=owner.headers)
    assert client.get(path).status_code == 200
    assert client.delete(path, headers=owner.headers).status_code == 204
    assert error(client.get(path)) == (404, "not_found")
    assert error(client.get(f"/api/v1/events/{event['id']}/ticket-types/nosuchtype")) == (404, "not_found")
