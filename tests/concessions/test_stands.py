"""Managing stands and menus: who may, what a menu item may hold, stock changes, and closing for the event."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.checkout import holds
from app.errors import AppError
from app.events import lifecycle
from app.timeutil import utcnow
from tests.orders.conftest import error

PICKUP = {"method": "pickup", "seat": None}


def test_stands_open_only_for_open_events_at_their_venue(make_bar, make_user, make_event, snapshot):
    bar = make_bar()
    elsewhere = make_event(bar.owner)
    venue_id = bar.shop.sale.event["venue_id"]
    other_organizer = make_user(Role.ORGANIZER)
    before = snapshot()
    for event_id in (elsewhere["id"], "nosuchevent"):
        refused = bar.call("POST", f"/venues/{venue_id}/stands", bar.owner, json={
            "name": "Bar", "kind": "bar", "currency": "EUR", "event_ids": [event_id]})
        assert error(refused) == (422, "validation_error") and "event_ids" in refused.json["error"]["details"]["fields"]
    assert error(bar.call("POST", f"/venues/{venue_id}/stands", other_organizer, json={
        "name": "Bar", "kind": "bar", "currency": "EUR"})) == (403, "forbidden")
    assert error(bar.call("PATCH", f"/stands/{bar.id}", other_organizer, json={"name": "Mine"})) == (403, "forbidden")
    assert snapshot() == before


def test_the_public_sees_active_stands_and_the_owner_sees_all(make_bar):
    bar = make_bar()
    venue_id = bar.shop.sale.event["venue_id"]
    hidden = bar.call("POST", f"/venues/{venue_id}/stands", bar.owner, 201, json={
        "name": "Annex", "kind": "bar", "currency": "EUR", "event_ids": [bar.shop.id], "active": False}).json
    assert [s["id"] for s in bar.call("GET", f"/venues/{venue_id}/stands").json["items"]] == [bar.id]
    assert [s["id"] for s in bar.call("GET", f"/events/{bar.shop.id}/stands").json["items"]] == [bar.id]
    listed = bar.call("GET", f"/venues/{venue_id}/stands", bar.owner, query_string={"limit": 1}).json
    assert [s["id"] for s in listed["items"]] == [hidden["id"]] and listed["next_cursor"]
    assert listed["items"][0]["staff"] == []
    assert "staff" not in bar.call("GET", f"/stands/{bar.id}").json


def test_option_groups_must_be_choosable(make_bar, snapshot):
    bar = make_bar()
    before = snapshot()
    sauce = [{"id": "ketchup", "name": "Ketchup"}]
    for groups in ([{"id": "g", "name": "Sauce", "required": True, "min_choices": 0, "options": sauce}],
                   [{"id": "g", "name": "Sauce", "min_choices": 1, "options": sauce}],
                   [{"id": "g", "name": "Sauce", "max_choices": 2, "options": sauce}],
                   [{"id": "g", "name": "A", "options": sauce}, {"id": "h", "name": "B", "options": sauce}]):
        refused = bar.call("POST", f"/stands/{bar.id}/items", bar.owner, json={
            "name": "Hot dog", "price": 400, "option_groups": groups})
        assert error(refused) == (422, "validation_error"), groups
    assert snapshot() == before
    made = bar.call("POST", f"/stands/{bar.id}/items", bar.owner, 201, json={
        "name": "Hot dog", "price": 400, "image_url": "https://cdn.example.test/hotdog.png",
        "option_groups": [{"id": "g", "name": "Sauce", "required": True, "options": sauce}]}).json
    assert made["option_groups"][0]["min_choices"] == made["option_groups"][0]["max_choices"] == 1
    assert [i["name"] for i in bar.call("GET", f"/stands/{bar.id}/items").json] == [
        "Beer", "Burger", "Club scarf", "Fries", "Hot dog"]


def test_stock_never_drops_below_what_is_sold_or_held(make_bar, make_user):
    bar = make_bar(scarves=3)
    scarf = f"/stands/{bar.id}/items/scarf"
    assert bar.hold(make_user(), bar.line("scarf", 2)).status_code == 201
    refused = bar.call("PATCH", scarf, bar.owner, json={"stock": 1})
    assert error(refused) == (409, "capacity_below_taken")
    assert bar.call("PATCH", scarf, bar.owner, 200, json={"stock": 2}).json["stock"] == 2
    assert (bar.item("scarf")["remaining"]) == 0
    assert error(bar.hold(make_user(), bar.line("scarf"))) == (409, "sold_out")
    assert bar.call("PATCH", scarf, bar.owner, 200, json={"stock": 4}).json["stock"] == 4
    assert bar.item("scarf")["remaining"] == 2
    assert error(bar.call("PATCH", f"/stands/{bar.id}/items/burger", bar.owner, json={"stock": 5})) == (
        422, "validation_error")


def test_a_deleted_item_leaves_the_menu_and_the_orders_that_have_it(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    stand_order = bar.order_up(buyer, bar.line("fries", variant_id="small"))
    bar.call("DELETE", f"/stands/{bar.id}/items/fries", bar.owner, 204)
    assert "fries" not in [i["id"] for i in bar.menu()["items"]]
    assert error(bar.hold(buyer, bar.line("fries", variant_id="small"))) == (422, "validation_error")
    assert bar.call("GET", f"/stand-orders/{stand_order['id']}", buyer, 200).json["lines"][0]["name"] == "Fries (Small)"


def test_a_stand_with_orders_to_hand_over_cannot_be_deleted(make_bar, make_user):
    bar = make_bar()
    stand_order = bar.order_up(make_user(), bar.burger())
    assert error(bar.call("DELETE", f"/stands/{bar.id}", bar.owner)) == (409, "stand_in_use")
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    bar.redeem(bar.staff, code=stand_order["pickup_code"])
    bar.call("DELETE", f"/stands/{bar.id}", bar.owner, 204)
    assert bar.call("GET", f"/stands/{bar.id}", bar.owner).status_code == 404
    assert bar.call("GET", f"/venues/{bar.shop.sale.event['venue_id']}/stands", bar.owner).json["items"] == []


def test_stands_close_when_their_event_ends(app, make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    ends = bar.shop.sale.event["ends_at"]
    burger = {**bar.burger(), "fulfilment": PICKUP, "age_confirmed": False}
    with time_machine.travel(ends - timedelta(minutes=1)):
        assert bar.menu()["open"] is True
    with time_machine.travel(ends + timedelta(seconds=1)):
        assert bar.menu()["open"] is False
        with app.app_context():
            # Before the scheduler marks the event completed, its end already stops the sale.
            with pytest.raises(AppError) as late:
                holds.place_hold(bar.shop.id, buyer.uid, lines=[burger])
            assert late.value.code == "not_on_sale"
            assert lifecycle.complete_ended_events() == 1
        stand = bar.call("GET", f"/stands/{bar.id}").json
        assert (stand["event_ids"], stand["closed_event_ids"]) == ([], [bar.shop.id])
    assert utcnow() < ends
