"""Factories for concessions: a shop's venue with a stand open for its event, a menu, and the stand's staff.

``Bar`` is how tests order from a stand through the one checkout and work the
stand's queue through the API, as a buyer, the stand's staff and its venue's
owner would.
"""
import pytest

from app.auth import Role
from app.concessions import menu as menus
from app.venues import service as venues
from tests.factories import current

# Food 7% and drinks 19% on top of the price, merchandise 19% included in it.
TAX_RATES = {"food": {"basis_points": 700, "inclusive": False},
             "drinks": {"basis_points": 1900, "inclusive": False},
             "merchandise": {"basis_points": 1900, "inclusive": True}}


def menu(scarves):
    return [
        {"item_id": "burger", "name": "Burger", "price": 850, "tax_category": "food", "option_groups": [
            {"id": "sauce", "name": "Sauce", "required": True,
             "options": [{"id": "ketchup", "name": "Ketchup"}, {"id": "mayo", "name": "Mayonnaise"}]},
            {"id": "extras", "name": "Extras", "max_choices": 2,
             "options": [{"id": "cheese", "name": "Extra cheese", "price_delta": 100},
                         {"id": "bacon", "name": "Bacon", "price_delta": 150},
                         {"id": "no-onions", "name": "No onions"}]}]},
        {"item_id": "fries", "name": "Fries", "price": 350, "tax_category": "food",
         "variants": [{"id": "small", "name": "Small"}, {"id": "large", "name": "Large", "price_delta": 150}]},
        {"item_id": "beer", "name": "Beer", "price": 500, "tax_category": "drinks", "age_restricted": True},
        {"item_id": "scarf", "name": "Club scarf", "price": 1500, "tax_category": "merchandise", "stock": scarves},
    ]


class Bar:
    """A stand at a shop's venue, open for the shop's event, and the calls around its orders."""

    def __init__(self, shop, stand, staff):
        self.shop, self.client, self.owner, self.stand, self.staff = shop, shop.client, shop.owner, stand, staff

    @property
    def id(self):
        return self.stand["id"]

    def call(self, method, path, user=None, status=None, **kwargs):
        response = self.client.open(f"/api/v1{path}", method=method, headers=user.headers if user else {}, **kwargs)
        if status is not None:
            assert response.status_code == status, (method, path, response.status_code, response.json)
        return response

    def line(self, item_id, quantity=1, **fields):
        return {"kind": "concession", "stand_id": self.id, "item_id": item_id, "quantity": quantity, **fields}

    def burger(self, quantity=1, options=("ketchup",), **fields):
        return self.line("burger", quantity, options=list(options), **fields)

    def hold(self, buyer, *lines, tickets=0):
        return self.shop.sale.hold(buyer, tickets, lines=list(lines))

    def paid(self, buyer, *lines, tickets=0, tip=None):
        """Hold the lines, order them and have the box office take the money: the paid order."""
        hold = self.hold(buyer, *lines, tickets=tickets)
        assert hold.status_code == 201, hold.json
        order = self.shop.order(buyer, hold.json["id"], tip=tip)
        assert order.status_code == 201, order.json
        return self.shop.mark_paid(self.owner, order.json["id"]).json

    def stand_orders(self, user, order_id):
        return self.call("GET", f"/orders/{order_id}/stand-orders", user, 200).json

    def order_up(self, buyer, *lines, **kwargs):
        """A paid order's one stand order, as its buyer sees it."""
        [stand_order] = self.stand_orders(buyer, self.paid(buyer, *lines, **kwargs)["id"])
        return stand_order

    def move(self, user, stand_order_id, state, **body):
        return self.call("POST", f"/stand-orders/{stand_order_id}/state", user, json={"state": state, **body})

    def redeem(self, user, **body):
        return self.call("POST", f"/stands/{self.id}/pickups", user, json=body)

    def queue(self, user, **query):
        return self.call("GET", f"/stands/{self.id}/queue", user, query_string={"event_id": self.shop.id, **query})

    def menu(self):
        return self.call("GET", f"/stands/{self.id}/menu", query_string={"event_id": self.shop.id}).json

    def item(self, item_id):
        return next(i for i in self.menu()["items"] if i["id"] == item_id)


@pytest.fixture
def make_bar(app, make_shop, make_user):
    """A stand open for a new shop's event with ``menu(scarves)``, its own staff member, and the venue's tax
    rates for food, drinks and merchandise."""
    def build(capacity=5, *, scarves=3, seated=False, **stand):
        shop = make_shop(capacity, seated=seated)
        venue_id = shop.sale.event["venue_id"]
        staff = make_user(Role.STAFF)
        with app.app_context():
            venues.update_venue(venue_id, current(shop.owner), tax_rates=TAX_RATES)
            venues.add_venue_staff(venue_id, current(shop.owner), staff.uid)
        body = {"name": "Kitchen", "kind": "food", "currency": "EUR", "event_ids": [shop.id], "service_fee": 50,
                "delivers_to_seats": True, **stand}
        created = shop.client.post(f"/api/v1/venues/{venue_id}/stands", json=body, headers=shop.owner.headers)
        assert created.status_code == 201, created.json
        bar = Bar(shop, created.json, staff)
        bar.call("POST", f"/stands/{bar.id}/staff", shop.owner, 200, json={"uid": staff.uid})
        with app.app_context():
            for item in menu(scarves):
                menus.create_item(bar.id, current(shop.owner), **item)
        return bar

    return build
