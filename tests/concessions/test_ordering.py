"""Ordering from a stand through the one checkout: choices, prices, fulfilment, stock and the switches."""
import pytest

from app.auth import Role
from tests.factories import race
from tests.orders.conftest import error


def test_options_tax_service_fee_and_tip_are_priced_exactly_beside_a_ticket(make_bar, make_user):
    """Two burgers with mayonnaise and extra cheese (8.50 + 1.00) and large fries (3.50 + 1.50), food taxed 7% on
    top, a 0.50 service fee per item, a ticket at 25.00 and a 2.00 tip that goes to the stand's lines only."""
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(2, options=["mayo", "cheese"]), bar.line("fries", variant_id="large"),
                     tickets=1, tip=200)
    ticket, burgers, fries = order["items"]
    assert (burgers["name"], burgers["unit_price"], burgers["subtotal"]) == ("Burger (Mayonnaise, Extra cheese)",
                                                                           950, 1900)
    assert (burgers["tax"], burgers["tax_inclusive"], burgers["service_fee"]) == (133, False, 100)
    assert (fries["name"], fries["unit_price"], fries["tax"], fries["service_fee"]) == ("Fries (Large)", 500, 35, 50)
    # The tip is split over the stand's three items by what each cost (10.67, 10.66, 5.85): 0.79, 0.78, 0.43.
    assert (burgers["tip"], fries["tip"], ticket["tip"]) == (157, 43, 0)
    assert (burgers["total"], fries["total"], ticket["total"]) == (2290, 628, 2500)
    assert (order["subtotal"], order["tax"], order["service_fee"], order["tip"], order["total"]) == (
        4900, 168, 150, 200, 5418)
    assert sorted(u["amount"] for u in order["units"] if u["kind"] == "concession") == [628, 1144, 1146]
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert (stand_order["total"], stand_order["state"], len(stand_order["pickup_code"])) == (2918, "received", 6)
    assert [(line["name"], line["quantity"], line["tip"]) for line in stand_order["lines"]] == [
        ("Burger (Mayonnaise, Extra cheese)", 2, 157), ("Fries (Large)", 1, 43)]


@pytest.mark.parametrize("line, problem", [
    ({"item_id": "burger", "options": []}, "Choose at least 1 of Sauce for Burger."),
    ({"item_id": "burger", "options": ["ketchup", "mayo"]}, "Choose at most 1 of Sauce for Burger."),
    ({"item_id": "burger", "options": ["mayo", "cheese", "bacon", "no-onions"]}, "Choose at most 2 of Extras for "
                                                                                  "Burger."),
    ({"item_id": "fries", "variant_id": "small", "options": ["cheese"]}, "Fries has no option cheese."),
    ({"item_id": "burger", "options": ["ketchup"], "variant_id": "large"}, "Burger has no variants."),
    ({"item_id": "fries"}, "Choose a variant of Fries: large, small."),
    ({"item_id": "fries", "variant_id": "huge"}, "Fries has no variant huge."),
])
def test_choices_that_do_not_fit_the_item_are_refused_and_change_nothing(make_bar, make_user, snapshot, line,
                                                                           problem):
    bar = make_bar()
    buyer = make_user()
    before = snapshot()
    response = bar.hold(buyer, bar.line(quantity=1, **line))
    assert error(response) == (422, "validation_error")
    assert problem in response.json["error"]["details"]["fields"]["items"]
    assert snapshot() == before


