"""A populated world for the hardening tests, and the fuzz run's counts in the terminal summary.

The world has one user per authorization column (ARCHITECTURE section 5) and
real resources for path parameters: the owner's venue (with its staff member)
and a published and a draft event there, another organizer's venue (with
other staff), and the buyer's hold; orders, tickets, discount codes, the
venue's parking lot, a parking pass and sessions are made on demand.
"""
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine

from app.auth import Role
from app.timeutil import utcnow
from tests.factories import Sale, Shop, current

ROLE_OF = {"customer": Role.CUSTOMER, "buyer": Role.CUSTOMER, "other_organizer": Role.ORGANIZER,
           "other_staff": Role.STAFF, "venue_staff": Role.STAFF, "owner": Role.ORGANIZER, "admin": Role.ADMIN}

_codes = itertools.count(1)


@dataclass
class World:
    app: object
    client: object
    users: dict
    venue: dict
    other_venue: dict
    event: dict
    draft: dict
    ticket_type: dict
    hold: dict
    make_user: object
    make_venue: object
    make_event: object
    make_ticket_type: object
    made: dict = field(default_factory=dict)

    @property
    def owner(self):
        return self.users["owner"]

    def fresh_user(self, role):
        return self.make_user(ROLE_OF[role])

    def headers(self, role):
        user = self.users[role]
        return user.headers if user else {}

    @property
    def shop(self):
        return Shop(Sale(self.client, self.owner, self.event, self.ticket_type, None))

    def place_hold(self, buyer=None, quantity=1):
        return self.shop.hold(buyer or self.users["buyer"], quantity)

    def call(self, method, path, user, body=None, status=200):
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=user.headers)
        assert response.status_code == status, (method, path, response.status_code, response.json)
        return response.json

    def fresh_order(self):
        """A buyer's order awaiting a manual payment."""
        return self.shop.buy(self.users["buyer"])

    def paid_order(self):
        return self.shop.paid(self.users["buyer"])

    def order(self):
        if "order" not in self.made:
            self.made["order"] = self.fresh_order()
        return self.made["order"]

    def ticket(self):
        if "ticket" not in self.made:
            self.made["ticket"] = self.paid_order()["tickets"][0]
        return self.made["ticket"]

    def paid(self):
        """A paid order of the buyer's, made once."""
        if "paid" not in self.made:
            self.made["paid"] = self.paid_order()
        return self.made["paid"]

    def fresh_discount(self):
        return self.call("POST", f"/events/{self.event['id']}/discounts", self.owner, {
            "code": f"SAVE{next(_codes):06d}", "kind": "percent", "percent_off": 10}, status=201)

    def ticket_code(self):
        return self.call("GET", f"/tickets/{self.ticket()['ticket_id']}", self.users["buyer"])["code"]

    def discount(self):
        if "discount" not in self.made:
            self.made["discount"] = self.fresh_discount()
        return self.made["discount"]

    def fresh_stand(self):
        """A stand at the owner's venue, open for the published event, worked by the venue's staff member."""
        stand = self.call("POST", f"/venues/{self.venue['id']}/stands", self.owner, {
            "name": f"Stand {next(_codes)}", "kind": "food", "currency": "EUR", "event_ids": [self.event["id"]]},
            status=201)
        self.call("POST", f"/stands/{stand['id']}/staff", self.owner, {"uid": self.users["venue_staff"].uid})
        self.call("POST", f"/stands/{stand['id']}/items", self.owner, {
            "name": "Burger", "price": 850, "option_groups": [
                {"id": "sauce", "name": "Sauce", "required": True, "options": [{"id": "ketchup", "name": "Ketchup"}]}]},
            status=201)
        return stand

    def stand(self):
        if "stand" not in self.made:
            self.made["stand"] = self.fresh_stand()
        return self.made["stand"]

    def menu_item(self):
        return self.call("GET", f"/stands/{self.stand()['id']}/items", self.owner)[0]

    def fresh_menu_item(self):
        return self.call("POST", f"/stands/{self.stand()['id']}/items", self.owner,
                         {"name": f"Tea {next(_codes)}", "price": 200}, status=201)

    def fresh_stand_order(self, state="received"):
        """The buyer's paid burger from the stand, moved along by the stand's staff to ``state``."""
        line = {"kind": "concession", "stand_id": self.stand()["id"], "item_id": self.menu_item()["id"],
                "quantity": 1, "options": ["ketchup"]}
        hold = self.shop.hold(self.users["buyer"], 0, lines=[line])
        order = self.shop.order(self.users["buyer"], hold["id"]).json
        self.shop.mark_paid(self.owner, order["id"])
        [stand_order] = self.call("GET", f"/orders/{order['id']}/stand-orders", self.users["buyer"])
        for step in ("preparing", "ready")[:("received", "preparing", "ready").index(state)]:
            self.call("POST", f"/stand-orders/{stand_order['id']}/state", self.owner, {"state": step})
        return stand_order

    def stand_order(self):
        if "stand_order" not in self.made:
            self.made["stand_order"] = self.fresh_stand_order()
        return self.made["stand_order"]

    # --- parking: the owner's lot at the venue, the buyer's paid pass, the staff's sessions --------------------

    def lot(self):
        if "lot" not in self.made:
            self.made["lot"] = self.call("POST", f"/venues/{self.venue['id']}/parking-lots", self.owner, {
                "name": "Hall car park", "timezone": "Europe/Berlin", "geo": {"lat": 52.5, "lng": 13.4},
                "zones": [{"id": "P1", "kind": "standard", "count": 50}],
                "pricing": {"currency": "EUR", "hourly": {"standard": 300}}}, status=201)
        return self.made["lot"]

    def parking_quote(self, hours=2):
        start = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
        return self.call("GET", f"/parking-lots/{self.lot()['id']}/quote?" + urlencode({
            "from": start.isoformat(), "to": (start + timedelta(hours=hours)).isoformat(),
            "event_id": self.event["id"]}), self.users["buyer"])

    def fresh_pass(self):
        buyer = self.users["buyer"]
        hold = self.call("POST", f"/events/{self.event['id']}/holds", buyer, {
            "items": [{"kind": "parking", "quote": self.parking_quote()["quote"]}]}, status=201)
        order = self.call("POST", "/orders", buyer, {"hold_id": hold["id"], "payment_method": "manual"}, status=201)
        paid = self.call("POST", f"/orders/{order['id']}/mark-paid", self.owner)
        [issued] = [i for i in paid["issued"] if i["kind"] == "parking"]
        return self.call("GET", f"/parking-passes/{issued['id']}", buyer)

    def parking_pass(self):
        if "pass" not in self.made:
            self.made["pass"] = self.fresh_pass()
        return self.made["pass"]

    def fresh_session(self, ended=False):
        """A drive-up session; ``ended``: after 20 minutes, with a charge to settle."""
        from app.parking import sessions

        with self.app.app_context():
            session = sessions.start_session(self.lot()["id"], current(self.users["venue_staff"]),
                                             plate=f"HW{next(_codes)}", kind="standard", event_id=self.event["id"])
            if ended:
                with time_machine.travel(utcnow() + timedelta(minutes=20), tick=False):
                    session = sessions.end_session(session["id"], current(self.users["venue_staff"]))
        return session

    def session(self):
        if "session" not in self.made:
            self.made["session"] = self.fresh_session()
        return self.made["session"]

    def seed_purchases(self):
        """A paid order with tickets, a pending order, a discount code and a stand's order, where those endpoints
        exist."""
        rules = {rule.rule for rule in self.app.url_map.iter_rules()}
        if "/api/v1/orders/<order_id>/mark-paid" in rules:
            self.ticket()
            self.order()
        if "/api/v1/events/<event_id>/discounts" in rules:
            self.discount()
        if "/api/v1/stands/<stand_id>/queue" in rules:
            self.stand_order()
        if "/api/v1/parking-lots/<lot_id>/sessions" in rules:
            self.parking_pass()
            self.session()

    def ids(self):
        """Real ids by path-parameter name, for substituting into generated requests."""
        return {
            "venue_id": [self.venue["id"], self.other_venue["id"]],
            "event_id": [self.event["id"], self.draft["id"]],
            "ticket_type_id": [self.ticket_type["id"]],
            "hold_id": [self.hold["id"]],
            "uid": [self.users["customer"].uid, self.users["venue_staff"].uid],
            "order_id": [self.made["order"]["id"]] if "order" in self.made else [],
            "ticket_id": [self.made["ticket"]["ticket_id"]] if "ticket" in self.made else [],
            "code": [self.made["discount"]["code"]] if "discount" in self.made else [],
            "stand_id": [self.made["stand"]["id"]] if "stand" in self.made else [],
            "item_id": [self.menu_item()["id"]] if "stand" in self.made else [],
            "stand_order_id": [self.made["stand_order"]["id"]] if "stand_order" in self.made else [],
            "lot_id": [self.made["lot"]["id"]] if "lot" in self.made else [],
            "pass_id": [self.made["pass"]["id"]] if "pass" in self.made else [],
            "session_id": [self.made["session"]["id"]] if "session" in self.made else [],
            "party_id": [f"venue:{self.venue['id']}", f"organizer:{self.owner.uid}"],
            "rule_id": ["platform:ticket", f"venue:{self.venue['id']}:parking"],
        }


@pytest.fixture
def app(make_app):
    # The world's buyer places many holds on one event; the per-buyer cap has tests of its own.
    return make_app(MAX_ACTIVE_HOLDS_PER_EVENT=1000)


@pytest.fixture
def world(app, client, make_user, make_venue, make_event, make_ticket_type):
    from app.venues import service as venues

    users = {"anonymous": None, **{name: make_user(role) for name, role in ROLE_OF.items()}}
    venue = make_venue(users["owner"])
    other_venue = make_venue(users["other_organizer"], name="Other Hall")
    with app.app_context():
        venues.add_venue_staff(venue["id"], current(users["owner"]), users["venue_staff"].uid)
        venues.add_venue_staff(other_venue["id"], current(users["other_organizer"]), users["other_staff"].uid)
    event = make_event(users["owner"], venue=venue)
    draft = make_event(users["owner"], venue=venue, published=False)
    ticket_type = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    built = World(app, client, users, venue, other_venue, event, draft, ticket_type, None, make_user, make_venue,
                  make_event, make_ticket_type)
    built.hold = built.place_hold()
    return built
