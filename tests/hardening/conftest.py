"""A populated world for the hardening tests, and the fuzz run's counts in the terminal summary.

The world has one user per authorization column (ARCHITECTURE section 5) and
real resources for path parameters: the owner's venue (with its staff member)
and a published and a draft event there, another organizer's venue (with
other staff), and the buyer's hold; orders, tickets and discount codes are
made on demand.
"""
import itertools
from dataclasses import dataclass, field

import pytest

from app.auth import Role
from tests.factories import Sale, Shop, current

ROLE_OF = {"customer": Role.CUSTOMER, "buyer": Role.CUSTOMER, "other_organizer": Role.ORGANIZER,
           "other_staff": Role.STAFF, "venue_staff": Role.STAFF, "owner": Role.ORGANIZER, "admin": Role.ADMIN}

FUZZ_STATS = pytest.StashKey[dict]()
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
            "code": f"SAVE{next(_codes)}", "kind": "percent", "percent_off": 10}, status=201)

    def ticket_code(self):
        return self.call("GET", f"/tickets/{self.ticket()['ticket_id']}", self.users["buyer"])["code"]

    def discount(self):
        if "discount" not in self.made:
            self.made["discount"] = self.fresh_discount()
        return self.made["discount"]

    def seed_purchases(self):
        """A paid order with tickets, a pending order and a discount code, where those endpoints exist."""
        rules = {rule.rule for rule in self.app.url_map.iter_rules()}
        if "/api/v1/orders/<order_id>/mark-paid" in rules:
            self.ticket()
            self.order()
        if "/api/v1/events/<event_id>/discounts" in rules:
            self.discount()

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


@pytest.fixture
def fuzz_stats(pytestconfig):
    """Counts of a fuzz run by name, reported in the terminal summary."""
    return pytestconfig.stash.setdefault(FUZZ_STATS, {})


def pytest_terminal_summary(terminalreporter, config):
    stats = config.stash.get(FUZZ_STATS, None)
    if not stats:
        return
    terminalreporter.write_sep("-", "schemathesis")
    for run, counts in stats.items():
        terminalreporter.write_line(
            f"schemathesis {run}: {counts['cases']} generated cases over {len(counts['operations'])} operations "
            f"of {counts['documented']} documented; statuses {dict(sorted(counts['statuses'].items()))}")