def test_an_age_restricted_item_needs_the_buyers_confirmation(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    refused = bar.hold(buyer, bar.line("beer", 2))
    assert error(refused) == (422, "validation_error")
    assert "age_confirmed" in refused.json["error"]["details"]["fields"]
    stand_order = bar.order_up(buyer, bar.line("beer", 2, age_confirmed=True))
    assert stand_order["age_restricted"] is True and stand_order["lines"][0]["age_restricted"] is True


def test_delivery_goes_only_to_a_seat_the_buyer_holds_a_valid_ticket_for(make_bar, make_user, snapshot):
    bar = make_bar(seated=True)
    buyer, neighbour = make_user(), make_user()
    seated = bar.shop.sale.seated
    hold = bar.shop.sale.hold(buyer, seats=["stalls:A:1"])
    ticket_order = bar.shop.order(buyer, hold.json["id"]).json
    paid = bar.shop.mark_paid(bar.owner, ticket_order["id"]).json
    assert paid["tickets"][0]["ticket_type_id"] == seated["id"]

    def deliver(user, seat, **line):
        return bar.hold(user, bar.burger(fulfilment={"method": "seat", "seat": seat}, **line))

    before = snapshot()
    for user, seat in ((buyer, "stalls:A:2"), (neighbour, "stalls:A:1")):
        refused = deliver(user, seat)
        assert error(refused) == (422, "validation_error")
        assert refused.json["error"]["details"]["fields"]["fulfilment"] == [
            f"You hold no valid ticket for seat {seat} at this event."]
    assert snapshot() == before

    stand_order = bar.order_up(buyer, bar.burger(fulfilment={"method": "seat", "seat": "stalls:A:1"}))
    assert stand_order["fulfilment"] == {"method": "seat", "seat": "stalls:A:1"}

    mixed = bar.hold(buyer, bar.burger(fulfilment={"method": "seat", "seat": "stalls:A:1"}), bar.line(
        "fries", variant_id="small"))
    assert error(mixed) == (422, "validation_error") and "fulfilment" in mixed.json["error"]["details"]["fields"]

    refund = bar.shop.refund(bar.owner, paid["id"], ticket_ids=[paid["tickets"][0]["ticket_id"]])
    assert refund.status_code == 201, refund.json
    assert error(deliver(buyer, "stalls:A:1")) == (422, "validation_error")


def test_a_stand_that_does_not_deliver_takes_pickup_orders_only(make_bar, make_user):
    bar = make_bar(delivers_to_seats=False)
    refused = bar.hold(make_user(), bar.burger(fulfilment={"method": "seat", "seat": "stalls:A:1"}))
    assert error(refused) == (422, "validation_error")
    assert refused.json["error"]["details"]["fields"]["fulfilment"] == ["Choose pickup at this stand."]


def test_the_last_scarf_bought_by_two_buyers_at_once_has_one_winner(app, make_bar, make_user):
    bar = make_bar(scarves=1)
    buyers = [make_user(), make_user()]
    path = f"/api/v1/events/{bar.shop.id}/holds"
    results = race(app, [lambda client, buyer=buyer: client.post(
        path, json={"items": [bar.line("scarf")]}, headers=buyer.headers) for buyer in buyers])
    assert sorted(r.status_code for r in results) == [201, 409]
    [lost] = [r for r in results if r.status_code == 409]
    assert lost.json["error"]["code"] == "sold_out" and lost.json["error"]["details"]["available"] == 0
    [won] = [(buyer, r) for buyer, r in zip(buyers, results) if r.status_code == 201]
    order = bar.shop.order(won[0], won[1].json["id"]).json
    assert bar.shop.mark_paid(bar.owner, order["id"]).json["state"] == "paid"
    scarf = bar.item("scarf")
    assert (scarf["remaining"], scarf["available"]) == (0, False)
    assert error(bar.hold(make_user(), bar.line("scarf"))) == (409, "sold_out")


def test_refunding_a_scarf_puts_it_back_on_sale(make_bar, make_user):
    bar = make_bar(scarves=1)
    order = bar.paid(make_user(), bar.line("scarf"))
    assert bar.item("scarf")["remaining"] == 0
    refunded = bar.shop.refund(bar.owner, order["id"], line_ids=[order["items"][0]["id"]])
    assert refunded.json["state"] == "refunded"
    assert bar.item("scarf")["remaining"] == 1
    assert bar.hold(make_user(), bar.line("scarf")).status_code == 201


def test_the_sold_out_switch_takes_food_off_sale_and_back(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    item = f"/stands/{bar.id}/items/fries"
    bar.call("PATCH", item, bar.owner, 200, json={"sold_out": True})
    assert bar.item("fries")["available"] is False
    assert error(bar.hold(buyer, bar.line("fries", variant_id="small"))) == (409, "sold_out")
    bar.call("PATCH", item, bar.owner, 200, json={"sold_out": False})
    assert bar.hold(buyer, bar.line("fries", variant_id="small")).status_code == 201


def test_only_stands_open_for_the_event_take_its_orders(app, make_bar, make_user, make_event):
    bar = make_bar()
    buyer = make_user()
    other_event = make_event(bar.owner, venue={"id": bar.shop.sale.event["venue_id"]})
    bar.call("PATCH", f"/stands/{bar.id}", bar.owner, 200, json={"event_ids": [other_event["id"]]})
    assert bar.menu()["open"] is False
    assert error(bar.hold(buyer, bar.burger())) == (409, "not_on_sale")
    bar.call("PATCH", f"/stands/{bar.id}", bar.owner, 200, json={"event_ids": [bar.shop.id], "active": False})
    assert error(bar.hold(buyer, bar.burger())) == (422, "validation_error")
    assert bar.call("GET", f"/stands/{bar.id}").status_code == 404
    assert bar.call("GET", f"/stands/{bar.id}", bar.owner).json["active"] is False


def test_concession_lines_need_a_real_stand_and_item(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    for line in ({**bar.burger(), "stand_id": "nosuchstand"}, bar.line("nosuchitem")):
        refused = bar.hold(buyer, line)
        assert error(refused) == (422, "validation_error"), refused.json
    staff = bar.call("GET", f"/stands/{bar.id}", make_user(Role.ADMIN)).json["staff"]
    assert staff == [bar.staff.uid]
