"""Payouts against the local Stripe stand-in: connected accounts, Stripe-paid orders, and two small kinds of
line defined here in place of the real parking and concession kinds, so that a split's arithmetic depends on
fixed prices rather than on a lot's dynamic multiplier or a menu: a parking pass that goes to the venue and a
stand's snack that takes tips. tests/concessions/test_splits.py and tests/parking/test_splits.py split the real
kinds by the built-in rules."""
from dataclasses import dataclass

import pytest
from marshmallow import Schema, fields, validate

from app.auth import Role
from app.checkout import kinds
from app.checkout.kinds import Line
from app.payouts import transfers
from app.staged import run_staged
from app.venues import service as venues
from tests.factories import current, shop_for
from tests.payments.conftest import stripe_stub  # noqa: F401 (the fixture, shared with the payment tests)
from tests.payments.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, webhook

PRICES = {"parking": ("Parking pass", 1200, "parking"), "snack": ("Pretzel", 450, "food")}


class ExtraLineIn(Schema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))


class ExtraKind:
    """A kind without stock: a fixed price per unit, nothing issued."""

    line_schema = ExtraLineIn

    def __init__(self, name):
        self.name = name

    def plan(self, event, requests, now, *, buyer_uid):
        label, price, category = PRICES[self.name]
        return [Line(kind=self.name, name=label, quantity=r["quantity"], unit_price=price, currency="EUR",
                     tax_category=category, takes_tips=self.name == "snack") for r in requests]

    def pick(self, line, attempts, now, flight):
        return {}

    def collided(self, line, claim_id, unit, attempts, now):
        return None

    def sell(self, tx, order, line, units, now):
        return [None] * len(units)

    def release(self, tx, order, line, units, now):
        return None

    def void(self, tx, order, line, units, now, *, force):
        return None

    def describe(self, order, line, units):
        return [{"label": line["name"], "code": None} for _ in units]


@pytest.fixture
def app(make_app, stripe_stub):
    app = make_app(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=stripe_stub.url,
                   PAYOUT_FEE_BASIS_POINTS=500, PAYOUT_FEE_FIXED=0)
    for name in PRICES:
        kinds.register(app, ExtraKind(name))
    return app


def deliver(client, event_type, obj, **kwargs):
    body, headers = webhook(event_type, obj, **kwargs)
    response = client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["outcome"]


@dataclass
class Payouts:
    """A shop whose event's organizer also owns its venue's counterpart: two parties, and an admin."""
    app: object
    shop: object
    stub: object
    admin: object
    venue_owner: object

    @property
    def client(self):
        return self.shop.client

    @property
    def organizer_party(self):
        return f"organizer:{self.shop.owner.uid}"

    @property
    def venue_party(self):
        return f"venue:{self.shop.sale.event['venue_id']}"

    def user_of(self, party):
        return self.shop.owner if party == self.organizer_party else self.venue_owner

    def open_account(self, party, *, enabled=True):
        response = self.client.put(f"/api/v1/payouts/parties/{party}/account", json={},
                                   headers=self.user_of(party).headers)
        assert response.status_code == 200, response.json
        if enabled:
            assert deliver(self.client, "account.updated",
                           self.stub.enable(response.json["stripe_account_id"])) == "account_updated"
        return response.json

    def stripe_paid(self, buyer, quantity=1, *, lines=(), tip=None):
        hold = self.shop.hold(buyer, quantity, lines=list(lines))
        order = self.shop.order(buyer, hold["id"], method="stripe", tip=tip)
        assert order.status_code == 201, order.json
        intent = self.stub.succeed(order.json["payment"]["reference"])
        assert deliver(self.client, "payment_intent.succeeded", intent) == "paid"
        return self.shop.get(buyer, order.json["id"]).json

    def splits(self, order_id, user=None):
        response = self.client.get(f"/api/v1/payouts/orders/{order_id}/splits", headers=(user or self.admin).headers)
        assert response.status_code == 200, response.json
        return response.json

    def ledger(self, *, order_id=None, party_id=None, user=None):
        query = {k: v for k, v in (("order_id", order_id), ("party_id", party_id)) if v}
        items, cursor = [], None
        while True:
            page = self.client.get("/api/v1/payouts/ledger", query_string={**query, "limit": 100,
                                                                            **({"cursor": cursor} if cursor else {})},
                                   headers=(user or self.admin).headers)
            assert page.status_code == 200, page.json
            items += page.json["items"]
            cursor = page.json["next_cursor"]
            if cursor is None:
                return items

    def report(self, user, **query):
        response = self.client.get("/api/v1/payouts/reports", query_string=query, headers=user.headers)
        assert response.status_code == 200, response.json
        return {(row["party_id"], row["currency"]): row for row in response.json["items"]}

    def send(self):
        with self.app.app_context():
            return transfers.send_payouts()

    def transfers_of(self, order_id):
        with self.app.app_context():
            return {t["party"]: t for t in run_staged(lambda tx: transfers.order_transfers(tx, order_id))
                    if t["type"] == "transfer"}


@pytest.fixture
def payouts(app, client, make_user, make_venue, make_event, stripe_stub):
    """An event by one organizer at a venue another organizer owns: two parties, and an admin."""
    venue_owner, organizer = make_user(Role.ORGANIZER), make_user(Role.ORGANIZER)
    venue = make_venue(venue_owner)
    with app.app_context():
        venues.admit_organizer(venue["id"], current(venue_owner), organizer.uid)
    event = make_event(organizer, venue=venue, ticket_type={"capacity": 200})
    return Payouts(app, shop_for(client, organizer, event), stripe_stub, make_user(Role.ADMIN), venue_owner)
